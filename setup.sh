#!/bin/sh
# setup.sh -- set up a fresh Debian machine for Guile-Net, build, and then
# run the demo or the test suite.
#
#   ./setup.sh demo        install what is missing, build, run the demo
#   ./setup.sh check       install what is missing, build, run every test
#                          suite: each make target in $check_targets below
#   ./setup.sh distcheck   ... and check the release tarball
#   ./setup.sh fuzz        ... and run the fuzz harnesses (make check-fuzz)
#   ./setup.sh build       install what is missing and build
set -eu
cd "$(dirname "$0")"
what=${1:-build}

# Build tools and libraries, then the peers the tests talk to, then clang
# with its sanitizer and libFuzzer runtimes (libclang-rt-dev, only
# recommended by clang on Debian 12) for make check-fuzz.
packages="guile-3.0 guile-3.0-dev libgnutls28-dev check gnutls-bin
  autoconf automake libtool texinfo pkg-config make gcc
  openssl curl python3 ca-certificates libnss-wrapper wrk testssl.sh
  valgrind clang libclang-rt-dev"

# What `./setup.sh check' runs, in this order, each a make target that ends
# with automake's summary ("# PASS:  N" ...), which .ci/run adds up.  A
# failing target does not stop the next; the exit status is 1 if any
# failed.  A new suite is one more line here.
check_targets="
  check
  check-sanitizers
  check-valgrind
  check-fuzz-short
  check-soak
  check-install
"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup.sh: installing:$missing"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
fi

[ -x configure ] && [ configure -nt configure.ac ] && [ -f build-aux/tap-driver.sh ] \
  || ./autogen.sh
[ -f Makefile ] && [ Makefile -nt configure ] || ./configure
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs"

case "$what" in
  demo)      exec ./pre-inst-env guile --no-auto-compile examples/tls-demo.scm ;;
  check)
    status=0
    for target in $check_targets; do
      echo "setup.sh: make $target"
      start=$(date +%s)
      make -j"$jobs" "$target" || { status=1; echo "setup.sh: make $target FAILED"; }
      echo "setup.sh: make $target took $(( $(date +%s) - start )) s"
    done
    exit $status ;;
  distcheck) exec make -j"$jobs" distcheck ;;
  fuzz)      exec make -j"$jobs" check-fuzz ;;
  build)     ;;
  *)         echo "usage: $0 [demo|check|distcheck|fuzz|build]" >&2; exit 2 ;;
esac
