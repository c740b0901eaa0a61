/* tls-session.c -- TLS sessions over GnuTLS.

   How a session talks to its transport: GnuTLS never blocks here.  Our
   push and pull functions use send/recv with MSG_DONTWAIT (and
   MSG_NOSIGNAL, so a vanished peer is EPIPE, not SIGPIPE) and report
   EAGAIN to GnuTLS.  Every GnuTLS call runs in Guile mode; when it says
   GNUTLS_E_AGAIN, a blocking session waits in gn_wait_fd in the direction
   gnutls_record_get_direction gives (so other threads, the GC and asyncs
   carry on, and timeouts can expire), then calls again as GnuTLS requires.
   A non-blocking session (connection-flag/nonblock, or an O_NONBLOCK
   descriptor) reports "again" to its caller instead.  A transport that is a
   Scheme port without a descriptor is read and written through Guile's
   port procedures, blocking as that port does.

   Secure by default: a client verifies the server's certificate chain, its
   host name and its key purpose during the handshake, against the system
   trust store when no trust was given; the defaults allow only TLS 1.2 and
   1.3 with AEAD ciphers and forward secrecy.  */

#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

SCM gn_tls_session_type = SCM_BOOL_F;

#define DEFAULT_PRIORITY                                                \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-DTLS1.2"            \
  ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"          \
  ":+AES-128-CCM:+AES-256-CCM:-MAC-ALL:+AEAD"                           \
  ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA"                           \
  ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

/* Server session tickets: one key per process, made on first use.  */
static gnutls_datum_t ticket_key;
static int ticket_key_rc;
static pthread_once_t ticket_key_once = PTHREAD_ONCE_INIT;

static void
make_ticket_key (void)
{
  ticket_key_rc = gnutls_session_ticket_key_generate (&ticket_key);
}

/* ---- the object ------------------------------------------------------ */

gn_tls_session *
gn_to_tls_session (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, gn_tls_session_type, subr, pos);
}

static void
finalize_session (SCM obj)
{
  gn_tls_session *t = scm_foreign_object_ref (obj, 0);
  if (t == NULL || t->s == NULL)
    return;
  if (t->held_packet)
    gnutls_packet_deinit (t->held_packet);
  t->held_packet = NULL;
  gnutls_deinit (t->s);
  t->s = NULL;
  for (struct gn_cred_link *l = t->creds; l != NULL;)
    {
      struct gn_cred_link *next = l->next;
      gn_tls_cred_unref (l->cred);
      free (l);
      l = next;
    }
  t->creds = NULL;
  free (t->server_name);
  t->server_name = NULL;
}

int
gn_tls_nonblocking (gn_tls_session *t)
{
  return t->user_nonblock
    || (t->fd >= 0 && gn_fd_is_nonblocking (t->fd));
}

/* ---- transport callbacks: never block, never throw -------------------- */

static void
note_errno (gn_tls_session *t, int err)
{
  if (err == EWOULDBLOCK)
    err = EAGAIN;
  if (err != EAGAIN && err != EINTR)
    t->last_errno = err;
  gnutls_transport_set_errno (t->s, err);
}

/* Several records in one system call.  */
static ssize_t
fd_vec_push (gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
  gn_tls_session *t = ptr;
  struct msghdr msg;
  memset (&msg, 0, sizeof msg);
  msg.msg_iov = (struct iovec *) iov;
  msg.msg_iovlen = iovcnt;
  ssize_t r = sendmsg (t->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (r < 0)
    note_errno (t, errno);
  return r;
}

static ssize_t
fd_pull (gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
  gn_tls_session *t = ptr;
  ssize_t r = recv (t->fd, buf, n, MSG_DONTWAIT);
  if (r < 0)
    note_errno (t, errno);
  return r;
}

struct poll_args
{
  int fd;
  int ms;
  int result;
};

static void *
do_poll (void *data)
{
  struct poll_args *a = data;
  struct pollfd pfd = { a->fd, POLLIN, 0 };
  a->result = poll (&pfd, 1, a->ms);
  return NULL;
}

/* GnuTLS asks this with a short timeout when it waits for a TLS 1.3
   ticket, and with zero for DTLS; longer waits are ours to do.  */
static int
fd_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  gn_tls_session *t = ptr;
  if (ms == GNUTLS_INDEFINITE_TIMEOUT)
    return 1;   /* let the pull report EAGAIN; we wait outside GnuTLS */
  struct poll_args a = { t->fd, ms > 1000 ? 1000 : (int) ms, 0 };
  if (a.ms == 0)
    do_poll (&a);
  else
    gn_without_guile (do_poll, &a);
  if (a.result < 0)
    {
      note_errno (t, errno);
      return -1;
    }
  return a.result;
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

static SCM
keep_pending (void *data, SCM key, SCM args)
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
                               keep_pending, t);
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
                                keep_pending, t);
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

/* ---- failures and waiting ------------------------------------------- */

void
gn_tls_rethrow_pending (gn_tls_session *t)
{
  SCM p = t->pending;
  if (scm_is_pair (p))
    {
      t->pending = SCM_BOOL_F;
      scm_throw (SCM_CAR (p), SCM_CDR (p));
    }
}

void
gn_tls_fail (SCM session, gn_tls_session *t, int code, const char *subr)
{
  gn_tls_rethrow_pending (t);
  if (gnutls_error_is_fatal (code))
    t->failed = 1;
  if ((code == GNUTLS_E_PUSH_ERROR || code == GNUTLS_E_PULL_ERROR)
      && t->last_errno != 0)
    gn_syserror_errno (subr, t->last_errno);
  if (t->verify_failed)
    gn_raise_tls_verification_error (subr, t->verify_status,
                                     t->is_server ? NULL : t->server_name);
  /* DTLS: GnuTLS gave up waiting for the peer's flight.  */
  if (code == GNUTLS_E_TIMEDOUT)
    gn_raise_timeout (subr, subr, session);
  if (code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
    gn_raise_tls_verification_error
      (subr, gnutls_session_get_verify_cert_status (t->s),
       t->is_server ? NULL : t->server_name);
  int alert = -1;
  if (code == GNUTLS_E_FATAL_ALERT_RECEIVED
      || code == GNUTLS_E_WARNING_ALERT_RECEIVED)
    alert = gnutls_alert_get (t->s);
  scm_remember_upto_here_1 (session);
  gn_raise_tls_error (subr, code, alert);
}

void
gn_tls_wait (SCM session, gn_tls_session *t, int64_t deadline,
             const char *subr, const char *operation)
{
  if (t->fd < 0)
    return;   /* port transports block in the port itself */
  short events = gn_tls_direction (t) ? POLLOUT : POLLIN;
  /* DTLS retransmits lost flights: wake up when GnuTLS's timer expires
     and let the interrupted call resend.  */
  int64_t timer = gn_tls_retransmit_deadline (t);
  int64_t until = timer < deadline ? timer : deadline;
  if (!gn_wait_fd (t->fd, events, until) && gn_now_ns () >= deadline)
    gn_raise_timeout (subr, operation, session);
}

int
gn_tls_direction (gn_tls_session *t)
{
  /* A DTLS handshake that sent its flight waits for the answer (or its
     retransmission timer), though GnuTLS still says "write" then; a UDP
     socket is nearly always writable, so waiting for that would spin.  */
  if ((t->init_flags & GNUTLS_DATAGRAM) && !t->handshake_done)
    return 0;
  return gnutls_record_get_direction (t->s);
}

int64_t
gn_tls_retransmit_deadline (gn_tls_session *t)
{
  /* Only handshake flights are resent on a timer: GnuTLS answers a
     retransmitted flight after the handshake by itself.  */
  if (!(t->init_flags & GNUTLS_DATAGRAM) || t->s == NULL || t->handshake_done)
    return GN_NO_DEADLINE;
  unsigned int ms = gnutls_dtls_get_timeout (t->s);
  /* 0 means "due now", but GnuTLS also says 0 while a backed-off timer
     still runs (it measures from the initial timeout): then looking again
     shortly, not at once, keeps waits from spinning.  */
  if (ms == 0)
    ms = 20;
  return gn_deadline_after_ns ((int64_t) ms * 1000000);
}

/* The deadline a waiter should wake up at: the operation's own, or
   earlier for a DTLS retransmission.  */
static int64_t
waiter_deadline (gn_tls_session *t)
{
  int64_t d = gn_wait_clock_deadline (t->wait_deadline, t->timeout_ns);
  int64_t timer = gn_tls_retransmit_deadline (t);
  return timer < d ? timer : d;
}

void
gn_tls_wait_begin (SCM session, gn_tls_session *t, const char *subr,
                   const char *operation)
{
  if (gn_wait_clock_expired (&t->wait_deadline, t->timeout_ns))
    {
      gn_tls_wait_end (t);
      gn_raise_timeout (subr, operation, session);
    }
  /* A waiter is handed the transport socket: let it tell the time.  */
  gn_socket *transport = gn_port_socket (t->transport);
  if (transport)
    transport->lent_deadline = waiter_deadline (t);
}

void
gn_tls_wait_end (gn_tls_session *t)
{
  gn_socket *transport = gn_port_socket (t->transport);
  if (transport)
    transport->lent_deadline = 0;
  t->wait_deadline = 0;
}

static void
check_usable (gn_tls_session *t, const char *subr)
{
  if (t->s == NULL)
    gn_raise_tls_error (subr, GNUTLS_E_INVALID_SESSION, -1);
  if (t->failed)
    gn_raise_tls_error (subr, GNUTLS_E_INVALID_SESSION, -1);
  if (t->fd < 0 && scm_is_false (t->transport))
    scm_misc_error (subr, "no transport: use set-session-transport-fd! or "
                    "set-session-transport-port! first", SCM_EOL);
  /* Its descriptor may since have been reused for something else.  */
  if (!gn_tls_transport_open (t))
    gn_syserror_errno (subr, EBADF);
}

int
gn_tls_transport_open (gn_tls_session *t)
{
  if (scm_is_true (t->transport))
    return SCM_OPPORTP (t->transport);
  return t->fd >= 0;
}

static int64_t
op_deadline (gn_tls_session *t)
{
  return gn_deadline_after_ns (t->timeout_ns);
}

/* ---- construction and settings -------------------------------------- */

static void
attach_credentials (gn_tls_session *t, SCM cred_obj, gn_tls_cred *c,
                    const char *subr)
{
  int rc = gnutls_credentials_set (t->s, GNUTLS_CRD_CERTIFICATE, c->cred);
  if (rc < 0)
    gn_raise_tls_error (subr, rc, -1);
  struct gn_cred_link *l = malloc (sizeof *l);
  if (l == NULL)
    gn_syserror_errno (subr, ENOMEM);
  gn_tls_cred_ref (c);
  l->cred = c;
  l->next = t->creds;
  t->creds = l;
  t->credentials = cred_obj;
}

/* Called by GnuTLS once a server has read the ClientHello: the place to
   pick credentials from the server name the client asked for.  */
struct sni_call
{
  SCM handler;
  SCM name;
};

static SCM
sni_body (void *data)
{
  struct sni_call *c = data;
  return scm_call_1 (c->handler, c->name);
}

static SCM
sni_catch (void *data, SCM key, SCM args)
{
  keep_pending (data, key, args);
  return SCM_UNSPECIFIED;
}

static int
post_client_hello (gnutls_session_t s)
{
  gn_tls_session *t = gnutls_session_get_ptr (s);
  if (t == NULL || scm_is_false (t->server_name_handler))
    return 0;
  char name[256];
  size_t len = sizeof name - 1;
  unsigned int type;
  SCM scm_name = SCM_BOOL_F;
  if (gnutls_server_name_get (s, name, &len, &type, 0) == 0
      && type == GNUTLS_NAME_DNS)
    /* Latin-1 never fails to decode: nothing may throw inside GnuTLS.  */
    scm_name = scm_from_latin1_stringn (name, strnlen (name, len));
  struct sni_call call = { t->server_name_handler, scm_name };
  SCM result = scm_internal_catch (SCM_BOOL_T, sni_body, &call, sni_catch, t);
  if (scm_is_pair (t->pending))
    return GNUTLS_E_INTERNAL_ERROR;
  if (scm_is_false (result))
    return 0;
  if (!gn_is_a (result, gn_tls_credentials_type))
    {
      t->pending = scm_list_5 (scm_from_utf8_symbol ("wrong-type-arg"),
                               scm_from_utf8_string ("handshake"),
                               scm_from_utf8_string
                               ("server name handler returned ~S, not "
                                "certificate credentials or #f"),
                               scm_list_1 (result), scm_list_1 (result));
      return GNUTLS_E_INTERNAL_ERROR;
    }
  gn_tls_cred *c = scm_foreign_object_ref (result, 0);
  if (gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, c->cred) < 0)
    return GNUTLS_E_INTERNAL_ERROR;
  struct gn_cred_link *l = malloc (sizeof *l);
  if (l == NULL)
    return GNUTLS_E_MEMORY_ERROR;
  gn_tls_cred_ref (c);
  l->cred = c;
  l->next = t->creds;
  t->creds = l;
  t->credentials = result;
  return 0;
}

SCM_DEFINE (gn_make_session, "make-session", 1, 0, 1, (SCM end, SCM flags),
            "Return a new TLS session for @var{end},\n"
            "@code{connection-end/client} or @code{connection-end/server},\n"
            "with optional @var{flags} (@code{connection-flag/nonblock},\n"
            "@code{connection-flag/datagram}).  The session uses secure\n"
            "default priorities (TLS 1.2 and 1.3, AEAD ciphers, forward\n"
            "secrecy).  A client verifies the server during the handshake\n"
            "against the name given with @code{set-session-server-name!}\n"
            "and, unless its credentials were given trust, the system trust\n"
            "store; see @code{set-session-verify-peer!}.  A server issues\n"
            "session tickets for resumption.")
