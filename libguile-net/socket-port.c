/* socket-port.c -- the socket port type.

   A socket is a port of our own type rather than one of Guile's file ports,
   so that we control how it reads and writes:
   - reads and writes never block in Guile mode: they try without blocking
     and wait in wait.c, so asyncs run, timeouts expire and other threads
     carry on;
   - under suspendable ports, on a socket the user made non-blocking,
     Guile's suspendable reads and writes call our Scheme read and write
     procedures (scm_set_port_scm_read), whose one loop waits in the
     current read or write waiter: that is what fibers needs;
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

static int
slot_of (gn_timeout_kind kind)
{
  return kind == GN_TIMEOUT_READ || kind == GN_TIMEOUT_ACCEPT ? 0 : 1;
}

void
gn_socket_op (gn_op *op, SCM port, int fd, gn_timeout_kind kind,
              const char *subr)
{
  gn_socket *s = gn_port_socket (port);
  gn_op_init (op, subr, gn_timeout_names[kind], port, fd,
              slot_of (kind) == 0 ? POLLIN : POLLOUT,
              s ? s->timeouts[kind] : GN_NO_LIMIT);
  op->port = port;
  if (s != NULL)
    op->waker = &s->blocked[slot_of (kind)];
}

int
gn_fd_is_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK);
}

void
gn_socket_own_nonblock (SCM sock, int fd)
{
  gn_socket *s = gn_port_socket (sock);
  int flags = s != NULL && !s->own_nonblock ? fcntl (fd, F_GETFL) : -1;
  if (flags >= 0 && fcntl (fd, F_SETFL, flags | O_NONBLOCK) == 0)
    {
      s->user_nonblock = (flags & O_NONBLOCK) != 0;
      s->own_nonblock = 1;
    }
}

int
gn_socket_nonblocking (SCM port, int fd)
{
  gn_socket *s = gn_port_socket (port);
  if (s != NULL && s->own_nonblock)
    return s->user_nonblock;
  return gn_fd_is_nonblocking (fd);
}

void
gn_wake_waiting (SCM *slots, int n)
{
  for (int i = 0; i < n; i++)
    {
      gn_op *op = gn_op_of_wait_port (slots[i]);
      if (op == NULL || op->ended)
        continue;
      /* A timer fires for waiters that wait for the descriptor; the wait
         port closes for schedulers that check port-closed?.  */
      if (op->timer_fd >= 0)
        gn_op_wake (op);
      else if (SCM_OPPORTP (slots[i]))
        scm_close_port (slots[i]);
    }
}

/* For socket-time-left: the latest operation of KIND's side left to a
   waiter, or the timeout one starting now would have.  */
