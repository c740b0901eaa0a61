/* tls-log.c -- GnuTLS's global log, delivered to a Scheme procedure.

   GnuTLS logs from inside its own calls: in the middle of a handshake,
   from any thread that uses it, including threads that are not in Guile
   mode or are inside scm_without_guile, and with its own state half
   updated.  None of these may call Scheme.  So the function GnuTLS calls
   only copies the message into a queue (under a mutex, never touching
   Guile), and the messages are delivered later, in Guile mode and
   outside GnuTLS: by the I/O driver between two GnuTLS calls
   (gn_tls_drive), before a TLS error is raised, and by set-log-level!
   and set-log-procedure!.  The procedure is called under a continuation
   barrier and a catch-all: what it raises is reported once on the
   current error port and goes no further, so it can neither unwind
   through GnuTLS nor break the operation that logged.  (An escape to an
   outer prompt is not stopped by either; it leaves from between two
   GnuTLS calls, as an async such as SIGINT's may, which the driver
   allows.)  */

#include "tls.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many messages wait; later ones are counted and dropped.  */
#define QUEUE_MAX 10000

struct message
{
  struct message *next;
  int level;
  char text[];
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static struct message *queue_head, *queue_tail;
static size_t queue_length;
static unsigned long dropped;
static int pending;             /* atomic: the queue may hold messages */
static int enabled;             /* atomic: a procedure is set */

static SCM log_procedure = SCM_BOOL_F;   /* under queue_lock */
static int reported;            /* an exception of it was reported */

/* Called by GnuTLS, anywhere: no Guile here.  */
static void
log_function (int level, const char *text)
{
  if (!__atomic_load_n (&enabled, __ATOMIC_ACQUIRE) || text == NULL)
    return;
  size_t len = strlen (text);
  struct message *m = malloc (sizeof *m + len + 1);
  pthread_mutex_lock (&queue_lock);
  if (m == NULL || queue_length >= QUEUE_MAX)
    {
      dropped++;
      free (m);
    }
  else
    {
      m->next = NULL;
      m->level = level;
      memcpy (m->text, text, len + 1);
      if (queue_tail)
        queue_tail->next = m;
      else
        queue_head = m;
      queue_tail = m;
      queue_length++;
    }
  __atomic_store_n (&pending, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock (&queue_lock);
}

struct call
{
  SCM proc;
  int level;
  SCM text;
};

static SCM
call_body (void *data)
{
  struct call *c = data;
  return scm_call_2 (c->proc, scm_from_int (c->level), c->text);
}

static SCM
call_handler (void *data, SCM key, SCM args)
{
  (void) data;
  if (!reported)
    {
      reported = 1;
      SCM port = scm_current_error_port ();
      scm_puts ("guile-net: the GnuTLS log procedure raised an exception "
                "(ignored, and not reported again): ", port);
      scm_write (scm_cons (key, args), port);
      scm_newline (port);
    }
  return SCM_UNSPECIFIED;
}

static void *
call_guarded (void *data)
{
  scm_internal_catch (SCM_BOOL_T, call_body, data, call_handler, NULL);
  return NULL;
}

/* Not while this thread delivers already (the log procedure may itself
   use TLS).  */
static __thread int delivering;

void
gn_tls_log_deliver (void)
{
  if (!__atomic_load_n (&pending, __ATOMIC_ACQUIRE) || delivering)
    return;
  pthread_mutex_lock (&queue_lock);
  struct message *m = queue_head;
  unsigned long lost = dropped;
  SCM proc = log_procedure;
  queue_head = queue_tail = NULL;
  queue_length = 0;
  dropped = 0;
  __atomic_store_n (&pending, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock (&queue_lock);
  delivering = 1;
  if (lost > 0 && scm_is_true (proc))
    {
      char note[96];
      snprintf (note, sizeof note,
                "guile-net: %lu GnuTLS log messages were dropped\n", lost);
      struct call c = { proc, 0, scm_from_utf8_string (note) };
      scm_c_with_continuation_barrier (call_guarded, &c);
    }
  while (m != NULL)
    {
      struct message *next = m->next;
      if (scm_is_true (proc))
        {
          /* GnuTLS's messages are ASCII; Latin-1 never fails.  */
          struct call c = { proc, m->level, scm_from_latin1_string (m->text) };
          scm_c_with_continuation_barrier (call_guarded, &c);
        }
      free (m);
      m = next;
    }
  delivering = 0;
}

SCM_DEFINE (gn_set_log_procedure, "set-log-procedure!", 1, 0, 0, (SCM proc),
            "Use @var{proc}, a procedure of two arguments, as GnuTLS's global\n"
            "log procedure: it is called with the level (an integer) and the\n"
            "message (a string, usually ending in a newline) of what GnuTLS\n"
            "logs up to the level @code{set-log-level!} set.  Messages are\n"
            "delivered in the thread of a TLS call, between GnuTLS's calls\n"
            "(never from inside GnuTLS), in order; an exception @var{proc}\n"
            "raises is reported once and otherwise ignored.  @code{#f} stops\n"
            "logging.")
#define FUNC_NAME s_gn_set_log_procedure
{
  if (scm_is_true (proc) && scm_is_false (scm_procedure_p (proc)))
    gn_wrong_type (FUNC_NAME, 1, proc);
  gn_tls_log_deliver ();        /* what came before goes to the old one */
  pthread_mutex_lock (&queue_lock);
  SCM old = log_procedure;
  log_procedure = proc;
  pthread_mutex_unlock (&queue_lock);
  if (scm_is_true (proc))
    scm_gc_protect_object (proc);
  if (scm_is_true (old))
    scm_gc_unprotect_object (old);
  reported = 0;
  __atomic_store_n (&enabled, scm_is_true (proc), __ATOMIC_RELEASE);
  gnutls_global_set_log_function (log_function);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_log_level, "set-log-level!", 1, 0, 0, (SCM level),
            "Make GnuTLS log what it has up to @var{level}, a non-negative\n"
            "integer: 0 (the default) logs nothing, 1 to 9 more and more\n"
            "(level 9 includes the bytes of every record; do not use such\n"
            "levels on sessions whose data are secret).  Messages go to the\n"
            "procedure given to @code{set-log-procedure!}.")
#define FUNC_NAME s_gn_set_log_level
{
  if (!scm_is_exact_integer (level))
    gn_wrong_type (FUNC_NAME, 1, level);
  if (!scm_is_signed_integer (level, 0, INT_MAX))
    gn_out_of_range (FUNC_NAME, 1, level);
  gn_tls_log_deliver ();
  gnutls_global_set_log_level (scm_to_int (level));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

void
gn_init_tls_log (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-log.x"
#endif
}