#define FUNC_NAME s_gn_make_session
{
  if (!scm_is_exact_integer (end))
    gn_wrong_type (FUNC_NAME, 1, end);
  int e = scm_to_int (end);
  if (e != GNUTLS_CLIENT && e != GNUTLS_SERVER)
    gn_out_of_range (FUNC_NAME, 1, end);
  unsigned int f = (unsigned int) e;
  int pos = 2;
  for (SCM l = flags; scm_is_pair (l); l = SCM_CDR (l), pos++)
    {
      SCM x = SCM_CAR (l);
      if (!scm_is_unsigned_integer (x, 0, UINT_MAX))
        gn_wrong_type (FUNC_NAME, pos, x);
      unsigned int v = scm_to_uint (x);
      if (v & (GNUTLS_CLIENT | GNUTLS_SERVER))
        gn_out_of_range (FUNC_NAME, pos, x);
      f |= v;
    }

  gn_tls_session *t = scm_gc_malloc (sizeof *t, "tls-session");
  memset (t, 0, sizeof *t);
  t->fd = -1;
  t->transport = SCM_BOOL_F;
  t->credentials = SCM_BOOL_F;
  t->server_name_handler = SCM_BOOL_F;
  t->pending = SCM_BOOL_F;
  t->record_port = SCM_BOOL_F;
  t->dtls_server = SCM_BOOL_F;
  t->is_server = (e == GNUTLS_SERVER);
  t->verify_peer = !t->is_server;
  t->timeout_ns = -1;
  t->wait_deadline = 0;
  t->client_cert = GNUTLS_CERT_IGNORE;
  t->user_nonblock = (f & GNUTLS_NONBLOCK) != 0;
  /* Datagram sessions always run GnuTLS non-blocking, so that it never
     waits for retransmission timers itself: gn_tls_wait does.  */
  if (f & GNUTLS_DATAGRAM)
    f |= GNUTLS_NONBLOCK;
  t->init_flags = f;

  int rc = gnutls_init (&t->s, f);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  SCM obj = scm_make_foreign_object_1 (gn_tls_session_type, t);
  gnutls_session_set_ptr (t->s, t);
  gnutls_transport_set_ptr (t->s, t);

  rc = gnutls_priority_set_direct (t->s, DEFAULT_PRIORITY, NULL);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  if (t->is_server)
    {
      pthread_once (&ticket_key_once, make_ticket_key);
      if (ticket_key_rc < 0)
        gn_raise_tls_error (FUNC_NAME, ticket_key_rc, -1);
      rc = gnutls_session_ticket_enable_server (t->s, &ticket_key);
      if (rc < 0)
        gn_raise_tls_error (FUNC_NAME, rc, -1);
      gnutls_handshake_set_post_client_hello_function (t->s,
                                                       post_client_hello);
    }
  return obj;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_p, "session?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a TLS session.")
#define FUNC_NAME s_gn_session_p
{
  return scm_from_bool (gn_is_a (obj, gn_tls_session_type));
}
#undef FUNC_NAME

static void
use_fd_transport (gn_tls_session *t, int fd)
{
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
  use_fd_transport (t, scm_to_int (fd));
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
    use_fd_transport (t, gn_port_fd (port, FUNC_NAME, 2));
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

SCM_DEFINE (gn_session_transport_port, "session-transport-port", 1, 0, 0,
            (SCM session),
            "Return the transport port of @var{session}, or @code{#f} if it\n"
            "has none (a descriptor was given, or nothing yet).")
#define FUNC_NAME s_gn_session_transport_port
{
  return gn_to_tls_session (session, FUNC_NAME, 1)->transport;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_credentials, "set-session-credentials!", 2, 0, 0,
            (SCM session, SCM cred),
            "Use certificate credentials @var{cred} for @var{session}.  The\n"
            "session keeps them alive.")
#define FUNC_NAME s_gn_set_session_credentials
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 2);
  if (t->s == NULL)
    gn_wrong_type (FUNC_NAME, 1, session);
  attach_credentials (t, cred, c, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_credentials, "session-credentials", 1, 0, 0,
            (SCM session),
            "Return the credentials @var{session} uses, or @code{#f}.")
#define FUNC_NAME s_gn_session_credentials
{
  return gn_to_tls_session (session, FUNC_NAME, 1)->credentials;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_priorities, "set-session-priorities!", 2, 0, 0,
            (SCM session, SCM priorities),
            "Set the priorities of @var{session} from the GnuTLS priority\n"
            "string @var{priorities}, e.g.\n"
            "@code{\"NORMAL:-VERS-ALL:+VERS-TLS1.2\"}.  This replaces the\n"
            "secure defaults entirely.")
#define FUNC_NAME s_gn_set_session_priorities
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_string (priorities))
    gn_wrong_type (FUNC_NAME, 2, priorities);
  scm_dynwind_begin (0);
  char *p = scm_to_utf8_string (priorities);
  scm_dynwind_free (p);
  const char *err = NULL;
  int rc = gnutls_priority_set_direct (t->s, p, &err);
  if (rc == GNUTLS_E_INVALID_REQUEST && err != NULL)
    scm_misc_error (FUNC_NAME, "invalid priority string at ~S",
                    scm_list_1 (scm_from_utf8_string (err)));
  scm_dynwind_end ();
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_default_priority, "set-session-default-priority!",
            1, 0, 0, (SCM session),
            "Give @var{session} the secure default priorities again: TLS 1.2\n"
            "and 1.3 only, AEAD ciphers, ephemeral key exchange, no SHA-1\n"
            "signatures.  (Sessions start with them.)")
#define FUNC_NAME s_gn_set_session_default_priority
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  int rc = gnutls_priority_set_direct (t->s, DEFAULT_PRIORITY, NULL);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_default_priority_string, "%default-priority-string", 0, 0, 0,
            (void),
            "Return the GnuTLS priority string sessions start with.")
#define FUNC_NAME s_gn_default_priority_string
{
  return scm_from_utf8_string (DEFAULT_PRIORITY);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_server_name, "set-session-server-name!", 3, 0, 0,
            (SCM session, SCM type, SCM name),
            "Make client @var{session} ask for server @var{name} (a string)\n"
            "with Server Name Indication; @var{type} is\n"
            "@code{server-name-type/dns}.  The server's certificate is then\n"
            "verified against this name.")
#define FUNC_NAME s_gn_set_session_server_name
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_exact_integer (type))
    gn_wrong_type (FUNC_NAME, 2, type);
  if (scm_to_int (type) != GNUTLS_NAME_DNS)
    gn_out_of_range (FUNC_NAME, 2, type);
  if (!scm_is_string (name))
    gn_wrong_type (FUNC_NAME, 3, name);
  size_t len;
  char *n = scm_to_utf8_stringn (name, &len);
  if (len == 0 || strlen (n) != len)
    {
      free (n);
      gn_out_of_range (FUNC_NAME, 3, name);
    }
  /* RFC 6066: SNI carries host names only.  A numeric address is still
     what the certificate is checked against, but is not sent.  */
  unsigned char addr[16];
  int numeric = inet_pton (AF_INET, n, addr) == 1
    || inet_pton (AF_INET6, n, addr) == 1;
  int rc = numeric ? 0 : gnutls_server_name_set (t->s, GNUTLS_NAME_DNS, n, len);
  if (rc < 0)
    {
      free (n);
      gn_raise_tls_error (FUNC_NAME, rc, -1);
    }
  free (t->server_name);
  t->server_name = n;
  if (t->verify_data[0].data != NULL)   /* GnuTLS holds this pointer */
    t->verify_data[0].data = (unsigned char *) n;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_server_name, "session-server-name", 1, 0, 0,
            (SCM session),
            "Return the server name of @var{session} as a string, or\n"
            "@code{#f}: on a client, the name given to\n"
            "@code{set-session-server-name!}; on a server, the name the client\n"
            "asked for (Server Name Indication).")
#define FUNC_NAME s_gn_session_server_name
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!t->is_server)
    return t->server_name ? scm_from_utf8_string (t->server_name)
      : SCM_BOOL_F;
  char name[256];
  size_t len = sizeof name - 1;
  unsigned int type;
  if (t->s != NULL
      && gnutls_server_name_get (t->s, name, &len, &type, 0) == 0
      && type == GNUTLS_NAME_DNS)
    return scm_from_latin1_stringn (name, strnlen (name, len));
  return SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_server_name_handler,
            "set-session-server-name-handler!", 2, 0, 0,
            (SCM session, SCM proc),
            "On server @var{session}, call @var{proc} during the handshake\n"
            "with the server name the client asked for (a string, or\n"
            "@code{#f} when it sent none).  It returns the certificate\n"
            "credentials to use for that name, or @code{#f} to keep the\n"
            "session's.  An exception it raises aborts the handshake and is\n"
            "re-raised by @code{handshake}.  @var{proc} may be @code{#f}.")
#define FUNC_NAME s_gn_set_session_server_name_handler
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (scm_is_true (proc) && scm_is_false (scm_procedure_p (proc)))
    gn_wrong_type (FUNC_NAME, 2, proc);
  t->server_name_handler = proc;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_verify_peer, "set-session-verify-peer!", 2, 0, 0,
            (SCM session, SCM verify),
            "Turn verification of the peer during the handshake on or off.\n"
            "Clients verify by default; @code{(set-session-verify-peer!\n"
            "session #f)} makes a client accept any server, which is\n"
            "insecure: use it only for tests or when the peer is checked\n"
            "by other means.  Servers verify client certificates when they\n"
            "request them (see @code{set-session-client-certificate-request!}).\n"
            "Must be called before @code{handshake}.")
#define FUNC_NAME s_gn_set_session_verify_peer
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bool (verify))
    gn_wrong_type (FUNC_NAME, 2, verify);
  if (t->verify_armed || t->handshake_done)
    scm_misc_error (FUNC_NAME, "too late: the handshake has started",
                    SCM_EOL);
  t->verify_peer = scm_is_true (verify);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_verify_peer_p, "session-verify-peer?", 1, 0, 0,
            (SCM session),
            "Return @code{#t} if @var{session} verifies its peer during the\n"
            "handshake.")
#define FUNC_NAME s_gn_session_verify_peer_p
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_bool (t->is_server ? t->client_cert != GNUTLS_CERT_IGNORE
                        : t->verify_peer);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_client_certificate_request,
            "set-session-client-certificate-request!", 2, 0, 0,
            (SCM session, SCM mode),
            "Make server @var{session} ask clients for a certificate.\n"
            "@var{mode} is @code{'ignore} (the default), @code{'request} (a\n"
            "client may send one) or @code{'require} (the handshake fails\n"
            "without one), or the @code{certificate-request/} constants.  A\n"
            "certificate sent is verified against the credentials' trust.")
#define FUNC_NAME s_gn_set_session_client_certificate_request
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  int m;
  if (scm_is_eq (mode, scm_from_utf8_symbol ("ignore"))
      || scm_is_eq (mode, scm_from_utf8_symbol ("none")))
    m = GNUTLS_CERT_IGNORE;
  else if (scm_is_eq (mode, scm_from_utf8_symbol ("request")))
    m = GNUTLS_CERT_REQUEST;
  else if (scm_is_eq (mode, scm_from_utf8_symbol ("require")))
    m = GNUTLS_CERT_REQUIRE;
  else if (scm_is_exact_integer (mode)
           && scm_is_signed_integer (mode, GNUTLS_CERT_IGNORE,
                                     GNUTLS_CERT_REQUIRE))
    m = scm_to_int (mode);
  else if (scm_is_symbol (mode) || scm_is_exact_integer (mode))
    gn_out_of_range (FUNC_NAME, 2, mode);
  else
    gn_wrong_type (FUNC_NAME, 2, mode);
  if (!t->is_server)
    scm_misc_error (FUNC_NAME, "only a server session requests client "
                    "certificates", SCM_EOL);
  gnutls_certificate_server_set_request (t->s, (gnutls_certificate_request_t) m);
  t->client_cert = m;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_timeout, "set-session-timeout!", 2, 0, 0,
            (SCM session, SCM seconds),
            "Bound each blocking operation on @var{session} (handshake, bye,\n"
            "one record read or write) to @var{seconds}, a non-negative real,\n"
            "or remove the bound with @code{#f}.  An operation that takes\n"
            "longer raises a @code{&net-timeout} condition.")
#define FUNC_NAME s_gn_set_session_timeout
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  t->timeout_ns = gn_timeout_from_scm (seconds, FUNC_NAME, 2);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_alpn_protocols, "set-session-alpn-protocols!",
            2, 0, 0, (SCM session, SCM protocols),
            "Offer (client) or accept (server) the application protocols in\n"
            "list @var{protocols}, strings such as @code{\"h2\"} and\n"
            "@code{\"http/1.1\"}, most preferred first.  A server picks by its\n"
            "own order; when client and server share none the handshake\n"
            "fails with a @code{no-application-protocol} alert.")
#define FUNC_NAME s_gn_set_session_alpn_protocols
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  long n = scm_ilength (protocols);
  if (n < 0)
    gn_wrong_type (FUNC_NAME, 2, protocols);
  if (n > 64)
    gn_out_of_range (FUNC_NAME, 2, protocols);
  gnutls_datum_t d[64];
  scm_dynwind_begin (0);
  long i = 0;
  for (SCM l = protocols; scm_is_pair (l); l = SCM_CDR (l), i++)
    {
      SCM p = SCM_CAR (l);
      if (!scm_is_string (p))
        gn_wrong_type (FUNC_NAME, 2, protocols);
      size_t len;
      char *s = scm_to_utf8_stringn (p, &len);
      scm_dynwind_free (s);
      if (len == 0 || len > 255)
        gn_out_of_range (FUNC_NAME, 2, protocols);
      d[i].data = (unsigned char *) s;
      d[i].size = len;
    }
  int rc = gnutls_alpn_set_protocols (t->s, d, (unsigned) n,
                                      t->is_server
                                      ? (GNUTLS_ALPN_SERVER_PRECEDENCE
                                         | GNUTLS_ALPN_MANDATORY) : 0);
  scm_dynwind_end ();
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_alpn_protocol, "session-alpn-protocol", 1, 0, 0,
            (SCM session),
            "Return the application protocol negotiated by @var{session} with\n"
            "ALPN, a string, or @code{#f} if none was.")
#define FUNC_NAME s_gn_session_alpn_protocol
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  gnutls_datum_t d;
  if (t->s == NULL || !t->handshake_done
      || gnutls_alpn_get_selected_protocol (t->s, &d) < 0)
    return SCM_BOOL_F;
  return scm_from_latin1_stringn ((const char *) d.data, d.size);
}
#undef FUNC_NAME

/* ---- handshake, bye, records ------------------------------------------ */

/* Called by GnuTLS on a server once the client's certificate arrived.
   GnuTLS's own automatic verification would also reject a client that
   sends no certificate when one is only requested, so verify here: no
   certificate is fine (GnuTLS enforces `require' itself), a bad one ends
   the handshake and its status is kept to say why.  */
