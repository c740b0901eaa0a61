/* constants.c -- the AF_, PF_, SOCK_, SOL_, IPPROTO_, SO_, IP_, IPV6_,
   TCP_, MSG_, INADDR_, SHUT_, AI_ and EAI_ constants, as this system
   defines them.  `%socket-constant-names' lists them for the module, which
   exports them all.  */

#include "guile-net.h"

#include <netdb.h>
#include <netinet/tcp.h>

static SCM constant_names = SCM_EOL;

static void
define_constant (const char *name, long value)
{
  scm_c_define (name, scm_from_long (value));
  constant_names = scm_cons (scm_from_utf8_symbol (name), constant_names);
}

#define C(name) define_constant (#name, (long) (name))

SCM_DEFINE (gn_socket_constant_names, "%socket-constant-names", 0, 0, 0,
            (void),
            "Return the names of the constants this library defines.")
#define FUNC_NAME s_gn_socket_constant_names
{
  return constant_names;
}
#undef FUNC_NAME

void
gn_init_constants (void)
{
  C (AF_UNSPEC); C (AF_UNIX); C (AF_INET); C (AF_INET6);
  C (PF_UNSPEC); C (PF_UNIX); C (PF_INET); C (PF_INET6);
  C (SOCK_STREAM); C (SOCK_DGRAM); C (SOCK_RAW); C (SOCK_RDM);
  C (SOCK_SEQPACKET); C (SOCK_NONBLOCK); C (SOCK_CLOEXEC);
  C (SOL_SOCKET);
  C (IPPROTO_IP); C (IPPROTO_IPV6); C (IPPROTO_TCP); C (IPPROTO_UDP);
  C (IPPROTO_ICMP); C (IPPROTO_ICMPV6); C (IPPROTO_RAW);
  C (SO_DEBUG); C (SO_REUSEADDR); C (SO_TYPE); C (SO_ERROR);
  C (SO_DONTROUTE); C (SO_BROADCAST); C (SO_SNDBUF); C (SO_RCVBUF);
  C (SO_KEEPALIVE); C (SO_OOBINLINE); C (SO_NO_CHECK); C (SO_PRIORITY);
  C (SO_LINGER); C (SO_REUSEPORT); C (SO_ACCEPTCONN); C (SO_RCVLOWAT);
  /* SO_STYLE is the GNU/Hurd name of SO_TYPE; the manual lists it.  */
  define_constant ("SO_STYLE", SO_TYPE);
  C (IP_MULTICAST_IF); C (IP_MULTICAST_TTL); C (IP_MULTICAST_LOOP);
  C (IP_ADD_MEMBERSHIP); C (IP_DROP_MEMBERSHIP); C (IP_TTL); C (IP_TOS);
  C (IPV6_V6ONLY); C (IPV6_UNICAST_HOPS); C (IPV6_MULTICAST_HOPS);
  C (IPV6_MULTICAST_LOOP); C (IPV6_JOIN_GROUP); C (IPV6_LEAVE_GROUP);
  C (TCP_NODELAY); C (TCP_CORK); C (TCP_KEEPIDLE); C (TCP_KEEPINTVL);
  C (TCP_KEEPCNT); C (TCP_QUICKACK);
  C (MSG_OOB); C (MSG_PEEK); C (MSG_DONTROUTE); C (MSG_DONTWAIT);
  C (MSG_WAITALL); C (MSG_NOSIGNAL); C (MSG_TRUNC); C (MSG_MORE);
  define_constant ("INADDR_ANY", 0x00000000L);
  define_constant ("INADDR_LOOPBACK", 0x7f000001L);
  define_constant ("INADDR_BROADCAST", 0xffffffffL);
  define_constant ("INADDR_NONE", 0xffffffffL);
  C (SHUT_RD); C (SHUT_WR); C (SHUT_RDWR);
  C (AI_PASSIVE); C (AI_CANONNAME); C (AI_NUMERICHOST); C (AI_NUMERICSERV);
  C (AI_V4MAPPED); C (AI_ALL); C (AI_ADDRCONFIG);
  C (EAI_BADFLAGS); C (EAI_NONAME); C (EAI_AGAIN); C (EAI_FAIL);
  C (EAI_FAMILY); C (EAI_SOCKTYPE); C (EAI_SERVICE); C (EAI_MEMORY);
  C (EAI_SYSTEM); C (EAI_OVERFLOW); C (EAI_NODATA); C (EAI_ADDRFAMILY);
#ifndef SCM_MAGIC_SNARFER
#include "constants.x"
#endif
}
