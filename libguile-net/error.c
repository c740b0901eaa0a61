/* error.c -- the one place where libguile-net raises errors.

   System call failures are Guile `system-error's carrying errno, exactly as
   Guile's own socket procedures raise them; bad arguments are Guile's
   `wrong-type-arg' and `out-of-range'.  Conditions of our own (timeouts,
   state errors, TLS errors) are made by the Scheme module (net error), so
   that they are ordinary Guile exceptions usable with `guard', `catch' and
   `with-exception-handler'; C asks that module to raise them.  Nothing
   else in libguile-net calls scm_misc_error: a call refused because of the
   state of its object is a &net-state-error (gn_raise_state_error).  */

#include "guile-net.h"

#include <errno.h>

void
gn_syserror (const char *subr)
{
  gn_syserror_errno (subr, errno);
}

static SCM
net_error_procedure (SCM *cache, const char *name)
{
  if (scm_is_false (*cache))
    *cache = scm_c_public_variable ("net error", name);
  return scm_variable_ref (*cache);
}

static SCM raise_system_error_var = SCM_BOOL_F;
static SCM raise_getaddrinfo_error_var = SCM_BOOL_F;

void
gn_syserror_errno (const char *subr, int err)
{
  switch (err)
    {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
      /* These have conditions of their own (see (net error)).  */
      scm_call_2 (net_error_procedure (&raise_system_error_var,
                                       "%raise-system-error"),
                  scm_from_utf8_string (subr), scm_from_int (err));
      abort ();
    default:
      errno = err;
      scm_syserror (subr);
    }
}

void
gn_raise_getaddrinfo_error (int code, SCM name)
{
  scm_call_2 (net_error_procedure (&raise_getaddrinfo_error_var,
                                   "%raise-getaddrinfo-error"),
              scm_from_int (code), name);
  abort ();
}

void
gn_out_of_range (const char *subr, int pos, SCM obj)
{
  scm_out_of_range_pos (subr, obj, scm_from_int (pos));
}

void
gn_wrong_type (const char *subr, int pos, SCM obj)
{
  scm_wrong_type_arg (subr, pos, obj);
}

/* Guile's own form: "Wrong type argument in position 1 (expecting open
   port): #<port ...>", with the position first among the format
   arguments, as gn_wrong_type has it.  */
void
gn_wrong_type_msg (const char *subr, int pos, SCM obj, const char *expected)
{
  scm_wrong_type_arg_msg (subr, pos, obj, expected);
}

/* Like scm_out_of_range_pos, with WHAT saying what is wrong with OBJ;
   POS 0 for a value that is not an argument (e.g. a family the kernel
   returned).  The position stays the first format argument.  */
void
gn_out_of_range_msg (const char *subr, int pos, SCM obj, const char *what)
{
  if (pos > 0)
    scm_error (scm_out_of_range_key, subr,
               "Argument ~A out of range (~A): ~S",
               scm_list_3 (scm_from_int (pos), scm_from_utf8_string (what),
                           obj),
               scm_list_1 (obj));
  scm_error (scm_out_of_range_key, subr, "Value out of range (~A): ~S",
             scm_list_2 (scm_from_utf8_string (what), obj),
             scm_list_1 (obj));
}

int
gn_is_a (SCM obj, SCM type)
{
  return SCM_STRUCTP (obj) && scm_is_eq (SCM_STRUCT_VTABLE (obj), type);
}

void *
gn_foreign_data (SCM obj, SCM type, const char *subr, int pos)
{
  if (!gn_is_a (obj, type))
    gn_wrong_type (subr, pos, obj);
  return scm_foreign_object_ref (obj, 0);
}

void
gn_bytevector_span (SCM bv, int pos, SCM start, int start_pos, SCM limit,
                    int limit_pos, int is_count, const char *subr,
                    char **buf, size_t *len)
{
  /* The macro, not scm_is_bytevector: every send and receive comes here.  */
  if (!SCM_BYTEVECTOR_P (bv))
    gn_wrong_type (subr, pos, bv);
  size_t size = SCM_BYTEVECTOR_LENGTH (bv);
  size_t from = 0, to = size;
  if (!SCM_UNBNDP (start))
    {
      if (!scm_is_exact_integer (start))
        gn_wrong_type (subr, start_pos, start);
      if (!scm_is_unsigned_integer (start, 0, size))
        gn_out_of_range (subr, start_pos, start);
      from = scm_to_size_t (start);
    }
  if (!SCM_UNBNDP (limit))
    {
      if (!scm_is_exact_integer (limit))
        gn_wrong_type (subr, limit_pos, limit);
      if (!(is_count ? scm_is_unsigned_integer (limit, 0, size - from)
            : scm_is_unsigned_integer (limit, from, size)))
        gn_out_of_range (subr, limit_pos, limit);
      to = is_count ? from + scm_to_size_t (limit) : scm_to_size_t (limit);
    }
  *buf = (char *) SCM_BYTEVECTOR_CONTENTS (bv) + from;
  *len = to - from;
}

int
gn_to_int (SCM x, const char *subr, int pos)
{
  if (!scm_is_exact_integer (x))
    gn_wrong_type (subr, pos, x);
  if (!scm_is_signed_integer (x, INT_MIN, INT_MAX))
    gn_out_of_range (subr, pos, x);
  return scm_to_int (x);
}

static SCM raise_timeout_var = SCM_BOOL_F;

void
gn_raise_timeout (const char *subr, const char *operation, SCM object)
{
  scm_call_3 (net_error_procedure (&raise_timeout_var, "%raise-timeout"),
              scm_from_utf8_symbol (subr), scm_from_utf8_symbol (operation),
              object);
  abort ();   /* not reached: %raise-timeout does not return */
}

static SCM raise_state_error_var = SCM_BOOL_F;

void
gn_raise_state_error (const char *subr, const char *message, SCM object)
{
  scm_call_3 (net_error_procedure (&raise_state_error_var,
                                   "%raise-state-error"),
              scm_from_utf8_symbol (subr), scm_from_utf8_string (message),
              object);
  abort ();   /* not reached: %raise-state-error does not return */
}

void
gn_init_error (void)
{
}

/* ---- TLS (for (net tls)) ---------------------------------------------
   TLS failures are conditions made by (net error): a &tls-error carrying
   the GnuTLS code, its name, message and alert, combined with the throw
   kind `gnutls-error' and arguments (CODE SUBR MESSAGE) so code written for
   guile-gnutls's `(catch 'gnutls-error ...)' keeps catching them.  */

#include <string.h>
#include "tls.h"

static SCM raise_tls_error_var = SCM_BOOL_F;
static SCM raise_tls_verification_var = SCM_BOOL_F;

/* GNUTLS_A_UNKNOWN_CA -> unknown-ca: alerts as Scheme-style symbols, the
   alert-description/ values (tls-names.c).  */
SCM gn_tls_alert_symbol (int alert);

SCM
gn_tls_alert_symbol (int alert)
{
  return alert < 0 ? SCM_BOOL_F
    : gn_name_from_value (GN_ALERT_DESCRIPTION, alert);
}

static SCM raise_too_large_var = SCM_BOOL_F;

void
gn_raise_dtls_message_too_large (const char *subr, size_t size, size_t limit,
                                 SCM session)
{
  if (scm_is_false (raise_too_large_var))
    raise_too_large_var =
      scm_c_public_variable ("net error", "%raise-dtls-message-too-large");
  scm_call_4 (scm_variable_ref (raise_too_large_var),
              scm_from_utf8_string (subr), scm_from_size_t (size),
              scm_from_size_t (limit), session);
  abort ();   /* not reached */
}

SCM_NORETURN void gn_raise_tls_error_alert_message (const char *subr,
                                                    int code, int alert,
                                                    SCM message);

void
gn_raise_tls_error (const char *subr, int code, int alert)
{
  const char *message = gnutls_strerror (code);
  gn_raise_tls_error_alert_message (subr, code, alert,
                                    scm_from_utf8_string (message ? message
                                                          : "?"));
}

void
gn_raise_tls_error_message (const char *subr, int code, SCM message)
{
  gn_raise_tls_error_alert_message (subr, code, -1, message);
}

void
gn_raise_tls_error_alert_message (const char *subr, int code, int alert,
                                  SCM message)
{
  gn_tls_log_deliver ();   /* what GnuTLS said about it, first */
  if (scm_is_false (raise_tls_error_var))
    raise_tls_error_var = scm_c_public_variable ("net error",
                                                 "%raise-tls-error");
  const char *name = gnutls_strerror_name (code);
  SCM args = scm_list_n (scm_from_utf8_symbol (subr), scm_from_int (code),
                         name ? scm_from_utf8_symbol (name) : SCM_BOOL_F,
                         message, gn_tls_alert_symbol (alert),
                         scm_from_bool (gnutls_error_is_fatal (code)),
                         SCM_UNDEFINED);
  scm_apply_0 (scm_variable_ref (raise_tls_error_var), args);
  abort ();   /* not reached */
}

static SCM raise_tls_file_error_var = SCM_BOOL_F;

void
gn_raise_tls_file_error (const char *subr, SCM file, int err)
{
  int code = GNUTLS_E_FILE_ERROR;
  scm_call_5 (net_error_procedure (&raise_tls_file_error_var,
                                   "%raise-tls-file-error"),
              scm_from_utf8_symbol (subr), scm_from_int (code),
              scm_from_utf8_symbol (gnutls_strerror_name (code)), file,
              scm_from_int (err));
  abort ();   /* not reached */
}

static SCM raise_tls_priority_var = SCM_BOOL_F;

void
gn_raise_tls_priority_error (const char *subr, SCM priorities,
                             const char *utf8, const char *where)
{
  /* WHERE points into UTF8, the UTF-8 copy of PRIORITIES GnuTLS parsed:
     count the characters before it.  */
  size_t position = 0;
  if (where != NULL && where >= utf8)
    position = scm_c_string_length (scm_from_utf8_stringn (utf8,
                                                           where - utf8));
  int code = GNUTLS_E_INVALID_REQUEST;
  scm_call_5 (net_error_procedure (&raise_tls_priority_var,
                                   "%raise-tls-priority-error"),
              scm_from_utf8_symbol (subr), scm_from_int (code),
              scm_from_utf8_symbol (gnutls_strerror_name (code)),
              priorities, scm_from_size_t (position));
  abort ();   /* not reached */
}

void
gn_tls_check (int rc, const char *subr)
{
  if (rc < 0)
    gn_raise_tls_error (subr, rc, -1);
}

void
gn_raise_tls_verification_error (const char *subr, unsigned status,
                                 const char *host)
{
  if (scm_is_false (raise_tls_verification_var))
    raise_tls_verification_var =
      scm_c_public_variable ("net error", "%raise-tls-verification-error");
  SCM reasons, words;
  /* GNUTLS_CERT_INVALID alone, or no certificate at all: `invalid'.  */
  gn_tls_status_lists (status | GNUTLS_CERT_INVALID, &reasons, &words);
  int code = GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  SCM args = scm_list_n (scm_from_utf8_symbol (subr), scm_from_int (code),
                         scm_from_utf8_symbol (gnutls_strerror_name (code)),
                         scm_from_utf8_string (gnutls_strerror (code)),
                         reasons, words,
                         host ? scm_from_utf8_string (host) : SCM_BOOL_F,
                         scm_from_uint (status), SCM_UNDEFINED);
  scm_apply_0 (scm_variable_ref (raise_tls_verification_var), args);
  abort ();   /* not reached */
}
