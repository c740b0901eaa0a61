/* tls-x509.c -- X.509 certificates and private keys: the objects, what
   users look at (subject, issuer, alternative names, validity, key
   identifiers, algorithms, fingerprint), and loading PEM or DER (and
   encrypted PKCS #8 keys).  Making them is tls-x509-make.c.

   Certificates and keys are foreign objects owning a GnuTLS structure,
   released by their finalizer.  Credentials copy what they are given, so
   no reference between them is needed.  */

#include "tls.h"

#include <arpa/inet.h>
#include <limits.h>
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

gnutls_x509_crt_t
gn_tls_to_certificate (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, certificate_type, subr, pos);
}

gnutls_x509_privkey_t
gn_tls_to_private_key (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, private_key_type, subr, pos);
}

SCM
gn_tls_wrap_certificate (gnutls_x509_crt_t crt)
{
  return scm_make_foreign_object_1 (certificate_type, crt);
}

SCM
gn_tls_wrap_private_key (gnutls_x509_privkey_t key)
{
  return scm_make_foreign_object_1 (private_key_type, key);
}

void
gn_tls_replace_certificate (SCM obj, gnutls_x509_crt_t crt)
{
  gnutls_x509_crt_t old = scm_foreign_object_ref (obj, 0);
  scm_foreign_object_set_x (obj, 0, crt);
  if (old != NULL)
    gnutls_x509_crt_deinit (old);
}

#define to_certificate gn_tls_to_certificate
#define to_private_key gn_tls_to_private_key
#define datum_to_bytevector gn_tls_datum_to_bytevector

SCM
gn_tls_datum_to_bytevector (gnutls_datum_t *d)
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
            "by @var{algorithm}, a @code{digest/} value such as\n"
            "@code{digest/sha256} (the symbol @code{sha256}, the default),\n"
            "@code{sha384}, @code{sha512} or @code{sha1}.  A digest GnuTLS\n"
            "cannot fingerprint with (@code{null}, @code{md2}) is a\n"
            "@code{&tls-error}.")
#define FUNC_NAME s_gn_x509_certificate_fingerprint
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  gnutls_digest_algorithm_t dig = SCM_UNBNDP (algorithm) ? GNUTLS_DIG_SHA256
    : (gnutls_digest_algorithm_t)
    gn_name_value (GN_DIGEST, algorithm, FUNC_NAME, 2);
  unsigned char buf[128];
  size_t size = sizeof buf;
  int rc = dig == GNUTLS_DIG_NULL ? GNUTLS_E_UNKNOWN_HASH_ALGORITHM
    : gnutls_x509_crt_get_fingerprint (crt, dig, buf, &size);
  if (rc >= 0 && size == 0)
    rc = GNUTLS_E_UNKNOWN_HASH_ALGORITHM;
  scm_remember_upto_here_1 (cert);
  if (rc < 0)
    gn_raise_tls_error_message
      (FUNC_NAME, rc, scm_simple_format
       (SCM_BOOL_F, scm_from_utf8_string
        ("GnuTLS cannot make a fingerprint with digest ~a: ~a"),
        scm_list_2 (algorithm, scm_from_utf8_string (gnutls_strerror (rc)))));
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

/* guile-gnutls's accessors.  */

SCM_DEFINE (gn_x509_certificate_version, "x509-certificate-version",
            1, 0, 0, (SCM cert),
            "Return the X.509 version of @var{cert}, an integer (3 for\n"
            "certificates with extensions, as nearly all are).")
#define FUNC_NAME s_gn_x509_certificate_version
{
  int v = gnutls_x509_crt_get_version (to_certificate (cert, FUNC_NAME, 1));
  scm_remember_upto_here_1 (cert);
  gn_tls_check (v, FUNC_NAME);
  return scm_from_int (v);
}
#undef FUNC_NAME

typedef int (*id_getter) (gnutls_x509_crt_t, void *, size_t *,
                          unsigned int *);

/* The identifier GET reads from CERT, or a &tls-error saying that CERT
   has no WHAT.  */
static SCM
key_identifier (SCM cert, id_getter get, const char *what, const char *subr)
{
  gnutls_x509_crt_t crt = to_certificate (cert, subr, 1);
  unsigned char buf[128];
  size_t size = sizeof buf;
  unsigned int critical;
  int rc = get (crt, buf, &size, &critical);
  scm_remember_upto_here_1 (cert);
  if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    {
      char text[100];
      snprintf (text, sizeof text, "the certificate has no %s", what);
      gn_raise_tls_error_message (subr, rc, scm_from_utf8_string (text));
    }
  gn_tls_check (rc, subr);
  SCM bv = scm_c_make_bytevector (size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), buf, size);
  return bv;
}

