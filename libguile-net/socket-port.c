/* socket-port.c -- the socket port type.

   A socket is a port of our own type rather than one of Guile's file ports,
   so that we control how it reads and writes:
   - reads and writes never block in Guile mode: they try without blocking
     and, on a blocking socket, wait in wait.c, so asyncs run, timeouts can
     expire and other threads carry on;
   - on a socket the user made non-blocking they report "would block" to
     Guile, which then calls the current read or write waiter with the wait
     descriptor: that is what suspendable ports and fibers need;
   - writes use MSG_NOSIGNAL, so a vanished peer is an EPIPE error, never a
     SIGPIPE that kills the process.
   Like Guile's socket ports they start unbuffered; `setvbuf' adds a buffer.  */

#include "guile-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

scm_t_port_type *gn_socket_port_type;

static gn_socket *
port_socket (SCM port)
{
  return (gn_socket *) SCM_STREAM (port);
}

gn_socket *
gn_port_socket (SCM port)
{
  if (SCM_PORTP (port) && SCM_PORT_TYPE (port) == gn_socket_port_type)
    return port_socket (port);
  return NULL;
}

int
gn_port_fd (SCM port, const char *subr, int pos)
{
  if (SCM_PORTP (port) && SCM_OPPORTP (port))
    {
      if (SCM_PORT_TYPE (port) == gn_socket_port_type)
        return port_socket (port)->fd;
      if (SCM_FPORTP (port))   /* e.g. a socket made by Guile's core */
        return SCM_FPORT_FDES (port);
    }
  gn_wrong_type (subr, pos, port);
}

int64_t
gn_socket_deadline (SCM port, gn_timeout_kind kind)
{
  gn_socket *s = gn_port_socket (port);
  return s ? gn_deadline_after_ns (s->timeouts[kind]) : GN_NO_DEADLINE;
}

static const char *timeout_names[GN_TIMEOUT_COUNT] = {
  "read", "write", "connect", "accept"
};

void
gn_socket_wait_begin (SCM port, gn_timeout_kind kind, const char *subr)
{
  gn_socket *s = gn_port_socket (port);
  if (s != NULL
      && gn_wait_clock_expired (&s->wait_deadline[kind], s->timeouts[kind]))
    gn_raise_timeout (subr, timeout_names[kind], port);
}

int64_t (*gn_port_deadline_hook) (SCM port, int *handled) = NULL;

void
gn_socket_wait_end (SCM port, gn_timeout_kind kind)
{
  gn_socket *s = gn_port_socket (port);
  if (s != NULL)
    s->wait_deadline[kind] = 0;
}

int
gn_fd_is_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK);
}

/* Guile 3.0 (3.0.8 at least) runs its text-mode byte-order-mark check
   on the first read of a port even for get-u8 and get-bytevector-n: when
   the first byte is 0xEF it waits for two more to see whether they are a
   UTF-8 BOM.  On a request-response protocol those bytes never come, so
   a server reading a one-byte request 0xEF waited until its timeout (or
   forever), and EF BB BF at the start of binary data was dropped.  A
   socket or TLS stream is a byte stream, never a text file: clear the
   stream-start mark so that no read ever looks for a BOM.  */
SCM
gn_port_no_bom (SCM port)
{
  static SCM clear = SCM_BOOL_F;
  if (scm_is_false (clear))
    clear = scm_gc_protect_object
      (scm_c_private_ref ("ice-9 ports",
                          "port-clear-stream-start-for-bom-read"));
  scm_call_1 (clear, port);
  return port;
}

SCM
gn_make_socket_port (int fd, int family, int type)
{
  gn_socket *s = scm_gc_malloc_pointerless (sizeof *s, "socket");
  s->fd = fd;
  s->family = family;
  s->type = type;
  for (int i = 0; i < GN_TIMEOUT_COUNT; i++)
    {
      s->timeouts[i] = -1;
      s->wait_deadline[i] = 0;
    }
  s->lent_deadline = 0;
  s->revealed = 0;
  s->ends = NULL;
  return gn_port_no_bom (scm_c_make_port (gn_socket_port_type,
                                          SCM_RDNG | SCM_WRTNG | SCM_BUF0,
                                          (scm_t_bits) s));
}

