/* dtls-baseline.c -- the C baseline of Guile-Net's DTLS benchmarks: GnuTLS
   and BSD sockets used directly, the limit (net dtls) can approach.

   The server half runs in a child process (fork), the client in this one,
   as in tls-baseline.c and bench/dtls.scm.  The server binds port 0 on
   127.0.0.1, an unconnected UDP socket; it does the cookie exchange
   (gnutls_dtls_cookie_send / _verify) as the GnuTLS manual's DTLS server
   example does, then serves the one client through push and pull
   functions that use sendto and recvfrom with the client's address.  The
   client uses a connected UDP socket and verifies the server's chain and
   the host name "localhost".  DTLS 1.2, the priority string given (our
   default one), MTU 1200 on both sides (GnuTLS's default).

     echo CERTDIR PRIORITY COUNT      COUNT round trips of one 1 KiB message:
                                      the client sends it, the server echoes
                                      it, the client checks it byte for byte:
                                      round-trips/s
     oneway CERTDIR PRIORITY COUNT WINDOW
                                      COUNT 1 KiB messages client to server,
                                      in windows of WINDOW: the last message
                                      of each window asks for an ack, which
                                      carries the number the server has
                                      received; the client waits for it
                                      before the next window: messages/s
                                      (received by the server, so a lost
                                      message is not counted)

   Every message starts with an 8-byte sequence number and a flag byte
   (0 data, 1 data + ack please, 2 ack); its remaining bytes are a fixed
   pattern, byte I being (I * 7 + 3) mod 256, made once; only the header is
   set per message (as bench/dtls.scm does).  Loss cannot hang a run: the client
   waits at most 1 s for a reply, then sends the message again (at most 10
   times), and the whole program is bounded by alarm (300).  It prints one
   line, "VALUE UNIT", on standard output; lost messages and resends on
   standard error.  */

#define _GNU_SOURCE
#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 1024
#define MTU 1200
#define REPLY_MS 1000           /* client's wait for a reply */
#define RESENDS 10

enum { DATA = 0, DATA_ACK = 1, ACK = 2 };

static const char *certdir, *priority;

#define PROGRAM "dtls-baseline"
#include "baseline-common.h"


/* Messages.  */

/* The header: sequence number and flag.  */
static void
set_header (unsigned char *m, uint64_t seq, int flag)
{
  for (int i = 0; i < 8; i++)
    m[i] = seq >> (8 * i);
  m[8] = flag;
}

/* The pattern, once per buffer.  */
static void
fill (unsigned char *m)
{
  memset (m, 0, 9);
  for (int i = 9; i < MSG; i++)
    m[i] = (unsigned char) (i * 7 + 3);
}

static uint64_t
seq_of (const unsigned char *m)
{
  uint64_t s = 0;
  for (int i = 0; i < 8; i++)
    s |= (uint64_t) m[i] << (8 * i);
  return s;
}

/* The server: one unconnected socket, one client at a time.  */

struct peer
{
  int fd;
  struct sockaddr_in addr;
};

static ssize_t
push_to (gnutls_transport_ptr_t p, const void *data, size_t len)
{
  struct peer *peer = p;
  return sendto (peer->fd, data, len, 0, (struct sockaddr *) &peer->addr,
                 sizeof peer->addr);
}

/* Datagrams from anyone but the client are dropped.  */
static ssize_t
pull_from (gnutls_transport_ptr_t p, void *data, size_t len)
{
  struct peer *peer = p;
  struct sockaddr_in from;
  for (;;)
    {
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom (peer->fd, data, len, 0, (struct sockaddr *) &from,
                            &flen);
      if (n < 0)
        return n;
      if (flen == sizeof from && from.sin_port == peer->addr.sin_port
          && from.sin_addr.s_addr == peer->addr.sin_addr.s_addr)
        return n;
    }
}

static int
pull_timeout_from (gnutls_transport_ptr_t p, unsigned int ms)
{
  struct peer *peer = p;
  struct pollfd pfd = { .fd = peer->fd, .events = POLLIN };
  return poll (&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int) ms);
}

static gnutls_datum_t cookie_key;

/* Wait for a ClientHello with a valid cookie, answering those without one
   with a HelloVerifyRequest; return the session, handshake done.  */
static gnutls_session_t
accept_client (int fd, struct peer *peer)
{
  unsigned char buf[2048];
  gnutls_dtls_prestate_st prestate;
  gnutls_session_t s;
  int rc;
  for (;;)
    {
      socklen_t len = sizeof peer->addr;
      ssize_t n = recvfrom (fd, buf, sizeof buf, MSG_PEEK,
                            (struct sockaddr *) &peer->addr, &len);
      if (n < 0)
        die ("recvfrom", 0);
      memset (&prestate, 0, sizeof prestate);
      rc = gnutls_dtls_cookie_verify (&cookie_key, &peer->addr,
                                      sizeof peer->addr, buf, n, &prestate);
      if (rc >= 0)
        break;
      peer->fd = fd;
      gnutls_dtls_cookie_send (&cookie_key, &peer->addr, sizeof peer->addr,
                               &prestate, peer, push_to);
      recvfrom (fd, buf, sizeof buf, 0, NULL, NULL);    /* drop it */
    }
  peer->fd = fd;
  if ((rc = gnutls_init (&s, GNUTLS_SERVER | GNUTLS_DATAGRAM)) < 0
      || (rc = gnutls_priority_set_direct (s, priority, NULL)) < 0
      || (rc = gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE,
                                       server_creds)) < 0)
    die ("server session", rc);
  gnutls_dtls_prestate_set (s, &prestate);
  gnutls_dtls_set_mtu (s, MTU);
  gnutls_dtls_set_timeouts (s, 1000, 10000);
  gnutls_transport_set_ptr (s, peer);
  gnutls_transport_set_push_function (s, push_to);
  gnutls_transport_set_pull_function (s, pull_from);
  gnutls_transport_set_pull_timeout_function (s, pull_timeout_from);
  do
    rc = gnutls_handshake (s);
  while (rc < 0 && !gnutls_error_is_fatal (rc));
  if (rc < 0)
    die ("server handshake", rc);
  return s;
}

static void
send_msg (gnutls_session_t s, const unsigned char *m, size_t n)
{
  ssize_t k;
  do
    k = gnutls_record_send (s, m, n);
  while (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED);
  if (k != (ssize_t) n)
    die ("record_send", k < 0 ? k : 0);
}

/* Serve until the client's close_notify (or 30 s without a message):
   echo every message (echo mode), or count them and ack on request.  */
static void
serve (int fd, int echo)
{
  struct peer peer;
  unsigned char buf[2048], ack[9];
  uint64_t received = 0;
  gnutls_session_t s = accept_client (fd, &peer);
  gnutls_record_set_timeout (s, 30000);
  for (;;)
    {
      ssize_t k = gnutls_record_recv (s, buf, sizeof buf);
      if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
        continue;
      if (k == 0)
        break;
      if (k < 0)
        die ("server record_recv", k);
      if (echo)
        send_msg (s, buf, k);
      else
        {
          received++;
          if (k > 8 && buf[8] == DATA_ACK)
            {
              set_header (ack, received, ACK);
              send_msg (s, ack, 9);
            }
        }
    }
  gnutls_bye (s, GNUTLS_SHUT_WR);
  gnutls_deinit (s);
}

/* The client.  */

static int
server_socket (int *port)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) < 0
      || getsockname (fd, (struct sockaddr *) &a, &len) < 0)
    die ("server socket", 0);
  *port = ntohs (a.sin_port);
  return fd;
}

static gnutls_session_t
connect_client (int port)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0), rc;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  gnutls_session_t s;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    die ("client socket", 0);
  if ((rc = gnutls_init (&s, GNUTLS_CLIENT | GNUTLS_DATAGRAM)) < 0
      || (rc = gnutls_priority_set_direct (s, priority, NULL)) < 0
      || (rc = gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE,
                                       client_creds)) < 0
      || (rc = gnutls_server_name_set (s, GNUTLS_NAME_DNS, "localhost",
                                       9)) < 0)
    die ("client session", rc);
  gnutls_session_set_verify_cert (s, "localhost", 0);
  gnutls_dtls_set_mtu (s, MTU);
  gnutls_dtls_set_timeouts (s, 1000, 10000);
  gnutls_transport_set_int (s, fd);
  do
    rc = gnutls_handshake (s);
  while (rc < 0 && !gnutls_error_is_fatal (rc));
  if (rc < 0)
    die ("client handshake", rc);
  gnutls_record_set_timeout (s, REPLY_MS);
  return s;
}

