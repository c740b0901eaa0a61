/* tls-credentials.c -- X.509 certificate credentials: the keys a side
   presents and the certificates and CRLs it trusts.

   A credentials object is a Guile foreign object pointing to a gn_tls_cred
   allocated with malloc.  Sessions keep a reference count on it as well as a
   Scheme reference: Guile runs finalizers in no particular order, so the
   GnuTLS credentials and the gn_tls_cred itself are freed only when the
   object and every session that used them are gone.  The gn_tls_cred must
   not be GC memory: a session that replaced its credentials holds the old
   ones only through its (malloc'd, unscanned) list of links, so the GC
   would free the block while that session still counts on it.

   Files are read by us (tls-data.c), not by GnuTLS, so that a failure
   names the file and the errno, and so that what was given can be looked
   at when GnuTLS refuses it: a key and a certificate in the wrong order,
   PEM where DER was said (read as PEM), a trust file with no certificate
   in it.  Names that GnuTLS reads as URLs (pkcs11:, tpmkey:, system:)
   still go to GnuTLS.

   Trust: a client given no trust loads the system store at its first
   handshake (gn_tls_cred_ensure_trust).  Trust given explicitly after
   that replaces the whole trust list, so that the documented rule holds
   whenever the trust is given: once trust is given, only that trust (and
   the system store if asked for with
   set-certificate-credentials-system-trust!) is used.  The CRLs given
   before are put back into the new list from copies kept here.  */

#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

SCM gn_tls_credentials_type = SCM_BOOL_F;
static SCM default_credentials = SCM_BOOL_F;
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;

void
gn_tls_cred_ref (gn_tls_cred *c)
{
  __atomic_add_fetch (&c->refs, 1, __ATOMIC_SEQ_CST);
}

void
gn_tls_cred_unref (gn_tls_cred *c)
{
  if (__atomic_sub_fetch (&c->refs, 1, __ATOMIC_SEQ_CST) == 0)
    {
      gnutls_certificate_free_credentials (c->cred);
      c->cred = NULL;
      gn_tls_dh_free_copies (c->dh);
      while (c->crls != NULL)
        {
          struct gn_crl_copy *next = c->crls->next;
          free (c->crls->data.data);
          free (c->crls);
          c->crls = next;
        }
      free (c);
    }
}

static void
finalize_credentials (SCM obj)
{
  gn_tls_cred *c = scm_foreign_object_ref (obj, 0);
  if (c != NULL)
    gn_tls_cred_unref (c);
}

gn_tls_cred *
gn_to_tls_cred (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, gn_tls_credentials_type, subr, pos);
}

gnutls_x509_crt_fmt_t
gn_tls_to_format (SCM fmt, const char *subr, int pos)
{
  if (SCM_UNBNDP (fmt))
    return GNUTLS_X509_FMT_PEM;
  if (!scm_is_exact_integer (fmt))
    gn_wrong_type (subr, pos, fmt);
  int f = scm_to_int (fmt);
  if (f != GNUTLS_X509_FMT_PEM && f != GNUTLS_X509_FMT_DER)
    gn_out_of_range (subr, pos, fmt);
  return (gnutls_x509_crt_fmt_t) f;
}

/* Messages are made with Guile's simple-format: ~a in TEMPLATE.  */
static SCM
message (const char *template, SCM args)
{
  return scm_simple_format (SCM_BOOL_F, scm_from_utf8_string (template),
                            args);
}

static SCM
make_credentials (const char *subr)
{
  gn_tls_cred *c = calloc (1, sizeof *c);
  if (c == NULL)
    gn_syserror_errno (subr, ENOMEM);
  int rc = gnutls_certificate_allocate_credentials (&c->cred);
  if (rc < 0)
    {
      free (c);
      gn_raise_tls_error (subr, rc, -1);
    }
  c->refs = 1;
  return scm_make_foreign_object_1 (gn_tls_credentials_type, c);
}

/* Sessions in several threads may start their first handshakes with the
   same credentials at once: load the store once, and before any of them
   uses it.  */
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;

void
gn_tls_cred_ensure_trust (gn_tls_cred *c, const char *subr)
{
  int rc = 0;
  pthread_mutex_lock (&trust_lock);
  if (!c->explicit_trust && c->system_trust == GN_SYSTEM_TRUST_NONE)
    {
      rc = gnutls_certificate_set_x509_system_trust (c->cred);
      if (rc >= 0 || rc == GNUTLS_E_UNIMPLEMENTED_FEATURE)
        {
          c->system_trust = GN_SYSTEM_TRUST_IMPLICIT;
          c->system_trusted = rc > 0 ? (unsigned int) rc : 0;
          __atomic_add_fetch (&c->generation, 1, __ATOMIC_SEQ_CST);
        }
    }
  pthread_mutex_unlock (&trust_lock);
  if (rc < 0 && rc != GNUTLS_E_UNIMPLEMENTED_FEATURE)
    gn_raise_tls_error (subr, rc, -1);
}

void
gn_tls_cred_check_mutable (SCM obj, gn_tls_cred *c, const char *subr)
{
  if (c->is_default)
    gn_raise_state_error (subr, "these are the default credentials, which "
                          "every client session given none shares: make "
                          "your own with make-certificate-credentials",
                          obj);
  /* About to change: what sessions remember of verifying with them no
     longer holds.  */
  __atomic_add_fetch (&c->generation, 1, __ATOMIC_SEQ_CST);
}

unsigned int
gn_tls_cred_generation (gn_tls_cred *c)
{
  return __atomic_load_n (&c->generation, __ATOMIC_SEQ_CST);
}

/* C's credentials, to be changed by SUBR.  */
static gn_tls_cred *
to_mutable_cred (SCM obj, const char *subr, int pos)
{
  gn_tls_cred *c = gn_to_tls_cred (obj, subr, pos);
  gn_tls_cred_check_mutable (obj, c, subr);
  return c;
}

SCM
gn_tls_default_credentials (void)
{
  pthread_mutex_lock (&default_lock);
  SCM creds = default_credentials;
  pthread_mutex_unlock (&default_lock);
  if (scm_is_false (creds))
    {
      creds = make_credentials ("make-session");
      gn_tls_cred *c = scm_foreign_object_ref (creds, 0);
      gn_tls_cred_ensure_trust (c, "make-session");
      c->is_default = 1;
      pthread_mutex_lock (&default_lock);
      if (scm_is_false (default_credentials))
        default_credentials = scm_permanent_object (creds);
      creds = default_credentials;
      pthread_mutex_unlock (&default_lock);
    }
  return creds;
}

/* Turn a file name argument into a C string freed at the end of the
   current dynwind context.  */
static char *
file_arg (SCM file, const char *subr, int pos)
{
  if (!scm_is_string (file))
    gn_wrong_type (subr, pos, file);
  char *s = scm_to_locale_string (file);
  scm_dynwind_free (s);
  return s;
}

static gnutls_datum_t
data_arg (SCM bv, const char *subr, int pos)
{
  if (!scm_is_bytevector (bv))
    gn_wrong_type (subr, pos, bv);
  gnutls_datum_t d = { (unsigned char *) SCM_BYTEVECTOR_CONTENTS (bv),
                       (unsigned int) SCM_BYTEVECTOR_LENGTH (bv) };
  return d;
}

/* An optional password for an encrypted PKCS #8 key: #f or a string.  */
static char *
password_arg (SCM password, const char *subr, int pos)
{
  if (SCM_UNBNDP (password) || scm_is_false (password))
    return NULL;
  if (!scm_is_string (password))
    gn_wrong_type (subr, pos, password);
  char *s = scm_to_utf8_string (password);
  scm_dynwind_free (s);
  return s;
}

SCM_DEFINE (gn_make_certificate_credentials, "make-certificate-credentials",
            0, 0, 0, (void),
            "Return new, empty X.509 certificate credentials.  Add the\n"
            "certificate and key this side presents with\n"
            "@code{set-certificate-credentials-x509-key-files!} (or\n"
            "@code{-key-data!}), and what it trusts with\n"
            "@code{set-certificate-credentials-x509-trust-file!} (or\n"
            "@code{-trust-data!}).  A client whose credentials were given no\n"
            "trust uses the system's trust store.")
#define FUNC_NAME s_gn_make_certificate_credentials
{
  return make_credentials (FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_certificate_credentials_p, "certificate-credentials?", 1, 0, 0,
            (SCM obj),
            "Return @code{#t} if @var{obj} is a certificate credentials\n"
            "object.")
#define FUNC_NAME s_gn_certificate_credentials_p
{
  return scm_from_bool (gn_is_a (obj, gn_tls_credentials_type));
}
#undef FUNC_NAME

/* ---- What a side presents ------------------------------------------- */

/* What D (in format FMT) holds: bit 1 a certificate, bit 2 a private
   key.  PEM by its labels; DER by trying to import it.  */
#define HOLDS_CERT 1
#define HOLDS_KEY 2

static int
holds (const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt)
{
  int r = 0;
  if (fmt == GNUTLS_X509_FMT_PEM)
    {
      if (gn_tls_pem_has (d, "CERTIFICATE"))
        r |= HOLDS_CERT;
      if (gn_tls_pem_has (d, "PRIVATE KEY"))
        r |= HOLDS_KEY;
      return r;
    }
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init (&crt) >= 0)
    {
      if (gnutls_x509_crt_import (crt, d, GNUTLS_X509_FMT_DER) >= 0)
        r |= HOLDS_CERT;
      gnutls_x509_crt_deinit (crt);
    }
  gnutls_x509_privkey_t key;
  if (gnutls_x509_privkey_init (&key) >= 0)
    {
      /* An encrypted PKCS #8 key fails without its password: call it a
         key too.  */
      int rc = gnutls_x509_privkey_import2 (key, d, GNUTLS_X509_FMT_DER,
                                            NULL, 0);
      if (rc >= 0 || rc == GNUTLS_E_DECRYPTION_FAILED)
        r |= HOLDS_KEY;
      gnutls_x509_privkey_deinit (key);
    }
  return r;
}

/* Say why GnuTLS refused (with RC) the certificate chain CD and the key
   KD in FMT.  CNAME and KNAME name them: the files, or for data #f.  */
static void
raise_key_pair_error (const char *subr, int rc, const gnutls_datum_t *cd,
                      const gnutls_datum_t *kd, gnutls_x509_crt_fmt_t fmt,
                      SCM cname, SCM kname, const char *pw)
{
  int files = scm_is_true (cname);
  SCM cnoun = files ? cname : scm_from_utf8_string ("the certificate data");
  SCM knoun = files ? kname : scm_from_utf8_string ("the key data");
  SCM cin = files ? message (" in ~a", scm_list_1 (cname))
    : scm_from_utf8_string ("");
  SCM kin = files ? message (" in ~a", scm_list_1 (kname))
    : scm_from_utf8_string ("");
  gnutls_x509_crt_fmt_t cf = gn_tls_data_format (cd, fmt);
  gnutls_x509_crt_fmt_t kf = gn_tls_data_format (kd, fmt);
  int c = holds (cd, cf), k = holds (kd, kf);
  SCM text;
  if (!(c & HOLDS_CERT) && (c & HOLDS_KEY) && (k & HOLDS_CERT))
    text = message ("the certificate and the private key are given in the "
                    "wrong order: ~a holds a private key and ~a a "
                    "certificate; give the certificate first, then the key",
                    scm_list_2 (cnoun, knoun));
  else if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    text = message ("the private key~a does not match the certificate~a "
                    "(the first certificate of the chain must be the one "
                    "of the key)", scm_list_2 (kin, cin));
  else if (!(c & HOLDS_CERT))
    text = message ("~a holds no certificate~a",
                    scm_list_2 (cnoun, gn_tls_pem_contents (cd)));
  else if (!(k & HOLDS_KEY))
    text = message ("~a holds no private key~a",
                    scm_list_2 (knoun, gn_tls_pem_contents (kd)));
  else if (rc == GNUTLS_E_DECRYPTION_FAILED && pw != NULL)
    text = message ("cannot decrypt the private key~a: wrong password",
                    scm_list_1 (kin));
  else if (rc == GNUTLS_E_DECRYPTION_FAILED)
    text = message ("the private key~a is encrypted: give its password",
                    scm_list_1 (kin));
  else
    text = message ("cannot use the certificate~a with the private key~a: ~a",
                    scm_list_3 (cin, kin,
                                scm_from_utf8_string (gnutls_strerror (rc))));
  gn_raise_tls_error_message (subr, rc, text);
}

