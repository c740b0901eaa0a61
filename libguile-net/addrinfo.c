/* addrinfo.c -- name resolution with getaddrinfo.

   Results and errors are those of Guile's built-in `getaddrinfo': a list of
   vectors #(FLAGS FAMILY SOCKTYPE PROTOCOL ADDRESS CANONNAME) and a
   `getaddrinfo-error' exception carrying an EAI_ code.  The lookup runs
   outside Guile mode, so a slow resolver holds up no other thread.  */

#include "guile-net.h"

#include <netdb.h>
#include <string.h>

struct gai_args
{
  char *node;
  char *service;
  struct addrinfo hints;
  struct addrinfo *result;
  int rv;
};

static void *
do_getaddrinfo (void *data)
{
  struct gai_args *a = data;
  a->rv = getaddrinfo (a->node, a->service, &a->hints, &a->result);
  return NULL;
}

static int
optional_int (SCM x, int dflt, const char *subr, int pos)
{
  return SCM_UNBNDP (x) ? dflt : gn_to_int (x, subr, pos);
}

static char *
optional_string (SCM x, const char *subr, int pos)
{
  if (SCM_UNBNDP (x) || scm_is_false (x))
    return NULL;
  if (!scm_is_string (x))
    gn_wrong_type (subr, pos, x);
  return scm_to_locale_string (x);
}

static void
free_args (void *data)
{
  struct gai_args *a = data;
  free (a->node);
  free (a->service);
  if (a->result)
    freeaddrinfo (a->result);
}

SCM_DEFINE (gn_getaddrinfo, "getaddrinfo", 1, 5, 0,
            (SCM name, SCM service, SCM hint_flags, SCM hint_family,
             SCM hint_socktype, SCM hint_protocol),
            "Look up host @var{name} and/or @var{service} (strings, or\n"
            "@code{#f}) and return a list of address information objects, to\n"
            "be read with @code{addrinfo:flags}, @code{addrinfo:fam},\n"
            "@code{addrinfo:socktype}, @code{addrinfo:protocol},\n"
            "@code{addrinfo:addr} and @code{addrinfo:canonname}.  The hints\n"
            "restrict the search: @var{hint_flags} is a @code{logior} of\n"
            "@code{AI_} flags, @var{hint_family} an @code{AF_} family,\n"
            "@var{hint_socktype} a @code{SOCK_} style and\n"
            "@var{hint_protocol} a protocol number.  On failure raise\n"
            "@code{getaddrinfo-error} with an @code{EAI_} code, which\n"
            "@code{gai-strerror} describes.")
#define FUNC_NAME s_gn_getaddrinfo
{
  struct gai_args a;
  memset (&a, 0, sizeof a);
  a.hints.ai_flags = optional_int (hint_flags, 0, FUNC_NAME, 3);
  a.hints.ai_family = optional_int (hint_family, AF_UNSPEC, FUNC_NAME, 4);
  a.hints.ai_socktype = optional_int (hint_socktype, 0, FUNC_NAME, 5);
  a.hints.ai_protocol = optional_int (hint_protocol, 0, FUNC_NAME, 6);
  if (!scm_is_false (name) && !scm_is_string (name))
    gn_wrong_type (FUNC_NAME, 1, name);

  scm_dynwind_begin (0);
  scm_dynwind_unwind_handler (free_args, &a, SCM_F_WIND_EXPLICITLY);
  a.node = optional_string (name, FUNC_NAME, 1);
  a.service = optional_string (service, FUNC_NAME, 2);
  gn_without_guile (do_getaddrinfo, &a);
  if (a.rv != 0)
    gn_raise_getaddrinfo_error (a.rv, name);

  SCM result = SCM_EOL;
  for (struct addrinfo *ai = a.result; ai; ai = ai->ai_next)
    {
      SCM addr = gn_sockaddr_to_scm (ai->ai_addr, ai->ai_addrlen, FUNC_NAME);
      SCM canon = ai->ai_canonname
        ? scm_from_locale_string (ai->ai_canonname) : SCM_BOOL_F;
      SCM v = scm_c_make_vector (6, SCM_BOOL_F);
      scm_c_vector_set_x (v, 0, scm_from_int (ai->ai_flags));
      scm_c_vector_set_x (v, 1, scm_from_int (ai->ai_family));
      scm_c_vector_set_x (v, 2, scm_from_int (ai->ai_socktype));
      scm_c_vector_set_x (v, 3, scm_from_int (ai->ai_protocol));
      scm_c_vector_set_x (v, 4, addr);
      scm_c_vector_set_x (v, 5, canon);
      result = scm_cons (v, result);
    }
  scm_dynwind_end ();
  return scm_reverse_x (result, SCM_EOL);
}
#undef FUNC_NAME

SCM_DEFINE (gn_gai_strerror, "gai-strerror", 1, 0, 0, (SCM code),
            "Return a string describing @code{getaddrinfo} error @var{code}.")
#define FUNC_NAME s_gn_gai_strerror
{
  return scm_from_locale_string
    (gai_strerror (optional_int (code, 0, FUNC_NAME, 1)));
}
#undef FUNC_NAME

void
gn_init_addrinfo (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "addrinfo.x"
#endif
}
