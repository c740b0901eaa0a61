/* tls-baseline.c -- the C baseline of Guile-Net's benchmarks: GnuTLS and
   BSD sockets used directly, the limit a binding can approach.

   Every mode binds port 0 on 127.0.0.1 only and prints one line,
   "VALUE UNIT", on standard output.

     bulk CERTDIR PRIORITY BYTES       TLS bulk one way, 16 KiB records, from
                                       a child process to this one: MiB/s,
                                       after a line "cpu MS ms/MiB": user
                                       + system time of both processes
                                       (getrusage) during the transfer
     handshakes CERTDIR PRIORITY SECONDS MAXCOUNT
                                       full handshakes (verified): per second
     rr CERTDIR PRIORITY N WAIT        N request/reply round trips of one
                                       line each (a child process replies):
                                       round trips/s.  WAIT is `block' (a
                                       blocking recv, as guile-gnutls does)
                                       or `poll' (each recv that would wait
                                       is preceded by what Guile-Net's wait
                                       costs: the registers saved as
                                       libgc's GC_do_blocking does, with
                                       getcontext, then a poll of the
                                       socket and of a wake-up pipe)
     udp COUNT                         64-byte datagrams sent and received: /s
     idle-server CERTDIR PRIORITY PORTFILE
                                       accept and handshake connections, keep
                                       them open until killed
     hs-server CERTDIR PRIORITY PORTFILE
                                       accept connections one at a time:
                                       handshake, send one byte, close
                                       (the server of the ported rows)
     idle-client CERTDIR PRIORITY PORT N
                                       hold N verified TLS connections: KiB
                                       of resident memory per connection
     https-client CERTDIR PRIORITY PORT SECONDS
                                       a new connection per request to an
                                       HTTPS server on PORT: full handshake
                                       (verified, no resumption), GET with
                                       Connection: close, the response read
                                       to its end: requests per second
     hold-client CERTDIR PRIORITY PORT N SECONDS
                                       open N verified TLS connections to
                                       PORT, print "held N", keep them
                                       SECONDS, exit (the server's memory
                                       per idle connection is measured by
                                       bench/run meanwhile)
     cipher SECONDS                    AES-128-GCM and AES-256-GCM, 16 KiB
                                       buffers: GB/s (the ceiling for bulk)  */

#define _GNU_SOURCE
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <ucontext.h>
#include <unistd.h>

#define CHUNK 16384

static const char *certdir, *priority;

#define PROGRAM "tls-baseline"
#include "baseline-common.h"

static int
listener (int *port)
{
  int s = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  if (s < 0)
    die ("socket", 0);
  setsockopt (s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (s, (struct sockaddr *) &a, sizeof a) < 0 || listen (s, 1024) < 0
      || getsockname (s, (struct sockaddr *) &a, &len) < 0)
    die ("bind/listen", 0);
  *port = ntohs (a.sin_port);
  return s;
}

/* Both ends of every TCP connection, in C and in Guile, set TCP_NODELAY:
   otherwise the server's last handshake flight and its first record wait
   for a delayed ACK (40 ms on Linux).  */
static void
nodelay (int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int
connect_loopback (int port)
{
  int s = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (s < 0 || connect (s, (struct sockaddr *) &a, sizeof a) < 0)
    die ("connect", 0);
  nodelay (s);
  return s;
}

static gnutls_datum_t ticket_key;

static void
make_credentials (void)
{
  load_credentials ();
  int rc = gnutls_session_ticket_key_generate (&ticket_key);
  if (rc < 0)
    die ("ticket key", rc);
}

/* A session on descriptor FD, as Guile-Net makes them: the same priority
   string; a server issues tickets; a client verifies the chain and the
   host name "localhost".  */
static gnutls_session_t
new_session (int fd, int server)
{
  gnutls_session_t s;
  int rc;
  if ((rc = gnutls_init (&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT)) < 0
      || (rc = gnutls_priority_set_direct (s, priority, NULL)) < 0
      || (rc = gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE,
                                       server ? server_creds
                                       : client_creds)) < 0)
    die ("session", rc);
  if (server)
    {
      if ((rc = gnutls_session_ticket_enable_server (s, &ticket_key)) < 0)
        die ("tickets", rc);
    }
  else
    {
      gnutls_server_name_set (s, GNUTLS_NAME_DNS, "localhost", 9);
      gnutls_session_set_verify_cert (s, "localhost", 0);
    }
  gnutls_transport_set_int (s, fd);
  do
    rc = gnutls_handshake (s);
  while (rc < 0 && !gnutls_error_is_fatal (rc));
  if (rc < 0)
    die ("handshake", rc);
  return s;
}

static ssize_t
send_all (gnutls_session_t s, const char *buf, size_t n)
{
  size_t done = 0;
  while (done < n)
    {
      ssize_t k = gnutls_record_send (s, buf + done, n - done);
      if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
        continue;
      if (k < 0)
        die ("record_send", k);
      done += k;
    }
  return done;
}

/* Bulk and handshakes run their server half in a child process, as the
   Guile programs do (bench/tls.scm), so both sides are two processes on
   two cores talking over loopback.  */

static pid_t
fork_server (int lsock, void (*serve) (int))
{
  pid_t pid = fork ();
  if (pid < 0)
    die ("fork", 0);
  if (pid == 0)
    {
      serve (lsock);
      _exit (0);
    }
  close (lsock);
  return pid;
}

/* Bulk: the server writes BYTES in 16 KiB records and says close_notify;
   the client reads 16 KiB at a time and times it from the end of its
   handshake.  */

static unsigned long long bulk_bytes;
static int cpu_pipe[2];         /* the server tells the client its CPU time */

/* User + system time of this process so far, in seconds (getrusage).  */
static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
    + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
bulk_server (int lsock)
{
  int fd = accept (lsock, NULL, NULL);
  if (fd < 0)
    die ("accept", 0);
  nodelay (fd);
  gnutls_session_t s = new_session (fd, 1);
  char *buf = malloc (CHUNK);
  memset (buf, 'x', CHUNK);
  double cpu0 = cpu_seconds ();
  for (unsigned long long sent = 0; sent < bulk_bytes; sent += CHUNK)
    send_all (s, buf, CHUNK);
  gnutls_bye (s, GNUTLS_SHUT_WR);
  double cpu = cpu_seconds () - cpu0;
  if (write (cpu_pipe[1], &cpu, sizeof cpu) != sizeof cpu)
    die ("write", 0);
  gnutls_deinit (s);
  close (fd);
}

static int
run_bulk (unsigned long long bytes)
{
  int port, lsock = listener (&port);
  bulk_bytes = bytes;
  if (pipe (cpu_pipe) < 0)
    die ("pipe", 0);
  pid_t pid = fork_server (lsock, bulk_server);
  close (cpu_pipe[1]);
  int fd = connect_loopback (port);
  gnutls_session_t s = new_session (fd, 0);
  char *buf = malloc (CHUNK);
  unsigned long long received = 0;
  double start = now (), cpu0 = cpu_seconds ();
  for (;;)
    {
      ssize_t k = gnutls_record_recv (s, buf, CHUNK);
      if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
        continue;
      if (k < 0)
        die ("record_recv", k);
      if (k == 0)
        break;
      received += k;
    }
  double t = now () - start, cpu = cpu_seconds () - cpu0, server_cpu;
  if (read (cpu_pipe[0], &server_cpu, sizeof server_cpu) != sizeof server_cpu)
    die ("the server's CPU time", 0);
  waitpid (pid, NULL, 0);
  if (received != bytes)
    die ("short transfer", 0);
  fprintf (stderr, "cipher %s\n",
           gnutls_cipher_get_name (gnutls_cipher_get (s)));
  double mib = bytes / 1048576.0;
  printf ("cpu %.4f ms/MiB (receiver %.4f, sender %.4f)\n",
          (cpu + server_cpu) * 1e3 / mib, cpu * 1e3 / mib,
          server_cpu * 1e3 / mib);
  printf ("%.1f MiB/s\n", mib / t);
  gnutls_deinit (s);
  close (fd);
  return 0;
}