/* Add the chain CD with key KD; each in FMT unless plainly in the other
   encoding.  */
static void
add_key_pair (gn_tls_cred *c, const char *subr, const gnutls_datum_t *cd,
              const gnutls_datum_t *kd, gnutls_x509_crt_fmt_t fmt,
              const char *pw, SCM cname, SCM kname)
{
  gnutls_x509_crt_fmt_t cf = gn_tls_data_format (cd, fmt);
  gnutls_x509_crt_fmt_t kf = gn_tls_data_format (kd, fmt);
  int rc;
  if (cf == kf)
    rc = gnutls_certificate_set_x509_key_mem2 (c->cred, cd, kd, cf, pw, 0);
  else
    {
      /* One in PEM, the other in DER: import each in its own.  */
      gnutls_x509_crt_t list[16];
      unsigned int n = 16;
      gnutls_x509_privkey_t key = NULL;
      rc = gnutls_x509_crt_list_import (list, &n, cd, cf, 0);
      if (rc >= 0)
        {
          n = (unsigned int) rc;
          rc = gnutls_x509_privkey_init (&key);
          if (rc >= 0)
            rc = gnutls_x509_privkey_import2 (key, kd, kf, pw, 0);
          if (rc >= 0)
            rc = gnutls_certificate_set_x509_key (c->cred, list, (int) n, key);
          if (key != NULL)
            gnutls_x509_privkey_deinit (key);
          for (unsigned int i = 0; i < n; i++)
            gnutls_x509_crt_deinit (list[i]);
        }
    }
  if (rc < 0)
    raise_key_pair_error (subr, rc, cd, kd, fmt, cname, kname, pw);
}

SCM_DEFINE (gn_set_cred_key_files, "set-certificate-credentials-x509-key-files!",
            3, 2, 0,
            (SCM cred, SCM cert_file, SCM key_file, SCM format, SCM password),
            "Use the certificate chain in @var{cert-file} and the private key\n"
            "in @var{key-file} (both @code{x509-certificate-format/pem} by\n"
            "default, or @var{format}) as what @var{cred} presents to the\n"
            "peer.  @var{password}, when a string, decrypts a PKCS #8 key.\n"
            "Several key pairs may be added; GnuTLS picks one that suits the\n"
            "peer.  A file that cannot be read raises a\n"
            "@code{&tls-file-error} naming it; a key that does not match the\n"
            "certificate, or the two in the wrong order, a @code{&tls-error}\n"
            "that says so.")
#define FUNC_NAME s_gn_set_cred_key_files
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gn_tls_file_data cd, kd;      /* freed by scm_dynwind_end */
  scm_dynwind_begin (0);
  char *cf = file_arg (cert_file, FUNC_NAME, 2);
  char *kf = file_arg (key_file, FUNC_NAME, 3);
  gnutls_x509_crt_fmt_t f = gn_tls_to_format (format, FUNC_NAME, 4);
  char *pw = password_arg (password, FUNC_NAME, 5);
  if (gnutls_url_is_supported (cf) || gnutls_url_is_supported (kf))
    {
      /* A PKCS #11 or TPM object: GnuTLS reads it.  */
      int rc = gnutls_certificate_set_x509_key_file2 (c->cred, cf, kf, f, pw,
                                                      0);
      if (rc < 0)
        gn_raise_tls_error_message
          (FUNC_NAME, rc,
           message ("cannot use the certificate ~a with the private key ~a: ~a",
                    scm_list_3 (cert_file, key_file,
                                scm_from_utf8_string (gnutls_strerror (rc)))));
    }
  else
    {
      gn_tls_read_file (FUNC_NAME, cert_file, cf, &cd, 0);
      gn_tls_read_file (FUNC_NAME, key_file, kf, &kd, 1);
      add_key_pair (c, FUNC_NAME, &cd.d, &kd.d, f, pw, cert_file, key_file);
    }
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_key_data, "set-certificate-credentials-x509-key-data!",
            3, 2, 0,
            (SCM cred, SCM cert, SCM key, SCM format, SCM password),
            "Like @code{set-certificate-credentials-x509-key-files!}, with the\n"
            "certificate chain and private key given as bytevectors.")
#define FUNC_NAME s_gn_set_cred_key_data
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t cd = data_arg (cert, FUNC_NAME, 2);
  gnutls_datum_t kd = data_arg (key, FUNC_NAME, 3);
  scm_dynwind_begin (0);
  gnutls_x509_crt_fmt_t f = gn_tls_to_format (format, FUNC_NAME, 4);
  char *pw = password_arg (password, FUNC_NAME, 5);
  add_key_pair (c, FUNC_NAME, &cd, &kd, f, pw, SCM_BOOL_F, SCM_BOOL_F);
  scm_dynwind_end ();
  scm_remember_upto_here_2 (cert, key);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* ---- What a side trusts --------------------------------------------- */

/* Put in place of C's trust list, which holds the system store loaded
   implicitly, one holding only the certificates in D (or, when D is
   NULL, those GnuTLS reads from URL) and the CRLs given before; or, when
   there is no certificate or an error, leave C untouched.  Return the
   number of certificates, or GnuTLS's error.  Under the trust lock.  */
static int
replace_trust (gn_tls_cred *c, const gnutls_datum_t *d, const char *url,
               gnutls_x509_crt_fmt_t fmt)
{
  gnutls_x509_trust_list_t tl;
  int rc = gnutls_x509_trust_list_init (&tl, 0);
  if (rc < 0)
    return rc;
  rc = d != NULL
    ? gnutls_x509_trust_list_add_trust_mem (tl, d, NULL, fmt,
                                            GNUTLS_TL_USE_IN_TLS, 0)
    : gnutls_x509_trust_list_add_trust_file (tl, url, NULL, fmt,
                                             GNUTLS_TL_USE_IN_TLS, 0);
  if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)
    rc = 0;
  for (struct gn_crl_copy *crl = c->crls; rc > 0 && crl != NULL;
       crl = crl->next)
    {
      int r = gnutls_x509_trust_list_add_trust_mem (tl, NULL, &crl->data,
                                                    crl->format,
                                                    GNUTLS_TL_USE_IN_TLS, 0);
      if (r < 0)
        rc = r;
    }
  if (rc <= 0)
    {
      gnutls_x509_trust_list_deinit (tl, 1);
      return rc;
    }
  gnutls_certificate_set_trust_list (c->cred, tl, 0);
  c->system_trust = GN_SYSTEM_TRUST_NONE;
  c->system_trusted = 0;
  return rc;
}

/* Trust the certificates in D (FMT unless plainly the other encoding),
   which NOUN names for messages; return how many.  */
static SCM
add_trust (gn_tls_cred *c, const char *subr, const gnutls_datum_t *d,
           gnutls_x509_crt_fmt_t fmt, SCM noun)
{
  gnutls_x509_crt_fmt_t f = gn_tls_data_format (d, fmt);
  pthread_mutex_lock (&trust_lock);
  int rc;
  if (c->system_trust == GN_SYSTEM_TRUST_IMPLICIT)
    rc = replace_trust (c, d, NULL, f);
  else
    rc = gnutls_certificate_set_x509_trust_mem (c->cred, d, f);
  if (rc > 0)
    {
      c->explicit_trust = 1;
      c->trusted += (unsigned int) rc;
    }
  pthread_mutex_unlock (&trust_lock);
  if (rc < 0)
    gn_raise_tls_error_message
      (subr, rc, message ("cannot read the certificates of ~a: ~a~a",
                          scm_list_3 (noun,
                                      scm_from_utf8_string
                                      (gnutls_strerror (rc)),
                                      gn_tls_pem_contents (d))));
  if (rc == 0)
    gn_raise_tls_error_message
      (subr, GNUTLS_E_NO_CERTIFICATE_FOUND,
       message ("~a holds no certificate~a",
                scm_list_2 (noun, gn_tls_pem_contents (d))));
  return scm_from_int (rc);
}

SCM_DEFINE (gn_set_cred_trust_file,
            "set-certificate-credentials-x509-trust-file!", 2, 1, 0,
            (SCM cred, SCM file, SCM format),
            "Trust the CA certificates in @var{file} (PEM by default, or\n"
            "@var{format}) to verify peers.  Once trust is given explicitly,\n"
            "the system trust store is not used by these credentials, even\n"
            "if a handshake loaded it before.  Return the number of\n"
            "certificates added; a file with none is an error.")
#define FUNC_NAME s_gn_set_cred_trust_file
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gn_tls_file_data d;           /* freed by scm_dynwind_end */
  scm_dynwind_begin (0);
  char *f = file_arg (file, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  SCM n;
  if (gnutls_url_is_supported (f))
    {
      /* A PKCS #11 token's certificates: GnuTLS reads them.  */
      pthread_mutex_lock (&trust_lock);
      int rc = c->system_trust == GN_SYSTEM_TRUST_IMPLICIT
        ? replace_trust (c, NULL, f, fmt)
        : gnutls_certificate_set_x509_trust_file (c->cred, f, fmt);
      if (rc > 0)
        {
          c->explicit_trust = 1;
          c->trusted += (unsigned int) rc;
        }
      pthread_mutex_unlock (&trust_lock);
      if (rc <= 0)
        gn_raise_tls_error_message
          (FUNC_NAME, rc < 0 ? rc : GNUTLS_E_NO_CERTIFICATE_FOUND,
           rc < 0 ? message ("cannot read the certificates of ~a: ~a",
                             scm_list_2 (file, scm_from_utf8_string
                                         (gnutls_strerror (rc))))
           : message ("~a holds no certificate", scm_list_1 (file)));
      n = scm_from_int (rc);
    }
  else
    {
      gn_tls_read_file (FUNC_NAME, file, f, &d, 0);
      n = add_trust (c, FUNC_NAME, &d.d, fmt, file);
    }
  scm_dynwind_end ();
  return n;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_trust_data,
            "set-certificate-credentials-x509-trust-data!", 2, 1, 0,
            (SCM cred, SCM data, SCM format),
            "Like @code{set-certificate-credentials-x509-trust-file!}, with\n"
            "the certificates in bytevector @var{data}.")
#define FUNC_NAME s_gn_set_cred_trust_data
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t d = data_arg (data, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  SCM n = add_trust (c, FUNC_NAME, &d, fmt,
                     scm_from_utf8_string ("the trust data"));
  scm_remember_upto_here_1 (data);
  return n;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_system_trust,
            "set-certificate-credentials-system-trust!", 1, 0, 0, (SCM cred),
            "Add the system's trust store to @var{cred}, even when other\n"
            "trust was given.  Return the number of certificates added (0\n"
            "when a handshake had loaded it already).")
#define FUNC_NAME s_gn_set_cred_system_trust
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  int rc = 0;
  pthread_mutex_lock (&trust_lock);
  if (c->system_trust == GN_SYSTEM_TRUST_NONE)
    {
      rc = gnutls_certificate_set_x509_system_trust (c->cred);
      if (rc >= 0)
        c->system_trusted = (unsigned int) rc;
    }
  if (rc >= 0)
    c->system_trust = GN_SYSTEM_TRUST_EXPLICIT;
  pthread_mutex_unlock (&trust_lock);
  gn_tls_check (rc, FUNC_NAME);
  return scm_from_int (rc);
}
#undef FUNC_NAME

/* Add the CRLs in D (FMT unless plainly the other encoding), named NOUN;
   keep a copy for a later replacement of the trust list.  */
static SCM
add_crls (gn_tls_cred *c, const char *subr, const gnutls_datum_t *d,
          gnutls_x509_crt_fmt_t fmt, SCM noun)
{
  gnutls_x509_crt_fmt_t f = gn_tls_data_format (d, fmt);
  struct gn_crl_copy *copy = malloc (sizeof *copy);
  unsigned char *bytes = malloc (d->size > 0 ? d->size : 1);
  if (copy == NULL || bytes == NULL)
    {
      free (copy);
      free (bytes);
      gn_syserror_errno (subr, ENOMEM);
    }
  memcpy (bytes, d->data, d->size);
  copy->data.data = bytes;
  copy->data.size = d->size;
  copy->format = f;
  pthread_mutex_lock (&trust_lock);
  int rc = gnutls_certificate_set_x509_crl_mem (c->cred, d, f);
  if (rc > 0)
    {
      c->crl_count += (unsigned int) rc;
      copy->next = c->crls;
      c->crls = copy;
      copy = NULL;
    }
  pthread_mutex_unlock (&trust_lock);
  if (copy != NULL)
    {
      free (copy->data.data);
      free (copy);
    }
  if (rc < 0)
    gn_raise_tls_error_message
      (subr, rc, message ("cannot read the CRLs of ~a: ~a~a",
                          scm_list_3 (noun,
                                      scm_from_utf8_string
                                      (gnutls_strerror (rc)),
                                      gn_tls_pem_contents (d))));
  return scm_from_int (rc);
}

