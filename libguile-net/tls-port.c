/* tls-port.c -- the record port of a TLS session.

   A custom port type, buffered both ways (RECORD_BUFFER_SIZE below), so
   `display' and `write' of small pieces fill one record instead of sending
   one record each, and a read takes a buffer's worth of what GnuTLS holds
   instead of one byte.  `force-output' sends what is buffered, and so
   does reading (unless turned off), as request/reply code written for
   unbuffered record ports expects.

   Reads and writes go through gn_tls_recv and gn_tls_send (tls-session.c):
   a blocking transport is waited for in wait.c; a non-blocking one makes
   them return (size_t) -1, "would block", so Guile calls the current read
   or write waiter on the transport descriptor (suspendable ports, fibers).
   Decrypted data GnuTLS already holds is always returned first, never
   waited for.  */

#include "tls.h"

#include <poll.h>

/* The port's read and write buffers.  Under 2 KiB, so that the collector
   packs them with other small objects: 16 KiB buffers took five 4 KiB heap
   blocks each and doubled the memory of an idle connection; 4000 bytes
   took a block each (1.55 times C's memory); 2000 bytes bring it to 1.34
   (bench/RESULTS.md), while bulk, line and round-trip throughput stay
   level.  Writes larger than the buffer go to GnuTLS directly.  */
#define RECORD_BUFFER_SIZE 2000
/* How long closing a port may wait to send close_notify.  */
#define CLOSE_TIMEOUT_NS ((int64_t) 2 * 1000000000)

static scm_t_port_type *record_port_type;

typedef struct
{
  SCM session;
  gn_tls_session *t;
  SCM close;            /* procedure called on close, or #f */
  int auto_flush;       /* flush pending output before reading */
} record_port;

static record_port *
port_record (SCM port)
{
  return (record_port *) SCM_STREAM (port);
}

/* N bytes moved (< 0: would block, so Guile calls the waiter): keep the
   session's wait clock, so timeouts hold under suspendable ports too.  */
static size_t
record_progress (SCM port, record_port *r, ssize_t n, const char *subr,
                 const char *operation)
{
  if (n >= 0)
    {
      gn_tls_wait_end (r->t);
      return (size_t) n;
    }
  gn_tls_wait_begin (r->session, r->t, subr, operation);
  return (size_t) -1;
}

static size_t
record_read (SCM port, SCM dst, size_t start, size_t count)
{
  record_port *r = port_record (port);
  /* Request/reply code written for unbuffered record ports (guile-gnutls)
     writes a request and reads the reply without force-output: send what
     is buffered before waiting for an answer to it.  */
  if (r->auto_flush)
    scm_force_output (port);
  ssize_t n = gn_tls_recv (r->session, r->t,
                           (char *) SCM_BYTEVECTOR_CONTENTS (dst) + start,
                           count, 0, "tls-record-port-read");
  return record_progress (port, r, n, "tls-record-port-read", "read");
}

static size_t
record_write (SCM port, SCM src, size_t start, size_t count)
{
  record_port *r = port_record (port);
  ssize_t n = gn_tls_send (r->session, r->t,
                           (const char *) SCM_BYTEVECTOR_CONTENTS (src) + start,
                           count, 0, "tls-record-port-write");
  return record_progress (port, r, n, "tls-record-port-write", "write");
}

static int
record_wait_fd (SCM port)
{
  return port_record (port)->t->fd;
}

static int
record_input_waiting (SCM port)
{
  record_port *r = port_record (port);
  if (r->t->s != NULL && gnutls_record_check_pending (r->t->s) > 0)
    return 1;
  if (r->t->fd < 0)
    return 1;
  struct pollfd pfd = { r->t->fd, POLLIN, 0 };
  return poll (&pfd, 1, 0) > 0;
}

/* Guile has flushed the write buffer.  Say goodbye (bounded, errors
   ignored: the peer may already be gone), then close what we own.  */
static void
record_close (SCM port)
{
  record_port *r = port_record (port);
  gn_tls_session *t = r->t;
  if (t->s != NULL && t->handshake_done && !t->failed
      && gn_tls_transport_open (t))
    gn_tls_bye (r->session, t, GNUTLS_SHUT_WR,
                gn_deadline_after_ns (CLOSE_TIMEOUT_NS), 1,
                "close-port");
  if (scm_is_true (r->close))
    scm_call_1 (r->close, port);
  else if (scm_is_true (t->transport) && SCM_PORTP (t->transport))
    scm_close_port (t->transport);
}

static int
record_print (SCM port, SCM dest, scm_print_state *pstate)
{
  record_port *r = port_record (port);
  scm_puts ("#<", dest);
  if (!SCM_OPPORTP (port))
    scm_puts ("closed: ", dest);
  scm_puts ("tls-record-port ", dest);
  scm_puts (r->t->is_server ? "server" : "client", dest);
  if (r->t->fd >= 0)
    {
      scm_puts (" fd ", dest);
      scm_intprint (r->t->fd, 10, dest);
    }
  scm_puts (">", dest);
  return 1;
}

SCM
gn_tls_make_record_port (SCM session, SCM close)
{
  gn_tls_session *t = gn_to_tls_session (session, "session-record-port", 1);
  record_port *r = scm_gc_malloc (sizeof *r, "tls-record-port");
  r->session = session;
  r->t = t;
  r->close = close;
  r->auto_flush = 1;
  /* A byte stream: no BOM check (see gn_port_no_bom).  */
  SCM port = gn_port_no_bom (scm_c_make_port (record_port_type,
                                              SCM_RDNG | SCM_WRTNG,
                                              (scm_t_bits) r));
  scm_setvbuf (port, scm_from_utf8_symbol ("block"),
               scm_from_int (RECORD_BUFFER_SIZE));
  return port;
}

SCM_DEFINE (gn_tls_record_port_p, "tls-record-port?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is the record port of a TLS\n"
            "session, open or closed.")
#define FUNC_NAME s_gn_tls_record_port_p
{
  return scm_from_bool (SCM_PORTP (obj)
                        && SCM_PORT_TYPE (obj) == record_port_type);
}
#undef FUNC_NAME

SCM_DEFINE (gn_tls_record_port_session, "record-port-session", 1, 0, 0,
            (SCM port),
            "Return the TLS session whose record port is @var{port}.")
#define FUNC_NAME s_gn_tls_record_port_session
{
  if (!(SCM_PORTP (port) && SCM_PORT_TYPE (port) == record_port_type))
    gn_wrong_type (FUNC_NAME, 1, port);
  return port_record (port)->session;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_tls_record_port_auto_flush, "set-tls-record-port-auto-flush!",
            2, 0, 0, (SCM port, SCM flush),
            "By default, reading from record port @var{port} first sends\n"
            "the output it buffered, so a request written without\n"
            "@code{force-output} is sent before its reply is awaited.\n"
            "Turn that off with @var{flush} @code{#f} when one thread reads\n"
            "@var{port} while another writes it (Guile ports are not\n"
            "otherwise shared safely between threads).")
#define FUNC_NAME s_gn_set_tls_record_port_auto_flush
{
  if (!(SCM_PORTP (port) && SCM_PORT_TYPE (port) == record_port_type))
    gn_wrong_type (FUNC_NAME, 1, port);
  if (!scm_is_bool (flush))
    gn_wrong_type (FUNC_NAME, 2, flush);
  port_record (port)->auto_flush = scm_is_true (flush);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* For socket-time-left: the deadline of what waits on a record port.  */
static int64_t
record_port_deadline (SCM port, int *handled)
{
  *handled = SCM_PORTP (port) && SCM_PORT_TYPE (port) == record_port_type;
  if (!*handled)
    return GN_NO_DEADLINE;
  gn_tls_session *t = port_record (port)->t;
  return gn_wait_clock_deadline (t->wait_deadline, t->timeout_ns);
}

void
gn_init_tls_port (void)
{
  gn_port_deadline_hook = record_port_deadline;
  record_port_type = scm_make_port_type ("tls-record-port", record_read,
                                         record_write);
  scm_set_port_read_wait_fd (record_port_type, record_wait_fd);
  scm_set_port_write_wait_fd (record_port_type, record_wait_fd);
  scm_set_port_input_waiting (record_port_type, record_input_waiting);
  scm_set_port_close (record_port_type, record_close);
  scm_set_port_print (record_port_type, record_print);
#ifndef SCM_MAGIC_SNARFER
#include "tls-port.x"
#endif
}
