/* tls-port.c -- the record port of a TLS session.

   A custom port type, buffered both ways (RECORD_BUFFER_SIZE below), so
   `display' and `write' of small pieces fill one record instead of sending
   one record each, and a read takes a buffer's worth of what GnuTLS holds
   instead of one byte.  `force-output' sends what is buffered, and so
   does reading (unless turned off), as request/reply code written for
   unbuffered record ports expects.

   Reads and writes go through the I/O driver (tls-io.c).  Guile's C port
   code (no suspendable ports) reads and writes through record_read and
   record_write, which wait in wait.c.  Under suspendable ports Guile calls
   the Scheme procedures (net tls) installs (scm_set_port_scm_read), which
   on a non-blocking transport wait in the current read or write waiter
   through (net wait)'s loop: fibers and the like.  Decrypted data GnuTLS
   already holds is always returned first, never waited for.

   A port may hold a thunk to run before its reads and writes (before_io
   below): the deferred handshake of an accepted connection, which runs in
   the thread or task that first uses the port.  */

#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

/* The port's read and write buffers.  Under 2 KiB, so that the collector
   packs them with other small objects: 16 KiB buffers took five 4 KiB heap
   blocks each and doubled the memory of an idle connection; 4000 bytes
   took a block each (1.55 times C's memory); 2000 bytes bring it to 1.34
   (bench/RESULTS.md), while bulk, line and round-trip throughput stay
   level.  Writes larger than the buffer go to GnuTLS directly.  */
#define RECORD_BUFFER_SIZE 2000
/* The write buffer of a port that streams: a port whose full buffer
   Guile's C port code flushes (display, put-string, write of anything
   larger than what is buffered) would send a record of RECORD_BUFFER_SIZE
   bytes each time, paying a record's overhead and a system call per 2,000
   bytes.  Its buffer grows to a whole record instead, and shrinks back
   when a read finds the peer silent, so that idle connections stay small.
   The bytevector is swapped inside the port buffer (Guile's port buffer
   is a vector whose first slot is its bytevector, as (ice-9 ports)
   knows): Guile's C code looks the bytevector up again after every flush.
   Only record_write grows it: Scheme's suspendable put-bytevector keeps
   the old one across a flush.  */
#define STREAM_BUFFER_SIZE 16384
/* How long closing a port may wait to send close_notify.  */
#define CLOSE_TIMEOUT_NS ((int64_t) 2 * 1000000000)

static scm_t_port_type *record_port_type;

typedef struct
{
  SCM session;
  gn_tls_session *t;
  SCM close;            /* procedure called on close, or #f */
  /* A thunk run before each read or write until it clears itself, or #f:
     the deferred handshake of an accepted connection, run in the thread
     or task that uses the port rather than in the accept loop (see
     `defer-handshake!' in (net tls)).  Under suspendable ports (net tls)
     runs it in Scheme before calling in, so that it may suspend.  */
  SCM before_io;
  int auto_flush;       /* flush pending output before reading */
  SCM own_buffer;       /* the write buffer's bytevector we last made */
  int full_flushes;     /* flushes of a full buffer since the last pause */
} record_port;

static record_port *
port_record (SCM port)
{
  return (record_port *) SCM_STREAM (port);
}

/* Move COUNT bytes through R's session in MODE: the count, or
   GN_TLS_WOULD_BLOCK.  */
static ssize_t
record_io (record_port *r, int reading, char *buf, size_t count,
           gn_tls_mode mode)
{
  const char *subr = reading ? "tls-record-port-read" : "tls-record-port-write";
  if (scm_is_true (r->before_io))
    scm_call_0 (r->before_io);
  if (reading)
    {
      gn_tls_check_readable (r->session, r->t, subr);
      r->t->port_reads = !(r->t->init_flags & GNUTLS_DATAGRAM);
    }
  else
    gn_tls_check_handshaken (r->session, r->t, subr);
  struct gn_tls_recv_args in = { buf, count, NULL };
  struct gn_tls_send_args out = { buf, count };
  gn_tls_io io;
  gn_tls_io_init (&io, r->t, subr, reading ? "read" : "write",
                  reading ? gn_tls_recv_step : gn_tls_send_step,
                  reading ? (void *) &in : (void *) &out, mode);
  return gn_tls_drive (r->session, r->t, &io);
}

/* PORT's write buffer (a vector), from (ice-9 ports internal): Guile's
   C accessor is internal to libguile.  */
static SCM
write_buffer (SCM port)
{
  static SCM get = SCM_BOOL_F;
  if (scm_is_false (get))
    get = scm_permanent_object
      (scm_c_public_ref ("ice-9 ports internal", "port-write-buffer"));
  return scm_call_1 (get, port);
}

/* Put a new bytevector of SIZE bytes in write buffer BUF, empty.  */
static void
set_write_buffer_size (record_port *r, SCM buf, size_t size)
{
  r->own_buffer = scm_c_make_bytevector (size);
  SCM_SIMPLE_VECTOR_SET (buf, 0, r->own_buffer);
}

/* The peer was quiet (a read waited): give back a streaming port's large
   write buffer, if it holds nothing and is still ours (not one a program
   set with setvbuf).  Not on a port whose reads leave the output alone
   (auto-flush off): another thread may be writing it.  */
static void
rest_write_buffer (SCM port, record_port *r)
{
  if (!r->auto_flush)
    return;
  r->full_flushes = 0;
  if (SCM_BYTEVECTOR_LENGTH (r->own_buffer) <= RECORD_BUFFER_SIZE)
    return;
  SCM buf = write_buffer (port);
  if (scm_is_eq (SCM_SIMPLE_VECTOR_REF (buf, 0), r->own_buffer)
      && scm_is_eq (SCM_SIMPLE_VECTOR_REF (buf, 1),
                    SCM_SIMPLE_VECTOR_REF (buf, 2)))
    set_write_buffer_size (r, buf, RECORD_BUFFER_SIZE);
}

/* Guile flushed the port's buffer, ours (not one a program set with
   setvbuf), full or nearly (the next small piece did not fit): twice with
   no read between them, the port streams.  A flush of less, such as
   force-output after a message, is not streaming, nor are messages each
   answered (request/reply).  */
#define NEARLY_FULL 256

static void
grow_write_buffer (SCM port, record_port *r, SCM src, size_t start,
                   size_t count)
{
  if (start != 0 || !scm_is_eq (src, r->own_buffer))
    return;
  size_t size = SCM_BYTEVECTOR_LENGTH (src);
  if (size >= STREAM_BUFFER_SIZE)
    return;
  if (count + NEARLY_FULL < size)
    {
      r->full_flushes = 0;
      return;
    }
  if (++r->full_flushes < 2)
    return;
  SCM buf = write_buffer (port);
  if (scm_is_eq (SCM_SIMPLE_VECTOR_REF (buf, 0), src))
    set_write_buffer_size (r, buf, STREAM_BUFFER_SIZE);
}

static size_t
record_read (SCM port, SCM dst, size_t start, size_t count)
{
  record_port *r = port_record (port);
  /* Request/reply code written for unbuffered record ports (guile-gnutls)
     writes a request and reads the reply without force-output: send what
     is buffered before waiting for an answer to it.  */
  if (r->auto_flush)
    {
      scm_force_output (port);
      r->full_flushes = 0;
    }
  size_t n = record_io (r, 1, (char *) SCM_BYTEVECTOR_CONTENTS (dst) + start,
                        count, GN_TLS_WAIT);
  if (r->t->reads_wait)          /* it waited: the peer was quiet */
    rest_write_buffer (port, r);
  return n;
}

static size_t
record_write (SCM port, SCM src, size_t start, size_t count)
{
  record_port *r = port_record (port);
  size_t n = record_io (r, 0, (char *) SCM_BYTEVECTOR_CONTENTS (src) + start,
                        count, GN_TLS_WAIT);
  grow_write_buffer (port, r, src, start, count);
  return n;
}

static record_port *
to_record_port (SCM port, const char *subr)
{
  if (!(SCM_PORTP (port) && SCM_PORT_TYPE (port) == record_port_type))
    gn_wrong_type (subr, 1, port);
  return port_record (port);
}

static SCM
scm_record_io (SCM port, SCM bv, SCM start, SCM count, int reading,
               const char *subr)
{
  record_port *r = to_record_port (port, subr);
  if (reading && r->auto_flush)
    r->full_flushes = 0;
  ssize_t n = record_io (r, reading,
                         (char *) SCM_BYTEVECTOR_CONTENTS (bv)
                         + scm_to_size_t (start), scm_to_size_t (count),
                         GN_TLS_AUTO_PORT);
  if (n == GN_TLS_WOULD_BLOCK)
    {
      if (reading)
        rest_write_buffer (port, r);
      return gn_would_block;
    }
  return scm_from_ssize_t (n);
}

SCM_DEFINE (gn_record_port_read_x, "%record-port-read!", 4, 0, 0,
            (SCM port, SCM bv, SCM start, SCM count),
            "Internal: the read of record port @var{port} under suspendable\n"
            "ports: the count read into @var{bv}, or @code{%would-block}.\n"
            "(The auto-flush is done by the caller, in Scheme.)")
#define FUNC_NAME s_gn_record_port_read_x
{
  return scm_record_io (port, bv, start, count, 1, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_port_write_x, "%record-port-write!", 4, 0, 0,
            (SCM port, SCM bv, SCM start, SCM count),
            "Internal: the write of record port @var{port} under\n"
            "suspendable ports, as @code{%record-port-read!}.")
#define FUNC_NAME s_gn_record_port_write_x
{
  return scm_record_io (port, bv, start, count, 0, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_port_auto_flush_p, "%record-port-auto-flush?", 1, 0, 0,
            (SCM port),
            "Internal: whether reading record port @var{port} first sends\n"
            "what it buffered.")
#define FUNC_NAME s_gn_record_port_auto_flush_p
{
  return scm_from_bool (to_record_port (port, FUNC_NAME)->auto_flush);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_port_before_io, "%record-port-before-io", 1, 0, 0,
            (SCM port),
            "Internal: the thunk record port @var{port} runs before a read\n"
            "or write, or @code{#f}.")
#define FUNC_NAME s_gn_record_port_before_io
{
  return to_record_port (port, FUNC_NAME)->before_io;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_record_port_before_io_x, "%set-record-port-before-io!",
            2, 0, 0, (SCM port, SCM thunk),
            "Internal: make record port @var{port} call @var{thunk} before\n"
            "each read or write, until it is set to @code{#f} (which the\n"
            "thunk does itself once its work is done).")
#define FUNC_NAME s_gn_set_record_port_before_io_x
{
  record_port *r = to_record_port (port, FUNC_NAME);
  if (scm_is_true (thunk) && scm_is_false (scm_procedure_p (thunk)))
    gn_wrong_type (FUNC_NAME, 2, thunk);
  r->before_io = thunk;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_record_port_scm_io_x, "%set-record-port-scm-io!", 2, 0, 0,
            (SCM read, SCM write),
            "Internal: the Scheme procedures Guile's suspendable ports call\n"
            "to read and write record ports.")
#define FUNC_NAME s_gn_set_record_port_scm_io_x
{
  gn_set_port_scm_io (record_port_type, read, write, record_read,
                      record_write);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

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
  if (gn_tls_ahead_bytes (r->t) > 0)
    return 1;
  if (r->t->fd < 0)
    return 1;
  struct pollfd pfd = { r->t->fd, POLLIN, 0 };
  return poll (&pfd, 1, 0) > 0;
}

/* Before closing a stream socket transport: a socket closed with input
   unread resets the connection, and drops what it has not sent yet: our
   close_notify, held back by Nagle's algorithm until the peer
   acknowledges earlier data.  Shutting down writing sends it at once,
   with a FIN; then discard what has already arrived.  Without waiting
   for the peer to close: a port's close cannot suspend, and a peer that
   stays idle would hold every close.  */
static void
finish_transport (gn_tls_session *t)
{
  if (t->fd < 0 || (t->init_flags & GNUTLS_DATAGRAM)
      || shutdown (t->fd, SHUT_WR) < 0)
    return;
  char buf[4096];
  for (int i = 0; i < 16; i++)    /* at most 64 KiB */
    {
      ssize_t r = recv (t->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
    }
}

/* Guile has flushed the write buffer.  Say goodbye (bounded, errors
   ignored: the peer may already be gone), then close what we own.  */
static void
record_close (SCM port)
{
  record_port *r = port_record (port);
  gn_tls_session *t = r->t;
  /* A task waiting on this port wakes and finds it closed.  */
  gn_wake_waiting (t->waiting, 2);
  if (t->s != NULL && t->handshake_done && !t->failed
      && gn_tls_transport_open (t))
    {
      gnutls_close_request_t how = GNUTLS_SHUT_WR;
      gn_tls_io io;
      gn_tls_io_init (&io, t, "close-port", "bye", gn_tls_bye_step, &how,
                      GN_TLS_WAIT);
      io.quiet = 1;
      io.timeout = CLOSE_TIMEOUT_NS;
      gn_tls_drive (r->session, t, &io);
    }
  if (scm_is_true (r->close))
    scm_call_1 (r->close, port);
  else if (scm_is_true (t->transport) && SCM_PORTP (t->transport))
    {
      if (SCM_OPPORTP (t->transport))
        finish_transport (t);
      scm_close_port (t->transport);
    }
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
  r->before_io = SCM_BOOL_F;
  r->auto_flush = 1;
  r->own_buffer = SCM_BOOL_F;
  r->full_flushes = 0;
  /* A byte stream: no BOM check (see gn_port_no_bom).  Made unbuffered,
     so that Guile allocates no buffers of its default size only for the
     setvbuf below to replace them (garbage for every connection).  */
  SCM port = gn_port_no_bom (scm_c_make_port (record_port_type,
                                              SCM_RDNG | SCM_WRTNG | SCM_BUF0,
                                              (scm_t_bits) r));
  scm_setvbuf (port, scm_from_utf8_symbol ("block"),
               scm_from_int (RECORD_BUFFER_SIZE));
  r->own_buffer = SCM_SIMPLE_VECTOR_REF (write_buffer (port), 0);
  return port;
}

void
gn_tls_set_record_port_close (SCM port, SCM close)
{
  port_record (port)->close = close;
}

SCM_DEFINE (gn_set_session_record_port_close_x,
            "set-session-record-port-close!", 2, 0, 0, (SCM port, SCM close),
            "Make record port @var{port} call @var{close}, a procedure of one\n"
            "argument, with @var{port} when it is closed, once, after sending\n"
            "close_notify, instead of closing the session's transport port:\n"
            "the procedure frees the transport itself (for example, closes\n"
            "the socket whose descriptor the session uses).  The same as\n"
            "giving @var{close} to @code{session-record-port}.")
#define FUNC_NAME s_gn_set_session_record_port_close_x
{
  record_port *r = to_record_port (port, FUNC_NAME);
  if (scm_is_false (scm_procedure_p (close)))
    gn_wrong_type (FUNC_NAME, 2, close);
  r->close = close;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

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
  return to_record_port (port, FUNC_NAME)->session;
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
  record_port *r = to_record_port (port, FUNC_NAME);
  if (!scm_is_bool (flush))
    gn_wrong_type (FUNC_NAME, 2, flush);
  r->auto_flush = scm_is_true (flush);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* For socket-time-left: when what waits on a record port must resume.  */
static int64_t
record_port_deadline (SCM port, gn_timeout_kind kind)
{
  return gn_tls_deadline (port_record (port)->t,
                          kind == GN_TIMEOUT_WRITE
                          || kind == GN_TIMEOUT_CONNECT);
}

void
gn_init_tls_port (void)
{
  record_port_type = scm_make_port_type ("tls-record-port", record_read,
                                         record_write);
  gn_register_waitable_port_type (record_port_type, record_port_deadline);
  scm_set_port_read_wait_fd (record_port_type, record_wait_fd);
  scm_set_port_write_wait_fd (record_port_type, record_wait_fd);
  scm_set_port_input_waiting (record_port_type, record_input_waiting);
  scm_set_port_close (record_port_type, record_close);
  scm_set_port_print (record_port_type, record_print);
#ifndef SCM_MAGIC_SNARFER
#include "tls-port.x"
#endif
}
