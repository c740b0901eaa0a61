/* tls.h -- declarations shared by the TLS files of libguile-net:
   credentials (tls-credentials.c), sessions (tls-session.c), the record
   port (tls-port.c) and X.509 helpers (tls-x509.c).  */

#ifndef GUILE_NET_TLS_H
#define GUILE_NET_TLS_H

#include "guile-net.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>

/* error.c (TLS section): raise a TLS condition for GnuTLS error CODE from
   SUBR; ALERT is the alert received (gnutls_alert_description_t) or -1.  */
SCM_NORETURN void gn_raise_tls_error (const char *subr, int code, int alert);
/* The alert ALERT as a symbol such as unknown-ca, or #f.  */
SCM gn_tls_alert_symbol (int alert);
/* The reasons in verification STATUS, as a list of symbols.  */
SCM gn_tls_status_reasons (unsigned status);
/* Raise a verification condition: STATUS holds gnutls_certificate_status_t
   bits, HOST is the name checked (or NULL).  */
SCM_NORETURN void gn_raise_tls_verification_error (const char *subr,
                                                   unsigned status,
                                                   const char *host);
/* A &tls-priority-error: GnuTLS rejected PRIORITIES, whose UTF-8 copy
   UTF8 it parsed, at WHERE (its error position, a pointer into UTF8).  */
SCM_NORETURN void gn_raise_tls_priority_error (const char *subr,
                                               SCM priorities,
                                               const char *utf8,
                                               const char *where);

/* tls-credentials.c.  Credentials are shared by sessions and freed by
   whichever of their finalizer and the last session's finalizer runs last
   (Guile finalizers run in no particular order), hence the count.  */
typedef struct
{
  gnutls_certificate_credentials_t cred;
  int refs;                     /* atomic: the Scheme object + sessions */
  int explicit_trust;           /* a trust file or data was given */
  int system_trust;             /* the system trust store was loaded */
} gn_tls_cred;
extern SCM gn_tls_credentials_type;
gn_tls_cred *gn_to_tls_cred (SCM obj, const char *subr, int pos);
void gn_tls_cred_ref (gn_tls_cred *c);
void gn_tls_cred_unref (gn_tls_cred *c);
/* Load the system trust store into C unless trust was given or it is
   already loaded.  */
void gn_tls_cred_ensure_trust (gn_tls_cred *c, const char *subr);
/* The per-process default client credentials (system trust).  */
SCM gn_tls_default_credentials (void);
/* Convert x509-certificate-format/pem or /der.  */
gnutls_x509_crt_fmt_t gn_tls_to_format (SCM fmt, const char *subr, int pos);
void gn_init_tls_credentials (void);

/* tls-session.c.  */
struct gn_cred_link
{
  gn_tls_cred *cred;
  struct gn_cred_link *next;
};

typedef struct
{
  gnutls_session_t s;
  unsigned int init_flags;      /* GNUTLS_CLIENT, GNUTLS_NONBLOCK, ... */
  int user_nonblock;            /* made with connection-flag/nonblock */
  int is_server;
  int fd;                       /* transport descriptor, or -1 */
  SCM transport;                /* the transport port, or #f */
  SCM credentials;              /* the credentials object last set */
  struct gn_cred_link *creds;   /* every credentials set, for unref */
  SCM server_name_handler;      /* procedure: name -> credentials or #f */
  SCM pending;                  /* (key . args) thrown in a callback */
  SCM record_port;              /* the record port, once made */
  char *server_name;            /* client: what we sent (malloc) */
  int verify_peer;              /* client: verify during handshake */
  int verify_armed;             /* gnutls_session_set_verify_cert done */
  /* The host name and key purpose a client checks; GnuTLS keeps a pointer
     to this array (gnutls_session_set_verify_cert2), so it lives here.  */
  gnutls_typed_vdata_st verify_data[2];
  int handshake_done;
  int failed;                   /* a fatal error made it unusable */
  int send_pending;             /* a record send was interrupted */
  int last_errno;               /* errno of the last transport failure */
  int verify_failed;            /* server: our client check failed */
  unsigned int verify_status;   /* ... with these status bits */
  int client_cert;              /* server: GNUTLS_CERT_IGNORE/REQUEST/... */
  int64_t timeout_ns;           /* per operation; -1 is none */
  /* When an operation waiting in a suspendable-port waiter must end,
     counted from its first "would block"; 0 when none is waiting.  */
  int64_t wait_deadline;
  /* DTLS (dtls.c).  */
  struct gn_dtls_peer *dtls_peer; /* a dtls-server's session: its peer */
  SCM dtls_server;              /* ... and its server, or #f */
  gnutls_packet_t held_packet;  /* a message too large for the last buffer */
} gn_tls_session;
extern SCM gn_tls_session_type;
gn_tls_session *gn_to_tls_session (SCM obj, const char *subr, int pos);
/* True when operations on SESSION should report "would block" rather than
   wait: the session was made with connection-flag/nonblock or its
   transport descriptor is O_NONBLOCK.  */
int gn_tls_nonblocking (gn_tls_session *t);
/* After a GnuTLS call returned CODE < 0: raise the right condition (TLS,
   system error for a transport failure, or what a callback threw).  */
SCM_NORETURN void gn_tls_fail (SCM session, gn_tls_session *t, int code,
                               const char *subr);
/* Wait for the transport in the direction GnuTLS needs, or raise a
   timeout condition once DEADLINE passes.  */
/* An operation on non-blocking session T would block and is to wait in a
   waiter: start its clock, or raise a timeout naming OPERATION if its time
   has run out.  gn_tls_wait_end stops the clock when it made progress.  */
void gn_tls_wait_begin (SCM session, gn_tls_session *t, const char *subr,
                        const char *operation);
void gn_tls_wait_end (gn_tls_session *t);
void gn_tls_wait (SCM session, gn_tls_session *t, int64_t deadline,
                  const char *subr, const char *operation);
/* Send or receive one record's worth; loop on "again" while blocking.
   Return -1 (errno-free) when the session is non-blocking or NOWAIT and
   the transport would block.  */
ssize_t gn_tls_send (SCM session, gn_tls_session *t, const char *data,
                     size_t len, int nowait, const char *subr);
ssize_t gn_tls_recv (SCM session, gn_tls_session *t, char *data, size_t len,
                     int nowait, const char *subr);
/* Send close_notify (HOW is GNUTLS_SHUT_WR or _RDWR) until DEADLINE; when
   QUIET, return the GnuTLS result instead of raising.  */
int gn_tls_bye (SCM session, gn_tls_session *t, int how, int64_t deadline,
                int quiet, const char *subr);
/* Receive one whole record as a packet (DTLS: one message), with the same
   waiting as gn_tls_recv; *PACKET is NULL when the peer closed.  */
ssize_t gn_tls_recv_packet (SCM session, gn_tls_session *t,
                            gnutls_packet_t *packet, int nowait,
                            const char *subr);
/* One non-blocking step of a server's handshake, never raising: 0 when
   done, GNUTLS_E_AGAIN to wait for the peer, or a fatal code after which
   the session is unusable (the peer was sent an alert).  */
int gn_tls_handshake_step (SCM session, gn_tls_session *t);
/* Which way an interrupted operation waits: 0 read, 1 write (GnuTLS's
   record direction, corrected for DTLS handshakes).  */
int gn_tls_direction (gn_tls_session *t);
/* When a waiting DTLS operation must wake up for GnuTLS's retransmission
   timer, or GN_NO_DEADLINE (not DTLS).  */
int64_t gn_tls_retransmit_deadline (gn_tls_session *t);
/* True unless the session's transport port was closed.  */
int gn_tls_transport_open (gn_tls_session *t);
/* Re-raise an exception a callback caught, if any.  */
void gn_tls_rethrow_pending (gn_tls_session *t);
void gn_init_tls_session (void);
/* Primitives dtls.c builds server sessions with.  */
SCM gn_make_session (SCM end, SCM flags);
SCM gn_set_session_credentials (SCM session, SCM cred);
SCM gn_set_session_client_certificate_request (SCM session, SCM request);
SCM gn_set_session_alpn_protocols (SCM session, SCM protocols);
SCM gn_set_session_timeout (SCM session, SCM seconds);

/* dtls.c.  */
void gn_init_dtls (void);

/* tls-port.c.  */
SCM gn_tls_make_record_port (SCM session, SCM close);
void gn_init_tls_port (void);

/* tls-x509.c.  */
void gn_init_tls_x509 (void);

#endif /* GUILE_NET_TLS_H */