struct transfer
{
  char *buf;
  size_t count;
};

static ssize_t
attempt_recv (int fd, void *data)
{
  struct transfer *t = data;
  return recv (fd, t->buf, t->count, MSG_DONTWAIT);
}

static ssize_t
attempt_send (int fd, void *data)
{
  struct transfer *t = data;
  return send (fd, t->buf, t->count, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* A result of -1 tells Guile the read or write would block: it then calls
   the current read or write waiter (suspendable ports) or polls.  */
static size_t
port_transfer (SCM port, short events, gn_timeout_kind kind,
               ssize_t (*attempt) (int, void *), struct transfer *t,
               const char *subr)
{
  gn_socket *s = port_socket (port);
  ssize_t n = gn_retry_io (s->fd, events, 0,
                           gn_deadline_after_ns (s->timeouts[kind]),
                           attempt, t, subr, timeout_names[kind], port);
  if (n >= 0)
    gn_socket_wait_end (port, kind);
  else
    gn_socket_wait_begin (port, kind, subr);
  return n;
}

static size_t
socket_read (SCM port, SCM dst, size_t start, size_t count)
{
  struct transfer t = { (char *) SCM_BYTEVECTOR_CONTENTS (dst) + start, count };
  return port_transfer (port, POLLIN, GN_TIMEOUT_READ, attempt_recv, &t,
                        "socket-read");
}

static size_t
socket_write (SCM port, SCM src, size_t start, size_t count)
{
  struct transfer t = { (char *) SCM_BYTEVECTOR_CONTENTS (src) + start, count };
  return port_transfer (port, POLLOUT, GN_TIMEOUT_WRITE, attempt_send, &t,
                        "socket-write");
}

static int
socket_read_wait_fd (SCM port)
{
  return port_socket (port)->fd;
}

static int
socket_input_waiting (SCM port)
{
  struct pollfd pfd = { port_socket (port)->fd, POLLIN, 0 };
  return poll (&pfd, 1, 0) > 0;
}

static void
socket_close (SCM port)
{
  gn_socket *s = port_socket (port);
  if (s->fd >= 0 && s->revealed == 0)
    {
      if (s->ends && --s->ends->open > 0)
        {
          /* The other end still uses the descriptor: tell the peer this
             direction is done (end of file), unless abandoned.  */
          if (!s->ends->abandoned)
            shutdown (s->fd, SCM_INPUT_PORT_P (port) ? SHUT_RD : SHUT_WR);
        }
      else
        close (s->fd);   /* errors from close on a socket are not actionable */
    }
  s->fd = -1;
}

static const char *
family_name (int family)
{
  switch (family)
    {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    default: return "AF_?";
    }
}

/* Write a short text form of an address, e.g. "127.0.0.1:80", "[::1]:80"
   or "/tmp/socket", to PORT.  */
static void
print_address (const struct sockaddr_storage *ss, socklen_t len, SCM port)
{
  char text[INET6_ADDRSTRLEN + 16];
  text[0] = '\0';
  if (ss->ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const void *) ss;
      char a[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &in->sin_addr, a, sizeof a);
      snprintf (text, sizeof text, "%s:%u", a, ntohs (in->sin_port));
    }
  else if (ss->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const void *) ss;
      char a[INET6_ADDRSTRLEN];
      inet_ntop (AF_INET6, &in6->sin6_addr, a, sizeof a);
      snprintf (text, sizeof text, "[%s]:%u", a, ntohs (in6->sin6_port));
    }
  else if (ss->ss_family == AF_UNIX)
    {
      const struct sockaddr_un *un = (const void *) ss;
      size_t off = offsetof (struct sockaddr_un, sun_path);
      if (len > off && un->sun_path[0] != '\0')
        snprintf (text, sizeof text, "%.*s", (int) (len - off), un->sun_path);
      else
        snprintf (text, sizeof text, "(unnamed)");
    }
  scm_puts (text, port);
}

static int
socket_print (SCM port, SCM dest, scm_print_state *pstate)
{
  gn_socket *s = port_socket (port);
  scm_puts ("#<", dest);
  if (!SCM_OPPORTP (port) || s->fd < 0)
    {
      scm_puts ("closed: socket>", dest);
      return 1;
    }
  scm_puts ("socket ", dest);
  scm_puts (family_name (s->family), dest);
  scm_puts (s->type == SOCK_STREAM ? " stream" : s->type == SOCK_DGRAM
            ? " datagram" : " other", dest);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname (s->fd, (struct sockaddr *) &ss, &len) == 0
      && !(s->family != AF_UNIX && len == 0))
    {
      scm_puts (" ", dest);
      print_address (&ss, len, dest);
    }
  len = sizeof ss;
  if (getpeername (s->fd, (struct sockaddr *) &ss, &len) == 0)
    {
      scm_puts (" -> ", dest);
      print_address (&ss, len, dest);
    }
  scm_puts (" fd ", dest);
  scm_intprint (s->fd, 10, dest);
  scm_puts (">", dest);
  return 1;
}

SCM_DEFINE (gn_socket_port_p, "socket-port?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a socket port made by this\n"
            "library, open or closed, and @code{#f} otherwise.")
#define FUNC_NAME s_gn_socket_port_p
{
  return scm_from_bool (gn_port_socket (obj) != NULL);
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_fileno, "%socket-fileno", 2, 0, 0,
            (SCM port, SCM reveal),
            "Return the descriptor of open socket port @var{port}.  When\n"
            "@var{reveal} is true, as for @code{port->fdes}, also count the\n"
            "descriptor as revealed: closing the port then leaves it open.")
#define FUNC_NAME s_gn_socket_fileno
{
  gn_socket *s = gn_port_socket (port);
  if (s == NULL || !SCM_OPPORTP (port))
    gn_wrong_type (FUNC_NAME, 1, port);
  if (scm_is_true (reveal))
    s->revealed++;
  return scm_from_int (s->fd);
}
#undef FUNC_NAME

static gn_timeout_kind
to_timeout_kind (SCM kind, const char *subr, int pos)
{
  if (!scm_is_symbol (kind))
    gn_wrong_type (subr, pos, kind);
  for (int i = 0; i < GN_TIMEOUT_COUNT; i++)
    if (scm_is_eq (kind, scm_from_utf8_symbol (timeout_names[i])))
      return (gn_timeout_kind) i;
  gn_out_of_range (subr, pos, kind);
}

static gn_socket *
to_socket (SCM port, const char *subr, int pos)
{
  gn_socket *s = gn_port_socket (port);
  if (s == NULL)
    gn_wrong_type (subr, pos, port);
  return s;
}

SCM_DEFINE (gn_socket_timeout, "socket-timeout", 2, 0, 0,
            (SCM sock, SCM kind),
            "Return the timeout in seconds of socket port @var{sock} for\n"
            "operations of @var{kind}, or @code{#f} when they may wait\n"
            "forever.  @var{kind} is @code{read} (port reads, @code{recv!},\n"
            "@code{recvfrom!}), @code{write} (port writes, @code{send},\n"
            "@code{sendto}), @code{connect} or @code{accept}.")
#define FUNC_NAME s_gn_socket_timeout
{
  gn_socket *s = to_socket (sock, FUNC_NAME, 1);
  int64_t ns = s->timeouts[to_timeout_kind (kind, FUNC_NAME, 2)];
  return ns < 0 ? SCM_BOOL_F : scm_from_double (ns / 1e9);
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_time_left, "socket-time-left", 2, 0, 0,
            (SCM port, SCM kind),
            "For a scheduler's read or write waiter: return how many seconds\n"
            "the operation of @var{kind} now waiting on @var{port}, a\n"
            "non-blocking socket port or a TLS record port, has left before\n"
            "its timeout, or @code{#f} when it has no time limit (as for any\n"
            "other kind of port).  When the\n"
            "waiter resumes the operation after that time, the operation\n"
            "raises its @code{&net-timeout}.  For the transport of a TLS\n"
            "session, a waiting handshake or bye counts too.")
