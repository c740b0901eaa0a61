/* guile-net.h -- declarations shared by the C files of libguile-net.
   Each concept lives in one file: errors (error.c), waiting with
   deadlines (wait.c), socket addresses (sockaddr.c), socket options
   (sockopt.c), the socket port type (socket-port.c), socket system calls
   (socket.c), name resolution (addrinfo.c) and constants (constants.c).  */

#ifndef GUILE_NET_H
#define GUILE_NET_H

#ifdef HAVE_CONFIG_H
# include <config.h>
#endif

#include <libguile.h>
#include <stdint.h>
#include <sys/types.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Like Guile's SCM_DEFINE, but the docstring also becomes the primitive's
   `documentation' property, so `procedure-documentation' and `,describe'
   at the REPL show it.  (Guile's own snarfer only extracts docstrings for
   its build-time manual.)  */
#ifndef SCM_MAGIC_SNARF_DOCS
# undef SCM_DEFINE
# define SCM_DEFINE(FNAME, PRIMNAME, REQ, OPT, VAR, ARGLIST, DOCSTRING)   \
  SCM_SNARF_HERE (static const char s_ ## FNAME [] = PRIMNAME;           \
                  SCM FNAME ARGLIST)                                      \
  SCM_SNARF_INIT (gn_define_primitive (s_ ## FNAME, REQ, OPT, VAR,       \
                                       (scm_t_subr) FNAME, DOCSTRING);)
#endif
void gn_define_primitive (const char *name, int req, int opt, int rest,
                          scm_t_subr fn, const char *doc);

/* error.c: the one place that raises errors.  */
SCM_NORETURN void gn_syserror (const char *subr);
SCM_NORETURN void gn_syserror_errno (const char *subr, int err);
SCM_NORETURN void gn_out_of_range (const char *subr, int pos, SCM obj);
SCM_NORETURN void gn_wrong_type (const char *subr, int pos, SCM obj);
/* The same, saying what was EXPECTED ("open DTLS server"), as Guile says
   "expecting open port" of a closed port.  */
SCM_NORETURN void gn_wrong_type_msg (const char *subr, int pos, SCM obj,
                                     const char *expected);
/* out-of-range with WHAT saying what is wrong with OBJ ("not an IPv4
   address"); POS is 0 when OBJ is not an argument.  */
SCM_NORETURN void gn_out_of_range_msg (const char *subr, int pos, SCM obj,
                                       const char *what);
/* Argument POS of SUBR as a C int: wrong-type-arg unless an exact
   integer, out-of-range unless it fits.  */
int gn_to_int (SCM x, const char *subr, int pos);
/* Whether OBJ is a foreign object of TYPE (scm_make_foreign_object_type).  */
int gn_is_a (SCM obj, SCM type);
/* The data pointer of OBJ, argument POS of SUBR: a foreign object of
   TYPE, or a wrong-type-arg.  */
void *gn_foreign_data (SCM obj, SCM type, const char *subr, int pos);
/* The bytes of bytevector BV, argument POS of SUBR, from START to LIMIT
   (arguments START_POS and LIMIT_POS; unbound: the whole), LIMIT being a
   count when IS_COUNT, else an end position: into *BUF and *LEN.  */
void gn_bytevector_span (SCM bv, int pos, SCM start, int start_pos,
                         SCM limit, int limit_pos, int is_count,
                         const char *subr, char **buf, size_t *len);
SCM_NORETURN void gn_raise_getaddrinfo_error (int code, SCM name);
SCM_NORETURN void gn_raise_timeout (const char *subr, const char *operation,
                                    SCM object);
/* A &net-state-error: SUBR cannot work on OBJECT (a session, server or
   socket; SCM_BOOL_F if none is at hand) in its present state, and
   MESSAGE, a whole sentence, says why.  In place of scm_misc_error.  */
SCM_NORETURN void gn_raise_state_error (const char *subr, const char *message,
                                        SCM object);
void gn_init_error (void);

/* wait.c: the one place that waits.  Durations and deadlines are in
   nanoseconds; a deadline is an absolute time on the monotonic clock.
   GN_NO_LIMIT, as a timeout or as a deadline, never comes.  */
#define GN_NO_LIMIT INT64_MAX
#define GN_NO_DEADLINE GN_NO_LIMIT
int64_t gn_now_ns (void);
/* NS from now; GN_NO_LIMIT for GN_NO_LIMIT or a negative NS.  */
int64_t gn_deadline_after_ns (int64_t ns);
/* A timeout argument: #f (GN_NO_LIMIT) or non-negative seconds, in ns.  */
int64_t gn_timeout_from_scm (SCM seconds, const char *subr, int pos);
int64_t gn_deadline_from_scm (SCM seconds, const char *subr, int pos);
/* TIMEOUT as seconds, or #f for GN_NO_LIMIT.  */
SCM gn_timeout_to_scm (int64_t timeout);
/* Seconds left until DEADLINE (0 when past), or #f for GN_NO_LIMIT.  */
SCM gn_seconds_left (int64_t deadline);

/* The kinds of socket operation, each with a timeout of its own.  */
typedef enum
{
  GN_TIMEOUT_READ,      /* port reads, recv!, recvfrom! */
  GN_TIMEOUT_WRITE,     /* port writes, send, sendto */
  GN_TIMEOUT_CONNECT,   /* connect */
  GN_TIMEOUT_ACCEPT,    /* accept */
  GN_TIMEOUT_COUNT
} gn_timeout_kind;
/* read, write, connect or accept: argument POS of SUBR.  */
gn_timeout_kind gn_to_timeout_kind (SCM kind, const char *subr, int pos);
extern const char *const gn_timeout_names[GN_TIMEOUT_COUNT];

/* An operation: whatever waits (connect, accept, read, write, handshake,
   bye, DTLS receive).  It begins when it first has to wait and gets a
   record of its own, so no clock outlives it.  In a blocking wait the
   record lives on the C stack; an operation left to a suspendable-port
   waiter lives in a wait port (below) held by the Scheme loop that
   retries it.  */
typedef struct gn_op gn_op;
struct gn_op
{
  const char *subr;     /* the procedure its timeout names */
  const char *name;     /* "read", "write", "accept", "handshake", ... */
  SCM object;           /* what times out: socket port, session, server */
  int fd;               /* the descriptor waited for */
  short events;         /* POLLIN or POLLOUT */
  int64_t deadline;     /* when it raises &net-timeout; GN_NO_LIMIT */
  int64_t wake_at;      /* wake earlier (a DTLS resend); GN_NO_LIMIT */
  /* Before each wait: bring events and wake_at up to date (the direction
     GnuTLS needs, DTLS timers).  May be NULL.  */
  void (*refresh) (gn_op *op);
  /* The object's own port, or #f.  A waiter is handed it when the
     operation has no deadline and no wake-up (else the wait port); a
     blocking wait that wakes to find it closed raises.  */
  SCM port;
  /* Where a thread blocked on the operation leaves its wake-up pipe, so
     that closing the object wakes it (gn_wake_blocked); NULL if none.  */
  int *waker;
  /* Suspendable waits with a deadline: an epoll descriptor holding FD
     and a timerfd armed at the deadline, -1 when not made.  */
  int epoll_fd;
  int timer_fd;
  short epoll_events;
  int keeps_time;       /* its waiter asks socket-time-left itself */
  /* The poller (poller.c) of the scheduler whose waiter keeps time for
     it, or #f: closing the wait port while the operation waits wakes
     that poller, so the scheduler sees the close at once.  */
  SCM notify;
  int ended;
};
void gn_op_init (gn_op *op, const char *subr, const char *name, SCM object,
                 int fd, short events, int64_t timeout);
/* Wait in this thread until OP's descriptor is ready (return 1) or its
   wake-up time passes (0); raise its timeout once its deadline passes.
   One poll, with a wake-up pipe for asyncs: they run at once, and other
   threads and the GC are never held up.  */
int gn_op_wait (gn_op *op);
SCM_NORETURN void gn_op_raise_timeout (gn_op *op);
/* The wait port of an operation left to a waiter: a copy of OP, begun
   now.  gn_op_of_wait_port gives the record back (NULL for other
   objects).  */
SCM gn_make_wait_port (const gn_op *op);
gn_op *gn_op_of_wait_port (SCM obj);
/* End OP: its extra descriptors are closed.  */
void gn_op_end (gn_op *op);
/* An object closes while OP may wait on it: wake its waiter (the timer
   fires at once), so the retry finds the object closed.  */
void gn_op_wake (gn_op *op);
/* Wake the thread blocked with WAKER (a gn_op's), if any.  */
void gn_wake_blocked (int *waker);
/* When OP raises its timeout or must wake up, whichever comes first.  */
int64_t gn_op_wake_deadline (const gn_op *op);
/* Unique object the C attempt primitives return for "would block", so
   the Scheme loop waits and tries again.  */
