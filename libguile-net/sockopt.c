/* sockopt.c -- socket options: the table of the options we know and how
   their values look in Scheme, `getsockopt' and `setsockopt'.

   An option missing from the table is an out-of-range error rather than a
   raw buffer handed to the kernel, so every value has a defined Scheme
   shape: an integer, (ENABLE . SECONDS) for SO_LINGER, an integer IPv4
   address for IP_MULTICAST_IF, and (MULTIADDR . INTERFACEADDR) for the set-only
   membership options.  */

#include "guile-net.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <string.h>

#ifndef IPPROTO_IPV6
# define IPPROTO_IPV6 41
#endif

struct option_entry
{
  int level;
  int name;
  const char *symbol;
  gn_option_kind kind;
};

#define OPT(level, name, kind) { level, name, #name, kind }

static const struct option_entry options[] = {
  OPT (SOL_SOCKET, SO_DEBUG, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_REUSEADDR, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_TYPE, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_ERROR, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_DONTROUTE, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_BROADCAST, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_SNDBUF, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_RCVBUF, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_KEEPALIVE, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_OOBINLINE, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_NO_CHECK, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_PRIORITY, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_REUSEPORT, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_ACCEPTCONN, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_RCVLOWAT, GN_OPT_INT),
  OPT (SOL_SOCKET, SO_LINGER, GN_OPT_LINGER),
  OPT (IPPROTO_IP, IP_MULTICAST_IF, GN_OPT_INADDR),
  OPT (IPPROTO_IP, IP_MULTICAST_TTL, GN_OPT_INT),
  OPT (IPPROTO_IP, IP_MULTICAST_LOOP, GN_OPT_INT),
  OPT (IPPROTO_IP, IP_TTL, GN_OPT_INT),
  OPT (IPPROTO_IP, IP_TOS, GN_OPT_INT),
  OPT (IPPROTO_IP, IP_ADD_MEMBERSHIP, GN_OPT_MREQ),
  OPT (IPPROTO_IP, IP_DROP_MEMBERSHIP, GN_OPT_MREQ),
  OPT (IPPROTO_IPV6, IPV6_V6ONLY, GN_OPT_INT),
  OPT (IPPROTO_IPV6, IPV6_UNICAST_HOPS, GN_OPT_INT),
  OPT (IPPROTO_IPV6, IPV6_MULTICAST_HOPS, GN_OPT_INT),
  OPT (IPPROTO_IPV6, IPV6_MULTICAST_LOOP, GN_OPT_INT),
  OPT (IPPROTO_IPV6, IPV6_JOIN_GROUP, GN_OPT_IPV6_MREQ),
  OPT (IPPROTO_IPV6, IPV6_LEAVE_GROUP, GN_OPT_IPV6_MREQ),
  OPT (IPPROTO_TCP, TCP_NODELAY, GN_OPT_INT),
  OPT (IPPROTO_TCP, TCP_CORK, GN_OPT_INT),
  OPT (IPPROTO_TCP, TCP_KEEPIDLE, GN_OPT_INT),
  OPT (IPPROTO_TCP, TCP_KEEPINTVL, GN_OPT_INT),
  OPT (IPPROTO_TCP, TCP_KEEPCNT, GN_OPT_INT),
  OPT (IPPROTO_TCP, TCP_QUICKACK, GN_OPT_INT),
};

static const struct option_entry *
find_option (int level, int name)
{
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    if (options[i].level == level && options[i].name == name)
      return &options[i];
  return NULL;
}

gn_option_kind
gn_option_lookup (int level, int name)
{
  const struct option_entry *e = find_option (level, name);
  return e ? e->kind : GN_OPT_UNKNOWN;
}

const char *
gn_option_name (int level, int name)
{
  const struct option_entry *e = find_option (level, name);
  return e ? e->symbol : NULL;
}

static gn_option_kind
check_option (SCM level, SCM optname, int *ilevel, int *iname,
              const char *subr)
{
  *ilevel = gn_to_int (level, subr, 2);
  *iname = gn_to_int (optname, subr, 3);
  gn_option_kind kind = gn_option_lookup (*ilevel, *iname);
  if (kind == GN_OPT_UNKNOWN)
    gn_out_of_range (subr, 3, optname);
  return kind;
}

SCM_DEFINE (gn_getsockopt, "getsockopt", 3, 0, 0,
            (SCM sock, SCM level, SCM optname),
            "Return the value of option @var{optname} at protocol level\n"
            "@var{level} (@code{SOL_SOCKET}, @code{IPPROTO_IP},\n"
            "@code{IPPROTO_IPV6} or @code{IPPROTO_TCP}) of socket port\n"
            "@var{sock}.  Most options are integers; @code{SO_LINGER} is a\n"
            "pair @code{(@var{enable} . @var{seconds})} and\n"
            "@code{IP_MULTICAST_IF} an integer IPv4 address.  An option this\n"
            "library does not know is an @code{out-of-range} error.")
#define FUNC_NAME s_gn_getsockopt
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  int ilevel, iname;
  gn_option_kind kind = check_option (level, optname, &ilevel, &iname,
                                      FUNC_NAME);
  union { int i; struct linger l; struct in_addr a; } v;
  socklen_t len = sizeof v;
  memset (&v, 0, sizeof v);
  if (kind == GN_OPT_MREQ || kind == GN_OPT_IPV6_MREQ)
    gn_out_of_range (FUNC_NAME, 3, optname);   /* set only */
  if (getsockopt (fd, ilevel, iname, &v, &len) < 0)
    gn_syserror (FUNC_NAME);
  switch (kind)
    {
    case GN_OPT_LINGER:
      return scm_cons (scm_from_int (v.l.l_onoff), scm_from_int (v.l.l_linger));
    case GN_OPT_INADDR:
      return scm_from_uint32 (ntohl (v.a.s_addr));
    default:
      return scm_from_int (v.i);
    }
}
#undef FUNC_NAME

SCM_DEFINE (gn_setsockopt, "setsockopt", 4, 0, 0,
            (SCM sock, SCM level, SCM optname, SCM value),
            "Set option @var{optname} at protocol level @var{level} of socket\n"
            "port @var{sock} to @var{value}.  The value is an integer for most\n"
            "options (a boolean is taken as 1 or 0); a pair\n"
            "@code{(@var{enable} . @var{seconds})} for @code{SO_LINGER}; an\n"
            "integer IPv4 address for @code{IP_MULTICAST_IF}; a pair\n"
            "@code{(@var{multiaddr} . @var{interfaceaddr})} of integer IPv4\n"
            "addresses for @code{IP_ADD_MEMBERSHIP} and\n"
            "@code{IP_DROP_MEMBERSHIP}, where @var{interfaceaddr} may be\n"
            "@code{INADDR_ANY}; and a pair @code{(@var{multiaddr6}\n"
            ". @var{interface-index})} for @code{IPV6_JOIN_GROUP} and\n"
            "@code{IPV6_LEAVE_GROUP}.  The return value is unspecified.")
#define FUNC_NAME s_gn_setsockopt
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  int ilevel, iname;
  gn_option_kind kind = check_option (level, optname, &ilevel, &iname,
                                      FUNC_NAME);
  union
  {
    int i;
    struct linger l;
    struct in_addr a;
    struct ip_mreq m;
    struct ipv6_mreq m6;
  } v;
  socklen_t len;
  memset (&v, 0, sizeof v);
  switch (kind)
    {
    case GN_OPT_LINGER:
      if (!scm_is_pair (value))
        gn_wrong_type (FUNC_NAME, 4, value);
      v.l.l_onoff = gn_to_int (SCM_CAR (value), FUNC_NAME, 4);
      v.l.l_linger = gn_to_int (SCM_CDR (value), FUNC_NAME, 4);
      len = sizeof v.l;
      break;
    case GN_OPT_INADDR:
      v.a.s_addr = htonl (gn_to_ipv4 (value, FUNC_NAME, 4));
      len = sizeof v.a;
      break;
    case GN_OPT_MREQ:
      if (!scm_is_pair (value))
        gn_wrong_type (FUNC_NAME, 4, value);
      v.m.imr_multiaddr.s_addr = htonl (gn_to_ipv4 (SCM_CAR (value),
                                                    FUNC_NAME, 4));
      v.m.imr_interface.s_addr = htonl (gn_to_ipv4 (SCM_CDR (value),
                                                    FUNC_NAME, 4));
      len = sizeof v.m;
      break;
    case GN_OPT_IPV6_MREQ:
      if (!scm_is_pair (value))
        gn_wrong_type (FUNC_NAME, 4, value);
      gn_to_ipv6 (SCM_CAR (value), v.m6.ipv6mr_multiaddr.s6_addr,
                  FUNC_NAME, 4);
      {
        int index = gn_to_int (SCM_CDR (value), FUNC_NAME, 4);
        if (index < 0)
          gn_out_of_range (FUNC_NAME, 4, value);
        v.m6.ipv6mr_interface = (unsigned) index;
      }
      len = sizeof v.m6;
      break;
    default:
      /* A boolean is taken as 1 or 0, for on/off options.  */
      v.i = scm_is_bool (value) ? scm_is_true (value)
                                : gn_to_int (value, FUNC_NAME, 4);
      len = sizeof v.i;
      break;
    }
  if (setsockopt (fd, ilevel, iname, &v, len) < 0)
    gn_syserror (FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

void
gn_init_sockopt (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "sockopt.x"
#endif
}
