/* tls-server.c -- libFuzzer harness: a TLS server (fuzz/certs/server.pem)
   whose client is the fuzz input, through an in-memory transport port;
   client certificates, ALPN and a server name handler depending on the
   first byte.  See fuzz/tls.scm.  */

#define FUZZ_TLS_PROC "fuzz-tls-server"
#include "tls-harness.c"