static int
verify_client (gnutls_session_t s)
{
  gn_tls_session *t = gnutls_session_get_ptr (s);
  unsigned int n = 0;
  if (gnutls_certificate_get_peers (s, &n) == NULL || n == 0)
    return 0;
  gnutls_typed_vdata_st data[1] = {
    { GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *) GNUTLS_KP_TLS_WWW_CLIENT,
      0 }
  };
  unsigned int status = 0;
  int rc = gnutls_certificate_verify_peers (s, data, 1, &status);
  if (rc < 0)
    status |= GNUTLS_CERT_INVALID;
  if (status == 0)
    return 0;
  t->verify_status = status;
  t->verify_failed = 1;
  return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
}

/* Before a client's first handshake: default credentials, trust and the
   verification GnuTLS does during the handshake.  */
static void
prepare_handshake (SCM session, gn_tls_session *t, const char *subr)
{
  if (t->verify_armed)
    return;
  if (scm_is_false (t->credentials))
    {
      if (t->is_server)
        scm_misc_error (subr, "a server session needs credentials: use "
                        "set-session-credentials!", SCM_EOL);
      SCM d = gn_tls_default_credentials ();
      attach_credentials (t, d, scm_foreign_object_ref (d, 0), subr);
    }
  gn_tls_cred *c = scm_foreign_object_ref (t->credentials, 0);
  if (!t->is_server && t->verify_peer)
    {
      if (t->server_name == NULL)
        scm_misc_error (subr, "cannot verify the server without its name: "
                        "use set-session-server-name! (or turn verification "
                        "off explicitly with set-session-verify-peer!)",
                        SCM_EOL);
      gn_tls_cred_ensure_trust (c, subr);
      /* GnuTLS keeps a pointer to this array, not a copy, for the whole
         session: it lives in the session.  */
      t->verify_data[0].type = GNUTLS_DT_DNS_HOSTNAME;
      t->verify_data[0].data = (unsigned char *) t->server_name;
      t->verify_data[0].size = 0;
      t->verify_data[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
      t->verify_data[1].data = (unsigned char *) GNUTLS_KP_TLS_WWW_SERVER;
      t->verify_data[1].size = 0;
      gnutls_session_set_verify_cert2 (t->s, t->verify_data, 2, 0);
    }
  else if (t->is_server && t->client_cert != GNUTLS_CERT_IGNORE)
    {
      gn_tls_cred_ensure_trust (c, subr);
      gnutls_session_set_verify_function (t->s, verify_client);
    }
  t->verify_armed = 1;
}

/* GnuTLS leaves telling the peer why a handshake failed to us; without
   an alert the peer only sees the connection drop.  Best effort: the
   transport may be gone or full.  */
static void
send_failure_alert (gn_tls_session *t, int rc)
{
  if (rc == GNUTLS_E_PUSH_ERROR || rc == GNUTLS_E_PULL_ERROR
      || rc == GNUTLS_E_PREMATURE_TERMINATION
      || rc == GNUTLS_E_FATAL_ALERT_RECEIVED || scm_is_pair (t->pending))
    return;
  unsigned int status = 0;
  if (t->verify_failed)
    status = t->verify_status;
  else if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
    status = gnutls_session_get_verify_cert_status (t->s);
  if (status != 0 || rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
    {
      gnutls_alert_description_t a = GNUTLS_A_BAD_CERTIFICATE;
      if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
        a = GNUTLS_A_UNKNOWN_CA;
      else if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
        a = GNUTLS_A_CERTIFICATE_EXPIRED;
      else if (status & GNUTLS_CERT_REVOKED)
        a = GNUTLS_A_CERTIFICATE_REVOKED;
      else if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
        a = GNUTLS_A_UNSUPPORTED_CERTIFICATE;
      gnutls_alert_send (t->s, GNUTLS_AL_FATAL, a);
    }
  else
    gnutls_alert_send_appropriate (t->s, rc);
  t->pending = SCM_BOOL_F;
}

/* Non-fatal results after which the same call is simply made again.  */
static int
retry_code (int rc)
{
  /* Not GNUTLS_E_GOT_APPLICATION_DATA: the data must be read first, so
     the caller hears of it (a non-fatal TLS error).  */
  return rc == GNUTLS_E_INTERRUPTED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED;
}

SCM_DEFINE (gn_session_side, "session-side", 1, 0, 0, (SCM session),
            "Return the side of @var{session}: the symbol @code{client} or\n"
            "@code{server}.")
#define FUNC_NAME s_gn_session_side
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_utf8_symbol (t->is_server ? "server" : "client");
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_time_left, "session-time-left", 1, 0, 0,
            (SCM session),
            "For a scheduler's read or write waiter: return how many seconds\n"
            "the operation now waiting on non-blocking @var{session} (or on\n"
            "its record port) has left before its timeout, or @code{#f} when\n"
            "it has no limit.  Resumed after that time, the operation raises\n"
            "its @code{&net-timeout}.")
#define FUNC_NAME s_gn_session_time_left
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return gn_seconds_left (waiter_deadline (t));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_wait_x, "%session-wait!", 2, 0, 0,
            (SCM session, SCM operation),
            "Internal: @var{operation} (a symbol) on non-blocking\n"
            "@var{session} is about to wait in a waiter, or with\n"
            "@var{operation} @code{#f}, made progress.  Start or stop its\n"
            "clock; raise its timeout if its time has run out.")
#define FUNC_NAME s_gn_session_wait_x
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (scm_is_false (operation))
    gn_tls_wait_end (t);
  else
    {
      char *op = scm_to_utf8_string (scm_symbol_to_string (operation));
      scm_dynwind_begin (0);
      scm_dynwind_free (op);
      gn_tls_wait_begin (session, t, op, op);
      scm_dynwind_end ();
    }
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_handshake, "%handshake", 1, 0, 0, (SCM session),
            "Perform the TLS handshake of @var{session}.  A client verifies\n"
            "the server unless told not to; a verification failure raises a\n"
            "@code{&tls-verification-error} saying why, and the session is\n"
            "then unusable.  On a non-blocking session, raise a non-fatal\n"
            "TLS error @code{error/again} when the transport would block:\n"
            "wait in the direction @code{record-get-direction} gives, then\n"
            "call @code{handshake} again.")
#define FUNC_NAME "handshake"   /* wrapped by (net tls) as handshake */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  check_usable (t, FUNC_NAME);
  prepare_handshake (session, t, FUNC_NAME);
  int64_t deadline = op_deadline (t);
  for (;;)
    {
      int rc = gnutls_handshake (t->s);
      gn_tls_rethrow_pending (t);
      if (rc == 0)
        {
          t->handshake_done = 1;
          break;
        }
      if (retry_code (rc))
        {
          scm_async_tick ();
          continue;
        }
      if (rc == GNUTLS_E_AGAIN)
        {
          if (gn_tls_nonblocking (t))
            gn_raise_tls_error (FUNC_NAME, rc, -1);
          gn_tls_wait (session, t, deadline, FUNC_NAME, "handshake");
          continue;
        }
      t->failed = 1;   /* any other failure ends the session */
      send_failure_alert (t, rc);
      gn_tls_fail (session, t, rc, FUNC_NAME);
    }
  scm_remember_upto_here_1 (session);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

