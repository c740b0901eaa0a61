/* tls-ops.c -- a TLS session's operations, as (net tls) calls them:
   handshake, rehandshake, reauthenticate, bye, alerts, records sent and
   received, session data.  Each is a step of the one driver (tls-io.c)
   with the arguments and checks of its procedure.  */

#include "tls.h"

#include <errno.h>
#include <string.h>

struct alert_args
{
  gnutls_alert_level_t level;
  gnutls_alert_description_t description;
};

static ssize_t
alert_step (gn_tls_session *t, void *args)
{
  struct alert_args *a = args;
  /* A record an interrupted record-send left with GnuTLS goes first.  */
  if (t->send_pending && !t->alert_pending)
    {
      ssize_t r = gnutls_record_send (t->s, NULL, 0);
      t->send_pending = r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED;
      if (r < 0)
        return r;
    }
  /* Called again after "again", GnuTLS sends the alert it holds rather
     than a second one.  */
  int rc = gnutls_alert_send (t->s, a->level, a->description);
  t->send_pending = t->alert_pending =
    rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
  return rc;
}

static ssize_t
session_data_step (gn_tls_session *t, void *datum)
{
  return gnutls_session_get_data2 (t->s, datum);
}

/* A session procedure's operation.  */
static ssize_t
drive_session (SCM session, gn_tls_session *t, const char *subr,
               const char *name, gn_tls_step step, void *args)
{
  gn_tls_io io;
  gn_tls_io_init (&io, t, subr, name, step, args, GN_TLS_AUTO);
  return gn_tls_drive (session, t, &io);
}

/* ---- session procedures ------------------------------------------------ */

/* The operations (net tls) waits for, by the name Scheme gives them:
   the procedure a timeout names, the operation, its side.  */
static const struct
{
  const char *kind, *subr, *name;
  int side;
} operations[] = {
  { "handshake", "handshake", "handshake", 0 },
  { "rehandshake", "rehandshake", "handshake", 0 },
  { "reauthenticate", "reauthenticate", "handshake", 0 },
  { "bye", "bye", "bye", 1 },
  { "alert", "alert-send", "write", 1 },
  { "read", "record-receive!", "read", 0 },
  { "write", "record-send", "write", 1 },
  { "port-read", "tls-record-port-read", "read", 0 },
  { "port-write", "tls-record-port-write", "write", 1 },
  { "receive", "dtls-receive!", "read", 0 },
  { "send", "dtls-send", "write", 1 },
};

SCM_DEFINE (gn_session_operation, "%session-operation", 2, 0, 0,
            (SCM session, SCM kind),
            "Internal: operation @var{kind} on @var{session}\n"
            "(@code{handshake}, @code{rehandshake}, @code{reauthenticate},\n"
            "@code{bye}, @code{read}, @code{write},\n"
            "@code{port-read}, @code{port-write}, @code{receive},\n"
            "@code{send}) is to wait in a waiter: return its wait port, its\n"
            "clock started.")
#define FUNC_NAME s_gn_session_operation
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_symbol (kind))
    gn_wrong_type (FUNC_NAME, 2, kind);
  for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++)
    if (scm_is_eq (kind, scm_from_utf8_symbol (operations[i].kind)))
      return gn_tls_operation (session, t, operations[i].subr,
                               operations[i].name, operations[i].side);
  gn_out_of_range (FUNC_NAME, 2, kind);
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_time_left, "session-time-left", 1, 0, 0,
            (SCM session),
            "For a scheduler's waiter: return how many seconds the operation\n"
            "now waiting on @var{session} (or on its record port) has left\n"
            "before it must be resumed, or @code{#f} when it has no limit;\n"
            "with nothing waiting, what an operation starting now would have.\n"
            "Resumed after that time, the operation raises its\n"
            "@code{&net-timeout} (a DTLS handshake resends its flight).")
#define FUNC_NAME s_gn_session_time_left
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  int64_t a = gn_tls_deadline (t, 0), b = gn_tls_deadline (t, 1);
  return gn_seconds_left (a < b ? a : b);
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
  /* Called again while a failure's alert is being delivered: go on
     with that.  */
  if (!t->linger_until)
    {
      gn_tls_check_usable (session, t, FUNC_NAME);
      gn_tls_prepare_handshake (session, t, FUNC_NAME);
      t->status_cached = 0;
    }
  ssize_t rc = drive_session (session, t, FUNC_NAME, "handshake",
                              gn_tls_handshake_step, NULL);
  scm_remember_upto_here_1 (session);
  return rc == GN_TLS_WOULD_BLOCK ? gn_would_block : SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_rehandshake, "%rehandshake", 1, 0, 0, (SCM session),
            "On server @var{session}, after its handshake: ask the client\n"
            "for a new handshake and perform it (TLS 1.2 renegotiation,\n"
            "RFC 5746 safe renegotiation only), verifying a client\n"
            "certificate as the first handshake did; data the client sends\n"
            "meanwhile is kept for later reads.  A client that declines\n"
            "raises a non-fatal TLS error with alert\n"
            "@code{no-renegotiation}.  Under TLS 1.3, which has no\n"
            "renegotiation, update the traffic keys and ask the client to\n"
            "update its own, as GnuTLS does.  Our clients answer during\n"
            "their reads.  On a client, an error.")
#define FUNC_NAME "rehandshake"   /* wrapped by (net tls) */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!t->linger_until)
    {
      gn_tls_check_handshaken (session, t, FUNC_NAME);
      if (!t->is_server)
        gn_raise_tls_error_message
          (FUNC_NAME, GNUTLS_E_INVALID_REQUEST,
           scm_from_utf8_string ("only a server asks for a new handshake; "
                                 "a client answers its server's request "
                                 "during a read"));
      gn_tls_arm_client_verification (session, t, FUNC_NAME);
      t->status_cached = 0;
    }
  ssize_t rc = drive_session (session, t, FUNC_NAME, "handshake",
                              gn_tls_rehandshake_step, NULL);
  scm_remember_upto_here_1 (session);
  return rc == GN_TLS_WOULD_BLOCK ? gn_would_block : SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_reauthenticate, "%reauthenticate", 1, 0, 0, (SCM session),
            "On server @var{session}, under TLS 1.3: ask the client for its\n"
            "certificate now (post-handshake authentication), receive it and\n"
            "verify it against the credentials' trust; afterwards\n"
            "@code{session-peer-certificate-chain} returns it.  Both ends\n"
            "must have been made with\n"
            "@code{connection-flag/post-handshake-auth}, and the server must\n"
            "have asked for certificates with\n"
            "@code{set-session-client-certificate-request!}.  A client\n"
            "answers during its reads, by itself; on a client this raises an\n"
            "error saying so.")
#define FUNC_NAME "reauthenticate"   /* wrapped by (net tls) */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!t->linger_until)
    {
      gn_tls_check_handshaken (session, t, FUNC_NAME);
      const char *why = NULL;
      if (!t->is_server)
        why = (t->init_flags & GNUTLS_POST_HANDSHAKE_AUTH)
          ? "no request of the server is pending: a client answers the "
          "server's request by itself, during a read"
          : "this client was made without "
          "connection-flag/post-handshake-auth, so it offers no "
          "post-handshake authentication";
      else if (gnutls_protocol_get_version (t->s) != GNUTLS_TLS1_3)
        why = "post-handshake authentication needs TLS 1.3; under TLS 1.2 "
          "use rehandshake";
      else if (!(t->init_flags & GNUTLS_POST_HANDSHAKE_AUTH))
        why = "this server session was made without "
          "connection-flag/post-handshake-auth";
      else if (!(gnutls_session_get_flags (t->s)
                 & GNUTLS_SFLAGS_POST_HANDSHAKE_AUTH))
        why = "the client did not offer post-handshake authentication "
          "(a client offers it when made with "
          "connection-flag/post-handshake-auth)";
      else if (t->client_cert == GNUTLS_CERT_IGNORE)
        why = "ask for a certificate first, with "
          "set-session-client-certificate-request! (request or require)";
      if (why != NULL)
        gn_raise_tls_error_message (FUNC_NAME, GNUTLS_E_INVALID_REQUEST,
                                    scm_from_utf8_string (why));
      gn_tls_arm_client_verification (session, t, FUNC_NAME);
      t->status_cached = 0;
    }
  ssize_t rc = drive_session (session, t, FUNC_NAME, "handshake",
                              gn_tls_reauth_step, NULL);
  scm_remember_upto_here_1 (session);
  return rc == GN_TLS_WOULD_BLOCK ? gn_would_block : SCM_UNSPECIFIED;
}
#undef FUNC_NAME

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
  gn_tls_check_usable (session, t, FUNC_NAME);
  gnutls_close_request_t request = (gnutls_close_request_t) h;
  ssize_t rc = drive_session (session, t, FUNC_NAME, "bye", gn_tls_bye_step,
                              &request);
  return rc == GN_TLS_WOULD_BLOCK ? gn_would_block : SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_alert_send, "%alert-send", 3, 0, 0,
            (SCM session, SCM level, SCM description),
            "Send the peer of @var{session} an alert of @var{level}\n"
            "(@code{alert-level/warning} or @code{alert-level/fatal}) and\n"
            "@var{description} (an @code{alert-description/} value, such as\n"
            "@code{alert-description/user-canceled}).  It waits, times out\n"
            "and raises as @code{record-send} does.  GnuTLS does not end the\n"
            "session after a fatal alert: close it (the peer will).")
