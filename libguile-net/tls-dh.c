/* tls-dh.c -- Diffie-Hellman parameters: generated, imported and exported
   in PKCS #3, given to certificate and anonymous server credentials, and
   the smallest prime a client accepts.

   Since GnuTLS 3.6 explicit parameters count mostly as a strength: a
   server uses the RFC 7919 group (FFDHE) the client offered; else the
   first group of its own priorities whose prime is at least as large as
   the parameters' (or of the session's security level when none were
   given); and sends the parameters' own prime only when no such group
   exists.  A client checks a prime that is not a group it offered against
   set-session-dh-prime-bits! (or its security level).

   A DH parameters object is a foreign object pointing to GnuTLS's
   gnutls_dh_params_t.  GnuTLS keeps a pointer to the parameters set on
   credentials rather than a copy; credentials are given a copy of their
   own (gn_tls_dh_copy), freed with them, so that the object may be
   collected first.  */

#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static SCM dh_type = SCM_BOOL_F;

static void
finalize_dh (SCM obj)
{
  gnutls_dh_params_t p = scm_foreign_object_ref (obj, 0);
  if (p != NULL)
    gnutls_dh_params_deinit (p);
}

static gnutls_dh_params_t
to_dh (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, dh_type, subr, pos);
}

static SCM
make_dh (const char *subr, gnutls_dh_params_t *out)
{
  int rc = gnutls_dh_params_init (out);
  if (rc < 0)
    gn_raise_tls_error (subr, rc, -1);
  return scm_make_foreign_object_1 (dh_type, *out);
}

gnutls_dh_params_t
gn_tls_dh_copy (SCM params, struct gn_dh_copy **list, const char *subr,
                int pos)
{
  gnutls_dh_params_t src = to_dh (params, subr, pos);
  struct gn_dh_copy *copy = malloc (sizeof *copy);
  if (copy == NULL)
    gn_syserror_errno (subr, ENOMEM);
  int rc = gnutls_dh_params_init (&copy->params);
  if (rc >= 0)
    {
      rc = gnutls_dh_params_cpy (copy->params, src);
      if (rc < 0)
        gnutls_dh_params_deinit (copy->params);
    }
  scm_remember_upto_here_1 (params);
  if (rc < 0)
    {
      free (copy);
      gn_raise_tls_error (subr, rc, -1);
    }
  pthread_mutex_lock (&gn_tls_kind_lock);
  copy->next = *list;
  *list = copy;
  pthread_mutex_unlock (&gn_tls_kind_lock);
  return copy->params;
}

void
gn_tls_dh_free_copies (struct gn_dh_copy *list)
{
  while (list != NULL)
    {
      struct gn_dh_copy *next = list->next;
      gnutls_dh_params_deinit (list->params);
      free (list);
      list = next;
    }
}

#define MIN_GENERATED_BITS 512
#define MAX_GENERATED_BITS 8192

SCM_DEFINE (gn_make_dh_parameters, "make-dh-parameters", 1, 0, 0,
            (SCM bits),
            "Generate and return new Diffie-Hellman parameters whose prime\n"
            "has @var{bits} bits, from 512 to 8192.  This takes a moment (a\n"
            "fraction of a second for 2048 bits, much longer for the largest\n"
            "sizes); servers usually make them once, or import saved ones with\n"
            "@code{pkcs3-import-dh-parameters}.")
#define FUNC_NAME s_gn_make_dh_parameters
{
  if (!scm_is_exact_integer (bits))
    gn_wrong_type (FUNC_NAME, 1, bits);
  if (!scm_is_unsigned_integer (bits, MIN_GENERATED_BITS, MAX_GENERATED_BITS))
    gn_out_of_range_msg (FUNC_NAME, 1, bits,
                         "DH parameters are made with 512 to 8192 bits");
  gnutls_dh_params_t p;
  SCM obj = make_dh (FUNC_NAME, &p);
  int rc = gnutls_dh_params_generate2 (p, scm_to_uint (bits));
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return obj;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dh_parameters_p, "dh-parameters?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a Diffie-Hellman parameters\n"
            "object.")
