/* tls-x509-enums.c -- the families of values X.509 certificates and keys
   are described with: public-key and signature algorithms, digests, key
   usages, kinds of alternative names (symbols), private key flags
   (GnuTLS's integers) and the OIDs of distinguished names (strings).

   One table per family gives the constants (pk-algorithm/rsa is bound to
   the symbol rsa, which x509-certificate-public-key-algorithm returns),
   the conversions from and to GnuTLS's values, and the FAMILY->string
   procedures.  */

#include "tls.h"

#include <gnutls/abstract.h>
#include <stdio.h>
#include <string.h>

static const gn_tls_enum_entry pk_entries[] = {
  { "unknown", GNUTLS_PK_UNKNOWN },
  { "rsa", GNUTLS_PK_RSA },
  { "dsa", GNUTLS_PK_DSA },
  { "dh", GNUTLS_PK_DH },
  { "ecdsa", GNUTLS_PK_ECDSA },
  { "ecdh-x25519", GNUTLS_PK_ECDH_X25519 },
  { "rsa-pss", GNUTLS_PK_RSA_PSS },
  { "eddsa-ed25519", GNUTLS_PK_EDDSA_ED25519 },
  { "gost-01", GNUTLS_PK_GOST_01 },
  { "gost-12-256", GNUTLS_PK_GOST_12_256 },
  { "gost-12-512", GNUTLS_PK_GOST_12_512 },
  { "ecdh-x448", GNUTLS_PK_ECDH_X448 },
  { "eddsa-ed448", GNUTLS_PK_EDDSA_ED448 },
  { NULL, 0 }
};
/* Other names of the same values (GnuTLS's GNUTLS_PK_EC and friends).  */
static const char *const pk_aliases[] = {
  "ecc", "ecdsa", "ec", "ecdsa", "ecdhx", "ecdh-x25519", NULL
};

static const gn_tls_enum_entry sign_entries[] = {
  { "unknown", GNUTLS_SIGN_UNKNOWN },
  { "rsa-sha1", GNUTLS_SIGN_RSA_SHA1 },
  { "dsa-sha1", GNUTLS_SIGN_DSA_SHA1 },
  { "rsa-md5", GNUTLS_SIGN_RSA_MD5 },
  { "rsa-md2", GNUTLS_SIGN_RSA_MD2 },
  { "rsa-rmd160", GNUTLS_SIGN_RSA_RMD160 },
  { "rsa-sha256", GNUTLS_SIGN_RSA_SHA256 },
  { "rsa-sha384", GNUTLS_SIGN_RSA_SHA384 },
  { "rsa-sha512", GNUTLS_SIGN_RSA_SHA512 },
  { "rsa-sha224", GNUTLS_SIGN_RSA_SHA224 },
  { "dsa-sha224", GNUTLS_SIGN_DSA_SHA224 },
  { "dsa-sha256", GNUTLS_SIGN_DSA_SHA256 },
  { "ecdsa-sha1", GNUTLS_SIGN_ECDSA_SHA1 },
  { "ecdsa-sha224", GNUTLS_SIGN_ECDSA_SHA224 },
  { "ecdsa-sha256", GNUTLS_SIGN_ECDSA_SHA256 },
  { "ecdsa-sha384", GNUTLS_SIGN_ECDSA_SHA384 },
  { "ecdsa-sha512", GNUTLS_SIGN_ECDSA_SHA512 },
  { "dsa-sha384", GNUTLS_SIGN_DSA_SHA384 },
  { "dsa-sha512", GNUTLS_SIGN_DSA_SHA512 },
  { "ecdsa-sha3-224", GNUTLS_SIGN_ECDSA_SHA3_224 },
  { "ecdsa-sha3-256", GNUTLS_SIGN_ECDSA_SHA3_256 },
  { "ecdsa-sha3-384", GNUTLS_SIGN_ECDSA_SHA3_384 },
  { "ecdsa-sha3-512", GNUTLS_SIGN_ECDSA_SHA3_512 },
  { "dsa-sha3-224", GNUTLS_SIGN_DSA_SHA3_224 },
  { "dsa-sha3-256", GNUTLS_SIGN_DSA_SHA3_256 },
  { "dsa-sha3-384", GNUTLS_SIGN_DSA_SHA3_384 },
  { "dsa-sha3-512", GNUTLS_SIGN_DSA_SHA3_512 },
  { "rsa-sha3-224", GNUTLS_SIGN_RSA_SHA3_224 },
  { "rsa-sha3-256", GNUTLS_SIGN_RSA_SHA3_256 },
  { "rsa-sha3-384", GNUTLS_SIGN_RSA_SHA3_384 },
  { "rsa-sha3-512", GNUTLS_SIGN_RSA_SHA3_512 },
  { "rsa-pss-sha256", GNUTLS_SIGN_RSA_PSS_SHA256 },
  { "rsa-pss-sha384", GNUTLS_SIGN_RSA_PSS_SHA384 },
  { "rsa-pss-sha512", GNUTLS_SIGN_RSA_PSS_SHA512 },
  { "eddsa-ed25519", GNUTLS_SIGN_EDDSA_ED25519 },
  { "rsa-raw", GNUTLS_SIGN_RSA_RAW },
  { "ecdsa-secp256r1-sha256", GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 },
  { "ecdsa-secp384r1-sha384", GNUTLS_SIGN_ECDSA_SECP384R1_SHA384 },
  { "ecdsa-secp521r1-sha512", GNUTLS_SIGN_ECDSA_SECP521R1_SHA512 },
  { "rsa-pss-rsae-sha256", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 },
  { "rsa-pss-rsae-sha384", GNUTLS_SIGN_RSA_PSS_RSAE_SHA384 },
  { "rsa-pss-rsae-sha512", GNUTLS_SIGN_RSA_PSS_RSAE_SHA512 },
  { "gost-94", GNUTLS_SIGN_GOST_94 },
  { "gost-256", GNUTLS_SIGN_GOST_256 },
  { "gost-512", GNUTLS_SIGN_GOST_512 },
  { "eddsa-ed448", GNUTLS_SIGN_EDDSA_ED448 },
  { NULL, 0 }
};

/* Named as x509-certificate-fingerprint has always taken them.  */
static const gn_tls_enum_entry digest_entries[] = {
  { "null", GNUTLS_DIG_NULL },
  { "md5", GNUTLS_DIG_MD5 },
  { "sha1", GNUTLS_DIG_SHA1 },
  { "rmd160", GNUTLS_DIG_RMD160 },
  { "md2", GNUTLS_DIG_MD2 },
  { "sha256", GNUTLS_DIG_SHA256 },
  { "sha384", GNUTLS_DIG_SHA384 },
  { "sha512", GNUTLS_DIG_SHA512 },
  { "sha224", GNUTLS_DIG_SHA224 },
  { "sha3-224", GNUTLS_DIG_SHA3_224 },
  { "sha3-256", GNUTLS_DIG_SHA3_256 },
  { "sha3-384", GNUTLS_DIG_SHA3_384 },
  { "sha3-512", GNUTLS_DIG_SHA3_512 },
  { "md5-sha1", GNUTLS_DIG_MD5_SHA1 },
  { "gostr-94", GNUTLS_DIG_GOSTR_94 },
  { "streebog-256", GNUTLS_DIG_STREEBOG_256 },
  { "streebog-512", GNUTLS_DIG_STREEBOG_512 },
  { "shake-128", GNUTLS_DIG_SHAKE_128 },
  { "shake-256", GNUTLS_DIG_SHAKE_256 },
  { NULL, 0 }
};

static const gn_tls_enum_entry key_usage_entries[] = {
  { "digital-signature", GNUTLS_KEY_DIGITAL_SIGNATURE },
  { "non-repudiation", GNUTLS_KEY_NON_REPUDIATION },
  { "key-encipherment", GNUTLS_KEY_KEY_ENCIPHERMENT },
  { "data-encipherment", GNUTLS_KEY_DATA_ENCIPHERMENT },
  { "key-agreement", GNUTLS_KEY_KEY_AGREEMENT },
  { "key-cert-sign", GNUTLS_KEY_KEY_CERT_SIGN },
  { "crl-sign", GNUTLS_KEY_CRL_SIGN },
  { "encipher-only", GNUTLS_KEY_ENCIPHER_ONLY },
  { "decipher-only", GNUTLS_KEY_DECIPHER_ONLY },
  { NULL, 0 }
};

static const gn_tls_enum_entry san_entries[] = {
  { "dnsname", GNUTLS_SAN_DNSNAME },
  { "rfc822name", GNUTLS_SAN_RFC822NAME },
  { "uri", GNUTLS_SAN_URI },
  { "ipaddress", GNUTLS_SAN_IPADDRESS },
  { "othername", GNUTLS_SAN_OTHERNAME },
  { "dn", GNUTLS_SAN_DN },
  { "registered-id", GNUTLS_SAN_REGISTERED_ID },
  { "othername-xmpp", GNUTLS_SAN_OTHERNAME_XMPP },
  { NULL, 0 }
};

const gn_tls_enum_family gn_tls_pk_family =
  { "pk-algorithm", pk_entries, pk_aliases };
const gn_tls_enum_family gn_tls_sign_family =
  { "sign-algorithm", sign_entries, NULL };
const gn_tls_enum_family gn_tls_digest_family =
  { "digest", digest_entries, NULL };
const gn_tls_enum_family gn_tls_key_usage_family =
  { "key-usage", key_usage_entries, NULL };
const gn_tls_enum_family gn_tls_san_family =
  { "x509-subject-alternative-name", san_entries, NULL };

/* Flags, integers: GnuTLS's own values.  */
static const gn_tls_enum_entry privkey_flags[] = {
  { "import-auto-release", GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE },
  { "import-copy", GNUTLS_PRIVKEY_IMPORT_COPY },
  { "disable-callbacks", GNUTLS_PRIVKEY_DISABLE_CALLBACKS },
  { "sign-flag-tls1-rsa", GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA },
  { "flag-provable", GNUTLS_PRIVKEY_FLAG_PROVABLE },
  { "flag-export-compat", GNUTLS_PRIVKEY_FLAG_EXPORT_COMPAT },
  { "sign-flag-rsa-pss", GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS },
  { "flag-reproducible", GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE },
  { "flag-ca", GNUTLS_PRIVKEY_FLAG_CA },
  { "flag-rsa-pss-fixed-salt-length",
    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH },
  { NULL, 0 }
};

/* OIDs, strings: GnuTLS's GNUTLS_OID_ macros.  */
static const struct { const char *name, *oid; } oids[] = {
  { "x520-country-name", GNUTLS_OID_X520_COUNTRY_NAME },
  { "x520-organization-name", GNUTLS_OID_X520_ORGANIZATION_NAME },
  { "x520-organizational-unit-name",
    GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME },
  { "x520-common-name", GNUTLS_OID_X520_COMMON_NAME },
  { "x520-locality-name", GNUTLS_OID_X520_LOCALITY_NAME },
  { "x520-state-or-province-name", GNUTLS_OID_X520_STATE_OR_PROVINCE_NAME },
  { "x520-initials", GNUTLS_OID_X520_INITIALS },
  { "x520-generation-qualifier", GNUTLS_OID_X520_GENERATION_QUALIFIER },
  { "x520-surname", GNUTLS_OID_X520_SURNAME },
  { "x520-given-name", GNUTLS_OID_X520_GIVEN_NAME },
  { "x520-title", GNUTLS_OID_X520_TITLE },
  { "x520-dn-qualifier", GNUTLS_OID_X520_DN_QUALIFIER },
  { "x520-pseudonym", GNUTLS_OID_X520_PSEUDONYM },
  { "x520-postalcode", GNUTLS_OID_X520_POSTALCODE },
  { "x520-name", GNUTLS_OID_X520_NAME },
  { "ldap-dc", GNUTLS_OID_LDAP_DC },
  { "ldap-uid", GNUTLS_OID_LDAP_UID },
  { "pkcs9-email", GNUTLS_OID_PKCS9_EMAIL },
  { "pkix-date-of-birth", GNUTLS_OID_PKIX_DATE_OF_BIRTH },
  { "pkix-place-of-birth", GNUTLS_OID_PKIX_PLACE_OF_BIRTH },
  { "pkix-gender", GNUTLS_OID_PKIX_GENDER },
  { "pkix-country-of-citizenship", GNUTLS_OID_PKIX_COUNTRY_OF_CITIZENSHIP },
  { "pkix-country-of-residence", GNUTLS_OID_PKIX_COUNTRY_OF_RESIDENCE },
  { "aia", GNUTLS_OID_AIA },
  { "ad-ocsp", GNUTLS_OID_AD_OCSP },
  { "ad-caissuers", GNUTLS_OID_AD_CAISSUERS },
  { NULL, NULL }
};

