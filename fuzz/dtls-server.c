/* dtls-server.c -- libFuzzer harness: a DTLS server (dtls.c) fed
   datagrams from the input, from unknown peers (which must get a cookie
   and no state) and from the address of a client whose session is
   established (so the bytes reach that session).  See fuzz/tls.scm.  */

#define FUZZ_TLS_PROC "fuzz-dtls-server"
#include "tls-harness.c"