/* Handshakes: the server accepts, handshakes and sends one byte, again
   and again; the client connects, handshakes, verifies, reads the byte and
   closes, for SECONDS or MAXCOUNT handshakes; then it ends the server.  */

static void
hs_server (int lsock)
{
  for (;;)
    {
      int fd = accept (lsock, NULL, NULL);
      if (fd < 0)
        die ("accept", 0);
      nodelay (fd);
      gnutls_session_t s = new_session (fd, 1);
      send_all (s, "!", 1);
      gnutls_deinit (s);
      close (fd);
    }
}

static int
run_handshakes (double seconds, long maxcount)
{
  int port, lsock = listener (&port);
  char c;
  long n = 0;
  pid_t pid = fork_server (lsock, hs_server);
  double start = now (), end;
  do
    {
      int fd = connect_loopback (port);
      gnutls_session_t s = new_session (fd, 0);
      ssize_t k;
      do
        k = gnutls_record_recv (s, &c, 1);
      while (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED);
      if (k != 1)
        die ("record_recv", k);
      gnutls_deinit (s);
      close (fd);
      n++;
      end = now ();
    }
  while (end - start < seconds && n < maxcount);
  kill (pid, SIGTERM);
  waitpid (pid, NULL, 0);
  printf ("%.1f handshakes/s\n", n / (end - start));
  return 0;
}

/* Request/reply: the client sends a line, the server answers with a
   line, N times, each line one record.  With WAIT `poll' each side waits
   before a recv as Guile-Net's wait layer does (wait.c: leave Guile mode
   through scm_without_guile, whose GC_do_blocking saves the registers
   with getcontext; poll the descriptor and the thread's wake-up pipe),
   so the pair of rows shows what an interruptible wait costs a round
   trip, apart from any binding.  */

static int rr_poll;
static int wake_pipe[2];        /* never written: the wait's second fd */

static void
rr_wait (gnutls_session_t s, int fd)
{
  if (!rr_poll || gnutls_record_check_pending (s) > 0)
    return;
  ucontext_t regs;
  getcontext (&regs);
  struct pollfd p[2] = { { fd, POLLIN, 0 }, { wake_pipe[0], POLLIN, 0 } };
  while (poll (p, 2, -1) < 0)
    if (errno != EINTR)
      die ("poll", 0);
}

/* Receive one line (its record) into BUF; 0 at the end of the stream.  */
static ssize_t
rr_recv (gnutls_session_t s, int fd, char *buf, size_t size)
{
  ssize_t k;
  do
    {
      rr_wait (s, fd);
      k = gnutls_record_recv (s, buf, size);
    }
  while (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED);
  if (k < 0)
    die ("record_recv", k);
  if (k > 0 && buf[k - 1] != '\n')
    die ("a line split over records", 0);
  return k;
}

static void
rr_server (int lsock)
{
  static const char reply[] = "reply to the request\n";
  char buf[256];
  int fd = accept (lsock, NULL, NULL);
  if (fd < 0)
    die ("accept", 0);
  nodelay (fd);
  gnutls_session_t s = new_session (fd, 1);
  while (rr_recv (s, fd, buf, sizeof buf) > 0)
    send_all (s, reply, sizeof reply - 1);
  gnutls_bye (s, GNUTLS_SHUT_WR);
  gnutls_deinit (s);
  close (fd);
}

static int
run_rr (long n, const char *wait)
{
  static const char request[] = "a request of one line\n";
  char buf[256];
  if (strcmp (wait, "poll") == 0)
    rr_poll = 1;
  else if (strcmp (wait, "block") != 0)
    die ("rr: WAIT is block or poll", 0);
  if (pipe (wake_pipe) < 0)
    die ("pipe", 0);
  int port, lsock = listener (&port);
  pid_t pid = fork_server (lsock, rr_server);
  int fd = connect_loopback (port);
  gnutls_session_t s = new_session (fd, 0);
  double start = now ();
  for (long i = 0; i < n; i++)
    {
      send_all (s, request, sizeof request - 1);
      if (rr_recv (s, fd, buf, sizeof buf) == 0)
        die ("no reply", 0);
    }
  double t = now () - start;
  gnutls_bye (s, GNUTLS_SHUT_WR);
  while (rr_recv (s, fd, buf, sizeof buf) > 0)
    ;
  waitpid (pid, NULL, 0);
  printf ("%.1f round-trips/s\n", n / t);
  gnutls_deinit (s);
  close (fd);
  return 0;
}

