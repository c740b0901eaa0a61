/* common.h -- what the libFuzzer harnesses of fuzz/ share: starting Guile
   with our primitives linked in, building Scheme values from fuzz bytes,
   catching every Scheme exception, and telling LeakSanitizer where the
   garbage-collected heap is.  */

#ifndef GUILE_NET_FUZZ_COMMON_H
#define GUILE_NET_FUZZ_COMMON_H

#include <libguile.h>
#include <stddef.h>
#include <stdint.h>

/* What libFuzzer calls; every harness defines both.  */
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Start Guile once, register our C entry points so that (net socket) and
   (net tls) use the copy linked into the harness (not the installed or
   build-tree shared object), and load those modules.  */
void fuzz_init (void);

/* Call BODY (DATA); return what it returns, or SCM_UNDEFINED when it
   raised any Scheme exception (which is what bad input is expected to
   do).  */
SCM fuzz_catch (SCM (*body) (void *), void *data);

/* Evaluate the Scheme expression EXPR in the harness module, which uses
   (net socket), (net tls) and the binary port modules.  */
SCM fuzz_eval (const char *expr);

/* Once per input, at its end: run pending finalizers (automatic
   finalization is off, so that frees happen in this thread, when the
   leak checker can account for them) and register any new part of the
   GC heap as a LeakSanitizer root region.  */
void fuzz_end_input (void);

/* Reading fuzz bytes.  Past the end every read gives zeros.  */
struct fuzz_input
{
  const uint8_t *p;
  size_t n;
};
uint8_t fuzz_u8 (struct fuzz_input *in);
uint32_t fuzz_u32 (struct fuzz_input *in);
uint64_t fuzz_u64 (struct fuzz_input *in);
/* A bytevector of the next LEN bytes (fewer at the end).  */
SCM fuzz_bytevector (struct fuzz_input *in, size_t len);
/* Any Scheme value: booleans, fixnums, bignums (negative too), reals,
   address family numbers, Latin-1 and wide strings, symbols, pairs,
   lists and vectors, nested up to DEPTH.  */
SCM fuzz_value (struct fuzz_input *in, int depth);

/* Where the sources are, for data files (set by the Makefile).  */
#ifndef FUZZ_SRCDIR
# define FUZZ_SRCDIR "."
#endif
#ifndef FUZZ_BUILDDIR
# define FUZZ_BUILDDIR "."
#endif

#endif
