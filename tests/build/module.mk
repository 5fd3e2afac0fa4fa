# tests/build: checks of the build system and of the documents.
#   clean.sh  `make clean` removes exactly what `make` builds (tracked files
#             stay), and `make` builds again afterwards
#   docs.sh   the documents cite files that exist and the README lists
#             every daemon source file
#   walk.py   README.md's and docs/client.md's first steps run as written
#             against the real daemon and print what the documents show;
#             run as root, also README.md's as an ordinary user beside a
#             root daemon, finding the user's own daemon unaided
MODULE_CHECKS += check-build check-walk

check-build:
	@tests/suite.sh build --need "git tar" --timeout 1800 -- tests/build/run.sh

check-walk: all
	@tests/suite.sh walk --need "$(PYTHON) socat pkg-config cc" --timeout 600 -- \
	  $(PYTHON) tests/build/walk.py
.PHONY: check-build check-walk
