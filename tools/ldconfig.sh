#!/bin/sh
# After the library is installed for real (no DESTDIR): as root, refresh
# the loader's cache so programs find libcrmpubsub.so.1 at once, and say so
# when LIBDIR is not among the directories the loader searches; as anyone
# else, say how programs will find it.
# usage: tools/ldconfig.sh LIBDIR SONAME
libdir=$1 soname=$2
PATH=$PATH:/sbin:/usr/sbin
if [ "$(id -u)" != 0 ]; then
	echo "note: not root, so ldconfig was not run; programs find $soname" \
	    "with LD_LIBRARY_PATH=$libdir (or link with -Wl,-rpath,$libdir)"
	exit 0
fi
echo ldconfig
ldconfig || exit 1
if ! ldconfig -p | grep -qF "=> $libdir/$soname"; then
	echo "note: $libdir is not searched by the loader; add it to a file" \
	    "in /etc/ld.so.conf.d/ and run ldconfig, or use LD_LIBRARY_PATH"
fi
exit 0
