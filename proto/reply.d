proto/reply.o: proto/reply.c proto/reply.h proto/buf.h \
 proto/proto_error.h
proto/reply.h:
proto/buf.h:
proto/proto_error.h:
