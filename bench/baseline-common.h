/* baseline-common.h -- what the C baselines (tls-baseline.c and
   dtls-baseline.c) share: failing loudly, the clock, and certificate
   paths.  Each program defines PROGRAM (its name for messages) and the
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
