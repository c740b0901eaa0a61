/* tls.h -- declarations shared by the TLS files of libguile-net:
   credentials (tls-credentials.c); sessions: the object and settings
   (tls-session.c), transport callbacks (tls-transport.c), I/O through one
   driver (tls-io.c) and the operations run by it (tls-ops.c), information
   (tls-info.c), the record port
   (tls-port.c); X.509 certificates and keys (tls-x509.c), the families
   of values describing them (tls-x509-names.c), making them
   (tls-x509-make.c); DTLS (dtls.c).  */

#ifndef GUILE_NET_TLS_H
#define GUILE_NET_TLS_H

#include "guile-net.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <time.h>
#include <pthread.h>

/* error.c (TLS section): raise a TLS condition for GnuTLS error CODE from
   SUBR; ALERT is the alert received (gnutls_alert_description_t) or -1.  */
SCM_NORETURN void gn_raise_tls_error (const char *subr, int code, int alert);
/* A DTLS message of SIZE bytes does not fit LIMIT (the data MTU or the
   caller's buffer): raise &dtls-message-too-large.  */
SCM_NORETURN void gn_raise_dtls_message_too_large (const char *subr,
                                                   size_t size, size_t limit,
                                                   SCM session);
/* A &tls-error for GnuTLS error CODE whose message is MESSAGE (a Scheme
   string) instead of GnuTLS's: says what is wrong with what was given.  */
SCM_NORETURN void gn_raise_tls_error_message (const char *subr, int code,
                                              SCM message);
/* The same, for a handshake that failed with ALERT received (or -1).  */
SCM_NORETURN void gn_raise_tls_error_alert_message (const char *subr,
                                                    int code, int alert,
                                                    SCM message);
/* A &tls-file-error: FILE (a Scheme string) could not be read, ERR is
   the errno.  */
SCM_NORETURN void gn_raise_tls_file_error (const char *subr, SCM file,
                                           int err);
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

/* tls-data.c: what certificate and key data hold, and files read whole
   (up to 64 MiB).  A file's contents, freed (wiped for a secret) when
   the dynwind context gn_tls_read_file was called in ends.  */
typedef struct
{
  gnutls_datum_t d;
  int secret;
} gn_tls_file_data;
/* Read file PATH (the argument NAME of SUBR) into F, or raise a
   &tls-file-error naming it and the errno.  F must live until the
   enclosing dynwind context ends.  */
void gn_tls_read_file (const char *subr, SCM name, const char *path,
                       gn_tls_file_data *f, int secret);
/* The encoding of D: FORMAT, unless D is plainly the other one (PEM text
   with a -----BEGIN line where DER was said, or DER where PEM was).  */
gnutls_x509_crt_fmt_t gn_tls_data_format (const gnutls_datum_t *d,
                                          gnutls_x509_crt_fmt_t format);
/* What the PEM blocks of D are, for messages: e.g. " (it holds: PRIVATE
   KEY)", or "" when D has none; a Scheme string.  */
SCM gn_tls_pem_contents (const gnutls_datum_t *d);
/* Whether D has a PEM block whose label is LABEL or ends with it.  */
int gn_tls_pem_has (const gnutls_datum_t *d, const char *label);

/* tls-credentials.c.  Credentials are shared by sessions and freed by
   whichever of their finalizer and the last session's finalizer runs last
   (Guile finalizers run in no particular order), hence the count.  */
/* How the system trust store is in a credentials' trust list.  */
enum
{
  GN_SYSTEM_TRUST_NONE = 0,
  GN_SYSTEM_TRUST_IMPLICIT,     /* loaded by a handshake: no trust given */
  GN_SYSTEM_TRUST_EXPLICIT      /* set-certificate-credentials-system-trust! */
};
/* A copy of CRLs given, to put back when the trust list is replaced.  */
struct gn_crl_copy
{
  gnutls_datum_t data;
  gnutls_x509_crt_fmt_t format;
  struct gn_crl_copy *next;
};
typedef struct
{
  gnutls_certificate_credentials_t cred;
  int refs;                     /* atomic: the Scheme object + sessions */
  int explicit_trust;           /* a trust file or data was given */
  int system_trust;             /* GN_SYSTEM_TRUST_... */
  int is_default;               /* the process-wide default credentials */
  unsigned int trusted;         /* certificates trusted explicitly */
  unsigned int system_trusted;  /* ... and from the system store */
  unsigned int crl_count;       /* CRLs added */
  struct gn_crl_copy *crls;     /* their data (under the trust lock) */
  /* Bumped (atomically) by every change to these credentials: a
     verification result a session keeps (peer-certificate-status) holds
     only while it is unchanged.  */
  unsigned int generation;
  struct gn_dh_copy *dh;        /* DH parameters given (tls-dh.c) */
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
/* A &net-state-error unless C may be changed (it is not the default
   credentials every session given none shares).  */
void gn_tls_cred_check_mutable (SCM obj, gn_tls_cred *c, const char *subr);
/* C's generation now.  */
unsigned int gn_tls_cred_generation (gn_tls_cred *c);
void gn_init_tls_credentials (void);

/* tls-dh.c: Diffie-Hellman parameters.  GnuTLS keeps a pointer to the
   parameters given to credentials, not a copy: credentials hold copies of
   their own, in a list freed with them.  */
struct gn_dh_copy
{
  gnutls_dh_params_t params;
  struct gn_dh_copy *next;
};
/* A copy of the DH parameters object PARAMS (argument POS of SUBR), pushed
   on *LIST, which must be freed with gn_tls_dh_free_copies.  */
gnutls_dh_params_t gn_tls_dh_copy (SCM params, struct gn_dh_copy **list,
                                   const char *subr, int pos);
void gn_tls_dh_free_copies (struct gn_dh_copy *list);
void gn_init_tls_dh (void);

/* tls-kinds.c: credentials of the other kinds -- anonymous (tls-anon.c),
   PSK (tls-psk.c), SRP (tls-srp.c) -- share one object, reference-counted
   as certificate credentials are.  */
typedef enum
{
  GN_KIND_ANON_CLIENT = 0,
  GN_KIND_ANON_SERVER,
  GN_KIND_PSK_CLIENT,
  GN_KIND_PSK_SERVER,
  GN_KIND_SRP_CLIENT,
  GN_KIND_SRP_SERVER,
  GN_KIND_COUNT
} gn_tls_kind;
/* The bits of a session's `kinds': which key exchanges its credentials
   ask for.  */
#define GN_KINDS_ANON 1u
#define GN_KINDS_PSK 2u
#define GN_KINDS_SRP 4u
typedef struct
{
  gn_tls_kind kind;
  int refs;                     /* atomic: the Scheme object + sessions */
  void *cred;                   /* gnutls_anon_client_credentials_t ... */
  /* For printing, under gn_tls_kind_lock: a client's user name, a
     server's files (malloc'd, or NULL); whether DH parameters were
     given.  Never a key or a password.  */
  char *user;
  char *file, *file2;
  int has_dh;
  struct gn_dh_copy *dh;        /* an anonymous server's DH parameters */
} gn_tls_kcred;
extern pthread_mutex_t gn_tls_kind_lock;
struct gn_kcred_link;           /* a session's hold on one (tls-kinds.c) */
/* New credentials of KIND, as a Scheme object.  */
SCM gn_tls_make_kcred (gn_tls_kind kind, const char *subr);
/* Whether OBJ is credentials of KIND.  */
int gn_tls_is_kcred (SCM obj, gn_tls_kind kind);
/* The credentials of KIND in OBJ (argument POS of SUBR), or a
   wrong-type-arg.  */
gn_tls_kcred *gn_to_kcred (SCM obj, gn_tls_kind kind, const char *subr,
                           int pos);
/* Replace the printed string *FIELD with a copy of VALUE (or NULL).  */
void gn_tls_kcred_note (char **field, const char *value);
/* An absolute copy of file name PATH (argument NAME of SUBR) that can be
   read now, for GnuTLS, which reads it at each handshake; malloc'd.  A
   file that cannot be read raises a &tls-file-error.  */
char *gn_tls_readable_file (const char *subr, SCM name, const char *path);
/* A user name argument: a string without NUL, as UTF-8, freed at the end
   of the current dynwind context.  */
char *gn_tls_user_name_arg (SCM name, const char *subr, int pos);
void gn_init_tls_kinds (void);
void gn_init_tls_anon (void);
void gn_init_tls_psk (void);
void gn_init_tls_srp (void);

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
  /* Anonymous, PSK and SRP credentials (tls-kinds.c): the last set, each
     one set (for unref), and the GN_KINDS_ bits of their kinds.  */
  SCM kind_credentials;
  struct gn_kcred_link *kcreds;
  unsigned int kinds;
  int own_priorities;           /* set-session-priorities! was called */
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
  int truncated;                /* ... a cut without close_notify */
  int alert_received;           /* an alert came in (alert-get) */
  int send_pending;             /* a record send was interrupted */
  int alert_pending;            /* ... and it is an alert (alert-send) */
  int last_errno;               /* errno of the last transport failure */
  const gn_sockaddr *send_to;   /* where datagrams go, or NULL: connected */
  unsigned long sent;           /* datagrams (or writes) sent */
  int verify_failed;            /* our check of the peer failed ... */
  unsigned int verify_status;   /* ... with these status bits */
  int client_cert;              /* server: GNUTLS_CERT_IGNORE/REQUEST/... */
  int64_t timeout_ns;           /* per operation; GN_NO_LIMIT is none */
  /* A failed handshake delivering its alert (tls-io.c): the error it
     raises once the peer has taken the alert, and until when it waits
     for that (0: not waiting).  */
  int linger_code;
  int64_t linger_until;
  /* The wait ports of the latest operations left to a waiter (0: the
     handshake and reads, 1: bye and writes), or #f; closing the record
     port wakes them.  */
  SCM waiting[2];
  /* DTLS (dtls.c).  */
  struct gn_dtls_peer *dtls_peer; /* a dtls-server's session: its peer */
  SCM dtls_server;              /* ... and its server, or #f */
  gnutls_packet_t held_packet;  /* a message too large for the last buffer */
  /* Read-ahead (stream descriptor transports only): a pull takes what
     the socket holds in one recv, and keeps what GnuTLS did not ask for
     yet here (malloc), for the next pulls.  Always for the record port's
     reads (port_reads: the last read was the record port's), for every
     read once %set-session-read-ahead! set read_ahead.  */
  int read_ahead;
  int port_reads;
  int big_records;              /* the last record's header said >= 4 KiB */
  int datagram_rest;            /* the last datagram held several records */
  /* The last read had to wait for the peer (request/reply): the next one
     waits for input first (tls-io.c, wait_first).  */
  int reads_wait;
  char *ahead;
  size_t ahead_len, ahead_off;
  /* What verification found during the last handshake (tls-io.c), so
     that peer-certificate-status need not verify the same chain again:
     valid for the same credentials at the same generation, in the same
     second (verification depends on the time: GnuTLS checks it to the
     second), until the next handshake, renegotiation or post-handshake
     authentication.  A client's was checked against its server name.  */
  int status_cached;
  unsigned int status_value;
  gn_tls_cred *status_cred;
  unsigned int status_generation;
  time_t status_time;
  /* A client answering the server in the middle of a read (tls-io.c):
     1, a renegotiation (TLS 1.2 HelloRequest); 2, post-handshake
     authentication (TLS 1.3 CertificateRequest).  */
  int answering;
  /* A server's rehandshake sent its HelloRequest and now runs the new
     handshake.  */
  int renegotiation;
} gn_tls_session;
/* Bytes read ahead from the transport and not yet given to GnuTLS.  */
size_t gn_tls_ahead_bytes (gn_tls_session *t);
void gn_tls_drop_ahead (gn_tls_session *t);
/* Free the read-ahead buffer if it holds nothing: before a wait.  */
void gn_tls_release_ahead (gn_tls_session *t);
extern SCM gn_tls_session_type;
gn_tls_session *gn_to_tls_session (SCM obj, const char *subr, int pos);
void gn_tls_attach_credentials (gn_tls_session *t, SCM cred_obj,
                                gn_tls_cred *c, const char *subr);
/* Give T our default priorities, with the key exchanges of the kinds of
   credentials it was given.  */
void gn_tls_set_default_priority (gn_tls_session *t, const char *subr);
/* tls-kinds.c: if OBJ is anonymous, PSK or SRP credentials, make T use
   them (argument POS of SUBR) and return 1; else return 0.  */
int gn_tls_attach_kind_credentials (gn_tls_session *t, SCM obj,
                                    const char *subr, int pos);
/* A handshake of T that had PSK or SRP credentials failed with CODE
   (ALERT received, or -1): if it looks like a key, password or user the
   peer does not accept, raise a &tls-error that says so; else return.  */
void gn_tls_kind_failure (gn_tls_session *t, int code, int alert,
                          const char *subr);
/* Drop T's references to such credentials (its finalizer).  */
void gn_tls_detach_kind_credentials (gn_tls_session *t);
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
ssize_t gn_tls_rehandshake_step (gn_tls_session *t, void *unused);
ssize_t gn_tls_reauth_step (gn_tls_session *t, void *unused);
/* Forget what the last verification found (see status_cached).  */
void gn_tls_forget_status (gn_tls_session *t);
struct gn_tls_send_args { const char *data; size_t len; };
/* Into DATA, or as one whole record into *PACKET when PACKET is set.  */
struct gn_tls_recv_args { char *data; size_t len; gnutls_packet_t *packet; };
/* Before the first handshake: credentials, trust, verification.  */
/* A server about to verify a client certificate after the first
   handshake (rehandshake, reauthenticate): arm the verification.  */
void gn_tls_arm_client_verification (SCM session, gn_tls_session *t,
                                     const char *subr);
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
/* As gn_tls_check_handshaken, for a read: after a truncation, raise it
   again.  */
void gn_tls_check_readable (SCM session, gn_tls_session *t,
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
void gn_init_tls_ops (void);

/* tls-info.c.  */
void gn_init_tls_info (void);

/* tls-names.c: the enum families of guile-gnutls's constants, one
   driver for all (tables: tls-names.c; tls-errors.c, error/;
   tls-x509-names.c, certificate-status/, certificate-verify/ and the
   X.509 families).  */
typedef enum
{
  GN_ALERT_DESCRIPTION, GN_ALERT_LEVEL, GN_CERTIFICATE_STATUS,
  GN_CERTIFICATE_VERIFY, GN_CIPHER, GN_KX, GN_MAC, GN_PROTOCOL,
  GN_COMPRESSION_METHOD, GN_CERTIFICATE_TYPE, GN_CREDENTIALS,
  GN_HANDSHAKE_DESCRIPTION, GN_CONNECTION_FLAG, GN_CONNECTION_END,
  GN_CLOSE_REQUEST, GN_CERTIFICATE_REQUEST, GN_SERVER_NAME_TYPE,
  GN_OPENPGP_CERTIFICATE_FORMAT, GN_ERROR,
  /* tls-x509-names.c.  */
  GN_PK_ALGORITHM, GN_SIGN_ALGORITHM, GN_DIGEST, GN_KEY_USAGE,
  GN_X509_SUBJECT_ALTERNATIVE_NAME, GN_PRIVKEY, GN_OID,
  GN_FAMILY_COUNT
} gn_name_family;
/* GnuTLS's number for V, a value of family F (argument POS of SUBR), or
   raise wrong-type-arg (not a symbol or integer as F's values are) or
   out-of-range (not one of them).  */
long gn_name_value (gn_name_family f, SCM v, const char *subr, int pos);
/* The value of F whose GnuTLS number is VALUE, or #f.  */
SCM gn_name_from_value (gn_name_family f, long value);
/* Every bit of F's values (a flags family).  */
unsigned long gn_name_flags_mask (gn_name_family f);
/* The values of flags family F set in BITS, as a list (the table's last
   first, as guile-gnutls lists key usages); and back, from list VALUES
   (argument POS of SUBR; errors as gn_name_value's).  */
SCM gn_name_list_from_bits (gn_name_family f, unsigned long bits);
unsigned long gn_name_bits_from_list (gn_name_family f, SCM values,
                                      const char *subr, int pos);
void gn_init_tls_names (void);
/* tls-x509-names.c: the reasons in verification STATUS (certificate-status/
   values): *REASONS symbols, and *WORDS (unless NULL) English sentences.  */
void gn_tls_status_lists (unsigned status, SCM *reasons, SCM *words);

/* tls-log.c: deliver what GnuTLS logged to the log procedure; call only
   in Guile mode and outside GnuTLS.  Cheap when nothing is waiting.  */
void gn_tls_log_deliver (void);
void gn_init_tls_log (void);

/* dtls.c: DTLS messages and MTU, for clients and dtls-server.c.  */
/* What a server keeps per peer, pointed to by the peer's session.  */
typedef struct gn_dtls_peer
{
  gn_sockaddr addr;
  const unsigned char *inbox;   /* the datagram being handed to GnuTLS */
  size_t inbox_len;
  int64_t handshake_deadline;   /* GN_NO_LIMIT once done */
  int64_t last_seen;            /* for the idle timeout */
} gn_dtls_peer;

/* Argument POS of SUBR: a DTLS session.  */
gn_tls_session *gn_to_dtls_session (SCM obj, const char *subr, int pos);
/* COUNT bytes of bytevector BV from START (argument POS and the two
   after it; unbound or #f: the defaults) into *OUT and *N.  */
void gn_dtls_message_span (SCM bv, SCM start, SCM count, char **out,
                           size_t *n, const char *subr, int pos);
/* Copy the message in PACKET into OUT (ROOM bytes) and free it; one too
   large is kept in T for the next call and refused.  */
size_t gn_dtls_deliver_packet (SCM session, gn_tls_session *t,
                               gnutls_packet_t packet, char *out,
                               size_t room, const char *subr);
/* Run STEP of a server's session, never waiting nor raising.  */
ssize_t gn_dtls_drive_quietly (SCM session, gn_tls_session *t,
                               const char *name, gn_tls_step step,
                               void *args);
void gn_init_dtls (void);
/* dtls-server.c.  */
void gn_init_dtls_server (void);

/* tls-port.c.  */
SCM gn_tls_make_record_port (SCM session, SCM close);
/* Make record port PORT call CLOSE (a procedure, or #f) when closed.  */
void gn_tls_set_record_port_close (SCM port, SCM close);
void gn_init_tls_port (void);

/* tls-x509.c.  */
void gn_init_tls_x509 (void);
/* Argument POS of SUBR: a certificate or private key object.  */
gnutls_x509_crt_t gn_tls_to_certificate (SCM obj, const char *subr, int pos);
gnutls_x509_privkey_t gn_tls_to_private_key (SCM obj, const char *subr,
                                             int pos);
/* New Scheme objects owning CRT or KEY (freed by their finalizer).  */
SCM gn_tls_wrap_certificate (gnutls_x509_crt_t crt);
SCM gn_tls_wrap_private_key (gnutls_x509_privkey_t key);
/* Make certificate object OBJ own CRT instead, freeing what it held.  */
void gn_tls_replace_certificate (SCM obj, gnutls_x509_crt_t crt);
/* D's bytes as a new bytevector, D's data freed.  */
SCM gn_tls_datum_to_bytevector (gnutls_datum_t *d);

/* tls-x509-names.c (its families: tls-names.c's gn_name_family).  */
/* Whether S is a string holding an OID (digits and dots).  */
int gn_tls_is_oid (SCM s);

/* tls-x509-make.c: making certificates and keys.  */
void gn_init_tls_x509_make (void);

#endif /* GUILE_NET_TLS_H */
