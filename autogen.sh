#!/bin/sh
# Generate the configure script and the build-aux files from a checkout.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
# GUILE_FLAGS uses gnulib's lib-link macros, which want config.rpath.
if [ ! -f build-aux/config.rpath ]; then
  if [ -f /usr/share/gettext/config.rpath ]; then
    cp /usr/share/gettext/config.rpath build-aux/
  else
    touch build-aux/config.rpath
  fi
fi
autoreconf --install --force
# Automake's TAP driver, which the test suite uses (see Makefile.am).
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
