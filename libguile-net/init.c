/* init.c -- the entry points that the Scheme modules load.  */

#include "guile-net.h"

void
gn_define_primitive (const char *name, int req, int opt, int rest,
                     scm_t_subr fn, const char *doc)
{
  /* A primitive bound as %NAME is the C half of the procedure NAME that a
     module wraps around it: name the procedure NAME, so that backtraces
     and Guile's "In procedure ..." line show what the user called.  */
  SCM proc = scm_c_make_gsubr (name[0] == '%' ? name + 1 : name, req, opt,
                               rest, fn);
  scm_c_define (name, proc);
  scm_set_procedure_property_x (proc, scm_from_utf8_symbol ("documentation"),
                                scm_from_utf8_string (doc));
}

/* Called by (net wait): waiting, which every other part uses.  */
void scm_init_guile_net_wait (void);

void
scm_init_guile_net_wait (void)
{
  gn_init_error ();
  gn_init_wait ();
  gn_init_poller ();
}

/* Called by (net socket), whose module it defines the primitives in.  */
void scm_init_guile_net_socket (void);

void
scm_init_guile_net_socket (void)
{
  gn_init_sockaddr ();
  gn_init_sockopt ();
  gn_init_socket_port ();
  gn_init_socket ();
  gn_init_mmsg ();
  gn_init_addrinfo ();
  gn_init_constants ();
}

/* Called by (net tls), whose module it defines the TLS primitives in.  */
void scm_init_guile_net_tls (void);

void gn_init_tls_credentials (void);
void gn_init_tls_session (void);
void gn_init_tls_transport (void);
void gn_init_tls_io (void);
void gn_init_tls_ops (void);
void gn_init_tls_info (void);
void gn_init_tls_port (void);
void gn_init_tls_x509 (void);
void gn_init_tls_x509_make (void);
void gn_init_tls_names (void);
void gn_init_tls_log (void);
void gn_init_tls_dh (void);
void gn_init_tls_kinds (void);
void gn_init_tls_anon (void);
void gn_init_tls_psk (void);
void gn_init_tls_srp (void);

void
scm_init_guile_net_tls (void)
{
  gn_init_tls_names ();
  gn_init_tls_log ();
  gn_init_tls_credentials ();
  gn_init_tls_session ();
  gn_init_tls_transport ();
  gn_init_tls_io ();
  gn_init_tls_ops ();
  gn_init_tls_info ();
  gn_init_tls_port ();
  gn_init_tls_x509 ();
  gn_init_tls_x509_make ();
  gn_init_tls_dh ();
  gn_init_tls_kinds ();
  gn_init_tls_anon ();
  gn_init_tls_psk ();
  gn_init_tls_srp ();
}

/* Called by (net dtls), whose module it defines the DTLS primitives in.  */
void scm_init_guile_net_dtls (void);
void gn_init_dtls (void);

void
scm_init_guile_net_dtls (void)
{
  gn_init_dtls ();
}
