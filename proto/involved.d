proto/involved.o: proto/involved.c proto/involved.h proto/proto_error.h \
 proto/uuid_canon.h
proto/involved.h:
proto/proto_error.h:
proto/uuid_canon.h:
