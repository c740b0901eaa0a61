/* sockaddr.c -- socket addresses.

   A socket address is Guile's own vector: #(AF_INET ADDR PORT),
   #(AF_INET6 ADDR PORT FLOWINFO SCOPEID) or #(AF_UNIX PATH), so addresses
   made by Guile's core `make-socket-address' and by ours are the same thing,
   and `sockaddr:fam' and friends work on both.  Unlike the core, a port
   number above 65535 or an address out of range is an error, not silently
   truncated.  */

#include "guile-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

uint16_t
gn_to_port_number (SCM port, const char *subr, int pos)
{
  if (!scm_is_exact_integer (port))
    gn_wrong_type (subr, pos, port);
  if (!scm_is_unsigned_integer (port, 0, 65535))
    gn_out_of_range (subr, pos, port);
  return (uint16_t) scm_to_uint (port);
}

uint32_t
gn_to_ipv4 (SCM address, const char *subr, int pos)
{
  if (!scm_is_exact_integer (address))
    gn_wrong_type (subr, pos, address);
  if (!scm_is_unsigned_integer (address, 0, UINT32_MAX))
    gn_out_of_range (subr, pos, address);
  return scm_to_uint32 (address);
}

static uint32_t
to_u32 (SCM n, const char *subr, int pos)
{
  if (SCM_UNBNDP (n))
    return 0;
  return gn_to_ipv4 (n, subr, pos);
}

/* IPv6 addresses are integers in host order, as in Guile.  */
void
gn_to_ipv6 (SCM address, uint8_t out[16], const char *subr, int pos)
{
  static SCM max;
  if (!max)
    max = scm_permanent_object
      (scm_difference (scm_ash (SCM_I_MAKINUM (1), SCM_I_MAKINUM (128)),
                       SCM_I_MAKINUM (1)));
  if (!scm_is_exact_integer (address))
    gn_wrong_type (subr, pos, address);
  if (scm_is_true (scm_negative_p (address))
      || scm_is_true (scm_gr_p (address, max)))
    gn_out_of_range (subr, pos, address);
  SCM n = address, byte_mask = SCM_I_MAKINUM (255);
  for (int i = 15; i >= 0; i--)
    {
      out[i] = (uint8_t) scm_to_uint (scm_logand (n, byte_mask));
      n = scm_ash (n, SCM_I_MAKINUM (-8));
    }
}

SCM
gn_from_ipv6 (const uint8_t addr[16])
{
  SCM n = SCM_I_MAKINUM (0);
  for (int i = 0; i < 16; i++)
    n = scm_logior (scm_ash (n, SCM_I_MAKINUM (8)), SCM_I_MAKINUM (addr[i]));
  return n;
}

/* Fill OUT for FAMILY from ADDRESS and the list ARGS; return what is left of
   ARGS.  Positions count from the family argument at POS.  */
static SCM
make_sockaddr (int family, SCM address, SCM args, gn_sockaddr *out,
               const char *subr, int pos, int fixed_pos)
{
  /* Position of the Kth argument after the family, or POS itself when the
     fields come from a socket address object.  */
#define P(k) (fixed_pos ? pos : pos + (k))
  memset (out, 0, sizeof *out);
  switch (family)
    {
    case AF_INET:
      {
        struct sockaddr_in *in = (struct sockaddr_in *) &out->ss;
        if (!scm_is_pair (args))
          scm_error_num_args_subr (subr);
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl (gn_to_ipv4 (address, subr, P(1)));
        in->sin_port = htons (gn_to_port_number (SCM_CAR (args), subr, P(2)));
        out->len = sizeof *in;
        return SCM_CDR (args);
      }
    case AF_INET6:
      {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &out->ss;
        if (!scm_is_pair (args))
          scm_error_num_args_subr (subr);
        in6->sin6_family = AF_INET6;
        gn_to_ipv6 (address, in6->sin6_addr.s6_addr, subr, P(1));
        in6->sin6_port = htons (gn_to_port_number (SCM_CAR (args), subr,
                                                   P(2)));
        args = SCM_CDR (args);
        if (scm_is_pair (args))
          {
            in6->sin6_flowinfo = htonl (to_u32 (SCM_CAR (args), subr, P(3)));
            args = SCM_CDR (args);
            if (scm_is_pair (args))
              {
                in6->sin6_scope_id = to_u32 (SCM_CAR (args), subr, P(4));
                args = SCM_CDR (args);
              }
          }
        out->len = sizeof *in6;
        return args;
      }
    case AF_UNIX:
      {
        struct sockaddr_un *un = (struct sockaddr_un *) &out->ss;
        if (!scm_is_string (address))
          gn_wrong_type (subr, P(1), address);
        size_t n;
        char *path = scm_to_utf8_stringn (address, &n);
        /* A file name ends at its first NUL for the kernel: one inside
           the path would bind or connect to a shorter name than given
           (and getsockname would not give it back).  Only an abstract
           name, which starts with NUL, may hold them.  */
        if (n >= sizeof un->sun_path
            || (n > 1 && path[0] != '\0' && memchr (path, '\0', n) != NULL))
          {
            free (path);
            gn_out_of_range (subr, P(1), address);
          }
        un->sun_family = AF_UNIX;
        memcpy (un->sun_path, path, n);
        free (path);
        /* A leading NUL names an abstract socket: its length is exact.  */
        out->len = offsetof (struct sockaddr_un, sun_path) + n
                   + (n > 0 && un->sun_path[0] != '\0' ? 1 : 0);
        return args;
      }
    default:
      gn_out_of_range (subr, pos, scm_from_int (family));
    }
}
#undef P

SCM
gn_scm_to_sockaddr (SCM fam_or_sa, SCM address, SCM args, gn_sockaddr *out,
                    const char *subr, int pos)
{
  if (SCM_HEAP_OBJECT_P (fam_or_sa) && SCM_TYP7 (fam_or_sa) == scm_tc7_vector)
    {
      /* A socket address object; ADDRESS, if given, starts the rest.  */
      size_t len = SCM_SIMPLE_VECTOR_LENGTH (fam_or_sa);
      if (len < 2)
        gn_wrong_type (subr, pos, fam_or_sa);
      SCM fam = SCM_SIMPLE_VECTOR_REF (fam_or_sa, 0);
      if (scm_is_eq (fam, SCM_I_MAKINUM (AF_INET)) && len == 3)
        {
          /* The common case, without building a list: sendto per datagram. */
          struct sockaddr_in *in = (struct sockaddr_in *) &out->ss;
          memset (in, 0, sizeof *in);
          in->sin_family = AF_INET;
          in->sin_addr.s_addr = htonl (gn_to_ipv4 (SCM_SIMPLE_VECTOR_REF
                                                   (fam_or_sa, 1), subr, pos));
          in->sin_port = htons (gn_to_port_number (SCM_SIMPLE_VECTOR_REF
                                                   (fam_or_sa, 2), subr, pos));
          out->len = sizeof *in;
          if (SCM_UNBNDP (address))
            return SCM_EOL;
          return scm_cons (address, SCM_UNBNDP (args) ? SCM_EOL : args);
        }
      int family = gn_to_int (fam, subr, pos);
      SCM fields = SCM_EOL;
      for (size_t i = len; i > 2; i--)
        fields = scm_cons (scm_c_vector_ref (fam_or_sa, i - 1), fields);
      size_t expected = family == AF_INET ? 3 : family == AF_INET6 ? 5 : 2;
      if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
        gn_out_of_range (subr, pos, fam_or_sa);
      if (len != expected)
        gn_wrong_type (subr, pos, fam_or_sa);
      SCM addr = scm_c_vector_ref (fam_or_sa, 1);
      if (family == AF_UNIX && scm_is_false (addr))
        gn_wrong_type (subr, pos, fam_or_sa);
      /* Errors inside the vector name the vector's position.  */
      make_sockaddr (family, addr, fields, out, subr, pos, 1);
      if (SCM_UNBNDP (address))
        return SCM_EOL;
      return scm_cons (address, SCM_UNBNDP (args) ? SCM_EOL : args);
    }
  if (SCM_UNBNDP (address))
    {
      if (scm_is_exact_integer (fam_or_sa))
        scm_error_num_args_subr (subr);
      gn_wrong_type (subr, pos, fam_or_sa);
    }
  return make_sockaddr (gn_to_int (fam_or_sa, subr, pos), address,
                        SCM_UNBNDP (args) ? SCM_EOL : args, out, subr, pos, 0);
}

/* The name of an AF_UNIX socket as the kernel gives it: bytes a peer
   chose, not necessarily UTF-8.  Decoding must not raise (accept, after
   taking the connection, or recvfrom!, after taking the datagram, would
   then lose it), so a byte sequence that is not UTF-8 reads as question
   marks, as Guile's own sockets do.  Found by fuzz/sockaddr.c.  */
static SCM
path_to_string (const char *bytes, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((unsigned char) bytes[i] >= 0x80)
      return scm_from_stringn (bytes, n, "UTF-8",
                               SCM_FAILED_CONVERSION_QUESTION_MARK);
  return scm_from_latin1_stringn (bytes, n);   /* ASCII: the fast way */
}

SCM
gn_sockaddr_to_scm (const struct sockaddr *sa, socklen_t len, const char *subr)
{
  switch (sa->sa_family)
    {
    /* Built in place: recvfrom! makes one per datagram.  */
    case AF_INET:
      {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        SCM v = scm_c_make_vector (3, SCM_BOOL_F);
        SCM_SIMPLE_VECTOR_SET (v, 0, scm_from_int (AF_INET));
        SCM_SIMPLE_VECTOR_SET (v, 1, scm_from_uint32 (ntohl (in->sin_addr.s_addr)));
        SCM_SIMPLE_VECTOR_SET (v, 2, scm_from_uint16 (ntohs (in->sin_port)));
        return v;
      }
    case AF_INET6:
      {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        SCM v = scm_c_make_vector (5, SCM_BOOL_F);
        SCM_SIMPLE_VECTOR_SET (v, 0, scm_from_int (AF_INET6));
        SCM_SIMPLE_VECTOR_SET (v, 1, gn_from_ipv6 (in6->sin6_addr.s6_addr));
        SCM_SIMPLE_VECTOR_SET (v, 2, scm_from_uint16 (ntohs (in6->sin6_port)));
        SCM_SIMPLE_VECTOR_SET (v, 3, scm_from_uint32 (ntohl (in6->sin6_flowinfo)));
        SCM_SIMPLE_VECTOR_SET (v, 4, scm_from_uint32 (in6->sin6_scope_id));
        return v;
      }
    case AF_UNIX:
      {
        const struct sockaddr_un *un = (const struct sockaddr_un *) sa;
        size_t off = offsetof (struct sockaddr_un, sun_path);
        SCM path = SCM_BOOL_F;
        if (len > off)
          {
            size_t n = len - off;
            if (n > sizeof un->sun_path)
              n = sizeof un->sun_path;
            if (un->sun_path[0] != '\0')
              n = strnlen (un->sun_path, n);
            path = path_to_string (un->sun_path, n);
          }
        return scm_vector (scm_list_2 (scm_from_int (AF_UNIX), path));
      }
    case AF_UNSPEC:
      return SCM_BOOL_F;
    default:
      /* A family the kernel gave us (getsockname of an AF_NETLINK
         socket, say) that has no Scheme form.  */
      gn_out_of_range_msg (subr, 0, scm_from_int (sa->sa_family),
                           "unrecognised address family");
    }
}

SCM_DEFINE (gn_make_socket_address, "make-socket-address", 2, 0, 1,
            (SCM family, SCM address, SCM args),
            "Return a socket address object for @var{family}:\n"
            "@code{(make-socket-address AF_INET @var{ipv4addr} @var{port})},\n"
            "@code{(make-socket-address AF_INET6 @var{ipv6addr} @var{port}\n"
            "[@var{flowinfo} [@var{scopeid}]])} or\n"
            "@code{(make-socket-address AF_UNIX @var{path})}.  Addresses are\n"
            "integers in host order; a port outside 0--65535 is an\n"
            "@code{out-of-range} error.")
#define FUNC_NAME s_gn_make_socket_address
{
  gn_sockaddr sa;
  SCM rest = make_sockaddr (gn_to_int (family, FUNC_NAME, 1), address, args,
                            &sa, FUNC_NAME, 1, 0);
  if (!scm_is_null (rest))
    scm_error_num_args_subr (FUNC_NAME);
  return gn_sockaddr_to_scm ((struct sockaddr *) &sa.ss, sa.len, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_inet_pton, "inet-pton", 2, 0, 0,
            (SCM family, SCM address),
            "Convert the string @var{address}, in the presentation format of\n"
            "@var{family} (@code{AF_INET} or @code{AF_INET6}), to an integer\n"
            "in host order.  A string that is not an address of\n"
            "@var{family} is an @code{out-of-range} error.\n\n"
            "@lisp\n(inet-pton AF_INET \"127.0.0.1\") @result{} 2130706433\n@end lisp")
#define FUNC_NAME s_gn_inet_pton
{
  int af = gn_to_int (family, FUNC_NAME, 1);
  if (af != AF_INET && af != AF_INET6)
    gn_out_of_range (FUNC_NAME, 1, family);
  if (!scm_is_string (address))
    gn_wrong_type (FUNC_NAME, 2, address);
  char *s = scm_to_locale_string (address);
  uint8_t buf[16];
  int rv = inet_pton (af, s, buf);
  free (s);
  if (rv == 0)
    gn_out_of_range_msg (FUNC_NAME, 2, address,
                         af == AF_INET ? "not an IPv4 address"
                         : "not an IPv6 address");
  if (rv < 0)
    gn_syserror (FUNC_NAME);
  if (af == AF_INET)
    {
      uint32_t a;
      memcpy (&a, buf, 4);
      return scm_from_uint32 (ntohl (a));
    }
  return gn_from_ipv6 (buf);
}
#undef FUNC_NAME

SCM_DEFINE (gn_inet_ntop, "inet-ntop", 2, 0, 0,
            (SCM family, SCM address),
            "Convert the integer @var{address} of @var{family}\n"
            "(@code{AF_INET} or @code{AF_INET6}) to its presentation string.\n\n"
            "@lisp\n(inet-ntop AF_INET INADDR_LOOPBACK) @result{} \"127.0.0.1\"\n@end lisp")
#define FUNC_NAME s_gn_inet_ntop
{
  int af = gn_to_int (family, FUNC_NAME, 1);
  uint8_t buf[16];
  char text[INET6_ADDRSTRLEN];
  if (af == AF_INET)
    {
      uint32_t a = htonl (gn_to_ipv4 (address, FUNC_NAME, 2));
      memcpy (buf, &a, 4);
    }
  else if (af == AF_INET6)
    gn_to_ipv6 (address, buf, FUNC_NAME, 2);
  else
    gn_out_of_range (FUNC_NAME, 1, family);
  if (inet_ntop (af, buf, text, sizeof text) == NULL)
    gn_syserror (FUNC_NAME);
  return scm_from_locale_string (text);
}
#undef FUNC_NAME

void
gn_init_sockaddr (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "sockaddr.x"
#endif
}