#define FUNC_NAME s_gn_dh_parameters_p
{
  return scm_from_bool (gn_is_a (obj, dh_type));
}
#undef FUNC_NAME

SCM_DEFINE (gn_pkcs3_import_dh_parameters, "pkcs3-import-dh-parameters", 1,
            1, 0, (SCM data, SCM format),
            "Return the Diffie-Hellman parameters that bytevector @var{data}\n"
            "holds in PKCS #3, @code{x509-certificate-format/pem} (the\n"
            "default; what @command{certtool --generate-dh-params} writes) or\n"
            "@code{x509-certificate-format/der} as @var{format}.  Data that\n"
            "are plainly in the other encoding are read in it.  Data that hold\n"
            "no parameters raise a @code{&tls-error} that says what they\n"
            "hold.")
#define FUNC_NAME s_gn_pkcs3_import_dh_parameters
{
  if (!scm_is_bytevector (data))
    gn_wrong_type (FUNC_NAME, 1, data);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 2);
  gnutls_datum_t d = { (unsigned char *) SCM_BYTEVECTOR_CONTENTS (data),
                       (unsigned int) SCM_BYTEVECTOR_LENGTH (data) };
  fmt = gn_tls_data_format (&d, fmt);
  gnutls_dh_params_t p;
  SCM obj = make_dh (FUNC_NAME, &p);
  int rc = gnutls_dh_params_import_pkcs3 (p, &d, fmt);
  if (rc < 0)
    gn_raise_tls_error_message
      (FUNC_NAME, rc,
       scm_simple_format (SCM_BOOL_F,
                          scm_from_utf8_string
                          ("cannot read PKCS #3 DH parameters (~a) from the "
                           "data: ~a~a"),
                          scm_list_3 (scm_from_utf8_string
                                      (fmt == GNUTLS_X509_FMT_PEM
                                       ? "PEM" : "DER"),
                                      scm_from_utf8_string
                                      (gnutls_strerror (rc)),
                                      gn_tls_pem_contents (&d))));
  scm_remember_upto_here_1 (data);
  return obj;
}
#undef FUNC_NAME

SCM_DEFINE (gn_pkcs3_export_dh_parameters, "pkcs3-export-dh-parameters", 1,
            1, 0, (SCM params, SCM format),
            "Return Diffie-Hellman parameters @var{params} in PKCS #3, as a\n"
            "bytevector: @code{x509-certificate-format/pem} (the default) or\n"
            "@code{x509-certificate-format/der} as @var{format}.")
#define FUNC_NAME s_gn_pkcs3_export_dh_parameters
{
  gnutls_dh_params_t p = to_dh (params, FUNC_NAME, 1);
  gnutls_x509_crt_fmt_t fmt = gn_tls_to_format (format, FUNC_NAME, 2);
  gnutls_datum_t out = { NULL, 0 };
  int rc = gnutls_dh_params_export2_pkcs3 (p, fmt, &out);
  scm_remember_upto_here_1 (params);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  SCM bv = scm_c_make_bytevector (out.size);
  memcpy (SCM_BYTEVECTOR_CONTENTS (bv), out.data, out.size);
  gnutls_free (out.data);
  return bv;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dh_parameters_bits, "%dh-parameters-bits", 1, 0, 0,
            (SCM params),
            "Internal, for printing: the number of bits of the prime of\n"
            "@var{params}, or @code{#f} if it has none.")
