/* x509.c -- libFuzzer harness for loading certificates and keys
   (libguile-net/tls-x509.c, tls-credentials.c): the X.509 import
   primitives and what is then read from a certificate, and the
   credentials' data and file setters, PEM and DER, with and without a
   password.

   Input: one byte choosing the operation and format, one byte giving the
   length of a password (0: none) and the password, then the data; the
   operations taking two blobs (certificate and key) split the data at a
   two-byte length.  */

#include "common.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SCM gn_import_x509_certificate (SCM data, SCM format);
SCM gn_export_x509_certificate (SCM cert, SCM format);
SCM gn_x509_certificate_dn (SCM cert);
SCM gn_x509_certificate_issuer_dn (SCM cert);
SCM gn_x509_certificate_san (SCM cert);
SCM gn_x509_certificate_activation_time (SCM cert);
SCM gn_x509_certificate_expiration_time (SCM cert);
SCM gn_x509_certificate_fingerprint (SCM cert, SCM algorithm);
SCM gn_x509_certificate_matches_hostname (SCM cert, SCM host);
SCM gn_import_x509_private_key (SCM data, SCM format, SCM password);
SCM gn_set_cred_keys (SCM cred, SCM certs, SCM key);
SCM gn_make_certificate_credentials (void);
SCM gn_set_cred_key_files (SCM cred, SCM cert_file, SCM key_file,
                           SCM format, SCM password);
SCM gn_set_cred_key_data (SCM cred, SCM cert, SCM key, SCM format,
                          SCM password);
SCM gn_set_cred_trust_file (SCM cred, SCM file, SCM format);
SCM gn_set_cred_trust_data (SCM cred, SCM data, SCM format);
SCM gn_set_cred_crl_file (SCM cred, SCM file, SCM format);
SCM gn_set_cred_crl_data (SCM cred, SCM data, SCM format);

static char cert_file[64], key_file[64];
static SCM good_key = SCM_BOOL_F;

static SCM
read_key (void *unused)
{
  return fuzz_eval ("(import-x509-private-key (call-with-input-file "
                    "\"" FUZZ_SRCDIR "/fuzz/certs/key.pem\" "
                    "get-bytevector-all #:binary #t))");
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_init ();
  snprintf (cert_file, sizeof cert_file, "/tmp/guile-net-fuzz-%ld.crt",
            (long) getpid ());
  snprintf (key_file, sizeof key_file, "/tmp/guile-net-fuzz-%ld.key",
            (long) getpid ());
  good_key = scm_permanent_object (read_key (NULL));
  return 0;
}

static void
write_file (const char *name, SCM bv)
{
  FILE *f = fopen (name, "wb");
  if (f == NULL)
    abort ();
  fwrite (SCM_BYTEVECTOR_CONTENTS (bv), 1, SCM_BYTEVECTOR_LENGTH (bv), f);
  fclose (f);
}

struct job
{
  struct fuzz_input in;
};

/* Everything one may ask of a certificate.  */
static void
look_at (SCM cert, struct fuzz_input *in)
{
  SCM der = scm_from_int (GNUTLS_X509_FMT_DER);
  SCM pem = scm_from_int (GNUTLS_X509_FMT_PEM);
  static const char *digests[] = { "sha256", "sha384", "sha512", "sha1" };
  gn_x509_certificate_san (cert);
  gn_x509_certificate_dn (cert);
  gn_x509_certificate_issuer_dn (cert);
  gn_x509_certificate_matches_hostname (cert,
                                        scm_from_latin1_string ("localhost"));
  gn_x509_certificate_fingerprint
    (cert, scm_from_utf8_symbol (digests[fuzz_u8 (in) % 4]));
  /* Exported, it imports again.  */
  gn_import_x509_certificate (gn_export_x509_certificate (cert, der), der);
  gn_import_x509_certificate (gn_export_x509_certificate (cert, pem), pem);
  /* As the end of a chain of credentials.  */
  SCM cred = gn_make_certificate_credentials ();
  gn_set_cred_keys (cred, scm_list_1 (cert), good_key);
  gn_x509_certificate_activation_time (cert);
  gn_x509_certificate_expiration_time (cert);
}

static SCM
run (void *data)
{
  struct job *j = data;
  struct fuzz_input *in = &j->in;
  uint8_t op = fuzz_u8 (in);
  SCM fmt = scm_from_int ((op & 0x80) ? GNUTLS_X509_FMT_DER
                          : GNUTLS_X509_FMT_PEM);
  size_t pwlen = fuzz_u8 (in) % 32;
  SCM password = SCM_BOOL_F;
  if (pwlen > 0)
    {
      pwlen -= 1;   /* 1: the empty password */
      if (pwlen > in->n)
        pwlen = in->n;
      password = scm_from_latin1_stringn ((const char *) in->p, pwlen);
      in->p += pwlen;
      in->n -= pwlen;
    }
  switch (op % 8)
    {
    case 0:
      look_at (gn_import_x509_certificate (fuzz_bytevector (in, in->n), fmt),
               in);
      break;
    case 1:
      gn_import_x509_private_key (fuzz_bytevector (in, in->n), fmt,
                                  password);
      break;
    case 2:
    case 3:
      {
        size_t n = ((size_t) fuzz_u8 (in) << 8) | fuzz_u8 (in);
        SCM cert = fuzz_bytevector (in, n);
        SCM key = fuzz_bytevector (in, in->n);
        SCM cred = gn_make_certificate_credentials ();
        if (op % 8 == 2)
          gn_set_cred_key_data (cred, cert, key, fmt, password);
        else
          {
            write_file (cert_file, cert);
            write_file (key_file, key);
            gn_set_cred_key_files (cred, scm_from_utf8_string (cert_file),
                                   scm_from_utf8_string (key_file), fmt,
                                   password);
          }
        break;
      }
    case 4:
      gn_set_cred_trust_data (gn_make_certificate_credentials (),
                              fuzz_bytevector (in, in->n), fmt);
      break;
    case 5:
      gn_set_cred_crl_data (gn_make_certificate_credentials (),
                            fuzz_bytevector (in, in->n), fmt);
      break;
    case 6:
      write_file (cert_file, fuzz_bytevector (in, in->n));
      gn_set_cred_trust_file (gn_make_certificate_credentials (),
                              scm_from_utf8_string (cert_file), fmt);
      break;
    default:
      write_file (cert_file, fuzz_bytevector (in, in->n));
      gn_set_cred_crl_file (gn_make_certificate_credentials (),
                            scm_from_utf8_string (cert_file), fmt);
      break;
    }
  return SCM_BOOL_T;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_init ();
  struct job j = { { data, size } };
  fuzz_catch (run, &j);
  unlink (cert_file);
  unlink (key_file);
  fuzz_end_input ();
  return 0;
}
