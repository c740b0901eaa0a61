/* tls.h -- declarations shared by the TLS files of libguile-net:
   credentials (tls-credentials.c); sessions: the object and settings
   (tls-session.c), transport callbacks (tls-transport.c), I/O through one
   driver (tls-io.c), information (tls-info.c), the record port
   (tls-port.c); X.509 helpers (tls-x509.c); DTLS (dtls.c).  */

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
/* A DTLS message of SIZE bytes does not fit LIMIT (the data MTU or the
   caller's buffer): raise &dtls-message-too-large.  */
SCM_NORETURN void gn_raise_dtls_message_too_large (const char *subr,
                                                   size_t size, size_t limit,
                                                   SCM session);
/* Raise the TLS error of GnuTLS result RC, if it is one.  */
void gn_tls_check (int rc, const char *subr);
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

/* tls-session.c: the session object and its settings.  */
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
  const gn_sockaddr *send_to;   /* where datagrams go, or NULL: connected */
  unsigned long sent;           /* datagrams (or writes) sent */
  int verify_failed;            /* server: our client check failed */
  unsigned int verify_status;   /* ... with these status bits */
  int client_cert;              /* server: GNUTLS_CERT_IGNORE/REQUEST/... */
  int64_t timeout_ns;           /* per operation; GN_NO_LIMIT is none */
  /* The wait ports of the latest operations left to a waiter (0: the
     handshake and reads, 1: bye and writes), or #f; closing the record
     port wakes them.  */
  SCM waiting[2];
  /* DTLS (dtls.c).  */
  struct gn_dtls_peer *dtls_peer; /* a dtls-server's session: its peer */
  SCM dtls_server;              /* ... and its server, or #f */
  gnutls_packet_t held_packet;  /* a message too large for the last buffer */
  /* Read-ahead (%set-session-read-ahead!, stream descriptor transports
     only): a pull takes what the socket holds in one recv, and keeps
     what GnuTLS did not ask for yet here (malloc), for the next pulls.  */
  int read_ahead;
  char *ahead;
  size_t ahead_len, ahead_off;
} gn_tls_session;
/* Bytes read ahead from the transport and not yet given to GnuTLS.  */
size_t gn_tls_ahead_bytes (gn_tls_session *t);
void gn_tls_drop_ahead (gn_tls_session *t);
extern SCM gn_tls_session_type;
gn_tls_session *gn_to_tls_session (SCM obj, const char *subr, int pos);
void gn_tls_attach_credentials (gn_tls_session *t, SCM cred_obj,
                                gn_tls_cred *c, const char *subr);
void gn_init_tls_session (void);
/* Primitives dtls.c builds server sessions with.  */
SCM gn_make_session (SCM end, SCM flags);
SCM gn_set_session_credentials (SCM session, SCM cred);
SCM gn_set_session_client_certificate_request (SCM session, SCM request);
SCM gn_set_session_alpn_protocols (SCM session, SCM protocols);
SCM gn_set_session_timeout (SCM session, SCM seconds);

/* tls-transport.c: the push and pull functions.  */
/* A descriptor transport FD for T (also a DTLS client's).  */
void gn_tls_use_fd_transport (gn_tls_session *t, int fd);
/* Keep what a Scheme callback threw (DATA is the session) for after
   GnuTLS returns; a scm_internal_catch handler.  */
SCM gn_tls_keep_pending (void *data, SCM key, SCM args);
/* True unless the session's transport port was closed.  */
int gn_tls_transport_open (gn_tls_session *t);
void gn_init_tls_transport (void);

/* tls-io.c: the one driver of GnuTLS calls.  What an operation does when
   the transport would block: */
typedef enum
{
  GN_TLS_WAIT,        /* wait here (wait.c), bounded by the timeout */
  GN_TLS_SUSPEND,     /* return GN_TLS_WOULD_BLOCK: (net wait) waits */
  GN_TLS_AGAIN,       /* raise the non-fatal error/again (guile-gnutls) */
  /* Decided when it first would block, by gn_tls_mode_of: asking
     whether the descriptor is non-blocking costs a system call.  */
  GN_TLS_AUTO,        /* as a session procedure */
  GN_TLS_AUTO_PORT    /* as the record port under suspendable ports */
} gn_tls_mode;
#define GN_TLS_WOULD_BLOCK GNUTLS_E_AGAIN
/* The mode of a session procedure on T: GN_TLS_WAIT on a blocking
   descriptor; on a non-blocking one GN_TLS_SUSPEND under suspendable
   ports (unless made with connection-flag/nonblock), else GN_TLS_AGAIN.
   PORT: for the record port, which always suspends when non-blocking.  */
gn_tls_mode gn_tls_mode_of (gn_tls_session *t, int port);
/* One GnuTLS call of an operation; its result or a GnuTLS error code.  */
typedef ssize_t (*gn_tls_step) (gn_tls_session *t, void *args);
typedef struct
{
  const char *subr;     /* the procedure errors and timeouts name */
  const char *name;     /* the operation: handshake, bye, read, write */
  gn_tls_step step;
  void *args;
  gn_tls_mode mode;
  /* Raise nothing (closing, the DTLS server): return GnuTLS's code,
     GNUTLS_E_AGAIN for "would block" or a timeout.  */
  int quiet;
  int64_t timeout;      /* GN_NO_LIMIT; the session's unless set */
} gn_tls_io;
/* Fill IO for operation NAME of SUBR with STEP in MODE.  */
void gn_tls_io_init (gn_tls_io *io, gn_tls_session *t, const char *subr,
                     const char *name, gn_tls_step step, void *args,
                     gn_tls_mode mode);
/* Run IO's step until it succeeds (its result), would block in
   GN_TLS_SUSPEND mode (GN_TLS_WOULD_BLOCK), or fails (raised unless
   quiet).  */
ssize_t gn_tls_drive (SCM session, gn_tls_session *t, gn_tls_io *io);
/* The steps.  */
ssize_t gn_tls_handshake_step (gn_tls_session *t, void *unused);
ssize_t gn_tls_send_step (gn_tls_session *t, void *send_args);
ssize_t gn_tls_recv_step (gn_tls_session *t, void *recv_args);
ssize_t gn_tls_bye_step (gn_tls_session *t, void *how);
struct gn_tls_send_args { const char *data; size_t len; };
/* Into DATA, or as one whole record into *PACKET when PACKET is set.  */
struct gn_tls_recv_args { char *data; size_t len; gnutls_packet_t *packet; };
/* Before the first handshake: credentials, trust, verification.  */
void gn_tls_prepare_handshake (SCM session, gn_tls_session *t,
                               const char *subr);
/* After a GnuTLS call returned CODE < 0: raise the right condition (TLS,
   system error for a transport failure, or what a callback threw).  */
SCM_NORETURN void gn_tls_fail (SCM session, gn_tls_session *t, int code,
                               const char *subr);
/* A &net-state-error unless SESSION can do I/O (has a transport), or
   has done its handshake.  */
void gn_tls_check_usable (SCM session, gn_tls_session *t, const char *subr);
void gn_tls_check_handshaken (SCM session, gn_tls_session *t,
                              const char *subr);
/* Re-raise an exception a callback caught, if any.  */
void gn_tls_rethrow_pending (gn_tls_session *t);
/* The wait port of operation NAME on SESSION, its clock started (for
   (net wait)'s loop); SIDE 0 is the input side, 1 the output side.  */
SCM gn_tls_operation (SCM session, gn_tls_session *t, const char *subr,
                      const char *name, int side);
/* Which way an interrupted operation waits: 0 read, 1 write (GnuTLS's
   record direction, corrected for DTLS handshakes).  */
int gn_tls_direction (gn_tls_session *t);
/* When a waiting DTLS handshake must wake up for GnuTLS's retransmission
   timer, or GN_NO_LIMIT.  */
int64_t gn_tls_retransmit_deadline (gn_tls_session *t);
/* When the operation of SIDE waiting on T must be resumed, or when one
   starting now would time out.  */
int64_t gn_tls_deadline (gn_tls_session *t, int side);
void gn_init_tls_io (void);

/* tls-info.c.  */
void gn_init_tls_info (void);

/* dtls.c.  */
void gn_init_dtls (void);

/* tls-port.c.  */
SCM gn_tls_make_record_port (SCM session, SCM close);
void gn_init_tls_port (void);

/* tls-x509.c.  */
void gn_init_tls_x509 (void);

#endif /* GUILE_NET_TLS_H */