/* UDP: one thread sends a batch of 64-byte datagrams to a second socket
   and reads them back, so none is lost and the count is exact.  */

static int
udp_socket (struct sockaddr_in *a)
{
  int s = socket (AF_INET, SOCK_DGRAM, 0);
  socklen_t len = sizeof *a;
  memset (a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (s < 0 || bind (s, (struct sockaddr *) a, sizeof *a) < 0
      || getsockname (s, (struct sockaddr *) a, &len) < 0)
    die ("udp socket", 0);
  return s;
}

static int
run_udp (long count)
{
  struct sockaddr_in aa, ab, from;
  int a = udp_socket (&aa), b = udp_socket (&ab);
  char out[64], in[64];
  const int batch = 32;
  memset (out, 'u', sizeof out);
  double start = now ();
  for (long done = 0; done < count; done += batch)
    {
      for (int i = 0; i < batch; i++)
        if (sendto (a, out, sizeof out, 0, (struct sockaddr *) &ab,
                    sizeof ab) != sizeof out)
          die ("sendto", 0);
      for (int i = 0; i < batch; i++)
        {
          socklen_t len = sizeof from;
          if (recvfrom (b, in, sizeof in, 0, (struct sockaddr *) &from,
                        &len) != sizeof in)
            die ("recvfrom", 0);
        }
    }
  double t = now () - start;
  printf ("%.0f datagrams/s\n", count / t);
  return 0;
}

/* Idle connections.  */

static void
raise_nofile (void)
{
  struct rlimit r;
  if (getrlimit (RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max)
    {
      r.rlim_cur = r.rlim_max;
      setrlimit (RLIMIT_NOFILE, &r);
    }
}

static long
rss_kib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "VmRSS: %ld", &kib) == 1)
      break;
  if (f)
    fclose (f);
  return kib;
}

static int
run_idle_server (const char *portfile)
{
  int port, lsock;
  raise_nofile ();
  lsock = listener (&port);
  FILE *f = fopen (portfile, "w");
  if (!f)
    die (portfile, 0);
  fprintf (f, "%d\n", port);
  fclose (f);
  for (;;)
    {
      int fd = accept (lsock, NULL, NULL);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          die ("accept", 0);
        }
      nodelay (fd);
      new_session (fd, 1);      /* kept, never freed: we are killed */
    }
  return 0;
}

static int
run_idle_client (int port, long n)
{
  raise_nofile ();
  gnutls_session_t *sessions = calloc (n + 1, sizeof *sessions);
  sessions[n] = new_session (connect_loopback (port), 0);  /* warm-up */
  long before = rss_kib ();
  for (long i = 0; i < n; i++)
    sessions[i] = new_session (connect_loopback (port), 0);
  long after = rss_kib ();
  printf ("%.2f KiB/connection\n", (double) (after - before) / n);
  return 0;
}

static int
run_https_client (int port, double seconds)
{
  static const char request[] =
    "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  char buf[4096];
  long n = 0;
  double start = now (), end;
  do
    {
      int fd = connect_loopback (port);
      gnutls_session_t s = new_session (fd, 0);
      send_all (s, request, sizeof request - 1);
      for (;;)
        {
          ssize_t k = gnutls_record_recv (s, buf, sizeof buf);
          if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
            continue;
          if (k <= 0)           /* close_notify, or the server closed */
            break;
        }
      gnutls_deinit (s);
      close (fd);
      n++;
      end = now ();
    }
  while (end - start < seconds);
  printf ("%.1f requests/s\n", n / (end - start));
  return 0;
}

