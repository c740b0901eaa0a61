/* tls-harness.c -- the C half of the TLS harnesses, included by
   tls-client.c and tls-server.c with FUZZ_TLS_PROC naming the Scheme
   procedure of fuzz/tls.scm that runs one session on the input.  */

#include "common.h"

#include <string.h>

static SCM run_proc = SCM_BOOL_F;

static SCM
load_harness (void *unused)
{
  fuzz_eval ("(define fuzz-srcdir \"" FUZZ_SRCDIR "\")");
  fuzz_eval ("(primitive-load \"" FUZZ_SRCDIR "/fuzz/tls.scm\")");
  return fuzz_eval (FUZZ_TLS_PROC);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  /* Not under fuzz_catch: a harness that cannot start must say so.  */
  run_proc = scm_permanent_object (load_harness (NULL));
  return 0;
}

struct job
{
  const uint8_t *data;
  size_t size;
};

static SCM
run (void *data)
{
  struct job *j = data;
  SCM bv = scm_c_make_bytevector (j->size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), j->data, j->size);
  return scm_call_1 (run_proc, bv);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct job j = { data, size };
  fuzz_catch (run, &j);
  fuzz_end_input ();
  return 0;
}