SCM_DEFINE (gn_x509_certificate_subject_key_id,
            "x509-certificate-subject-key-id", 1, 0, 0, (SCM cert),
            "Return the subject key identifier extension of @var{cert}, a\n"
            "bytevector; a @code{&tls-error} (code\n"
            "@code{error/requested-data-not-available}) if it has none.")
#define FUNC_NAME s_gn_x509_certificate_subject_key_id
{
  return key_identifier (cert, gnutls_x509_crt_get_subject_key_id,
                         "subject key identifier", FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_authority_key_id,
            "x509-certificate-authority-key-id", 1, 0, 0, (SCM cert),
            "Return the authority key identifier of @var{cert} (the subject\n"
            "key identifier of its issuer), a bytevector; a\n"
            "@code{&tls-error} if it has none.")
#define FUNC_NAME s_gn_x509_certificate_authority_key_id
{
  return key_identifier (cert, gnutls_x509_crt_get_authority_key_id,
                         "authority key identifier", FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_key_id, "x509-certificate-key-id", 1, 0, 0,
            (SCM cert),
            "Return the identifier of the public key of @var{cert}: the\n"
            "SHA-1 digest of the key (20 bytes), the same for every\n"
            "certificate of that key.")
#define FUNC_NAME s_gn_x509_certificate_key_id
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  unsigned char buf[64];
  size_t size = sizeof buf;
  int rc = gnutls_x509_crt_get_key_id (crt, 0, buf, &size);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  SCM bv = scm_c_make_bytevector (size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), buf, size);
  return bv;
}
#undef FUNC_NAME

static unsigned int
to_index (SCM index, const char *subr, int pos)
{
  if (!scm_is_exact_integer (index))
    gn_wrong_type (subr, pos, index);
  if (!scm_is_unsigned_integer (index, 0, UINT_MAX))
    gn_out_of_range (subr, pos, index);
  return scm_to_uint (index);
}

typedef int (*oid_getter) (gnutls_x509_crt_t, unsigned, void *, size_t *);

static SCM
dn_oid (SCM cert, SCM index, oid_getter get, const char *subr)
{
  gnutls_x509_crt_t crt = to_certificate (cert, subr, 1);
  unsigned int i = to_index (index, subr, 2);
  char buf[256];
  size_t size = sizeof buf;
  int rc = get (crt, i, buf, &size);
  scm_remember_upto_here_1 (cert);
  if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return SCM_BOOL_F;
  gn_tls_check (rc, subr);
  return text_to_string (buf, strnlen (buf, size));
}

SCM_DEFINE (gn_x509_certificate_dn_oid, "x509-certificate-dn-oid", 2, 0, 0,
            (SCM cert, SCM index),
            "Return the OID of attribute @var{index} (from 0) of the subject\n"
            "of @var{cert}, a string such as @code{\"2.5.4.3\"}\n"
            "(@code{oid/x520-common-name}), or @code{#f} past the last.")
#define FUNC_NAME s_gn_x509_certificate_dn_oid
{
  return dn_oid (cert, index, gnutls_x509_crt_get_dn_oid, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_issuer_dn_oid,
            "x509-certificate-issuer-dn-oid", 2, 0, 0, (SCM cert, SCM index),
            "Return the OID of attribute @var{index} (from 0) of the issuer\n"
            "of @var{cert}, a string, or @code{#f} past the last.")
#define FUNC_NAME s_gn_x509_certificate_issuer_dn_oid
{
  return dn_oid (cert, index, gnutls_x509_crt_get_issuer_dn_oid, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_san_at,
            "x509-certificate-subject-alternative-name", 2, 0, 0,
            (SCM cert, SCM index),
            "Return two values: the type of alternative name @var{index}\n"
            "(from 0) of @var{cert}, an @code{x509-subject-alternative-name/}\n"
            "value such as @code{dnsname} or @code{ipaddress}, and the name,\n"
            "a string (an IP address in its usual text form); @code{#f} and\n"
            "@code{#f} past the last.")
#define FUNC_NAME s_gn_x509_certificate_san_at
{
  gnutls_x509_crt_t crt = to_certificate (cert, FUNC_NAME, 1);
  unsigned int i = to_index (index, FUNC_NAME, 2);
  size_t room = 1024;
  char *buf = NULL;
  int type;
  for (;;)
    {
      buf = scm_gc_malloc_pointerless (room + 1, "alternative name");
      size_t size = room;
      type = gnutls_x509_crt_get_subject_alt_name (crt, i, buf, &size, NULL);
      if (type == GNUTLS_E_SHORT_MEMORY_BUFFER && size > room
          && size < (1 << 20))
        {
          room = size;
          continue;
        }
      room = size;
      break;
    }
  scm_remember_upto_here_1 (cert);
  if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return scm_values (scm_list_2 (SCM_BOOL_F, SCM_BOOL_F));
  gn_tls_check (type, FUNC_NAME);
  SCM value;
  if (type == GNUTLS_SAN_IPADDRESS && (room == 4 || room == 16))
    {
      char text[INET6_ADDRSTRLEN];
      inet_ntop (room == 4 ? AF_INET : AF_INET6, buf, text, sizeof text);
      value = scm_from_utf8_string (text);
    }
  else
    value = text_to_string (buf, strnlen (buf, room));
  SCM kind = gn_name_from_value (GN_X509_SUBJECT_ALTERNATIVE_NAME, type);
  return scm_values (scm_list_2 (scm_is_true (kind) ? kind
                                 : scm_from_utf8_symbol ("othername"),
                                 value));
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_key_usage, "x509-certificate-key-usage",
            1, 0, 0, (SCM cert),
            "Return the key usages of @var{cert}, a list of\n"
            "@code{key-usage/} values such as @code{digital-signature} and\n"
            "@code{key-cert-sign}; the empty list if it says none.")
#define FUNC_NAME s_gn_x509_certificate_key_usage
{
  unsigned int usage = 0, critical;
  int rc = gnutls_x509_crt_get_key_usage (to_certificate (cert, FUNC_NAME, 1),
                                          &usage, &critical);
  scm_remember_upto_here_1 (cert);
  if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return SCM_EOL;
  gn_tls_check (rc, FUNC_NAME);
  return gn_name_list_from_bits (GN_KEY_USAGE, usage);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_pk_algorithm,
            "x509-certificate-public-key-algorithm", 1, 0, 0, (SCM cert),
            "Return two values: the algorithm of the public key of\n"
            "@var{cert}, a @code{pk-algorithm/} value such as @code{rsa} or\n"
            "@code{ecdsa}, and its size in bits.")
#define FUNC_NAME s_gn_x509_certificate_pk_algorithm
{
  unsigned int bits = 0;
  int alg = gnutls_x509_crt_get_pk_algorithm
    (to_certificate (cert, FUNC_NAME, 1), &bits);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (alg, FUNC_NAME);
  SCM sym = gn_name_from_value (GN_PK_ALGORITHM, alg);
  return scm_values (scm_list_2 (scm_is_true (sym) ? sym
                                 : scm_from_utf8_symbol ("unknown"),
                                 scm_from_uint (bits)));
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_sign_algorithm,
            "x509-certificate-signature-algorithm", 1, 0, 0, (SCM cert),
            "Return the algorithm @var{cert} is signed with, a\n"
            "@code{sign-algorithm/} value such as @code{rsa-sha256} or\n"
            "@code{ecdsa-sha256}.")
#define FUNC_NAME s_gn_x509_certificate_sign_algorithm
{
  int alg = gnutls_x509_crt_get_signature_algorithm
    (to_certificate (cert, FUNC_NAME, 1));
  scm_remember_upto_here_1 (cert);
  gn_tls_check (alg, FUNC_NAME);
  SCM sym = gn_name_from_value (GN_SIGN_ALGORITHM, alg);
  return scm_is_true (sym) ? sym : scm_from_utf8_symbol ("unknown");
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_ca_status, "x509-certificate-ca-status",
            1, 0, 0, (SCM cert),
            "Return @code{#t} if the basic constraints of @var{cert} say it\n"
            "is a certificate authority, else @code{#f} (also when it has\n"
            "no basic constraints).")
#define FUNC_NAME s_gn_x509_certificate_ca_status
{
  unsigned int critical, ca = 0;
  int pathlen;
  int rc = gnutls_x509_crt_get_basic_constraints
    (to_certificate (cert, FUNC_NAME, 1), &critical, &ca, &pathlen);
  scm_remember_upto_here_1 (cert);
  if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return SCM_BOOL_F;
  gn_tls_check (rc, FUNC_NAME);
  return scm_from_bool (ca);
}
#undef FUNC_NAME

SCM_DEFINE (gn_x509_certificate_serial, "x509-certificate-serial", 1, 0, 0,
            (SCM cert),
            "Return the serial number of @var{cert}, a bytevector (the\n"
            "big-endian bytes of the number).")
#define FUNC_NAME s_gn_x509_certificate_serial
{
  unsigned char buf[128];
  size_t size = sizeof buf;
  int rc = gnutls_x509_crt_get_serial (to_certificate (cert, FUNC_NAME, 1),
                                       buf, &size);
  scm_remember_upto_here_1 (cert);
  gn_tls_check (rc, FUNC_NAME);
  SCM bv = scm_c_make_bytevector (size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), buf, size);
  return bv;
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
