/* socket.c -- the socket system calls: bind, connect, listen, accept,
   shutdown, getsockname, getpeername, recv!, send, recvfrom!, sendto.

   Names, arguments and results are those of Guile's built-in procedures.
   Blocking calls wait in wait.c, as operations (gn_op), so they never hold
   up other threads and asyncs run at once.  Under suspendable ports, on a
   non-blocking socket, accept and connect return %would-block and (net
   socket) waits in the current waiter.  */

#include "guile-net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static int
optional_flags (SCM flags, const char *subr, int pos)
{
  return SCM_UNBNDP (flags) ? 0 : gn_to_int (flags, subr, pos);
}

static SCM
no_more_args (SCM rest, const char *subr)
{
  if (!scm_is_null (rest))
    scm_error_num_args_subr (subr);
  return rest;
}

SCM_DEFINE (gn_bind, "bind", 2, 1, 1,
            (SCM sock, SCM fam_or_sockaddr, SCM address, SCM args),
            "Bind socket port @var{sock} to an address: either a socket\n"
            "address object or the arguments @code{make-socket-address}\n"
            "takes, e.g. @code{(bind sock AF_INET INADDR_LOOPBACK 0)}.  Port 0\n"
            "lets the kernel choose; @code{getsockname} tells which.  The\n"
            "return value is unspecified.")
#define FUNC_NAME s_gn_bind
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_sockaddr sa;
  no_more_args (gn_scm_to_sockaddr (fam_or_sockaddr, address, args, &sa,
                                    FUNC_NAME, 2), FUNC_NAME);
  if (bind (fd, (struct sockaddr *) &sa.ss, sa.len) < 0)
    gn_syserror (FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* Connect FD without blocking: 1 when connected, 0 when in progress.  A
   blocking connect would hold asyncs until the kernel gives up, so a
   blocking descriptor is made non-blocking for the call: FLAGS are its
   status flags, given back after it, or -1 when it is non-blocking
   already.  */
static int
start_connect (int fd, const gn_sockaddr *sa, int flags, const char *subr)
{
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  int rv;
  do
    rv = connect (fd, (const struct sockaddr *) &sa->ss, sa->len);
  while (rv < 0 && errno == EINTR);
  int err = errno;
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags);
  if (rv == 0)
    return 1;
  if (err != EINPROGRESS && err != EAGAIN)
    gn_syserror_errno (subr, err);
  return 0;
}

/* The connection in progress on FD: 1 once it is made, 0 while still in
   progress; raise its error if it failed.  Writable without an error or
   a hang-up is connected; only then is SO_ERROR worth asking (a
   connection to loopback is usually made by the time connect returns, so
   this poll is the only call after it).  */
static int
finish_connect (int fd, const char *subr)
{
  struct pollfd pfd = { fd, POLLOUT, 0 };
  if (poll (&pfd, 1, 0) <= 0)
    return 0;
  if (!(pfd.revents & (POLLERR | POLLHUP)))
    return 1;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
    gn_syserror (subr);
  if (err != 0)
    gn_syserror_errno (subr, err);
  return 1;
}

SCM_DEFINE (gn_connect, "%connect", 2, 1, 1,
            (SCM sock, SCM fam_or_sockaddr, SCM address, SCM args),
            "Connect socket port @var{sock} to an address: a socket address\n"
            "object or the arguments @code{make-socket-address} takes, e.g.\n"
            "@code{(connect sock AF_INET INADDR_LOOPBACK 80)}.  Return\n"
            "@code{#t}, or @code{#f} when @var{sock} is non-blocking and the\n"
            "connection is still in progress (wait until it is writable and\n"
            "read @code{SO_ERROR}).  While it waits, other threads run and\n"
            "asyncs such as Ctrl-C are handled.")
#define FUNC_NAME "connect"   /* wrapped by (net socket) as connect */
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_sockaddr sa;
  no_more_args (gn_scm_to_sockaddr (fam_or_sockaddr, address, args, &sa,
                                    FUNC_NAME, 2), FUNC_NAME);
  /* One F_GETFL says both whether the user made the descriptor
     non-blocking and what to give back after the call; a descriptor that
     is non-blocking underneath (own_nonblock) needs neither.  */
  gn_socket *s = gn_port_socket (sock);
  int nonblocking, flags = -1;
  if (s != NULL && s->own_nonblock)
    nonblocking = s->user_nonblock;
  else
    {
      flags = fcntl (fd, F_GETFL);
      nonblocking = flags >= 0 && (flags & O_NONBLOCK) != 0;
      if (nonblocking)
        flags = -1;
    }
  if (start_connect (fd, &sa, flags, FUNC_NAME))
    return SCM_BOOL_T;
  if (nonblocking)
    return gn_suspendable_ports_p () ? gn_would_block : SCM_BOOL_F;
  gn_op op;
  gn_socket_op (&op, sock, fd, GN_TIMEOUT_CONNECT, FUNC_NAME);
  while (!finish_connect (fd, FUNC_NAME))
    gn_op_wait (&op);
  return SCM_BOOL_T;
}
#undef FUNC_NAME

SCM_DEFINE (gn_connect_finish_x, "%connect-finish!", 1, 0, 0, (SCM sock),
            "Internal: the non-blocking connection of @var{sock} in progress\n"
            "may have become writable.  Return @code{#t} if it is now\n"
            "connected, @code{%would-block} if still in progress; raise its\n"
            "error if it failed.")
#define FUNC_NAME "connect"
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  return finish_connect (fd, FUNC_NAME) ? SCM_BOOL_T : gn_would_block;
}
#undef FUNC_NAME

SCM_DEFINE (gn_listen, "listen", 2, 0, 0, (SCM sock, SCM backlog),
            "Make socket port @var{sock} accept connections, with at most\n"
            "@var{backlog} of them waiting in the queue.  The return value is\n"
            "unspecified.")
#define FUNC_NAME s_gn_listen
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  if (listen (fd, gn_to_int (backlog, FUNC_NAME, 2)) < 0)
    gn_syserror (FUNC_NAME);
  /* Non-blocking underneath, so that a thread that loses a race for a
     connection to another never blocks in accept4 (where no async or
     timeout could reach it); the user's mode is kept for fcntl.  */
  gn_socket_own_nonblock (sock, fd);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

struct accept_args
{
  int fd;
  int flags;
  gn_sockaddr peer;
  int result;
  int err;
};

static void *
do_accept (void *data)
{
  struct accept_args *a = data;
  a->peer.len = sizeof a->peer.ss;
  a->result = accept4 (a->fd, (struct sockaddr *) &a->peer.ss, &a->peer.len,
                       a->flags);
  a->err = errno;
  return NULL;
}

SCM_DEFINE (gn_accept, "%accept", 1, 1, 0, (SCM sock, SCM flags),
            "Accept a connection on listening socket port @var{sock} and\n"
            "return a pair: a new socket port for it and the peer's socket\n"
            "address.  @var{flags} may include @code{SOCK_NONBLOCK} (and\n"
            "@code{SOCK_CLOEXEC}, which is always applied) for the new socket.\n"
            "When @var{sock} is non-blocking and no connection is waiting,\n"
            "return @code{#f}; otherwise wait, letting other threads and\n"
            "asyncs run.")
#define FUNC_NAME "accept"    /* wrapped by (net socket) as accept */
{
  int f = optional_flags (flags, FUNC_NAME, 2);
  if (f & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
    gn_out_of_range (FUNC_NAME, 2, flags);
  gn_socket *s = gn_port_socket (sock);
  struct accept_args a;
  memset (&a, 0, sizeof a);
  a.fd = gn_port_fd (sock, FUNC_NAME, 1);
  a.flags = f | SOCK_CLOEXEC;
  int nonblocking = gn_socket_nonblocking (sock, a.fd);
  /* Our listening sockets never block in accept4 (see listen); a
     blocking descriptor of someone else's is waited for first, and may
     still block should another thread take the connection.  */
  int may_block = !nonblocking && !(s != NULL && s->own_nonblock);
  gn_op op;
  gn_socket_op (&op, sock, a.fd, GN_TIMEOUT_ACCEPT, FUNC_NAME);
  for (;;)
    {
      if (may_block)
        {
          gn_op_wait (&op);
          gn_without_guile (do_accept, &a);
        }
      else
        do_accept (&a);
      if (a.result >= 0)
        break;
      if (a.err == EINTR || a.err == ECONNABORTED)
        {
          scm_async_tick ();
          continue;
        }
      if (a.err != EAGAIN && a.err != EWOULDBLOCK)
        gn_syserror_errno (FUNC_NAME, a.err);
      if (nonblocking)
        return gn_suspendable_ports_p () ? gn_would_block : SCM_BOOL_F;
      if (!may_block)
        gn_op_wait (&op);
    }
  int type = s ? s->type : SOCK_STREAM;
  SCM port = gn_make_socket_port (a.result, a.peer.ss.ss_family, type);
  SCM peer = a.peer.len > 0
    ? gn_sockaddr_to_scm ((struct sockaddr *) &a.peer.ss, a.peer.len,
                          FUNC_NAME)
    : SCM_BOOL_F;
  return scm_cons (port, peer);
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_status_flags, "%socket-status-flags", 1, 1, 0,
            (SCM sock, SCM flags),
            "Internal: @code{fcntl}'s @code{F_GETFL} (without @var{flags})\n"
            "and @code{F_SETFL} on socket port @var{sock}, in the mode its\n"
            "user gave it: a listening socket is non-blocking underneath.")
#define FUNC_NAME s_gn_socket_status_flags
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_socket *s = gn_port_socket (sock);
  int own = s != NULL && s->own_nonblock;
  if (SCM_UNBNDP (flags))
    {
      int v = fcntl (fd, F_GETFL);
      if (v < 0)
        gn_syserror (FUNC_NAME);
      if (own)
        v = (v & ~O_NONBLOCK) | (s->user_nonblock ? O_NONBLOCK : 0);
      return scm_from_int (v);
    }
  int v = gn_to_int (flags, FUNC_NAME, 2);
  if (fcntl (fd, F_SETFL, own ? v | O_NONBLOCK : v) < 0)
    gn_syserror (FUNC_NAME);
  if (own)
    s->user_nonblock = (v & O_NONBLOCK) != 0;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_socket_own_nonblock_x, "%socket-own-nonblock!", 1, 0, 0,
            (SCM sock),
            "Internal: make socket port @var{sock} non-blocking underneath,\n"
            "its user's mode kept for @code{fcntl} and for what its\n"
            "operations do, as @code{listen} does: for a socket only this\n"
            "library reads (a DTLS client's), so that a wait need not ask\n"
            "the descriptor's mode.")
#define FUNC_NAME s_gn_socket_own_nonblock_x
{
  gn_socket_own_nonblock (sock, gn_port_fd (sock, FUNC_NAME, 1));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_shutdown, "shutdown", 2, 0, 0, (SCM sock, SCM how),
            "Shut down part of the connection of socket port @var{sock}:\n"
            "@var{how} is @code{SHUT_RD} (0) to stop receiving,\n"
            "@code{SHUT_WR} (1) to stop sending, or @code{SHUT_RDWR} (2).\n"
            "The return value is unspecified.")
