/* poller.c -- an epoll set for a scheduler of many tasks on one thread.

   (net scheduler) parks each task that waits on a descriptor and needs
   one system call to learn which of hundreds of descriptors are ready:
   select and poll over lists cost a pass over every waiting descriptor
   per round, in the kernel and in Scheme.  A poller is an epoll set in
   which every descriptor is armed one-shot (EPOLLONESHOT) for the
   directions its tasks wait in; an event disarms it until the scheduler
   arms it again for the next wait.  Arming costs one epoll_ctl per wait,
   waiting one epoll_wait per round, whatever the number of descriptors.
   A descriptor that its owner watches for long (a server's connection)
   can instead stay armed, level-triggered, from wait to wait; the
   scheduler disarms it only when an event finds no task waiting.  (Not
   edge-triggered: GnuTLS reads exactly a record at a time and rarely
   reaches EAGAIN, so a task could park on bytes already there with no
   edge to come.)

   %poller-wait! waits as every blocking wait of the library does
   (gn_block_begin and gn_block_end in wait.c): an async aimed at the
   thread (Ctrl-C, system-async-mark) ends it at once and runs.  The
   poller has a wake-up pipe of its own, in its epoll set, which Guile
   writes to for asyncs; the wait layer writes to it too when a wait port
   of a scheduler that uses this poller is closed while its operation
   waits (gn_poller_notify), from any thread, so the scheduler sees the
   close without scanning its tasks every round.

   The procedures are internal to (net wait) (the % names); (net
   scheduler) is their user.  */

#include "guile-net.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* The most events one wait returns; more wait for the next round.  */
#define MAX_EVENTS 256
/* epoll_event.data of the wake-up pipe.  */
#define WAKE_DATA UINT64_MAX

/* What %poller-arm! takes and %poller-wait! reports, as bits.  */
enum { POLLER_READ = 1, POLLER_WRITE = 2, POLLER_ERROR = 4, POLLER_LEVEL = 8 };

typedef struct
{
  int epfd;               /* -1 once closed */
  int wake[2];            /* the wake-up pipe: read end in the set */
  int waiting;            /* a thread is in %poller-wait! now */
  int notified;           /* the pipe was readable since last asked */
  pthread_mutex_t lock;   /* guards wake[1] against close (notify) */
  struct epoll_event events[MAX_EVENTS];
} poller;

static SCM poller_type;

int
gn_is_poller (SCM obj)
{
  return gn_is_a (obj, poller_type);
}

static poller *
to_poller (SCM obj, const char *subr)
{
  poller *p = gn_foreign_data (obj, poller_type, subr, 1);
  if (p->epfd < 0)
    gn_wrong_type_msg (subr, 1, obj, "open poller");
  return p;
}

static void
close_poller (poller *p)
{
  if (p->epfd >= 0)
    {
      close (p->epfd);
      p->epfd = -1;
      pthread_mutex_lock (&p->lock);
      close (p->wake[0]);
      close (p->wake[1]);
      p->wake[0] = p->wake[1] = -1;
      pthread_mutex_unlock (&p->lock);
    }
}

static void
finalize_poller (SCM obj)
{
  poller *p = scm_foreign_object_ref (obj, 0);
  if (p != NULL)
    {
      close_poller (p);
      pthread_mutex_destroy (&p->lock);
      free (p);
      scm_foreign_object_set_x (obj, 0, NULL);
    }
}

void
gn_poller_notify (SCM obj)
{
  poller *p = scm_foreign_object_ref (obj, 0);
  if (p == NULL)
    return;
  pthread_mutex_lock (&p->lock);
  if (p->wake[1] >= 0)
    {
      /* A full pipe means the poller is being woken already.  */
      char c = 1;
      ssize_t r = write (p->wake[1], &c, 1);
      (void) r;
    }
  pthread_mutex_unlock (&p->lock);
}

SCM_DEFINE (gn_make_poller, "%make-poller", 0, 0, 0, (),
            "Internal: a new poller, an epoll set with a wake-up pipe of\n"
            "its own, for @code{(net scheduler)}.  It holds two descriptors\n"
            "besides the epoll one until @code{%poller-close!} or the\n"
            "collector closes it.")
#define FUNC_NAME s_gn_make_poller
{
  poller *p = malloc (sizeof *p);
  if (p == NULL)
    gn_syserror_errno (FUNC_NAME, ENOMEM);
  memset (p, 0, sizeof *p);
  p->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (p->epfd < 0)
    {
      int err = errno;
      free (p);
      gn_syserror_errno (FUNC_NAME, err);
    }
  if (pipe2 (p->wake, O_CLOEXEC | O_NONBLOCK) < 0)
    {
      int err = errno;
      close (p->epfd);
      free (p);
      gn_syserror_errno (FUNC_NAME, err);
    }
  struct epoll_event ev = { EPOLLIN, { .u64 = WAKE_DATA } };
  if (epoll_ctl (p->epfd, EPOLL_CTL_ADD, p->wake[0], &ev) < 0)
    {
      int err = errno;
      close (p->epfd);
      close (p->wake[0]);
      close (p->wake[1]);
      free (p);
      gn_syserror_errno (FUNC_NAME, err);
    }
  pthread_mutex_init (&p->lock, NULL);
  return scm_make_foreign_object_1 (poller_type, p);
}
#undef FUNC_NAME

SCM_DEFINE (gn_poller_p, "%poller?", 1, 0, 0, (SCM obj),
            "Internal: whether @var{obj} is a poller.")
#define FUNC_NAME s_gn_poller_p
{
  return scm_from_bool (gn_is_poller (obj));
}
#undef FUNC_NAME

static uint32_t
epoll_events_of (int bits)
{
  uint32_t ev = (bits & POLLER_LEVEL) ? 0 : EPOLLONESHOT;
  if (bits & POLLER_READ)
    ev |= EPOLLIN | EPOLLRDHUP;
  if (bits & POLLER_WRITE)
    ev |= EPOLLOUT;
  return ev;
}

SCM_DEFINE (gn_poller_arm_x, "%poller-arm!", 3, 0, 0,
            (SCM obj, SCM fd, SCM bits),
            "Internal: arm descriptor @var{fd} in poller @var{obj}, one\n"
            "shot, for @var{bits}: 1 to read, 2 to write, 3 both (0 disarms\n"
            "it); the next event disarms it again.  With 8 added, arm it\n"
            "level-triggered instead: it stays armed until armed again or\n"
            "forgotten.  Return @code{#t}, or\n"
            "@code{#f} when @var{fd} cannot be polled (a regular file, which\n"
            "is always ready).")
