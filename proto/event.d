proto/event.o: proto/event.c proto/event.h
proto/event.h:
