/* tls-kinds.c -- what anonymous, PSK and SRP credentials share: one
   object for all six (client and server of each kind), how a session
   holds them, and how they print.  Each kind's own procedures are in
   tls-anon.c, tls-psk.c and tls-srp.c.

   As with certificate credentials (tls-credentials.c), the object points
   to a malloc'd gn_tls_kcred counted by the Scheme object and by every
   session given it, since Guile runs finalizers in no particular order:
   GnuTLS's credentials are freed by whichever runs last.

   GnuTLS takes the credentials of a kind as a void pointer and reads
   them as the client or the server structure by the session's side, so
   a session is given only the credentials of its own side.  */

#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

pthread_mutex_t gn_tls_kind_lock = PTHREAD_MUTEX_INITIALIZER;

struct gn_kcred_link
{
  gn_tls_kcred *cred;
  struct gn_kcred_link *next;
};

/* GnuTLS's allocation and release of each kind, typed alike.  */
static int anon_client_new (void **p)
{ return gnutls_anon_allocate_client_credentials
    ((gnutls_anon_client_credentials_t *) p); }
static int anon_server_new (void **p)
{ return gnutls_anon_allocate_server_credentials
    ((gnutls_anon_server_credentials_t *) p); }
static int psk_client_new (void **p)
{ return gnutls_psk_allocate_client_credentials
    ((gnutls_psk_client_credentials_t *) p); }
static int psk_server_new (void **p)
{ return gnutls_psk_allocate_server_credentials
    ((gnutls_psk_server_credentials_t *) p); }
static int srp_client_new (void **p)
{ return gnutls_srp_allocate_client_credentials
    ((gnutls_srp_client_credentials_t *) p); }
static int srp_server_new (void **p)
{ return gnutls_srp_allocate_server_credentials
    ((gnutls_srp_server_credentials_t *) p); }
static void anon_client_free (void *p)
{ gnutls_anon_free_client_credentials (p); }
static void anon_server_free (void *p)
{ gnutls_anon_free_server_credentials (p); }
static void psk_client_free (void *p)
{ gnutls_psk_free_client_credentials (p); }
static void psk_server_free (void *p)
{ gnutls_psk_free_server_credentials (p); }
static void srp_client_free (void *p)
{ gnutls_srp_free_client_credentials (p); }
static void srp_server_free (void *p)
{ gnutls_srp_free_server_credentials (p); }

static const struct
{
  const char *name;             /* the Scheme type's name */
  const char *kind_name;        /* for the wrong-side message */
  gnutls_credentials_type_t type;
  int server;
  unsigned int bit;             /* GN_KINDS_ */
  int (*make) (void **);
  void (*release) (void *);
} kinds[GN_KIND_COUNT] = {
  [GN_KIND_ANON_CLIENT] = { "anonymous-client-credentials", "anonymous",
                            GNUTLS_CRD_ANON, 0, GN_KINDS_ANON,
                            anon_client_new, anon_client_free },
  [GN_KIND_ANON_SERVER] = { "anonymous-server-credentials", "anonymous",
                            GNUTLS_CRD_ANON, 1, GN_KINDS_ANON,
                            anon_server_new, anon_server_free },
  [GN_KIND_PSK_CLIENT] = { "psk-client-credentials", "PSK",
                           GNUTLS_CRD_PSK, 0, GN_KINDS_PSK,
                           psk_client_new, psk_client_free },
  [GN_KIND_PSK_SERVER] = { "psk-server-credentials", "PSK",
                           GNUTLS_CRD_PSK, 1, GN_KINDS_PSK,
                           psk_server_new, psk_server_free },
  [GN_KIND_SRP_CLIENT] = { "srp-client-credentials", "SRP",
                           GNUTLS_CRD_SRP, 0, GN_KINDS_SRP,
                           srp_client_new, srp_client_free },
  [GN_KIND_SRP_SERVER] = { "srp-server-credentials", "SRP",
                           GNUTLS_CRD_SRP, 1, GN_KINDS_SRP,
                           srp_server_new, srp_server_free },
};

static SCM kind_types[GN_KIND_COUNT];

static void
kcred_ref (gn_tls_kcred *c)
{
  __atomic_add_fetch (&c->refs, 1, __ATOMIC_SEQ_CST);
}

static void
kcred_unref (gn_tls_kcred *c)
{
  if (__atomic_sub_fetch (&c->refs, 1, __ATOMIC_SEQ_CST) != 0)
    return;
  kinds[c->kind].release (c->cred);
  gn_tls_dh_free_copies (c->dh);
  free (c->user);
  free (c->file);
  free (c->file2);
  free (c);
}

static void
finalize_kcred (SCM obj)
{
  gn_tls_kcred *c = scm_foreign_object_ref (obj, 0);
  if (c != NULL)
    kcred_unref (c);
}

SCM
gn_tls_make_kcred (gn_tls_kind kind, const char *subr)
{
  gn_tls_kcred *c = calloc (1, sizeof *c);
  if (c == NULL)
    gn_syserror_errno (subr, ENOMEM);
  int rc = kinds[kind].make (&c->cred);
  if (rc < 0)
    {
      free (c);
      gn_raise_tls_error (subr, rc, -1);
    }
  c->kind = kind;
  c->refs = 1;
  return scm_make_foreign_object_1 (kind_types[kind], c);
}

int
gn_tls_is_kcred (SCM obj, gn_tls_kind kind)
{
  return gn_is_a (obj, kind_types[kind]);
}

gn_tls_kcred *
gn_to_kcred (SCM obj, gn_tls_kind kind, const char *subr, int pos)
{
  return gn_foreign_data (obj, kind_types[kind], subr, pos);
}

/* The kind of OBJ, or -1 when it is none of these.  */
static int
kind_of (SCM obj)
{
  for (int k = 0; k < GN_KIND_COUNT; k++)
    if (gn_is_a (obj, kind_types[k]))
      return k;
  return -1;
}

void
gn_tls_kcred_note (char **field, const char *value)
{
  char *copy = value != NULL ? strdup (value) : NULL;
  pthread_mutex_lock (&gn_tls_kind_lock);
  char *old = *field;
  *field = copy;
  pthread_mutex_unlock (&gn_tls_kind_lock);
  free (old);
}

char *
gn_tls_readable_file (const char *subr, SCM name, const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    gn_raise_tls_file_error (subr, name, errno);
  struct stat st;
  int dir = fstat (fd, &st) == 0 && S_ISDIR (st.st_mode);
  close (fd);
  if (dir)
    gn_raise_tls_file_error (subr, name, EISDIR);
  char *abs = realpath (path, NULL);
  if (abs == NULL)
    gn_raise_tls_file_error (subr, name, errno);
  return abs;
}

/* A user name argument: a string without NUL, as UTF-8, freed at the end
   of the current dynwind context.  */
char *
gn_tls_user_name_arg (SCM name, const char *subr, int pos)
{
  if (!scm_is_string (name))
    gn_wrong_type (subr, pos, name);
  size_t len;
  char *s = scm_to_utf8_stringn (name, &len);
  scm_dynwind_free (s);
  if (strlen (s) != len)
    gn_out_of_range_msg (subr, pos, name, "a user name cannot hold NUL");
  return s;
}

int
gn_tls_attach_kind_credentials (gn_tls_session *t, SCM obj,
                                const char *subr, int pos)
{
  int k = kind_of (obj);
  if (k < 0)
    return 0;
  if (kinds[k].server != t->is_server)
    {
      char expected[96];
      snprintf (expected, sizeof expected, "%s %s credentials for a %s "
                "session", kinds[k].kind_name,
                t->is_server ? "server" : "client",
                t->is_server ? "server" : "client");
      gn_wrong_type_msg (subr, pos, obj, expected);
    }
  gn_tls_kcred *c = scm_foreign_object_ref (obj, 0);
  struct gn_kcred_link *l = malloc (sizeof *l);
  if (l == NULL)
    gn_syserror_errno (subr, ENOMEM);
  int rc = gnutls_credentials_set (t->s, kinds[k].type, c->cred);
  if (rc < 0)
    {
      free (l);
      gn_raise_tls_error (subr, rc, -1);
    }
  kcred_ref (c);
  l->cred = c;
  l->next = t->kcreds;
  t->kcreds = l;
  t->kind_credentials = obj;
  unsigned int before = t->kinds;
  t->kinds |= kinds[k].bit;
  if (t->kinds != before && !t->own_priorities)
    gn_tls_set_default_priority (t, subr);
  return 1;
}

void
gn_tls_detach_kind_credentials (gn_tls_session *t)
{
  for (struct gn_kcred_link *l = t->kcreds; l != NULL;)
    {
      struct gn_kcred_link *next = l->next;
      kcred_unref (l->cred);
      free (l);
      l = next;
    }
  t->kcreds = NULL;
}

/* ---- why a PSK or SRP handshake failed -------------------------------- */

/* The user name T's client credentials of KIND give, or NULL; a copy.  */
static char *
client_user (gn_tls_session *t, gn_tls_kind kind)
{
  for (struct gn_kcred_link *l = t->kcreds; l != NULL; l = l->next)
    if (l->cred->kind == kind)
      {
        pthread_mutex_lock (&gn_tls_kind_lock);
        char *u = l->cred->user != NULL ? strdup (l->cred->user) : NULL;
        pthread_mutex_unlock (&gn_tls_kind_lock);
        return u;
      }
  return NULL;
}

/* " for user \"NAME\"", or "" when NAME is NULL.  */
static SCM
for_user (const char *name)
{
  return name != NULL
    ? scm_simple_format (SCM_BOOL_F, scm_from_utf8_string (" of user ~s"),
                         scm_list_1 (scm_from_stringn
                                     (name, strlen (name), "UTF-8",
                                      SCM_FAILED_CONVERSION_QUESTION_MARK)))
    : scm_from_utf8_string ("");
}

void
gn_tls_kind_failure (gn_tls_session *t, int code, int alert,
                     const char *subr)
{
  int psk = (t->kinds & GN_KINDS_PSK) != 0;
  int srp = (t->kinds & GN_KINDS_SRP) != 0;
  if (psk && srp)
    {
      gnutls_credentials_type_t auth = gnutls_auth_get_type (t->s);
      psk = auth == GNUTLS_CRD_PSK;
      srp = auth == GNUTLS_CRD_SRP;
    }
  if (!psk && !srp)
    return;
  const char *text;
  char *user = NULL;
  if (!t->is_server)
    {
      /* What a GnuTLS server sends: TLS 1.3, a PSK binder that does not
         match (illegal_parameter); TLS 1.2, a Finished message it cannot
         decrypt (bad_record_mac).  With PSK it does not tell a wrong key
         from an unknown user.  */
      if (code != GNUTLS_E_FATAL_ALERT_RECEIVED
          || (alert != GNUTLS_A_BAD_RECORD_MAC
              && alert != GNUTLS_A_DECRYPT_ERROR
              && alert != GNUTLS_A_UNKNOWN_PSK_IDENTITY
              && !(psk && alert == GNUTLS_A_ILLEGAL_PARAMETER)))
        return;
      user = client_user (t, psk ? GN_KIND_PSK_CLIENT : GN_KIND_SRP_CLIENT);
      text = psk
        ? "the server refused the PSK key~a: it holds another key for the "
          "user, or does not know the user"
        : "the server refused the SRP password~a: the password is wrong, "
          "or the server does not know the user";
    }
  else
    {
      const char *u = psk ? gnutls_psk_server_get_username (t->s)
        : gnutls_srp_server_get_username (t->s);
      user = u != NULL ? strdup (u) : NULL;
      if (psk && (code == GNUTLS_E_DECRYPTION_FAILED
                  || code == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER))
        text = "the client's PSK key~a does not match the password file, "
          "or the user is not in it";
      else if (srp && code == GNUTLS_E_DECRYPTION_FAILED)
        text = "the client's SRP password~a is wrong";
      else if (srp && code == GNUTLS_E_SRP_PWD_ERROR)
        text = "cannot check the SRP password~a: the user is not in the "
          "password file, or the password files cannot be read";
      else
        return;
    }
  SCM who = for_user (user);
  free (user);
  SCM message = scm_simple_format
    (SCM_BOOL_F, scm_from_utf8_string (text), scm_list_1 (who));
  if (t->is_server)
    message = scm_simple_format
      (SCM_BOOL_F, scm_from_utf8_string ("~a (GnuTLS: ~a)"),
       scm_list_2 (message, scm_from_utf8_string (gnutls_strerror (code))));
  gn_raise_tls_error_alert_message (subr, code, alert, message);
}

SCM_DEFINE (gn_credentials_kind_summary, "%credentials-kind-summary", 1, 0,
            0, (SCM cred),
            "Internal, for printing: an alist of what anonymous, PSK or SRP\n"
            "credentials @var{cred} hold: @code{type} (its type's name, a\n"
            "symbol), @code{user} (a client's user name or @code{#f}),\n"
            "@code{files} (the files a server reads) and @code{dh?}.  Never\n"
            "a key or a password.")
#define FUNC_NAME s_gn_credentials_kind_summary
{
  int k = kind_of (cred);
  if (k < 0)
    gn_wrong_type (FUNC_NAME, 1, cred);
  gn_tls_kcred *c = scm_foreign_object_ref (cred, 0);
  char *user = NULL, *file = NULL, *file2 = NULL;
  pthread_mutex_lock (&gn_tls_kind_lock);
  if (c->user != NULL)
    user = strdup (c->user);
  if (c->file != NULL)
    file = strdup (c->file);
  if (c->file2 != NULL)
    file2 = strdup (c->file2);
  int dh = c->has_dh;
  pthread_mutex_unlock (&gn_tls_kind_lock);
  SCM files = SCM_EOL;
  if (file2 != NULL)
    files = scm_cons (scm_from_locale_string (file2), files);
  if (file != NULL)
    files = scm_cons (scm_from_locale_string (file), files);
  SCM u = user != NULL ? scm_from_utf8_string (user) : SCM_BOOL_F;
  free (user);
  free (file);
  free (file2);
  scm_remember_upto_here_1 (cred);
  return scm_list_4
    (scm_cons (scm_from_utf8_symbol ("type"),
               scm_from_utf8_symbol (kinds[k].name)),
     scm_cons (scm_from_utf8_symbol ("user"), u),
     scm_cons (scm_from_utf8_symbol ("files"), files),
     scm_cons (scm_from_utf8_symbol ("dh?"), scm_from_bool (dh)));
}
#undef FUNC_NAME

void
gn_init_tls_kinds (void)
{
  SCM types = SCM_EOL;
  for (int k = GN_KIND_COUNT - 1; k >= 0; k--)
    {
      kind_types[k] =
        scm_make_foreign_object_type (scm_from_utf8_symbol (kinds[k].name),
                                      scm_list_1 (scm_from_utf8_symbol
                                                  ("ptr")),
                                      finalize_kcred);
      scm_permanent_object (kind_types[k]);
      types = scm_cons (kind_types[k], types);
    }
  /* For (net tls)'s printer (GOOPS methods on these classes).  */
  scm_c_define ("%credentials-kind-types", types);
#ifndef SCM_MAGIC_SNARFER
#include "tls-kinds.x"
#endif
}
