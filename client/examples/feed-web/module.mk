# The feed application (client/examples/feed-web, package feedweb): a CRM
# contact page that refreshes live through crmpubsubd. `make demo` runs it
# on 127.0.0.1:$(DEMO_PORT) with a daemon on a private socket; `make check`
# runs its pytest suite against this build; `make install` copies it into
# $(FEEDWEBDIR), to run as `PYTHONPATH=$(FEEDWEBDIR) python3 -m feedweb`.
FEEDWEBDIR ?= $(PREFIX)/share/crmpubsub/feed-web
DEMO_PORT ?= 8470
FEEDWEB_PY = $(wildcard client/examples/feed-web/feedweb/*.py)
FEEDWEB_STATIC = $(wildcard client/examples/feed-web/feedweb/static/*)
FEEDWEB_RUN = client/examples/feed-web/tests/run.sh

MODULE_CHECKS += check-feed-web
MODULE_INSTALL += install-feed-web
MODULE_UNINSTALL += uninstall-feed-web
.PHONY: demo check-feed-web install-feed-web uninstall-feed-web

demo: deps-ok $(DAEMON) $(LIB_SO)
	@client/examples/feed-web/demo.sh $(PYTHON) $(abspath $(DAEMON)) \
	  $(abspath $(LIB_SO)) $(DEMO_PORT)

check-feed-web: all
	@tests/suite.sh feed-web --need "$(PYTHON)" --timeout 300 -- \
	  $(FEEDWEB_RUN) feed-web $(PYTHON) $(abspath $(DAEMON)) \
	  $(abspath $(LIB_SO)) pytest client/examples/feed-web/tests

install-feed-web:
	@$(MKDIRS) $(FEEDWEBDIR)/feedweb/static
	install -m 0644 $(FEEDWEB_PY) $(DESTDIR)$(FEEDWEBDIR)/feedweb/
	install -m 0644 $(FEEDWEB_STATIC) $(DESTDIR)$(FEEDWEBDIR)/feedweb/static/
	install -m 0644 client/examples/feed-web/README.md $(DESTDIR)$(FEEDWEBDIR)/

uninstall-feed-web:
	rm -rf $(DESTDIR)$(FEEDWEBDIR)
