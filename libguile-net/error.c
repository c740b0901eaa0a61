/* error.c -- the one place where libguile-net raises errors.

   System call failures are Guile `system-error's carrying errno, exactly as
   Guile's own socket procedures raise them.  Conditions of our own (timeouts
   now, TLS errors later) are made by the Scheme module (net error), so that
   they are ordinary Guile exceptions usable with `guard', `catch' and
   `with-exception-handler'; C asks that module to raise them.  */

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

static SCM raise_timeout_var = SCM_BOOL_F;

void
gn_raise_timeout (const char *subr, const char *operation, SCM object)
{
  scm_call_3 (net_error_procedure (&raise_timeout_var, "%raise-timeout"),
              scm_from_utf8_symbol (subr), scm_from_utf8_symbol (operation),
              object);
  abort ();   /* not reached: %raise-timeout does not return */
}

void
gn_init_error (void)
{
}
