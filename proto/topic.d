proto/topic.o: proto/topic.c proto/topic.h proto/uuid_canon.h
proto/topic.h:
proto/uuid_canon.h:
