/* tls-x509-make.c -- making X.509 certificates and private keys, by
   guile-gnutls's names: generate a key, export it (PKCS #1/SEC 1 or
   PKCS #8, encrypted or not), fill an empty certificate (version, serial,
   subject, validity, key, usages, basic constraints, identifiers), and
   sign it with an issuer's certificate and key.  Ours besides: adding
   alternative names and key purposes, which a server certificate needs
   and guile-gnutls has no procedure for.

   Signing checks what GnuTLS would sign anyway but a verifier would
   reject (no key, no validity, expiry before activation, an issuer that
   is no certificate authority, a key that is not the issuer's), fills in
   what RFC 5280 asks and is usually forgotten (a random serial, the
   subject and authority key identifiers), and re-reads the result, so
   the object is at once usable for verification and the accessors.  */

#include "tls.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define to_certificate gn_tls_to_certificate
#define to_private_key gn_tls_to_private_key

/* The largest RSA or DSA key generated: beyond, generation takes many
   minutes, never what a caller meant.  */
#define MAX_KEY_BITS 16384

/* A &tls-error for GnuTLS's RC, its message TEXT (with ~a directives
   filled from ARGS) followed by GnuTLS's own.  */
static SCM_NORETURN void
raise_make_error (const char *subr, int rc, const char *text, SCM args)
{
  SCM message = scm_simple_format (SCM_BOOL_F, scm_from_utf8_string (text),
                                   args);
  gn_raise_tls_error_message
    (subr, rc, scm_string_append
     (scm_list_3 (message, scm_from_utf8_string (": "),
                  scm_from_utf8_string (gnutls_strerror (rc)))));
}

/* A &tls-error with message TEXT alone.  */
static SCM_NORETURN void
raise_refusal (const char *subr, int rc, const char *text)
{
  gn_raise_tls_error_message (subr, rc, scm_from_utf8_string (text));
}

struct generation
{
  gnutls_x509_privkey_t key;
  gnutls_pk_algorithm_t algorithm;
  unsigned int bits, flags;
  int rc;
};

static void *
generate (void *data)
{
  struct generation *g = data;
  g->rc = gnutls_x509_privkey_generate (g->key, g->algorithm, g->bits,
                                        g->flags);
  return NULL;
}

SCM_DEFINE (gn_generate_x509_private_key, "generate-x509-private-key",
            2, 1, 0, (SCM algorithm, SCM bits, SCM flags),
            "Return a new private key of @var{algorithm}, a\n"
            "@code{pk-algorithm/} value such as @code{pk-algorithm/rsa},\n"
            "@code{/ecdsa} or @code{/eddsa-ed25519}, of @var{bits} bits (for\n"
            "ECDSA 256, 384 or 521, the curve; 256 for Ed25519).\n"
            "@var{flags} is a list of @code{privkey/} values, empty by\n"
            "default.")
#define FUNC_NAME s_gn_generate_x509_private_key
{
  int alg = (int) gn_name_value (GN_PK_ALGORITHM, algorithm, FUNC_NAME, 1);
  if (!scm_is_exact_integer (bits))
    gn_wrong_type (FUNC_NAME, 2, bits);
  if (!scm_is_unsigned_integer (bits, 1, MAX_KEY_BITS))
    gn_out_of_range_msg (FUNC_NAME, 2, bits, "a key size from 1 to 16384 bits");
  unsigned int f = 0;
  if (!SCM_UNBNDP (flags))
    {
      if (scm_ilength (flags) < 0)
        gn_wrong_type (FUNC_NAME, 3, flags);
      for (SCM l = flags; scm_is_pair (l); l = SCM_CDR (l))
        {
          if (!scm_is_exact_integer (SCM_CAR (l)))
            gn_wrong_type (FUNC_NAME, 3, flags);
          if (!scm_is_unsigned_integer (SCM_CAR (l), 0, 1 << 30))
            gn_out_of_range (FUNC_NAME, 3, flags);
          f |= scm_to_uint (SCM_CAR (l));
        }
    }
  struct generation g = { NULL, (gnutls_pk_algorithm_t) alg,
                          scm_to_uint (bits), f, 0 };
  gn_tls_check (gnutls_x509_privkey_init (&g.key), FUNC_NAME);
  /* An RSA key of 4096 bits takes a second or more: let the other
     threads' garbage collections run meanwhile.  */
  scm_without_guile (generate, &g);
  gnutls_x509_privkey_t key = g.key;
  int rc = g.rc;
  if (rc < 0)
    {
      gnutls_x509_privkey_deinit (key);
      raise_make_error (FUNC_NAME, rc, "cannot generate a ~a key of ~a bits",
                        scm_list_2 (algorithm, bits));
    }
  return gn_tls_wrap_private_key (key);
}
#undef FUNC_NAME

SCM_DEFINE (gn_export_x509_private_key, "export-x509-private-key", 1, 1, 0,
            (SCM key, SCM format),
            "Return @var{key} encoded as a bytevector, PEM by default or\n"
            "@var{format}, in the key's own format (PKCS #1 for RSA, SEC 1\n"
            "for ECDSA, PKCS #8 for the others), unencrypted.")
#define FUNC_NAME s_gn_export_x509_private_key
{
  gnutls_x509_privkey_t k = to_private_key (key, FUNC_NAME, 1);
  gnutls_x509_crt_fmt_t fmt = SCM_UNBNDP (format) ? GNUTLS_X509_FMT_PEM
    : gn_tls_to_format (format, FUNC_NAME, 2);
  gnutls_datum_t d;
  int rc = gnutls_x509_privkey_export2 (k, fmt, &d);
  scm_remember_upto_here_1 (key);
  gn_tls_check (rc, FUNC_NAME);
  return gn_tls_datum_to_bytevector (&d);
}
#undef FUNC_NAME

SCM_DEFINE (gn_pkcs8_export_x509_private_key, "pkcs8-export-x509-private-key",
            1, 2, 0, (SCM key, SCM format, SCM password),
            "Return @var{key} as PKCS #8, a bytevector, PEM by default or\n"
            "@var{format}; encrypted (PBES2 with AES-256) with\n"
            "@var{password}, a string, when it is given and not @code{#f}.")
#define FUNC_NAME s_gn_pkcs8_export_x509_private_key
{
  gnutls_x509_privkey_t k = to_private_key (key, FUNC_NAME, 1);
  gnutls_x509_crt_fmt_t fmt = SCM_UNBNDP (format) ? GNUTLS_X509_FMT_PEM
    : gn_tls_to_format (format, FUNC_NAME, 2);
  char *pw = NULL;
  if (!SCM_UNBNDP (password) && scm_is_true (password))
    {
      if (!scm_is_string (password))
        gn_wrong_type (FUNC_NAME, 3, password);
      pw = scm_to_utf8_string (password);
    }
  gnutls_datum_t d;
  int rc = gnutls_x509_privkey_export2_pkcs8
    (k, fmt, pw, pw ? GNUTLS_PKCS_PBES2_AES_256 : GNUTLS_PKCS_PLAIN, &d);
  if (pw != NULL)
    {
      memset (pw, 0, strlen (pw));
      free (pw);
    }
  scm_remember_upto_here_1 (key);
  gn_tls_check (rc, FUNC_NAME);
  return gn_tls_datum_to_bytevector (&d);
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_x509_certificate, "make-x509-certificate", 0, 0, 0, (),
            "Return a new, empty X.509 certificate of version 3, to fill\n"
            "with the @code{set-x509-certificate-...!} procedures and sign\n"
            "with @code{sign-x509-certificate!}.")
#define FUNC_NAME s_gn_make_x509_certificate
{
  gnutls_x509_crt_t crt;
  gn_tls_check (gnutls_x509_crt_init (&crt), FUNC_NAME);
  int rc = gnutls_x509_crt_set_version (crt, 3);
  if (rc < 0)
    {
      gnutls_x509_crt_deinit (crt);
      gn_raise_tls_error (FUNC_NAME, rc, -1);
    }
  return gn_tls_wrap_certificate (crt);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_version, "set-x509-certificate-version!",
            2, 0, 0, (SCM cert, SCM version),
            "Make @var{cert} of X.509 version @var{version}, 1, 2 or 3\n"
            "(which extensions need, and signing sets when there are any).")
#define FUNC_NAME s_gn_set_x509_certificate_version
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_exact_integer (version))
    gn_wrong_type (FUNC_NAME, 2, version);
  if (!scm_is_unsigned_integer (version, 1, 3))
    gn_out_of_range_msg (FUNC_NAME, 2, version, "X.509 versions are 1 to 3");
  int rc = gnutls_x509_crt_set_version (crt, scm_to_uint (version));
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_serial, "set-x509-certificate-serial!",
            2, 0, 0, (SCM cert, SCM serial),
            "Set the serial number of @var{cert} to @var{serial}, a\n"
            "bytevector of 1 to 20 bytes, a big-endian positive number (its\n"
            "first bit clear).  A certificate signed without one gets a\n"
            "random one.")
#define FUNC_NAME s_gn_set_x509_certificate_serial
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_bytevector (serial))
    gn_wrong_type (FUNC_NAME, 2, serial);
  size_t n = SCM_BYTEVECTOR_LENGTH (serial);
  if (n == 0 || n > 20)
    gn_out_of_range_msg (FUNC_NAME, 2, serial,
                         "a serial number has 1 to 20 bytes");
  int rc = gnutls_x509_crt_set_serial (crt, SCM_BYTEVECTOR_CONTENTS (serial),
                                       n);
  scm_remember_upto_here_2 (cert, serial);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_dn_by_oid,
            "set-x509-certificate-dn-by-oid!", 3, 0, 0,
            (SCM cert, SCM oid, SCM value),
            "Add attribute @var{oid} (an @code{oid/} value such as\n"
            "@code{oid/x520-common-name}, or any OID string) with\n"
            "@var{value}, a non-empty string, to the subject of @var{cert}.")
#define FUNC_NAME s_gn_set_x509_certificate_dn_by_oid
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_string (oid))
    gn_wrong_type (FUNC_NAME, 2, oid);
  if (!gn_tls_is_oid (oid))
    gn_out_of_range_msg (FUNC_NAME, 2, oid,
                         "not an OID: numbers separated by dots");
  if (!scm_is_string (value))
    gn_wrong_type (FUNC_NAME, 3, value);
  scm_dynwind_begin (0);
  char *o = scm_to_utf8_string (oid);
  scm_dynwind_free (o);
  size_t len;
  char *v = scm_to_utf8_stringn (value, &len);
  scm_dynwind_free (v);
  if (len == 0 || strlen (v) != len)
    gn_out_of_range_msg (FUNC_NAME, 3, value,
                         "a non-empty string without NUL characters");
  int rc = gnutls_x509_crt_set_dn_by_oid (crt, o, 0, v, len);
  scm_remember_upto_here_1 (cert);
  if (rc < 0)
    raise_make_error (FUNC_NAME, rc, "cannot set attribute ~a to ~s",
                      scm_list_2 (oid, value));
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* Times from 1950 (UTCTime's first year) to the end of 9999.  */
static time_t
to_time (SCM t, const char *subr, int pos)
{
  if (!scm_is_exact_integer (t))
    gn_wrong_type (subr, pos, t);
  if (!scm_is_signed_integer (t, -631152000LL, 253402300799LL))
    gn_out_of_range_msg (subr, pos, t,
                         "a time in seconds since the epoch, from 1950 to 9999");
  return (time_t) scm_to_int64 (t);
}

SCM_DEFINE (gn_set_x509_certificate_activation_time,
            "set-x509-certificate-activation-time!", 2, 0, 0,
            (SCM cert, SCM time),
            "Make @var{cert} valid from @var{time}, in seconds since the\n"
            "epoch (as @code{current-time}).")
#define FUNC_NAME s_gn_set_x509_certificate_activation_time
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  int rc = gnutls_x509_crt_set_activation_time
    (crt, to_time (time, FUNC_NAME, 2));
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_expiration_time,
            "set-x509-certificate-expiration-time!", 2, 0, 0,
            (SCM cert, SCM time),
            "Make @var{cert} valid until @var{time}, in seconds since the\n"
            "epoch.")
#define FUNC_NAME s_gn_set_x509_certificate_expiration_time
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  int rc = gnutls_x509_crt_set_expiration_time
    (crt, to_time (time, FUNC_NAME, 2));
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_key, "set-x509-certificate-key!",
            2, 0, 0, (SCM cert, SCM key),
            "Make @var{cert} the certificate of private key @var{key}: its\n"
            "public key is put in @var{cert}.")
#define FUNC_NAME s_gn_set_x509_certificate_key
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_x509_privkey_t k = to_private_key (key, FUNC_NAME, 2);
  int rc = gnutls_x509_crt_set_key (crt, k);
  scm_remember_upto_here_2 (cert, key);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_key_usage,
            "set-x509-certificate-key-usage!", 2, 0, 0,
            (SCM cert, SCM usages),
            "Set the key usages of @var{cert} to @var{usages}, a list of\n"
            "@code{key-usage/} values (a certificate authority's include\n"
            "@code{key-usage/key-cert-sign}).")
#define FUNC_NAME s_gn_set_x509_certificate_key_usage
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  unsigned int bits = (unsigned int)
    gn_name_bits_from_list (GN_KEY_USAGE, usages, FUNC_NAME, 2);
  int rc = gnutls_x509_crt_set_key_usage (crt, bits);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_ca_status,
            "set-x509-certificate-ca-status!", 2, 0, 0, (SCM cert, SCM ca),
            "Say in the basic constraints of @var{cert} whether it is a\n"
            "certificate authority: @var{ca} is @code{#t} or @code{#f}.")
#define FUNC_NAME s_gn_set_x509_certificate_ca_status
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_bool (ca))
    gn_wrong_type (FUNC_NAME, 2, ca);
  int rc = gnutls_x509_crt_set_basic_constraints (crt, scm_is_true (ca), -1);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_x509_certificate_subject_key_id,
            "set-x509-certificate-subject-key-id!", 2, 0, 0,
            (SCM cert, SCM id),
            "Set the subject key identifier of @var{cert} to @var{id}, a\n"
            "bytevector of 1 to 64 bytes, usually\n"
            "@code{(x509-certificate-key-id @var{cert})}, which signing\n"
            "sets when none was.")
#define FUNC_NAME s_gn_set_x509_certificate_subject_key_id
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_bytevector (id))
    gn_wrong_type (FUNC_NAME, 2, id);
  size_t n = SCM_BYTEVECTOR_LENGTH (id);
  if (n == 0 || n > 64)
    gn_out_of_range_msg (FUNC_NAME, 2, id, "an identifier has 1 to 64 bytes");
  int rc = gnutls_x509_crt_set_subject_key_id
    (crt, SCM_BYTEVECTOR_CONTENTS (id), n);
  scm_remember_upto_here_2 (cert, id);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_add_x509_certificate_san,
            "add-x509-certificate-subject-alternative-name!", 3, 0, 0,
            (SCM cert, SCM type, SCM name),
            "Add alternative name @var{name}, a string, of @var{type} to\n"
            "@var{cert}: @code{x509-subject-alternative-name/dnsname},\n"
            "@code{/ipaddress} (@var{name} an IPv4 or IPv6 address in text\n"
            "form), @code{/rfc822name} (an e-mail address) or @code{/uri}.")
#define FUNC_NAME s_gn_add_x509_certificate_san
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  int t = (int) gn_name_value (GN_X509_SUBJECT_ALTERNATIVE_NAME, type,
                               FUNC_NAME, 2);
  if (t != GNUTLS_SAN_DNSNAME && t != GNUTLS_SAN_IPADDRESS
      && t != GNUTLS_SAN_RFC822NAME && t != GNUTLS_SAN_URI)
    gn_out_of_range_msg (FUNC_NAME, 2, type,
                         "names added are dnsname, ipaddress, rfc822name "
                         "or uri");
  if (!scm_is_string (name))
    gn_wrong_type (FUNC_NAME, 3, name);
  scm_dynwind_begin (0);
  size_t len;
  char *n = scm_to_utf8_stringn (name, &len);
  scm_dynwind_free (n);
  if (len == 0 || strlen (n) != len)
    gn_out_of_range_msg (FUNC_NAME, 3, name,
                         "a non-empty string without NUL characters");
  unsigned char ip[16];
  const void *data = n;
  size_t size = len;
  if (t == GNUTLS_SAN_IPADDRESS)
    {
      if (inet_pton (AF_INET, n, ip) == 1)
        size = 4;
      else if (inet_pton (AF_INET6, n, ip) == 1)
        size = 16;
      else
        gn_out_of_range_msg (FUNC_NAME, 3, name, "not an IP address");
      data = ip;
    }
  int rc = gnutls_x509_crt_set_subject_alt_name
    (crt, (gnutls_x509_subject_alt_name_t) t, data, size, GNUTLS_FSAN_APPEND);
  scm_remember_upto_here_1 (cert);
  if (rc < 0)
    raise_make_error (FUNC_NAME, rc, "cannot add alternative name ~s",
                      scm_list_1 (name));
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* Key purposes (extended key usage): our names for GnuTLS's
   GNUTLS_KP_ OIDs.  */
static const struct { const char *name, *oid; } purposes[] = {
  { "tls-www-server", GNUTLS_KP_TLS_WWW_SERVER },
  { "tls-www-client", GNUTLS_KP_TLS_WWW_CLIENT },
  { "code-signing", GNUTLS_KP_CODE_SIGNING },
  { "email-protection", GNUTLS_KP_EMAIL_PROTECTION },
  { "time-stamping", GNUTLS_KP_TIME_STAMPING },
  { "ocsp-signing", GNUTLS_KP_OCSP_SIGNING },
  { "ipsec-ike", GNUTLS_KP_IPSEC_IKE },
  { "any", GNUTLS_KP_ANY },
  { NULL, NULL }
};

SCM_DEFINE (gn_add_x509_certificate_key_purpose,
            "add-x509-certificate-key-purpose!", 2, 0, 0,
            (SCM cert, SCM purpose),
            "Add key purpose @var{purpose} to @var{cert}: a symbol,\n"
            "@code{tls-www-server}, @code{tls-www-client},\n"
            "@code{code-signing}, @code{email-protection},\n"
            "@code{time-stamping}, @code{ocsp-signing}, @code{ipsec-ike} or\n"
            "@code{any}, or an OID string.")
#define FUNC_NAME s_gn_add_x509_certificate_key_purpose
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  const char *oid = NULL;
  if (scm_is_symbol (purpose))
    {
      for (size_t i = 0; purposes[i].name != NULL && oid == NULL; i++)
        if (scm_is_eq (purpose, scm_from_utf8_symbol (purposes[i].name)))
          oid = purposes[i].oid;
      if (oid == NULL)
        gn_out_of_range_msg (FUNC_NAME, 2, purpose, "not a key purpose");
    }
  else if (!scm_is_string (purpose))
    gn_wrong_type (FUNC_NAME, 2, purpose);
  else if (!gn_tls_is_oid (purpose))
    gn_out_of_range_msg (FUNC_NAME, 2, purpose,
                         "not an OID: numbers separated by dots");
  scm_dynwind_begin (0);
  if (oid == NULL)
    {
      char *o = scm_to_utf8_string (purpose);
      scm_dynwind_free (o);
      oid = o;
    }
  int rc = gnutls_x509_crt_set_key_purpose_oid (crt, oid, 0);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_key_purposes, "x509-certificate-key-purposes",
            1, 0, 0, (SCM cert),
            "Return the key purposes of @var{cert}: a list of the symbols\n"
            "@code{add-x509-certificate-key-purpose!} takes (OID strings for\n"
            "others); empty if it says none.")
#define FUNC_NAME s_gn_x509_certificate_key_purposes
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  SCM result = SCM_EOL;
  for (unsigned int i = 0; i < 64; i++)
    {
      char buf[256];
      size_t size = sizeof buf;
      int rc = gnutls_x509_crt_get_key_purpose_oid (crt, i, buf, &size, NULL);
      if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      gn_tls_check (rc, FUNC_NAME);
      SCM item = SCM_BOOL_F;
      for (size_t j = 0; purposes[j].name != NULL; j++)
        if (strcmp (buf, purposes[j].oid) == 0)
          item = scm_from_utf8_symbol (purposes[j].name);
      if (scm_is_false (item))
        item = scm_from_utf8_stringn (buf, strnlen (buf, size));
      result = scm_cons (item, result);
    }
  scm_remember_upto_here_1 (cert);
  return scm_reverse_x (result, SCM_EOL);
}
#undef FUNC_NAME

/* Whether the key identifiers of CRT's public key and of KEY agree.  */
static int
key_matches (gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
  unsigned char a[64], b[64];
  size_t na = sizeof a, nb = sizeof b;
  return gnutls_x509_crt_get_key_id (crt, 0, a, &na) >= 0
    && gnutls_x509_privkey_get_key_id (key, 0, b, &nb) >= 0
    && na == nb && memcmp (a, b, na) == 0;
}

SCM_DEFINE (gn_sign_x509_certificate, "sign-x509-certificate!", 3, 1, 0,
            (SCM cert, SCM issuer, SCM issuer_key, SCM digest),
            "Sign @var{cert} as @var{issuer}, a certificate authority's\n"
            "certificate (or @var{cert} itself: self-signed), with\n"
            "@var{issuer-key}, its private key, and the digest\n"
            "@var{digest} (a @code{digest/} value; by default what suits the\n"
            "key).  @var{cert} must have its key and validity set; signing\n"
            "gives it a random serial number and its subject and authority\n"
            "key identifiers when it has none.  Do this last: changing\n"
            "@var{cert} afterwards undoes the signature.")
#define FUNC_NAME s_gn_sign_x509_certificate
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_x509_crt_t ca = to_certificate (issuer, FUNC_NAME, 2);
  gnutls_x509_privkey_t key = to_private_key (issuer_key, FUNC_NAME, 3);
  gnutls_digest_algorithm_t dig = SCM_UNBNDP (digest) ? GNUTLS_DIG_UNKNOWN
    : (gnutls_digest_algorithm_t)
    gn_name_value (GN_DIGEST, digest, FUNC_NAME, 4);
  int self = scm_is_eq (cert, issuer) || crt == ca;
  unsigned int bits;
  if (gnutls_x509_crt_get_pk_algorithm (crt, &bits) < 0)
    raise_refusal (FUNC_NAME, GNUTLS_E_INVALID_REQUEST,
                   "the certificate has no key yet: set it with "
                   "set-x509-certificate-key!");
  time_t from = gnutls_x509_crt_get_activation_time (crt);
  time_t until = gnutls_x509_crt_get_expiration_time (crt);
  if (from == (time_t) -1 || until == (time_t) -1)
    raise_refusal (FUNC_NAME, GNUTLS_E_CERTIFICATE_TIME_ERROR,
                   "the certificate has no validity period yet: set its "
                   "activation and expiration times");
  if (until < from)
    gn_raise_tls_error_message
      (FUNC_NAME, GNUTLS_E_CERTIFICATE_TIME_ERROR, scm_simple_format
       (SCM_BOOL_F, scm_from_utf8_string
        ("the certificate would expire (~a) before it is activated (~a)"),
        scm_list_2 (scm_from_int64 (until), scm_from_int64 (from))));
  unsigned int is_ca = 0, critical;
  int pathlen;
  if (!self
      && (gnutls_x509_crt_get_basic_constraints (ca, &critical, &is_ca,
                                                 &pathlen) < 0
          || !is_ca))
    raise_refusal (FUNC_NAME, GNUTLS_E_CERTIFICATE_ERROR,
                   "the issuer certificate is not a certificate authority "
                   "(its basic constraints do not say CA)");
  unsigned int usage;
  if (!self && gnutls_x509_crt_get_key_usage (ca, &usage, &critical) >= 0
      && !(usage & GNUTLS_KEY_KEY_CERT_SIGN))
    raise_refusal (FUNC_NAME, GNUTLS_E_KEY_USAGE_VIOLATION,
                   "the issuer certificate's key usage does not allow "
                   "signing certificates (key-usage/key-cert-sign)");
  if (!key_matches (ca, key))
    raise_refusal (FUNC_NAME, GNUTLS_E_CERTIFICATE_KEY_MISMATCH,
                   self ? "the signing key is not the certificate's key"
                   : "the signing key is not the issuer certificate's key");

  int rc = 0;
  unsigned char buf[64];
  size_t size = sizeof buf;
  if (gnutls_x509_crt_get_serial (crt, buf, &size) < 0)
    {
      rc = gnutls_rnd (GNUTLS_RND_NONCE, buf, 16);
      buf[0] &= 0x7f;           /* a positive number */
      buf[0] |= 0x40;           /* of 16 bytes */
      if (rc >= 0)
        rc = gnutls_x509_crt_set_serial (crt, buf, 16);
    }
  /* Version 1 and 2 certificates have no extensions.  */
  int v3 = gnutls_x509_crt_get_version (crt) >= 3;
  size = sizeof buf;
  if (rc >= 0 && v3
      && gnutls_x509_crt_get_subject_key_id (crt, buf, &size, &critical) < 0)
    {
      size = sizeof buf;
      rc = gnutls_x509_crt_get_key_id (crt, 0, buf, &size);
      if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_key_id (crt, buf, size);
    }
  size = sizeof buf;
  unsigned char theirs[64];
  size_t their_size = sizeof theirs;
  if (rc >= 0 && !self && v3
      && gnutls_x509_crt_get_authority_key_id (crt, buf, &size, &critical) < 0
      && gnutls_x509_crt_get_subject_key_id (ca, theirs, &their_size,
                                             &critical) >= 0)
    rc = gnutls_x509_crt_set_authority_key_id (crt, theirs, their_size);
  if (rc >= 0)
    rc = gnutls_x509_crt_sign2 (crt, ca, key, dig, 0);
  if (rc < 0)
    raise_make_error (FUNC_NAME, rc,
                      v3 ? "cannot sign the certificate"
                      : "cannot sign the certificate (of version 1 or 2: "
                      "one with extensions must be of version 3)", SCM_EOL);

  /* Read it back: GnuTLS verifies a newly signed certificate only once
     re-imported.  */
  gnutls_datum_t der;
  gn_tls_check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der),
                FUNC_NAME);
  gnutls_x509_crt_t fresh;
  rc = gnutls_x509_crt_init (&fresh);
  if (rc >= 0)
    {
      rc = gnutls_x509_crt_import (fresh, &der, GNUTLS_X509_FMT_DER);
      if (rc < 0)
        gnutls_x509_crt_deinit (fresh);
    }
  gnutls_free (der.data);
  gn_tls_check (rc, FUNC_NAME);
  gn_tls_replace_certificate (cert, fresh);
  scm_remember_upto_here_2 (issuer, issuer_key);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

void
gn_init_tls_x509_make (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-x509-make.x"
#endif
}
