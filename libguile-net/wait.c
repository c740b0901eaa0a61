/* wait.c -- the one place where libguile-net waits.

   Everything that waits (connect, accept, read, write, handshake, bye,
   DTLS receive) is an operation, a gn_op: its name, the object it times
   out on, the descriptor and direction, its deadline.  An operation waits
   in one of two ways:

   - Blocking, in C: one poll on the descriptor and on a wake-up pipe of
     the thread's own, registered with scm_c_prepare_to_wait_on_fd, so an
     async aimed at the thread (Ctrl-C, system-async-mark, cancel-thread)
     ends the poll at once and runs.  The poll runs outside Guile mode, so
     other threads and the GC carry on; a thread blocked for a minute makes
     a constant number of system calls.

   - Suspendable: under install-suspendable-ports! on a non-blocking
     descriptor, the C attempt returns gn_would_block and one Scheme loop
     (wait-and-retry in (net socket)) calls the current read or write
     waiter.  The waiter is handed a wait port, whose record outlives the
     C call.  When the operation has a deadline, the wait port's descriptor
     is an epoll descriptor holding the socket and a timerfd armed at the
     deadline: any waiter that just waits for the descriptor (fibers,
     Guile's own, a select loop) wakes by then, and the retry raises the
     timeout.  Those two descriptors exist only while such an operation
     waits.

   A fresh operation always gets a fresh record, so no clock outlives its
   operation, however the previous one ended.  */

#include "guile-net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---- clocks --------------------------------------------------------- */

int64_t
gn_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
gn_deadline_after_ns (int64_t ns)
{
  if (ns < 0 || ns == GN_NO_LIMIT)
    return GN_NO_LIMIT;
  int64_t now = gn_now_ns ();
  return ns > GN_NO_LIMIT - now ? GN_NO_LIMIT : now + ns;
}

int64_t
gn_timeout_from_scm (SCM seconds, const char *subr, int pos)
{
  if (SCM_UNBNDP (seconds) || scm_is_false (seconds))
    return GN_NO_LIMIT;
  if (!scm_is_real (seconds))
    gn_wrong_type (subr, pos, seconds);
  double s = scm_to_double (seconds);
  if (!(s >= 0))
    gn_out_of_range (subr, pos, seconds);
  return s > 1e9 ? GN_NO_LIMIT : (int64_t) (s * 1e9);   /* 30 years */
}

int64_t
gn_deadline_from_scm (SCM seconds, const char *subr, int pos)
{
  return gn_deadline_after_ns (gn_timeout_from_scm (seconds, subr, pos));
}

SCM
gn_timeout_to_scm (int64_t timeout)
{
  return timeout == GN_NO_LIMIT ? SCM_BOOL_F : scm_from_double (timeout / 1e9);
}

SCM
gn_seconds_left (int64_t deadline)
{
  if (deadline == GN_NO_LIMIT)
    return SCM_BOOL_F;
  int64_t left = deadline - gn_now_ns ();
  return scm_from_double (left > 0 ? left / 1e9 : 0.0);
}

/* ---- the wake-up pipe ----------------------------------------------- */

/* Guile wakes a thread waiting on a descriptor by writing one byte to
   it, so it must be a pipe (not an eventfd).  One per thread, made on its
   first wait, closed when the thread exits.  */
static pthread_key_t wake_key;
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void
close_wake_pipe (void *p)
{
  int *fds = p;
  close (fds[0]);
  close (fds[1]);
  free (fds);
}

static void
make_wake_key (void)
{
  pthread_key_create (&wake_key, close_wake_pipe);
}

static int *
wake_pipe (void)
{
  pthread_once (&wake_once, make_wake_key);
  int *fds = pthread_getspecific (wake_key);
  if (fds == NULL)
    {
      fds = malloc (2 * sizeof *fds);
      if (fds == NULL)
        gn_syserror_errno ("wait", ENOMEM);
      if (pipe2 (fds, O_CLOEXEC | O_NONBLOCK) < 0)
        {
          int err = errno;
          free (fds);
          gn_syserror_errno ("wait", err);
        }
      pthread_setspecific (wake_key, fds);
    }
  return fds;
}

static void
drain (int fd)
{
  char buf[64];
  while (read (fd, buf, sizeof buf) > 0)
    ;
}

/* ---- blocking waits ------------------------------------------------- */

struct poll_args
{
  struct pollfd *fds;
  nfds_t n;
  int timeout_ms;
  int result;
  int err;
};

static void *
do_poll (void *data)
{
  struct poll_args *a = data;
  a->result = poll (a->fds, a->n, a->timeout_ms);
  a->err = errno;
  return NULL;
}

int
gn_timeout_ms_until (int64_t deadline)
{
  if (deadline == GN_NO_LIMIT)
    return -1;
  int64_t left = deadline - gn_now_ns ();
  if (left <= 0)
    return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int) ms;
}

/* Blocked threads' wake-up pipes, published for closes to write to:
   taken and cleared under this lock, so a close never writes to the pipe
   of a thread that has stopped waiting (and may have exited).  */
static pthread_mutex_t waker_lock = PTHREAD_MUTEX_INITIALIZER;

static void
publish_waker (int *waker, int fd, int old)
{
  pthread_mutex_lock (&waker_lock);
  if (fd >= 0 || *waker == old)
    *waker = fd;
  pthread_mutex_unlock (&waker_lock);
}

void
gn_wake_blocked (int *waker)
{
  pthread_mutex_lock (&waker_lock);
  if (*waker >= 0)
    {
      /* When the pipe is full the thread is being woken already.  */
      char c = 0;
      ssize_t r = write (*waker, &c, 1);
      (void) r;
    }
  pthread_mutex_unlock (&waker_lock);
}

/* ---- blocking with asyncs at once ------------------------------------ */

/* Every blocking wait of this library (poll_waking below, the poller of
   poller.c) brackets its system call with these two.  WAKE is a pipe: the
   thread's own (NULL) or the caller's; the call must also watch its read
   end, which an async aimed at this thread makes readable.  */

int
gn_block_begin (const int *wake)
{
  if (wake == NULL)
    wake = wake_pipe ();
  /* Nonzero: an async is already pending; run it rather than wait.  */
  if (scm_c_prepare_to_wait_on_fd (wake[1]))
    {
      scm_async_tick ();
      return -1;
    }
  return wake[0];
}

void
gn_block_end (const int *wake, int woken)
{
  if (wake == NULL)
    wake = wake_pipe ();
  scm_c_wait_finished ();
  if (woken)
    drain (wake[0]);
  /* Whatever asyncs arrived run now; one may not return.  */
  scm_async_tick ();
}

void
gn_drain_pipe (int fd)
{
  drain (fd);
}

/* Poll FDS (N of them, with one slot more at the end for the wake-up
   pipe) until one is ready or DEADLINE passes; run asyncs as they come.
   WAKER, when not NULL, publishes the pipe for a close to wake us; the
   wake-up then returns 0 at once.  Return how many of FDS are ready, 0
   at the deadline.  */
static int
poll_waking (struct pollfd *fds, nfds_t n, int64_t deadline, int *waker)
{
  int *wake = wake_pipe ();
  for (;;)
    {
      int rd = gn_block_begin (wake);
      if (rd < 0)
        continue;
      fds[n].fd = rd;
      fds[n].events = POLLIN;
      fds[n].revents = 0;
      struct poll_args a = { fds, n + 1, gn_timeout_ms_until (deadline), 0, 0 };
      if (waker)
        publish_waker (waker, wake[1], -1);
      scm_without_guile (do_poll, &a);
      if (waker)
        publish_waker (waker, -1, wake[1]);
      int woken = a.result > 0 && fds[n].revents;
      if (woken)
        a.result--;
      gn_block_end (wake, woken);
      if (a.result < 0 && a.err != EINTR)
        gn_syserror_errno ("poll", a.err);
      if (a.result > 0 || (woken && waker))
        return a.result;
      if (deadline != GN_NO_LIMIT && gn_now_ns () >= deadline)
        return 0;
    }
}

int
gn_poll (struct pollfd *fds, nfds_t n, int64_t deadline)
{
  struct pollfd small[8];
  struct pollfd *all = n < 8 ? small
    : scm_gc_malloc_pointerless (sizeof *all * (n + 1), "pollfds");
  memcpy (all, fds, sizeof *fds * n);
  int r = poll_waking (all, n, deadline, NULL);
  memcpy (fds, all, sizeof *fds * n);
  return r;
}

int
gn_poll_quietly (int fd, short events, int ms)
{
  struct pollfd p[1] = { { fd, events, 0 } };
  struct poll_args a = { p, 1, ms, 0, 0 };
  if (ms == 0)
    do_poll (&a);
  else
    scm_without_guile (do_poll, &a);
  errno = a.err;
  return a.result;
}

int
gn_wait_fd (int fd, short events, int64_t deadline)
{
  struct pollfd p[2] = { { fd, events, 0 } };
  return poll_waking (p, 1, deadline, NULL) > 0;
}

/* ---- operations ----------------------------------------------------- */

void
gn_op_init (gn_op *op, const char *subr, const char *name, SCM object,
            int fd, short events, int64_t timeout)
{
  op->subr = subr;
  op->name = name;
  op->object = object;
  op->fd = fd;
  op->events = events;
  op->deadline = gn_deadline_after_ns (timeout);
  op->wake_at = GN_NO_LIMIT;
  op->refresh = NULL;
  op->port = SCM_BOOL_F;
  op->waker = NULL;
  op->epoll_fd = -1;
  op->timer_fd = -1;
  op->epoll_events = 0;
  op->keeps_time = 0;
  op->notify = SCM_BOOL_F;
  op->ended = 0;
}

void
gn_op_raise_timeout (gn_op *op)
{
  gn_op_end (op);
  gn_raise_timeout (op->subr, op->name, op->object);
}

int64_t
gn_op_wake_deadline (const gn_op *op)
{
  return op->wake_at < op->deadline ? op->wake_at : op->deadline;
}

int
gn_op_wait (gn_op *op)
{
  if (op->refresh)
    op->refresh (op);
  struct pollfd p[2] = { { op->fd, op->events, 0 } };
  int ready = poll_waking (p, 1, gn_op_wake_deadline (op), op->waker) > 0;
  /* Closed meanwhile (another thread woke us): its descriptor may
     already be someone else's.  */
  if (SCM_PORTP (op->port) && !SCM_OPPORTP (op->port))
    gn_wrong_type (op->subr, 1, op->port);
  if (ready)
    return 1;
  if (gn_now_ns () >= op->deadline)
    gn_op_raise_timeout (op);
  return 0;
}

ssize_t
gn_retry_io (gn_op *op, int nowait,
             ssize_t (*attempt) (int fd, void *data), void *data)
{
  ssize_t n = attempt (op->fd, data);
  return n >= 0 ? n : gn_retry_failed (op, nowait, attempt, data);
}

ssize_t
gn_retry_failed (gn_op *op, int nowait,
                 ssize_t (*attempt) (int fd, void *data), void *data)
{
  for (;;)
    {
      if (errno == EINTR)
        scm_async_tick ();
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        gn_syserror (op->subr);
      else if (nowait > 0 || (nowait < 0 && gn_fd_is_nonblocking (op->fd)))
        {
          errno = EAGAIN;
          return -1;
        }
      else
        gn_op_wait (op);
      ssize_t n = attempt (op->fd, data);
      if (n >= 0)
        return n;
    }
}

void *
gn_without_guile (void *(*func) (void *), void *data)
{
  return scm_without_guile (func, data);
}

/* ---- wait ports ----------------------------------------------------- */