int
gn_tls_handshake_step (SCM session, gn_tls_session *t)
{
  prepare_handshake (session, t, "handshake");
  for (;;)
    {
      int rc = gnutls_handshake (t->s);
      t->pending = SCM_BOOL_F;
      if (rc == 0)
        t->handshake_done = 1;
      if (rc == 0 || rc == GNUTLS_E_AGAIN)
        return rc;
      if (retry_code (rc))
        continue;
      t->failed = 1;
      send_failure_alert (t, rc);
      return rc;
    }
}

/* Shared by `bye' and the record port's close: send close_notify, waiting
   until DEADLINE.  Return the GnuTLS result; raise nothing when QUIET.  */
int
gn_tls_bye (SCM session, gn_tls_session *t, int how, int64_t deadline,
            int quiet, const char *subr)
{
  for (;;)
    {
      int rc = gnutls_bye (t->s, (gnutls_close_request_t) how);
      if (quiet)
        t->pending = SCM_BOOL_F;
      else
        gn_tls_rethrow_pending (t);
      if (rc == 0)
        return 0;
      if (retry_code (rc))
        continue;
      if (rc == GNUTLS_E_AGAIN)
        {
          if (gn_tls_nonblocking (t) && !quiet)
            gn_raise_tls_error (subr, rc, -1);
          if (t->fd < 0)
            return rc;
          short events = gnutls_record_get_direction (t->s) ? POLLOUT : POLLIN;
          if (!gn_wait_fd (t->fd, events, deadline))
            {
              if (quiet)
                return rc;
              gn_raise_timeout (subr, "bye", session);
            }
          continue;
        }
      if (quiet)
        return rc;
      gn_tls_fail (session, t, rc, subr);
    }
}

SCM_DEFINE (gn_bye, "%bye", 2, 0, 0, (SCM session, SCM how),
            "Close the TLS session: send what the record port buffered,\n"
            "then close_notify.  With\n"
            "@code{close-request/rdwr} also wait for the peer's\n"
            "close_notify; with @code{close-request/wr} only send ours.  The\n"
            "transport stays open.")
#define FUNC_NAME "bye"         /* wrapped by (net tls) as bye */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_exact_integer (how))
    gn_wrong_type (FUNC_NAME, 2, how);
  int h = scm_to_int (how);
  if (h != GNUTLS_SHUT_RDWR && h != GNUTLS_SHUT_WR)
    gn_out_of_range (FUNC_NAME, 2, how);
  check_usable (t, FUNC_NAME);
  /* What was written to the record port goes before close_notify.  */
  if (scm_is_true (t->record_port) && SCM_OPPORTP (t->record_port))
    scm_force_output (t->record_port);
  gn_tls_bye (session, t, h, op_deadline (t), 0, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

static void
check_handshaken (gn_tls_session *t, const char *subr)
{
  check_usable (t, subr);
  if (!t->handshake_done)
    scm_misc_error (subr, "the handshake has not been done", SCM_EOL);
}

ssize_t
gn_tls_send (SCM session, gn_tls_session *t, const char *data, size_t len,
             int nowait, const char *subr)
{
  check_handshaken (t, subr);
  int64_t deadline = op_deadline (t);
  for (;;)
    {
      /* After an interrupted send GnuTLS wants the call repeated; the data
         it already encrypted is what gets sent, and its length returned.  */
      ssize_t rc = t->send_pending ? gnutls_record_send (t->s, NULL, 0)
        : gnutls_record_send (t->s, data, len);
      gn_tls_rethrow_pending (t);
      if (rc >= 0)
        {
          t->send_pending = 0;
          return rc;
        }
      if (rc == GNUTLS_E_INTERRUPTED || rc == GNUTLS_E_AGAIN)
        /* GnuTLS holds the record: the next call, even after an async
           or timeout unwound this one, must finish it.  */
        t->send_pending = 1;
      if (retry_code ((int) rc))
        {
          scm_async_tick ();
          continue;
        }
      if (rc == GNUTLS_E_AGAIN)
        {
          if (nowait || gn_tls_nonblocking (t))
            return -1;
          gn_tls_wait (session, t, deadline, subr, "write");
          continue;
        }
      t->send_pending = 0;
      gn_tls_fail (session, t, (int) rc, subr);
    }
}

/* Into DATA, or as a whole record into *PACKET when PACKET is not NULL.  */
static ssize_t
recv_loop (SCM session, gn_tls_session *t, char *data, size_t len,
           gnutls_packet_t *packet, int nowait, const char *subr)
{
  check_handshaken (t, subr);
  int64_t deadline = op_deadline (t);
  for (;;)
    {
      ssize_t rc = packet ? gnutls_record_recv_packet (t->s, packet)
        : gnutls_record_recv (t->s, data, len);
      gn_tls_rethrow_pending (t);
      if (rc >= 0)
        return rc;
      if (retry_code ((int) rc) || rc == GNUTLS_E_REHANDSHAKE)
        {
          /* A TLS 1.2 renegotiation request is declined by ignoring it.  */
          scm_async_tick ();
          continue;
        }
      if (rc == GNUTLS_E_AGAIN)
        {
          if (gnutls_record_check_pending (t->s) > 0)
            continue;
          if (nowait || gn_tls_nonblocking (t))
            return -1;
          gn_tls_wait (session, t, deadline, subr, "read");
          continue;
        }
      gn_tls_fail (session, t, (int) rc, subr);
    }
}

ssize_t
gn_tls_recv (SCM session, gn_tls_session *t, char *data, size_t len,
             int nowait, const char *subr)
{
  return recv_loop (session, t, data, len, NULL, nowait, subr);
}

ssize_t
gn_tls_recv_packet (SCM session, gn_tls_session *t, gnutls_packet_t *packet,
                    int nowait, const char *subr)
{
  *packet = NULL;
  return recv_loop (session, t, NULL, 0, packet, nowait, subr);
}

SCM_DEFINE (gn_record_send, "record-send", 2, 0, 0, (SCM session, SCM bv),
            "Send the contents of bytevector @var{bv} over @var{session}\n"
            "and return the number of bytes sent (at most one record, 16\n"
            "KiB).  On a non-blocking session that would block, raise the\n"
            "non-fatal @code{error/again}; call again with the same data.")
#define FUNC_NAME s_gn_record_send
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bytevector (bv))
    gn_wrong_type (FUNC_NAME, 2, bv);
  /* Nothing to send: GnuTLS would answer GNUTLS_E_INVALID_REQUEST, a
     fatal error that invalidates the whole session.  */
  if (SCM_BYTEVECTOR_LENGTH (bv) == 0)
    return scm_from_int (0);
  ssize_t n = gn_tls_send (session, t,
                           (const char *) SCM_BYTEVECTOR_CONTENTS (bv),
                           SCM_BYTEVECTOR_LENGTH (bv), 0, FUNC_NAME);
  if (n < 0)
    gn_raise_tls_error (FUNC_NAME, GNUTLS_E_AGAIN, -1);
  scm_remember_upto_here_1 (bv);
  return scm_from_ssize_t (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_receive, "record-receive!", 2, 0, 0,
            (SCM session, SCM bv),
            "Receive data from @var{session} into bytevector @var{bv} and\n"
            "return the number of bytes received, 0 when the peer closed the\n"
            "session cleanly.  A connection cut without close_notify raises\n"
            "a TLS error (@code{tls-premature-termination?}).  On a\n"
            "non-blocking session with nothing to read, raise the non-fatal\n"
            "@code{error/again}.")
