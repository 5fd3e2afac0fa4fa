proto/proto_error.o: proto/proto_error.c proto/proto_error.h
proto/proto_error.h:
