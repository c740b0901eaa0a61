/* tls-credentials.c -- X.509 certificate credentials: the keys a side
   presents and the certificates and CRLs it trusts.

   A credentials object is a Guile foreign object pointing to a gn_tls_cred
   allocated with malloc.  Sessions keep a reference count on it as well as a
   Scheme reference: Guile runs finalizers in no particular order, so the
   GnuTLS credentials and the gn_tls_cred itself are freed only when the
   object and every session that used them are gone.  The gn_tls_cred must
   not be GC memory: a session that replaced its credentials holds the old
   ones only through its (malloc'd, unscanned) list of links, so the GC
   would free the block while that session still counts on it.  */

#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
  if (!c->explicit_trust && !c->system_trust)
    {
      rc = gnutls_certificate_set_x509_system_trust (c->cred);
      if (rc >= 0 || rc == GNUTLS_E_UNIMPLEMENTED_FEATURE)
        c->system_trust = 1;
    }
  pthread_mutex_unlock (&trust_lock);
  if (rc < 0 && rc != GNUTLS_E_UNIMPLEMENTED_FEATURE)
    gn_raise_tls_error (subr, rc, -1);
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
      gn_tls_cred_ensure_trust (scm_foreign_object_ref (creds, 0),
                                "make-session");
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

SCM_DEFINE (gn_set_cred_key_files, "set-certificate-credentials-x509-key-files!",
            3, 2, 0,
            (SCM cred, SCM cert_file, SCM key_file, SCM format, SCM password),
            "Use the certificate chain in @var{cert-file} and the private key\n"
            "in @var{key-file} (both @code{x509-certificate-format/pem} by\n"
            "default, or @var{format}) as what @var{cred} presents to the\n"
            "peer.  @var{password}, when a string, decrypts a PKCS #8 key.\n"
            "Several key pairs may be added; GnuTLS picks one that suits the\n"
            "peer.")
#define FUNC_NAME s_gn_set_cred_key_files
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  scm_dynwind_begin (0);
  char *cf = file_arg (cert_file, FUNC_NAME, 2);
  char *kf = file_arg (key_file, FUNC_NAME, 3);
  gnutls_x509_crt_fmt_t f = gn_tls_to_format (format, FUNC_NAME, 4);
  char *pw = password_arg (password, FUNC_NAME, 5);
  int rc = gnutls_certificate_set_x509_key_file2 (c->cred, cf, kf, f, pw, 0);
  scm_dynwind_end ();
  gn_tls_check (rc, FUNC_NAME);
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
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t cd = data_arg (cert, FUNC_NAME, 2);
  gnutls_datum_t kd = data_arg (key, FUNC_NAME, 3);
  scm_dynwind_begin (0);
  gnutls_x509_crt_fmt_t f = gn_tls_to_format (format, FUNC_NAME, 4);
  char *pw = password_arg (password, FUNC_NAME, 5);
  int rc = gnutls_certificate_set_x509_key_mem2 (c->cred, &cd, &kd, f, pw, 0);
  scm_dynwind_end ();
  scm_remember_upto_here_2 (cert, key);
  gn_tls_check (rc, FUNC_NAME);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_trust_file,
            "set-certificate-credentials-x509-trust-file!", 2, 1, 0,
            (SCM cred, SCM file, SCM format),
            "Trust the CA certificates in @var{file} (PEM by default, or\n"
            "@var{format}) to verify peers.  Once trust is given explicitly,\n"
            "the system trust store is not used by these credentials.\n"
            "Return the number of certificates added.")
#define FUNC_NAME s_gn_set_cred_trust_file
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  scm_dynwind_begin (0);
  char *f = file_arg (file, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  int rc = gnutls_certificate_set_x509_trust_file (c->cred, f, fmt);
  scm_dynwind_end ();
  gn_tls_check (rc, FUNC_NAME);
  c->explicit_trust = 1;
  return scm_from_int (rc);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_trust_data,
            "set-certificate-credentials-x509-trust-data!", 2, 1, 0,
            (SCM cred, SCM data, SCM format),
            "Like @code{set-certificate-credentials-x509-trust-file!}, with\n"
            "the certificates in bytevector @var{data}.")
#define FUNC_NAME s_gn_set_cred_trust_data
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t d = data_arg (data, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  int rc = gnutls_certificate_set_x509_trust_mem (c->cred, &d, fmt);
  scm_remember_upto_here_1 (data);
  gn_tls_check (rc, FUNC_NAME);
  c->explicit_trust = 1;
  return scm_from_int (rc);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_system_trust,
            "set-certificate-credentials-system-trust!", 1, 0, 0, (SCM cred),
            "Add the system's trust store to @var{cred}, even when other\n"
            "trust was given.  Return the number of certificates added.")
#define FUNC_NAME s_gn_set_cred_system_trust
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  int rc = 0;
  if (!c->system_trust)
    {
      rc = gnutls_certificate_set_x509_system_trust (c->cred);
      gn_tls_check (rc, FUNC_NAME);
      c->system_trust = 1;
    }
  return scm_from_int (rc);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_crl_file, "set-certificate-credentials-x509-crl-file!",
            2, 1, 0, (SCM cred, SCM file, SCM format),
            "Use the certificate revocation lists in @var{file} (PEM by\n"
            "default, or @var{format}) when verifying peers.  Return the\n"
            "number of CRLs added.")
#define FUNC_NAME s_gn_set_cred_crl_file
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  scm_dynwind_begin (0);
  char *f = file_arg (file, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  int rc = gnutls_certificate_set_x509_crl_file (c->cred, f, fmt);
  scm_dynwind_end ();
  gn_tls_check (rc, FUNC_NAME);
  return scm_from_int (rc);
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_crl_data, "set-certificate-credentials-x509-crl-data!",
            2, 1, 0, (SCM cred, SCM data, SCM format),
            "Like @code{set-certificate-credentials-x509-crl-file!}, with the\n"
            "CRLs in bytevector @var{data}.")
#define FUNC_NAME s_gn_set_cred_crl_data
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  gnutls_datum_t d = data_arg (data, FUNC_NAME, 2);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 3);
  int rc = gnutls_certificate_set_x509_crl_mem (c->cred, &d, fmt);
  scm_remember_upto_here_1 (data);
  gn_tls_check (rc, FUNC_NAME);
  return scm_from_int (rc);
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
  scm_c_define ("x509-certificate-format/pem",
                scm_from_int (GNUTLS_X509_FMT_PEM));
  scm_c_define ("x509-certificate-format/der",
                scm_from_int (GNUTLS_X509_FMT_DER));
#ifndef SCM_MAGIC_SNARFER
#include "tls-credentials.x"
#endif
}