#define FUNC_NAME s_gn_poller_arm_x
{
  poller *p = to_poller (obj, FUNC_NAME);
  int d = gn_to_int (fd, FUNC_NAME, 2);
  int b = gn_to_int (bits, FUNC_NAME, 3);
  if (d < 0)
    gn_out_of_range (FUNC_NAME, 2, fd);
  struct epoll_event ev = { epoll_events_of (b), { .u64 = (uint64_t) d } };
  /* Known descriptors are modified, new ones added: one call either way
     but for a descriptor's first wait.  A descriptor closed and reused
     has left the set with its old file, so it is added afresh.  */
  if (epoll_ctl (p->epfd, EPOLL_CTL_MOD, d, &ev) == 0)
    return SCM_BOOL_T;
  if (errno == ENOENT && epoll_ctl (p->epfd, EPOLL_CTL_ADD, d, &ev) == 0)
    return SCM_BOOL_T;
  if (errno == EPERM)
    return SCM_BOOL_F;
  gn_syserror (FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_poller_forget_x, "%poller-forget!", 2, 0, 0,
            (SCM obj, SCM fd),
            "Internal: remove descriptor @var{fd} from poller @var{obj}, if\n"
            "it is there.  (A closed descriptor leaves by itself.)")
#define FUNC_NAME s_gn_poller_forget_x
{
  poller *p = to_poller (obj, FUNC_NAME);
  int d = gn_to_int (fd, FUNC_NAME, 2);
  if (epoll_ctl (p->epfd, EPOLL_CTL_DEL, d, NULL) < 0
      && errno != ENOENT && errno != EBADF && errno != EPERM)
    gn_syserror (FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

struct epoll_args
{
  int epfd;
  struct epoll_event *events;
  int timeout_ms;
  int result;
  int err;
};

static void *
do_epoll_wait (void *data)
{
  struct epoll_args *a = data;
  a->result = epoll_wait (a->epfd, a->events, MAX_EVENTS, a->timeout_ms);
  a->err = errno;
  return NULL;
}

static void
leave_wait (void *data)
{
  ((poller *) data)->waiting = 0;
}

SCM_DEFINE (gn_poller_wait_x, "%poller-wait!", 2, 0, 0,
            (SCM obj, SCM seconds),
            "Internal: wait until a descriptor armed in poller @var{obj} is\n"
            "ready, its pipe is written to, or @var{seconds} pass (@code{#f}:\n"
            "no limit; 0: only look), and return the list of ready\n"
            "descriptors, each as @code{(fd . bits)}: bit 1 readable, 2\n"
            "writable, 4 error or hang-up (with 1 and 2 set too, so that\n"
            "whoever waits finds out).  Asyncs run at once while it waits.\n"
            "The poller may wait in one thread at a time.")
#define FUNC_NAME s_gn_poller_wait_x
{
  poller *p = to_poller (obj, FUNC_NAME);
  int64_t deadline = gn_deadline_from_scm (seconds, FUNC_NAME, 2);
  if (p->waiting)
    gn_raise_state_error (FUNC_NAME,
                          "Another thread is waiting in this poller.", obj);
  scm_dynwind_begin (0);
  p->waiting = 1;
  scm_dynwind_unwind_handler (leave_wait, p, SCM_F_WIND_EXPLICITLY);
  struct epoll_args a = { p->epfd, p->events, 0, 0, 0 };
  for (;;)
    {
      a.timeout_ms = gn_timeout_ms_until (deadline);
      if (a.timeout_ms == 0)
        do_epoll_wait (&a);
      else
        {
          if (gn_block_begin (p->wake) < 0)
            continue;
          scm_without_guile (do_epoll_wait, &a);
        }
      int woken = 0;
      for (int i = 0; i < a.result; i++)
        if (p->events[i].data.u64 == WAKE_DATA)
          woken = 1;
      if (woken)
        p->notified = 1;
      if (a.timeout_ms == 0)
        {
          if (woken)
            gn_drain_pipe (p->wake[0]);
        }
      else
        gn_block_end (p->wake, woken);
      if (a.result < 0 && a.err != EINTR)
        gn_syserror_errno ("epoll_wait", a.err);
      if (a.result > 0
          || (deadline != GN_NO_LIMIT && gn_now_ns () >= deadline))
        break;
    }
  SCM result = SCM_EOL;
  for (int i = a.result - 1; i >= 0; i--)
    {
      struct epoll_event *e = &p->events[i];
      if (e->data.u64 == WAKE_DATA)
        continue;
      int bits = 0;
      if (e->events & (EPOLLIN | EPOLLRDHUP))
        bits |= POLLER_READ;
      if (e->events & EPOLLOUT)
        bits |= POLLER_WRITE;
      if (e->events & (EPOLLERR | EPOLLHUP))
        bits |= POLLER_READ | POLLER_WRITE | POLLER_ERROR;
      result = scm_cons (scm_cons (scm_from_int ((int) e->data.u64),
                                   scm_from_int (bits)),
                         result);
    }
  scm_dynwind_end ();
  return result;
}
#undef FUNC_NAME

SCM_DEFINE (gn_poller_notified_x, "%poller-notified!", 1, 0, 0, (SCM obj),
            "Internal: whether the wake-up pipe of poller @var{obj} was\n"
            "written to (a wait port of its scheduler closed, or an async)\n"
            "since the last call; clear that.")
#define FUNC_NAME s_gn_poller_notified_x
{
  poller *p = to_poller (obj, FUNC_NAME);
  int n = p->notified;
  p->notified = 0;
  return scm_from_bool (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_poller_notify_x, "%poller-notify!", 1, 0, 0, (SCM obj),
            "Internal: wake the thread waiting in poller @var{obj}, or make\n"
            "its next wait return at once (from any thread).")
#define FUNC_NAME s_gn_poller_notify_x
{
  gn_foreign_data (obj, poller_type, FUNC_NAME, 1);
  gn_poller_notify (obj);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_poller_close_x, "%poller-close!", 1, 0, 0, (SCM obj),
            "Internal: close poller @var{obj} and its descriptors (again:\n"
            "nothing).")
#define FUNC_NAME s_gn_poller_close_x
{
  poller *p = gn_foreign_data (obj, poller_type, FUNC_NAME, 1);
  if (p == NULL)
    return SCM_UNSPECIFIED;
  if (p->waiting)
    gn_raise_state_error (FUNC_NAME, "A thread is waiting in this poller.",
                          obj);
  close_poller (p);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

void
gn_init_poller (void)
{
  poller_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("poller"),
                                  scm_list_1 (scm_from_utf8_symbol ("data")),
                                  finalize_poller);
#ifndef SCM_MAGIC_SNARFER
#include "poller.x"
#endif
}
