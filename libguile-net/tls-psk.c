/* tls-psk.c -- pre-shared key credentials: a client gives a user name and
   a key; a server looks the name up in a password file (psktool's format,
   one "user:hex-key" line per user) that GnuTLS reads at each handshake.
   PSK works in TLS 1.2 (ECDHE-PSK, DHE-PSK, PSK) and in TLS 1.3 (with or
   without an ephemeral key exchange).  The object is tls-kinds.c's.  */

#include "tls.h"

#include <stdlib.h>
#include <string.h>

SCM_DEFINE (gn_make_psk_client_credentials, "make-psk-client-credentials", 0,
            0, 0, (void),
            "Return new PSK credentials for a client session; give them a\n"
            "user name and a key with @code{set-psk-client-credentials!}.")
#define FUNC_NAME s_gn_make_psk_client_credentials
{
  return gn_tls_make_kcred (GN_KIND_PSK_CLIENT, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_psk_server_credentials, "make-psk-server-credentials", 0,
            0, 0, (void),
            "Return new PSK credentials for a server session; give them the\n"
            "users' keys with @code{set-psk-server-credentials-file!}.")
#define FUNC_NAME s_gn_make_psk_server_credentials
{
  return gn_tls_make_kcred (GN_KIND_PSK_SERVER, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_psk_client_credentials_p, "psk-client-credentials?", 1, 0, 0,
            (SCM obj),
            "Return @code{#t} if @var{obj} is PSK client credentials.")
#define FUNC_NAME s_gn_psk_client_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_PSK_CLIENT));
}
#undef FUNC_NAME

SCM_DEFINE (gn_psk_server_credentials_p, "psk-server-credentials?", 1, 0, 0,
            (SCM obj),
            "Return @code{#t} if @var{obj} is PSK server credentials.")
#define FUNC_NAME s_gn_psk_server_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_PSK_SERVER));
}
#undef FUNC_NAME

static int
is_hex_text (const unsigned char *p, size_t n)
{
  if (n == 0 || n % 2 != 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')
          || (p[i] >= 'A' && p[i] <= 'F')))
      return 0;
  return 1;
}

SCM_DEFINE (gn_set_psk_client_credentials, "set-psk-client-credentials!", 4,
            0, 0, (SCM cred, SCM username, SCM key, SCM format),
            "Make PSK client credentials @var{cred} present the user name\n"
            "@var{username} (a string) with the key in bytevector @var{key}:\n"
            "its bytes as they are with @code{psk-key-format/raw}, or, with\n"
            "@code{psk-key-format/hex}, the ASCII hexadecimal digits of the\n"
            "key (as in psktool's password files).  An empty key or, in hex,\n"
            "anything but an even number of hexadecimal digits raises a\n"
            "@code{&tls-error} that says so.")
#define FUNC_NAME s_gn_set_psk_client_credentials
{
  gn_tls_kcred *c = gn_to_kcred (cred, GN_KIND_PSK_CLIENT, FUNC_NAME, 1);
  scm_dynwind_begin (0);
  char *user = gn_tls_user_name_arg (username, FUNC_NAME, 2);
  if (!scm_is_bytevector (key))
    gn_wrong_type (FUNC_NAME, 3, key);
  if (!scm_is_exact_integer (format))
    gn_wrong_type (FUNC_NAME, 4, format);
  int f = scm_to_int (format);
  if (f != GNUTLS_PSK_KEY_RAW && f != GNUTLS_PSK_KEY_HEX)
    gn_out_of_range (FUNC_NAME, 4, format);
  gnutls_datum_t k = { (unsigned char *) SCM_BYTEVECTOR_CONTENTS (key),
                       (unsigned int) SCM_BYTEVECTOR_LENGTH (key) };
  if (k.size == 0)
    gn_raise_tls_error_message (FUNC_NAME, GNUTLS_E_INVALID_REQUEST,
                                scm_from_utf8_string
                                ("the PSK key is empty"));
  if (f == GNUTLS_PSK_KEY_HEX && !is_hex_text (k.data, k.size))
    gn_raise_tls_error_message
      (FUNC_NAME, GNUTLS_E_PARSING_ERROR,
       scm_from_utf8_string ("the PSK key is not hexadecimal text: with "
                             "psk-key-format/hex the bytevector holds an "
                             "even number of ASCII hexadecimal digits; "
                             "give the key's own bytes with "
                             "psk-key-format/raw"));
  int rc = gnutls_psk_set_client_credentials (c->cred, user, &k,
                                              (gnutls_psk_key_flags) f);
  scm_remember_upto_here_2 (cred, key);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  gn_tls_kcred_note (&c->user, user);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_psk_server_credentials_file,
            "set-psk-server-credentials-file!", 2, 0, 0, (SCM cred, SCM file),
            "Make PSK server credentials @var{cred} look users' keys up in\n"
            "password file @var{file}: one @samp{user:key} line per user, the\n"
            "key in hexadecimal, as @command{psktool} writes it.  GnuTLS reads\n"
            "the file at each handshake, so it can change while servers run.\n"
            "A file that cannot be read now raises a @code{&tls-file-error}.")
#define FUNC_NAME s_gn_set_psk_server_credentials_file
{
  gn_tls_kcred *c = gn_to_kcred (cred, GN_KIND_PSK_SERVER, FUNC_NAME, 1);
  if (!scm_is_string (file))
    gn_wrong_type (FUNC_NAME, 2, file);
  scm_dynwind_begin (0);
  char *f = scm_to_locale_string (file);
  scm_dynwind_free (f);
  char *abs = gn_tls_readable_file (FUNC_NAME, file, f);
  scm_dynwind_free (abs);
  int rc = gnutls_psk_set_server_credentials_file (c->cred, abs);
  scm_remember_upto_here_1 (cred);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  gn_tls_kcred_note (&c->file, abs);
  scm_dynwind_end ();
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_server_session_psk_username, "server-session-psk-username", 1,
            0, 0, (SCM session),
            "Return the user name the client of server @var{session} gave\n"
            "in a PSK key exchange, a string, or @code{#f} when there was\n"
            "none (no handshake yet, another key exchange, or a client\n"
            "session).")
#define FUNC_NAME s_gn_server_session_psk_username
{
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 1);
  if (!t->is_server || t->s == NULL)
    return SCM_BOOL_F;
  const char *name = gnutls_psk_server_get_username (t->s);
  scm_remember_upto_here_1 (session);
  return name != NULL
    ? scm_from_stringn (name, strlen (name), "UTF-8",
                        SCM_FAILED_CONVERSION_QUESTION_MARK)
    : SCM_BOOL_F;
}
#undef FUNC_NAME

SCM_DEFINE (gn_psk_key_format_to_string, "psk-key-format->string", 1, 0, 0,
            (SCM format),
            "Return the name of PSK key format @var{format}: @code{\"raw\"}\n"
            "for @code{psk-key-format/raw}, @code{\"hex\"} for\n"
            "@code{psk-key-format/hex}.")
#define FUNC_NAME s_gn_psk_key_format_to_string
{
  if (!scm_is_exact_integer (format))
    gn_wrong_type (FUNC_NAME, 1, format);
  if (scm_is_eq (format, scm_from_int (GNUTLS_PSK_KEY_RAW)))
    return scm_from_utf8_string ("raw");
  if (scm_is_eq (format, scm_from_int (GNUTLS_PSK_KEY_HEX)))
    return scm_from_utf8_string ("hex");
  gn_out_of_range (FUNC_NAME, 1, format);
}
#undef FUNC_NAME

void
gn_init_tls_psk (void)
{
  scm_c_define ("psk-key-format/raw", scm_from_int (GNUTLS_PSK_KEY_RAW));
  scm_c_define ("psk-key-format/hex", scm_from_int (GNUTLS_PSK_KEY_HEX));
#ifndef SCM_MAGIC_SNARFER
#include "tls-psk.x"
#endif
}