#define FUNC_NAME s_gn_shutdown
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  int h = gn_to_int (how, FUNC_NAME, 2);
  if (h < 0 || h > 2)
    gn_out_of_range (FUNC_NAME, 2, how);
  if (shutdown (fd, h) < 0)
    gn_syserror (FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

static SCM
socket_name (SCM sock, int peer, const char *subr)
{
  int fd = gn_port_fd (sock, subr, 1);
  gn_sockaddr sa;
  memset (&sa, 0, sizeof sa);
  sa.len = sizeof sa.ss;
  int rv = peer ? getpeername (fd, (struct sockaddr *) &sa.ss, &sa.len)
                : getsockname (fd, (struct sockaddr *) &sa.ss, &sa.len);
  if (rv < 0)
    gn_syserror (subr);
  if (sa.len == 0)   /* an unnamed AF_UNIX socket */
    sa.ss.ss_family = AF_UNIX;
  return gn_sockaddr_to_scm ((struct sockaddr *) &sa.ss, sa.len, subr);
}

SCM_DEFINE (gn_getsockname, "%getsockname", 1, 0, 0, (SCM sock),
            "Return the socket address to which socket port @var{sock} is\n"
            "bound locally.")
#define FUNC_NAME "getsockname"   /* wrapped by (net socket) */
{
  return socket_name (sock, 0, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_getpeername, "%getpeername", 1, 0, 0, (SCM sock),
            "Return the socket address of the peer socket port @var{sock} is\n"
            "connected to.")
#define FUNC_NAME "getpeername"   /* wrapped by (net socket) */
{
  return socket_name (sock, 1, FUNC_NAME);
}
#undef FUNC_NAME

/* recv!, send, recvfrom!, sendto.  */

static ssize_t
attempt_recvfrom (int fd, void *data)
{
  gn_message *m = data;
  m->addr.len = sizeof m->addr.ss;
  return recvfrom (fd, m->buf, m->len, m->flags | MSG_DONTWAIT,
                   (struct sockaddr *) &m->addr.ss, &m->addr.len);
}

static ssize_t
attempt_sendto (int fd, void *data)
{
  gn_message *m = data;
  return sendto (fd, m->buf, m->len, m->flags | MSG_DONTWAIT | MSG_NOSIGNAL,
                 (struct sockaddr *) &m->addr.ss, m->addr.len);
}

/* Receive or send M on FD.  A blocking stream socket sends all of M, as
   the kernel does for a blocking send; MSG_WAITALL receives all of it.  */
static size_t
transfer (SCM sock, int fd, short events, ssize_t (*attempt) (int, void *),
          gn_message *m, int all, const char *subr)
{
  /* Non-blocking sockets are asked about only when they would block.  */
  int nowait = (m->flags & MSG_DONTWAIT) != 0 ? 1 : -1;
  /* Made at the first attempt that fails: most transfers never wait, and
     need no record.  Once made it lasts to the end, so a peer that
     trickles does not renew the time limit.  */
  gn_op op;
  int have_op = 0;
  m->flags &= ~MSG_WAITALL;
  size_t done = 0;
  for (;;)
    {
      ssize_t n = attempt (fd, m);
      if (n < 0)
        {
          if (!have_op)
            gn_socket_op (&op, sock, fd, events == POLLIN ? GN_TIMEOUT_READ
                          : GN_TIMEOUT_WRITE, subr);
          have_op = 1;
          n = gn_retry_failed (&op, nowait, attempt, m);
        }
      if (n < 0)
        {
          if (done > 0)
            return done;
          gn_syserror_errno (subr, EAGAIN);
        }
      done += n;
      if (!all || n == 0 || (size_t) n == m->len)
        return done;
      m->buf += n;
      m->len -= n;
      /* A long transfer that never has to wait still lets asyncs in.  */
      scm_async_tick ();
    }
}

static int
is_stream (SCM sock, int fd)
{
  gn_socket *s = gn_port_socket (sock);
  if (s)
    return s->type == SOCK_STREAM;
  int type = 0;
  socklen_t len = sizeof type;
  getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len);
  return type == SOCK_STREAM;
}

SCM_DEFINE (gn_recv, "recv!", 2, 1, 0, (SCM sock, SCM buf, SCM flags),
            "Receive data from socket port @var{sock} into bytevector\n"
            "@var{buf} and return the number of bytes received (0 at end of\n"
            "file).  @var{flags} is a @code{logior} of @code{MSG_OOB},\n"
            "@code{MSG_PEEK}, @code{MSG_DONTWAIT}, @code{MSG_WAITALL}, etc.\n"
            "Data is read from the descriptor directly: bytes buffered in the\n"
            "port are not seen.  A blocking socket waits without holding up\n"
            "other threads; a non-blocking one raises @code{EAGAIN}.")
#define FUNC_NAME s_gn_recv
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_message m;
  gn_bytevector_span (buf, 2, SCM_UNDEFINED, 0, SCM_UNDEFINED, 0, 0, FUNC_NAME,
                      &m.buf, &m.len);
  m.flags = optional_flags (flags, FUNC_NAME, 3);
  /* An empty buffer on a stream has nothing to receive into: return 0 at
     once, as read (2) with a count of 0 does.  Otherwise Linux's recv
     says EAGAIN while no data is queued and this would wait for data it
     cannot take (forever without a read timeout).  A datagram socket
     still waits, since a zero-length receive consumes a datagram.  */
  if (m.len == 0 && is_stream (sock, fd))
    return scm_from_size_t (0);
  int all = (m.flags & MSG_WAITALL) != 0;
  return scm_from_size_t (transfer (sock, fd, POLLIN, gn_attempt_recv, &m, all,
                                    FUNC_NAME));
}
#undef FUNC_NAME

