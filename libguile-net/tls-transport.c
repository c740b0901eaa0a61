/* tls-transport.c -- how a TLS session talks to its transport.

   GnuTLS never blocks here.  A descriptor transport is read and written
   with recv and sendmsg under MSG_DONTWAIT (and MSG_NOSIGNAL, so a
   vanished peer is EPIPE, not SIGPIPE); "would block" goes back to GnuTLS
   as EAGAIN, and the I/O driver (tls-io.c) decides whether to wait.  A
   transport that is a Scheme port without a descriptor is read and
   written through Guile's port procedures, blocking as that port does.
   Callbacks never throw through GnuTLS: what a Scheme callback raised is
   kept and raised once GnuTLS has returned.  */

#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static void
note_errno (gn_tls_session *t, int err)
{
  if (err == EWOULDBLOCK)
    err = EAGAIN;
  if (err != EAGAIN && err != EINTR)
    t->last_errno = err;
  gnutls_transport_set_errno (t->s, err);
}

/* Several records in one system call; to T->send_to on an unconnected
   socket (a DTLS server's client).  */
static ssize_t
fd_vec_push (gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
  gn_tls_session *t = ptr;
  struct msghdr msg;
  memset (&msg, 0, sizeof msg);
  if (t->send_to != NULL)
    {
      msg.msg_name = (void *) &t->send_to->ss;
      msg.msg_namelen = t->send_to->len;
    }
  msg.msg_iov = (struct iovec *) iov;
  msg.msg_iovlen = iovcnt;
  ssize_t r = sendmsg (t->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (r < 0)
    note_errno (t, errno);
  else
    t->sent++;
  return r;
}

size_t
gn_tls_ahead_bytes (gn_tls_session *t)
{
  return t->ahead_len - t->ahead_off;
}

void
gn_tls_drop_ahead (gn_tls_session *t)
{
  free (t->ahead);
  t->ahead = NULL;
  t->ahead_len = t->ahead_off = 0;
}

void
gn_tls_release_ahead (gn_tls_session *t)
{
  if (t->ahead != NULL && gn_tls_ahead_bytes (t) == 0)
    gn_tls_drop_ahead (t);
}

/* The read-ahead buffer: a full record and its header, and a little
   more.  Made on the first read ahead; freed when a read must wait in a
   scheduler (gn_tls_release_ahead), so that idle connections under one
   hold none, when big records come (fd_pull), and when the session
   ends.  */
#define AHEAD_SIZE (16384 + 512)
/* GnuTLS asks for a record's header (5 bytes) before its body: only
   such small asks read ahead, a body is read into GnuTLS's own buffer.  */
#define HEADER_ASK 16

/* Records this large or larger are read without reading ahead: their
   body would be copied once more, from our buffer to GnuTLS's, which
   costs more than the recv it saves.  */
#define BIG_RECORD 4096

/* Give GnuTLS K bytes of its ask for N: when that was a record's header
   (TLS: 5 bytes), note whether the record is big.  */
static ssize_t
gave (gn_tls_session *t, const unsigned char *buf, size_t n, ssize_t k)
{
  if (n == 5 && k == 5)
    t->big_records = ((buf[3] << 8) | buf[4]) >= BIG_RECORD;
  return k;
}

static ssize_t
exact_recv (gn_tls_session *t, void *buf, size_t n)
{
  ssize_t r = recv (t->fd, buf, n, MSG_DONTWAIT);
  if (r < 0)
    note_errno (t, errno);
  return gave (t, buf, n, r);
}

/* A datagram of DTLS: whether it holds more than one record (13-byte
   headers, the length in the last two), which GnuTLS keeps to return
   one by one without reading the socket again (tls-io.c's wait_first).  */
static ssize_t
datagram_recv (gn_tls_session *t, void *buf, size_t n)
{
  ssize_t r = exact_recv (t, buf, n);
  if (r > 0)
    {
      const unsigned char *d = buf;
      t->datagram_rest = !(r >= 13 && 13 + ((d[11] << 8) | d[12]) == r);
    }
  return r;
}

/* GnuTLS asks for exactly what a record needs, a header and then the
   rest: two system calls per record, and a request/reply exchange or a
   stream of small records pays both for each.  Reading ahead takes what
   the socket holds in one recv (while records are small: see
   BIG_RECORD), for the reads of a record port (whose
   buffers already hold input out of the descriptor's sight, so its
   readers ask the port: char-ready?, (net socket)'s select, the waits of
   tls-io.c) and of sessions set so (%set-session-read-ahead!); other
   session reads leave later records in the socket, where a program that
   polls the descriptor between records finds them.  */
static ssize_t
fd_pull (gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
  gn_tls_session *t = ptr;
  if (t->init_flags & GNUTLS_DATAGRAM)
    return datagram_recv (t, buf, n);
  size_t have = gn_tls_ahead_bytes (t);
  if (have > 0)
    {
      size_t k = n < have ? n : have;
      memcpy (buf, t->ahead + t->ahead_off, k);
      t->ahead_off += k;
      if (t->ahead_off == t->ahead_len)
        t->ahead_off = t->ahead_len = 0;
      return gave (t, buf, n, k);
    }
  if (!(t->read_ahead || t->port_reads) || n > HEADER_ASK || t->big_records)
    {
      /* Big records do without the buffer: keep none among GnuTLS's own
         record buffers, which then reuse the same memory, as in C.  */
      if (t->big_records && t->ahead != NULL)
        gn_tls_drop_ahead (t);
      return exact_recv (t, buf, n);
    }
  if (t->ahead == NULL && (t->ahead = malloc (AHEAD_SIZE)) == NULL)
    return exact_recv (t, buf, n);
  ssize_t r = recv (t->fd, t->ahead, AHEAD_SIZE, MSG_DONTWAIT);
  if (r <= 0)
    {
      if (r < 0)
        note_errno (t, errno);
      return r;
    }
  size_t k = n < (size_t) r ? n : (size_t) r;
  memcpy (buf, t->ahead, k);
  if ((size_t) r > k)
    {
      t->ahead_len = r;
      t->ahead_off = k;
    }
  return gave (t, buf, n, k);
}

/* GnuTLS asks this with a short timeout when it waits for a TLS 1.3
   ticket, and with zero for DTLS; longer waits are ours to do.  */
static int
fd_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  gn_tls_session *t = ptr;
  if (gn_tls_ahead_bytes (t) > 0)
    return 1;
  if (ms == GNUTLS_INDEFINITE_TIMEOUT)
    return 1;   /* let the pull report EAGAIN; we wait outside GnuTLS */
  int r = gn_poll_quietly (t->fd, POLLIN, ms > 1000 ? 1000 : (int) ms);
  if (r < 0)
    note_errno (t, errno);
  return r;
}

/* Transports that are Scheme ports without a descriptor.  Scheme errors
   must not unwind through GnuTLS: they are caught, kept in T->pending and
   re-raised once GnuTLS has returned.  */
struct port_io
{
  SCM port;
  SCM bv;
  size_t count;
};

SCM
gn_tls_keep_pending (void *data, SCM key, SCM args)
{
  gn_tls_session *t = data;
  t->pending = scm_cons (key, args);
  return SCM_BOOL_F;
}

static SCM
port_push_body (void *data)
{
  struct port_io *io = data;
  scm_c_write (io->port, SCM_BYTEVECTOR_CONTENTS (io->bv), io->count);
  scm_force_output (io->port);
  return SCM_BOOL_T;
}

static ssize_t
port_push (gnutls_transport_ptr_t ptr, const void *buf, size_t n)
{
  gn_tls_session *t = ptr;
  SCM bv = scm_c_make_bytevector (n);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), buf, n);
  struct port_io io = { t->transport, bv, n };
  SCM ok = scm_internal_catch (SCM_BOOL_T, port_push_body, &io,
                               gn_tls_keep_pending, t);
  if (scm_is_false (ok))
    {
      gnutls_transport_set_errno (t->s, EIO);
      return -1;
    }
  return n;
}

static SCM
port_pull_body (void *data)
{
  struct port_io *io = data;
  static SCM get_some = SCM_BOOL_F;
  if (scm_is_false (get_some))
    get_some = scm_variable_ref
      (scm_c_public_variable ("ice-9 binary-ports", "get-bytevector-some!"));
  return scm_call_4 (get_some, io->port, io->bv, scm_from_int (0),
                     scm_from_size_t (io->count));
}

static ssize_t
port_pull (gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
  gn_tls_session *t = ptr;
  SCM bv = scm_c_make_bytevector (n);
  struct port_io io = { t->transport, bv, n };
  SCM got = scm_internal_catch (SCM_BOOL_T, port_pull_body, &io,
                                gn_tls_keep_pending, t);
  if (scm_is_false (got))
    {
      gnutls_transport_set_errno (t->s, EIO);
      return -1;
    }
  if (SCM_EOF_OBJECT_P (got))
    return 0;
  size_t k = scm_to_size_t (got);
  memcpy (buf, SCM_BYTEVECTOR_CONTENTS (bv), k);
  return k;
}

static SCM
char_ready_body (void *data)
{
  return scm_char_ready_p (SCM_PACK ((scm_t_bits) data));
}

static SCM
char_ready_error (void *data, SCM key, SCM args)
{
  return SCM_BOOL_T;   /* let the pull report the error */
}

static int
port_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  gn_tls_session *t = ptr;
  if (!SCM_OPPORTP (t->transport))
    return 1;
  SCM ready = scm_internal_catch (SCM_BOOL_T, char_ready_body,
                                  (void *) SCM_UNPACK (t->transport),
                                  char_ready_error, NULL);
  return scm_is_true (ready) ? 1 : 0;
}

int
gn_tls_transport_open (gn_tls_session *t)
{
  if (scm_is_true (t->transport))
    return SCM_OPPORTP (t->transport);
  return t->fd >= 0;
}

void
gn_tls_use_fd_transport (gn_tls_session *t, int fd)
{
  gn_tls_drop_ahead (t);
  t->fd = fd;
  gnutls_transport_set_ptr (t->s, t);
  /* GnuTLS keeps one of the two: the vectored one sends several records
     in one system call.  */
  gnutls_transport_set_vec_push_function (t->s, fd_vec_push);
  gnutls_transport_set_pull_function (t->s, fd_pull);
  gnutls_transport_set_pull_timeout_function (t->s, fd_pull_timeout);
}

SCM_DEFINE (gn_set_session_transport_fd, "set-session-transport-fd!", 2, 0, 0,
            (SCM session, SCM fd),
            "Use file descriptor @var{fd}, a connected socket, as the\n"
            "transport of @var{session}.  The caller keeps it open as long as\n"
            "the session is used and closes it afterwards.  When it is\n"
            "@code{O_NONBLOCK}, session operations report ``again'' rather\n"
            "than wait.")
#define FUNC_NAME s_gn_set_session_transport_fd
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_exact_integer (fd))
    gn_wrong_type (FUNC_NAME, 2, fd);
  if (!scm_is_signed_integer (fd, 0, INT_MAX))
    gn_out_of_range (FUNC_NAME, 2, fd);
  if (t->s == NULL)
    gn_wrong_type (FUNC_NAME, 1, session);
  gn_tls_use_fd_transport (t, scm_to_int (fd));
  t->transport = SCM_BOOL_F;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_transport_port, "set-session-transport-port!",
            2, 0, 0, (SCM session, SCM port),
            "Use @var{port} as the transport of @var{session}; the session\n"
            "keeps it alive.  A socket port (ours or Guile's) is used through\n"
            "its descriptor, so waits never block other threads and\n"
            "non-blocking sockets report ``would block'' to suspendable-port\n"
            "waiters.  Any other binary input/output port is read and\n"
            "written with Guile's port procedures.  Closing the session's\n"
            "record port closes @var{port}.")
#define FUNC_NAME s_gn_set_session_transport_port
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!(SCM_PORTP (port) && SCM_OPPORTP (port)))
    gn_wrong_type (FUNC_NAME, 2, port);
  if (t->s == NULL)
    gn_wrong_type (FUNC_NAME, 1, session);
  if (gn_port_socket (port) != NULL || SCM_FPORTP (port))
    gn_tls_use_fd_transport (t, gn_port_fd (port, FUNC_NAME, 2));
  else
    {
      if (!(SCM_INPUT_PORT_P (port) && SCM_OUTPUT_PORT_P (port)))
        gn_wrong_type (FUNC_NAME, 2, port);
      t->fd = -1;
      gnutls_transport_set_ptr (t->s, t);
      /* Setting a push function also drops a vectored one.  */
      gnutls_transport_set_push_function (t->s, port_push);
      gnutls_transport_set_pull_function (t->s, port_pull);
      gnutls_transport_set_pull_timeout_function (t->s, port_pull_timeout);
    }
  t->transport = port;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_read_ahead_x, "%set-session-read-ahead!", 2, 0, 0,
            (SCM session, SCM on),
            "Internal, for the HTTPS server: when @var{on} is true, every\n"
            "read of @var{session}'s stream descriptor transport takes what\n"
            "the socket holds in one system call, and keeps what GnuTLS has\n"
            "not asked for yet for the next ones (GnuTLS asks for each\n"
            "record's header and then for the rest), as its record port's\n"
            "reads always do.  Bytes kept so are not seen by waits on the\n"
            "descriptor: only a caller that asks\n"
            "@code{%session-input-buffered?} before waiting may turn it on.")
#define FUNC_NAME s_gn_set_session_read_ahead_x
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->init_flags & GNUTLS_DATAGRAM)
    gn_wrong_type_msg (FUNC_NAME, 1, session, "stream session");
  t->read_ahead = scm_is_true (on);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_input_buffered_p, "%session-input-buffered?", 1, 0, 0,
            (SCM session),
            "Internal: whether @var{session} holds input a read would take\n"
            "without waiting for its transport: records GnuTLS decrypted and\n"
            "did not hand over yet, or bytes read ahead.")
#define FUNC_NAME s_gn_session_input_buffered_p
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_bool (gn_tls_ahead_bytes (t) > 0
                        || (t->s != NULL
                            && gnutls_record_check_pending (t->s) > 0));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_read_ahead_held_p, "%session-read-ahead-held?", 1, 0, 0,
            (SCM session),
            "Internal, for tests of the manual's promise about memory:\n"
            "whether @var{session} holds a read-ahead buffer, empty or not.\n"
            "A thread that reads the record port keeps one while records\n"
            "are small; a read that suspends under a scheduler, or reads\n"
            "big records, gives it back.")
#define FUNC_NAME s_gn_session_read_ahead_held_p
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_bool (t->ahead != NULL);
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_transport_port, "session-transport-port", 1, 0, 0,
            (SCM session),
            "Return the transport port of @var{session}, or @code{#f} if it\n"
            "has none (a descriptor was given, or nothing yet).")
#define FUNC_NAME s_gn_session_transport_port
{
  return gn_to_tls_session (session, FUNC_NAME, 1)->transport;
}
#undef FUNC_NAME

void
gn_init_tls_transport (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-transport.x"
#endif
}
