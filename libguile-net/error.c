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
  scm_syserror (subr);
}

void
gn_syserror_errno (const char *subr, int err)
{
  errno = err;
  scm_syserror (subr);
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
  if (scm_is_false (raise_timeout_var))
    raise_timeout_var = scm_c_public_variable ("net error", "%raise-timeout");
  scm_call_3 (scm_variable_ref (raise_timeout_var),
              scm_from_utf8_symbol (subr), scm_from_utf8_symbol (operation),
              object);
  abort ();   /* not reached: %raise-timeout does not return */
}

void
gn_init_error (void)
{
}
