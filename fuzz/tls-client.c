/* tls-client.c -- libFuzzer harness: a verifying TLS client (trusting
   fuzz/certs/ca.pem, expecting "localhost") whose server is the fuzz
   input, through an in-memory transport port.  See fuzz/tls.scm.  */

#define FUZZ_TLS_PROC "fuzz-tls-client"
#include "tls-harness.c"
