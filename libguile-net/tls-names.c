/* tls-names.c -- the names of GnuTLS's constants, one driver for all of
   them: the lookups (gn_name_value, gn_name_from_value, ...), the
   FAMILY->string procedures, the bindings of every constant, exported
   by (net tls) through (%tls-name-bindings); and the tables of
   guile-gnutls's session families (cipher/, kx/, mac/, protocol/,
   alert-description/, ...).  The other tables, of the same kind, are the
   error/ codes (tls-errors.c) and the X.509 families, certificate-status/
   and certificate-verify/ among them (tls-x509-names.c); tls-names.h has
   the kind.

   One table per family.  A family's values are symbols or integers
   (doc/tls-names.texi says which), or strings (oid/):
   - what our procedures RETURN to describe a session or a certificate is
     a symbol, and the constant is bound to exactly that symbol
     (session-cipher returns AES-256-GCM, and cipher/aes-256-gcm is that
     symbol), so eq?, memq and case written for guile-gnutls keep
     working;
   - what is passed IN as an option or combined as flags is GnuTLS's own
     integer (connection-flag/datagram, certificate-verify/...), and so
     are the error codes (error/again is -28).
   A row may be an alias of an earlier one (cipher/arcfour and
   cipher/arcfour-128): the same value, bound under another name.  Rows
   without a binding name are values our procedures may return that
   guile-gnutls had no constant for (session-kx's ECDHE under TLS 1.3).  */

#include "tls-names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/openpgp.h>

#define NO_VALUE GN_NO_VALUE
#define S GN_SYMBOL_ROW
#define I GN_INTEGER_ROW

static const gn_name alert_description_names[] = {
#define A(b, v) S (b, b, v, NULL)
  A ("close-notify", GNUTLS_A_CLOSE_NOTIFY),
  A ("unexpected-message", GNUTLS_A_UNEXPECTED_MESSAGE),
  A ("bad-record-mac", GNUTLS_A_BAD_RECORD_MAC),
  A ("decryption-failed", GNUTLS_A_DECRYPTION_FAILED),
  A ("record-overflow", GNUTLS_A_RECORD_OVERFLOW),
  A ("decompression-failure", GNUTLS_A_DECOMPRESSION_FAILURE),
  A ("handshake-failure", GNUTLS_A_HANDSHAKE_FAILURE),
  A ("ssl3-no-certificate", GNUTLS_A_SSL3_NO_CERTIFICATE),
  A ("bad-certificate", GNUTLS_A_BAD_CERTIFICATE),
  A ("unsupported-certificate", GNUTLS_A_UNSUPPORTED_CERTIFICATE),
  A ("certificate-revoked", GNUTLS_A_CERTIFICATE_REVOKED),
  A ("certificate-expired", GNUTLS_A_CERTIFICATE_EXPIRED),
  A ("certificate-unknown", GNUTLS_A_CERTIFICATE_UNKNOWN),
  A ("illegal-parameter", GNUTLS_A_ILLEGAL_PARAMETER),
  A ("unknown-ca", GNUTLS_A_UNKNOWN_CA),
  A ("access-denied", GNUTLS_A_ACCESS_DENIED),
  A ("decode-error", GNUTLS_A_DECODE_ERROR),
  A ("decrypt-error", GNUTLS_A_DECRYPT_ERROR),
  A ("export-restriction", GNUTLS_A_EXPORT_RESTRICTION),
  A ("protocol-version", GNUTLS_A_PROTOCOL_VERSION),
  A ("insufficient-security", GNUTLS_A_INSUFFICIENT_SECURITY),
  A ("internal-error", GNUTLS_A_INTERNAL_ERROR),
  A ("inappropriate-fallback", GNUTLS_A_INAPPROPRIATE_FALLBACK),
  A ("user-canceled", GNUTLS_A_USER_CANCELED),
  A ("no-renegotiation", GNUTLS_A_NO_RENEGOTIATION),
  A ("missing-extension", GNUTLS_A_MISSING_EXTENSION),
  A ("unsupported-extension", GNUTLS_A_UNSUPPORTED_EXTENSION),
  A ("certificate-unobtainable", GNUTLS_A_CERTIFICATE_UNOBTAINABLE),
  A ("unrecognized-name", GNUTLS_A_UNRECOGNIZED_NAME),
  A ("unknown-psk-identity", GNUTLS_A_UNKNOWN_PSK_IDENTITY),
  A ("certificate-required", GNUTLS_A_CERTIFICATE_REQUIRED),
  A ("no-application-protocol", GNUTLS_A_NO_APPLICATION_PROTOCOL),
  /* TLS/IA's, gone from GnuTLS; their numbers were 208 and 209.  */
  A ("inner-application-failure", 208),
  A ("inner-application-verification", 209),
#undef A
};

