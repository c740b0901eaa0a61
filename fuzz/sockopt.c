/* sockopt.c -- libFuzzer harness for socket option values
   (libguile-net/sockopt.c): getsockopt and setsockopt on real sockets
   (TCP and UDP over IPv4 and IPv6, AF_UNIX), with the level, the option
   and the value taken from the fuzz bytes.  Option numbers come mostly
   from the table the library knows, so values reach the conversions,
   sometimes any number, which must be an out-of-range error.  */

#include "common.h"
#include "guile-net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

SCM gn_getsockopt (SCM sock, SCM level, SCM optname);
SCM gn_setsockopt (SCM sock, SCM level, SCM optname, SCM value);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  return 0;
}

static const struct { int level, name; } known[] = {
  { SOL_SOCKET, SO_DEBUG }, { SOL_SOCKET, SO_REUSEADDR },
  { SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_ERROR },
  { SOL_SOCKET, SO_DONTROUTE }, { SOL_SOCKET, SO_BROADCAST },
  { SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_RCVBUF },
  { SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_OOBINLINE },
  { SOL_SOCKET, SO_NO_CHECK }, { SOL_SOCKET, SO_PRIORITY },
  { SOL_SOCKET, SO_REUSEPORT }, { SOL_SOCKET, SO_ACCEPTCONN },
  { SOL_SOCKET, SO_RCVLOWAT }, { SOL_SOCKET, SO_LINGER },
  { IPPROTO_IP, IP_MULTICAST_IF }, { IPPROTO_IP, IP_MULTICAST_TTL },
  { IPPROTO_IP, IP_MULTICAST_LOOP }, { IPPROTO_IP, IP_TTL },
  { IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_ADD_MEMBERSHIP },
  { IPPROTO_IP, IP_DROP_MEMBERSHIP }, { IPPROTO_IPV6, IPV6_V6ONLY },
  { IPPROTO_IPV6, IPV6_UNICAST_HOPS }, { IPPROTO_IPV6, IPV6_MULTICAST_HOPS },
  { IPPROTO_IPV6, IPV6_MULTICAST_LOOP }, { IPPROTO_IPV6, IPV6_JOIN_GROUP },
  { IPPROTO_IPV6, IPV6_LEAVE_GROUP }, { IPPROTO_TCP, TCP_NODELAY },
  { IPPROTO_TCP, TCP_CORK }, { IPPROTO_TCP, TCP_KEEPIDLE },
  { IPPROTO_TCP, TCP_KEEPINTVL }, { IPPROTO_TCP, TCP_KEEPCNT },
  { IPPROTO_TCP, TCP_QUICKACK },
  /* Options outside the table: out-of-range errors.  */
  { SOL_SOCKET, SO_BINDTODEVICE }, { SOL_SOCKET, SO_RCVTIMEO },
  { IPPROTO_IP, IP_OPTIONS }, { IPPROTO_TCP, TCP_INFO },
};
#define N_KNOWN (sizeof known / sizeof known[0])

static const struct { int family, type; } kinds[] = {
  { AF_INET, SOCK_STREAM }, { AF_INET, SOCK_DGRAM },
  { AF_INET6, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM },
  { AF_UNIX, SOCK_STREAM }, { AF_UNIX, SOCK_DGRAM },
};

struct job
{
  struct fuzz_input in;
  SCM port;
};

/* A value of the shape the option wants, or anything.  */
static SCM
option_value (struct fuzz_input *in)
{
  uint8_t shape = fuzz_u8 (in);
  switch (shape % 4)
    {
    case 0:
      return scm_cons (fuzz_value (in, 1), fuzz_value (in, 1));
    case 1:
      return scm_from_int32 ((int32_t) fuzz_u32 (in));
    default:
      return fuzz_value (in, 2);
    }
}

static SCM
one_option (void *data)
{
  struct job *j = data;
  struct fuzz_input *in = &j->in;
  uint8_t op = fuzz_u8 (in);
  SCM level, name;
  if (op & 0x40)
    {
      level = fuzz_value (in, 0);
      name = fuzz_value (in, 0);
    }
  else
    {
      unsigned k = fuzz_u8 (in) % N_KNOWN;
      level = scm_from_int (known[k].level);
      name = scm_from_int (known[k].name);
    }
  if (op & 1)
    gn_setsockopt (j->port, level, name, option_value (in));
  else
    gn_getsockopt (j->port, level, name);
  return SCM_BOOL_T;
}

static SCM
close_port (void *data)
{
  return scm_close_port (((struct job *) data)->port);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  struct job j = { { data, size }, SCM_BOOL_F };
  unsigned k = fuzz_u8 (&j.in) % (sizeof kinds / sizeof kinds[0]);
  int fd = socket (kinds[k].family, kinds[k].type | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  j.port = gn_make_socket_port (fd, kinds[k].family, kinds[k].type);
  /* A few options per socket, so that one setting meets the next.  */
  for (int i = 0; i < 8 && j.in.n > 0; i++)
    fuzz_catch (one_option, &j);
  fuzz_catch (close_port, &j);
  scm_remember_upto_here_1 (j.port);
  fuzz_end_input ();
  return 0;
}
