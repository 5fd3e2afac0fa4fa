# client/pg/module.mk — crmpubsub-pg, the PostgreSQL outbox bridge
# (docs/postgres.md): its build, install, and the suites in tests/pg that
# run it against a real PostgreSQL 15 cluster and the real daemon. Built
# only when libpq is present (tools/packages: the "pg" group, libpq-dev).

PG_SRCS    = $(wildcard client/pg/*.c)
PG_OBJS    = $(PG_SRCS:%.c=$(O)/%.o)
PG_BRIDGE  = $(O)/client/pg/crmpubsub-pg
PG_TESTS   = $(patsubst tests/pg/%.c,$(O)/tests/pg/%,$(wildcard tests/pg/pg_*.c))
PG_HAVE   := $(shell $(PKG_CONFIG) --exists libpq 2>/dev/null && echo yes)
# Debian's PostgreSQL 15 server programs, which the suites start.
PG_BINDIR ?= /usr/lib/postgresql/15/bin

ifeq ($(PG_HAVE),yes)
PG_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq)
PG_LIBS   := $(shell $(PKG_CONFIG) --libs libpq)
MODULE_ALL += $(PG_BRIDGE)
# `all` lists MODULE_ALL before this file is read, so name the target here.
all: $(PG_BRIDGE)

$(O)/client/pg/%.o: PC_CFLAGS += $(PG_CFLAGS)
$(PG_BRIDGE): $(PG_OBJS) $(PROTO_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PG_LIBS) $(LIBEVENT) $(JANSSON) $(LIBUUID)

$(O)/tests/pg/%.o: PC_CFLAGS += $(PG_CFLAGS) -Itests
# pg_unit links the bridge's pure parts; the others drive the real programs.
$(O)/tests/pg/pg_unit: tests/pg/pg_unit.c $(O)/client/pg/group.o $(PROTO_OBJS)
	$(CC) $(ALL_CPPFLAGS) -Iclient/pg $(PC_CFLAGS) $(ALL_CFLAGS) \
	  $(ALL_LDFLAGS) -o $@ $^ $(JANSSON) $(LIBUUID) $(CHECKLIBS)
$(O)/tests/pg/pg_%: tests/pg/pg_%.c $(O)/tests/pg/pgtest.o \
    $(TEST_SUPPORT_OBJS) $(PROTO_OBJS)
	$(CC) $(ALL_CPPFLAGS) -Itests -Itests/pg $(PC_CFLAGS) $(PG_CFLAGS) \
	  $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PG_LIBS) $(JANSSON) \
	  $(LIBUUID) $(CHECKLIBS) -pthread
check-pg: $(PG_TESTS) $(PG_BRIDGE) $(DAEMON)
else
check-pg:
endif
	@tests/suite.sh pg --timeout 900 --need "$(PG_BRIDGE) \
	  $(PG_BINDIR)/initdb $(PG_BINDIR)/postgres $(PG_BINDIR)/psql" -- \
	  env PG_BINDIR=$(PG_BINDIR) sh -c \
	  'CHECK_SUMMARY=$$SUITE_COUNTS exec tests/run.sh $(O) $(PG_TESTS)'

MODULE_CHECKS += check-pg
MODULE_CLEAN += $(PG_BRIDGE) $(PG_TESTS)
.PHONY: check-pg