#define FUNC_NAME "alert-send"   /* wrapped by (net tls) */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  struct alert_args a;
  a.level = (gnutls_alert_level_t) gn_name_value (GN_ALERT_LEVEL, level,
                                                  FUNC_NAME, 2);
  a.description = (gnutls_alert_description_t)
    gn_name_value (GN_ALERT_DESCRIPTION, description, FUNC_NAME, 3);
  gn_tls_check_usable (session, t, FUNC_NAME);
  ssize_t rc = drive_session (session, t, FUNC_NAME, "write", alert_step,
                              &a);
  return rc == GN_TLS_WOULD_BLOCK ? gn_would_block : SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_open_record_port, "%session-open-record-port", 1, 0,
            0, (SCM session),
            "Internal: the record port of @var{session} if it has an open\n"
            "one, else @code{#f}.")
#define FUNC_NAME s_gn_session_open_record_port
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_is_true (t->record_port) && SCM_OPPORTP (t->record_port)
    ? t->record_port : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_send, "%record-send", 2, 0, 0, (SCM session, SCM bv),
            "Send the contents of bytevector @var{bv} over @var{session}\n"
            "and return the number of bytes sent (at most one record, 16\n"
            "KiB).  On a non-blocking session that would block, raise the\n"
            "non-fatal @code{error/again}; call again with the same data.")
#define FUNC_NAME "record-send"   /* wrapped by (net tls) */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bytevector (bv))
    gn_wrong_type (FUNC_NAME, 2, bv);
  /* Nothing to send: GnuTLS would answer GNUTLS_E_INVALID_REQUEST, a
     fatal error that invalidates the whole session.  */
  if (SCM_BYTEVECTOR_LENGTH (bv) == 0)
    return scm_from_int (0);
  gn_tls_check_handshaken (session, t, FUNC_NAME);
  struct gn_tls_send_args a = { (const char *) SCM_BYTEVECTOR_CONTENTS (bv),
                                SCM_BYTEVECTOR_LENGTH (bv) };
  ssize_t n = drive_session (session, t, FUNC_NAME, "write",
                             gn_tls_send_step, &a);
  scm_remember_upto_here_1 (bv);
  return n == GN_TLS_WOULD_BLOCK ? gn_would_block : scm_from_ssize_t (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_record_receive, "%record-receive!", 2, 0, 0,
            (SCM session, SCM bv),
            "Receive data from @var{session} into bytevector @var{bv} and\n"
            "return the number of bytes received, 0 when the peer closed the\n"
            "session cleanly.  A connection cut without close_notify raises\n"
            "a TLS error (@code{tls-premature-termination?}).  On a\n"
            "non-blocking session with nothing to read, raise the non-fatal\n"
            "@code{error/again}.")
#define FUNC_NAME "record-receive!"   /* wrapped by (net tls) */
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!scm_is_bytevector (bv))
    gn_wrong_type (FUNC_NAME, 2, bv);
  /* Nothing to receive into: return 0 without touching the session, as
     read (2) does with a count of 0 (GnuTLS would fail and invalidate
     the session).  */
  if (SCM_BYTEVECTOR_LENGTH (bv) == 0)
    return scm_from_int (0);
  gn_tls_check_readable (session, t, FUNC_NAME);
  t->port_reads = 0;
  struct gn_tls_recv_args a = { (char *) SCM_BYTEVECTOR_CONTENTS (bv),
                                SCM_BYTEVECTOR_LENGTH (bv), NULL };
  ssize_t n = drive_session (session, t, FUNC_NAME, "read",
                             gn_tls_recv_step, &a);
  scm_remember_upto_here_1 (bv);
  return n == GN_TLS_WOULD_BLOCK ? gn_would_block : scm_from_ssize_t (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_data, "session-data", 1, 0, 0, (SCM session),
            "Return the data a client needs to resume @var{session} later, a\n"
            "bytevector, for @code{set-session-data!} on a new session to the\n"
            "same server, or @code{#f} when there is none yet.  Under TLS\n"
            "1.3 the server sends it after the handshake; GnuTLS waits\n"
            "briefly for it.")
#define FUNC_NAME s_gn_session_data
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  gn_tls_check_handshaken (session, t, FUNC_NAME);
  gnutls_datum_t d = { NULL, 0 };
  gn_tls_io io;
  /* GnuTLS does the brief wait for a ticket itself; "again" after it
     means there is none.  */
  gn_tls_io_init (&io, t, FUNC_NAME, "read", session_data_step, &d,
                  GN_TLS_SUSPEND);
  if (gn_tls_drive (session, t, &io) < 0)
    return SCM_BOOL_F;
  SCM bv = scm_c_make_bytevector (d.size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), d.data, d.size);
  gnutls_free (d.data);
  return bv;
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
            "such as @code{close-notify} or @code{unknown-ca}, or @code{#f}\n"
            "if none was received.")
#define FUNC_NAME s_gn_alert_get
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->s == NULL)
    return SCM_BOOL_F;
  /* GnuTLS says close_notify (0) before any alert came in.  */
  int alert = gnutls_alert_get (t->s);
  if (alert == GNUTLS_A_CLOSE_NOTIFY && !t->alert_received)
    return SCM_BOOL_F;
  return gn_tls_alert_symbol (alert);
}
#undef FUNC_NAME

void
gn_init_tls_ops (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-ops.x"
#endif
}
