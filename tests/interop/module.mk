# tests/interop: the three clients against each other through one real
# daemon. A C, a Python and an Elixir writer each broadcast; a C, a Python
# and an Elixir subscriber must each receive every push meant for them
# exactly once (tests/interop/run.py): one check per writer→subscriber
# pair, 9 in all. Elixir's build goes to a temporary directory, offline.
MODULE_CHECKS += check-interop
.PHONY: check-interop

check-interop: all
	@CRMPUBSUB_BUILD=$(O) CRMPUBSUBD=$(abspath $(DAEMON)) \
	  CRMPUBSUB_LIBRARY=$(abspath $(LIB_SO)) \
	  tests/suite.sh interop --need "$(PYTHON) elixir mix" --timeout 180 -- \
	  $(PYTHON) tests/interop/run.py
