/* tls-x509.c -- X.509 certificates and private keys: what users look at
   (subject, issuer, alternative names, validity, fingerprint), loading
   PEM or DER (and encrypted PKCS #8 keys), and making a self-signed
   certificate for development and tests.

   Certificates and keys are foreign objects owning a GnuTLS structure,
   released by their finalizer.  Credentials copy what they are given, so
   no reference between them is needed.  */

#include "tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static SCM certificate_type = SCM_BOOL_F;
static SCM private_key_type = SCM_BOOL_F;

static void
finalize_certificate (SCM obj)
{
  gnutls_x509_crt_t crt = scm_foreign_object_ref (obj, 0);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  scm_foreign_object_set_x (obj, 0, NULL);
}

static void
finalize_private_key (SCM obj)
{
  gnutls_x509_privkey_t key = scm_foreign_object_ref (obj, 0);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  scm_foreign_object_set_x (obj, 0, NULL);
}

static gnutls_x509_crt_t
to_certificate (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, certificate_type, subr, pos);
}

static gnutls_x509_privkey_t
to_private_key (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, private_key_type, subr, pos);
}

static SCM
datum_to_bytevector (gnutls_datum_t *d)
{
  SCM bv = scm_c_make_bytevector (d->size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), d->data, d->size);
  gnutls_free (d->data);
  d->data = NULL;
  return bv;
}

/* Text from a certificate is whatever bytes its issuer put there, not
   necessarily UTF-8: decoding must not throw, so a byte sequence that is
   not UTF-8 reads as question marks.  (Before, the decoding error of a
   distinguished name also leaked the GnuTLS buffer holding it; found by
   fuzz/x509.c.)  */
static SCM
text_to_string (const char *text, size_t len)
{
  return scm_from_stringn (text, len, "UTF-8",
                           SCM_FAILED_CONVERSION_QUESTION_MARK);
}

static void
free_gnutls_data (void *data)
{
  gnutls_free (data);
}

static SCM
datum_to_string (gnutls_datum_t *d)
{
  scm_dynwind_begin (0);
  scm_dynwind_unwind_handler (free_gnutls_data, d->data,
                              SCM_F_WIND_EXPLICITLY);
  SCM s = text_to_string ((const char *) d->data, d->size);
  scm_dynwind_end ();
  d->data = NULL;
  return s;
}

/* What is wrong with DATA (D), which GnuTLS refused with RC as a WHAT
   ("certificate" or "private key", whose PEM label ends with LABEL).  */
static SCM
import_error_message (const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt,
                      int rc, const char *what, const char *label)
{
  char text[200];
  if (fmt == GNUTLS_X509_FMT_PEM && !gn_tls_pem_has (d, label))
    {
      snprintf (text, sizeof text, "the data hold no %s~a", what);
      return scm_simple_format (SCM_BOOL_F, scm_from_utf8_string (text),
                                scm_list_1 (gn_tls_pem_contents (d)));
    }
  snprintf (text, sizeof text, "not a valid %s: %s", what,
            gnutls_strerror (rc));
  return scm_from_utf8_string (text);
}

SCM_DEFINE (gn_import_x509_certificate, "import-x509-certificate", 1, 1, 0,
            (SCM data, SCM format),
            "Return the X.509 certificate in bytevector @var{data}, in\n"
            "@code{x509-certificate-format/der} (the default, as in\n"
            "@code{session-peer-certificate-chain}) or @code{/pem}.  Data\n"
            "plainly in the other encoding (PEM text where DER is said) are\n"
            "read in that one.")
#define FUNC_NAME s_gn_import_x509_certificate
{
  if (!scm_is_bytevector (data))
    gn_wrong_type (FUNC_NAME, 1, data);
  gnutls_x509_crt_fmt_t fmt = SCM_UNBNDP (format) ? GNUTLS_X509_FMT_DER
    : gn_tls_to_format (format, FUNC_NAME, 2);
  gnutls_datum_t d = { (unsigned char *) SCM_BYTEVECTOR_CONTENTS (data),
                       (unsigned int) SCM_BYTEVECTOR_LENGTH (data) };
  fmt = gn_tls_data_format (&d, fmt);
  gnutls_x509_crt_t crt;
  gn_tls_check (gnutls_x509_crt_init (&crt), FUNC_NAME);
  int rc = gnutls_x509_crt_import (crt, &d, fmt);
  if (rc < 0)
    {
      gnutls_x509_crt_deinit (crt);
      SCM text = import_error_message (&d, fmt, rc, "certificate",
                                       "CERTIFICATE");
      scm_remember_upto_here_1 (data);
      gn_raise_tls_error_message (FUNC_NAME, rc, text);
    }
  scm_remember_upto_here_1 (data);
  return scm_make_foreign_object_1 (certificate_type, crt);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_p, "x509-certificate?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is an X.509 certificate object.")
#define FUNC_NAME s_gn_x509_certificate_p
{
  return scm_from_bool (gn_is_a (obj, certificate_type));
}
#undef FUNC_NAME

SCM_DEFINE (gn_export_x509_certificate, "export-x509-certificate", 1, 1, 0,
            (SCM cert, SCM format),
            "Return @var{cert} encoded as a bytevector, DER by default or\n"
            "@var{format}.")
#define FUNC_NAME s_gn_export_x509_certificate
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_x509_crt_fmt_t fmt = SCM_UNBNDP (format) ? GNUTLS_X509_FMT_DER
    : gn_tls_to_format (format, FUNC_NAME, 2);
  gnutls_datum_t d;
  gn_tls_check (gnutls_x509_crt_export2 (crt, fmt, &d), FUNC_NAME);
  return datum_to_bytevector (&d);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_dn, "x509-certificate-dn", 1, 0, 0,
            (SCM cert),
            "Return the subject of @var{cert} as an RFC 4514 string, e.g.\n"
            "@code{\"CN=localhost\"}.  Bytes that are not UTF-8 read as\n"
            "question marks.")
#define FUNC_NAME s_gn_x509_certificate_dn
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_datum_t d;
  gn_tls_check (gnutls_x509_crt_get_dn3 (crt, &d, 0), FUNC_NAME);
  return datum_to_string (&d);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_issuer_dn, "x509-certificate-issuer-dn",
            1, 0, 0, (SCM cert),
            "Return the issuer of @var{cert} as an RFC 4514 string (bytes\n"
            "that are not UTF-8 read as question marks).")
#define FUNC_NAME s_gn_x509_certificate_issuer_dn
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_datum_t d;
  gn_tls_check (gnutls_x509_crt_get_issuer_dn3 (crt, &d, 0), FUNC_NAME);
  return datum_to_string (&d);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_san, "x509-certificate-subject-alternative-names",
            1, 0, 0, (SCM cert),
            "Return the subject alternative names of @var{cert} as a list of\n"
            "pairs @code{(@var{type} . @var{string})}, @var{type} being\n"
            "@code{dns}, @code{ip}, @code{email}, @code{uri} or\n"
            "@code{other}.  Bytes that are not UTF-8 read as question\n"
            "marks.")
#define FUNC_NAME s_gn_x509_certificate_san
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  SCM result = SCM_EOL;
  for (unsigned int seq = 0;; seq++)
    {
      char buf[1024];
      size_t size = sizeof buf - 1;
      int type = gnutls_x509_crt_get_subject_alt_name (crt, seq, buf, &size,
                                                        NULL);
      if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        break;
      if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
        continue;
      gn_tls_check (type, FUNC_NAME);
      const char *kind;
      SCM value;
      switch (type)
        {
        case GNUTLS_SAN_DNSNAME: kind = "dns"; break;
        case GNUTLS_SAN_RFC822NAME: kind = "email"; break;
        case GNUTLS_SAN_URI: kind = "uri"; break;
        case GNUTLS_SAN_IPADDRESS: kind = "ip"; break;
        default: kind = "other"; break;
        }
      if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16))
        {
          char text[INET6_ADDRSTRLEN];
          inet_ntop (size == 4 ? AF_INET : AF_INET6, buf, text, sizeof text);
          value = scm_from_utf8_string (text);
        }
      else
        value = text_to_string (buf, strnlen (buf, size));
      result = scm_cons (scm_cons (scm_from_utf8_symbol (kind), value),
                         result);
    }
  return scm_reverse_x (result, SCM_EOL);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_activation_time,
            "x509-certificate-activation-time", 1, 0, 0, (SCM cert),
            "Return the time from which @var{cert} is valid, in seconds since\n"
            "the epoch (as @code{current-time}).")
#define FUNC_NAME s_gn_x509_certificate_activation_time
{
  time_t t = gnutls_x509_crt_get_activation_time
    (to_certificate (cert, FUNC_NAME, 1));
  if (t == (time_t) -1)
    gn_raise_tls_error (FUNC_NAME, GNUTLS_E_X509_CERTIFICATE_ERROR, -1);
  return scm_from_int64 (t);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_expiration_time,
            "x509-certificate-expiration-time", 1, 0, 0, (SCM cert),
            "Return the time until which @var{cert} is valid, in seconds\n"
            "since the epoch.")
#define FUNC_NAME s_gn_x509_certificate_expiration_time
{
  time_t t = gnutls_x509_crt_get_expiration_time
    (to_certificate (cert, FUNC_NAME, 1));
  if (t == (time_t) -1)
    gn_raise_tls_error (FUNC_NAME, GNUTLS_E_X509_CERTIFICATE_ERROR, -1);
  return scm_from_int64 (t);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_fingerprint, "x509-certificate-fingerprint",
            1, 1, 0, (SCM cert, SCM algorithm),
            "Return the fingerprint of @var{cert}, a bytevector: its digest\n"
            "by @var{algorithm}, @code{'sha256} (the default), @code{'sha384},\n"
            "@code{'sha512} or @code{'sha1}.")
#define FUNC_NAME s_gn_x509_certificate_fingerprint
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_digest_algorithm_t dig = GNUTLS_DIG_SHA256;
  if (!SCM_UNBNDP (algorithm))
    {
      if (!scm_is_symbol (algorithm))
        gn_wrong_type (FUNC_NAME, 2, algorithm);
      if (scm_is_eq (algorithm, scm_from_utf8_symbol ("sha256")))
        dig = GNUTLS_DIG_SHA256;
      else if (scm_is_eq (algorithm, scm_from_utf8_symbol ("sha384")))
        dig = GNUTLS_DIG_SHA384;
      else if (scm_is_eq (algorithm, scm_from_utf8_symbol ("sha512")))
        dig = GNUTLS_DIG_SHA512;
      else if (scm_is_eq (algorithm, scm_from_utf8_symbol ("sha1")))
        dig = GNUTLS_DIG_SHA1;
      else
        gn_out_of_range (FUNC_NAME, 2, algorithm);
    }
  unsigned char buf[64];
  size_t size = sizeof buf;
  gn_tls_check (gnutls_x509_crt_get_fingerprint (crt, dig, buf, &size), FUNC_NAME);
  SCM bv = scm_c_make_bytevector (size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), buf, size);
  return bv;
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_matches_hostname,
            "x509-certificate-matches-hostname?", 2, 0, 0,
            (SCM cert, SCM host),
            "Return @code{#t} if @var{cert} is for host name @var{host}.")
#define FUNC_NAME s_gn_x509_certificate_matches_hostname
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  if (!scm_is_string (host))
    gn_wrong_type (FUNC_NAME, 2, host);
  char *h = scm_to_utf8_string (host);
  int ok = gnutls_x509_crt_check_hostname2 (crt, h, 0);
  free (h);
  return scm_from_bool (ok);
}
#undef FUNC_NAME

SCM_DEFINE (gn_import_x509_private_key, "import-x509-private-key", 1, 2, 0,
            (SCM data, SCM format, SCM password),
            "Return the private key in bytevector @var{data}, PEM by default\n"
            "or @var{format} (data plainly in the other encoding are read in\n"
            "that one).  PKCS #1, SEC 1 and PKCS #8 keys are accepted;\n"
            "@var{password}, a string, decrypts an encrypted PKCS #8 key.")
#define FUNC_NAME s_gn_import_x509_private_key
{
  if (!scm_is_bytevector (data))
    gn_wrong_type (FUNC_NAME, 1, data);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 2);
  char *pw = NULL;
  if (!SCM_UNBNDP (password) && scm_is_true (password))
    {
      if (!scm_is_string (password))
        gn_wrong_type (FUNC_NAME, 3, password);
      pw = scm_to_utf8_string (password);
    }
  gnutls_datum_t d = { (unsigned char *) SCM_BYTEVECTOR_CONTENTS (data),
                       (unsigned int) SCM_BYTEVECTOR_LENGTH (data) };
  fmt = gn_tls_data_format (&d, fmt);
  gnutls_x509_privkey_t key;
  int rc = gnutls_x509_privkey_init (&key);
  if (rc < 0)
    {
      free (pw);
      gn_raise_tls_error (FUNC_NAME, rc, -1);
    }
  rc = gnutls_x509_privkey_import2 (key, &d, fmt, pw, 0);
  int had_password = pw != NULL;
  free (pw);
  if (rc < 0)
    {
      gnutls_x509_privkey_deinit (key);
      SCM text;
      if (rc == GNUTLS_E_DECRYPTION_FAILED)
        text = scm_from_utf8_string
          (had_password ? "cannot decrypt the private key: wrong password"
           : "the private key is encrypted: give its password");
      else
        text = import_error_message (&d, fmt, rc, "private key",
                                     "PRIVATE KEY");
      scm_remember_upto_here_1 (data);
      gn_raise_tls_error_message (FUNC_NAME, rc, text);
    }
  scm_remember_upto_here_1 (data);
  return scm_make_foreign_object_1 (private_key_type, key);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_private_key_info, "%x509-private-key-info", 1, 0, 0,
            (SCM key),
            "Internal, for printing: @code{(@var{algorithm} . @var{bits})},\n"
            "the name GnuTLS gives the algorithm of @var{key} (such as\n"
            "@code{\"RSA\"} or @code{\"EC/ECDSA\"}) and its size in bits.")
#define FUNC_NAME s_gn_x509_private_key_info
{
  gnutls_x509_privkey_t k = to_private_key (key, FUNC_NAME, 1);
  unsigned int bits = 0;
  int alg = gnutls_x509_privkey_get_pk_algorithm2 (k, &bits);
  scm_remember_upto_here_1 (key);
  const char *name = alg >= 0
    ? gnutls_pk_algorithm_get_name ((gnutls_pk_algorithm_t) alg) : NULL;
  return scm_cons (scm_from_utf8_string (name ? name : "unknown"),
                   scm_from_uint (bits));
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_private_key_p, "x509-private-key?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a private key object.")
#define FUNC_NAME s_gn_x509_private_key_p
{
  return scm_from_bool (gn_is_a (obj, private_key_type));
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_keys, "set-certificate-credentials-x509-keys!",
            3, 0, 0, (SCM cred, SCM certs, SCM key),
            "Make @var{cred} present the chain @var{certs}, a list of\n"
            "certificate objects (the end certificate first), with private\n"
            "key @var{key}.  Both are copied.")
#define FUNC_NAME s_gn_set_cred_keys
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  gn_tls_cred_check_mutable (cred, c, FUNC_NAME);
  long n = scm_ilength (certs);
  if (n <= 0 || n > 16)
    gn_wrong_type (FUNC_NAME, 2, certs);
  gnutls_x509_crt_t list[16];
  long i = 0;
  for (SCM l = certs; scm_is_pair (l); l = SCM_CDR (l))
    list[i++] = to_certificate (SCM_CAR (l), FUNC_NAME, 2);
  gnutls_x509_privkey_t k = to_private_key (key, FUNC_NAME, 3);
  int rc = gnutls_certificate_set_x509_key (c->cred, list, (int) n, k);
  scm_remember_upto_here_2 (certs, key);
  if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    gn_raise_tls_error_message
      (FUNC_NAME, rc, scm_from_utf8_string
       ("the private key does not match the certificate (the first "
        "certificate of the list must be the one of the key)"));
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_self_signed_certificate, "make-self-signed-certificate",
            1, 1, 0, (SCM host, SCM days),
            "Make a new ECDSA P-256 key and a self-signed certificate for\n"
            "@var{host} (a DNS name or an IP address), valid from a minute\n"
            "ago for @var{days} days (default 30), for servers and clients.\n"
            "Return two values, the certificate and the key (PKCS #8), both\n"
            "PEM bytevectors.  For development and tests: a peer trusts it\n"
            "only when given it as trust.")
#define FUNC_NAME s_gn_make_self_signed_certificate
{
  if (!scm_is_string (host))
    gn_wrong_type (FUNC_NAME, 1, host);
  long d = 30;
  if (!SCM_UNBNDP (days))
    {
      if (!scm_is_signed_integer (days, 1, 36500))
        gn_out_of_range (FUNC_NAME, 2, days);
      d = scm_to_long (days);
    }
  scm_dynwind_begin (0);
  size_t len;
  char *h = scm_to_utf8_stringn (host, &len);
  scm_dynwind_free (h);
  if (len == 0 || strlen (h) != len)
    gn_out_of_range (FUNC_NAME, 1, host);

  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t cert_pem = { NULL, 0 }, key_pem = { NULL, 0 };
  int rc = gnutls_x509_privkey_init (&key);
  if (rc >= 0)
    rc = gnutls_x509_privkey_generate
      (key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
       0);
  if (rc >= 0)
    rc = gnutls_x509_crt_init (&crt);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_version (crt, 3);
  unsigned char serial[16];
  if (rc >= 0)
    rc = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;   /* a positive number */
  if (rc >= 0)
    rc = gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
  time_t now = time (NULL);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_activation_time (crt, now - 60);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_expiration_time (crt, now + d * 86400);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                        h, len);
  unsigned char ip[16];
  if (rc >= 0)
    {
      if (inet_pton (AF_INET, h, ip) == 1)
        rc = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
                                                   ip, 4, GNUTLS_FSAN_SET);
      else if (inet_pton (AF_INET6, h, ip) == 1)
        rc = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
                                                   ip, 16, GNUTLS_FSAN_SET);
      else
        rc = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME,
                                                   h, len, GNUTLS_FSAN_SET);
    }
  if (rc >= 0)
    rc = gnutls_x509_crt_set_basic_constraints (crt, 0, -1);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_key (crt, key);
  unsigned char kid[64];
  size_t kid_size = sizeof kid;
  if (rc >= 0)
    rc = gnutls_x509_crt_get_key_id (crt, 0, kid, &kid_size);
  if (rc >= 0)
    rc = gnutls_x509_crt_set_subject_key_id (crt, kid, kid_size);
  if (rc >= 0)
    rc = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
  if (rc >= 0)
    rc = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_pem);
  if (rc >= 0)
    rc = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                            GNUTLS_PKCS_PLAIN, &key_pem);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  scm_dynwind_end ();
  if (rc < 0)
    {
      gnutls_free (cert_pem.data);
      gnutls_free (key_pem.data);
      gn_raise_tls_error (FUNC_NAME, rc, -1);
    }
  SCM c = datum_to_bytevector (&cert_pem);
  SCM k = datum_to_bytevector (&key_pem);
  return scm_values (scm_list_2 (c, k));
}
#undef FUNC_NAME

void
gn_init_tls_x509 (void)
{
  certificate_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("x509-certificate"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_certificate);
  scm_permanent_object (certificate_type);
  private_key_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("x509-private-key"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_private_key);
  scm_permanent_object (private_key_type);
  /* For (net tls)'s printers (GOOPS methods on these classes).  */
  scm_c_define ("%x509-certificate-type", certificate_type);
  scm_c_define ("%x509-private-key-type", private_key_type);
#ifndef SCM_MAGIC_SNARFER
#include "tls-x509.x"
#endif
}