static scm_t_port_type *wait_port_type;

gn_op *
gn_op_of_wait_port (SCM obj)
{
  if (SCM_PORTP (obj) && SCM_PORT_TYPE (obj) == wait_port_type)
    return (gn_op *) SCM_STREAM (obj);
  return NULL;
}

SCM
gn_make_wait_port (const gn_op *template)
{
  gn_op *op = scm_gc_malloc (sizeof *op, "operation");
  *op = *template;
  op->epoll_fd = op->timer_fd = -1;
  op->epoll_events = 0;
  op->ended = 0;
  return scm_c_make_port (wait_port_type, SCM_RDNG | SCM_WRTNG | SCM_BUF0,
                          (scm_t_bits) op);
}

void
gn_op_end (gn_op *op)
{
  op->ended = 1;
  if (op->timer_fd >= 0)
    close (op->timer_fd);
  if (op->epoll_fd >= 0)
    close (op->epoll_fd);
  op->timer_fd = op->epoll_fd = -1;
}

static void
arm_timer (int fd, int64_t at)
{
  struct itimerspec its;
  memset (&its, 0, sizeof its);
  if (at <= 0)
    at = 1;            /* a zero time would disarm it */
  its.it_value.tv_sec = at / 1000000000;
  its.it_value.tv_nsec = at % 1000000000;
  timerfd_settime (fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void
gn_op_wake (gn_op *op)
{
  if (op != NULL && !op->ended && op->timer_fd >= 0)
    arm_timer (op->timer_fd, 1);
}

/* Make OP's epoll descriptor, holding its timerfd and its descriptor in
   its direction; 0 when the system refuses (the plain descriptor is then
   handed out, and only schedulers that ask socket-time-left see the
   deadline).  */
static int
ensure_epoll (gn_op *op)
{
  if (op->epoll_fd < 0)
    {
      op->timer_fd = timerfd_create (CLOCK_MONOTONIC,
                                     TFD_CLOEXEC | TFD_NONBLOCK);
      op->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
      struct epoll_event ev = { EPOLLIN, { .fd = op->timer_fd } };
      if (op->timer_fd < 0 || op->epoll_fd < 0
          || epoll_ctl (op->epoll_fd, EPOLL_CTL_ADD, op->timer_fd, &ev) < 0)
        {
          gn_op_end (op);
          op->ended = 0;
          return 0;
        }
    }
  if (op->epoll_events != op->events)
    {
      struct epoll_event ev = { op->events == POLLOUT ? EPOLLOUT : EPOLLIN,
                                { .fd = op->fd } };
      int how = op->epoll_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
      if (epoll_ctl (op->epoll_fd, how, op->fd, &ev) < 0 && how == EPOLL_CTL_ADD)
        {
          gn_op_end (op);
          op->ended = 0;
          return 0;
        }
      op->epoll_events = op->events;
    }
  return 1;
}

static size_t
wait_port_read (SCM port, SCM dst, size_t start, size_t count)
{
  return 0;             /* nothing to read: a wait port only waits */
}

static size_t
wait_port_write (SCM port, SCM src, size_t start, size_t count)
{
  return count;
}

static int
wait_port_fd (SCM port)
{
  gn_op *op = (gn_op *) SCM_STREAM (port);
  return op->epoll_fd >= 0 ? op->epoll_fd : op->fd;
}

static void
wait_port_close (SCM port)
{
  gn_op *op = (gn_op *) SCM_STREAM (port);
  /* Closed while it waits (its socket or record port was closed): the
     scheduler whose waiter holds it is told at once.  */
  if (!op->ended && gn_is_poller (op->notify))
    gn_poller_notify (op->notify);
  gn_op_end (op);
}

static int
wait_port_print (SCM port, SCM dest, scm_print_state *pstate)
{
  gn_op *op = (gn_op *) SCM_STREAM (port);
  scm_puts ("#<wait-port ", dest);
  scm_puts (op->name, dest);
  scm_puts (op->events == POLLOUT ? " write fd " : " read fd ", dest);
  scm_intprint (op->fd, 10, dest);
  if (op->epoll_fd >= 0)
    {
      scm_puts (" epoll ", dest);
      scm_intprint (op->epoll_fd, 10, dest);
    }
  scm_puts (">", dest);
  return 1;
}

static gn_op *
to_live_op (SCM op_port, const char *subr)
{
  gn_op *op = gn_op_of_wait_port (op_port);
  if (op == NULL)
    gn_wrong_type (subr, 1, op_port);
  return op;
}

SCM_DEFINE (gn_operation_prepare_x, "%operation-prepare!", 2, 0, 0,
            (SCM op_port, SCM keeps_time),
            "Internal: the operation of wait port @var{op-port} is about to\n"
            "wait in a waiter.  Raise its timeout if its time has run out;\n"
            "otherwise arrange what the waiter waits for and return\n"
            "@code{#t} to call the read waiter, @code{#f} for the write\n"
            "waiter, with @code{(%operation-port op-port)}.  When\n"
            "@var{keeps-time} is true the waiter resumes the operation in\n"
            "time by itself (it asks @code{socket-time-left}), and is handed\n"
            "the plain descriptor even when the operation has a deadline;\n"
            "when it is a poller (of @code{(net scheduler)}), closing the\n"
            "wait port while the operation waits also wakes that poller.")
#define FUNC_NAME s_gn_operation_prepare_x
{
  gn_op *op = to_live_op (op_port, FUNC_NAME);
  if (op->refresh)
    op->refresh (op);
  if (gn_now_ns () >= op->deadline)
    gn_op_raise_timeout (op);
  op->keeps_time = scm_is_true (keeps_time);
  op->notify = gn_is_poller (keeps_time) ? keeps_time : SCM_BOOL_F;
  int64_t at = gn_op_wake_deadline (op);
  if (at != GN_NO_LIMIT && !op->keeps_time && ensure_epoll (op))
    {
      arm_timer (op->timer_fd, at);
      return SCM_BOOL_T;   /* an epoll descriptor is only ever readable */
    }
  return scm_from_bool (op->events != POLLOUT);
}
#undef FUNC_NAME

SCM_DEFINE (gn_operation_port, "%operation-port", 1, 0, 0, (SCM op_port),
            "Internal: the port to hand a waiter for the operation of wait\n"
            "port @var{op-port}: the object's own port while it waits with\n"
            "no deadline, else @var{op-port} itself (always, for a waiter\n"
            "that keeps time: it answers @code{socket-time-left} for the\n"
            "operation).")
#define FUNC_NAME s_gn_operation_port
{
  gn_op *op = to_live_op (op_port, FUNC_NAME);
  if (op->epoll_fd < 0 && !op->keeps_time
      && scm_is_true (op->port) && SCM_OPPORTP (op->port))
    return op->port;
  return op_port;
}
#undef FUNC_NAME

SCM_DEFINE (gn_wait_port_p, "%wait-port?", 1, 0, 0, (SCM obj),
            "Internal: whether @var{obj} is the wait port of an operation.")
#define FUNC_NAME s_gn_wait_port_p
{
  return scm_from_bool (gn_op_of_wait_port (obj) != NULL);
}
#undef FUNC_NAME

SCM_DEFINE (gn_operation_end_x, "%operation-end!", 1, 0, 0, (SCM op_port),
            "Internal: the operation of wait port @var{op-port} is over;\n"
            "release what it waited with.")
#define FUNC_NAME s_gn_operation_end_x
{
  gn_op_end (to_live_op (op_port, FUNC_NAME));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_operation_time_left, "%operation-time-left", 1, 0, 0,
            (SCM op_port),
            "Internal: seconds until the operation of wait port\n"
            "@var{op-port} must be resumed, or @code{#f}.")
#define FUNC_NAME s_gn_operation_time_left
{
  return gn_seconds_left (gn_op_wake_deadline (to_live_op (op_port,
                                                           FUNC_NAME)));
}
#undef FUNC_NAME

/* ---- select ----------------------------------------------------------- */

static void
fds_to_pollfds (SCM fds, short events, struct pollfd *out, size_t *n,
                const char *subr, int pos)
{
  for (; scm_is_pair (fds); fds = SCM_CDR (fds))
    {
      SCM fd = SCM_CAR (fds);
      if (!scm_is_signed_integer (fd, 0, INT_MAX))
        gn_wrong_type (subr, pos, fd);
      out[*n].fd = scm_to_int (fd);
      out[*n].events = events;
      out[*n].revents = 0;
      (*n)++;
    }
}

static SCM
ready_fds (struct pollfd *p, size_t count, short mask)
{
  SCM result = SCM_EOL;
  for (size_t i = count; i > 0; i--)
    if (p[i - 1].revents & mask)
      result = scm_cons (scm_from_int (p[i - 1].fd), result);
  return result;
}

SCM_DEFINE (gn_wait_for_descriptors, "%wait-for-descriptors", 4, 0, 0,
            (SCM reads, SCM writes, SCM excepts, SCM seconds),
            "Wait until one of the descriptors in the lists @var{reads},\n"
            "@var{writes} and @var{excepts} is ready, or @var{seconds} pass\n"
            "(@code{#f}: no limit), and return three lists of ready\n"
            "descriptors.  Unlike @code{select(2)} it takes any descriptor\n"
            "number, and asyncs run at once while it waits.")
#define FUNC_NAME s_gn_wait_for_descriptors
{
  long nr = scm_ilength (reads), nw = scm_ilength (writes),
    ne = scm_ilength (excepts);
  if (nr < 0)
    gn_wrong_type (FUNC_NAME, 1, reads);
  if (nw < 0)
    gn_wrong_type (FUNC_NAME, 2, writes);
  if (ne < 0)
    gn_wrong_type (FUNC_NAME, 3, excepts);
  int64_t deadline = gn_deadline_from_scm (seconds, FUNC_NAME, 4);
  size_t total = nr + nw + ne, n = 0;
  struct pollfd *p = scm_gc_malloc_pointerless (sizeof *p * (total + 1),
                                                "pollfds");
  fds_to_pollfds (reads, POLLIN, p, &n, FUNC_NAME, 1);
  fds_to_pollfds (writes, POLLOUT, p, &n, FUNC_NAME, 2);
  fds_to_pollfds (excepts, POLLPRI, p, &n, FUNC_NAME, 3);
  /* With no descriptors this sleeps until the deadline, like select.  */
  poll_waking (p, total, deadline, NULL);
  /* Readable includes end of file and errors, as select(2) reports them;
     a descriptor closed meanwhile counts as ready too, so that whoever
     waits on it finds out.  */
  return scm_list_3 (ready_fds (p, nr, POLLIN | POLLHUP | POLLERR | POLLNVAL),
                     ready_fds (p + nr, nw,
                                POLLOUT | POLLHUP | POLLERR | POLLNVAL),
                     ready_fds (p + nr + nw, ne, POLLPRI));
}
#undef FUNC_NAME

/* ---- time left, for schedulers that ask ------------------------------- */

const char *const gn_timeout_names[GN_TIMEOUT_COUNT] = {
  "read", "write", "connect", "accept"
};

gn_timeout_kind
gn_to_timeout_kind (SCM kind, const char *subr, int pos)
{
  if (!scm_is_symbol (kind))
    gn_wrong_type (subr, pos, kind);
  for (int i = 0; i < GN_TIMEOUT_COUNT; i++)
    if (scm_is_eq (kind, scm_from_utf8_symbol (gn_timeout_names[i])))
      return (gn_timeout_kind) i;
  gn_out_of_range (subr, pos, kind);
}

#define MAX_WAITABLE_TYPES 4
static struct
{
  scm_t_port_type *type;
  int64_t (*deadline) (SCM port, gn_timeout_kind kind);
} waitable[MAX_WAITABLE_TYPES];

void
gn_register_waitable_port_type (scm_t_port_type *type,
                                int64_t (*deadline) (SCM, gn_timeout_kind))
{
  for (int i = 0; i < MAX_WAITABLE_TYPES; i++)
    if (waitable[i].type == NULL || waitable[i].type == type)
      {
        waitable[i].type = type;
        waitable[i].deadline = deadline;
        return;
      }
  abort ();   /* more port types than MAX_WAITABLE_TYPES */
}

SCM_DEFINE (gn_socket_time_left, "socket-time-left", 2, 0, 0,
            (SCM port, SCM kind),
            "For a scheduler's read or write waiter: return how many seconds\n"
            "the operation of @var{kind} (@code{read}, @code{write},\n"
            "@code{connect} or @code{accept}) now waiting on @var{port} has\n"
            "left before it must be resumed, or @code{#f} when it has no\n"
            "time limit (as for any port of another kind).  @var{port} is\n"
            "whatever port a waiter is handed: the wait port of an operation,\n"
            "a socket port or a TLS record port.  Resumed after that time, the\n"
            "operation raises its @code{&net-timeout} (or, for DTLS, resends).\n"
            "Waiters need not ask: the descriptor of a timed operation's wait\n"
            "port becomes ready at that time by itself.")
#define FUNC_NAME s_gn_socket_time_left
{
  gn_timeout_kind k = gn_to_timeout_kind (kind, FUNC_NAME, 2);
  if (!SCM_PORTP (port))
    gn_wrong_type (FUNC_NAME, 1, port);
  gn_op *op = gn_op_of_wait_port (port);
  if (op != NULL)
    return gn_seconds_left (op->ended ? GN_NO_LIMIT : gn_op_wake_deadline (op));
  for (int i = 0; i < MAX_WAITABLE_TYPES && waitable[i].type; i++)
    if (SCM_PORT_TYPE (port) == waitable[i].type)
      return gn_seconds_left (waitable[i].deadline (port, k));
  return SCM_BOOL_F;
}
#undef FUNC_NAME

/* ---- suspendable ports ------------------------------------------------ */

SCM gn_would_block = SCM_BOOL_F;

int
gn_suspendable_ports_p (void)
{
  static SCM accept_var = SCM_BOOL_F, suspendable_accept = SCM_BOOL_F;
  if (scm_is_false (accept_var))
    {
      /* Guile says nowhere whether its suspendable ports are installed;
         install-suspendable-ports! rebinds (guile)'s accept to the
         module's own, which it does not export.  */
      suspendable_accept = scm_permanent_object
        (scm_c_private_ref ("ice-9 suspendable-ports", "accept"));
      accept_var = scm_permanent_object
        (scm_c_module_lookup (scm_the_root_module (), "accept"));
    }
  return scm_is_eq (scm_variable_ref (accept_var), suspendable_accept);
}

void
gn_init_wait (void)
{
  wait_port_type = scm_make_port_type ("wait-port", wait_port_read,
                                       wait_port_write);
  scm_set_port_read_wait_fd (wait_port_type, wait_port_fd);
  scm_set_port_write_wait_fd (wait_port_type, wait_port_fd);
  scm_set_port_close (wait_port_type, wait_port_close);
  scm_set_port_needs_close_on_gc (wait_port_type, 1);
  scm_set_port_print (wait_port_type, wait_port_print);
  /* The loading thread's wake-up pipe, made now rather than at its
     first wait, so that it is not taken for a descriptor leaked then.  */
  wake_pipe ();
  gn_would_block = scm_permanent_object
    (scm_make_symbol (scm_from_utf8_string ("would-block")));
  scm_c_define ("%would-block", gn_would_block);
#ifndef SCM_MAGIC_SNARFER
#include "wait.x"
#endif
}