#define FUNC_NAME s_gn_dh_parameters_bits
{
  gnutls_dh_params_t p = to_dh (params, FUNC_NAME, 1);
  gnutls_datum_t prime = { NULL, 0 }, generator = { NULL, 0 };
  unsigned int bits = 0;
  int rc = gnutls_dh_params_export_raw (p, &prime, &generator, &bits);
  scm_remember_upto_here_1 (params);
  if (rc < 0)
    return SCM_BOOL_F;
  unsigned int i = 0, n = 0;
  while (i < prime.size && prime.data[i] == 0)
    i++;
  if (i < prime.size)
    {
      n = 8 * (prime.size - i - 1);
      for (unsigned char top = prime.data[i]; top != 0; top >>= 1)
        n++;
    }
  gnutls_free (prime.data);
  gnutls_free (generator.data);
  return n > 0 ? scm_from_uint (n) : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_session_dh_prime_bits, "set-session-dh-prime-bits!", 2, 0,
            0, (SCM session, SCM bits),
            "Make client @var{session} refuse a Diffie-Hellman prime of fewer\n"
            "than @var{bits} bits from the server (the handshake then fails\n"
            "with @code{error/dh-prime-unacceptable}), in place of the bound\n"
            "of its priorities' security level; 0 restores that bound.  A\n"
            "prime that is an RFC 7919 group the client offered is not\n"
            "checked.  It has no effect on a server.")
#define FUNC_NAME s_gn_set_session_dh_prime_bits
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (t->s == NULL)
    gn_wrong_type (FUNC_NAME, 1, session);
  if (!scm_is_exact_integer (bits))
    gn_wrong_type (FUNC_NAME, 2, bits);
  if (!scm_is_unsigned_integer (bits, 0, 65536))
    gn_out_of_range_msg (FUNC_NAME, 2, bits,
                         "a number of bits from 0 to 65536");
  gnutls_dh_set_prime_bits (t->s, scm_to_uint (bits));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_cred_dh_parameters,
            "set-certificate-credentials-dh-parameters!", 2, 0, 0,
            (SCM cred, SCM params),
            "Make servers using certificate credentials @var{cred} use\n"
            "Diffie-Hellman parameters @var{params} in DHE key exchanges.\n"
            "GnuTLS prefers an RFC 7919 group the client offered, then a\n"
            "group of the session's priorities at least as large, and sends\n"
            "this prime only when there is none.  The credentials keep a\n"
            "copy.")
#define FUNC_NAME s_gn_set_cred_dh_parameters
{
  gn_tls_cred *c = gn_to_tls_cred (cred, FUNC_NAME, 1);
  gn_tls_cred_check_mutable (cred, c, FUNC_NAME);
  gnutls_dh_params_t copy = gn_tls_dh_copy (params, &c->dh, FUNC_NAME, 2);
  gnutls_certificate_set_dh_params (c->cred, copy);
  scm_remember_upto_here_1 (cred);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

/* params/: guile-gnutls's kinds of server parameters.  Nothing takes or
   returns them any more (RSA-EXPORT is gone from GnuTLS): they are the
   symbols of their names, as other families no procedure returns.  */
static const char *const params_names[] = { "rsa-export", "dh" };

SCM_DEFINE (gn_params_to_string, "params->string", 1, 0, 0, (SCM params),
            "Return the name of the kind of parameters @var{params}, one of\n"
            "the @code{params/} values: @code{\"dh\"} or\n"
            "@code{\"rsa-export\"}.")
#define FUNC_NAME s_gn_params_to_string
{
  if (!scm_is_symbol (params))
    gn_wrong_type (FUNC_NAME, 1, params);
  for (size_t i = 0; i < sizeof params_names / sizeof params_names[0]; i++)
    if (scm_is_eq (params, scm_from_utf8_symbol (params_names[i])))
      return scm_from_utf8_string (params_names[i]);
  gn_out_of_range (FUNC_NAME, 1, params);
}
#undef FUNC_NAME

void
gn_init_tls_dh (void)
{
  dh_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("dh-parameters"),
                                  scm_list_1 (scm_from_utf8_symbol ("ptr")),
                                  finalize_dh);
  scm_permanent_object (dh_type);
  scm_c_define ("%dh-parameters-type", dh_type);
  scm_c_define ("params/rsa-export", scm_from_utf8_symbol ("rsa-export"));
  scm_c_define ("params/dh", scm_from_utf8_symbol ("dh"));
#ifndef SCM_MAGIC_SNARFER
#include "tls-dh.x"
#endif
}