#define FUNC_NAME s_gn_record_receive
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bytevector (bv))
    gn_wrong_type (FUNC_NAME, 2, bv);
  /* Nothing to receive into: return 0 without touching the session, as
     read (2) does with a count of 0 (GnuTLS would fail and invalidate
     the session).  */
  if (SCM_BYTEVECTOR_LENGTH (bv) == 0)
    return scm_from_int (0);
  ssize_t n = gn_tls_recv (session, t, (char *) SCM_BYTEVECTOR_CONTENTS (bv),
                           SCM_BYTEVECTOR_LENGTH (bv), 0, FUNC_NAME);
  if (n < 0)
    gn_raise_tls_error (FUNC_NAME, GNUTLS_E_AGAIN, -1);
  scm_remember_upto_here_1 (bv);
  return scm_from_ssize_t (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_check_pending, "record-check-pending", 1, 0, 0,
            (SCM session),
            "Return the number of bytes of decrypted data @var{session} holds\n"
            "that a read returns without touching the transport.  Check it\n"
            "before waiting on the transport descriptor.")
#define FUNC_NAME s_gn_record_check_pending
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_size_t (t->s ? gnutls_record_check_pending (t->s) : 0);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_get_direction, "record-get-direction", 1, 0, 0,
            (SCM session),
            "After an operation on @var{session} raised @code{error/again},\n"
            "return 0 if it was waiting to read from the transport and 1 if\n"
            "it was waiting to write.  During a DTLS handshake it is 0:\n"
            "the handshake waits for the peer's flight, or until\n"
            "@code{session-time-left} says a lost flight is to be resent.")
#define FUNC_NAME s_gn_record_get_direction
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_int (t->s ? gn_tls_direction (t) : 0);
}
#undef FUNC_NAME

SCM_DEFINE (gn_alert_get, "alert-get", 1, 0, 0, (SCM session),
            "Return the last alert received by @var{session}, as a symbol\n"
            "such as @code{close-notify} or @code{unknown-ca}.")
#define FUNC_NAME s_gn_alert_get
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->s == NULL)
    return SCM_BOOL_F;
  return gn_tls_alert_symbol (gnutls_alert_get (t->s));
}
#undef FUNC_NAME

/* ---- information ------------------------------------------------------ */

static SCM
name_symbol (const char *name)
{
  return name ? scm_from_utf8_symbol (name) : SCM_BOOL_F;
}

static gn_tls_session *
established (SCM session, const char *subr)
{
  gn_tls_session *t = gn_to_tls_session (session, subr, 1);
  return (t->s != NULL && t->handshake_done) ? t : NULL;
}

SCM_DEFINE (gn_session_protocol, "session-protocol", 1, 0, 0, (SCM session),
            "Return the protocol version @var{session} negotiated, a symbol\n"
            "such as @code{TLS1.3} or @code{TLS1.2}, or @code{#f} before the\n"
            "handshake.")
#define FUNC_NAME s_gn_session_protocol
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? name_symbol (gnutls_protocol_get_name
                          (gnutls_protocol_get_version (t->s))) : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_cipher, "session-cipher", 1, 0, 0, (SCM session),
            "Return the cipher @var{session} uses, a symbol such as\n"
            "@code{AES-256-GCM}, or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_cipher
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? name_symbol (gnutls_cipher_get_name (gnutls_cipher_get (t->s)))
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_mac, "session-mac", 1, 0, 0, (SCM session),
            "Return the MAC algorithm of @var{session}, a symbol (@code{AEAD}\n"
            "for AEAD ciphers), or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_mac
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? name_symbol (gnutls_mac_get_name (gnutls_mac_get (t->s)))
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_kx, "session-kx", 1, 0, 0, (SCM session),
            "Return the key exchange of @var{session}, a symbol such as\n"
            "@code{ECDHE-ECDSA} (TLS 1.3 sessions report the equivalent\n"
            "ephemeral exchange), or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_kx
{
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    return SCM_BOOL_F;
  gnutls_kx_algorithm_t kx = gnutls_kx_get (t->s);
  if (kx == GNUTLS_KX_UNKNOWN
      || gnutls_protocol_get_version (t->s) == GNUTLS_TLS1_3)
    {
      /* TLS 1.3 separates key exchange from authentication; GnuTLS may
         report neither.  Describe it from the group and certificate.  */
      gnutls_group_t g = gnutls_group_get (t->s);
      int dh = g >= GNUTLS_GROUP_FFDHE2048 && g <= GNUTLS_GROUP_FFDHE8192;
      gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
      const gnutls_datum_t *c = NULL;
      unsigned int n = 0;
      if (t->is_server)
        {
          c = gnutls_certificate_get_ours (t->s);
          n = c != NULL;
        }
      else
        c = gnutls_certificate_get_peers (t->s, &n);
      if (c != NULL && n > 0)
        {
          gnutls_x509_crt_t crt;
          if (gnutls_x509_crt_init (&crt) == 0)
            {
              if (gnutls_x509_crt_import (crt, &c[0], GNUTLS_X509_FMT_DER) == 0)
                pk = gnutls_x509_crt_get_pk_algorithm (crt, NULL);
              gnutls_x509_crt_deinit (crt);
            }
        }
      const char *name;
      if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519)
        name = dh ? "DHE-ECDSA" : "ECDHE-ECDSA";
      else if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
        name = dh ? "DHE-RSA" : "ECDHE-RSA";
      else
        name = dh ? "DHE" : "ECDHE";
      return scm_from_utf8_symbol (name);
    }
  return name_symbol (gnutls_kx_get_name (kx));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_group, "session-group", 1, 0, 0, (SCM session),
            "Return the key exchange group of @var{session}, a symbol such as\n"
            "@code{X25519} or @code{SECP256R1}, or @code{#f}.")
#define FUNC_NAME s_gn_session_group
{
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    return SCM_BOOL_F;
  gnutls_group_t g = gnutls_group_get (t->s);
  return g == GNUTLS_GROUP_INVALID ? SCM_BOOL_F
    : name_symbol (gnutls_group_get_name (g));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_description, "session-description", 1, 0, 0,
            (SCM session),
            "Return GnuTLS's one-line description of @var{session}, e.g.\n"
            "@code{\"(TLS1.3)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-\n"
            "(AES-256-GCM)\"}, or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_description
{
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    return SCM_BOOL_F;
  char *d = gnutls_session_get_desc (t->s);
  if (d == NULL)
    return SCM_BOOL_F;
  SCM s = scm_from_utf8_string (d);
  gnutls_free (d);
  return s;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_resumed_p, "session-resumed?", 1, 0, 0, (SCM session),
            "Return @code{#t} if @var{session}'s handshake resumed an earlier\n"
            "session instead of doing a full one.")
#define FUNC_NAME s_gn_session_resumed_p
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return scm_from_bool (t != NULL && gnutls_session_is_resumed (t->s));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_peer_certificate_chain, "session-peer-certificate-chain",
            1, 0, 0, (SCM session),
            "Return the certificates the peer of @var{session} presented, the\n"
            "peer's own first, as a list of DER bytevectors (empty if it\n"
            "presented none).")
