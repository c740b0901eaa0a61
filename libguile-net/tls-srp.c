/* tls-srp.c -- SRP credentials (RFC 5054, TLS 1.2 only): a client gives a
   user name and a password; a server checks it against a password file
   and its parameters file, as srptool writes them (tpasswd and
   tpasswd.conf), which GnuTLS reads at each handshake.  Neither side
   needs a certificate, and the server never sees the password.  Also the
   base64 variant SRP's files use.  The object is tls-kinds.c's.  */

#include "tls.h"

#include <stdlib.h>
#include <string.h>

SCM_DEFINE (gn_make_srp_client_credentials, "make-srp-client-credentials", 0,
            0, 0, (void),
            "Return new SRP credentials for a client session; give them a\n"
            "user name and a password with @code{set-srp-client-credentials!}.")
#define FUNC_NAME s_gn_make_srp_client_credentials
{
  return gn_tls_make_kcred (GN_KIND_SRP_CLIENT, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_srp_server_credentials, "make-srp-server-credentials", 0,
            0, 0, (void),
            "Return new SRP credentials for a server session; give them the\n"
            "password files with @code{set-srp-server-credentials-files!}.")
#define FUNC_NAME s_gn_make_srp_server_credentials
{
  return gn_tls_make_kcred (GN_KIND_SRP_SERVER, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_srp_client_credentials_p, "srp-client-credentials?", 1, 0, 0,
            (SCM obj),
            "Return @code{#t} if @var{obj} is SRP client credentials.")
#define FUNC_NAME s_gn_srp_client_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_SRP_CLIENT));
}
#undef FUNC_NAME

SCM_DEFINE (gn_srp_server_credentials_p, "srp-server-credentials?", 1, 0, 0,
            (SCM obj),
            "Return @code{#t} if @var{obj} is SRP server credentials.")
#define FUNC_NAME s_gn_srp_server_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_SRP_SERVER));
}
#undef FUNC_NAME

/* A password, wiped and freed when the dynwind context ends.  */
struct secret
{
  char *s;
  size_t len;
};

static void
free_secret (void *p)
{
  struct secret *pw = p;
  gnutls_memset (pw->s, 0, pw->len);
  free (pw->s);
}

SCM_DEFINE (gn_set_srp_client_credentials, "set-srp-client-credentials!", 3,
            0, 0, (SCM cred, SCM username, SCM password),
            "Make SRP client credentials @var{cred} log in as @var{username}\n"
            "with @var{password}, both strings.")
#define FUNC_NAME s_gn_set_srp_client_credentials
{
  gn_tls_kcred *c = gn_to_kcred (cred, GN_KIND_SRP_CLIENT, FUNC_NAME, 1);
  scm_dynwind_begin (0);
  char *user = gn_tls_user_name_arg (username, FUNC_NAME, 2);
  if (!scm_is_string (password))
    gn_wrong_type (FUNC_NAME, 3, password);
  size_t len;
  struct secret pw;
  pw.s = scm_to_utf8_stringn (password, &len);
  pw.len = len;
  scm_dynwind_unwind_handler (free_secret, &pw, SCM_F_WIND_EXPLICITLY);
  if (strlen (pw.s) != len)
    gn_out_of_range_msg (FUNC_NAME, 3, password,
                         "a password cannot hold NUL");
  int rc = gnutls_srp_set_client_credentials (c->cred, user, pw.s);
  scm_remember_upto_here_1 (cred);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  gn_tls_kcred_note (&c->user, user);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_srp_server_credentials_files,
            "set-srp-server-credentials-files!", 3, 0, 0,
            (SCM cred, SCM password_file, SCM password_conf_file),
            "Make SRP server credentials @var{cred} check users against\n"
            "@var{password-file} (user name, verifier, salt and parameters\n"
            "index per line) and the group parameters in\n"
            "@var{password-conf-file}, as @command{srptool} writes them.\n"
            "GnuTLS reads them at each handshake.  A file that cannot be read\n"
            "now raises a @code{&tls-file-error}.")
#define FUNC_NAME s_gn_set_srp_server_credentials_files
{
  gn_tls_kcred *c = gn_to_kcred (cred, GN_KIND_SRP_SERVER, FUNC_NAME, 1);
  if (!scm_is_string (password_file))
    gn_wrong_type (FUNC_NAME, 2, password_file);
  if (!scm_is_string (password_conf_file))
    gn_wrong_type (FUNC_NAME, 3, password_conf_file);
  scm_dynwind_begin (0);
  char *f = scm_to_locale_string (password_file);
  scm_dynwind_free (f);
  char *conf = scm_to_locale_string (password_conf_file);
  scm_dynwind_free (conf);
  char *abs = gn_tls_readable_file (FUNC_NAME, password_file, f);
  scm_dynwind_free (abs);
  char *abs_conf = gn_tls_readable_file (FUNC_NAME, password_conf_file, conf);
  scm_dynwind_free (abs_conf);
  int rc = gnutls_srp_set_server_credentials_file (c->cred, abs, abs_conf);
  scm_remember_upto_here_1 (cred);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  gn_tls_kcred_note (&c->file, abs);
  gn_tls_kcred_note (&c->file2, abs_conf);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_server_session_srp_username, "server-session-srp-username", 1,
            0, 0, (SCM session),
            "Return the user name the client of server @var{session} logged\n"
            "in with by SRP, a string, or @code{#f} when there was none (no\n"
            "handshake yet, another key exchange, or a client session).")
