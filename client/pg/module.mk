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
PG_NEED    = $(PG_BRIDGE) $(PG_BINDIR)/initdb $(PG_BINDIR)/postgres \
             $(PG_BINDIR)/psql
# check-pg-asan runs the suites that drive the bridge hardest once more,
# with the bridge built under ASan + UBSan: a report makes it exit non-zero,
# which fails the test that stops it.
PG_ASAN_BRIDGE = build/asan/client/pg/crmpubsub-pg
PG_ASAN_TESTS  = $(filter %/pg_semantics %/pg_faults,$(PG_TESTS))
PG_ASAN_ENV    = CRMPUBSUB_PG=$(CURDIR)/$(PG_ASAN_BRIDGE) \
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

ifeq ($(PG_HAVE),yes)
PG_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq)
PG_LIBS   := $(shell $(PKG_CONFIG) --libs libpq)
MODULE_ALL += $(PG_BRIDGE)

$(O)/client/pg/%.o: PC_CFLAGS += $(PG_CFLAGS)
# The bridge's own code uses no jansson; proto/message.c does, for the
# daemon's lines its scanner leaves to jansson. Nothing uses libuuid.
$(PG_BRIDGE): $(PG_OBJS) $(PROTO_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PG_LIBS) $(LIBEVENT) $(JANSSON)

$(O)/tests/pg/%.o: PC_CFLAGS += $(PG_CFLAGS) -Itests
# pg_unit links the bridge's pure parts; the others drive the real programs.
$(O)/tests/pg/pg_unit: tests/pg/pg_unit.c $(O)/client/pg/group.o $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Iclient/pg $(PC_CFLAGS) $(ALL_CFLAGS) \
	  $(ALL_LDFLAGS) -o $@ $^ $(JANSSON) $(LIBUUID) $(CHECKLIBS)
$(O)/tests/pg/pg_%: tests/pg/pg_%.c $(O)/tests/pg/pgtest.o \
    $(TEST_SUPPORT_OBJS) $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Itests -Itests/pg $(PC_CFLAGS) $(PG_CFLAGS) \
	  $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PG_LIBS) $(JANSSON) \
	  $(LIBUUID) $(CHECKLIBS) -pthread
check-pg: $(PG_TESTS) $(PG_BRIDGE) $(DAEMON)
check-pg-asan: $(PG_TESTS) $(DAEMON) pg-asan-bridge
pg-asan-bridge:
	@$(MAKE) --no-print-directory O=build/asan SANITIZE=1 $(PG_ASAN_BRIDGE)
endif
# Without libpq nothing is built, and suite.sh skips (or fails, under CI)
# for the missing bridge.
check-pg:
	@$(call pg_suites,$@,,$(PG_TESTS))
check-pg-asan:
	@$(call pg_suites,$@,$(PG_ASAN_ENV),$(PG_ASAN_TESTS))
# pg_suites NAME,ENV,PROGRAMS: the check programs through tests/suite.sh.
pg_suites = tests/suite.sh $(1) --timeout 900 --need "$(PG_NEED)" -- \
  env PG_BINDIR=$(PG_BINDIR) $(2) sh -c \
  'CHECK_SUMMARY=$$SUITE_COUNTS exec tests/run.sh $(O) $(3)'

MODULE_CHECKS += check-pg check-pg-asan
MODULE_CLEAN += $(PG_BRIDGE) $(PG_TESTS)
.PHONY: check-pg check-pg-asan pg-asan-bridge

# --- install: the bridge, its SQL, unit, example config and manual ---------
PG_SHAREDIR ?= $(PREFIX)/share/crmpubsub
PG_CONF      = $(DESTDIR)$(SYSCONFDIR)/crmpubsub/crmpubsub-pg.conf

install-pg: $(PG_BRIDGE)
	@$(MKDIRS) $(SBINDIR) $(PG_SHAREDIR) $(UNITDIR) $(MANDIR)/man8 \
	  $(SYSCONFDIR)/crmpubsub
	install -m 0755 $(PG_BRIDGE) $(DESTDIR)$(SBINDIR)/crmpubsub-pg
	install -m 0644 client/pg/crmpubsub.sql client/pg/uninstall.sql \
	  $(DESTDIR)$(PG_SHAREDIR)/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  systemd/crmpubsub-pg.service > $(DESTDIR)$(UNITDIR)/crmpubsub-pg.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/crmpubsub-pg.service
	install -m 0644 docs/crmpubsub-pg.8 $(DESTDIR)$(MANDIR)/man8/crmpubsub-pg.8
	test -e $(PG_CONF) || install -m 0644 systemd/crmpubsub-pg.conf $(PG_CONF)

# The config file is the administrator's: it goes only while it is still the
# unmodified example.
uninstall-pg:
	rm -f $(DESTDIR)$(SBINDIR)/crmpubsub-pg \
	  $(DESTDIR)$(PG_SHAREDIR)/crmpubsub.sql \
	  $(DESTDIR)$(PG_SHAREDIR)/uninstall.sql \
	  $(DESTDIR)$(UNITDIR)/crmpubsub-pg.service \
	  $(DESTDIR)$(MANDIR)/man8/crmpubsub-pg.8
	if cmp -s systemd/crmpubsub-pg.conf $(PG_CONF); then rm -f $(PG_CONF); fi

ifeq ($(PG_HAVE),yes)
MODULE_INSTALL += install-pg
MODULE_UNINSTALL += uninstall-pg
endif
.PHONY: install-pg uninstall-pg