extern SCM gn_would_block;
/* Whether install-suspendable-ports! is in effect.  */
int gn_suspendable_ports_p (void);
/* socket-time-left asks the port type of the port a waiter was handed:
   DEADLINE gives when the operation of KIND waiting on PORT must be
   resumed (or, when none waits, when one starting now would time out).  */
void gn_register_waitable_port_type (scm_t_port_type *type,
                                     int64_t (*deadline) (SCM port,
                                                          gn_timeout_kind
                                                          kind));
/* Poll FD for EVENTS up to MS milliseconds, outside Guile mode when it
   may wait, running no async and raising nothing: for callbacks that run
   inside GnuTLS.  poll's result, errno set.  */
int gn_poll_quietly (int fd, short events, int ms);
/* Compatibility wrappers over gn_op_wait: wait for FD until DEADLINE;
   1 when ready, 0 when the deadline passed.  */
int gn_wait_fd (int fd, short events, int64_t deadline);
int gn_poll (struct pollfd *fds, nfds_t n, int64_t deadline);
/* The retry loop around a non-blocking system call on a blocking
   socket: retry on EINTR (running asyncs), wait for OP's descriptor when
   it would block.  Return ATTEMPT's result, or -1 with errno EAGAIN when
   NOWAIT is positive, or negative and the descriptor is non-blocking
   (asked only when it would block); other errors are raised as system
   errors of OP's subr.  */
ssize_t gn_retry_io (gn_op *op, int nowait,
                     ssize_t (*attempt) (int fd, void *data), void *data);
/* The same loop entered after a first ATTEMPT failed with errno: callers
   whose first attempt usually succeeds make OP only when it did not.  */
ssize_t gn_retry_failed (gn_op *op, int nowait,
                         ssize_t (*attempt) (int fd, void *data), void *data);
/* The two halves of every blocking wait, so that asyncs aimed at the
   thread run at once: gn_block_begin registers the pipe WAKE (NULL: the
   thread's own wake-up pipe) with Guile and returns its read end, which
   the caller must watch beside what it waits for; or -1 when an async
   was pending (it has run: look again before blocking).  gn_block_end
   ends the registration, drains the pipe when WOKEN (its read end was
   ready), and runs the asyncs that came, which may not return.  */
int gn_block_begin (const int *wake);
void gn_block_end (const int *wake, int woken);
void gn_drain_pipe (int fd);
/* Milliseconds until DEADLINE for poll(2) and epoll_wait(2): -1 for
   GN_NO_LIMIT, 0 when past, rounded up.  */
int gn_timeout_ms_until (int64_t deadline);
/* Run FUNC (DATA) outside Guile mode; for system calls known not to block
   for long.  */
void *gn_without_guile (void *(*func) (void *), void *data);
void gn_init_wait (void);

/* poller.c: an epoll set for schedulers, waited on with asyncs at once.  */
int gn_is_poller (SCM obj);
/* A wait port of a scheduler using POLLER closed while it waited: wake
   the poller (any thread may call this).  */
void gn_poller_notify (SCM poller);
void gn_init_poller (void);

/* sockaddr.c: socket addresses are Guile's vectors, so addresses made by
   Guile's core procedures and ours are interchangeable.  */
typedef struct
{
  struct sockaddr_storage ss;
  socklen_t len;
} gn_sockaddr;
/* Fill OUT from either a socket address object (FAM_OR_SA a vector, ADDRESS
   and ARGS unbound/null) or from family + address + args.  POS is the
   argument position of FAM_OR_SA for error messages.  Return the list of
   arguments left over (for sendto's flags).  */
SCM gn_scm_to_sockaddr (SCM fam_or_sa, SCM address, SCM args,
                        gn_sockaddr *out, const char *subr, int pos);
SCM gn_sockaddr_to_scm (const struct sockaddr *sa, socklen_t len,
                        const char *subr);
uint16_t gn_to_port_number (SCM port, const char *subr, int pos);
uint32_t gn_to_ipv4 (SCM address, const char *subr, int pos);
void gn_to_ipv6 (SCM address, uint8_t out[16], const char *subr, int pos);
SCM gn_from_ipv6 (const uint8_t addr[16]);
void gn_init_sockaddr (void);

/* sockopt.c: the option table.  */
typedef enum
{
  GN_OPT_INT,         /* an integer */
  GN_OPT_LINGER,      /* (ENABLE . SECONDS) */
  GN_OPT_MREQ,        /* (MULTIADDR . INTERFACEADDR), set only */
  GN_OPT_IPV6_MREQ,   /* (MULTIADDR6 . INTERFACE-INDEX), set only */
  GN_OPT_INADDR,      /* an IPv4 address as an integer */
  GN_OPT_UNKNOWN
} gn_option_kind;
gn_option_kind gn_option_lookup (int level, int name);
const char *gn_option_name (int level, int name);
void gn_init_sockopt (void);

/* socket-port.c: a socket is a port of our own type.  */

typedef struct
{
  int fd;
  int family;
  int type;
  /* Timeouts in nanoseconds, by gn_timeout_kind; GN_NO_LIMIT is none.  */
  int64_t timeouts[GN_TIMEOUT_COUNT];
  /* The wait port of the latest operation of each side (0: read and
     accept, 1: write and connect) left to a waiter, or #f: closing the
     socket wakes them.  */
  SCM waiting[2];
  /* The wake-up pipes of threads blocked on each side, or -1.  */
  int blocked[2];
  /* Times `port->fdes' handed the descriptor out; closing the port leaves
     a revealed descriptor open, as Guile's file ports do.  */
  int revealed;
  /* A listening socket is O_NONBLOCK underneath, so that threads racing
     in accept never block in accept4; USER_NONBLOCK is then the mode the
     user asked for, which is what `fcntl' reports.  */
  int own_nonblock;
  int user_nonblock;
  /* For the two one-way ports made by socket-port-split!: what they
     share.  NULL for an ordinary socket port.  */
  struct gn_socket_ends *ends;
} gn_socket;

/* The descriptor shared by an input port and an output port.  */
struct gn_socket_ends
{
  int open;        /* how many of the two ports are still open */
  int abandoned;   /* close without shutting the connection down */
};
extern scm_t_port_type *gn_socket_port_type;
SCM gn_make_socket_port (int fd, int family, int type);
/* Clear PORT's stream-start mark, so reads never look for a byte-order
   mark; return PORT.  */
SCM gn_port_no_bom (SCM port);
void gn_set_port_scm_io (scm_t_port_type *type, SCM read, SCM write,
                         size_t (*c_read) (SCM, SCM, size_t, size_t),
                         size_t (*c_write) (SCM, SCM, size_t, size_t));
/* The descriptor of open socket port (ours, or a file port such as Guile's
   own sockets).  A closed port or a non-port is a wrong-type-arg.  */
int gn_port_fd (SCM port, const char *subr, int pos);
gn_socket *gn_port_socket (SCM port);   /* NULL unless one of ours */
/* OP for an operation of KIND on PORT (ours or a file port) through
   descriptor FD, named SUBR: its direction and the socket's timeout.  */
void gn_socket_op (gn_op *op, SCM port, int fd, gn_timeout_kind kind,
                   const char *subr);
/* Whether the operations on PORT (descriptor FD) report "would block"
   rather than wait: the mode the user gave the descriptor.  */
/* Make socket port SOCK's descriptor FD non-blocking underneath, keeping
   the mode its user gave it (for fcntl through %socket-status-flags, and
   for gn_socket_nonblocking): for sockets only our code reads (listeners,
   DTLS servers), so that a wait need not ask fcntl.  Other ports: no-op.  */
void gn_socket_own_nonblock (SCM sock, int fd);
int gn_socket_nonblocking (SCM port, int fd);
int gn_fd_is_nonblocking (int fd);
/* What recv and send take, and the attempts gn_retry_io makes with them:
   without blocking (MSG_DONTWAIT), and without SIGPIPE.  */
typedef struct
{
  char *buf;
  size_t len;
  int flags;
  gn_sockaddr addr;   /* source (recvfrom) or destination (sendto) */
} gn_message;
ssize_t gn_attempt_recv (int fd, void *message);
ssize_t gn_attempt_send (int fd, void *message);
/* Wake the operations left to waiters in SLOTS (N wait ports or #f).  */
void gn_wake_waiting (SCM *slots, int n);
void gn_init_socket_port (void);

/* socket.c: the socket system calls.  */
void gn_init_socket (void);
/* mmsg.c: recvmmsg! and sendmmsg.  */
void gn_init_mmsg (void);

/* addrinfo.c, constants.c.  */
void gn_init_addrinfo (void);
void gn_init_constants (void);

#endif /* GUILE_NET_H */
