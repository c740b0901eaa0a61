/* baseline-common.h -- what the C baselines (tls-baseline.c and
   dtls-baseline.c) share: failing loudly, the clock, certificate paths
   and the credentials made from them.  Each program defines PROGRAM (its name for messages) and the
   variable certdir before including this.  */

static void
die (const char *what, int rc)
{
  fprintf (stderr, "%s: %s: %s\n", PROGRAM, what,
           rc < 0 ? gnutls_strerror (rc) : strerror (errno));
  exit (1);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
cert_path (const char *name)
{
  char *p;
  if (asprintf (&p, "%s/%s.pem", certdir, name) < 0)
    die ("asprintf", 0);
  return p;
}

static gnutls_certificate_credentials_t server_creds, client_creds;

/* The server's certificate and key; the client trusts the test CA.  */
static void
load_credentials (void)
{
  int rc;
  if ((rc = gnutls_certificate_allocate_credentials (&server_creds)) < 0
      || (rc = gnutls_certificate_set_x509_key_file
          (server_creds, cert_path ("server"), cert_path ("key"),
           GNUTLS_X509_FMT_PEM)) < 0
      || (rc = gnutls_certificate_allocate_credentials (&client_creds)) < 0
      || (rc = gnutls_certificate_set_x509_trust_file
          (client_creds, cert_path ("ca"), GNUTLS_X509_FMT_PEM)) < 0)
    die ("credentials", rc);
}
