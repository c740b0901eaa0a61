/* tls-session.c -- the TLS session object and its settings.

   The rest of a session lives beside it: its transport callbacks in
   tls-transport.c, its I/O driver in tls-io.c and the operations on it
   (handshake, bye, records) in tls-ops.c, what it
   negotiated in tls-info.c, its record port in tls-port.c.

   Secure by default: a client verifies the server's certificate chain, its
   host name and its key purpose during the handshake, against the system
   trust store when no trust was given; the defaults allow only TLS 1.2 and
   1.3 with AEAD ciphers and forward secrecy.  */

#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

SCM gn_tls_session_type = SCM_BOOL_F;

#define DEFAULT_PRIORITY                                                \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-DTLS1.2"            \
  ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"          \
  ":+AES-128-CCM:+AES-256-CCM:-MAC-ALL:+AEAD"                           \
  ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA"                           \
  ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

/* What the default priorities gain when a session is given credentials of
   another kind, so that a program that asks for them gets their key
   exchanges without writing a priority string (an explicit
   set-session-priorities! is taken as given).  Appended, so certificate
   key exchanges keep precedence.  PSK keeps forward secrecy (ECDHE-PSK and
   DHE-PSK; plain PSK takes a priority string) and works in TLS 1.3 too.
   Anonymous and SRP key exchanges exist in TLS 1.2 only; GnuTLS's SRP
   cipher suites are all CBC with SHA-1, which the defaults otherwise
   leave out.  */
static const struct
{
  unsigned int kind;
  const char *add;
} kind_priorities[] = {
  { GN_KINDS_ANON, ":+ANON-ECDH:+ANON-DH" },
  { GN_KINDS_PSK, ":+ECDHE-PSK:+DHE-PSK" },
  { GN_KINDS_SRP, ":+SRP:+AES-256-CBC:+AES-128-CBC:+SHA1" },
};

/* The default priorities, parsed once: parsing the string costs about 1%
   of a full handshake, and a program that sets its own priorities after
   make-session (as every guile-gnutls program does) would pay it twice.
   GnuTLS counts the sessions that use it; it lives as long as the
   process.  */
static gnutls_priority_t default_priority;
static int default_priority_rc;
static pthread_once_t default_priority_once = PTHREAD_ONCE_INIT;

static void
make_default_priority (void)
{
  default_priority_rc = gnutls_priority_init (&default_priority,
                                              DEFAULT_PRIORITY, NULL);
}

static int
set_default_priority (gnutls_session_t s)
{
  pthread_once (&default_priority_once, make_default_priority);
  if (default_priority_rc < 0)
    return default_priority_rc;
  return gnutls_priority_set (s, default_priority);
}

void
gn_tls_set_default_priority (gn_tls_session *t, const char *subr)
{
  if (t->kinds == 0)
    {
      gn_tls_check (set_default_priority (t->s), subr);
      return;
    }
  char p[sizeof DEFAULT_PRIORITY + 192] = DEFAULT_PRIORITY;
  for (size_t i = 0; i < sizeof kind_priorities / sizeof kind_priorities[0];
       i++)
    if (t->kinds & kind_priorities[i].kind)
      strcat (p, kind_priorities[i].add);
  /* Without certificate credentials, a GnuTLS server would still pick a
     certificate key exchange (or TLS 1.3) that a client offers, then fail
     for want of credentials: leave out what needs a certificate, and
     without PSK TLS 1.3 too.  A client likewise offers only what it can
     complete.  gn_tls_attach_credentials calls this again when
     certificate credentials come.  */
  if (t->kinds != 0 && scm_is_false (t->credentials))
    {
      strcat (p, ":-ECDHE-ECDSA:-ECDHE-RSA:-DHE-RSA");
      if (!(t->kinds & GN_KINDS_PSK))
        strcat (p, ":-VERS-TLS1.3");
    }
  int rc = gnutls_priority_set_direct (t->s, p, NULL);
  if (rc < 0)
    gn_raise_tls_error (subr, rc, -1);
}

/* Server session tickets: one master key per process, made on first use
   and never rotated.  GnuTLS derives the keys that encrypt tickets from
   it and the time (lib/stek.c): a new one every 3 ticket lifetimes (18
   hours by default), the previous one still accepted, so a ticket is
   good for its whole lifetime (6 hours).  doc/tls.texi says so.  */
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
  gn_tls_detach_kind_credentials (t);
  free (t->server_name);
  t->server_name = NULL;
  gn_tls_drop_ahead (t);
}

/* ---- construction and settings -------------------------------------- */

void
gn_tls_attach_credentials (gn_tls_session *t, SCM cred_obj, gn_tls_cred *c,
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
  if (t->kinds != 0 && !t->own_priorities)
    gn_tls_set_default_priority (t, subr);      /* TLS 1.3 again */
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
  gn_tls_keep_pending (data, key, args);
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
            "with optional @var{flags}, @code{connection-flag/} values\n"
            "such as @code{connection-flag/nonblock} (any of them, given\n"
            "separately or combined with @code{logior}).  The session uses secure\n"
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
      if (!scm_is_exact_integer (x))
        gn_wrong_type (FUNC_NAME, pos, x);
      /* Any combination of the connection-flag/ values, GnuTLS's flags
         of gnutls_init; nothing else (not connection-end/ either).  */
      unsigned long mask = gn_name_flags_mask (GN_CONNECTION_FLAG);
      if (!scm_is_unsigned_integer (x, 0, UINT_MAX)
          || (scm_to_ulong (x) & ~mask) != 0)
        gn_out_of_range_msg (FUNC_NAME, pos, x, "not a connection-flag/ "
                             "value or a combination of them");
      unsigned int v = scm_to_uint (x);
      f |= v;
    }

  gn_tls_session *t = scm_gc_malloc (sizeof *t, "tls-session");
  memset (t, 0, sizeof *t);
  t->fd = -1;
  t->transport = SCM_BOOL_F;
  t->credentials = SCM_BOOL_F;
  t->kind_credentials = SCM_BOOL_F;
  t->server_name_handler = SCM_BOOL_F;
  t->pending = SCM_BOOL_F;
  t->record_port = SCM_BOOL_F;
  t->dtls_server = SCM_BOOL_F;
  t->is_server = (e == GNUTLS_SERVER);
  t->verify_peer = !t->is_server;
  t->timeout_ns = GN_NO_LIMIT;
  t->waiting[0] = t->waiting[1] = SCM_BOOL_F;
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

  gn_tls_set_default_priority (t, FUNC_NAME);
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

SCM_DEFINE (gn_session_side, "session-side", 1, 0, 0, (SCM session),
            "Return the side of @var{session}: the symbol @code{client} or\n"
            "@code{server}.")
#define FUNC_NAME s_gn_session_side
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_from_utf8_symbol (t->is_server ? "server" : "client");
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_p, "session?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a TLS session.")
#define FUNC_NAME s_gn_session_p
{
  return scm_from_bool (gn_is_a (obj, gn_tls_session_type));
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_credentials, "set-session-credentials!", 2, 0, 0,
            (SCM session, SCM cred),
            "Use credentials @var{cred} for @var{session}: certificate\n"
            "credentials, or anonymous, PSK or SRP credentials of the\n"
            "session's side.  A session may have one of each kind.  Under\n"
            "the default priorities, anonymous, PSK or SRP credentials also\n"
            "enable their key exchanges.  The session keeps them alive.")
#define FUNC_NAME s_gn_set_session_credentials
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->s == NULL)
    gn_wrong_type (FUNC_NAME, 1, session);
  if (gn_tls_attach_kind_credentials (t, cred, FUNC_NAME, 2))
    return SCM_UNSPECIFIED;
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 2);
  gn_tls_attach_credentials (t, cred, c, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_credentials, "session-credentials", 1, 0, 0,
            (SCM session),
            "Return the certificate credentials @var{session} uses; for a\n"
            "session without, the anonymous, PSK or SRP credentials last\n"
            "given to it; or @code{#f}.")
#define FUNC_NAME s_gn_session_credentials
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  return scm_is_true (t->credentials) ? t->credentials : t->kind_credentials;
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
    gn_raise_tls_priority_error (FUNC_NAME, priorities, p, err);
  scm_dynwind_end ();
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  t->own_priorities = 1;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_default_priority, "set-session-default-priority!",
            1, 0, 0, (SCM session),
            "Give @var{session} the secure default priorities again: TLS 1.2\n"
            "and 1.3 only, AEAD ciphers, ephemeral key exchange, no SHA-1\n"
            "signatures.  (Sessions start with them.)  With anonymous, PSK or\n"
            "SRP credentials, their key exchanges too.")
#define FUNC_NAME s_gn_set_session_default_priority
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  gn_tls_set_default_priority (t, FUNC_NAME);
  t->own_priorities = 0;
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
    gn_raise_state_error (FUNC_NAME, "too late: the handshake has started",
                          session);
  t->verify_peer = scm_is_true (verify);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_verify_peer_p, "session-verify-peer?", 1, 0, 0,
            (SCM session),
            "Return @code{#t} if @var{session} verifies its peer's\n"
            "certificate during the handshake.  A session with only\n"
            "anonymous, PSK or SRP credentials has no certificate to\n"
            "verify: @code{#f}.")
#define FUNC_NAME s_gn_session_verify_peer_p
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  /* The same test as gn_tls_prepare_handshake's, which arms no
     verification for such a session.  */
  if (scm_is_false (t->credentials) && t->kinds != 0)
    return SCM_BOOL_F;
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
    gn_raise_state_error (FUNC_NAME, "only a server session requests client "
                          "certificates", session);
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
            "@var{close} with the port when given (also when given for a\n"
            "port made before).  On a non-blocking\n"
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
  else if (!SCM_UNBNDP (close) && scm_is_true (close))
    /* As guile-gnutls: the port's close procedure is now CLOSE.  */
    gn_tls_set_record_port_close (t->record_port, close);
  return t->record_port;
}
#undef FUNC_NAME

void
gn_init_tls_session (void)
{
  gn_tls_session_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("session"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_session);
  scm_permanent_object (gn_tls_session_type);

  /* The constants (connection-end/, connection-flag/, error/, ...) are
     tls-names.c's.  */
#ifndef SCM_MAGIC_SNARFER
#include "tls-session.x"
#endif
}
