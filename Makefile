# crmpubsub — one plain Makefile for the daemon, the shared protocol code,
# the client library, the CLI, the tests and the benchmark.
#
#   make              build everything in place (daemon/crmpubsubd, client/…)
#   make run          run the daemon in the foreground on the default socket
#   make check        every test suite, plainly and under ASan + UBSan
#   make bench        the side-by-side benchmark (see docs/performance.md)
#   make install      PREFIX=/usr/local LIBDIR= DESTDIR= (see docs/operations.md);
#                     install-lib / install-daemon install one part
#   make deps         install every group of tools/packages (as root)
#
# Objects go below $(O) (default: the source tree itself); the sanitizer run
# uses O=build/asan so the two builds never mix.

VERSION    = 1.0.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SBINDIR   ?= $(PREFIX)/sbin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

O         ?= .
CC        ?= cc
PKG_CONFIG ?= pkg-config
DEPS_PC    = libevent jansson uuid hiredis

CFLAGS    ?= -O2 -g
WARNFLAGS  = -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
             -Wpointer-arith -Wsign-compare -Wformat=2 -Wno-unused-parameter
ifeq ($(SANITIZE),1)
SANFLAGS   = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ALL_CPPFLAGS = -D_GNU_SOURCE -DCRMPUBSUB_VERSION='"$(VERSION)"' -Iproto -Iclient $(CPPFLAGS)
ALL_CFLAGS   = -std=c11 -fPIC $(WARNFLAGS) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS  = $(SANFLAGS) $(LDFLAGS)

PC_CFLAGS  = $(shell $(PKG_CONFIG) --cflags libevent jansson uuid hiredis 2>/dev/null)
# hiredis rides with libevent: every link of daemon objects needs both
# (daemon/fedconn.c reads Redis's replies with hiredis's reader).
LIBEVENT   = $(shell $(PKG_CONFIG) --libs libevent hiredis 2>/dev/null)
JANSSON    = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
LIBUUID    = $(shell $(PKG_CONFIG) --libs uuid 2>/dev/null)
CHECKLIBS  = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# --- sources --------------------------------------------------------------
PROTO_SRCS  = $(wildcard proto/*.c)
DAEMON_SRCS = $(wildcard daemon/*.c)
CLIENT_SRCS = $(wildcard client/lib/*.c)
EXAMPLE_SRCS = $(wildcard client/examples/*.c)

PROTO_OBJS  = $(PROTO_SRCS:%.c=$(O)/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(O)/%.o)
CLIENT_OBJS = $(CLIENT_SRCS:%.c=$(O)/%.o)
# Daemon objects minus main.o: what unit tests and fuzzers link against.
DAEMON_LIB_OBJS = $(filter-out $(O)/daemon/main.o,$(DAEMON_OBJS))

DAEMON     = $(O)/daemon/crmpubsubd
LIB_SONAME = libcrmpubsub.so.1
LIB_SO     = $(O)/client/$(LIB_SONAME)
LIB_A      = $(O)/client/libcrmpubsub.a
EXAMPLES   = $(EXAMPLE_SRCS:%.c=$(O)/%)
CLI        = client/crmpubsub-cli

# Tests: every tests/unit_*.c, tests/it_*.c and tests/client_*.c is one check
# program. Unit suites link proto/ and the daemon's objects; integration
# suites talk to the real daemon through tests/harness.c; client suites link
# the static client library.
UNIT_SRCS   = $(wildcard tests/unit_*.c)
IT_SRCS     = $(wildcard tests/it_*.c)
CLIENTT_SRCS = $(wildcard tests/client_*.c)
TEST_SUPPORT_SRCS = tests/harness.c tests/asan_probe.c
TEST_SUPPORT_OBJS = $(TEST_SUPPORT_SRCS:%.c=$(O)/%.o)
TEST_BINS   = $(UNIT_SRCS:%.c=$(O)/%) $(IT_SRCS:%.c=$(O)/%) $(CLIENTT_SRCS:%.c=$(O)/%)

.PHONY: all deps run check check-plain check-asan check-extra test-run bench fuzz soak \
        install install-lib install-daemon uninstall clean

all: deps-ok $(DAEMON) $(LIB_SO) $(LIB_A) $(EXAMPLES)

# --- dependencies -----------------------------------------------------------
# tools/packages lists the Debian packages by group; tools/deps.sh installs
# the missing ones when run as root, else prints the apt-get line. A plain
# build needs only the "build" group; check and bench add theirs.
deps:
	@tools/deps.sh build pg check bench
deps-ok:
	@$(PKG_CONFIG) --exists $(DEPS_PC) 2>/dev/null || tools/deps.sh build
deps-check:
	@tools/deps.sh build check
.PHONY: deps-ok deps-check

# --- components ---------------------------------------------------------------
# Parts beyond the C core (language clients, the PostgreSQL bridge, the
# examples, the browser test) live in their own directory with a module.mk
# that adds to these lists:
#   MODULE_ALL        files `make` builds
#   MODULE_CHECKS     targets `make check` runs after the C suites; each adds
#                     one "passed failed" line to $(CHECK_SUMMARY) (see
#                     tests/suite.sh)
#   MODULE_INSTALL    targets `make install` runs (and MODULE_UNINSTALL); they
#                     make directories with $(MKDIRS) so uninstall takes away
#                     the ones install created
#   MODULE_CLEAN      files `make clean` removes
# Debian's python3, whatever python3 comes first in PATH.
PYTHON ?= /usr/bin/python3
MODULE_ALL =
MODULE_CHECKS =
MODULE_INSTALL =
MODULE_UNINSTALL =
MODULE_CLEAN =
CHECK_SUMMARY = $(CURDIR)/build/check-summary
include $(sort $(wildcard client/*/module.mk client/examples/*/module.mk tests/*/module.mk))
# Prerequisites are expanded as a rule is read: this one follows the modules.
all: $(MODULE_ALL)

