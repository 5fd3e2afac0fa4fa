proto/buf.o: proto/buf.c proto/buf.h
proto/buf.h:
