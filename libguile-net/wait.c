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

/* SECONDS is #f (no deadline) or a non-negative real.  */
int64_t
gn_deadline_from_scm (SCM seconds, const char *subr, int pos)
{
  if (SCM_UNBNDP (seconds) || scm_is_false (seconds))
    return GN_NO_DEADLINE;
  if (!scm_is_real (seconds))
    gn_wrong_type (subr, pos, seconds);
  double s = scm_to_double (seconds);
  if (!(s >= 0))
    gn_out_of_range (subr, pos, seconds);
  if (s > 1e9)
    return GN_NO_DEADLINE;
  return gn_deadline_after_ns ((int64_t) (s * 1e9));
}

struct poll_args
{
  struct pollfd pfd;
  int timeout_ms;
  int result;
  int err;
};

static void *
do_poll (void *data)
{
  struct poll_args *a = data;
  a->result = poll (&a->pfd, 1, a->timeout_ms);
  a->err = errno;
  return NULL;
}

int
gn_wait_fd (int fd, short events, int64_t deadline)
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

      struct poll_args a = { { fd, events, 0 }, timeout_ms, 0, 0 };
      scm_without_guile (do_poll, &a);
      if (a.result > 0)
        return 1;
      if (a.result < 0 && a.err != EINTR)
        return 1;   /* e.g. EBADF: let the caller's system call report it */

      /* Run whatever asyncs arrived meanwhile; one may not return.  */
      scm_async_tick ();

      if (deadline != GN_NO_DEADLINE && gn_now_ns () >= deadline)
        return 0;
    }
}

void *
gn_without_guile (void *(*func) (void *), void *data)
{
  return scm_without_guile (func, data);
}

void
gn_init_wait (void)
{
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
