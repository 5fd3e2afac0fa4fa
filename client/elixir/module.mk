# --- Elixir client: client/elixir (Mix project crmpubsub, module CrmPubSub) --
# `make check` runs its ExUnit suite against the real daemon (no Hex, no
# network; the federation case needs redis-server and is left out without
# it, except under CI). `make install` puts the project's sources where an
# application's mix.exs can name them:
#   {:crmpubsub, path: "$(ELIXIRDIR)"}
ELIXIRDIR ?= $(PREFIX)/share/crmpubsub/elixir
ELIXIR_SRCS = $(wildcard client/elixir/lib/*.ex client/elixir/lib/crm_pub_sub/*.ex)

MODULE_CHECKS += check-elixir
MODULE_INSTALL += install-elixir
MODULE_UNINSTALL += uninstall-elixir

check-elixir: $(DAEMON)
	@tests/suite.sh elixir --need "elixir mix" -- client/elixir/run-tests.sh

install-elixir:
	@$(MKDIRS) $(ELIXIRDIR)/lib/crm_pub_sub
	install -m 0644 client/elixir/mix.exs client/elixir/README.md \
	  $(DESTDIR)$(ELIXIRDIR)
	install -m 0644 client/elixir/lib/crm_pub_sub.ex $(DESTDIR)$(ELIXIRDIR)/lib
	install -m 0644 $(filter client/elixir/lib/crm_pub_sub/%,$(ELIXIR_SRCS)) \
	  $(DESTDIR)$(ELIXIRDIR)/lib/crm_pub_sub

uninstall-elixir:
	rm -rf $(DESTDIR)$(ELIXIRDIR)

# Mix's build output (the suite's and a developer's own `mix` runs).
clean: clean-elixir
clean-elixir:
	rm -rf client/elixir/_build client/elixir/deps

.PHONY: check-elixir install-elixir uninstall-elixir clean-elixir