#define FUNC_NAME s_gn_socket_time_left
{
  gn_timeout_kind k = to_timeout_kind (kind, FUNC_NAME, 2);
  gn_socket *s = gn_port_socket (port);
  if (s == NULL)
    {
      if (!SCM_PORTP (port))
        gn_wrong_type (FUNC_NAME, 1, port);
      int handled = 0;
      int64_t deadline = gn_port_deadline_hook
        ? gn_port_deadline_hook (port, &handled) : GN_NO_DEADLINE;
      return gn_seconds_left (deadline);
    }
  int64_t deadline = gn_wait_clock_deadline (s->wait_deadline[k],
                                             s->timeouts[k]);
  if (s->lent_deadline != 0 && s->lent_deadline < deadline)
    deadline = s->lent_deadline;
  return gn_seconds_left (deadline);
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_wait_begin_x, "%socket-wait-begin!", 3, 0, 0,
            (SCM sock, SCM kind, SCM who),
            "Internal: an operation of @var{kind} (@code{connect} or\n"
            "@code{accept}) on non-blocking @var{sock} is about to wait in\n"
            "the current waiter; start its clock, or raise its timeout.")
#define FUNC_NAME s_gn_socket_wait_begin_x
{
  to_socket (sock, FUNC_NAME, 1);
  char *subr = scm_to_utf8_string (scm_symbol_to_string (who));
  scm_dynwind_begin (0);
  scm_dynwind_free (subr);
  gn_socket_wait_begin (sock, to_timeout_kind (kind, FUNC_NAME, 2), subr);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_socket_timeout_x, "set-socket-timeout!", 3, 0, 0,
            (SCM sock, SCM kind, SCM seconds),
            "Limit operations of @var{kind} (@code{read}, @code{write},\n"
            "@code{connect} or @code{accept}, as for @code{socket-timeout}) on\n"
            "socket port @var{sock} to @var{seconds}, a non-negative real, or\n"
            "lift the limit with @code{#f}.  Each operation gets the whole\n"
            "time afresh.  When it passes, the operation raises a\n"
            "@code{&net-timeout} condition naming the operation and the\n"
            "socket; no data is lost and the socket stays usable.")
