/* tls-io.c -- a TLS session's I/O: the one driver of GnuTLS calls.

   Every GnuTLS call that can wait (handshake, bye, record send and
   receive, DTLS messages, session data) is a step run by gn_tls_drive,
   with one rule for what GnuTLS answers:
   - INTERRUPTED, a warning alert, a client's renegotiation request to a
     server (declined by ignoring it): run asyncs and call again; a
     client asked by its server to renegotiate (TLS 1.2) or to
     authenticate (TLS 1.3, post-handshake) answers in the middle of the
     read that found the request (gn_tls_recv_step);
   - AGAIN: decrypted data GnuTLS already holds is read first; otherwise,
     by the operation's mode, wait here (wait.c, bounded by the session's
     timeout, waking for DTLS retransmissions), return GN_TLS_WOULD_BLOCK
     so (net wait) waits in a suspendable-port waiter, or raise the
     non-fatal error/again as guile-gnutls does;
   - anything else is a failure: a handshake that fails sends the peer an
     alert first, and the session is unusable.
   GnuTLS itself never blocks: the transport callbacks (tls-transport.c)
   say EAGAIN and the driver decides.  */

#include "tls.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

/* ---- failures --------------------------------------------------------- */

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
  /* Later reads report the truncation too, not an invalid session.  */
  if (code == GNUTLS_E_PREMATURE_TERMINATION)
    t->truncated = 1;
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
  if (t->kinds != 0 && !t->handshake_done)
    gn_tls_kind_failure (t, code, alert, subr);
  scm_remember_upto_here_1 (session);
  gn_raise_tls_error (subr, code, alert);
}

void
gn_tls_check_usable (SCM session, gn_tls_session *t, const char *subr)
{
  if (t->s == NULL)
    gn_raise_tls_error (subr, GNUTLS_E_INVALID_SESSION, -1);
  if (t->failed)
    gn_raise_tls_error (subr, GNUTLS_E_INVALID_SESSION, -1);
  if (t->fd < 0 && scm_is_false (t->transport))
    gn_raise_state_error (subr, "no transport: use set-session-transport-fd! "
                          "or set-session-transport-port! first", session);
  /* Its descriptor may since have been reused for something else.  */
  if (!gn_tls_transport_open (t))
    gn_syserror_errno (subr, EBADF);
}

void
gn_tls_check_handshaken (SCM session, gn_tls_session *t, const char *subr)
{
  gn_tls_check_usable (session, t, subr);
  if (!t->handshake_done)
    gn_raise_state_error (subr, "the handshake has not been done", session);
}

void
gn_tls_check_readable (SCM session, gn_tls_session *t, const char *subr)
{
  if (t->truncated)
    gn_raise_tls_error (subr, GNUTLS_E_PREMATURE_TERMINATION, -1);
  gn_tls_check_handshaken (session, t, subr);
}

/* ---- the handshake's verification ------------------------------------- */

void
gn_tls_forget_status (gn_tls_session *t)
{
  t->status_cached = 0;
}

/* Verification of the peer found STATUS: keep a success for
   peer-certificate-status (see status_cached in tls.h); a failure ends
   the handshake, its status kept to say why.  */
static int
note_verified (gn_tls_session *t, unsigned int status)
{
  if (status != 0)
    {
      t->verify_status = status;
      t->verify_failed = 1;
      t->status_cached = 0;
      return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
    }
  if (scm_is_true (t->credentials))
    {
      gn_tls_cred *c = scm_foreign_object_ref (t->credentials, 0);
      t->status_cred = c;
      t->status_generation = gn_tls_cred_generation (c);
      t->status_time = time (NULL);
      t->status_value = 0;
      t->status_cached = 1;
    }
  return 0;
}

/* Called by GnuTLS on a client once the server's certificate arrived, at
   every handshake of the session: the chain against the credentials'
   trust, the server name and the key purpose (t->verify_data), as
   GnuTLS's own gnutls_session_set_verify_cert2 does, keeping the
   result.  */
static int
verify_server (gnutls_session_t s)
{
  gn_tls_session *t = gnutls_session_get_ptr (s);
  unsigned int status = 0;
  if (gnutls_certificate_verify_peers (s, t->verify_data, 2, &status) < 0)
    return GNUTLS_E_CERTIFICATE_ERROR;
  return note_verified (t, status);
}

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
  return note_verified (t, status);
}

/* A resumed handshake verifies nothing: the peer sends no certificate,
   and GnuTLS takes the one of the original session from the session
   data (a client's saved data, a server's ticket), whatever name and
   trust it was checked against then, or whether it was checked at all.
   So check it against this session's settings, as a full handshake would
   have: 0 when it passes, else the error that ends the handshake (its
   status kept to say why).  RFC 8446, 4.6.1: a client resumes only with
   a server that is valid for the certificate of the original session.  */
static int
verify_resumed (gn_tls_session *t)
{
  if (!gnutls_session_is_resumed (t->s))
    return 0;
  unsigned int status = 0, n = 0;
  if (!t->is_server)
    {
      if (!t->verify_peer)
        return 0;
      /* The name and key purpose the full handshake checks.  */
      if (gnutls_certificate_verify_peers (t->s, t->verify_data, 2,
                                           &status) < 0)
        status |= GNUTLS_CERT_INVALID;   /* no certificate at all */
      return note_verified (t, status);
    }
  else
    {
      if (t->client_cert == GNUTLS_CERT_IGNORE)
        return 0;
      if (gnutls_certificate_get_peers (t->s, &n) == NULL || n == 0)
        /* What GnuTLS says of a full handshake without one.  */
        return t->client_cert != GNUTLS_CERT_REQUIRE ? 0
          : gnutls_protocol_get_version (t->s) == GNUTLS_TLS1_3
          ? GNUTLS_E_CERTIFICATE_REQUIRED : GNUTLS_E_NO_CERTIFICATE_FOUND;
      return verify_client (t->s);
    }
}

/* Before a client's first handshake: default credentials, trust and the
   verification GnuTLS does during the handshake.  */
void
gn_tls_prepare_handshake (SCM session, gn_tls_session *t, const char *subr)
{
  if (t->verify_armed)
    return;
  if (scm_is_false (t->credentials) && t->kinds != 0)
    {
      /* Only anonymous, PSK or SRP credentials: no certificate to check
         (and none accepted: GnuTLS refuses a certificate key exchange
         without certificate credentials).  */
      t->verify_armed = 1;
      return;
    }
  if (scm_is_false (t->credentials))
    {
      if (t->is_server)
        gn_raise_state_error (subr, "a server session needs credentials: "
                              "use set-session-credentials!", session);
      SCM d = gn_tls_default_credentials ();
      gn_tls_attach_credentials (t, d, scm_foreign_object_ref (d, 0), subr);
    }
  gn_tls_cred *c = scm_foreign_object_ref (t->credentials, 0);
  if (!t->is_server && t->verify_peer)
    {
      if (t->server_name == NULL)
        gn_raise_state_error (subr, "cannot verify the server without its "
                              "name: use set-session-server-name! (or turn "
                              "verification off explicitly with "
                              "set-session-verify-peer!)", session);
      gn_tls_cred_ensure_trust (c, subr);
      /* GnuTLS keeps a pointer to this array, not a copy, for the whole
         session: it lives in the session.  */
      t->verify_data[0].type = GNUTLS_DT_DNS_HOSTNAME;
      t->verify_data[0].data = (unsigned char *) t->server_name;
      t->verify_data[0].size = 0;
      t->verify_data[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
      t->verify_data[1].data = (unsigned char *) GNUTLS_KP_TLS_WWW_SERVER;
      t->verify_data[1].size = 0;
      gnutls_session_set_verify_function (t->s, verify_server);
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
   transport may be gone or full.  Return 1 if an alert went out.  */
static int
send_failure_alert (gn_tls_session *t, int rc)
{
  if (rc == GNUTLS_E_PUSH_ERROR || rc == GNUTLS_E_PULL_ERROR
      || rc == GNUTLS_E_PREMATURE_TERMINATION
      || rc == GNUTLS_E_FATAL_ALERT_RECEIVED || scm_is_pair (t->pending))
    return 0;
  int sent;
  unsigned int status = 0, n = 0;
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
      sent = gnutls_alert_send (t->s, GNUTLS_AL_FATAL, a);
    }
  else if (t->is_server && rc == GNUTLS_E_NO_CERTIFICATE_FOUND
           && (gnutls_certificate_get_peers (t->s, &n) == NULL || n == 0))
    /* A TLS 1.2 client without the certificate we require: GnuTLS would
       say decode_error; RFC 5246, 7.4.6, says handshake_failure.  */
    sent = gnutls_alert_send (t->s, GNUTLS_AL_FATAL,
                              GNUTLS_A_HANDSHAKE_FAILURE);
  else
    sent = gnutls_alert_send_appropriate (t->s, rc);
  t->pending = SCM_BOOL_F;
  return sent >= 0;
}

/* How long a failed handshake waits for the peer to take its alert.  */
#define LINGER_NS ((int64_t) 200 * 1000000)

/* The alert must reach the peer, not a reset.  A socket closed with
   input unread resets the connection and drops what it has not sent yet,
   such as an alert that Nagle's algorithm holds back until the peer
   acknowledges earlier data: the peer then sees ECONNRESET or a premature
   termination instead of why we refused.  So shut down writing, which
   sends the alert and a FIN at once, and read and discard until the peer
   closes too (having read the alert) or LINGER_NS pass; only then does
   the handshake raise, and the caller close.  The reading is a step of
   the handshake operation, waiting as the operation does (linger_step).
   Connected stream sockets only.  Return 1 if lingering began.  */
static int
begin_linger (gn_tls_session *t, int code)
{
  if (t->fd < 0 || (t->init_flags & GNUTLS_DATAGRAM)
      || shutdown (t->fd, SHUT_WR) < 0)
    return 0;
  t->linger_code = code;
  t->linger_until = gn_deadline_after_ns (LINGER_NS);
  return 1;
}

/* Read and discard until the peer closes, the connection fails or time
   is up: then end lingering and return the error the handshake raises;
   GNUTLS_E_AGAIN while the peer may still close.  */
static ssize_t
linger_step (gn_tls_session *t)
{
  char buf[4096];
  while (gn_tls_transport_open (t) && gn_now_ns () < t->linger_until)
    {
      ssize_t r = recv (t->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0 || (r < 0 && errno == EINTR))
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return GNUTLS_E_AGAIN;
      break;
    }
  t->linger_until = 0;
  return t->linger_code;
}

/* A server about to verify a client certificate after the first
   handshake: the client may have been asked for none then.  */
void
gn_tls_arm_client_verification (SCM session, gn_tls_session *t, const char *subr)
{
  if (!t->is_server || t->client_cert == GNUTLS_CERT_IGNORE
      || scm_is_false (t->credentials))
    return;
  gn_tls_cred_ensure_trust (scm_foreign_object_ref (t->credentials, 0),
                            subr);
  gnutls_session_set_verify_function (t->s, verify_client);
}

/* ---- waiting ---------------------------------------------------------- */

gn_tls_mode
gn_tls_mode_of (gn_tls_session *t, int port)
{
  if (t->fd < 0)
    return GN_TLS_WAIT;   /* a port transport blocks in the port itself */
  if (!t->user_nonblock && !gn_socket_nonblocking (t->transport, t->fd))
    return GN_TLS_WAIT;
  if (port || (!t->user_nonblock && gn_suspendable_ports_p ()))
    return GN_TLS_SUSPEND;
  return GN_TLS_AGAIN;
}

int
gn_tls_direction (gn_tls_session *t)
{
  /* A DTLS handshake that sent its flight waits for the answer (or its
     retransmission timer), though GnuTLS still says "write" then; a UDP
     socket is nearly always writable, so waiting for that would spin.  */
  if ((t->init_flags & GNUTLS_DATAGRAM) && !t->handshake_done)
    return 0;
  if (t->linger_until)
    return 0;   /* a failed handshake waits for the peer to close */
  return gnutls_record_get_direction (t->s);
}

int64_t
gn_tls_retransmit_deadline (gn_tls_session *t)
{
  /* Only handshake flights are resent on a timer: GnuTLS answers a
     retransmitted flight after the handshake by itself.  */
  if (!(t->init_flags & GNUTLS_DATAGRAM) || t->s == NULL || t->handshake_done)
    return GN_NO_LIMIT;
  unsigned int ms = gnutls_dtls_get_timeout (t->s);
  /* 0 means "due now", but GnuTLS also says 0 while a backed-off timer
     still runs (it measures from the initial timeout): then looking again
     shortly, not at once, keeps waits from spinning.  */
  if (ms == 0)
    ms = 20;
  return gn_deadline_after_ns ((int64_t) ms * 1000000);
}

/* Before each wait: the direction GnuTLS needs, and DTLS's timer.  */
static void
refresh_tls_op (gn_op *op)
{
  gn_tls_session *t = scm_foreign_object_ref (op->object, 0);
  op->events = gn_tls_direction (t) ? POLLOUT : POLLIN;
  op->wake_at = gn_tls_retransmit_deadline (t);
  if (t->linger_until)
    {
      /* Delivering the alert of a failed handshake: bounded by its own
         time, and ending with the handshake's error, not a timeout.  */
      op->wake_at = t->linger_until;
      op->deadline = GN_NO_LIMIT;
    }
}

static void
tls_op_init (gn_op *op, SCM session, gn_tls_session *t, const char *subr,
             const char *name, int64_t timeout)
{
  gn_op_init (op, subr, name, session, t->fd, POLLIN, timeout);
  op->refresh = refresh_tls_op;
  op->port = t->transport;
  /* Closing the record port closes this socket: a thread blocked in the
     session wakes.  */
  gn_socket *s = gn_port_socket (t->transport);
  if (s != NULL)
    op->waker = &s->blocked[strcmp (name, "write") == 0
                            || strcmp (name, "bye") == 0];
}

SCM
gn_tls_operation (SCM session, gn_tls_session *t, const char *subr,
                  const char *name, int side)
{
  gn_op op;
  tls_op_init (&op, session, t, subr, name, t->timeout_ns);
  if (side == 0 || side == 1)
    {
      /* A record port's own operations are handed the record port.  */
      if (scm_is_true (t->record_port) && SCM_OPPORTP (t->record_port)
          && (strcmp (name, "read") == 0 || strcmp (name, "write") == 0))
        op.port = t->record_port;
    }
  SCM wait = gn_make_wait_port (&op);
  t->waiting[side] = wait;
  return wait;
}

int64_t
gn_tls_deadline (gn_tls_session *t, int side)
{
  gn_op *op = gn_op_of_wait_port (t->waiting[side]);
  if (op != NULL && !op->ended)
    return gn_op_wake_deadline (op);
  if (t->linger_until)
    return t->linger_until;     /* a failed handshake's alert */
  int64_t d = gn_deadline_after_ns (t->timeout_ns);
  int64_t timer = gn_tls_retransmit_deadline (t);
  return timer < d ? timer : d;
}

/* ---- the driver ------------------------------------------------------- */

void
gn_tls_io_init (gn_tls_io *io, gn_tls_session *t, const char *subr,
                const char *name, gn_tls_step step, void *args,
                gn_tls_mode mode)
{
  io->subr = subr;
  io->name = name;
  io->step = step;
  io->args = args;
  io->mode = mode;
  io->quiet = 0;
  io->timeout = t->timeout_ns;
}

/* A read that would wait in C, whose session's last read had to wait for
   the peer, with nothing already received: in request/reply traffic the
   answer is not there yet, and trying first costs a recv that fails and
   GnuTLS's work around it (a record buffer allocated and freed).  Not
   after a datagram that held several records (GnuTLS may still hold the
   others), nor where the read may not wait here (the mode, decided now
   as the driver would after a failed try).  */
static int
wait_first (gn_tls_session *t, gn_tls_io *io)
{
  if (!(t->reads_wait && io->step == gn_tls_recv_step && !io->quiet
        && t->fd >= 0 && t->handshake_done && !t->linger_until
        && !t->answering && !t->renegotiation && !t->datagram_rest
        && gn_tls_ahead_bytes (t) == 0
        && gnutls_record_check_pending (t->s) == 0))
    return 0;
  if (io->mode == GN_TLS_AUTO || io->mode == GN_TLS_AUTO_PORT)
    io->mode = gn_tls_mode_of (t, io->mode == GN_TLS_AUTO_PORT);
  return io->mode == GN_TLS_WAIT;
}

/* A wait shorter than this found input already there.  */
#define READY_NS 10000

ssize_t
gn_tls_drive (SCM session, gn_tls_session *t, gn_tls_io *io)
{
  gn_op op;
  int waited = 0;
  if (wait_first (t, io))
    {
      tls_op_init (&op, session, t, io->subr, io->name, io->timeout);
      waited = 1;
      op.events = POLLIN;
      op.refresh = NULL;
      int64_t t0 = gn_now_ns ();
      gn_op_wait (&op);
      if (gn_now_ns () - t0 < READY_NS)   /* input was there already */
        t->reads_wait = 0;
      op.refresh = refresh_tls_op;
    }
  for (;;)
    {
      ssize_t rc = io->step (t, io->args);
      /* What GnuTLS logged during the step, now that it has returned.  */
      if (!io->quiet)
        gn_tls_log_deliver ();
      if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED
          || rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
        t->alert_received = 1;
      if (io->quiet)
        t->pending = SCM_BOOL_F;
      else
        gn_tls_rethrow_pending (t);
      if (rc >= 0)
        {
          /* Input that was there, or filled the whole buffer: the peer
             is streaming, so the next read tries first.  */
          if (io->step == gn_tls_recv_step
              && (!waited
                  || (size_t) rc == ((struct gn_tls_recv_args *) io->args)->len))
            t->reads_wait = 0;
          return rc;
        }
      /* The client refused the renegotiation we asked for: a warning
         alert that ends the operation, the session still usable.  */
      int declined = rc == GNUTLS_E_WARNING_ALERT_RECEIVED
        && io->step == gn_tls_rehandshake_step
        && gnutls_alert_get (t->s) == GNUTLS_A_NO_RENEGOTIATION;
      if (declined)
        t->renegotiation = 0;
      if (!declined
          && (rc == GNUTLS_E_INTERRUPTED
              || rc == GNUTLS_E_WARNING_ALERT_RECEIVED
              || rc == GNUTLS_E_REHANDSHAKE))
        {
          scm_async_tick ();
          continue;
        }
      if (rc == GNUTLS_E_AGAIN)
        {
          if (io->step == gn_tls_recv_step
              && gnutls_record_check_pending (t->s) > 0)
            continue;
          /* GnuTLS may answer AGAIN after a post-handshake message (a
             TLS 1.3 ticket) with the next record already read ahead.  */
          if (gn_tls_ahead_bytes (t) > 0)
            continue;
          /* A port transport blocks in the port: GnuTLS only looked
             whether input is ready, and the next call reads.  */
          if (t->fd < 0)
            continue;
          if (io->mode == GN_TLS_AUTO || io->mode == GN_TLS_AUTO_PORT)
            io->mode = gn_tls_mode_of (t, io->mode == GN_TLS_AUTO_PORT);
          if (io->mode == GN_TLS_SUSPEND)
            {
              /* Of many connections waiting under a scheduler, none
                 keeps a read-ahead buffer; a thread blocked in its read
                 keeps its own, as it keeps its stack.  Only the read
                 frees it: a write may run in another thread meanwhile.  */
              if (io->step == gn_tls_recv_step)
                gn_tls_release_ahead (t);
              return GN_TLS_WOULD_BLOCK;
            }
          if (io->mode == GN_TLS_AGAIN)
            {
              if (io->quiet)
                return rc;
              gn_raise_tls_error (io->subr, (int) rc, -1);
            }
          if (!waited)
            {
              tls_op_init (&op, session, t, io->subr, io->name, io->timeout);
              waited = 1;
            }
          if (io->step == gn_tls_recv_step)
            t->reads_wait = 1;
          if (!io->quiet)
            gn_op_wait (&op);
          else
            {
              refresh_tls_op (&op);
              if (!gn_wait_fd (op.fd, op.events, gn_op_wake_deadline (&op))
                  && gn_now_ns () >= op.deadline)
                return rc;
            }
          continue;
        }
      /* A failed handshake ends the session, and so does a failed
         renegotiation or post-handshake authentication, asked for or
         answered in a read.  */
      int lingers = io->step == gn_tls_handshake_step
        || io->step == gn_tls_rehandshake_step
        || io->step == gn_tls_reauth_step;
      if ((lingers || (io->step == gn_tls_recv_step && t->answering))
          && !declined && !t->failed)
        {
          t->failed = 1;
          t->answering = 0;
          t->renegotiation = 0;
          t->status_cached = 0;
          if (send_failure_alert (t, (int) rc) && !io->quiet && lingers
              && begin_linger (t, (int) rc))
            continue;      /* the step now waits for the peer to close */
        }
      if (io->quiet)
        return rc;
      gn_tls_fail (session, t, (int) rc, io->subr);
    }
}

/* ---- the steps -------------------------------------------------------- */

ssize_t
gn_tls_handshake_step (gn_tls_session *t, void *unused)
{
  if (t->linger_until)
    return linger_step (t);
  int rc = gnutls_handshake (t->s);
  if (rc == 0)
    rc = verify_resumed (t);
  if (rc == 0)
    t->handshake_done = 1;
  return rc;
}

/* A server's renegotiation (rehandshake): under TLS 1.2, send a
   HelloRequest, then run the handshake the client answers with, which
   verifies a client certificate as the first one did; records the
   client sends meanwhile stay in GnuTLS for later reads.  Under TLS 1.3
   there is no renegotiation: GnuTLS updates the traffic keys and asks
   the peer to update its own (gnutls_rehandshake's documented
   behaviour).  t->renegotiation keeps the step across calls: an
   operation left to a waiter is called again.  */
ssize_t
gn_tls_rehandshake_step (gn_tls_session *t, void *unused)
{
  if (t->linger_until)
    return linger_step (t);
  int rc;
  if (!t->renegotiation)
    {
      rc = gnutls_rehandshake (t->s);
      if (rc < 0 || gnutls_protocol_get_version (t->s) == GNUTLS_TLS1_3)
        return rc;
      t->renegotiation = 1;
    }
  rc = gnutls_handshake (t->s);
  if (rc == GNUTLS_E_GOT_APPLICATION_DATA)
    return GNUTLS_E_INTERRUPTED;
  if (rc == 0)
    rc = verify_resumed (t);
  if (rc == 0)
    t->renegotiation = 0;
  return rc;
}

/* TLS 1.3 post-handshake authentication, a server asking: send a
   CertificateRequest, receive and verify the client's certificate (the
   verification function of the session, verify_client).  */
ssize_t
gn_tls_reauth_step (gn_tls_session *t, void *unused)
{
  if (t->linger_until)
    return linger_step (t);
  int rc = gnutls_reauth (t->s, 0);
  return rc == GNUTLS_E_GOT_APPLICATION_DATA ? GNUTLS_E_INTERRUPTED : rc;
}

ssize_t
gn_tls_bye_step (gn_tls_session *t, void *how)
{
  gnutls_close_request_t h = *(gnutls_close_request_t *) how;
  int rc = gnutls_bye (t->s, h);
  if (rc == 0 && h == GNUTLS_SHUT_RDWR)
    t->alert_received = 1;      /* the peer's close_notify */
  return rc;
}

ssize_t
gn_tls_send_step (gn_tls_session *t, void *args)
{
  struct gn_tls_send_args *a = args;
  /* An alert GnuTLS holds (alert-send was interrupted) goes first: a
     call without data finishes it, and then this data are sent.  */
  if (t->alert_pending)
    {
      ssize_t r = gnutls_record_send (t->s, NULL, 0);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
        return r;
      t->alert_pending = t->send_pending = 0;
      if (r < 0)
        return r;
    }
  /* After an interrupted send GnuTLS wants the call repeated; the data it
     already encrypted is what gets sent, and its length returned.  */
  ssize_t rc = t->send_pending ? gnutls_record_send (t->s, NULL, 0)
    : gnutls_record_send (t->s, a->data, a->len);
  /* GnuTLS holds the record until a call finishes it, even one after an
     async, a timeout or a waiter unwound this one.  */
  t->send_pending = rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
  return rc;
}

ssize_t
gn_tls_recv_step (gn_tls_session *t, void *args)
{
  struct gn_tls_recv_args *a = args;
  if (t->answering)
    {
      /* The server asked; our answer goes on until it is done, waiting
         (and failing) as the read does.  A renegotiated server is
         verified as at the first handshake (verify_server), and GnuTLS
         refuses one whose certificate changed.  */
      int rc = t->answering == 1 ? gnutls_handshake (t->s)
        : gnutls_reauth (t->s, 0);
      if (rc == 0 && t->answering == 1)
        rc = verify_resumed (t);
      if (rc < 0)
        return rc;
      t->answering = 0;
    }
  ssize_t rc = a->packet ? gnutls_record_recv_packet (t->s, a->packet)
    : gnutls_record_recv (t->s, a->data, a->len);
  if (rc == 0)
    t->alert_received = 1;      /* the peer's close_notify */
  else if (!t->is_server
           && (rc == GNUTLS_E_REHANDSHAKE || rc == GNUTLS_E_REAUTH_REQUEST))
    {
      /* Renegotiation (TLS 1.2, safe renegotiation only: GnuTLS's
         default) or post-handshake authentication (TLS 1.3, offered
         only by a client made with connection-flag/post-handshake-auth):
         answer now, then read on.  */
      t->answering = rc == GNUTLS_E_REHANDSHAKE ? 1 : 2;
      t->status_cached = 0;
      rc = GNUTLS_E_INTERRUPTED;
    }
  return rc;
}

void
gn_init_tls_io (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-io.x"
#endif
}