static const gn_name alert_level_names[] = {
  S ("warning", "warning", GNUTLS_AL_WARNING, NULL),
  S ("fatal", "fatal", GNUTLS_AL_FATAL, NULL),
};

/* Symbols are GnuTLS's names, as session-cipher returns them.  */
static const gn_name cipher_names[] = {
  S ("null", "NULL", GNUTLS_CIPHER_NULL, NULL),
  S ("arcfour", "ARCFOUR-128", GNUTLS_CIPHER_ARCFOUR_128, NULL),
  S ("arcfour-128", "ARCFOUR-128", GNUTLS_CIPHER_ARCFOUR_128, NULL),
  S ("3des-cbc", "3DES-CBC", GNUTLS_CIPHER_3DES_CBC, NULL),
  S ("aes-128-cbc", "AES-128-CBC", GNUTLS_CIPHER_AES_128_CBC, NULL),
  S ("rijndael-cbc", "AES-128-CBC", GNUTLS_CIPHER_AES_128_CBC, NULL),
  S ("rijndael-128-cbc", "AES-128-CBC", GNUTLS_CIPHER_AES_128_CBC, NULL),
  S ("aes-256-cbc", "AES-256-CBC", GNUTLS_CIPHER_AES_256_CBC, NULL),
  S ("rijndael-256-cbc", "AES-256-CBC", GNUTLS_CIPHER_AES_256_CBC, NULL),
  S ("arcfour-40", "ARCFOUR-40", GNUTLS_CIPHER_ARCFOUR_40, NULL),
  S ("rc2-40-cbc", "RC2-40", GNUTLS_CIPHER_RC2_40_CBC, NULL),
  S ("des-cbc", "DES-CBC", GNUTLS_CIPHER_DES_CBC, NULL),
  /* The ciphers guile-gnutls had no constant for.  */
  S ("camellia-128-cbc", "CAMELLIA-128-CBC", GNUTLS_CIPHER_CAMELLIA_128_CBC,
     NULL),
  S ("camellia-256-cbc", "CAMELLIA-256-CBC", GNUTLS_CIPHER_CAMELLIA_256_CBC,
     NULL),
  S ("aes-192-cbc", "AES-192-CBC", GNUTLS_CIPHER_AES_192_CBC, NULL),
  S ("aes-128-gcm", "AES-128-GCM", GNUTLS_CIPHER_AES_128_GCM, NULL),
  S ("aes-256-gcm", "AES-256-GCM", GNUTLS_CIPHER_AES_256_GCM, NULL),
  S ("camellia-192-cbc", "CAMELLIA-192-CBC", GNUTLS_CIPHER_CAMELLIA_192_CBC,
     NULL),
  S ("salsa20-256", "SALSA20-256", GNUTLS_CIPHER_SALSA20_256, NULL),
  S ("estream-salsa20-256", "ESTREAM-SALSA20-256",
     GNUTLS_CIPHER_ESTREAM_SALSA20_256, NULL),
  S ("camellia-128-gcm", "CAMELLIA-128-GCM", GNUTLS_CIPHER_CAMELLIA_128_GCM,
     NULL),
  S ("camellia-256-gcm", "CAMELLIA-256-GCM", GNUTLS_CIPHER_CAMELLIA_256_GCM,
     NULL),
  S ("aes-128-ccm", "AES-128-CCM", GNUTLS_CIPHER_AES_128_CCM, NULL),
  S ("aes-256-ccm", "AES-256-CCM", GNUTLS_CIPHER_AES_256_CCM, NULL),
  S ("aes-128-ccm-8", "AES-128-CCM-8", GNUTLS_CIPHER_AES_128_CCM_8, NULL),
  S ("aes-256-ccm-8", "AES-256-CCM-8", GNUTLS_CIPHER_AES_256_CCM_8, NULL),
  S ("chacha20-poly1305", "CHACHA20-POLY1305", GNUTLS_CIPHER_CHACHA20_POLY1305,
     NULL),
  S ("aes-192-gcm", "AES-192-GCM", GNUTLS_CIPHER_AES_192_GCM, NULL),
};

static const gn_name kx_names[] = {
  S ("rsa", "RSA", GNUTLS_KX_RSA, NULL),
  S ("dhe-dss", "DHE-DSS", GNUTLS_KX_DHE_DSS, NULL),
  S ("dhe-rsa", "DHE-RSA", GNUTLS_KX_DHE_RSA, NULL),
  S ("anon-dh", "ANON-DH", GNUTLS_KX_ANON_DH, NULL),
  S ("srp", "SRP", GNUTLS_KX_SRP, NULL),
  /* Gone from GnuTLS, which has no name for it any more.  */
  S ("rsa-export", "RSA-EXPORT", GNUTLS_KX_RSA_EXPORT, NULL),
  S ("srp-rsa", "SRP-RSA", GNUTLS_KX_SRP_RSA, NULL),
  S ("srp-dss", "SRP-DSS", GNUTLS_KX_SRP_DSS, NULL),
  S ("psk", "PSK", GNUTLS_KX_PSK, NULL),
  S ("dhe-psk", "DHE-PSK", GNUTLS_KX_DHE_PSK, NULL),
  S ("anon-ecdh", "ANON-ECDH", GNUTLS_KX_ANON_ECDH, NULL),
  S ("ecdhe-rsa", "ECDHE-RSA", GNUTLS_KX_ECDHE_RSA, NULL),
  S ("ecdhe-ecdsa", "ECDHE-ECDSA", GNUTLS_KX_ECDHE_ECDSA, NULL),
  S ("ecdhe-psk", "ECDHE-PSK", GNUTLS_KX_ECDHE_PSK, NULL),
  S ("rsa-psk", "RSA-PSK", GNUTLS_KX_RSA_PSK, NULL),
  S ("vko-gost-12", "VKO-GOST-12", GNUTLS_KX_VKO_GOST_12, NULL),
  /* What session-kx says of a TLS 1.3 session (tls-info.c): no GnuTLS
     key exchange (TLS 1.3 suites name none).  */
  S (NULL, "DHE-ECDSA", GNUTLS_KX_UNKNOWN, NULL),
  S (NULL, "ECDHE", GNUTLS_KX_UNKNOWN, NULL),
  S (NULL, "DHE", GNUTLS_KX_UNKNOWN, NULL),
};

static const gn_name mac_names[] = {
  S ("unknown", "UNKNOWN", GNUTLS_MAC_UNKNOWN, NULL),
  S ("null", "MAC-NULL", GNUTLS_MAC_NULL, NULL),
  S ("md5", "MD5", GNUTLS_MAC_MD5, NULL),
  S ("sha1", "SHA1", GNUTLS_MAC_SHA1, NULL),
  S ("rmd160", "RIPEMD160", GNUTLS_MAC_RMD160, NULL),
  S ("md2", "MD2", GNUTLS_MAC_MD2, NULL),
  S ("sha256", "SHA256", GNUTLS_MAC_SHA256, NULL),
  S ("sha384", "SHA384", GNUTLS_MAC_SHA384, NULL),
  S ("sha512", "SHA512", GNUTLS_MAC_SHA512, NULL),
  S ("sha224", "SHA224", GNUTLS_MAC_SHA224, NULL),
  S ("aead", "AEAD", GNUTLS_MAC_AEAD, NULL),
};

static const gn_name protocol_names[] = {
  S ("ssl-3", "SSL3.0", GNUTLS_SSL3, NULL),
  S ("tls-1.0", "TLS1.0", GNUTLS_TLS1_0, NULL),
  S ("tls-1.1", "TLS1.1", GNUTLS_TLS1_1, NULL),
  S ("tls-1.2", "TLS1.2", GNUTLS_TLS1_2, NULL),
  S ("tls-1.3", "TLS1.3", GNUTLS_TLS1_3, NULL),
  S ("dtls-0.9", "DTLS0.9", GNUTLS_DTLS0_9, NULL),
  S ("dtls-1.0", "DTLS1.0", GNUTLS_DTLS1_0, NULL),
  S ("dtls-1.2", "DTLS1.2", GNUTLS_DTLS1_2, NULL),
  S ("version-unknown", "VERSION-UNKNOWN", GNUTLS_VERSION_UNKNOWN, NULL),
};

static const gn_name compression_method_names[] = {
  S ("null", "null", GNUTLS_COMP_NULL, "NULL"),
  S ("deflate", "deflate", GNUTLS_COMP_DEFLATE, "DEFLATE"),
  /* Gone from GnuTLS.  */
  S ("lzo", "lzo", NO_VALUE, "LZO"),
};

static const gn_name certificate_type_names[] = {
  S ("x509", "x509", GNUTLS_CRT_X509, "X.509"),
  /* GnuTLS 3.7 cannot use OpenPGP certificates any more.  */
  S ("openpgp", "openpgp", GNUTLS_CRT_OPENPGP, "OPENPGP"),
  S ("rawpk", "rawpk", GNUTLS_CRT_RAWPK, "Raw Public Key"),
};

static const gn_name credentials_names[] = {
  S ("certificate", "certificate", GNUTLS_CRD_CERTIFICATE, NULL),
  S ("anon", "anon", GNUTLS_CRD_ANON, NULL),
  S ("anonymous", "anon", GNUTLS_CRD_ANON, NULL),
  S ("srp", "srp", GNUTLS_CRD_SRP, NULL),
  S ("psk", "psk", GNUTLS_CRD_PSK, NULL),
  S ("ia", "ia", GNUTLS_CRD_IA, NULL),
};

static const gn_name handshake_description_names[] = {
#define H(b, v) S (b, b, v, NULL)
  H ("hello-request", GNUTLS_HANDSHAKE_HELLO_REQUEST),
  H ("client-hello", GNUTLS_HANDSHAKE_CLIENT_HELLO),
  H ("server-hello", GNUTLS_HANDSHAKE_SERVER_HELLO),
  H ("certificate-pkt", GNUTLS_HANDSHAKE_CERTIFICATE_PKT),
  H ("server-key-exchange", GNUTLS_HANDSHAKE_SERVER_KEY_EXCHANGE),
  H ("certificate-request", GNUTLS_HANDSHAKE_CERTIFICATE_REQUEST),
  H ("server-hello-done", GNUTLS_HANDSHAKE_SERVER_HELLO_DONE),
  H ("certificate-verify", GNUTLS_HANDSHAKE_CERTIFICATE_VERIFY),
  H ("client-key-exchange", GNUTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE),
  H ("finished", GNUTLS_HANDSHAKE_FINISHED),
  H ("hello-verify-request", GNUTLS_HANDSHAKE_HELLO_VERIFY_REQUEST),
  H ("new-session-ticket", GNUTLS_HANDSHAKE_NEW_SESSION_TICKET),
  H ("end-of-early-data", GNUTLS_HANDSHAKE_END_OF_EARLY_DATA),
  H ("encrypted-extensions", GNUTLS_HANDSHAKE_ENCRYPTED_EXTENSIONS),
  H ("certificate-status", GNUTLS_HANDSHAKE_CERTIFICATE_STATUS),
  H ("supplemental", GNUTLS_HANDSHAKE_SUPPLEMENTAL),
  H ("key-update", GNUTLS_HANDSHAKE_KEY_UPDATE),
  H ("compressed-certificate-pkt",
     GNUTLS_HANDSHAKE_COMPRESSED_CERTIFICATE_PKT),
  H ("change-cipher-spec", GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC),
  H ("client-hello-v2", GNUTLS_HANDSHAKE_CLIENT_HELLO_V2),
  H ("hello-retry-request", GNUTLS_HANDSHAKE_HELLO_RETRY_REQUEST),
#undef H
};

static const gn_name connection_flag_names[] = {
  I ("datagram", GNUTLS_DATAGRAM, NULL),
  I ("nonblock", GNUTLS_NONBLOCK, NULL),
  I ("no-extensions", GNUTLS_NO_EXTENSIONS, NULL),
  I ("no-replay-protection", GNUTLS_NO_REPLAY_PROTECTION, NULL),
  I ("no-signal", GNUTLS_NO_SIGNAL, NULL),
  I ("allow-id-change", GNUTLS_ALLOW_ID_CHANGE, NULL),
  I ("enable-false-start", GNUTLS_ENABLE_FALSE_START, NULL),
  I ("force-client-cert", GNUTLS_FORCE_CLIENT_CERT, NULL),
  I ("no-tickets", GNUTLS_NO_TICKETS, NULL),
  I ("key-share-top", GNUTLS_KEY_SHARE_TOP, NULL),
  I ("key-share-top2", GNUTLS_KEY_SHARE_TOP2, NULL),
  I ("key-share-top3", GNUTLS_KEY_SHARE_TOP3, NULL),
  I ("post-handshake-auth", GNUTLS_POST_HANDSHAKE_AUTH, NULL),
  I ("no-auto-rekey", GNUTLS_NO_AUTO_REKEY, NULL),
  I ("safe-padding-check", GNUTLS_SAFE_PADDING_CHECK, NULL),
  I ("enable-early-start", GNUTLS_ENABLE_EARLY_START, NULL),
  I ("enable-rawpk", GNUTLS_ENABLE_RAWPK, NULL),
  I ("auto-reauth", GNUTLS_AUTO_REAUTH, NULL),
  I ("enable-early-data", GNUTLS_ENABLE_EARLY_DATA, NULL),
  I ("no-auto-send-ticket", GNUTLS_NO_AUTO_SEND_TICKET, NULL),
  I ("no-end-of-early-data", GNUTLS_NO_END_OF_EARLY_DATA, NULL),
  I ("no-tickets-tls12", GNUTLS_NO_TICKETS_TLS12, NULL),
};

static const gn_name connection_end_names[] = {
  I ("server", GNUTLS_SERVER, NULL),
  I ("client", GNUTLS_CLIENT, NULL),
};

static const gn_name close_request_names[] = {
  I ("rdwr", GNUTLS_SHUT_RDWR, NULL),
  I ("wr", GNUTLS_SHUT_WR, NULL),
};

static const gn_name certificate_request_names[] = {
  I ("ignore", GNUTLS_CERT_IGNORE, NULL),
  I ("request", GNUTLS_CERT_REQUEST, NULL),
  I ("require", GNUTLS_CERT_REQUIRE, NULL),
};

static const gn_name server_name_type_names[] = {
  I ("dns", GNUTLS_NAME_DNS, NULL),
};

static const gn_name openpgp_certificate_format_names[] = {
  I ("raw", GNUTLS_OPENPGP_FMT_RAW, NULL),
  I ("base64", GNUTLS_OPENPGP_FMT_BASE64, NULL),
};

#undef S
#undef I

static int
known_cipher (const char *name)
{
  return gnutls_cipher_get_id (name) != GNUTLS_CIPHER_UNKNOWN;
}

static int
known_mac (const char *name)
{
  return gnutls_mac_get_id (name) != GNUTLS_MAC_UNKNOWN;
}

static int
known_kx (const char *name)
{
  return gnutls_kx_get_id (name) != GNUTLS_KX_UNKNOWN;
}

static int
known_protocol (const char *name)
{
  return gnutls_protocol_get_id (name) != GNUTLS_VERSION_UNKNOWN;
}

static gn_family alert_description_family =
  { "alert-description", GN_SYMBOL_VALUES,
    GN_ROWS (alert_description_names), 1,
    "an alert such as @code{unknown-ca}; the string is its name", NULL };

static gn_family alert_level_family =
  { "alert-level", GN_SYMBOL_VALUES, GN_ROWS (alert_level_names), 1,
    "@code{warning} or @code{fatal}", NULL };

static gn_family cipher_family =
  { "cipher", GN_SYMBOL_VALUES, GN_ROWS (cipher_names), 1,
    "a cipher, a symbol such as @code{AES-256-GCM} as\n"
    "@code{session-cipher} returns it", known_cipher };

static gn_family kx_family =
  { "kx", GN_SYMBOL_VALUES, GN_ROWS (kx_names), 1,
    "a key exchange, a symbol such as @code{ECDHE-RSA} as\n"
    "@code{session-kx} returns it", known_kx };

static gn_family mac_family =
  { "mac", GN_SYMBOL_VALUES, GN_ROWS (mac_names), 1,
    "a MAC algorithm, a symbol such as @code{SHA256} or @code{AEAD} as\n"
    "@code{session-mac} returns it", known_mac };

static gn_family protocol_family =
  { "protocol", GN_SYMBOL_VALUES, GN_ROWS (protocol_names), 1,
    "a protocol version, a symbol such as @code{TLS1.3} as\n"
    "@code{session-protocol} returns it", known_protocol };

static gn_family compression_method_family =
  { "compression-method", GN_SYMBOL_VALUES,
    GN_ROWS (compression_method_names), 1,
    "a compression method (@code{null}: GnuTLS 3.7 compresses nothing)",
    NULL };

static gn_family certificate_type_family =
  { "certificate-type", GN_SYMBOL_VALUES, GN_ROWS (certificate_type_names), 1,
    "a certificate type, such as @code{x509}", NULL };

static gn_family credentials_family =
  { "credentials", GN_SYMBOL_VALUES, GN_ROWS (credentials_names), 1,
    "a kind of credentials (authentication), such as\n@code{certificate}",
    NULL };

static gn_family handshake_description_family =
  { "handshake-description", GN_SYMBOL_VALUES,
    GN_ROWS (handshake_description_names), 1,
    "a handshake message type, such as @code{client-hello}", NULL };

static gn_family connection_flag_family =
  { "connection-flag", GN_INTEGER_VALUES, GN_ROWS (connection_flag_names), 1,
    "a flag of @code{make-session} (an integer)", NULL };

static gn_family connection_end_family =
  { "connection-end", GN_INTEGER_VALUES, GN_ROWS (connection_end_names), 1,
    "@code{connection-end/client} or @code{connection-end/server}", NULL };

static gn_family close_request_family =
  { "close-request", GN_INTEGER_VALUES, GN_ROWS (close_request_names), 1,
    "@code{close-request/rdwr} or @code{close-request/wr}", NULL };

static gn_family certificate_request_family =
  { "certificate-request", GN_INTEGER_VALUES,
    GN_ROWS (certificate_request_names), 1,
    "a @code{certificate-request/} value (an integer)", NULL };

static gn_family server_name_type_family =
  { "server-name-type", GN_INTEGER_VALUES, GN_ROWS (server_name_type_names), 1,
    "@code{server-name-type/dns}", NULL };

static gn_family openpgp_certificate_format_family =
  { "openpgp-certificate-format", GN_INTEGER_VALUES,
    GN_ROWS (openpgp_certificate_format_names), 1,
    "@code{openpgp-certificate-format/raw} or @code{/base64}", NULL };

/* Every family, by its number in gn_name_family (tls.h): these, the
   error codes (tls-errors.c) and the X.509 families, verification's
   among them (tls-x509-names.c).  */
static gn_family *const families[GN_FAMILY_COUNT] = {
  [GN_ALERT_DESCRIPTION] = &alert_description_family,
  [GN_ALERT_LEVEL] = &alert_level_family,
  [GN_CERTIFICATE_STATUS] = &gn_certificate_status_family,
  [GN_CERTIFICATE_VERIFY] = &gn_certificate_verify_family,
  [GN_CIPHER] = &cipher_family,
  [GN_KX] = &kx_family,
  [GN_MAC] = &mac_family,
  [GN_PROTOCOL] = &protocol_family,
  [GN_COMPRESSION_METHOD] = &compression_method_family,
  [GN_CERTIFICATE_TYPE] = &certificate_type_family,
  [GN_CREDENTIALS] = &credentials_family,
  [GN_HANDSHAKE_DESCRIPTION] = &handshake_description_family,
  [GN_CONNECTION_FLAG] = &connection_flag_family,
  [GN_CONNECTION_END] = &connection_end_family,
  [GN_CLOSE_REQUEST] = &close_request_family,
  [GN_CERTIFICATE_REQUEST] = &certificate_request_family,
  [GN_SERVER_NAME_TYPE] = &server_name_type_family,
  [GN_OPENPGP_CERTIFICATE_FORMAT] = &openpgp_certificate_format_family,
  [GN_ERROR] = &gn_error_family,
  [GN_PK_ALGORITHM] = &gn_pk_algorithm_family,
  [GN_SIGN_ALGORITHM] = &gn_sign_algorithm_family,
  [GN_DIGEST] = &gn_digest_family,
  [GN_KEY_USAGE] = &gn_key_usage_family,
  [GN_X509_SUBJECT_ALTERNATIVE_NAME] = &gn_san_family,
  [GN_PRIVKEY] = &gn_privkey_family,
  [GN_OID] = &gn_oid_family,
};

/* ---- lookups ---------------------------------------------------------- */

static const gn_family *
family (gn_name_family f)
{
  return families[f];
}

/* The row of value V in F, or NULL (always, in a string family).  */
static const gn_name *
row_of (const gn_family *f, SCM v)
{
  if (f->kind == GN_STRING_VALUES)
    return NULL;
  if (f->kind == GN_SYMBOL_VALUES)
    {
      if (!scm_is_symbol (v))
        return NULL;
      for (size_t i = 0; i < f->count; i++)
        if (scm_is_eq (f->symbols[i], v))
          return &f->rows[i];
      return NULL;
    }
  if (!scm_is_signed_integer (v, LONG_MIN + 1, LONG_MAX))
    return NULL;
  long n = scm_to_long (v);
  for (size_t i = 0; i < f->count; i++)
    if (f->rows[i].binding != NULL && f->rows[i].value == n)
      return &f->rows[i];
  return NULL;
}

/* V is not a value of F (argument POS of SUBR): the right error.  */
static void
not_a_value (const gn_family *f, SCM v, const char *subr, int pos)
{
  int right_type = f->kind == GN_SYMBOL_VALUES ? scm_is_symbol (v)
    : f->kind == GN_STRING_VALUES ? scm_is_string (v)
    : scm_is_exact_integer (v);
  if (!right_type)
    gn_wrong_type (subr, pos, v);
  char what[96];
  snprintf (what, sizeof what,
            f->one_of ? "not one of the %s/ values" : "not a %s/ value",
            f->name);
  gn_out_of_range_msg (subr, pos, v, what);
}

long
gn_name_value (gn_name_family fam, SCM v, const char *subr, int pos)
{
  const gn_family *f = family (fam);
  const gn_name *r = row_of (f, v);
  if (r == NULL || r->value == NO_VALUE)
    not_a_value (f, v, subr, pos);
  return r->value;
}

SCM
gn_name_from_value (gn_name_family fam, long value)
{
  const gn_family *f = family (fam);
  for (size_t i = 0; i < f->count; i++)
    if (f->rows[i].binding != NULL && f->rows[i].value == value)
      return f->kind == GN_SYMBOL_VALUES ? f->symbols[i]
        : scm_from_long (value);
  return SCM_BOOL_F;
}

SCM
gn_name_list_from_bits (gn_name_family fam, unsigned long bits)
{
  const gn_family *f = family (fam);
  SCM result = SCM_EOL;
  for (size_t i = 0; i < f->count; i++)
    {
      const gn_name *r = &f->rows[i];
      if (r->binding != NULL && r->value != NO_VALUE
          && (bits & (unsigned long) r->value) != 0)
        result = scm_cons (f->kind == GN_SYMBOL_VALUES ? f->symbols[i]
                           : scm_from_long (r->value), result);
    }
  return result;
}

unsigned long
gn_name_bits_from_list (gn_name_family fam, SCM values, const char *subr,
                        int pos)
{
  if (scm_ilength (values) < 0)
    gn_wrong_type (subr, pos, values);
  unsigned long bits = 0;
  for (SCM l = values; scm_is_pair (l); l = SCM_CDR (l))
    bits |= (unsigned long) gn_name_value (fam, SCM_CAR (l), subr, pos);
  return bits;
}

unsigned long
gn_name_flags_mask (gn_name_family fam)
{
  const gn_family *f = family (fam);
  unsigned long mask = 0;
  for (size_t i = 0; i < f->count; i++)
    if (f->rows[i].value != NO_VALUE)
      mask |= (unsigned long) f->rows[i].value;
  return mask;
}

/* ---- FAMILY->string --------------------------------------------------- */

static SCM
family_to_string (gn_family *f, SCM v)
{
  const gn_name *r = row_of (f, v);
  if (r == NULL)
    {
      /* A name GnuTLS knows that these tables do not (a newer GnuTLS).  */
      if (f->known != NULL && scm_is_symbol (v))
        {
          SCM s = scm_symbol_to_string (v);
          char *name = scm_to_utf8_string (s);
          int known = f->known (name);
          free (name);
          if (known)
            return s;
        }
      not_a_value (f, v, f->subr, 1);
    }
  if (f->gnutls_string != NULL)
    return scm_from_utf8_string (f->gnutls_string (r->value));
  const char *s = r->string ? r->string : r->symbol ? r->symbol : r->binding;
  return scm_from_utf8_string (s);
}

/* One primitive per family, all this driver: C has no closures, so the
   family is the trampoline's number.  */
static SCM
family_to_string_at (size_t n, SCM v)
{
  if (n >= GN_FAMILY_COUNT)
    abort ();
  return family_to_string (families[n], v);
}

#define TRAMPOLINE(n) \
  static SCM to_string_ ## n (SCM v) { return family_to_string_at (n, v); }
TRAMPOLINE (0) TRAMPOLINE (1) TRAMPOLINE (2) TRAMPOLINE (3) TRAMPOLINE (4)
TRAMPOLINE (5) TRAMPOLINE (6) TRAMPOLINE (7) TRAMPOLINE (8) TRAMPOLINE (9)
TRAMPOLINE (10) TRAMPOLINE (11) TRAMPOLINE (12) TRAMPOLINE (13)
TRAMPOLINE (14) TRAMPOLINE (15) TRAMPOLINE (16) TRAMPOLINE (17)
TRAMPOLINE (18) TRAMPOLINE (19) TRAMPOLINE (20) TRAMPOLINE (21)
TRAMPOLINE (22) TRAMPOLINE (23) TRAMPOLINE (24) TRAMPOLINE (25)
TRAMPOLINE (26) TRAMPOLINE (27) TRAMPOLINE (28) TRAMPOLINE (29)
TRAMPOLINE (30) TRAMPOLINE (31)
#undef TRAMPOLINE
/* Room for families to come: a new family is a table, its row in
   `families' and its name in gn_name_family (tls.h).  */
static SCM (*const trampolines[32]) (SCM) = {
  to_string_0, to_string_1, to_string_2, to_string_3, to_string_4,
  to_string_5, to_string_6, to_string_7, to_string_8, to_string_9,
  to_string_10, to_string_11, to_string_12, to_string_13, to_string_14,
  to_string_15, to_string_16, to_string_17, to_string_18, to_string_19,
  to_string_20, to_string_21, to_string_22, to_string_23, to_string_24,
  to_string_25, to_string_26, to_string_27, to_string_28, to_string_29,
  to_string_30, to_string_31,
};

/* ---- the library ------------------------------------------------------ */

SCM_DEFINE (gn_gnutls_version, "gnutls-version", 0, 0, 0, (void),
            "Return the version of the GnuTLS library in use (the one\n"
            "loaded at run time), a string such as @code{\"3.7.9\"}.")
#define FUNC_NAME s_gn_gnutls_version
{
  return scm_from_utf8_string (gnutls_check_version (NULL));
}
#undef FUNC_NAME

SCM_DEFINE (gn_cipher_suite_to_string, "cipher-suite->string", 3, 0, 0,
            (SCM kx, SCM cipher, SCM mac),
            "Return GnuTLS's name of the cipher suite made of key exchange\n"
            "@var{kx}, @var{cipher} and @var{mac} (@code{kx/},\n"
            "@code{cipher/} and @code{mac/} values, such as\n"
            "@code{session-kx}, @code{session-cipher} and\n"
            "@code{session-mac} return), e.g.\n"
            "@code{\"ECDHE_RSA_AES_256_GCM_SHA384\"}, or @code{#f} when GnuTLS\n"
            "has no such suite.")
#define FUNC_NAME s_gn_cipher_suite_to_string
{
  long k = gn_name_value (GN_KX, kx, FUNC_NAME, 1);
  long c;
  long m;
  /* A cipher or MAC of a newer GnuTLS than our tables: by its name.  */
  if (scm_is_symbol (cipher) && row_of (family (GN_CIPHER), cipher) == NULL)
    {
      char *n = scm_to_utf8_string (scm_symbol_to_string (cipher));
      c = gnutls_cipher_get_id (n);
      free (n);
      if (c == GNUTLS_CIPHER_UNKNOWN)
        not_a_value (family (GN_CIPHER), cipher, FUNC_NAME, 2);
    }
  else
    c = gn_name_value (GN_CIPHER, cipher, FUNC_NAME, 2);
  if (scm_is_symbol (mac) && row_of (family (GN_MAC), mac) == NULL)
    {
      char *n = scm_to_utf8_string (scm_symbol_to_string (mac));
      m = gnutls_mac_get_id (n);
      free (n);
      if (m == GNUTLS_MAC_UNKNOWN)
        not_a_value (family (GN_MAC), mac, FUNC_NAME, 3);
    }
  else
    m = gn_name_value (GN_MAC, mac, FUNC_NAME, 3);
  const char *name =
    gnutls_cipher_suite_get_name ((gnutls_kx_algorithm_t) k,
                                  (gnutls_cipher_algorithm_t) c,
                                  (gnutls_mac_algorithm_t) m);
  return name ? scm_from_utf8_string (name) : SCM_BOOL_F;
}
#undef FUNC_NAME

static SCM bindings = SCM_EOL;

SCM_DEFINE (gn_tls_name_bindings, "%tls-name-bindings", 0, 0, 0, (void),
            "Internal: the names this file defines in (net tls), for its\n"
            "export list.")
#define FUNC_NAME s_gn_tls_name_bindings
{
  return bindings;
}
#undef FUNC_NAME

static void
define_binding (const char *name, SCM value)
{
  scm_c_define (name, value);
  gn_tls_export_name (name);
}

void
gn_tls_export_name (const char *name)
{
  bindings = scm_cons (scm_from_utf8_symbol (name), bindings);
}

void
gn_init_tls_names (void)
{
  if (sizeof trampolines / sizeof trampolines[0] < GN_FAMILY_COUNT)
    abort ();
  for (size_t fi = 0; fi < GN_FAMILY_COUNT; fi++)
    {
      gn_family *f = families[fi];
      if (f->kind == GN_SYMBOL_VALUES)
        {
          f->symbols = malloc (f->count * sizeof (SCM));
          for (size_t i = 0; i < f->count; i++)
            f->symbols[i] = scm_permanent_object
              (scm_from_utf8_symbol (f->rows[i].symbol));
        }
      for (size_t i = 0; i < f->count; i++)
        {
          const gn_name *r = &f->rows[i];
          if (r->binding == NULL)
            continue;
          char name[128];
          size_t n = (size_t) snprintf (name, sizeof name, "%s/%s", f->name,
                                        r->binding);
          if (fi == GN_ERROR)
            /* NO_CIPHER_SUITES -> no-cipher-suites */
            for (size_t j = strlen ("error/"); j < n; j++)
              name[j] = name[j] == '_' ? '-'
                : (char) tolower ((unsigned char) name[j]);
          define_binding (name, f->kind == GN_SYMBOL_VALUES ? f->symbols[i]
                          : f->kind == GN_STRING_VALUES
                          ? scm_from_utf8_string (r->string)
                          : scm_from_long (r->value));
        }
      if (f->to_string)
        {
          size_t len = strlen (f->name) + sizeof "->string";
          f->subr = malloc (len);
          snprintf (f->subr, len, "%s->string", f->name);
          const char *form = "Return a string for @var{value}, a\n"
            "@code{%s/} value: %s.  Any other value is an error.";
          len = strlen (form) + strlen (f->name) + strlen (f->what);
          f->doc = malloc (len);
          snprintf (f->doc, len, form, f->name, f->what);
          gn_define_primitive (f->subr, 1, 0, 0,
                               (scm_t_subr) trampolines[fi], f->doc);
          gn_tls_export_name (f->subr);
        }
    }
#ifndef SCM_MAGIC_SNARFER
#include "tls-names.x"
#endif
  gn_tls_export_name ("gnutls-version");
  gn_tls_export_name ("cipher-suite->string");
  gn_init_tls_errors ();
  gn_init_tls_x509_names ();
  bindings = scm_permanent_object (bindings);
}
