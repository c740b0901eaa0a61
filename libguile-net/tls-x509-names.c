/* tls-x509-names.c -- the families of values X.509 certificates and keys
   are verified and described with, as tables of tls-names.c's driver:
   - verification: the reasons peer-certificate-status gives
     (certificate-status/, symbols) and the verification flags
     (certificate-verify/, GnuTLS's integers);
   - certificates and keys: public-key and signature algorithms, digests,
     key usages, kinds of alternative names (symbols: pk-algorithm/rsa is
     bound to the symbol rsa, which x509-certificate-public-key-algorithm
     returns), private key flags (GnuTLS's integers) and the OIDs of
     distinguished names (strings).
   The driver gives the lookups, the bindings and the FAMILY->string
   procedures; here too are oid->string and
   x509-certificate-format->string, which no table answers.  */

#include "tls-names.h"

#include <gnutls/abstract.h>

#define S(b, v) GN_SYMBOL_ROW (b, b, v, NULL)
#define I(b, v) GN_INTEGER_ROW (b, v, NULL)
/* Another name of symbol SYM's row (GnuTLS's GNUTLS_PK_EC and friends).  */
#define ALIAS(b, sym, v) GN_SYMBOL_ROW (b, sym, v, NULL)

/* ---- verification: certificate-status/, certificate-verify/ ----------- */

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

#define V(b, v, str) GN_INTEGER_ROW (b, v, str)
static const gn_name certificate_verify_names[] = {
  V ("disable-ca-sign", GNUTLS_VERIFY_DISABLE_CA_SIGN, NULL),
  /* A no-op since GnuTLS 3.? (version 1 CAs are allowed by default).  */
  V ("allow-x509-v1-ca-crt", 0, NULL),
  V ("allow-x509-v1-ca-certificate", 0, "allow-x509-v1-ca-crt"),
  V ("do-not-allow-same", GNUTLS_VERIFY_DO_NOT_ALLOW_SAME, NULL),
  V ("allow-any-x509-v1-ca-crt", GNUTLS_VERIFY_ALLOW_ANY_X509_V1_CA_CRT, NULL),
  V ("allow-any-x509-v1-ca-certificate",
     GNUTLS_VERIFY_ALLOW_ANY_X509_V1_CA_CRT, "allow-any-x509-v1-ca-crt"),
  V ("allow-sign-rsa-md2", GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD2, NULL),
  V ("allow-sign-rsa-md5", GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD5, NULL),
  /* GnuTLS's other flags.  */
  V ("do-not-allow-ip-matches", GNUTLS_VERIFY_DO_NOT_ALLOW_IP_MATCHES, NULL),
  V ("disable-time-checks", GNUTLS_VERIFY_DISABLE_TIME_CHECKS, NULL),
  V ("disable-trusted-time-checks", GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
     NULL),
  V ("do-not-allow-x509-v1-ca-crt", GNUTLS_VERIFY_DO_NOT_ALLOW_X509_V1_CA_CRT,
     NULL),
  V ("disable-crl-checks", GNUTLS_VERIFY_DISABLE_CRL_CHECKS, NULL),
  V ("allow-unsorted-chain", GNUTLS_VERIFY_ALLOW_UNSORTED_CHAIN, NULL),
  V ("do-not-allow-unsorted-chain", GNUTLS_VERIFY_DO_NOT_ALLOW_UNSORTED_CHAIN,
     NULL),
  V ("do-not-allow-wildcards", GNUTLS_VERIFY_DO_NOT_ALLOW_WILDCARDS, NULL),
  V ("use-tls1-rsa", GNUTLS_VERIFY_USE_TLS1_RSA, NULL),
  V ("ignore-unknown-crit-extensions",
     GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS, NULL),
  V ("allow-sign-with-sha1", GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1, NULL),
  V ("rsa-pss-fixed-salt-length", GNUTLS_VERIFY_RSA_PSS_FIXED_SALT_LENGTH,
     NULL),
#undef V
};

gn_family gn_certificate_status_family =
  { "certificate-status", GN_SYMBOL_VALUES,
    GN_ROWS (certificate_status_names), 1,
    "a reason @code{peer-certificate-status} returns, such as\n"
    "@code{untrusted-issuer}; the string is guile-gnutls's name for it,\n"
    "such as @code{\"signer-not-found\"}", NULL };

gn_family gn_certificate_verify_family =
  { "certificate-verify", GN_INTEGER_VALUES,
    GN_ROWS (certificate_verify_names), 1,
    "a verification flag (an integer)", NULL };

/* The reasons in STATUS as symbols, and as sentences when WORDS is not
   NULL; `invalid' alone when no other bit says why.  */
void
gn_tls_status_lists (unsigned status, SCM *reasons, SCM *words)
{
  const gn_family *f = &gn_certificate_status_family;
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

/* ---- certificates and keys ------------------------------------------- */

static const gn_name pk_algorithm_names[] = {
  S ("unknown", GNUTLS_PK_UNKNOWN),
  S ("rsa", GNUTLS_PK_RSA),
  S ("dsa", GNUTLS_PK_DSA),
  S ("dh", GNUTLS_PK_DH),
  S ("ecdsa", GNUTLS_PK_ECDSA),
  S ("ecdh-x25519", GNUTLS_PK_ECDH_X25519),
  S ("rsa-pss", GNUTLS_PK_RSA_PSS),
  S ("eddsa-ed25519", GNUTLS_PK_EDDSA_ED25519),
  S ("gost-01", GNUTLS_PK_GOST_01),
  S ("gost-12-256", GNUTLS_PK_GOST_12_256),
  S ("gost-12-512", GNUTLS_PK_GOST_12_512),
  S ("ecdh-x448", GNUTLS_PK_ECDH_X448),
  S ("eddsa-ed448", GNUTLS_PK_EDDSA_ED448),
  ALIAS ("ecc", "ecdsa", GNUTLS_PK_ECDSA),
  ALIAS ("ec", "ecdsa", GNUTLS_PK_ECDSA),
  ALIAS ("ecdhx", "ecdh-x25519", GNUTLS_PK_ECDH_X25519),
};

static const gn_name sign_algorithm_names[] = {
  S ("unknown", GNUTLS_SIGN_UNKNOWN),
  S ("rsa-sha1", GNUTLS_SIGN_RSA_SHA1),
  S ("dsa-sha1", GNUTLS_SIGN_DSA_SHA1),
  S ("rsa-md5", GNUTLS_SIGN_RSA_MD5),
  S ("rsa-md2", GNUTLS_SIGN_RSA_MD2),
  S ("rsa-rmd160", GNUTLS_SIGN_RSA_RMD160),
  S ("rsa-sha256", GNUTLS_SIGN_RSA_SHA256),
  S ("rsa-sha384", GNUTLS_SIGN_RSA_SHA384),
  S ("rsa-sha512", GNUTLS_SIGN_RSA_SHA512),
  S ("rsa-sha224", GNUTLS_SIGN_RSA_SHA224),
  S ("dsa-sha224", GNUTLS_SIGN_DSA_SHA224),
  S ("dsa-sha256", GNUTLS_SIGN_DSA_SHA256),
  S ("ecdsa-sha1", GNUTLS_SIGN_ECDSA_SHA1),
  S ("ecdsa-sha224", GNUTLS_SIGN_ECDSA_SHA224),
  S ("ecdsa-sha256", GNUTLS_SIGN_ECDSA_SHA256),
  S ("ecdsa-sha384", GNUTLS_SIGN_ECDSA_SHA384),
  S ("ecdsa-sha512", GNUTLS_SIGN_ECDSA_SHA512),
  S ("dsa-sha384", GNUTLS_SIGN_DSA_SHA384),
  S ("dsa-sha512", GNUTLS_SIGN_DSA_SHA512),
  S ("ecdsa-sha3-224", GNUTLS_SIGN_ECDSA_SHA3_224),
  S ("ecdsa-sha3-256", GNUTLS_SIGN_ECDSA_SHA3_256),
  S ("ecdsa-sha3-384", GNUTLS_SIGN_ECDSA_SHA3_384),
  S ("ecdsa-sha3-512", GNUTLS_SIGN_ECDSA_SHA3_512),
  S ("dsa-sha3-224", GNUTLS_SIGN_DSA_SHA3_224),
  S ("dsa-sha3-256", GNUTLS_SIGN_DSA_SHA3_256),
  S ("dsa-sha3-384", GNUTLS_SIGN_DSA_SHA3_384),
  S ("dsa-sha3-512", GNUTLS_SIGN_DSA_SHA3_512),
  S ("rsa-sha3-224", GNUTLS_SIGN_RSA_SHA3_224),
  S ("rsa-sha3-256", GNUTLS_SIGN_RSA_SHA3_256),
  S ("rsa-sha3-384", GNUTLS_SIGN_RSA_SHA3_384),
  S ("rsa-sha3-512", GNUTLS_SIGN_RSA_SHA3_512),
  S ("rsa-pss-sha256", GNUTLS_SIGN_RSA_PSS_SHA256),
  S ("rsa-pss-sha384", GNUTLS_SIGN_RSA_PSS_SHA384),
  S ("rsa-pss-sha512", GNUTLS_SIGN_RSA_PSS_SHA512),
  S ("eddsa-ed25519", GNUTLS_SIGN_EDDSA_ED25519),
  S ("rsa-raw", GNUTLS_SIGN_RSA_RAW),
  S ("ecdsa-secp256r1-sha256", GNUTLS_SIGN_ECDSA_SECP256R1_SHA256),
  S ("ecdsa-secp384r1-sha384", GNUTLS_SIGN_ECDSA_SECP384R1_SHA384),
  S ("ecdsa-secp521r1-sha512", GNUTLS_SIGN_ECDSA_SECP521R1_SHA512),
  S ("rsa-pss-rsae-sha256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256),
  S ("rsa-pss-rsae-sha384", GNUTLS_SIGN_RSA_PSS_RSAE_SHA384),
  S ("rsa-pss-rsae-sha512", GNUTLS_SIGN_RSA_PSS_RSAE_SHA512),
  S ("gost-94", GNUTLS_SIGN_GOST_94),
  S ("gost-256", GNUTLS_SIGN_GOST_256),
  S ("gost-512", GNUTLS_SIGN_GOST_512),
  S ("eddsa-ed448", GNUTLS_SIGN_EDDSA_ED448),
};

/* Named as x509-certificate-fingerprint has always taken them.  */
static const gn_name digest_names[] = {
  S ("null", GNUTLS_DIG_NULL),
  S ("md5", GNUTLS_DIG_MD5),
  S ("sha1", GNUTLS_DIG_SHA1),
  S ("rmd160", GNUTLS_DIG_RMD160),
  S ("md2", GNUTLS_DIG_MD2),
  S ("sha256", GNUTLS_DIG_SHA256),
  S ("sha384", GNUTLS_DIG_SHA384),
  S ("sha512", GNUTLS_DIG_SHA512),
  S ("sha224", GNUTLS_DIG_SHA224),
  S ("sha3-224", GNUTLS_DIG_SHA3_224),
  S ("sha3-256", GNUTLS_DIG_SHA3_256),
  S ("sha3-384", GNUTLS_DIG_SHA3_384),
  S ("sha3-512", GNUTLS_DIG_SHA3_512),
  S ("md5-sha1", GNUTLS_DIG_MD5_SHA1),
  S ("gostr-94", GNUTLS_DIG_GOSTR_94),
  S ("streebog-256", GNUTLS_DIG_STREEBOG_256),
  S ("streebog-512", GNUTLS_DIG_STREEBOG_512),
  S ("shake-128", GNUTLS_DIG_SHAKE_128),
  S ("shake-256", GNUTLS_DIG_SHAKE_256),
};

static const gn_name key_usage_names[] = {
  S ("digital-signature", GNUTLS_KEY_DIGITAL_SIGNATURE),
  S ("non-repudiation", GNUTLS_KEY_NON_REPUDIATION),
  S ("key-encipherment", GNUTLS_KEY_KEY_ENCIPHERMENT),
  S ("data-encipherment", GNUTLS_KEY_DATA_ENCIPHERMENT),
  S ("key-agreement", GNUTLS_KEY_KEY_AGREEMENT),
  S ("key-cert-sign", GNUTLS_KEY_KEY_CERT_SIGN),
  S ("crl-sign", GNUTLS_KEY_CRL_SIGN),
  S ("encipher-only", GNUTLS_KEY_ENCIPHER_ONLY),
  S ("decipher-only", GNUTLS_KEY_DECIPHER_ONLY),
};

static const gn_name san_names[] = {
  S ("dnsname", GNUTLS_SAN_DNSNAME),
  S ("rfc822name", GNUTLS_SAN_RFC822NAME),
  S ("uri", GNUTLS_SAN_URI),
  S ("ipaddress", GNUTLS_SAN_IPADDRESS),
  S ("othername", GNUTLS_SAN_OTHERNAME),
  S ("dn", GNUTLS_SAN_DN),
  S ("registered-id", GNUTLS_SAN_REGISTERED_ID),
  S ("othername-xmpp", GNUTLS_SAN_OTHERNAME_XMPP),
};

/* Flags, integers: GnuTLS's own values.  */
static const gn_name privkey_names[] = {
  I ("import-auto-release", GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE),
  I ("import-copy", GNUTLS_PRIVKEY_IMPORT_COPY),
  I ("disable-callbacks", GNUTLS_PRIVKEY_DISABLE_CALLBACKS),
  I ("sign-flag-tls1-rsa", GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA),
  I ("flag-provable", GNUTLS_PRIVKEY_FLAG_PROVABLE),
  I ("flag-export-compat", GNUTLS_PRIVKEY_FLAG_EXPORT_COMPAT),
  I ("sign-flag-rsa-pss", GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS),
  I ("flag-reproducible", GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE),
  I ("flag-ca", GNUTLS_PRIVKEY_FLAG_CA),
  I ("flag-rsa-pss-fixed-salt-length",
     GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH),
};

/* OIDs, strings: GnuTLS's GNUTLS_OID_ macros.  */
static const gn_name oid_names[] = {
  GN_STRING_ROW ("x520-country-name", GNUTLS_OID_X520_COUNTRY_NAME),
  GN_STRING_ROW ("x520-organization-name", GNUTLS_OID_X520_ORGANIZATION_NAME),
  GN_STRING_ROW ("x520-organizational-unit-name",
                 GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME),
  GN_STRING_ROW ("x520-common-name", GNUTLS_OID_X520_COMMON_NAME),
  GN_STRING_ROW ("x520-locality-name", GNUTLS_OID_X520_LOCALITY_NAME),
  GN_STRING_ROW ("x520-state-or-province-name",
                 GNUTLS_OID_X520_STATE_OR_PROVINCE_NAME),
  GN_STRING_ROW ("x520-initials", GNUTLS_OID_X520_INITIALS),
  GN_STRING_ROW ("x520-generation-qualifier",
                 GNUTLS_OID_X520_GENERATION_QUALIFIER),
  GN_STRING_ROW ("x520-surname", GNUTLS_OID_X520_SURNAME),
  GN_STRING_ROW ("x520-given-name", GNUTLS_OID_X520_GIVEN_NAME),
  GN_STRING_ROW ("x520-title", GNUTLS_OID_X520_TITLE),
  GN_STRING_ROW ("x520-dn-qualifier", GNUTLS_OID_X520_DN_QUALIFIER),
  GN_STRING_ROW ("x520-pseudonym", GNUTLS_OID_X520_PSEUDONYM),
  GN_STRING_ROW ("x520-postalcode", GNUTLS_OID_X520_POSTALCODE),
  GN_STRING_ROW ("x520-name", GNUTLS_OID_X520_NAME),
  GN_STRING_ROW ("ldap-dc", GNUTLS_OID_LDAP_DC),
  GN_STRING_ROW ("ldap-uid", GNUTLS_OID_LDAP_UID),
  GN_STRING_ROW ("pkcs9-email", GNUTLS_OID_PKCS9_EMAIL),
  GN_STRING_ROW ("pkix-date-of-birth", GNUTLS_OID_PKIX_DATE_OF_BIRTH),
  GN_STRING_ROW ("pkix-place-of-birth", GNUTLS_OID_PKIX_PLACE_OF_BIRTH),
  GN_STRING_ROW ("pkix-gender", GNUTLS_OID_PKIX_GENDER),
  GN_STRING_ROW ("pkix-country-of-citizenship",
                 GNUTLS_OID_PKIX_COUNTRY_OF_CITIZENSHIP),
  GN_STRING_ROW ("pkix-country-of-residence",
                 GNUTLS_OID_PKIX_COUNTRY_OF_RESIDENCE),
  GN_STRING_ROW ("aia", GNUTLS_OID_AIA),
  GN_STRING_ROW ("ad-ocsp", GNUTLS_OID_AD_OCSP),
  GN_STRING_ROW ("ad-caissuers", GNUTLS_OID_AD_CAISSUERS),
};

/* What pk-algorithm->string and sign-algorithm->string say: GnuTLS's
   names.  */
static const char *
pk_algorithm_string (long v)
{
  /* GnuTLS 3.7 names GNUTLS_PK_UNKNOWN after a GOST algorithm.  */
  const char *name = v == GNUTLS_PK_UNKNOWN ? "UNKNOWN"
    : gnutls_pk_algorithm_get_name ((gnutls_pk_algorithm_t) v);
  return name ? name : "UNKNOWN";
}

static const char *
sign_algorithm_string (long v)
{
  const char *name = gnutls_sign_get_name ((gnutls_sign_algorithm_t) v);
  return name ? name : "UNKNOWN";
}

/* The families, in tls-names.c's `families' by their gn_name_family.  */
gn_family gn_pk_algorithm_family =
  { "pk-algorithm", GN_SYMBOL_VALUES, GN_ROWS (pk_algorithm_names), 1,
    "a public-key algorithm; the string is\n"
    "GnuTLS's name for it, e.g. @code{\"RSA\"} or @code{\"EC/ECDSA\"}",
    NULL, pk_algorithm_string, 1 };
gn_family gn_sign_algorithm_family =
  { "sign-algorithm", GN_SYMBOL_VALUES, GN_ROWS (sign_algorithm_names), 1,
    "a signature algorithm; the string is\n"
    "GnuTLS's name for it, e.g. @code{\"RSA-SHA256\"}",
    NULL, sign_algorithm_string, 1 };
gn_family gn_digest_family =
  { "digest", GN_SYMBOL_VALUES, GN_ROWS (digest_names), 1,
    "a digest; the string is its name, in lower\n"
    "case as guile-gnutls has it, e.g. @code{\"sha256\"}",
    NULL, NULL, 1 };
gn_family gn_key_usage_family =
  { "key-usage", GN_SYMBOL_VALUES, GN_ROWS (key_usage_names), 1,
    "a key usage; the string is its name, e.g.\n"
    "@code{\"digital-signature\"}",
    NULL, NULL, 1 };
gn_family gn_san_family =
  { "x509-subject-alternative-name", GN_SYMBOL_VALUES, GN_ROWS (san_names),
    1, "a type of alternative\n"
    "name; the string is its name, e.g. @code{\"dnsname\"}",
    NULL, NULL, 1 };
gn_family gn_privkey_family =
  { "privkey", GN_INTEGER_VALUES, GN_ROWS (privkey_names), 1,
    "a private key flag (an integer); the string\n"
    "is its name, e.g. @code{\"flag-provable\"}",
    NULL, NULL, 1 };
/* oid->string takes any OID, not only these: no table's ->string.  */
gn_family gn_oid_family =
  { "oid", GN_STRING_VALUES, GN_ROWS (oid_names), 0, NULL, NULL, NULL, 1 };

int
gn_tls_is_oid (SCM s)
{
  if (!scm_is_string (s))
    return 0;
  size_t n = scm_c_string_length (s);
  if (n == 0 || n > 200)
    return 0;
  int dots = 0;
  for (size_t i = 0; i < n; i++)
    {
      scm_t_wchar c = SCM_CHAR (scm_c_string_ref (s, i));
      if (c == '.')
        {
          if (i == 0 || i + 1 == n
              || SCM_CHAR (scm_c_string_ref (s, i - 1)) == '.')
            return 0;
          dots++;
        }
      else if (c < '0' || c > '9')
        return 0;
    }
  return dots > 0;
}

SCM_DEFINE (gn_format_to_string, "x509-certificate-format->string", 1, 0, 0,
            (SCM format),
            "Return @code{\"der\"} or @code{\"pem\"}, the name of\n"
            "@var{format} (@code{x509-certificate-format/der} or\n"
            "@code{/pem}).")
#define FUNC_NAME s_gn_format_to_string
{
  return scm_from_utf8_string
    (gn_tls_to_format (format, FUNC_NAME, 1) == GNUTLS_X509_FMT_PEM
     ? "pem" : "der");
}
#undef FUNC_NAME

SCM_DEFINE (gn_oid_to_string, "oid->string", 1, 0, 0, (SCM oid),
            "Return @var{oid} (an @code{oid/} value: OIDs are strings such\n"
            "as @code{\"2.5.4.3\"}) as a string.")
#define FUNC_NAME s_gn_oid_to_string
{
  if (!scm_is_string (oid))
    gn_wrong_type (FUNC_NAME, 1, oid);
  if (!gn_tls_is_oid (oid))
    gn_out_of_range_msg (FUNC_NAME, 1, oid,
                         "not an OID: numbers separated by dots");
  return scm_string_copy (oid);
}
#undef FUNC_NAME

void
gn_init_tls_x509_names (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-x509-names.x"
#endif
  gn_tls_export_name ("x509-certificate-format->string");
  gn_tls_export_name ("oid->string");
}
