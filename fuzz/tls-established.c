/* tls-established.c -- libFuzzer harness: a TLS session (client or
   server) after a real handshake with an honest peer in a thread, the
   input scripting what the peer then sends: records of any sizes, record
   port writes, raw bytes, close_notify, a cut connection.  Reaches the
   record reads, the record port and bye, which the tls-client and
   tls-server harnesses cannot get past a handshake to.  See fuzz/tls.scm.  */

#define FUZZ_TLS_PROC "fuzz-tls-established"
#include "tls-harness.c"
