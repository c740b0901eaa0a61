/* sockaddr.c -- libFuzzer harness for socket address conversion
   (libguile-net/sockaddr.c): Scheme values made from the fuzz bytes to
   struct sockaddr and back, raw struct sockaddr bytes (as accept,
   recvfrom!, getsockname and getaddrinfo hand them over) to Scheme, and
   the make-socket-address, inet-pton and inet-ntop primitives.

   Properties checked: an address that converts to a struct sockaddr
   converts back to a Scheme address that gives the very same bytes, and
   an AF_INET, AF_INET6 or AF_UNIX address as the kernel returns it always
   converts to Scheme.  */

#include "common.h"
#include "guile-net.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

SCM gn_make_socket_address (SCM family, SCM address, SCM args);
SCM gn_inet_pton (SCM family, SCM address);
SCM gn_inet_ntop (SCM family, SCM address);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

struct job
{
  struct fuzz_input in;
};

/* A socket address object: mostly the right shape, with fields from the
   input, sometimes anything.  */
static SCM
address_vector (struct fuzz_input *in)
{
  uint8_t shape = fuzz_u8 (in);
  size_t len;
  SCM family;
  switch (shape % 5)
    {
    case 0: family = scm_from_int (AF_INET); len = 3; break;
    case 1: family = scm_from_int (AF_INET6); len = 5; break;
    case 2: family = scm_from_int (AF_UNIX); len = 2; break;
    case 3: family = fuzz_value (in, 1); len = fuzz_u8 (in) % 7; break;
    default: return fuzz_value (in, 3);
    }
  if (shape & 0x80)
    len = fuzz_u8 (in) % 7;
  SCM v = scm_c_make_vector (len, SCM_BOOL_F);
  if (len > 0)
    scm_c_vector_set_x (v, 0, family);
  for (size_t i = 1; i < len; i++)
    scm_c_vector_set_x (v, i, fuzz_value (in, 2));
  return v;
}

static void
check_round_trip (const gn_sockaddr *a)
{
  SCM back = gn_sockaddr_to_scm ((const struct sockaddr *) &a->ss, a->len,
                                 "fuzz");
  gn_sockaddr b;
  gn_scm_to_sockaddr (back, SCM_UNDEFINED, SCM_UNDEFINED, &b, "fuzz", 1);
  if (a->len != b.len || memcmp (&a->ss, &b.ss, a->len) != 0)
    {
      fprintf (stderr, "sockaddr round trip changed the address "
               "(length %u -> %u)\n", (unsigned) a->len, (unsigned) b.len);
      abort ();
    }
}

static SCM
raw_to_scm (void *data)
{
  gn_sockaddr *raw = data;
  return gn_sockaddr_to_scm ((struct sockaddr *) &raw->ss, raw->len, "fuzz");
}

static SCM
run (void *data)
{
  struct job *j = data;
  struct fuzz_input *in = &j->in;
  uint8_t op = fuzz_u8 (in);
  gn_sockaddr sa;
  switch (op % 6)
    {
    case 0:
    case 1:
      {
        /* A socket address object, maybe followed by what sendto passes
           after it.  */
        SCM v = address_vector (in);
        SCM address = (op & 0x10) ? fuzz_value (in, 1) : SCM_UNDEFINED;
        SCM args = (op & 0x20) ? fuzz_value (in, 2) : SCM_UNDEFINED;
        if (!SCM_UNBNDP (args) && !scm_is_null (args)
            && scm_ilength (args) < 0)
          args = SCM_EOL;   /* callers always pass a proper list */
        gn_scm_to_sockaddr (v, address, args, &sa, "fuzz", 1);
        check_round_trip (&sa);
        break;
      }
    case 2:
      {
        /* Family, address and the rest as separate arguments.  */
        SCM family = fuzz_value (in, 0);
        SCM address = fuzz_value (in, 2);
        SCM args = SCM_EOL;
        for (int k = fuzz_u8 (in) % 5; k > 0; k--)
          args = scm_cons (fuzz_value (in, 1), args);
        if (op & 0x80)
          gn_make_socket_address (family, address, args);
        else
          {
            gn_scm_to_sockaddr (family, address, args, &sa, "fuzz", 1);
            check_round_trip (&sa);
          }
        break;
      }
    case 3:
      {
        /* Raw bytes from the kernel: a family we know or any, a length
           up to the storage size, the rest of the input as contents.  */
        gn_sockaddr raw;
        memset (&raw, 0, sizeof raw);
        static const int fams[] = { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC };
        uint8_t f = fuzz_u8 (in);
        int family = (f & 0x80) ? (int) fuzz_u8 (in) : fams[f % 4];
        raw.len = fuzz_u8 (in) % (sizeof raw.ss + 1);
        size_t n = in->n < sizeof raw.ss ? in->n : sizeof raw.ss;
        memcpy (&raw.ss, in->p, n);
        raw.ss.ss_family = (sa_family_t) family;
        /* Only lengths the kernel gives for the family.  */
        if (family == AF_INET && raw.len < sizeof (struct sockaddr_in))
          raw.len = sizeof (struct sockaddr_in);
        if (family == AF_INET6 && raw.len < sizeof (struct sockaddr_in6))
          raw.len = sizeof (struct sockaddr_in6);
        if (family == AF_UNIX && raw.len > sizeof (struct sockaddr_un))
          raw.len = sizeof (struct sockaddr_un);
        /* What the kernel gives for these families must convert: an
           exception here would lose an accepted connection or a
           received datagram.  */
        if (fuzz_catch (raw_to_scm, &raw) == SCM_UNDEFINED
            && (family == AF_INET || family == AF_INET6 || family == AF_UNIX))
          {
            fprintf (stderr, "a kernel address of family %d did not "
                     "convert\n", family);
            abort ();
          }
        break;
      }
    case 4:
      {
        SCM family = (op & 0x40) ? fuzz_value (in, 0)
          : scm_from_int ((op & 0x80) ? AF_INET6 : AF_INET);
        gn_inet_pton (family, fuzz_value (in, 1));
        break;
      }
    default:
      {
        SCM family = (op & 0x40) ? fuzz_value (in, 0)
          : scm_from_int ((op & 0x80) ? AF_INET6 : AF_INET);
        SCM text = gn_inet_ntop (family, fuzz_value (in, 1));
        /* What inet-ntop prints, inet-pton reads back.  */
        gn_inet_pton (family, text);
        break;
      }
    }
  return SCM_BOOL_T;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  struct job j = { { data, size } };
  fuzz_catch (run, &j);
  fuzz_end_input ();
  return 0;
}