SCM_DEFINE (gn_set_cred_crl_file, "set-certificate-credentials-x509-crl-file!",
            2, 1, 0, (SCM cred, SCM file, SCM format),
            "Use the certificate revocation lists in @var{file} (PEM by\n"
            "default, or @var{format}) when verifying peers.  Return the\n"
            "number of CRLs added.")
#define FUNC_NAME s_gn_set_cred_crl_file
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gn_tls_file_data d;           /* freed by scm_dynwind_end */
  scm_dynwind_begin (0);
  char *f = file_arg (file, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  gn_tls_read_file (FUNC_NAME, file, f, &d, 0);
  SCM n = add_crls (c, FUNC_NAME, &d.d, fmt, file);
  scm_dynwind_end ();
  return n;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_crl_data, "set-certificate-credentials-x509-crl-data!",
            2, 1, 0, (SCM cred, SCM data, SCM format),
            "Like @code{set-certificate-credentials-x509-crl-file!}, with the\n"
            "CRLs in bytevector @var{data}.")
#define FUNC_NAME s_gn_set_cred_crl_data
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t d = data_arg (data, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  SCM n = add_crls (c, FUNC_NAME, &d, fmt,
                    scm_from_utf8_string ("the CRL data"));
  scm_remember_upto_here_1 (data);
  return n;
}
#undef FUNC_NAME

/* ---- How peers are verified ----------------------------------------- */

/* GnuTLS applies these to every verification of a peer with these
   credentials: ours during the handshake (tls-io.c) and
   peer-certificate-status alike.  */

SCM_DEFINE (gn_set_cred_verify_flags,
            "set-certificate-credentials-verify-flags!", 1, 0, 1,
            (SCM cred, SCM flags),
            "Verify peers with @var{cred} under @var{flags}, any number of\n"
            "@code{certificate-verify/} values (for example\n"
            "@code{certificate-verify/disable-time-checks}): they replace the\n"
            "flags set before; none restores GnuTLS's default.  They apply\n"
            "to the verification during the handshake and to\n"
            "@code{peer-certificate-status}.")
#define FUNC_NAME s_gn_set_cred_verify_flags
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  unsigned long mask = gn_name_flags_mask (GN_CERTIFICATE_VERIFY);
  unsigned long f = 0;
  int pos = 2;
  for (SCM l = flags; scm_is_pair (l); l = SCM_CDR (l), pos++)
    {
      SCM x = SCM_CAR (l);
      if (!scm_is_exact_integer (x))
        gn_wrong_type (FUNC_NAME, pos, x);
      if (!scm_is_unsigned_integer (x, 0, UINT_MAX)
          || (scm_to_ulong (x) & ~mask) != 0)
        gn_out_of_range_msg (FUNC_NAME, pos, x, "not a certificate-verify/ "
                             "value or a combination of them");
      f |= scm_to_ulong (x);
    }
  gnutls_certificate_set_verify_flags (c->cred, (unsigned int) f);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_verify_limits,
            "set-certificate-credentials-verify-limits!", 3, 0, 0,
            (SCM cred, SCM max_bits, SCM max_depth),
            "Refuse, when verifying peers with @var{cred}, keys of more than\n"
            "@var{max-bits} bits and chains of more than @var{max-depth}\n"
            "certificates (non-negative integers; GnuTLS's defaults are\n"
            "16384 bits and 16 certificates).  They apply to the verification\n"
            "during the handshake and to @code{peer-certificate-status}\n"
            "(GnuTLS 3.7 checks the depth; it seems to check the bits no\n"
            "more).")