static int
run_hold_client (int port, long n, double seconds)
{
  raise_nofile ();
  gnutls_session_t *sessions = calloc (n, sizeof *sessions);
  for (long i = 0; i < n; i++)
    sessions[i] = new_session (connect_loopback (port), 0);
  printf ("held %ld\n", n);
  fflush (stdout);
  struct timespec ts = { (time_t) seconds, 0 };
  nanosleep (&ts, NULL);
  return 0;
}

/* The raw cipher: encrypt 16 KiB buffers in place for SECONDS.  */

static double
cipher_speed (gnutls_cipher_algorithm_t alg, double seconds)
{
  unsigned char key[32], iv[12], tag[16];
  gnutls_datum_t k = { key, gnutls_cipher_get_key_size (alg) };
  gnutls_aead_cipher_hd_t h;
  unsigned char *buf = malloc (CHUNK + 16);
  size_t len;
  long n = 0;
  int rc;
  memset (key, 7, sizeof key);
  memset (iv, 3, sizeof iv);
  memset (buf, 1, CHUNK);
  if ((rc = gnutls_aead_cipher_init (&h, alg, &k)) < 0)
    die ("cipher", rc);
  double start = now (), t;
  do
    {
      for (int i = 0; i < 64; i++)
        {
          len = CHUNK + 16;
          iv[0]++;
          if ((rc = gnutls_aead_cipher_encrypt (h, iv, sizeof iv, NULL, 0, 16,
                                                buf, CHUNK, buf, &len)) < 0)
            die ("encrypt", rc);
        }
      n += 64;
      t = now () - start;
    }
  while (t < seconds);
  (void) tag;
  gnutls_aead_cipher_deinit (h);
  free (buf);
  return n * (double) CHUNK / t / 1e9;
}


/* The handshake server alone, its port in PORTFILE, until killed.  */
static int
run_hs_server (const char *portfile)
{
  int port, lsock = listener (&port);
  FILE *f = fopen (portfile, "w");
  if (!f)
    die (portfile, 0);
  fprintf (f, "%d\n", port);
  fclose (f);
  hs_server (lsock);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    goto usage;
  const char *mode = argv[1];
  setvbuf (stdout, NULL, _IOLBF, 0);
  alarm (300);                  /* bounded in time, whatever happens */
  if (strcmp (mode, "udp") == 0 && argc == 3)
    return run_udp (atol (argv[2]));
  if (strcmp (mode, "cipher") == 0 && argc == 3)
    {
      double s = atof (argv[2]);
      printf ("%.2f GB/s AES-128-GCM\n", cipher_speed (GNUTLS_CIPHER_AES_128_GCM, s));
      printf ("%.2f GB/s AES-256-GCM\n", cipher_speed (GNUTLS_CIPHER_AES_256_GCM, s));
      return 0;
    }
  if (argc < 4)
    goto usage;
  certdir = argv[2];
  priority = argv[3];
  make_credentials ();
  if (strcmp (mode, "bulk") == 0 && argc == 5)
    return run_bulk (strtoull (argv[4], NULL, 10));
  if (strcmp (mode, "handshakes") == 0 && argc == 6)
    return run_handshakes (atof (argv[4]), atol (argv[5]));
  if (strcmp (mode, "rr") == 0 && argc == 6)
    return run_rr (atol (argv[4]), argv[5]);
  if (strcmp (mode, "hs-server") == 0 && argc == 5)
    return run_hs_server (argv[4]);
  if (strcmp (mode, "idle-server") == 0 && argc == 5)
    return run_idle_server (argv[4]);
  if (strcmp (mode, "idle-client") == 0 && argc == 6)
    return run_idle_client (atoi (argv[4]), atol (argv[5]));
  if (strcmp (mode, "https-client") == 0 && argc == 6)
    return run_https_client (atoi (argv[4]), atof (argv[5]));
  if (strcmp (mode, "hold-client") == 0 && argc == 7)
    return run_hold_client (atoi (argv[4]), atol (argv[5]), atof (argv[6]));
 usage:
  fprintf (stderr, "usage: see the comment at the top of tls-baseline.c\n");
  return 2;
}
