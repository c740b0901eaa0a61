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
SCM_NORETURN void gn_raise_getaddrinfo_error (int code, SCM name);
SCM_NORETURN void gn_raise_timeout (const char *subr, const char *operation,
                                    SCM object);
/* A &net-state-error: SUBR cannot work on OBJECT (a session, server or
   socket; SCM_BOOL_F if none is at hand) in its present state, and
   MESSAGE, a whole sentence, says why.  In place of scm_misc_error.  */
SCM_NORETURN void gn_raise_state_error (const char *subr, const char *message,
                                        SCM object);
void gn_init_error (void);

/* wait.c: the one place that waits.  A deadline is an absolute time on the
   monotonic clock in nanoseconds; GN_NO_DEADLINE waits forever.  */
#define GN_NO_DEADLINE INT64_MAX
int64_t gn_now_ns (void);
int64_t gn_deadline_after_ns (int64_t ns);
int64_t gn_deadline_from_scm (SCM seconds, const char *subr, int pos);
/* A timeout argument: #f (none, -1) or non-negative seconds, in ns.  */
int64_t gn_timeout_from_scm (SCM seconds, const char *subr, int pos);
/* Wait until FD is ready for EVENTS (POLLIN, POLLOUT) or DEADLINE passes,
   without holding the Guile mode and running pending asyncs regularly, so
   other threads, the GC and interrupts all proceed.  Return 1 when FD is
   ready (or in error: the next system call reports it), 0 on timeout.  */
int gn_wait_fd (int fd, short events, int64_t deadline);
/* The same for several descriptors: return how many are ready (see their
   revents), or 0 on timeout.  */
int gn_poll (struct pollfd *fds, nfds_t n, int64_t deadline);
/* The retry loop around a system call on a socket.  ATTEMPT must not block
   (it uses MSG_DONTWAIT or similar).  Retry it on EINTR (running asyncs)
   and, on a blocking socket, after waiting for EVENTS until DEADLINE; raise
   a timeout condition naming OPERATION and OBJECT if that passes.  Return
   ATTEMPT's result; or -1 with errno EAGAIN when NOWAIT is set or the
   socket is non-blocking; other errors are raised as system errors of
   SUBR.  */
ssize_t gn_retry_io (int fd, short events, int nowait, int64_t deadline,
                     ssize_t (*attempt) (int fd, void *data), void *data,
                     const char *subr, const char *operation, SCM object);
/* The wait clock of an operation left to a suspendable-port waiter (the
   waiting then happens in Scheme, not in gn_wait_fd).  *CLOCK is 0 while
   nothing waits; TIMEOUT is in ns, -1 for none.  gn_wait_clock_expired
   starts the clock, or returns 1 (and stops it) once it has run out.  */
int gn_wait_clock_expired (int64_t *clock, int64_t timeout);
/* The deadline the waiting operation has, or GN_NO_DEADLINE.  */
int64_t gn_wait_clock_deadline (int64_t clock, int64_t timeout);
/* Seconds left until DEADLINE (0 when past), or #f for GN_NO_DEADLINE.  */
SCM gn_seconds_left (int64_t deadline);
/* Run FUNC (DATA) outside Guile mode; for system calls known not to block
   for long.  */
void *gn_without_guile (void *(*func) (void *), void *data);
void gn_init_wait (void);

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
typedef enum
{
  GN_TIMEOUT_READ,      /* port reads, recv!, recvfrom! */
  GN_TIMEOUT_WRITE,     /* port writes, send, sendto */
  GN_TIMEOUT_CONNECT,   /* connect */
  GN_TIMEOUT_ACCEPT,    /* accept */
  GN_TIMEOUT_COUNT
} gn_timeout_kind;

typedef struct
{
  int fd;
  int family;
  int type;
  /* Timeouts in nanoseconds, by gn_timeout_kind; -1 is none.  */
  int64_t timeouts[GN_TIMEOUT_COUNT];
  /* On a non-blocking socket the waiting is done by a read or write
     waiter (suspendable ports): when an operation of each kind first
     found it would block, plus its timeout; 0 when not waiting.  */
  int64_t wait_deadline[GN_TIMEOUT_COUNT];
  /* The deadline of a TLS operation waiting on this socket as its
     transport, so a waiter asking the socket learns it; 0 when none.  */
  int64_t lent_deadline;
  /* Times `port->fdes' handed the descriptor out; closing the port leaves
     a revealed descriptor open, as Guile's file ports do.  */
  int revealed;
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
/* The descriptor of open socket port (ours, or a file port such as Guile's
   own sockets).  A closed port or a non-port is a wrong-type-arg.  */
int gn_port_fd (SCM port, const char *subr, int pos);
gn_socket *gn_port_socket (SCM port);   /* NULL unless one of ours */
/* The deadline for an operation of KIND starting now on PORT: from the
   socket's timeout, or none for a port that is not one of ours.  */
int64_t gn_socket_deadline (SCM port, gn_timeout_kind kind);
/* An operation of KIND on non-blocking PORT would block and a waiter is to
   wait for it: start its clock, or raise a timeout naming SUBR if its time
   has run out.  No effect on ports that are not ours.  */
void gn_socket_wait_begin (SCM port, gn_timeout_kind kind, const char *subr);
/* The operation of KIND on PORT made progress: stop its clock.  */
void gn_socket_wait_end (SCM port, gn_timeout_kind kind);
/* Set by the TLS layer: the deadline of the operation waiting on PORT if
   PORT is one of its record ports, else GN_NO_DEADLINE with *HANDLED 0.
   Lets socket-time-left answer for every port a waiter is handed.  */
extern int64_t (*gn_port_deadline_hook) (SCM port, int *handled);
int gn_fd_is_nonblocking (int fd);
void gn_init_socket_port (void);

/* socket.c: connect and accept with a deadline, for the layers above.  */
int gn_connect_fd (int fd, const gn_sockaddr *sa, int64_t deadline,
                   const char *subr, SCM object);
SCM gn_accept_fd (SCM sock, int flags, int64_t deadline, const char *subr);
void gn_init_socket (void);

/* addrinfo.c, constants.c.  */
void gn_init_addrinfo (void);
void gn_init_constants (void);

#endif /* GUILE_NET_H */