#define FUNC_NAME s_gn_session_peer_certificate_chain
{
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    return SCM_EOL;
  unsigned int n = 0;
  const gnutls_datum_t *c = gnutls_certificate_get_peers (t->s, &n);
  SCM result = SCM_EOL;
  for (unsigned int i = n; c != NULL && i-- > 0;)
    {
      SCM bv = scm_c_make_bytevector (c[i].size);
      memcpy (SCM_BYTEVECTOR_CONTENTS (bv), c[i].data, c[i].size);
      result = scm_cons (bv, result);
    }
  return result;
}
#undef FUNC_NAME

SCM_DEFINE (gn_peer_certificate_status, "peer-certificate-status", 1, 1, 0,
            (SCM session, SCM host),
            "Verify the certificate chain the peer of @var{session} presented\n"
            "against the credentials' trust (and, when given, host name\n"
            "@var{host}); return the list of reasons it fails, as symbols\n"
            "(@code{expired}, @code{untrusted-issuer},\n"
            "@code{host-name-mismatch}, ...), empty when it is valid.  Useful\n"
            "only when verification during the handshake was turned off;\n"
            "a peer that presented no certificate gives @code{(invalid)}.")
#define FUNC_NAME s_gn_peer_certificate_status
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  check_handshaken (t, FUNC_NAME);
  char *h = NULL;
  if (!SCM_UNBNDP (host) && scm_is_true (host))
    {
      if (!scm_is_string (host))
        gn_wrong_type (FUNC_NAME, 2, host);
      h = scm_to_utf8_string (host);
    }
  unsigned int status = 0;
  int rc = gnutls_certificate_verify_peers3 (t->s, h, &status);
  free (h);
  if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)
    status = GNUTLS_CERT_INVALID;
  else if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return gn_tls_status_reasons (status);
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_data, "session-data", 1, 0, 0, (SCM session),
            "Return the data a client needs to resume @var{session} later, a\n"
            "bytevector, for @code{set-session-data!} on a new session to the\n"
            "same server.  Under TLS 1.3 the server sends it after the\n"
            "handshake; GnuTLS waits briefly for it.")
#define FUNC_NAME s_gn_session_data
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  check_handshaken (t, FUNC_NAME);
  gnutls_datum_t d = { NULL, 0 };
  int rc;
  do
    rc = gnutls_session_get_data2 (t->s, &d);
  while (rc == GNUTLS_E_INTERRUPTED);
  gn_tls_rethrow_pending (t);
  if (rc < 0 && rc != GNUTLS_E_AGAIN)
    gn_tls_fail (session, t, rc, FUNC_NAME);
  if (rc < 0)
    return SCM_BOOL_F;
  SCM bv = scm_c_make_bytevector (d.size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), d.data, d.size);
  gnutls_free (d.data);
  return bv;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_data, "set-session-data!", 2, 0, 0,
            (SCM session, SCM data),
            "Make client @var{session} try to resume the session that\n"
            "@var{data} (from @code{session-data}) describes.  If the server\n"
            "declines, a full handshake is done.")
#define FUNC_NAME s_gn_set_session_data
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bytevector (data))
    gn_wrong_type (FUNC_NAME, 2, data);
  int rc = gnutls_session_set_data (t->s, SCM_BYTEVECTOR_CONTENTS (data),
                                    SCM_BYTEVECTOR_LENGTH (data));
  scm_remember_upto_here_1 (data);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_error_to_string, "error->string", 1, 0, 0, (SCM code),
            "Return GnuTLS's message for error code @var{code}.")
#define FUNC_NAME s_gn_error_to_string
{
  if (!scm_is_signed_integer (code, INT_MIN, INT_MAX))
    gn_wrong_type (FUNC_NAME, 1, code);
  return scm_from_utf8_string (gnutls_strerror (scm_to_int (code)));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_record_port, "session-record-port", 1, 1, 0,
            (SCM session, SCM close),
            "Return the record port of @var{session}: a buffered binary\n"
            "input/output port whose data travel in TLS records.  Small\n"
            "writes are gathered into records of up to 16 KiB, sent when the\n"
            "buffer fills, on @code{force-output}, before a read that must\n"
            "wait for data (see @code{set-tls-record-port-auto-flush!}) and\n"
            "by @code{bye}; a read returns what records hold.  The peer's close_notify reads as end of file; a\n"
            "connection cut without it raises a TLS error.  Closing the port\n"
            "sends close_notify and closes the transport port, or calls\n"
            "@var{close} with the port when given.  On a non-blocking\n"
            "transport the port is suspendable: it calls the current read\n"
            "or write waiter.  The same port is returned on each call.")
#define FUNC_NAME s_gn_session_record_port
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!SCM_UNBNDP (close) && scm_is_true (close)
      && scm_is_false (scm_procedure_p (close)))
    gn_wrong_type (FUNC_NAME, 2, close);
  if (scm_is_false (t->record_port) || !SCM_OPPORTP (t->record_port))
    t->record_port = gn_tls_make_record_port
      (session, SCM_UNBNDP (close) ? SCM_BOOL_F : close);
  return t->record_port;
}
#undef FUNC_NAME

static void
define_int (const char *name, long value)
{
  scm_c_define (name, scm_from_long (value));
}

void
gn_init_tls_session (void)
{
  gn_tls_session_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("session"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_session);
  scm_permanent_object (gn_tls_session_type);

  define_int ("connection-end/client", GNUTLS_CLIENT);
  define_int ("connection-end/server", GNUTLS_SERVER);
  define_int ("connection-flag/datagram", GNUTLS_DATAGRAM);
  define_int ("connection-flag/nonblock", GNUTLS_NONBLOCK);
  define_int ("connection-flag/no-extensions", GNUTLS_NO_EXTENSIONS);
  define_int ("close-request/rdwr", GNUTLS_SHUT_RDWR);
  define_int ("close-request/wr", GNUTLS_SHUT_WR);
  define_int ("server-name-type/dns", GNUTLS_NAME_DNS);
  define_int ("certificate-request/ignore", GNUTLS_CERT_IGNORE);
  define_int ("certificate-request/request", GNUTLS_CERT_REQUEST);
  define_int ("certificate-request/require", GNUTLS_CERT_REQUIRE);
  define_int ("error/again", GNUTLS_E_AGAIN);
  define_int ("error/interrupted", GNUTLS_E_INTERRUPTED);
  define_int ("error/premature-termination", GNUTLS_E_PREMATURE_TERMINATION);
  define_int ("error/certificate-verification-error",
              GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR);
  define_int ("error/fatal-alert-received", GNUTLS_E_FATAL_ALERT_RECEIVED);
  define_int ("error/warning-alert-received", GNUTLS_E_WARNING_ALERT_RECEIVED);
  define_int ("error/unexpected-packet-length",
              GNUTLS_E_UNEXPECTED_PACKET_LENGTH);
  define_int ("error/decryption-failed", GNUTLS_E_DECRYPTION_FAILED);
  define_int ("error/no-certificate-found", GNUTLS_E_NO_CERTIFICATE_FOUND);
  define_int ("error/certificate-required", GNUTLS_E_CERTIFICATE_REQUIRED);
  define_int ("error/invalid-session", GNUTLS_E_INVALID_SESSION);
#ifndef SCM_MAGIC_SNARFER
#include "tls-session.x"
#endif
}
