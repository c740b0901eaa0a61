/* common.c -- the harnesses' shared part; see common.h.  */

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* From libgc (Guile's collector), declared here rather than by including
   <gc/gc.h>, whose macros would redirect our own calls.  */
extern int GC_is_heap_ptr (const void *p);
extern size_t GC_get_heap_size (void);

/* From LeakSanitizer, when it is linked in (it is, with ASan).  */
extern void __lsan_register_root_region (const void *p, size_t size)
  __attribute__ ((weak));

void scm_init_guile_net_wait (void);
void scm_init_guile_net_socket (void);
void scm_init_guile_net_tls (void);
void scm_init_guile_net_dtls (void);

static void
init_wait (void *unused)
{
  scm_init_guile_net_wait ();
}

static void
init_socket (void *unused)
{
  scm_init_guile_net_socket ();
}

static void
init_tls (void *unused)
{
  scm_init_guile_net_tls ();
}

static void
init_dtls (void *unused)
{
  scm_init_guile_net_dtls ();
}

static SCM harness_module = SCM_BOOL_F;

static void
set_default_env (const char *name, const char *value)
{
  if (getenv (name) == NULL)
    setenv (name, value, 1);
}

void
fuzz_init (void)
{
  static int done;
  if (done)
    return;
  done = 1;
  /* The Scheme modules from the source tree, compiled ones and
     (net config) from the build tree, as ./pre-inst-env does.  */
  set_default_env ("GUILE_LOAD_PATH",
                   FUZZ_SRCDIR "/module:" FUZZ_BUILDDIR "/module");
  set_default_env ("GUILE_LOAD_COMPILED_PATH", FUZZ_BUILDDIR "/module");
  set_default_env ("GUILE_AUTO_COMPILE", "0");
  /* No JIT: Guile 3.0.8 never frees the code arena descriptor (32 bytes
     from calloc) of a thread that JIT-compiled something, which the leak
     check of the tls-established harness, one thread per input, reports;
     and the allocating function has no symbol to suppress it by.  */
  set_default_env ("GUILE_JIT_THRESHOLD", "-1");
  scm_init_guile ();
  /* Finalizers run in fuzz_end_input, in this thread.  */
  scm_set_automatic_finalization_enabled (0);
  /* (net config)'s load-extension finds these before looking for a
     shared object, whatever library name it asks for.  */
  scm_c_register_extension (NULL, "scm_init_guile_net_wait", init_wait, NULL);
  scm_c_register_extension (NULL, "scm_init_guile_net_socket", init_socket,
                            NULL);
  scm_c_register_extension (NULL, "scm_init_guile_net_tls", init_tls, NULL);
  scm_c_register_extension (NULL, "scm_init_guile_net_dtls", init_dtls,
                            NULL);
  harness_module = scm_c_eval_string
    ("(begin (define-module (guile-net fuzz harness)"
     "         #:use-module (net socket) #:use-module (net tls)"
     "         #:use-module (net error)"
     "         #:use-module (ice-9 binary-ports) #:use-module (ice-9 threads)"
     "         #:use-module (rnrs bytevectors))"
     "       (current-module))");
  scm_permanent_object (harness_module);
  fuzz_end_input ();
}

SCM
fuzz_eval (const char *expr)
{
  return scm_eval_string_in_module (scm_from_utf8_string (expr),
                                    harness_module);
}

static SCM
caught (void *data, SCM key, SCM args)
{
  return SCM_UNDEFINED;
}

SCM
fuzz_catch (SCM (*body) (void *), void *data)
{
  return scm_c_catch (SCM_BOOL_T, body, data, caught, NULL, NULL, NULL);
}

/* ---- LeakSanitizer and the GC heap ---------------------------------

   LeakSanitizer scans globals, stacks and malloc'd blocks for pointers,
   but not the collector's heap, which libgc maps with mmap.  Memory that
   only a live Scheme object points to (a GnuTLS structure owned by a
   certificate object, a bignum's limbs) would then look leaked.  So
   every mapping holding part of the GC heap is registered as a root
   region: what a Scheme object points to is reachable, and what our C
   code allocated and then lost (on an error path, say) is reported.  */

struct region
{
  uintptr_t lo, hi;
};
static struct region *regions;
static size_t n_regions, cap_regions;

static void
note_region (uintptr_t lo, uintptr_t hi)
{
  for (size_t i = 0; i < n_regions; i++)
    if (regions[i].lo == lo && regions[i].hi == hi)
      return;
  if (n_regions == cap_regions)
    {
      cap_regions = cap_regions ? 2 * cap_regions : 64;
      regions = realloc (regions, cap_regions * sizeof *regions);
      if (regions == NULL)
        abort ();
    }
  regions[n_regions].lo = lo;
  regions[n_regions].hi = hi;
  n_regions++;
  __lsan_register_root_region ((const void *) lo, hi - lo);
}

static void
register_gc_heap (void)
{
  static size_t last_heap_size;
  if (__lsan_register_root_region == NULL)
    return;
  size_t size = GC_get_heap_size ();
  if (size == last_heap_size)
    return;
  last_heap_size = size;
  FILE *maps = fopen ("/proc/self/maps", "r");
  if (maps == NULL)
    return;
  char line[512];
  while (fgets (line, sizeof line, maps))
    {
      unsigned long lo, hi, offset, inode;
      char perms[8], dev[32];
      int end = 0;
      if (sscanf (line, "%lx-%lx %7s %lx %31s %lu %n", &lo, &hi, perms,
                  &offset, dev, &inode, &end) < 6)
        continue;
      /* Anonymous, not [stack] or [heap].  Whatever the permissions:
         libgc unmaps free blocks by mapping them PROT_NONE and maps
         them back without the heap growing, and LeakSanitizer skips
         what is not readable when it scans.  */
      (void) perms;
      if (inode != 0 || (end > 0 && line[end] == '['))
        continue;
      if (hi - lo > (1UL << 30))
        continue;   /* sanitizer shadow and allocator spaces */
      for (uintptr_t a = lo; a < hi; a += 4096)
        if (GC_is_heap_ptr ((const void *) a))
          {
            note_region (lo, hi);
            break;
          }
    }
  fclose (maps);
}

void
fuzz_end_input (void)
{
  scm_run_finalizers ();
  register_gc_heap ();
}

/* ---- values from bytes ------------------------------------------------ */

uint8_t
fuzz_u8 (struct fuzz_input *in)
{
  if (in->n == 0)
    return 0;
  in->n--;
  return *in->p++;
}

uint32_t
fuzz_u32 (struct fuzz_input *in)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v = (v << 8) | fuzz_u8 (in);
  return v;
}

