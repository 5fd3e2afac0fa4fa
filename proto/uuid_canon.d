proto/uuid_canon.o: proto/uuid_canon.c /usr/include/uuid/uuid.h \
 proto/uuid_canon.h
/usr/include/uuid/uuid.h:
proto/uuid_canon.h:
