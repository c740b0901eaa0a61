/* tls-names.c -- the names of GnuTLS's constants: guile-gnutls's enum
   families (cipher/, kx/, mac/, protocol/, alert-description/, ...), their
   FAMILY->string procedures, and the error/ codes.

   One table per family, one driver for all of them.  A family's values
   are either symbols or integers (doc/tls-names.texi says which):
   - what our procedures RETURN to describe a session is a symbol, and the
     constant is bound to exactly that symbol (session-cipher returns
     AES-256-GCM, and cipher/aes-256-gcm is that symbol), so eq?, memq
     and case written for guile-gnutls keep working;
   - what is passed IN as an option or combined as flags is GnuTLS's own
     integer (connection-flag/datagram, certificate-verify/...), and so
     are the error codes (error/again is -28).
   A row may be an alias of an earlier one (cipher/arcfour and
   cipher/arcfour-128): the same value, bound under another name.  Rows
   without a binding name are values our procedures may return that
   guile-gnutls had no constant for (session-kx's ECDHE under TLS 1.3).

   The error/ constants are made from GnuTLS's own macros (every
   GNUTLS_E_ code of gnutls.h, a superset of guile-gnutls's list), their
   names computed: GNUTLS_E_NO_CIPHER_SUITES is error/no-cipher-suites.  */

#include "tls.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/openpgp.h>

/* A value GnuTLS has no number for (historic, or ours only).  */
#define NO_VALUE LONG_MIN

typedef struct
{
  const char *binding;  /* FAMILY/BINDING is defined; NULL: not bound */
  const char *symbol;   /* the value, in a symbol family */
  long value;           /* GnuTLS's number, or NO_VALUE */
  const char *string;   /* what FAMILY->string says; NULL: the symbol */
  const char *words;    /* certificate statuses: why, in English */
} gn_name;

/* Symbol-valued rows; integer-valued rows.  */
#define S(b, sym, v, str) { b, sym, (long) (v), str, NULL }
#define I(b, v, str) { b, NULL, (long) (v), str, NULL }

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

/* The symbols are those peer-certificate-status returns, in the order it
   lists them (most telling first); the strings guile-gnutls's names.
   `invalid' comes last: it is said alone, when no other reason is.  */
static const gn_name certificate_status_names[] = {
#define C(b, sym, v, words) { b, sym, (long) (v), b, words }
  C ("expired", "expired", GNUTLS_CERT_EXPIRED,
     "the certificate has expired"),
  C ("not-activated", "not-yet-valid", GNUTLS_CERT_NOT_ACTIVATED,
     "the certificate is not yet valid"),
  C ("unexpected-owner", "host-name-mismatch", GNUTLS_CERT_UNEXPECTED_OWNER,
     "the certificate does not match the host name"),
  C ("signer-not-found", "untrusted-issuer", GNUTLS_CERT_SIGNER_NOT_FOUND,
     "the certificate's issuer is not trusted (unknown or self-signed)"),
  C ("revoked", "revoked", GNUTLS_CERT_REVOKED,
     "the certificate has been revoked"),
  C ("insecure-algorithm", "insecure-algorithm",
     GNUTLS_CERT_INSECURE_ALGORITHM,
     "the certificate is signed with an insecure algorithm"),
  C ("signer-not-ca", "signer-not-ca", GNUTLS_CERT_SIGNER_NOT_CA,
     "the certificate's signer is not a certificate authority"),
  C ("signer-constraints-failed", "signer-constraints",
     GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
     "the certificate's signer constraints were violated"),
  C ("purpose-mismatch", "purpose-mismatch", GNUTLS_CERT_PURPOSE_MISMATCH,
     "the certificate is not meant for this purpose (key usage)"),
  C ("signature-failure", "bad-signature", GNUTLS_CERT_SIGNATURE_FAILURE,
     "the certificate's signature is invalid"),
  C ("revocation-data-superseded", "revocation-data-superseded",
     GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED,
     "the revocation data are old and superseded"),
  C ("revocation-data-issued-in-future", "revocation-data-future",
     GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE,
     "the revocation data have a future issue date"),
  C ("mismatch", "certificate-mismatch", GNUTLS_CERT_MISMATCH,
     "the certificate is not the expected one"),
  C ("missing-ocsp-status", "missing-ocsp-status",
     GNUTLS_CERT_MISSING_OCSP_STATUS,
     "no OCSP status was received though the certificate requires one"),
  C ("invalid-ocsp-status", "invalid-ocsp-status",
     GNUTLS_CERT_INVALID_OCSP_STATUS, "the OCSP status received is invalid"),
  C ("unknown-crit-extensions", "unknown-critical-extension",
     GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS,
     "the certificate has an unsupported critical extension"),
  C ("invalid", "invalid", GNUTLS_CERT_INVALID,
     "the certificate is invalid or missing"),
#undef C
};

static const gn_name certificate_verify_names[] = {
  I ("disable-ca-sign", GNUTLS_VERIFY_DISABLE_CA_SIGN, NULL),
  /* A no-op since GnuTLS 3.? (version 1 CAs are allowed by default).  */
  I ("allow-x509-v1-ca-crt", 0, NULL),
  I ("allow-x509-v1-ca-certificate", 0, "allow-x509-v1-ca-crt"),
  I ("do-not-allow-same", GNUTLS_VERIFY_DO_NOT_ALLOW_SAME, NULL),
  I ("allow-any-x509-v1-ca-crt", GNUTLS_VERIFY_ALLOW_ANY_X509_V1_CA_CRT, NULL),
  I ("allow-any-x509-v1-ca-certificate",
     GNUTLS_VERIFY_ALLOW_ANY_X509_V1_CA_CRT, "allow-any-x509-v1-ca-crt"),
  I ("allow-sign-rsa-md2", GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD2, NULL),
  I ("allow-sign-rsa-md5", GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD5, NULL),
  /* GnuTLS's other flags.  */
  I ("do-not-allow-ip-matches", GNUTLS_VERIFY_DO_NOT_ALLOW_IP_MATCHES, NULL),
  I ("disable-time-checks", GNUTLS_VERIFY_DISABLE_TIME_CHECKS, NULL),
  I ("disable-trusted-time-checks", GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
     NULL),
  I ("do-not-allow-x509-v1-ca-crt", GNUTLS_VERIFY_DO_NOT_ALLOW_X509_V1_CA_CRT,
     NULL),
  I ("disable-crl-checks", GNUTLS_VERIFY_DISABLE_CRL_CHECKS, NULL),
  I ("allow-unsorted-chain", GNUTLS_VERIFY_ALLOW_UNSORTED_CHAIN, NULL),
  I ("do-not-allow-unsorted-chain", GNUTLS_VERIFY_DO_NOT_ALLOW_UNSORTED_CHAIN,
     NULL),
  I ("do-not-allow-wildcards", GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS, NULL),
  I ("use-tls1-rsa", GNUTLS_VERIFY_USE_TLS1_RSA, NULL),
  I ("ignore-unknown-crit-extensions",
     GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS, NULL),
  I ("allow-sign-with-sha1", GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1, NULL),
  I ("rsa-pss-fixed-salt-length", GNUTLS_VERIFY_RSA_PSS_FIXED_SALT_LENGTH,
     NULL),
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

/* Every GNUTLS_E_ code of GnuTLS 3.7's gnutls.h: the binding is computed
   from the macro's name at initialization.  */
static gn_name error_names[] = {
#define E(x) { #x, NULL, (long) GNUTLS_E_ ## x, NULL, NULL }
  E (SUCCESS),
  E (UNSUPPORTED_VERSION_PACKET),
  E (TLS_PACKET_DECODING_ERROR),
  E (UNEXPECTED_PACKET_LENGTH),
  E (INVALID_SESSION),
  E (FATAL_ALERT_RECEIVED),
  E (UNEXPECTED_PACKET),
  E (WARNING_ALERT_RECEIVED),
  E (ERROR_IN_FINISHED_PACKET),
  E (UNEXPECTED_HANDSHAKE_PACKET),
  E (DECRYPTION_FAILED),
  E (MEMORY_ERROR),
  E (DECOMPRESSION_FAILED),
  E (COMPRESSION_FAILED),
  E (AGAIN),
  E (EXPIRED),
  E (DB_ERROR),
  E (SRP_PWD_ERROR),
  E (KEYFILE_ERROR),
  E (INSUFFICIENT_CREDENTIALS),
  E (INSUFICIENT_CREDENTIALS),
  E (INSUFFICIENT_CRED),
  E (INSUFICIENT_CRED),
  E (HASH_FAILED),
  E (BASE64_DECODING_ERROR),
  E (REHANDSHAKE),
  E (GOT_APPLICATION_DATA),
  E (RECORD_LIMIT_REACHED),
  E (ENCRYPTION_FAILED),
  E (PK_ENCRYPTION_FAILED),
  E (PK_DECRYPTION_FAILED),
  E (PK_SIGN_FAILED),
  E (X509_UNSUPPORTED_CRITICAL_EXTENSION),
  E (KEY_USAGE_VIOLATION),
  E (NO_CERTIFICATE_FOUND),
  E (INVALID_REQUEST),
  E (SHORT_MEMORY_BUFFER),
  E (INTERRUPTED),
  E (PUSH_ERROR),
  E (PULL_ERROR),
  E (RECEIVED_ILLEGAL_PARAMETER),
  E (REQUESTED_DATA_NOT_AVAILABLE),
  E (PKCS1_WRONG_PAD),
  E (RECEIVED_ILLEGAL_EXTENSION),
  E (INTERNAL_ERROR),
  E (DH_PRIME_UNACCEPTABLE),
  E (FILE_ERROR),
  E (TOO_MANY_EMPTY_PACKETS),
  E (UNKNOWN_PK_ALGORITHM),
  E (TOO_MANY_HANDSHAKE_PACKETS),
  E (RECEIVED_DISALLOWED_NAME),
  E (CERTIFICATE_REQUIRED),
  E (NO_TEMPORARY_RSA_PARAMS),
  E (NO_COMPRESSION_ALGORITHMS),
  E (NO_CIPHER_SUITES),
  E (OPENPGP_GETKEY_FAILED),
  E (PK_SIG_VERIFY_FAILED),
  E (ILLEGAL_SRP_USERNAME),
  E (SRP_PWD_PARSING_ERROR),
  E (KEYFILE_PARSING_ERROR),
  E (NO_TEMPORARY_DH_PARAMS),
  E (ASN1_ELEMENT_NOT_FOUND),
  E (ASN1_IDENTIFIER_NOT_FOUND),
  E (ASN1_DER_ERROR),
  E (ASN1_VALUE_NOT_FOUND),
  E (ASN1_GENERIC_ERROR),
  E (ASN1_VALUE_NOT_VALID),
  E (ASN1_TAG_ERROR),
  E (ASN1_TAG_IMPLICIT),
  E (ASN1_TYPE_ANY_ERROR),
  E (ASN1_SYNTAX_ERROR),
  E (ASN1_DER_OVERFLOW),
  E (OPENPGP_UID_REVOKED),
  E (CERTIFICATE_ERROR),
  E (X509_CERTIFICATE_ERROR),
  E (CERTIFICATE_KEY_MISMATCH),
  E (UNSUPPORTED_CERTIFICATE_TYPE),
  E (X509_UNKNOWN_SAN),
  E (OPENPGP_FINGERPRINT_UNSUPPORTED),
  E (X509_UNSUPPORTED_ATTRIBUTE),
  E (UNKNOWN_HASH_ALGORITHM),
  E (UNKNOWN_PKCS_CONTENT_TYPE),
  E (UNKNOWN_PKCS_BAG_TYPE),
  E (INVALID_PASSWORD),
  E (MAC_VERIFY_FAILED),
  E (CONSTRAINT_ERROR),
  E (WARNING_IA_IPHF_RECEIVED),
  E (WARNING_IA_FPHF_RECEIVED),
  E (IA_VERIFY_FAILED),
  E (UNKNOWN_ALGORITHM),
  E (UNSUPPORTED_SIGNATURE_ALGORITHM),
  E (SAFE_RENEGOTIATION_FAILED),
  E (UNSAFE_RENEGOTIATION_DENIED),
  E (UNKNOWN_SRP_USERNAME),
  E (PREMATURE_TERMINATION),
  E (MALFORMED_CIDR),
  E (BASE64_ENCODING_ERROR),
  E (INCOMPATIBLE_GCRYPT_LIBRARY),
  E (INCOMPATIBLE_CRYPTO_LIBRARY),
  E (INCOMPATIBLE_LIBTASN1_LIBRARY),
  E (OPENPGP_KEYRING_ERROR),
  E (X509_UNSUPPORTED_OID),
  E (RANDOM_FAILED),
  E (BASE64_UNEXPECTED_HEADER_ERROR),
  E (OPENPGP_SUBKEY_ERROR),
  E (CRYPTO_ALREADY_REGISTERED),
  E (ALREADY_REGISTERED),
  E (HANDSHAKE_TOO_LARGE),
  E (CRYPTODEV_IOCTL_ERROR),
  E (CRYPTODEV_DEVICE_ERROR),
  E (CHANNEL_BINDING_NOT_AVAILABLE),
  E (BAD_COOKIE),
  E (OPENPGP_PREFERRED_KEY_ERROR),
  E (INCOMPAT_DSA_KEY_WITH_TLS_PROTOCOL),
  E (INSUFFICIENT_SECURITY),
  E (HEARTBEAT_PONG_RECEIVED),
  E (HEARTBEAT_PING_RECEIVED),
  E (UNRECOGNIZED_NAME),
  E (PKCS11_ERROR),
  E (PKCS11_LOAD_ERROR),
  E (PARSING_ERROR),
  E (PKCS11_PIN_ERROR),
  E (PKCS11_SLOT_ERROR),
  E (LOCKING_ERROR),
  E (PKCS11_ATTRIBUTE_ERROR),
  E (PKCS11_DEVICE_ERROR),
  E (PKCS11_DATA_ERROR),
  E (PKCS11_UNSUPPORTED_FEATURE_ERROR),
  E (PKCS11_KEY_ERROR),
  E (PKCS11_PIN_EXPIRED),
  E (PKCS11_PIN_LOCKED),
  E (PKCS11_SESSION_ERROR),
  E (PKCS11_SIGNATURE_ERROR),
  E (PKCS11_TOKEN_ERROR),
  E (PKCS11_USER_ERROR),
  E (CRYPTO_INIT_FAILED),
  E (TIMEDOUT),
  E (USER_ERROR),
  E (ECC_NO_SUPPORTED_CURVES),
  E (ECC_UNSUPPORTED_CURVE),
  E (PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE),
  E (CERTIFICATE_LIST_UNSORTED),
  E (ILLEGAL_PARAMETER),
  E (NO_PRIORITIES_WERE_SET),
  E (X509_UNSUPPORTED_EXTENSION),
  E (SESSION_EOF),
  E (TPM_ERROR),
  E (TPM_KEY_PASSWORD_ERROR),
  E (TPM_SRK_PASSWORD_ERROR),
  E (TPM_SESSION_ERROR),
  E (TPM_KEY_NOT_FOUND),
  E (TPM_UNINITIALIZED),
  E (TPM_NO_LIB),
  E (NO_CERTIFICATE_STATUS),
  E (OCSP_RESPONSE_ERROR),
  E (RANDOM_DEVICE_ERROR),
  E (AUTH_ERROR),
  E (NO_APPLICATION_PROTOCOL),
  E (SOCKETS_INIT_ERROR),
  E (KEY_IMPORT_FAILED),
  E (INAPPROPRIATE_FALLBACK),
  E (CERTIFICATE_VERIFICATION_ERROR),
  E (PRIVKEY_VERIFICATION_ERROR),
  E (UNEXPECTED_EXTENSIONS_LENGTH),
  E (ASN1_EMBEDDED_NULL_IN_STRING),
  E (SELF_TEST_ERROR),
  E (NO_SELF_TEST),
  E (LIB_IN_ERROR_STATE),
  E (PK_GENERATION_ERROR),
  E (IDNA_ERROR),
  E (NEED_FALLBACK),
  E (SESSION_USER_ID_CHANGED),
  E (HANDSHAKE_DURING_FALSE_START),
  E (UNAVAILABLE_DURING_HANDSHAKE),
  E (PK_INVALID_PUBKEY),
  E (PK_INVALID_PRIVKEY),
  E (NOT_YET_ACTIVATED),
  E (INVALID_UTF8_STRING),
  E (NO_EMBEDDED_DATA),
  E (INVALID_UTF8_EMAIL),
  E (INVALID_PASSWORD_STRING),
  E (CERTIFICATE_TIME_ERROR),
  E (RECORD_OVERFLOW),
  E (ASN1_TIME_ERROR),
  E (INCOMPATIBLE_SIG_WITH_KEY),
  E (PK_INVALID_PUBKEY_PARAMS),
  E (PK_NO_VALIDATION_PARAMS),
  E (OCSP_MISMATCH_WITH_CERTS),
  E (NO_COMMON_KEY_SHARE),
  E (REAUTH_REQUEST),
  E (TOO_MANY_MATCHES),
  E (CRL_VERIFICATION_ERROR),
  E (MISSING_EXTENSION),
  E (DB_ENTRY_EXISTS),
  E (EARLY_DATA_REJECTED),
  E (X509_DUPLICATE_EXTENSION),
  E (UNIMPLEMENTED_FEATURE),
  E (INT_RET_0),
  E (INT_CHECK_AGAIN),
  E (APPLICATION_ERROR_MAX),
  E (APPLICATION_ERROR_MIN),
#undef E
};

#undef S
#undef I

typedef struct
{
  const char *name;         /* cipher: bindings cipher/..., cipher->string */
  int symbolic;             /* values are symbols, else integers */
  const gn_name *rows;
  size_t count;
  int to_string;            /* define FAMILY->string here */
  const char *what;         /* for FAMILY->string's docstring */
  /* Symbol families whose symbols are GnuTLS's names: whether GnuTLS
     knows NAME, for values of a newer GnuTLS than these tables.  */
  int (*known) (const char *name);
  /* Made at initialization.  */
  SCM *symbols;
  char *subr;
  char *doc;
} gn_family;

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

#define ROWS(t) t, sizeof t / sizeof t[0]

/* In the order of enum gn_name_family (tls.h).  */
static gn_family families[GN_FAMILY_COUNT] = {
  { "alert-description", 1, ROWS (alert_description_names), 1,
    "an alert such as @code{unknown-ca}; the string is its name", NULL },
  { "alert-level", 1, ROWS (alert_level_names), 1,
    "@code{warning} or @code{fatal}", NULL },
  { "certificate-status", 1, ROWS (certificate_status_names), 1,
    "a reason @code{peer-certificate-status} returns, such as\n"
    "@code{untrusted-issuer}; the string is guile-gnutls's name for it,\n"
    "such as @code{\"signer-not-found\"}", NULL },
  { "certificate-verify", 0, ROWS (certificate_verify_names), 1,
    "a verification flag (an integer)", NULL },
  { "cipher", 1, ROWS (cipher_names), 1,
    "a cipher, a symbol such as @code{AES-256-GCM} as\n"
    "@code{session-cipher} returns it", known_cipher },
  { "kx", 1, ROWS (kx_names), 1,
    "a key exchange, a symbol such as @code{ECDHE-RSA} as\n"
    "@code{session-kx} returns it", known_kx },
  { "mac", 1, ROWS (mac_names), 1,
    "a MAC algorithm, a symbol such as @code{SHA256} or @code{AEAD} as\n"
    "@code{session-mac} returns it", known_mac },
  { "protocol", 1, ROWS (protocol_names), 1,
    "a protocol version, a symbol such as @code{TLS1.3} as\n"
    "@code{session-protocol} returns it", known_protocol },
  { "compression-method", 1, ROWS (compression_method_names), 1,
    "a compression method (@code{null}: GnuTLS 3.7 compresses nothing)",
    NULL },
  { "certificate-type", 1, ROWS (certificate_type_names), 1,
    "a certificate type, such as @code{x509}", NULL },
  { "credentials", 1, ROWS (credentials_names), 1,
    "a kind of credentials (authentication), such as\n@code{certificate}",
    NULL },
  { "handshake-description", 1, ROWS (handshake_description_names), 1,
    "a handshake message type, such as @code{client-hello}", NULL },
  { "connection-flag", 0, ROWS (connection_flag_names), 1,
    "a flag of @code{make-session} (an integer)", NULL },
  { "connection-end", 0, ROWS (connection_end_names), 1,
    "@code{connection-end/client} or @code{connection-end/server}", NULL },
  { "close-request", 0, ROWS (close_request_names), 1,
    "@code{close-request/rdwr} or @code{close-request/wr}", NULL },
  { "certificate-request", 0, ROWS (certificate_request_names), 1,
    "a @code{certificate-request/} value (an integer)", NULL },
  { "server-name-type", 0, ROWS (server_name_type_names), 1,
    "@code{server-name-type/dns}", NULL },
  { "openpgp-certificate-format", 0, ROWS (openpgp_certificate_format_names),
    1, "@code{openpgp-certificate-format/raw} or @code{/base64}", NULL },
  { "error", 0, ROWS (error_names), 0, NULL, NULL },
};

/* ---- lookups ---------------------------------------------------------- */

static const gn_family *
family (gn_name_family f)
{
  return &families[f];
}

/* The row of value V in F, or NULL.  */
static const gn_name *
row_of (const gn_family *f, SCM v)
{
  if (f->symbolic)
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
  int right_type = f->symbolic ? scm_is_symbol (v) : scm_is_exact_integer (v);
  if (!right_type)
    gn_wrong_type (subr, pos, v);
  char what[96];
  snprintf (what, sizeof what, "not a %s/ value", f->name);
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
      return f->symbolic ? f->symbols[i] : scm_from_long (value);
  return SCM_BOOL_F;
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

/* The reasons in STATUS as symbols, and as sentences when WORDS is not
   NULL; `invalid' alone when no other bit says why.  */
void
gn_tls_status_lists (unsigned status, SCM *reasons, SCM *words)
{
  const gn_family *f = family (GN_CERTIFICATE_STATUS);
  SCM r = SCM_EOL, w = SCM_EOL;
  size_t last = f->count - 1;        /* `invalid' */
  for (size_t i = last; i-- > 0;)
    if (status & (unsigned) f->rows[i].value)
      {
        r = scm_cons (f->symbols[i], r);
        w = scm_cons (scm_from_utf8_string (f->rows[i].words), w);
      }
  if (scm_is_null (r) && status != 0)
    {
      r = scm_list_1 (f->symbols[last]);
      w = scm_list_1 (scm_from_utf8_string (f->rows[last].words));
    }
  *reasons = r;
  if (words != NULL)
    *words = w;
}

SCM
gn_tls_status_reasons (unsigned status)
{
  SCM reasons;
  gn_tls_status_lists (status, &reasons, NULL);
  return reasons;
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
  return family_to_string (&families[n], v);
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

/* ---- errors and the library ------------------------------------------- */

static int
error_code (SCM code, const char *subr)
{
  if (!scm_is_exact_integer (code))
    gn_wrong_type (subr, 1, code);
  if (!scm_is_signed_integer (code, INT_MIN, INT_MAX))
    gn_out_of_range (subr, 1, code);
  return scm_to_int (code);
}

SCM_DEFINE (gn_error_to_string, "error->string", 1, 0, 0, (SCM code),
            "Return GnuTLS's message for error code @var{code}, an\n"
            "@code{error/} value such as @code{error/again} (an integer;\n"
            "codes GnuTLS does not know give @code{\"(unknown error\n"
            "code)\"}).")
#define FUNC_NAME s_gn_error_to_string
{
  const char *s = gnutls_strerror (error_code (code, FUNC_NAME));
  return scm_from_utf8_string (s ? s : "(unknown error code)");
}
#undef FUNC_NAME

SCM_DEFINE (gn_fatal_error_p, "fatal-error?", 1, 0, 0, (SCM code),
            "Return @code{#t} if GnuTLS error code @var{code} (an\n"
            "@code{error/} value) ends the session, @code{#f} if it does not\n"
            "(@code{error/again}, @code{error/interrupted},\n"
            "@code{error/warning-alert-received}, ...): GnuTLS's\n"
            "@code{gnutls_error_is_fatal}.")
#define FUNC_NAME s_gn_fatal_error_p
{
  return scm_from_bool (gnutls_error_is_fatal (error_code (code, FUNC_NAME)));
}
#undef FUNC_NAME

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
  bindings = scm_cons (scm_from_utf8_symbol (name), bindings);
}

void
gn_init_tls_names (void)
{
  if (sizeof trampolines / sizeof trampolines[0] < GN_FAMILY_COUNT)
    abort ();
  for (size_t fi = 0; fi < GN_FAMILY_COUNT; fi++)
    {
      gn_family *f = &families[fi];
      if (f->symbolic)
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
          define_binding (name, f->symbolic ? f->symbols[i]
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
          bindings = scm_cons (scm_from_utf8_symbol (f->subr), bindings);
        }
    }
#ifndef SCM_MAGIC_SNARFER
#include "tls-names.x"
#endif
  static const char *const procedures[] = {
    "error->string", "fatal-error?", "gnutls-version", "cipher-suite->string"
  };
  for (size_t i = 0; i < sizeof procedures / sizeof procedures[0]; i++)
    bindings = scm_cons (scm_from_utf8_symbol (procedures[i]), bindings);
  bindings = scm_permanent_object (bindings);
}
