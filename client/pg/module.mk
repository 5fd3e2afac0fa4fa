# client/pg/module.mk — crmpubsub-pg, the PostgreSQL outbox bridge
# (docs/postgres.md), its SQL, unit, man page and test suites. Built only
# when libpq is present (tools/packages: the "pg" group, libpq-dev).

PG_SRCS    = $(wildcard client/pg/*.c)
PG_OBJS    = $(PG_SRCS:%.c=$(O)/%.o)
PG_BRIDGE  = $(O)/client/pg/crmpubsub-pg
PG_HAVE   := $(shell $(PKG_CONFIG) --exists libpq 2>/dev/null && echo yes)

ifeq ($(PG_HAVE),yes)
PG_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq)
PG_LIBS   := $(shell $(PKG_CONFIG) --libs libpq)
MODULE_ALL += $(PG_BRIDGE)
# `all` lists MODULE_ALL before this file is read, so name the target here.
all: $(PG_BRIDGE)

$(O)/client/pg/%.o: PC_CFLAGS += $(PG_CFLAGS)
$(PG_BRIDGE): $(PG_OBJS) $(PROTO_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PG_LIBS) $(LIBEVENT) $(JANSSON) $(LIBUUID)
endif

MODULE_CLEAN += $(PG_BRIDGE)