#define FUNC_NAME s_gn_set_cred_verify_limits
{
  gn_tls_cred *c = to_mutable_cred (cred, FUNC_NAME, 1);
  if (!scm_is_exact_integer (max_bits))
    gn_wrong_type (FUNC_NAME, 2, max_bits);
  if (!scm_is_exact_integer (max_depth))
    gn_wrong_type (FUNC_NAME, 3, max_depth);
  if (!scm_is_unsigned_integer (max_bits, 0, UINT_MAX))
    gn_out_of_range (FUNC_NAME, 2, max_bits);
  if (!scm_is_unsigned_integer (max_depth, 0, UINT_MAX))
    gn_out_of_range (FUNC_NAME, 3, max_depth);
  gnutls_certificate_set_verify_limits (c->cred, scm_to_uint (max_bits),
                                        scm_to_uint (max_depth));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* ---- What credentials hold, for printing ----------------------------- */

static SCM
crt_dn (gnutls_x509_crt_t crt)
{
  gnutls_datum_t d;
  if (gnutls_x509_crt_get_dn3 (crt, &d, 0) < 0)
    return scm_from_utf8_string ("?");
  SCM s = scm_from_stringn ((const char *) d.data, d.size, "UTF-8",
                            SCM_FAILED_CONVERSION_QUESTION_MARK);
  gnutls_free (d.data);
  return s;
}

SCM_DEFINE (gn_certificate_credentials_summary,
            "%certificate-credentials-summary", 1, 0, 0, (SCM cred),
            "Internal, for printing: an alist of what @var{cred} holds:\n"
            "@code{chains} (a list of lists of subjects, own certificate\n"
            "first), @code{trusted} (certificates trusted explicitly),\n"
            "@code{system} (@code{#f}, @code{implicit} or @code{explicit}),\n"
            "@code{system-trusted}, @code{crls} and @code{default?}.")
#define FUNC_NAME s_gn_certificate_credentials_summary
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  SCM chains = SCM_EOL;
  for (unsigned int i = 0;; i++)
    {
      gnutls_x509_crt_t *list = NULL;
      unsigned int n = 0;
      if (gnutls_certificate_get_x509_crt (c->cred, i, &list, &n) < 0)
        break;
      SCM chain = SCM_EOL;
      for (unsigned int j = 0; j < n; j++)
        {
          chain = scm_cons (crt_dn (list[j]), chain);
          gnutls_x509_crt_deinit (list[j]);
        }
      gnutls_free (list);
      chains = scm_cons (scm_reverse_x (chain, SCM_EOL), chains);
    }
  pthread_mutex_lock (&trust_lock);
  unsigned int trusted = c->trusted, system_trusted = c->system_trusted;
  unsigned int crls = c->crl_count;
  int system = c->system_trust;
  pthread_mutex_unlock (&trust_lock);
  scm_remember_upto_here_1 (cred);
  return scm_list_n
    (scm_cons (scm_from_utf8_symbol ("chains"),
               scm_reverse_x (chains, SCM_EOL)),
     scm_cons (scm_from_utf8_symbol ("trusted"), scm_from_uint (trusted)),
     scm_cons (scm_from_utf8_symbol ("system"),
               system == GN_SYSTEM_TRUST_NONE ? SCM_BOOL_F
               : scm_from_utf8_symbol (system == GN_SYSTEM_TRUST_IMPLICIT
                                       ? "implicit" : "explicit")),
     scm_cons (scm_from_utf8_symbol ("system-trusted"),
               scm_from_uint (system_trusted)),
     scm_cons (scm_from_utf8_symbol ("crls"), scm_from_uint (crls)),
     scm_cons (scm_from_utf8_symbol ("default?"),
               scm_from_bool (c->is_default)),
     SCM_UNDEFINED);
}
#undef FUNC_NAME

void
gn_init_tls_credentials (void)
{
  gn_tls_credentials_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol
                                  ("certificate-credentials"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_credentials);
  scm_permanent_object (gn_tls_credentials_type);
  /* For (net tls)'s printer (a GOOPS method on this class).  */
  scm_c_define ("%certificate-credentials-type", gn_tls_credentials_type);
  scm_c_define ("x509-certificate-format/pem",
                scm_from_int (GNUTLS_X509_FMT_PEM));
  scm_c_define ("x509-certificate-format/der",
                scm_from_int (GNUTLS_X509_FMT_DER));
#ifndef SCM_MAGIC_SNARFER
#include "tls-credentials.x"
#endif
}
