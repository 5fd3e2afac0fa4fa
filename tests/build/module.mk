# tests/build: checks of the build system and of the documents.
#   clean.sh  `make clean` removes exactly what `make` builds (tracked files
#             stay), and `make` builds again afterwards
#   docs.sh   the documents cite files that exist and the README lists
#             every daemon source file
MODULE_CHECKS += check-build

check-build:
	@tests/suite.sh build --need "git tar" --timeout 1800 -- tests/build/run.sh
.PHONY: check-build