int
gn_tls_enum_value (const gn_tls_enum_family *f, SCM sym, const char *subr,
                   int pos)
{
  if (!scm_is_symbol (sym))
    gn_wrong_type (subr, pos, sym);
  for (const gn_tls_enum_entry *e = f->entries; e->name != NULL; e++)
    if (scm_is_eq (sym, scm_from_utf8_symbol (e->name)))
      return e->value;
  char what[100];
  snprintf (what, sizeof what, "not one of the %s/ values", f->prefix);
  gn_out_of_range_msg (subr, pos, sym, what);
}

SCM
gn_tls_enum_symbol (const gn_tls_enum_family *f, int value)
{
  for (const gn_tls_enum_entry *e = f->entries; e->name != NULL; e++)
    if (e->value == value)
      return scm_from_utf8_symbol (e->name);
  return SCM_BOOL_F;
}

SCM
gn_tls_key_usage_list (unsigned int bits)
{
  /* Last usage of the table first, as guile-gnutls lists them.  */
  SCM result = SCM_EOL;
  for (const gn_tls_enum_entry *e = key_usage_entries; e->name != NULL; e++)
    if (bits & (unsigned int) e->value)
      result = scm_cons (scm_from_utf8_symbol (e->name), result);
  return result;
}

unsigned int
gn_tls_key_usage_bits (SCM usages, const char *subr, int pos)
{
  if (scm_ilength (usages) < 0)
    gn_wrong_type (subr, pos, usages);
  unsigned int bits = 0;
  for (SCM l = usages; scm_is_pair (l); l = SCM_CDR (l))
    bits |= (unsigned int) gn_tls_enum_value (&gn_tls_key_usage_family,
                                              SCM_CAR (l), subr, pos);
  return bits;
}

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

/* The name of the FAMILY symbol SYM, argument 1 of SUBR, checked.  */
static SCM
symbol_name (const gn_tls_enum_family *f, SCM sym, const char *subr)
{
  gn_tls_enum_value (f, sym, subr, 1);
  return scm_symbol_to_string (sym);
}

SCM_DEFINE (gn_pk_algorithm_to_string, "pk-algorithm->string", 1, 0, 0,
            (SCM algorithm),
            "Return GnuTLS's name of public-key algorithm @var{algorithm}\n"
            "(a @code{pk-algorithm/} value), e.g. @code{\"RSA\"} or\n"
            "@code{\"EC/ECDSA\"}.")
#define FUNC_NAME s_gn_pk_algorithm_to_string
{
  int v = gn_tls_enum_value (&gn_tls_pk_family, algorithm, FUNC_NAME, 1);
  /* GnuTLS 3.7 names GNUTLS_PK_UNKNOWN after a GOST algorithm.  */
  const char *name = v == GNUTLS_PK_UNKNOWN ? "UNKNOWN"
    : gnutls_pk_algorithm_get_name ((gnutls_pk_algorithm_t) v);
  return scm_from_utf8_string (name ? name : "UNKNOWN");
}
#undef FUNC_NAME

SCM_DEFINE (gn_sign_algorithm_to_string, "sign-algorithm->string", 1, 0, 0,
            (SCM algorithm),
            "Return GnuTLS's name of signature algorithm @var{algorithm} (a\n"
            "@code{sign-algorithm/} value), e.g. @code{\"RSA-SHA256\"}.")
#define FUNC_NAME s_gn_sign_algorithm_to_string
{
  int v = gn_tls_enum_value (&gn_tls_sign_family, algorithm, FUNC_NAME, 1);
  const char *name = gnutls_sign_get_name ((gnutls_sign_algorithm_t) v);
  return scm_from_utf8_string (name ? name : "UNKNOWN");
}
#undef FUNC_NAME

SCM_DEFINE (gn_digest_to_string, "digest->string", 1, 0, 0, (SCM digest),
            "Return the name of @var{digest} (a @code{digest/} value), in\n"
            "lower case as guile-gnutls has it, e.g. @code{\"sha256\"}.")
#define FUNC_NAME s_gn_digest_to_string
{
  return symbol_name (&gn_tls_digest_family, digest, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_key_usage_to_string, "key-usage->string", 1, 0, 0,
            (SCM usage),
            "Return the name of key usage @var{usage} (a @code{key-usage/}\n"
            "value), e.g. @code{\"digital-signature\"}.")
#define FUNC_NAME s_gn_key_usage_to_string
{
  return symbol_name (&gn_tls_key_usage_family, usage, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_san_to_string, "x509-subject-alternative-name->string",
            1, 0, 0, (SCM type),
            "Return the name of alternative name type @var{type} (an\n"
            "@code{x509-subject-alternative-name/} value), e.g.\n"
            "@code{\"dnsname\"}.")
#define FUNC_NAME s_gn_san_to_string
{
  return symbol_name (&gn_tls_san_family, type, FUNC_NAME);
}
#undef FUNC_NAME

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

SCM_DEFINE (gn_privkey_to_string, "privkey->string", 1, 0, 0, (SCM flag),
            "Return the name of private key flag @var{flag} (one\n"
            "@code{privkey/} value, an integer), e.g.\n"
            "@code{\"flag-provable\"}.")
#define FUNC_NAME s_gn_privkey_to_string
{
  if (!scm_is_exact_integer (flag))
    gn_wrong_type (FUNC_NAME, 1, flag);
  for (const gn_tls_enum_entry *e = privkey_flags; e->name != NULL; e++)
    if (scm_is_eq (flag, scm_from_int (e->value)))
      return scm_from_utf8_string (e->name);
  gn_out_of_range_msg (FUNC_NAME, 1, flag, "not one of the privkey/ values");
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

/* Bind PREFIX/NAME to VALUE in the current module, (net tls).  */
static void
define_constant (const char *prefix, const char *name, SCM value)
{
  char full[120];
  snprintf (full, sizeof full, "%s/%s", prefix, name);
  scm_c_define (full, value);
}

static void
define_family (const gn_tls_enum_family *f)
{
  for (const gn_tls_enum_entry *e = f->entries; e->name != NULL; e++)
    define_constant (f->prefix, e->name, scm_from_utf8_symbol (e->name));
  for (const char *const *a = f->aliases; a != NULL && *a != NULL; a += 2)
    define_constant (f->prefix, a[0], scm_from_utf8_symbol (a[1]));
}

void
gn_init_tls_x509_enums (void)
{
  define_family (&gn_tls_pk_family);
  define_family (&gn_tls_sign_family);
  define_family (&gn_tls_digest_family);
  define_family (&gn_tls_key_usage_family);
  define_family (&gn_tls_san_family);
  for (const gn_tls_enum_entry *e = privkey_flags; e->name != NULL; e++)
    define_constant ("privkey", e->name, scm_from_int (e->value));
  for (size_t i = 0; oids[i].name != NULL; i++)
    define_constant ("oid", oids[i].name, scm_from_utf8_string (oids[i].oid));
#ifndef SCM_MAGIC_SNARFER
#include "tls-x509-enums.x"
#endif
}