#define FUNC_NAME s_gn_set_socket_timeout_x
{
  gn_socket *s = to_socket (sock, FUNC_NAME, 1);
  /* A closed socket is a wrong-type-arg, as for every other procedure
     that changes a socket: setting a limit on it used to pass silently.  */
  if (!SCM_OPPORTP (sock))
    gn_wrong_type (FUNC_NAME, 1, sock);
  gn_timeout_kind k = to_timeout_kind (kind, FUNC_NAME, 2);
  s->timeouts[k] = gn_timeout_from_scm (seconds, FUNC_NAME, 3);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

static SCM
make_one_way_port (gn_socket *from, struct gn_socket_ends *ends,
                   unsigned long mode)
{
  gn_socket *s = scm_gc_malloc (sizeof *s, "socket");
  *s = *from;
  s->revealed = 0;
  s->ends = ends;
  return gn_port_no_bom (scm_c_make_port (gn_socket_port_type,
                                          mode | SCM_BUF0, (scm_t_bits) s));
}

SCM_DEFINE (gn_socket_port_split_x, "socket-port-split!", 1, 0, 0,
            (SCM sock),
            "Return two values: an input port and an output port over the\n"
            "connection of socket port @var{sock}, which is closed (its\n"
            "descriptor now belongs to the two new ports).  Closing the output\n"
            "port sends end of file to the peer; the descriptor is closed with\n"
            "the second of the two.  Timeouts carry over.")
#define FUNC_NAME s_gn_socket_port_split_x
{
  gn_socket *s = gn_port_socket (sock);
  if (s == NULL || !SCM_OPPORTP (sock) || s->ends != NULL)
    gn_wrong_type (FUNC_NAME, 1, sock);
  struct gn_socket_ends *ends = scm_gc_malloc_pointerless (sizeof *ends,
                                                           "socket ends");
  ends->open = 2;
  ends->abandoned = 0;
  SCM in = make_one_way_port (s, ends, SCM_RDNG);
  SCM out = make_one_way_port (s, ends, SCM_WRTNG);
  s->revealed++;                /* keep the descriptor open ... */
  scm_close_port (sock);        /* ... while this port goes away */
  return scm_values (scm_list_2 (in, out));
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_port_abandon_x, "socket-port-abandon!", 1, 0, 0,
            (SCM port),
            "Mark @var{port}, one of the two ports of\n"
            "@code{socket-port-split!}, as abandoned: closing the ports then\n"
            "releases the descriptor without shutting the connection down\n"
            "(useful in a child process after @code{primitive-fork}).")
#define FUNC_NAME s_gn_socket_port_abandon_x
{
  gn_socket *s = gn_port_socket (port);
  if (s == NULL)
    gn_wrong_type (FUNC_NAME, 1, port);
  if (s->ends)
    s->ends->abandoned = 1;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_socket, "socket", 3, 0, 0,
            (SCM family, SCM style, SCM proto),
            "Return a new socket port of the type given by @var{family}\n"
            "(@code{PF_INET}, @code{PF_INET6}, @code{PF_UNIX}), @var{style}\n"
            "(@code{SOCK_STREAM}, @code{SOCK_DGRAM}, @dots{}, optionally\n"
            "@code{logior}ed with @code{SOCK_NONBLOCK}) and @var{proto}\n"
            "(usually 0).  The port is unbuffered and its descriptor is\n"
            "close-on-exec; clear @code{FD_CLOEXEC} with @code{fcntl} to pass\n"
            "it to a child process.")
#define FUNC_NAME s_gn_make_socket
{
  int fam = gn_to_int (family, FUNC_NAME, 1);
  int type = gn_to_int (style, FUNC_NAME, 2);
  int prot = gn_to_int (proto, FUNC_NAME, 3);
  int fd = socket (fam, type | SOCK_CLOEXEC, prot);
  if (fd < 0)
    gn_syserror (FUNC_NAME);
  return gn_make_socket_port (fd, fam, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
}
#undef FUNC_NAME

SCM_DEFINE (gn_socketpair, "socketpair", 3, 0, 0,
            (SCM family, SCM style, SCM proto),
            "Return a pair of connected, unnamed socket ports of the type\n"
            "given by @var{family}, @var{style} and @var{proto}, as for\n"
            "@code{socket}.  Usually only @code{PF_UNIX} is supported.")
#define FUNC_NAME s_gn_socketpair
{
  int fam = gn_to_int (family, FUNC_NAME, 1);
  int type = gn_to_int (style, FUNC_NAME, 2);
  int prot = gn_to_int (proto, FUNC_NAME, 3);
  int fds[2];
  if (socketpair (fam, type | SOCK_CLOEXEC, prot, fds) < 0)
    gn_syserror (FUNC_NAME);
  type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  return scm_cons (gn_make_socket_port (fds[0], fam, type),
                   gn_make_socket_port (fds[1], fam, type));
}
#undef FUNC_NAME

void
gn_init_socket_port (void)
{
  gn_socket_port_type = scm_make_port_type ("socket", socket_read,
                                            socket_write);
  scm_set_port_read_wait_fd (gn_socket_port_type, socket_read_wait_fd);
  scm_set_port_write_wait_fd (gn_socket_port_type, socket_read_wait_fd);
  scm_set_port_input_waiting (gn_socket_port_type, socket_input_waiting);
  scm_set_port_close (gn_socket_port_type, socket_close);
  scm_set_port_needs_close_on_gc (gn_socket_port_type, 1);
  scm_set_port_print (gn_socket_port_type, socket_print);
#ifndef SCM_MAGIC_SNARFER
#include "socket-port.x"
#endif
}
