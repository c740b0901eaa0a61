/* wait.c -- the one place where libguile-net waits for a descriptor.

   Guile's own socket calls block inside the system call, so an async
   (Ctrl-C, `system-async-mark', `cancel-thread') aimed at the thread runs
   only when the call returns.  Guile's interruptible `scm_std_select' is
   limited to descriptors below FD_SETSIZE and the wake-up pipe it uses is
   internal to libguile.  So we poll in short slices outside Guile mode and
   run pending asyncs between slices: an async runs within one slice, for any
   descriptor number, and other threads and the GC are never held up.  */

#include "guile-net.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

/* Longest time between two checks for asyncs.  */
#define SLICE_MS 20

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
  if (ns < 0)
    return GN_NO_DEADLINE;
  int64_t now = gn_now_ns ();
  return ns > GN_NO_DEADLINE - now ? GN_NO_DEADLINE : now + ns;
}

int64_t
gn_timeout_from_scm (SCM seconds, const char *subr, int pos)
{
  if (SCM_UNBNDP (seconds) || scm_is_false (seconds))
    return -1;
  if (!scm_is_real (seconds))
    gn_wrong_type (subr, pos, seconds);
  double s = scm_to_double (seconds);
  if (!(s >= 0))
    gn_out_of_range (subr, pos, seconds);
  return s > 1e9 ? -1 : (int64_t) (s * 1e9);   /* 30 years: no limit */
}

/* SECONDS is #f (no deadline) or a non-negative real.  */
int64_t
gn_deadline_from_scm (SCM seconds, const char *subr, int pos)
{
  return gn_deadline_after_ns (gn_timeout_from_scm (seconds, subr, pos));
}

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
gn_poll (struct pollfd *fds, nfds_t n, int64_t deadline)
{
  for (;;)
    {
      int timeout_ms = SLICE_MS;
      if (deadline != GN_NO_DEADLINE)
        {
          int64_t left = deadline - gn_now_ns ();
          if (left <= 0)
            timeout_ms = 0;
          else if (left < (int64_t) SLICE_MS * 1000000)
            timeout_ms = (int) ((left + 999999) / 1000000);
        }

      struct poll_args a = { fds, n, timeout_ms, 0, 0 };
      scm_without_guile (do_poll, &a);
      if (a.result > 0)
        return a.result;
      if (a.result < 0 && a.err != EINTR)
        gn_syserror_errno ("poll", a.err);

      /* Run whatever asyncs arrived meanwhile; one may not return.  */
      scm_async_tick ();

      if (deadline != GN_NO_DEADLINE && gn_now_ns () >= deadline)
        return 0;
    }
}

int
gn_wait_fd (int fd, short events, int64_t deadline)
{
  struct pollfd pfd = { fd, events, 0 };
  return gn_poll (&pfd, 1, deadline) > 0;
}

static SCM
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
  return SCM_UNSPECIFIED;
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
            "number, and asyncs run while it waits.")
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
  gn_poll (p, total, deadline);
  /* Readable includes end of file and errors, as select(2) reports them.  */
  return scm_list_3 (ready_fds (p, nr, POLLIN | POLLHUP | POLLERR),
                     ready_fds (p + nr, nw, POLLOUT | POLLHUP | POLLERR),
                     ready_fds (p + nr + nw, ne, POLLPRI));
}
#undef FUNC_NAME

void
gn_init_wait (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "wait.x"
#endif
}

int
gn_wait_clock_expired (int64_t *clock, int64_t timeout)
{
  if (timeout < 0)
    return 0;
  int64_t now = gn_now_ns ();
  if (*clock == 0)
    {
      *clock = now + timeout;
      return 0;
    }
  if (now < *clock)
    return 0;
  *clock = 0;
  return 1;
}

int64_t
gn_wait_clock_deadline (int64_t clock, int64_t timeout)
{
  if (timeout < 0)
    return GN_NO_DEADLINE;
  return clock ? clock : gn_deadline_after_ns (timeout);
}

SCM
gn_seconds_left (int64_t deadline)
{
  if (deadline == GN_NO_DEADLINE)
    return SCM_BOOL_F;
  int64_t left = deadline - gn_now_ns ();
  return scm_from_double (left > 0 ? left / 1e9 : 0.0);
}

void *
gn_without_guile (void *(*func) (void *), void *data)
{
  return scm_without_guile (func, data);
}


ssize_t
gn_retry_io (int fd, short events, int nowait, int64_t deadline,
             ssize_t (*attempt) (int fd, void *data), void *data,
             const char *subr, const char *operation, SCM object)
{
  for (;;)
    {
      ssize_t n = attempt (fd, data);
      if (n >= 0)
        return n;
      if (errno == EINTR)
        {
          scm_async_tick ();
          continue;
        }
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        gn_syserror (subr);
      if (nowait || gn_fd_is_nonblocking (fd))
        {
          errno = EAGAIN;
          return -1;
        }
      if (!gn_wait_fd (fd, events, deadline))
        gn_raise_timeout (subr, operation, object);
    }
}