# --- build rules ------------------------------------------------------------
$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(PC_CFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(DAEMON): $(DAEMON_OBJS) $(PROTO_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBEVENT) $(JANSSON) $(LIBUUID)

# The shared library exports crmpubsub_* only (version script + hidden
# visibility); the static archive carries the same objects.
$(O)/client/lib/%.o: ALL_CFLAGS += -fvisibility=hidden
$(O)/proto/%.o: ALL_CFLAGS += -fvisibility=hidden
$(LIB_SO): $(CLIENT_OBJS) $(PROTO_OBJS) client/libcrmpubsub.map
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) \
	  -Wl,--version-script=client/libcrmpubsub.map -o $@ \
	  $(CLIENT_OBJS) $(PROTO_OBJS) $(JANSSON) -pthread
	ln -sf $(LIB_SONAME) $(O)/client/libcrmpubsub.so
$(LIB_A): $(CLIENT_OBJS) $(PROTO_OBJS)
	rm -f $@
	ar rcs $@ $^

$(O)/client/examples/%: client/examples/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(PC_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	  $(LIB_A) $(JANSSON) -pthread

$(O)/tests/unit_%: tests/unit_%.c $(PROTO_OBJS) $(DAEMON_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Idaemon $(PC_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ \
	  $(LIBEVENT) $(JANSSON) $(LIBUUID) $(CHECKLIBS)
$(O)/tests/it_%: tests/it_%.c $(TEST_SUPPORT_OBJS) $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Itests $(PC_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ \
	  $(JANSSON) $(LIBUUID) $(CHECKLIBS)
# The suites around /metrics share an HTTP client and process helpers.
$(O)/tests/it_metrics $(O)/tests/it_cli: $(O)/tests/hmetrics.o
# The federation suite's fake Redis reads commands with hiredis's reader.
$(O)/tests/it_federation: $(O)/tests/fakeredis.o
$(O)/tests/it_federation: CHECKLIBS += $(shell $(PKG_CONFIG) --libs hiredis) -pthread
$(O)/tests/client_%: tests/client_%.c $(TEST_SUPPORT_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Itests $(PC_CFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ \
	  $(JANSSON) $(CHECKLIBS) -pthread

-include $(shell find $(O)/proto $(O)/daemon $(O)/client $(O)/tests -name '*.d' 2>/dev/null)

# --- running ----------------------------------------------------------------
# As root the default socket is /run/crmpubsub/crmpubsub.sock; the directory is
# made here so `make run` and the socat example in the README agree.
run: all
	@if [ "$$(id -u)" = 0 ]; then mkdir -p /run/crmpubsub; fi
	$(DAEMON) -v $(RUNFLAGS)

# --- tests ------------------------------------------------------------------
# Plain run, sanitizer run, the short fuzz and soak runs, every component's
# suites, then one total over all of them.
check: deps-check
	@mkdir -p build && rm -f $(CHECK_SUMMARY)
	@$(MAKE) --no-print-directory check-plain
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-extra
	@$(MAKE) --no-print-directory check-modules
	@awk '{p += $$1; f += $$2} END {print ""; print "make check: plain + ASan/UBSan runs, fuzz, soak, components"; print p " passed, " f " failed"; exit f > 0}' $(CHECK_SUMMARY)

# Every component suite runs even when an earlier one failed; one that ends
# without adding its line to the summary counts as one failure.
check-modules: all
	@for t in $(MODULE_CHECKS); do 	  n=$$(cat $(CHECK_SUMMARY) 2>/dev/null | wc -l); 	  $(MAKE) --no-print-directory $$t CHECK_SUMMARY=$(CHECK_SUMMARY); 	  if [ "$$(cat $(CHECK_SUMMARY) 2>/dev/null | wc -l)" = "$$n" ]; then 	    echo "$$t: ended without a summary line" >&2; echo "0 1" >> $(CHECK_SUMMARY); 	  fi; 	done
.PHONY: check-modules

check-plain: all
	@$(MAKE) --no-print-directory test-run O=$(O)

# Sanitizer build: separate object tree, halts on the first report.
check-asan: deps-ok
	@$(MAKE) --no-print-directory O=build/asan SANITIZE=1 all
	@ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:quarantine_size_mb=8:detect_stack_use_after_return=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 $(MAKE) --no-print-directory O=build/asan SANITIZE=1 test-run

# Short fuzzing and soak runs; each appends "passed failed" to the summary.
check-extra: all
	@for d in tests/fuzz tests/soak; do \
	  if [ -f $$d/Makefile ]; then \
	    $(MAKE) --no-print-directory -C $$d short TOP=$(CURDIR) \
	      CHECK_SUMMARY=$(CHECK_SUMMARY) || exit 1; \
	  fi; \
	done

test-run: $(TEST_BINS) $(DAEMON) $(EXAMPLES)
	@mkdir -p $(dir $(CHECK_SUMMARY))
	@CHECK_SUMMARY=$(CHECK_SUMMARY) tests/run.sh $(O) $(TEST_BINS)

# --- benchmark, fuzzing, soak ------------------------------------------------
bench: all
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory -C tests/bench TOP=$(CURDIR)

fuzz: all
	@$(MAKE) --no-print-directory -C tests/fuzz TOP=$(CURDIR)

soak: all
	@$(MAKE) --no-print-directory -C tests/soak TOP=$(CURDIR)

# --- install ----------------------------------------------------------------
# install-lib: the client library alone (what an application host needs);
# install-daemon: the daemon, the CLI, the systemd units, the example config
# and the manuals. LIBDIR: Debian's multiarch directory is
# /usr/lib/x86_64-linux-gnu. Directories that had to be created are listed
# in $(DIRLIST) so that uninstall removes them again once empty.
LIB_REAL   = libcrmpubsub.so.$(VERSION)
DIRLIST    = $(DATADIR)/crmpubsub/installed-dirs
MKDIRS     = tools/install-dirs.sh make "$(DESTDIR)" $(DIRLIST)
# Every function in libcrmpubsub(3)'s NAME section gets a man3 link to the
# page, so `man crmpubsub_subscribe` finds it.
LIB_MAN_LINKS = $(shell sed -n 's/^\.Nm \(crmpubsub_[a-z_]*\).*/\1/p' \
		  docs/libcrmpubsub.3 2>/dev/null)

install: install-lib install-daemon
	@for t in $(MODULE_INSTALL); do $(MAKE) --no-print-directory $$t || exit 1; done

install-lib: all
	@$(MKDIRS) $(LIBDIR) $(INCDIR) $(PKGCONFIGDIR) $(MANDIR)/man3
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(LIB_REAL)
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libcrmpubsub.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libcrmpubsub.a
	install -m 0644 client/crmpubsub.h $(DESTDIR)$(INCDIR)/crmpubsub.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	  -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	  client/libcrmpubsub.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libcrmpubsub.pc
	if test -f docs/libcrmpubsub.3; then \
	  install -m 0644 docs/libcrmpubsub.3 $(DESTDIR)$(MANDIR)/man3/libcrmpubsub.3 && \
	  for n in $(LIB_MAN_LINKS); do \
	    ln -sf libcrmpubsub.3 $(DESTDIR)$(MANDIR)/man3/$$n.3 || exit 1; \
	  done; \
	fi
	@if [ -z "$(DESTDIR)" ]; then tools/ldconfig.sh $(LIBDIR) $(LIB_SONAME); fi

install-daemon: all
	@$(MKDIRS) $(SBINDIR) $(BINDIR) $(UNITDIR) $(SYSUSERSDIR) $(TMPFILESDIR) \
	  $(SYSCONFDIR)/crmpubsub $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man8
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/crmpubsubd
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/crmpubsub-cli
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  systemd/crmpubsubd.service.in > $(DESTDIR)$(UNITDIR)/crmpubsubd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/crmpubsubd.service
	install -m 0644 systemd/crmpubsubd.socket $(DESTDIR)$(UNITDIR)/crmpubsubd.socket
	sed -e 's|@BINDIR@|$(BINDIR)|g' systemd/crmpubsub-metrics.service.in \
	  > $(DESTDIR)$(UNITDIR)/crmpubsub-metrics.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/crmpubsub-metrics.service
	install -m 0644 systemd/crmpubsub-metrics.timer \
	  $(DESTDIR)$(UNITDIR)/crmpubsub-metrics.timer
	install -m 0644 systemd/crmpubsub.sysusers $(DESTDIR)$(SYSUSERSDIR)/crmpubsub.conf
	install -m 0644 systemd/crmpubsub.tmpfiles $(DESTDIR)$(TMPFILESDIR)/crmpubsub.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/crmpubsub/crmpubsubd.conf || \
	  install -m 0644 systemd/crmpubsubd.conf \
	  $(DESTDIR)$(SYSCONFDIR)/crmpubsub/crmpubsubd.conf
	install -m 0644 docs/crmpubsub-cli.1 $(DESTDIR)$(MANDIR)/man1/crmpubsub-cli.1
	install -m 0644 docs/crmpubsubd.conf.5 $(DESTDIR)$(MANDIR)/man5/crmpubsubd.conf.5
	install -m 0644 docs/crmpubsubd.8 $(DESTDIR)$(MANDIR)/man8/crmpubsubd.8

# Removes whatever of both parts is installed, then the directories install
# created, as far as they are empty.
uninstall:
	@for t in $(MODULE_UNINSTALL); do $(MAKE) --no-print-directory $$t || exit 1; done
	rm -f $(DESTDIR)$(SBINDIR)/crmpubsubd $(DESTDIR)$(BINDIR)/crmpubsub-cli \
	  $(DESTDIR)$(LIBDIR)/$(LIB_REAL) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) \
	  $(DESTDIR)$(LIBDIR)/libcrmpubsub.so \
	  $(DESTDIR)$(LIBDIR)/libcrmpubsub.a $(DESTDIR)$(INCDIR)/crmpubsub.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/libcrmpubsub.pc
	rm -f $(DESTDIR)$(UNITDIR)/crmpubsubd.service \
	  $(DESTDIR)$(UNITDIR)/crmpubsubd.socket \
	  $(DESTDIR)$(UNITDIR)/crmpubsub-metrics.service \
	  $(DESTDIR)$(UNITDIR)/crmpubsub-metrics.timer \
	  $(DESTDIR)$(SYSUSERSDIR)/crmpubsub.conf \
	  $(DESTDIR)$(TMPFILESDIR)/crmpubsub.conf \
	  $(DESTDIR)$(MANDIR)/man1/crmpubsub-cli.1 \
	  $(DESTDIR)$(MANDIR)/man3/libcrmpubsub.3 \
	  $(LIB_MAN_LINKS:%=$(DESTDIR)$(MANDIR)/man3/%.3) \
	  $(DESTDIR)$(MANDIR)/man5/crmpubsubd.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/crmpubsubd.8
# The config file is the administrator's: it goes only while it is still the
# unmodified example.
	if cmp -s systemd/crmpubsubd.conf \
	    $(DESTDIR)$(SYSCONFDIR)/crmpubsub/crmpubsubd.conf; then \
	  rm -f $(DESTDIR)$(SYSCONFDIR)/crmpubsub/crmpubsubd.conf; \
	  rmdir $(DESTDIR)$(SYSCONFDIR)/crmpubsub 2>/dev/null || true; \
	fi
	@tools/install-dirs.sh remove "$(DESTDIR)" $(DIRLIST)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  PATH="$$PATH:/sbin:/usr/sbin" ldconfig; fi

clean:
	rm -rf build
	find proto daemon client tests -name '*.[od]' -delete
	rm -f $(DAEMON) $(TEST_BINS) $(EXAMPLES) $(LIB_A) $(O)/client/libcrmpubsub.so* \
	  $(MODULE_CLEAN)