static int64_t
socket_deadline (SCM port, gn_timeout_kind kind)
{
  gn_socket *s = port_socket (port);
  gn_op *op = gn_op_of_wait_port (s->waiting[slot_of (kind)]);
  if (op != NULL && !op->ended)
    return gn_op_wake_deadline (op);
  return gn_deadline_after_ns (s->timeouts[kind]);
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

/* The types whose C functions were put back, with Guile's trampolines
   they replaced: %set-port-c-io! runs the fallback for the tests.  */
static struct c_io_slot
{
  scm_t_port_type *type;
  uintptr_t *at;                /* the C read slot; C write follows */
  uintptr_t ours[2], guile[2];
} c_io_slots[4];

static struct c_io_slot *
c_io_slot_of (scm_t_port_type *type)
{
  for (size_t i = 0; i < sizeof c_io_slots / sizeof c_io_slots[0]; i++)
    if (c_io_slots[i].type == type)
      return &c_io_slots[i];
  return NULL;
}

/* Guile's scm_set_port_scm_read, besides giving suspendable ports the
   Scheme procedure, points the type's C read at a trampoline that calls
   it: every read by Guile's C port code (read-line, display, get-u8
   without suspendable ports) would enter the VM and our Scheme loop, when
   our C read waits by itself (wait.c).  So set the Scheme procedures and
   put our C functions back.  The port type's layout is Guile's own
   (ports-internal.h: name, print, c_read, c_write, scm_read, scm_write,
   ...): the C slots are found by their contents, and left to Guile's
   trampolines (slower, still correct) unless everything is where it
   should be.  */
void
gn_set_port_scm_io (scm_t_port_type *type, SCM read, SCM write,
                    size_t (*c_read) (SCM, SCM, size_t, size_t),
                    size_t (*c_write) (SCM, SCM, size_t, size_t))
{
  enum { SEARCH = 8 };
  uintptr_t *word = (uintptr_t *) type;
  uintptr_t r = (uintptr_t) c_read, w = (uintptr_t) c_write;
  int at = -1;
  for (int i = 0; i < SEARCH; i++)
    if (word[i] == r && word[i + 1] == w)
      {
        at = i;
        break;
      }
  scm_set_port_scm_read (type, read);
  scm_set_port_scm_write (type, write);
  if (at >= 0 && word[at] != r && word[at + 1] != w
      && word[at + 2] == SCM_UNPACK (read)
      && word[at + 3] == SCM_UNPACK (write))
    {
      struct c_io_slot *slot = c_io_slot_of (type);
      if (slot == NULL)
        slot = c_io_slot_of (NULL);
      if (slot != NULL)
        *slot = (struct c_io_slot) { type, &word[at], { r, w },
                                     { word[at], word[at + 1] } };
      word[at] = r;
      word[at + 1] = w;
    }
}

SCM_DEFINE (gn_set_port_c_io_x, "%set-port-c-io!", 1, 0, 0,
            (SCM on),
            "Internal, for the tests of the fallback: with @var{on} false,\n"
            "Guile's C port code reaches socket and record ports through\n"
            "Guile's trampolines to their Scheme procedures, as it does on a\n"
            "Guile whose port type layout is not the one expected; with\n"
            "@var{on} true, through our C functions again.  Not while other\n"
            "threads use such ports.")
#define FUNC_NAME s_gn_set_port_c_io_x
{
  for (size_t i = 0; i < sizeof c_io_slots / sizeof c_io_slots[0]; i++)
    if (c_io_slots[i].type != NULL)
      {
        uintptr_t *fns = scm_is_true (on) ? c_io_slots[i].ours
          : c_io_slots[i].guile;
        c_io_slots[i].at[0] = fns[0];
        c_io_slots[i].at[1] = fns[1];
      }
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_port_c_io_p, "%port-c-io?", 1, 0, 0,
            (SCM port),
            "Internal, for the tests: whether Guile's C port code reads and\n"
            "writes @var{port} through our C functions, rather than through\n"
            "trampolines to the Scheme procedures of suspendable ports.")
#define FUNC_NAME s_gn_port_c_io_p
{
  SCM_VALIDATE_PORT (1, port);
  struct c_io_slot *slot = c_io_slot_of (SCM_PORT_TYPE (port));
  return scm_from_bool (slot != NULL && slot->at[0] == slot->ours[0]
                        && slot->at[1] == slot->ours[1]);
}
#undef FUNC_NAME

SCM
gn_make_socket_port (int fd, int family, int type)
{
  gn_socket *s = scm_gc_malloc (sizeof *s, "socket");
  s->fd = fd;
  s->family = family;
  s->type = type;
  for (int i = 0; i < GN_TIMEOUT_COUNT; i++)
    s->timeouts[i] = GN_NO_LIMIT;
  s->waiting[0] = s->waiting[1] = SCM_BOOL_F;
  s->blocked[0] = s->blocked[1] = -1;
  s->revealed = 0;
  s->own_nonblock = s->user_nonblock = 0;
  s->ends = NULL;
  return gn_port_no_bom (scm_c_make_port (gn_socket_port_type,
                                          SCM_RDNG | SCM_WRTNG | SCM_BUF0,
                                          (scm_t_bits) s));
}

ssize_t
gn_attempt_recv (int fd, void *data)
{
  gn_message *m = data;
  return recv (fd, m->buf, m->len, m->flags | MSG_DONTWAIT);
}

ssize_t
gn_attempt_send (int fd, void *data)
{
  gn_message *m = data;
  return send (fd, m->buf, m->len, m->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Transfer through PORT's descriptor.  Outside suspendable ports (Guile's
   C port code) this always waits here, in wait.c.  NOWAIT (a non-blocking
   socket under suspendable ports) returns -1 instead, and the Scheme loop
   waits in a waiter.  */
static ssize_t
port_transfer (SCM port, gn_timeout_kind kind,
               ssize_t (*attempt) (int, void *), gn_message *t,
               int nowait, const char *subr)
{
  gn_socket *s = port_socket (port);
  /* Most transfers need no wait, and so no operation record.  */
  ssize_t n = attempt (s->fd, t);
  if (n >= 0)
    return n;
  gn_op op;
  gn_socket_op (&op, port, s->fd, kind, subr);
  return gn_retry_failed (&op, nowait, attempt, t);
}

static size_t
socket_read (SCM port, SCM dst, size_t start, size_t count)
{
  gn_message t = { (char *) SCM_BYTEVECTOR_CONTENTS (dst) + start, count, 0 };
  return port_transfer (port, GN_TIMEOUT_READ, gn_attempt_recv, &t, 0,
                        "socket-read");
}

static size_t
socket_write (SCM port, SCM src, size_t start, size_t count)
{
  gn_message t = { (char *) SCM_BYTEVECTOR_CONTENTS (src) + start, count, 0 };
  /* Guile writes a large buffer in many calls that may never wait: let
     asyncs in between them.  */
  scm_async_tick ();
  return port_transfer (port, GN_TIMEOUT_WRITE, gn_attempt_send, &t, 0,
                        "socket-write");
}

static SCM
scm_transfer (SCM port, SCM bv, SCM start, SCM count, gn_timeout_kind kind,
              ssize_t (*attempt) (int, void *), const char *subr)
{
  /* Closed while the loop waited (another task closed it).  */
  if (!SCM_OPPORTP (port))
    gn_wrong_type (subr, 1, port);
  size_t from = scm_to_size_t (start);
  gn_message t = { (char *) SCM_BYTEVECTOR_CONTENTS (bv) + from,
                   scm_to_size_t (count), 0 };
  ssize_t n = port_transfer (port, kind, attempt, &t, -1, subr);
  return n < 0 ? gn_would_block : scm_from_ssize_t (n);
}

SCM_DEFINE (gn_socket_read_x, "%socket-read!", 4, 0, 0,
            (SCM port, SCM bv, SCM start, SCM count),
            "Internal: the read of socket port @var{port} under suspendable\n"
            "ports.  Return the number of bytes read into @var{bv}, or\n"
            "@code{%would-block} when a non-blocking socket has none.")
#define FUNC_NAME s_gn_socket_read_x
{
  return scm_transfer (port, bv, start, count, GN_TIMEOUT_READ, gn_attempt_recv,
                       "socket-read");
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_write_x, "%socket-write!", 4, 0, 0,
            (SCM port, SCM bv, SCM start, SCM count),
            "Internal: the write of socket port @var{port} under\n"
            "suspendable ports, as @code{%socket-read!}.")
#define FUNC_NAME s_gn_socket_write_x
{
  return scm_transfer (port, bv, start, count, GN_TIMEOUT_WRITE, gn_attempt_send,
                       "socket-write");
}
#undef FUNC_NAME

/* The procedures an operation of each kind times out in.  */
static const char *const kind_subrs[GN_TIMEOUT_COUNT] = {
  "socket-read", "socket-write", "connect", "accept"
};

SCM_DEFINE (gn_socket_operation, "%socket-operation", 2, 0, 0,
            (SCM port, SCM kind),
            "Internal: an operation of @var{kind} on socket port @var{port}\n"
            "(ours or a file port) is to wait in a waiter: return its wait\n"
            "port, its clock started.")
#define FUNC_NAME s_gn_socket_operation
{
  gn_timeout_kind k = gn_to_timeout_kind (kind, FUNC_NAME, 2);
  int fd = gn_port_fd (port, FUNC_NAME, 1);
  gn_op op;
  gn_socket_op (&op, port, fd, k, kind_subrs[k]);
  SCM wait = gn_make_wait_port (&op);
  gn_socket *s = gn_port_socket (port);
  if (s != NULL)
    s->waiting[slot_of (k)] = wait;
  return wait;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_socket_port_scm_io_x, "%set-socket-port-scm-io!", 2, 0, 0,
            (SCM read, SCM write),
            "Internal: the Scheme procedures Guile's suspendable ports call\n"
            "to read and write socket ports.")
#define FUNC_NAME s_gn_set_socket_port_scm_io_x
{
  gn_set_port_scm_io (gn_socket_port_type, read, write, socket_read,
                      socket_write);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

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
  /* A task or thread waiting on this socket wakes and finds it closed.  */
  gn_wake_waiting (s->waiting, 2);
  gn_wake_blocked (&s->blocked[0]);
  gn_wake_blocked (&s->blocked[1]);
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
  return gn_timeout_to_scm (s->timeouts[gn_to_timeout_kind (kind, FUNC_NAME,
                                                           2)]);
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
  gn_timeout_kind k = gn_to_timeout_kind (kind, FUNC_NAME, 2);
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
  s->waiting[0] = s->waiting[1] = SCM_BOOL_F;
  s->blocked[0] = s->blocked[1] = -1;
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
  gn_register_waitable_port_type (gn_socket_port_type, socket_deadline);
#ifndef SCM_MAGIC_SNARFER
#include "socket-port.x"
#endif
}
