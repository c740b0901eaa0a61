/* tls-anon.c -- anonymous credentials: Diffie-Hellman key exchange with
   no authentication of either side (ANON-ECDH and ANON-DH, TLS 1.2 only).
   The connection is encrypted but neither side knows who the other is,
   so anyone in the middle can read it: for tests and for protocols that
   authenticate the peer by other means.  The object is tls-kinds.c's.  */

#include "tls.h"

SCM_DEFINE (gn_make_anon_client_credentials,
            "make-anonymous-client-credentials", 0, 0, 0, (void),
            "Return new anonymous credentials for a client session.  A\n"
            "client given them accepts a server that does not authenticate\n"
            "itself: see the manual before using them.")
#define FUNC_NAME s_gn_make_anon_client_credentials
{
  return gn_tls_make_kcred (GN_KIND_ANON_CLIENT, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_make_anon_server_credentials,
            "make-anonymous-server-credentials", 0, 0, 0, (void),
            "Return new anonymous credentials for a server session.")
#define FUNC_NAME s_gn_make_anon_server_credentials
{
  return gn_tls_make_kcred (GN_KIND_ANON_SERVER, FUNC_NAME);
}
#undef FUNC_NAME

SCM_DEFINE (gn_anon_client_credentials_p, "anonymous-client-credentials?", 1,
            0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is anonymous client credentials.")
#define FUNC_NAME s_gn_anon_client_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_ANON_CLIENT));
}
#undef FUNC_NAME

SCM_DEFINE (gn_anon_server_credentials_p, "anonymous-server-credentials?", 1,
            0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is anonymous server credentials.")
#define FUNC_NAME s_gn_anon_server_credentials_p
{
  return scm_from_bool (gn_tls_is_kcred (obj, GN_KIND_ANON_SERVER));
}
#undef FUNC_NAME

SCM_DEFINE (gn_set_anon_server_dh_parameters,
            "set-anonymous-server-dh-parameters!", 2, 0, 0,
            (SCM cred, SCM params),
            "Make servers using anonymous credentials @var{cred} use\n"
            "Diffie-Hellman parameters @var{params} in ANON-DH key exchanges,\n"
            "as @code{set-certificate-credentials-dh-parameters!} does for\n"
            "DHE.  Without them an anonymous server does ANON-DH only with\n"
            "clients that offer an RFC 7919 group.  The credentials keep a\n"
            "copy.")
#define FUNC_NAME s_gn_set_anon_server_dh_parameters
{
  gn_tls_kcred *c = gn_to_kcred (cred, GN_KIND_ANON_SERVER, FUNC_NAME, 1);
  gnutls_dh_params_t copy = gn_tls_dh_copy (params, &c->dh, FUNC_NAME, 2);
  gnutls_anon_set_server_dh_params (c->cred, copy);
  pthread_mutex_lock (&gn_tls_kind_lock);
  c->has_dh = 1;
  pthread_mutex_unlock (&gn_tls_kind_lock);
  scm_remember_upto_here_1 (cred);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

void
gn_init_tls_anon (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "tls-anon.x"
#endif
}