uint64_t
fuzz_u64 (struct fuzz_input *in)
{
  return ((uint64_t) fuzz_u32 (in) << 32) | fuzz_u32 (in);
}

SCM
fuzz_bytevector (struct fuzz_input *in, size_t len)
{
  if (len > in->n)
    len = in->n;
  SCM bv = scm_c_make_bytevector (len);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), in->p, len);
  in->p += len;
  in->n -= len;
  return bv;
}

static const int families[] = {
  AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC, AF_PACKET, AF_NETLINK, -1, 65535
};

/* Interesting integers around the limits our code checks.  */
static const int64_t edges[] = {
  0, 1, -1, 65535, 65536, 0xffffffffLL, 0x100000000LL, 0x7fffffffLL,
  -0x80000000LL, 0x80000000LL, 108, 107, 109, 127, 128, 255, 256
};

static SCM
wide_string (struct fuzz_input *in)
{
  size_t len = fuzz_u8 (in) % 140;
  SCM s = scm_c_make_string (len, SCM_MAKE_CHAR (0));
  for (size_t i = 0; i < len; i++)
    {
      uint32_t c = ((uint32_t) fuzz_u8 (in) << 8) | fuzz_u8 (in);
      if (c >= 0xd800 && c < 0xe000)
        c += 0x10000;   /* no surrogates: above the BMP instead */
      scm_c_string_set_x (s, i, SCM_MAKE_CHAR (c));
    }
  return s;
}

SCM
fuzz_value (struct fuzz_input *in, int depth)
{
  uint8_t tag = fuzz_u8 (in);
  switch (tag % 16)
    {
    case 0: return SCM_BOOL_F;
    case 1: return SCM_BOOL_T;
    case 2: return scm_from_int8 ((int8_t) fuzz_u8 (in));
    case 3:
      return scm_from_int (families[fuzz_u8 (in) % (sizeof families
                                                    / sizeof families[0])]);
    case 4: return scm_from_uint32 (fuzz_u32 (in));
    case 5: return scm_from_int32 ((int32_t) fuzz_u32 (in));
    case 6: return scm_from_uint64 (fuzz_u64 (in));
    case 7:
      {
        /* A bignum of up to 40 bytes, possibly negative.  */
        size_t k = fuzz_u8 (in) % 41;
        SCM n = SCM_INUM0;
        for (size_t i = 0; i < k; i++)
          n = scm_sum (scm_ash (n, scm_from_int (8)),
                       scm_from_uint8 (fuzz_u8 (in)));
        return (tag & 0x80) ? scm_difference (n, SCM_UNDEFINED) : n;
      }
    case 8:
      return scm_from_int64 (edges[fuzz_u8 (in) % (sizeof edges
                                                  / sizeof edges[0])]
                             + (int8_t) (tag & 0xf0) / 16);
    case 9:
      {
        size_t len = fuzz_u8 (in) % 140;
        if (len > in->n)
          len = in->n;
        SCM s = scm_from_latin1_stringn ((const char *) in->p, len);
        in->p += len;
        in->n -= len;
        return s;
      }
    case 10: return wide_string (in);
    case 11:
      {
        uint64_t bits = fuzz_u64 (in);
        double d;
        memcpy (&d, &bits, sizeof d);
        return scm_from_double (d);
      }
    case 12:
      if (depth <= 0)
        return SCM_EOL;
      {
        SCM a = fuzz_value (in, depth - 1);
        return scm_cons (a, fuzz_value (in, depth - 1));
      }
    case 13:
    case 14:
      if (depth <= 0)
        return SCM_EOL;
      {
        size_t len = fuzz_u8 (in) % 7;
        SCM l = SCM_EOL;
        for (size_t i = 0; i < len; i++)
          l = scm_cons (fuzz_value (in, depth - 1), l);
        return (tag % 16) == 13 ? l : scm_vector (l);
      }
    default:
      return scm_from_utf8_symbol ((tag & 0x10) ? "sha256" : "x");
    }
}