#define FUNC_NAME s_gn_server_session_srp_username
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!t->is_server || t->s == NULL)
    return SCM_BOOL_F;
  const char *name = gnutls_srp_server_get_username (t->s);
  scm_remember_upto_here_1 (session);
  return name != NULL
    ? scm_from_stringn (name, strlen (name), "UTF-8",
                        SCM_FAILED_CONVERSION_QUESTION_MARK)
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_srp_base64_encode, "srp-base64-encode", 1, 0, 0, (SCM str),
            "Return string @var{str} (its UTF-8 bytes) encoded in the base64\n"
            "variant of SRP's password files, a string.  A bytevector is\n"
            "encoded as it is.")
#define FUNC_NAME s_gn_srp_base64_encode
{
  gnutls_datum_t in;
  scm_dynwind_begin (0);
  if (scm_is_string (str))
    {
      size_t len;
      char *s = scm_to_utf8_stringn (str, &len);
      scm_dynwind_free (s);
      in.data = (unsigned char *) s;
      in.size = (unsigned int) len;
    }
  else if (scm_is_bytevector (str))
    {
      in.data = (unsigned char *) SCM_BYTEVECTOR_CONTENTS (str);
      in.size = (unsigned int) SCM_BYTEVECTOR_LENGTH (str);
    }
  else
    gn_wrong_type (FUNC_NAME, 1, str);
  SCM result;
  if (in.size == 0)
    result = scm_from_utf8_string ("");
  else
    {
      gnutls_datum_t out = { NULL, 0 };
      int rc = gnutls_srp_base64_encode2 (&in, &out);
      if (rc < 0)
        gn_raise_tls_error (FUNC_NAME, rc, -1);
      result = scm_from_latin1_stringn ((const char *) out.data, out.size);
      gnutls_free (out.data);
    }
  scm_remember_upto_here_1 (str);
  scm_dynwind_end ();
  return result;
}
#undef FUNC_NAME

/* Whether the N bytes at P are UTF-8 (no overlong forms, surrogates or
   code points past U+10FFFF).  */
static int
is_utf8 (const unsigned char *p, size_t n)
{
  size_t i = 0;
  while (i < n)
    {
      unsigned char b = p[i];
      size_t more;
      unsigned int cp;
      if (b < 0x80)
        {
          i++;
          continue;
        }
      else if (b >= 0xc2 && b <= 0xdf)
        more = 1, cp = b & 0x1f;
      else if (b >= 0xe0 && b <= 0xef)
        more = 2, cp = b & 0x0f;
      else if (b >= 0xf0 && b <= 0xf4)
        more = 3, cp = b & 0x07;
      else
        return 0;
      if (n - i <= more)
        return 0;
      for (size_t j = 1; j <= more; j++)
        {
          if ((p[i + j] & 0xc0) != 0x80)
            return 0;
          cp = (cp << 6) | (p[i + j] & 0x3f);
        }
      if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
          || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
      i += more + 1;
    }
  return 1;
}

SCM_DEFINE (gn_srp_base64_decode, "srp-base64-decode", 1, 0, 0, (SCM str),
            "Return the string whose UTF-8 bytes @var{str}, in SRP's base64\n"
            "variant, encodes.  Text that is not SRP base64 raises a\n"
            "@code{&tls-error}; bytes that are not UTF-8 text raise\n"
            "@code{out-of-range}.")
#define FUNC_NAME s_gn_srp_base64_decode
{
  if (!scm_is_string (str))
    gn_wrong_type (FUNC_NAME, 1, str);
  scm_dynwind_begin (0);
  size_t len;
  char *s = scm_to_utf8_stringn (str, &len);
  scm_dynwind_free (s);
  SCM result;
  if (len == 0)
    result = scm_from_utf8_string ("");
  else
    {
      gnutls_datum_t in = { (unsigned char *) s, (unsigned int) len };
      gnutls_datum_t out = { NULL, 0 };
      int rc = gnutls_srp_base64_decode2 (&in, &out);
      if (rc < 0)
        gn_raise_tls_error_message
          (FUNC_NAME, rc,
           scm_simple_format (SCM_BOOL_F,
                              scm_from_utf8_string
                              ("~s is not in SRP's base64: ~a"),
                              scm_list_2 (str, scm_from_utf8_string
                                          (gnutls_strerror (rc)))));
      scm_dynwind_unwind_handler (gnutls_free, out.data,
                                  SCM_F_WIND_EXPLICITLY);
      if (!is_utf8 (out.data, out.size))
        gn_out_of_range_msg (FUNC_NAME, 1, str,
                             "it decodes to bytes that are not UTF-8 text");
      result = scm_from_utf8_stringn ((const char *) out.data, out.size);
    }
  scm_dynwind_end ();
  return result;
}
#undef FUNC_NAME

void
gn_init_tls_srp (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-srp.x"
#endif
}