/* Receive one message: its length, or 0 after REPLY_MS without one.  */
static ssize_t
recv_msg (gnutls_session_t s, unsigned char *buf, size_t size)
{
  for (;;)
    {
      ssize_t k = gnutls_record_recv (s, buf, size);
      if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
        continue;
      if (k == GNUTLS_E_TIMEDOUT)
        return 0;
      if (k <= 0)
        die ("client record_recv", k < 0 ? k : 0);
      return k;
    }
}

static pid_t server_pid;

static void
finish (gnutls_session_t s)
{
  int status;
  gnutls_bye (s, GNUTLS_SHUT_WR);
  /* The server ends on our close_notify; if that was lost, end it.  */
  for (int i = 0; i < 200; i++)
    {
      if (waitpid (server_pid, &status, WNOHANG) == server_pid)
        return;
      usleep (10000);
    }
  kill (server_pid, SIGTERM);
  waitpid (server_pid, &status, 0);
}

static void
start_server (int echo, int *port)
{
  int fd = server_socket (port);
  server_pid = fork ();
  if (server_pid < 0)
    die ("fork", 0);
  if (server_pid == 0)
    {
      serve (fd, echo);
      _exit (0);
    }
  close (fd);
}

static int
run_echo (long count)
{
  int port;
  unsigned char out[MSG], in[2048];
  long resends = 0;
  fill (out);
  start_server (1, &port);
  gnutls_session_t s = connect_client (port);
  double start = now ();
  for (long i = 0; i < count; i++)
    {
      set_header (out, i, DATA);
      send_msg (s, out, MSG);
      for (int tries = 0;;)
        {
          ssize_t k = recv_msg (s, in, sizeof in);
          if (k == MSG && seq_of (in) == (uint64_t) i)
            {
              if (memcmp (in, out, MSG) != 0)
                die ("echo differs", 0);
              break;
            }
          if (k == 0)           /* lost: send it again */
            {
              if (++tries > RESENDS)
                die ("no echo", 0);
              resends++;
              send_msg (s, out, MSG);
            }
          /* else a late echo of an earlier message: skip it */
        }
    }
  double t = now () - start;
  finish (s);
  if (resends)
    fprintf (stderr, "resends %ld\n", resends);
  printf ("%.1f round-trips/s\n", count / t);
  return 0;
}

static int
run_oneway (long count, long window)
{
  int port;
  unsigned char out[MSG], in[2048];
  uint64_t acked = 0;
  long resends = 0;
  if (window < 1)
    window = 1;
  fill (out);
  start_server (0, &port);
  gnutls_session_t s = connect_client (port);
  double start = now ();
  for (long sent = 0; sent < count;)
    {
      long end = sent + window < count ? sent + window : count;
      for (; sent < end; sent++)
        {
          set_header (out, sent, sent == end - 1 ? DATA_ACK : DATA);
          send_msg (s, out, MSG);
        }
      for (int tries = 0;;)
        {
          ssize_t k = recv_msg (s, in, sizeof in);
          if (k >= 9 && in[8] == ACK)
            {
              acked = seq_of (in);
              break;
            }
          if (k == 0)           /* the last one or its ack was lost */
            {
              if (++tries > RESENDS)
                die ("no ack", 0);
              resends++;
              send_msg (s, out, MSG);   /* counted again by the server */
            }
        }
    }
  double t = now () - start;
  finish (s);
  if (resends || acked != (uint64_t) count)
    fprintf (stderr, "resends %ld, server received %llu of %ld\n", resends,
             (unsigned long long) acked, count);
  printf ("%.1f messages/s\n",
          (acked > (uint64_t) count ? (uint64_t) count : acked) / t);
  return 0;
}

int
main (int argc, char **argv)
{
  int rc;
  setvbuf (stdout, NULL, _IOLBF, 0);
  alarm (300);                  /* bounded in time, whatever happens */
  if (argc < 5)
    goto usage;
  certdir = argv[2];
  priority = argv[3];
  load_credentials ();
  if ((rc = gnutls_key_generate (&cookie_key, GNUTLS_COOKIE_KEY_SIZE)) < 0)
    die ("cookie key", rc);
  if (strcmp (argv[1], "echo") == 0 && argc == 5)
    return run_echo (atol (argv[4]));
  if (strcmp (argv[1], "oneway") == 0 && argc == 6)
    return run_oneway (atol (argv[4]), atol (argv[5]));
 usage:
  fprintf (stderr, "usage: see the comment at the top of dtls-baseline.c\n");
  return 2;
}
