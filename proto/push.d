proto/push.o: proto/push.c proto/push.h proto/buf.h proto/event.h \
 proto/topic.h proto/uuid_canon.h
proto/push.h:
proto/buf.h:
proto/event.h:
proto/topic.h:
proto/uuid_canon.h:
