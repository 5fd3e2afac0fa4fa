proto/sockpath.o: proto/sockpath.c proto/sockpath.h
proto/sockpath.h:
