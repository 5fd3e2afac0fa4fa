# The Python client (client/python, package crmpubsub: ctypes over
# libcrmpubsub.so.1). `make install` copies the package into $(PYTHONDIR)
# and records $(LIBDIR) in crmpubsub/_install.py, so the installed package
# finds the installed library even before ldconfig has run; `make check`
# runs its pytest suite against this build's daemon and library.
# Debian's python3 reads distribution packages from /usr/lib/python3 and the
# administrator's from /usr/local/lib/python3.X: the package follows PREFIX.
PYTHONDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYTHON_VERSION)/dist-packages)
PYTHON_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PY_PACKAGE = $(filter-out %/_install.py,$(wildcard client/python/crmpubsub/*.py))

MODULE_CHECKS += check-python
MODULE_INSTALL += install-python
MODULE_UNINSTALL += uninstall-python
.PHONY: check-python install-python uninstall-python

check-python: all
	@tests/suite.sh python --need "$(PYTHON)" --timeout 600 -- \
	  client/python/tests/run.sh $(PYTHON) $(abspath $(DAEMON)) $(abspath $(LIB_SO))

install-python:
	@$(MKDIRS) $(PYTHONDIR)/crmpubsub
	install -m 0644 $(PY_PACKAGE) $(DESTDIR)$(PYTHONDIR)/crmpubsub/
	printf '# Written by make install: where libcrmpubsub.so.1 went.\nLIBDIR = "%s"\n' \
	  '$(LIBDIR)' > $(DESTDIR)$(PYTHONDIR)/crmpubsub/_install.py
	chmod 0644 $(DESTDIR)$(PYTHONDIR)/crmpubsub/_install.py

uninstall-python:
	rm -rf $(DESTDIR)$(PYTHONDIR)/crmpubsub
