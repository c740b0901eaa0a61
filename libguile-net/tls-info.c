/* tls-info.c -- what a TLS session negotiated and whom it talks to.  */

#include "tls.h"

#include <stdlib.h>
#include <string.h>

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
            "ephemeral exchange, @code{ECDHE-PSK} for a PSK handshake), or\n"
            "@code{#f} before the handshake.")
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
      if ((t->kinds & GN_KINDS_PSK)
          && gnutls_auth_get_type (t->s) == GNUTLS_CRD_PSK)
        /* A PSK handshake, with (psk_dhe_ke) or without a group.  */
        name = g == 0 ? "PSK" : dh ? "DHE-PSK" : "ECDHE-PSK";
      else if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519)
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

/* Whether what the handshake's verification found answers a check of
   the same chain now, against HOST (or no name): the same trust (the
   credentials the session uses now, unchanged since), the same second
   (GnuTLS checks validity periods to the second), no handshake since, and
   a name the handshake checked, or none (a chain valid with its name
   and key purpose checked is valid without them).  */
static int
cached_status_holds (gn_tls_session *t, const char *host)
{
  if (!t->status_cached || scm_is_false (t->credentials))
    return 0;
  gn_tls_cred *c = scm_foreign_object_ref (t->credentials, 0);
  if (c != t->status_cred
      || gn_tls_cred_generation (c) != t->status_generation
      || time (NULL) != t->status_time)
    return 0;
  if (host == NULL)
    return 1;
  return !t->is_server && t->server_name != NULL
    && strcmp (host, t->server_name) == 0;
}

SCM_DEFINE (gn_session_our_certificate_chain,
            "session-our-certificate-chain", 1, 0, 0, (SCM session),
            "Return the certificates @var{session} sent its peer, ours first,\n"
            "as a list of DER bytevectors: the chain of the credentials\n"
            "GnuTLS picked (empty when it sent none).")
#define FUNC_NAME s_gn_session_our_certificate_chain
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->s == NULL || scm_is_false (t->credentials))
    return SCM_EOL;
  const gnutls_datum_t *ours = gnutls_certificate_get_ours (t->s);
  if (ours == NULL)
    return SCM_EOL;
  /* GnuTLS says which leaf it sent; the rest of its chain is in the
     credentials, beside it.  */
  gn_tls_cred *c = scm_foreign_object_ref (t->credentials, 0);
  SCM result = SCM_EOL;
  for (unsigned int i = 0; scm_is_null (result); i++)
    {
      gnutls_x509_crt_t *crts = NULL;
      unsigned int n = 0;
      int rc = gnutls_certificate_get_x509_crt (c->cred, i, &crts, &n);
      if (rc < 0)
        break;
      gnutls_datum_t der[16];
      unsigned int got = 0, match = 0;
      for (unsigned int k = 0; k < n; k++)
        {
          if (k < 16
              && gnutls_x509_crt_export2 (crts[k], GNUTLS_X509_FMT_DER,
                                          &der[got]) == 0)
            got++;
          gnutls_x509_crt_deinit (crts[k]);
        }
      gnutls_free (crts);
      if (got > 0 && got == (n < 16 ? n : 16) && der[0].size == ours->size
          && memcmp (der[0].data, ours->data, ours->size) == 0)
        match = 1;
      for (unsigned int k = got; k-- > 0;)
        {
          if (match)
            {
              SCM bv = scm_c_make_bytevector (der[k].size);
              memcpy (SCM_BYTEVECTOR_CONTENTS (bv), der[k].data, der[k].size);
              result = scm_cons (bv, result);
            }
          gnutls_free (der[k].data);
        }
    }
  if (scm_is_null (result))
    {
      /* Not in these credentials (picked from others): the leaf alone.  */
      SCM bv = scm_c_make_bytevector (ours->size);
      memcpy (SCM_BYTEVECTOR_CONTENTS (bv), ours->data, ours->size);
      result = scm_list_1 (bv);
    }
  scm_remember_upto_here_1 (session);
  return result;
}
#undef FUNC_NAME

SCM_DEFINE (gn_peer_certificate_status, "peer-certificate-status", 1, 1, 0,
            (SCM session, SCM host),
            "Verify the certificate chain the peer of @var{session} presented\n"
            "against the credentials' trust (and, when given, host name\n"
            "@var{host}); return the list of reasons it fails, as symbols\n"
            "(@code{expired}, @code{untrusted-issuer},\n"
            "@code{host-name-mismatch}, ...), empty when it is valid.  After a\n"
            "handshake that verified the peer (the default), the answer for\n"
            "the same trust and the same name, or none, is the handshake's,\n"
            "returned without verifying again; a peer that presented no\n"
            "certificate gives @code{(invalid)}.")
#define FUNC_NAME s_gn_peer_certificate_status
{
  /* What the peer presented is kept in the session: asking needs the
     handshake, not the transport, which may be closed by now.  */
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    gn_raise_state_error (FUNC_NAME, "the handshake has not been done",
                          session);
  char *h = NULL;
  if (!SCM_UNBNDP (host) && scm_is_true (host))
    {
      if (!scm_is_string (host))
        gn_wrong_type (FUNC_NAME, 2, host);
      h = scm_to_utf8_string (host);
    }
  if (cached_status_holds (t, h))
    {
      free (h);
      return gn_tls_status_reasons (t->status_value);
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

static SCM
credentials_value (gnutls_credentials_type_t type)
{
  return (int) type < 0 ? SCM_BOOL_F
    : gn_name_from_value (GN_CREDENTIALS, (long) type);
}

SCM_DEFINE (gn_session_authentication_type, "session-authentication-type",
            1, 0, 0, (SCM session),
            "Return the kind of authentication @var{session} negotiated, a\n"
            "@code{credentials/} value such as @code{credentials/certificate}\n"
            "(the symbol @code{certificate}), or @code{#f} before the\n"
            "handshake.")
#define FUNC_NAME s_gn_session_authentication_type
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? credentials_value (gnutls_auth_get_type (t->s)) : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_server_authentication_type,
            "session-server-authentication-type", 1, 0, 0, (SCM session),
            "Return how the server of @var{session} authenticated, a\n"
            "@code{credentials/} value, or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_server_authentication_type
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? credentials_value (gnutls_auth_server_get_type (t->s))
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_client_authentication_type,
            "session-client-authentication-type", 1, 0, 0, (SCM session),
            "Return how the client of @var{session} authenticated, a\n"
            "@code{credentials/} value (@code{credentials/certificate} also\n"
            "when it sent no certificate), or @code{#f} before the\n"
            "handshake.")
#define FUNC_NAME s_gn_session_client_authentication_type
{
  gn_tls_session *t = established (session, FUNC_NAME);
  return t ? credentials_value (gnutls_auth_client_get_type (t->s))
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_certificate_type, "session-certificate-type", 1, 0, 0,
            (SCM session),
            "Return the type of the certificates @var{session} uses, a\n"
            "@code{certificate-type/} value (@code{certificate-type/x509},\n"
            "the symbol @code{x509}), or @code{#f} before the handshake.")
#define FUNC_NAME s_gn_session_certificate_type
{
  gn_tls_session *t = established (session, FUNC_NAME);
  if (t == NULL)
    return SCM_BOOL_F;
  gnutls_certificate_type_t type = gnutls_certificate_type_get (t->s);
  return gn_name_from_value (GN_CERTIFICATE_TYPE, (long) type);
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_compression_method, "session-compression-method",
            1, 0, 0, (SCM session),
            "Return the compression method of @var{session}:\n"
            "@code{compression-method/null} (the symbol @code{null}), as\n"
            "GnuTLS 3.7 compresses no records.")
#define FUNC_NAME s_gn_session_compression_method
{
  gn_to_tls_session (session, FUNC_NAME, 1);
  return gn_name_from_value (GN_COMPRESSION_METHOD, GNUTLS_COMP_NULL);
}
#undef FUNC_NAME

void
gn_init_tls_info (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-info.x"
#endif
}