SCM_DEFINE (gn_send, "send", 2, 1, 0, (SCM sock, SCM message, SCM flags),
            "Send bytevector @var{message} on connected socket port\n"
            "@var{sock} and return the number of bytes sent.  A blocking\n"
            "stream socket sends all of it; a non-blocking one may send less.\n"
            "@var{flags} is a @code{logior} of @code{MSG_OOB},\n"
            "@code{MSG_DONTROUTE}, etc.  Bytes buffered in the port are not\n"
            "sent.  A vanished peer is an @code{EPIPE} system error, never a\n"
            "@code{SIGPIPE}.")
#define FUNC_NAME s_gn_send
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_message m;
  gn_bytevector_span (message, 2, SCM_UNDEFINED, 0, SCM_UNDEFINED, 0, 0,
                      FUNC_NAME, &m.buf, &m.len);
  m.flags = optional_flags (flags, FUNC_NAME, 3);
  return scm_from_size_t (transfer (sock, fd, POLLOUT, gn_attempt_send, &m,
                                    is_stream (sock, fd), FUNC_NAME));
}
#undef FUNC_NAME

SCM_DEFINE (gn_recvfrom, "recvfrom!", 2, 3, 0,
            (SCM sock, SCM buf, SCM flags, SCM start, SCM end),
            "Receive data from socket port @var{sock} into bytevector\n"
            "@var{buf}, or into its part from @var{start} to @var{end}, and\n"
            "return a pair: the number of bytes received and the socket\n"
            "address they came from (@code{#f} when unknown).  A datagram\n"
            "larger than the space given is truncated by the system.\n"
            "@var{flags} is as for @code{recv!}.")
#define FUNC_NAME s_gn_recvfrom
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_message m;
  /* Not all of it: the attempt sets the address length, and the
     sockaddr_storage is written by the kernel.  */
  m.addr.len = 0;
  m.addr.ss.ss_family = AF_UNSPEC;
  gn_bytevector_span (buf, 2, start, 4, end, 5, 0, FUNC_NAME, &m.buf, &m.len);
  m.flags = optional_flags (flags, FUNC_NAME, 3);
  int all = (m.flags & MSG_WAITALL) != 0;
  size_t n = transfer (sock, fd, POLLIN, attempt_recvfrom, &m, all, FUNC_NAME);
  SCM from = SCM_BOOL_F;
  if (m.addr.len > 0 && m.addr.ss.ss_family != AF_UNSPEC)
    from = gn_sockaddr_to_scm ((struct sockaddr *) &m.addr.ss, m.addr.len,
                               FUNC_NAME);
  return scm_cons (scm_from_size_t (n), from);
}
#undef FUNC_NAME

SCM_DEFINE (gn_sendto, "sendto", 3, 1, 1,
            (SCM sock, SCM message, SCM fam_or_sockaddr, SCM address,
             SCM args_and_flags),
            "Send bytevector @var{message} on socket port @var{sock} to an\n"
            "address: a socket address object, or the arguments\n"
            "@code{make-socket-address} takes.  The address may be followed\n"
            "by @var{flags}, as for @code{send}.  Return the number of bytes\n"
            "sent.\n\n"
            "@lisp\n(sendto sock bv AF_INET INADDR_LOOPBACK 5353)\n"
            "(sendto sock bv (make-socket-address AF_INET6 1 5353) MSG_DONTWAIT)\n"
            "@end lisp")
#define FUNC_NAME s_gn_sendto
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  gn_message m;
  gn_bytevector_span (message, 2, SCM_UNDEFINED, 0, SCM_UNDEFINED, 0, 0,
                      FUNC_NAME, &m.buf, &m.len);
  SCM rest = gn_scm_to_sockaddr (fam_or_sockaddr, address, args_and_flags,
                                 &m.addr, FUNC_NAME, 3);
  m.flags = 0;
  if (scm_is_pair (rest))
    {
      /* The flags follow whatever the address took.  */
      long given = 3 + (SCM_UNBNDP (address) ? 0 : 1)
                   + (SCM_UNBNDP (args_and_flags) ? 0 : scm_ilength (args_and_flags));
      long flags_pos = given - scm_ilength (rest) + 1;
      m.flags = gn_to_int (SCM_CAR (rest), FUNC_NAME, (int) flags_pos);
      no_more_args (SCM_CDR (rest), FUNC_NAME);
    }
  return scm_from_size_t (transfer (sock, fd, POLLOUT, attempt_sendto, &m,
                                    is_stream (sock, fd), FUNC_NAME));
}
#undef FUNC_NAME

void
gn_init_socket (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "socket.x"
#endif
}
