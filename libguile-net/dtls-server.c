/* dtls-server.c -- a DTLS server: many clients on one UDP socket.

   A dtls-server owns an unconnected UDP socket and a table of sessions
   keyed by peer address.  One loop, dtls-server-receive!, reads every
   datagram.  A datagram from a known peer goes to that peer's session
   through an inbox its pull function reads, and advances its handshake or
   yields a message.  A datagram from an unknown peer must carry a valid
   cookie (the HelloVerifyRequest exchange of RFC 6347) before any session
   is made, so a spoofed source address costs the server one stateless
   reply and no memory.  Handshakes in progress resend their last flight
   when GnuTLS's retransmission timer runs out; the loop waits for the
   socket and for the earliest of those timers together.  The socket is
   read with recvmmsg, up to the server's batch of datagrams per system
   call (what is queued when it looks, never waiting for more), and the
   datagrams are then handed on one by one.  Sessions go out
   through the ordinary transport push (tls-transport.c) to the peer's
   address, and every GnuTLS call through the driver (tls-io.c).  */

#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Large enough for any UDP datagram, so none is ever cut.  A batch's
   slots are this size each: only the pages datagrams land on are ever
   touched.  */
#define DATAGRAM_BUFFER_SIZE 65536
/* The default batch, and the most datagrams one receive may take.  */
#define DEFAULT_BATCH 32
#define MAX_BATCH 1024

enum
{
  STAT_DATAGRAMS, STAT_COOKIES_SENT, STAT_SESSIONS_OPENED,
  STAT_HANDSHAKES_DONE, STAT_HANDSHAKES_FAILED, STAT_HANDSHAKES_TIMED_OUT,
  STAT_SESSIONS_CLOSED, STAT_SESSIONS_FAILED, STAT_SESSIONS_IDLE,
  STAT_RETRANSMISSIONS, STAT_BATCHES, N_STATS
};

static const char *const stat_names[N_STATS] = {
  "datagrams", "cookies-sent", "sessions-opened", "handshakes-done",
  "handshakes-failed", "handshakes-timed-out", "sessions-closed",
  "sessions-failed", "sessions-idle", "retransmissions", "batches"
};

typedef struct
{
  int fd;                       /* -1 once closed */
  SCM socket;                   /* the UDP socket port */
  SCM credentials;
  SCM client_cert;              /* a certificate-request constant, or #f */
  SCM alpn;                     /* list of protocol names */
  SCM sessions;                 /* hash table: peer key -> session */
  SCM handshaking;              /* sessions whose handshake is under way */
  SCM ready;                    /* a session GnuTLS holds messages for */
  SCM last;                     /* the session of the last datagram, or #f */
  unsigned int mtu;             /* 0: GnuTLS's default */
  int64_t timeout_ns;           /* per receive; -1 none */
  int64_t handshake_timeout_ns;
  int64_t idle_timeout_ns;
  int64_t next_idle_check;
  int64_t next_timer;           /* the earliest resend or handshake limit */
  SCM waiting;                  /* the wait port of a receive, or #f */
  gnutls_datum_t cookie_key;
  /* The datagrams of the last recvmmsg: BATCH slots of
     DATAGRAM_BUFFER_SIZE bytes, their headers and senders; the ones from
     NEXT to QUEUED are still to be handed on.  */
  unsigned int batch;
  unsigned int queued, next;
  int drained;                  /* the last read found nothing */
  unsigned char *buf;
  struct mmsghdr *msgs;
  struct iovec *iov;
  gn_sockaddr *from;
  unsigned long stats[N_STATS];
} gn_dtls_server;

static SCM dtls_server_type = SCM_BOOL_F;

static gn_dtls_server *
to_server (SCM obj, const char *subr, int pos)
{
  return gn_foreign_data (obj, dtls_server_type, subr, pos);
}

static gn_dtls_server *
to_open_server (SCM obj, const char *subr, int pos)
{
  gn_dtls_server *sv = to_server (obj, subr, pos);
  if (sv->fd < 0)
    gn_wrong_type_msg (subr, pos, obj, "open DTLS server");
  return sv;
}

static void
finalize_server (SCM obj)
{
  gn_dtls_server *sv = scm_foreign_object_ref (obj, 0);
  if (sv == NULL)
    return;
  if (sv->cookie_key.data)
    gnutls_free (sv->cookie_key.data);
  sv->cookie_key.data = NULL;
  free (sv->buf);
  sv->buf = NULL;
  free (sv->msgs);
  sv->msgs = NULL;
  free (sv->iov);
  sv->iov = NULL;
  free (sv->from);
  sv->from = NULL;
}

/* What identifies a peer, written to ID: family, address and port (and
   the IPv6 scope), without the padding and flow label a sockaddr may
   carry.  Return its length.  */
#define PEER_ID_SIZE 32
static size_t
peer_id (const gn_sockaddr *a, char id[PEER_ID_SIZE])
{
  size_t n = 0;
  if (a->ss.ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) &a->ss;
      id[n++] = 4;
      memcpy (id + n, &in->sin_addr, 4), n += 4;
      memcpy (id + n, &in->sin_port, 2), n += 2;
    }
  else if (a->ss.ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &a->ss;
      id[n++] = 6;
      memcpy (id + n, &in6->sin6_addr, 16), n += 16;
      memcpy (id + n, &in6->sin6_port, 2), n += 2;
      memcpy (id + n, &in6->sin6_scope_id, 4), n += 4;
    }
  else
    {
      size_t len = a->len < PEER_ID_SIZE - 1 ? a->len : PEER_ID_SIZE - 1;
      id[n++] = 0;
      memcpy (id + n, &a->ss, len), n += len;
    }
  return n;
}

/* The key of a peer in a server's table of sessions.  */
static SCM
peer_key (const gn_sockaddr *a)
{
  char id[PEER_ID_SIZE];
  return scm_from_latin1_stringn (id, peer_id (a, id));
}

/* What the server keeps per peer: the session's gn_dtls_peer, and the
   peer's identity, so that a datagram's sender is compared with it
   without computing it again.  */
typedef struct
{
  gn_dtls_peer p;               /* first: t->dtls_peer points here */
  char id[PEER_ID_SIZE];
  size_t id_len;
} server_peer;

/* Transport of a server's session: GnuTLS reads the inbox the server
   filled, and writes to the peer's address on the shared socket.  */
static ssize_t
inbox_pull (gnutls_transport_ptr_t ptr, void *buf, size_t n)
{
  gn_tls_session *t = ptr;
  gn_dtls_peer *p = t->dtls_peer;
  if (p->inbox == NULL)
    {
      gnutls_transport_set_errno (t->s, EAGAIN);
      return -1;
    }
  size_t k = p->inbox_len < n ? p->inbox_len : n;
  memcpy (buf, p->inbox, k);
  p->inbox = NULL;
  return k;
}

static int
inbox_pull_timeout (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  gn_tls_session *t = ptr;
  return t->dtls_peer->inbox != NULL;
}

/* The HelloVerifyRequest goes out before any session exists.  */
struct cookie_dest
{
  int fd;
  const gn_sockaddr *addr;
};

static ssize_t
cookie_push (gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
  struct cookie_dest *d = ptr;
  return sendto (d->fd, data, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                 (const struct sockaddr *) &d->addr->ss, d->addr->len);
}

static void
forget_session (gn_dtls_server *sv, SCM session, int stat)
{
  gn_tls_session *t = scm_foreign_object_ref (session, 0);
  scm_hash_remove_x (sv->sessions, peer_key (&t->dtls_peer->addr));
  sv->handshaking = scm_delq_x (session, sv->handshaking);
  if (scm_is_eq (sv->ready, session))
    sv->ready = SCM_BOOL_F;
  if (scm_is_eq (sv->last, session))
    sv->last = SCM_BOOL_F;
  sv->stats[stat]++;
}

static SCM
new_session (SCM server, gn_dtls_server *sv, const gn_sockaddr *from,
             SCM key, gnutls_dtls_prestate_st *prestate)
{
  SCM session = gn_make_session (scm_from_int (GNUTLS_SERVER),
                                 scm_list_1 (scm_from_uint (GNUTLS_DATAGRAM)));
  gn_tls_session *t = scm_foreign_object_ref (session, 0);
  gn_set_session_credentials (session, sv->credentials);
  if (scm_is_true (sv->client_cert))
    gn_set_session_client_certificate_request (session, sv->client_cert);
  if (!scm_is_null (sv->alpn))
    gn_set_session_alpn_protocols (session, sv->alpn);
  t->timeout_ns = sv->timeout_ns;

  server_peer *sp = scm_gc_malloc_pointerless (sizeof *sp, "dtls-peer");
  memset (sp, 0, sizeof *sp);
  sp->id_len = peer_id (from, sp->id);
  gn_dtls_peer *p = &sp->p;
  p->addr = *from;
  p->handshake_deadline = gn_deadline_after_ns (sv->handshake_timeout_ns);
  p->last_seen = gn_now_ns ();
  t->dtls_peer = p;
  t->dtls_server = server;
  t->transport = sv->socket;
  /* Datagrams go out as a connected socket's would, to the peer's
     address; they come in through the inbox.  */
  gn_tls_use_fd_transport (t, sv->fd);
  t->send_to = &p->addr;
  gnutls_transport_set_pull_function (t->s, inbox_pull);
  gnutls_transport_set_pull_timeout_function (t->s, inbox_pull_timeout);
  gnutls_dtls_prestate_set (t->s, prestate);
  if (sv->mtu)
    gnutls_dtls_set_mtu (t->s, sv->mtu);

  scm_hash_set_x (sv->sessions, key, session);
  sv->handshaking = scm_cons (session, sv->handshaking);
  sv->stats[STAT_SESSIONS_OPENED]++;
  return session;
}

/* Advance SESSION's handshake with what its inbox holds (or, empty, to
   let GnuTLS retransmit).  Return 1 once it is done.  */
static int
advance_handshake (gn_dtls_server *sv, SCM session, gn_tls_session *t)
{
  gn_tls_prepare_handshake (session, t, "handshake");
  ssize_t rc = gn_dtls_drive_quietly (session, t, "handshake", gn_tls_handshake_step,
                              NULL);
  if (rc == 0)
    {
      sv->handshaking = scm_delq_x (session, sv->handshaking);
      t->dtls_peer->handshake_deadline = GN_NO_LIMIT;
      sv->stats[STAT_HANDSHAKES_DONE]++;
      return 1;
    }
  if (rc != GNUTLS_E_AGAIN)
    forget_session (sv, session, STAT_HANDSHAKES_FAILED);
  return 0;
}

/* The next message GnuTLS holds for established SESSION, into OUT.
   Return its length, 0 when the client closed or failed (the session is
   then forgotten), or -1 when there is none.  */
static ssize_t
take_message (SCM server, gn_dtls_server *sv, SCM session, gn_tls_session *t,
              char *out, size_t room, const char *subr)
{
  gnutls_packet_t packet = t->held_packet;
  t->held_packet = NULL;
  if (packet == NULL)
    {
      struct gn_tls_recv_args a = { NULL, 0, &packet };
      ssize_t rc = gn_dtls_drive_quietly (session, t, "receive", gn_tls_recv_step, &a);
      if (rc == GNUTLS_E_AGAIN)
        return -1;
      if (rc == 0)
        {
          forget_session (sv, session, STAT_SESSIONS_CLOSED);
          return 0;
        }
      if (rc < 0)
        {
          t->failed = 1;
          forget_session (sv, session, STAT_SESSIONS_FAILED);
          return 0;
        }
    }
  /* More messages of the same datagram, or this one kept because it does
     not fit: the next call starts with this session.  */
  gnutls_datum_t d;
  gnutls_packet_get (packet, &d, NULL);
  if (gnutls_record_check_pending (t->s) > 0 || d.size > room)
    sv->ready = session;
  return gn_dtls_deliver_packet (session, t, packet, out, room, subr);
}

/* Resend the flights whose timer ran out and drop handshakes out of time.
   Return when the next timer runs out.  */
static int64_t
run_timers (gn_dtls_server *sv)
{
  if (scm_is_null (sv->handshaking))
    return GN_NO_LIMIT;
  int64_t now = gn_now_ns ();
  int64_t next = GN_NO_LIMIT;
  for (SCM l = sv->handshaking; scm_is_pair (l);)
    {
      SCM session = SCM_CAR (l);
      l = SCM_CDR (l);          /* advancing may remove SESSION */
      gn_tls_session *t = scm_foreign_object_ref (session, 0);
      if (now >= t->dtls_peer->handshake_deadline)
        {
          forget_session (sv, session, STAT_HANDSHAKES_TIMED_OUT);
          continue;
        }
      if (gnutls_dtls_get_timeout (t->s) == 0)
        {
          /* GnuTLS resends if the timer really ran out (see
             gn_tls_retransmit_deadline).  */
          unsigned long sent = t->sent;
          if (advance_handshake (sv, session, t) || t->failed)
            continue;
          if (t->sent != sent)
            sv->stats[STAT_RETRANSMISSIONS]++;
        }
      int64_t timer = gn_tls_retransmit_deadline (t);
      if (timer < next)
        next = timer;
      if (t->dtls_peer->handshake_deadline < next)
        next = t->dtls_peer->handshake_deadline;
    }
  return next;
}

struct idle_args
{
  gn_dtls_server *sv;
  int64_t now;
};

static SCM
idle_check (void *data, SCM key, SCM session, SCM seed)
{
  struct idle_args *a = data;
  gn_tls_session *t = scm_foreign_object_ref (session, 0);
  if (a->now - t->dtls_peer->last_seen > a->sv->idle_timeout_ns)
    return scm_cons (session, seed);
  return seed;
}

/* Forget clients silent for longer than the idle timeout, looking at most
   four times per timeout.  NOW is the time.  */
static void
drop_idle (gn_dtls_server *sv, int64_t now)
{
  if (sv->idle_timeout_ns < 0)
    return;
  if (now < sv->next_idle_check)
    return;
  sv->next_idle_check = now + sv->idle_timeout_ns / 4;
  struct idle_args a = { sv, now };
  SCM idle = scm_internal_hash_fold (idle_check, &a, SCM_EOL, sv->sessions);
  for (; scm_is_pair (idle); idle = SCM_CDR (idle))
    forget_session (sv, SCM_CAR (idle), STAT_SESSIONS_IDLE);
}


/* Hand datagram BUF (N bytes) from FROM to its session, making one if the
   datagram carries a valid cookie.  Return the session with a message for
   the caller (its length in *GOT), or #f.  NOW is the time.  */
static SCM
dispatch (SCM server, gn_dtls_server *sv, const gn_sockaddr *from,
          unsigned char *buf, size_t n, char *out, size_t room, ssize_t *got,
          int64_t now, const char *subr)
{
  /* Datagrams come in runs from one peer: try the last one's session
     before making a key and looking it up.  */
  char id[PEER_ID_SIZE];
  size_t id_len = peer_id (from, id);
  SCM session = SCM_BOOL_F;
  if (scm_is_true (sv->last))
    {
      server_peer *last = (server_peer *)
        ((gn_tls_session *) scm_foreign_object_ref (sv->last, 0))->dtls_peer;
      if (last->id_len == id_len && memcmp (last->id, id, id_len) == 0)
        session = sv->last;
    }
  SCM key = SCM_BOOL_F;
  if (scm_is_false (session))
    {
      key = scm_from_latin1_stringn (id, id_len);
      session = scm_hash_ref (sv->sessions, key, SCM_BOOL_F);
    }
  if (scm_is_false (session))
    {
      gnutls_dtls_prestate_st prestate;
      memset (&prestate, 0, sizeof prestate);
      if (gnutls_dtls_cookie_verify (&sv->cookie_key, (void *) &from->ss,
                                     from->len, buf, n, &prestate) < 0)
        {
          /* No valid cookie: answer with one, remember nothing.  */
          struct cookie_dest d = { sv->fd, from };
          memset (&prestate, 0, sizeof prestate);
          if (gnutls_dtls_cookie_send (&sv->cookie_key, (void *) &from->ss,
                                       from->len, &prestate, &d,
                                       cookie_push) >= 0)
            sv->stats[STAT_COOKIES_SENT]++;
          return SCM_BOOL_F;
        }
      session = new_session (server, sv, from, key, &prestate);
    }
  sv->last = session;
  gn_tls_session *t = scm_foreign_object_ref (session, 0);
  gn_dtls_peer *p = t->dtls_peer;
  p->inbox = buf;
  p->inbox_len = n;
  p->last_seen = now;
  if (!t->handshake_done && !advance_handshake (sv, session, t))
    {
      p->inbox = NULL;
      return SCM_BOOL_F;
    }
  /* Application data may follow the handshake in the same datagram.  */
  *got = take_message (server, sv, session, t, out, room, subr);
  p->inbox = NULL;
  return *got < 0 ? SCM_BOOL_F : session;
}

/* A receive waits for the socket, and wakes for the next resend or
   handshake limit.  */
static void
refresh_server_op (gn_op *op)
{
  op->wake_at = ((gn_dtls_server *) scm_foreign_object_ref (op->object,
                                                            0))->next_timer;
}

static void
server_op_init (gn_op *op, SCM server, gn_dtls_server *sv)
{
  gn_op_init (op, "dtls-server-receive!", "receive", server, sv->fd, POLLIN,
              sv->timeout_ns);
  op->refresh = refresh_server_op;
  op->port = sv->socket;
}

SCM_DEFINE (gn_make_dtls_server, "%make-dtls-server", 9, 0, 0,
            (SCM socket, SCM credentials, SCM mtu, SCM timeout,
             SCM handshake_timeout, SCM idle_timeout, SCM client_cert,
             SCM alpn, SCM batch),
            "Internal: make a DTLS server on bound UDP @var{socket}; see\n"
            "@code{socket->dtls-server}.")
#define FUNC_NAME "socket->dtls-server"
{
  int fd = gn_port_fd (socket, FUNC_NAME, 1);
  gn_to_tls_cred (credentials, FUNC_NAME, 2);
  unsigned int m = 0;
  if (scm_is_true (mtu))
    {
      if (!scm_is_exact_integer (mtu))
        gn_wrong_type (FUNC_NAME, 3, mtu);
      if (!scm_is_unsigned_integer (mtu, 256, 65535))
        gn_out_of_range (FUNC_NAME, 3, mtu);
      m = scm_to_uint (mtu);
    }
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    gn_syserror (FUNC_NAME);
  if (type != SOCK_DGRAM)
    gn_wrong_type_msg (FUNC_NAME, 1, socket, "datagram socket");
  unsigned int k = DEFAULT_BATCH;
  if (scm_is_true (batch))
    {
      if (!scm_is_exact_integer (batch))
        gn_wrong_type (FUNC_NAME, 9, batch);
      if (!scm_is_unsigned_integer (batch, 1, MAX_BATCH))
        gn_out_of_range_msg (FUNC_NAME, 9, batch,
                             "a batch of 1 to 1024 datagrams");
      k = scm_to_uint (batch);
    }

  /* Only the server reads its socket: non-blocking underneath, the
     user's mode kept, so that a wait knows it without fcntl.  */
  gn_socket_own_nonblock (socket, fd);
  gn_dtls_server *sv = scm_gc_malloc (sizeof *sv, "dtls-server");
  memset (sv, 0, sizeof *sv);
  sv->fd = fd;
  sv->socket = socket;
  sv->credentials = credentials;
  sv->client_cert = client_cert;
  sv->alpn = alpn;
  sv->ready = SCM_BOOL_F;
  sv->last = SCM_BOOL_F;
  sv->waiting = SCM_BOOL_F;
  sv->next_timer = GN_NO_LIMIT;
  sv->handshaking = SCM_EOL;
  sv->mtu = m;
  sv->timeout_ns = gn_timeout_from_scm (timeout, FUNC_NAME, 4);
  sv->handshake_timeout_ns = gn_timeout_from_scm (handshake_timeout,
                                                  FUNC_NAME, 5);
  sv->idle_timeout_ns = gn_timeout_from_scm (idle_timeout, FUNC_NAME, 6);
  sv->sessions = scm_c_make_hash_table (31);
  SCM obj = scm_make_foreign_object_1 (dtls_server_type, sv);
  /* Checked here, not on the first client.  */
  if (scm_is_true (client_cert))
    gn_to_int (client_cert, FUNC_NAME, 7);
  if (!scm_is_null (alpn) && scm_is_false (scm_list_p (alpn)))
    gn_wrong_type (FUNC_NAME, 8, alpn);
  /* Virtual memory mostly: the kernel maps in the pages datagrams land
     on.  */
  sv->batch = k;
  sv->buf = malloc ((size_t) k * DATAGRAM_BUFFER_SIZE);
  sv->msgs = calloc (k, sizeof *sv->msgs);
  sv->iov = calloc (k, sizeof *sv->iov);
  sv->from = calloc (k, sizeof *sv->from);
  if (sv->buf == NULL || sv->msgs == NULL || sv->iov == NULL
      || sv->from == NULL)
    gn_syserror_errno (FUNC_NAME, ENOMEM);
  for (unsigned int i = 0; i < k; i++)
    {
      sv->iov[i].iov_base = sv->buf + (size_t) i * DATAGRAM_BUFFER_SIZE;
      sv->iov[i].iov_len = DATAGRAM_BUFFER_SIZE;
      sv->msgs[i].msg_hdr.msg_iov = &sv->iov[i];
      sv->msgs[i].msg_hdr.msg_iovlen = 1;
      sv->msgs[i].msg_hdr.msg_name = &sv->from[i].ss;
      sv->msgs[i].msg_hdr.msg_namelen = sizeof sv->from[i].ss;
    }
  int rc = gnutls_key_generate (&sv->cookie_key, GNUTLS_COOKIE_KEY_SIZE);
  if (rc < 0)
    gn_raise_tls_error (FUNC_NAME, rc, -1);
  return obj;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_p, "dtls-server?", 1, 0, 0, (SCM obj),
            "Return @code{#t} if @var{obj} is a DTLS server.")
#define FUNC_NAME s_gn_dtls_server_p
{
  return scm_from_bool (gn_is_a (obj, dtls_server_type));
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_receive, "%dtls-server-receive!", 4, 0, 0,
            (SCM server, SCM bv, SCM start, SCM count),
            "Internal: see @code{dtls-server-receive!}.  Return\n"
            "@code{(length . session)}, or @code{%would-block} when the\n"
            "socket is non-blocking, nothing is ready, and suspendable\n"
            "ports are installed (without them: the non-fatal\n"
            "@code{error/again}).")
#define FUNC_NAME "dtls-server-receive!"
{
  gn_dtls_server *sv = to_open_server (server, FUNC_NAME, 1);
  char *data;
  size_t n;
  gn_dtls_message_span (bv, start, count, &data, &n, FUNC_NAME, 2);
  char *out = data;
  /* Whether the socket is non-blocking (in its user's mode) is asked
     only when it would block, not for every message.  */
  int nonblocking = -1;
  gn_op op;
  int waited = 0;
  /* A server whose last read of the socket found nothing (a client
     waiting for each reply) most likely finds nothing now either: on a
     blocking socket it then waits first, sparing the recvmmsg that would
     fail.  A full batch says the server is busy: it reads first again.  */
  int wait_first = sv->drained;
  ssize_t got = -1;
  SCM session = SCM_BOOL_F;
  for (;;)
    {
      if (scm_is_true (sv->ready))
        {
          session = sv->ready;
          sv->ready = SCM_BOOL_F;
          got = take_message (server, sv, session,
                              scm_foreign_object_ref (session, 0),
                              out, n, FUNC_NAME);
          if (got >= 0)
            break;
        }
      if (sv->next < sv->queued)
        {
          /* The next datagram of the last batch.  */
          unsigned int i = sv->next++;
          sv->from[i].len = sv->msgs[i].msg_hdr.msg_namelen;
          session = dispatch (server, sv, &sv->from[i], sv->iov[i].iov_base,
                              sv->msgs[i].msg_len, out, n, &got, gn_now_ns (),
                              FUNC_NAME);
          if (scm_is_true (session))
            break;
          continue;
        }
      sv->next_timer = run_timers (sv);
      drop_idle (sv, gn_now_ns ());
      if (wait_first)
        {
          wait_first = 0;
          if (nonblocking < 0)
            nonblocking = gn_socket_nonblocking (sv->socket, sv->fd);
          if (!nonblocking)
            {
              if (!waited)
                {
                  server_op_init (&op, server, sv);
                  waited = 1;
                }
              /* Then the timers again: the wait may end for one.  */
              gn_op_wait (&op);
              continue;
            }
        }
      /* The kernel writes the address length of the datagrams it fills
         only.  */
      for (unsigned int i = 0; i < sv->queued; i++)
        sv->msgs[i].msg_hdr.msg_namelen = sizeof sv->from[i].ss;
      sv->queued = sv->next = 0;
      int r = recvmmsg (sv->fd, sv->msgs, sv->batch, MSG_DONTWAIT, NULL);
      if (r > 0)
        {
          sv->queued = r;
          sv->stats[STAT_DATAGRAMS] += r;
          sv->stats[STAT_BATCHES]++;
          if ((unsigned int) r == sv->batch)
            sv->drained = 0;
          continue;
        }
      if (errno == EINTR)
        {
          scm_async_tick ();
          continue;
        }
      /* An ICMP error about an earlier datagram to some client: not this
         server's failure.  */
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH
          || errno == ENETUNREACH)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        gn_syserror (FUNC_NAME);
      sv->drained = 1;
      if (nonblocking < 0)
        nonblocking = gn_socket_nonblocking (sv->socket, sv->fd);
      if (nonblocking)
        {
          if (!gn_suspendable_ports_p ())
            gn_raise_tls_error (FUNC_NAME, GNUTLS_E_AGAIN, -1);
          return gn_would_block;
        }
      if (!waited)
        {
          server_op_init (&op, server, sv);
          waited = 1;
        }
      gn_op_wait (&op);
    }
  scm_remember_upto_here_1 (bv);
  return scm_cons (scm_from_ssize_t (got), session);
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_operation, "%dtls-server-operation", 1, 0, 0,
            (SCM server),
            "Internal: a receive on DTLS @var{server} is to wait in a\n"
            "waiter: return its wait port, its clock started.")
#define FUNC_NAME s_gn_dtls_server_operation
{
  gn_dtls_server *sv = to_open_server (server, FUNC_NAME, 1);
  gn_op op;
  server_op_init (&op, server, sv);
  sv->waiting = gn_make_wait_port (&op);
  return sv->waiting;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_socket, "dtls-server-socket", 1, 0, 0,
            (SCM server),
            "Return the UDP socket of DTLS @var{server}.")
#define FUNC_NAME s_gn_dtls_server_socket
{
  return to_server (server, FUNC_NAME, 1)->socket;
}
#undef FUNC_NAME

static SCM
collect_session (void *data, SCM key, SCM session, SCM seed)
{
  return scm_cons (session, seed);
}

SCM_DEFINE (gn_dtls_server_sessions, "dtls-server-sessions", 1, 0, 0,
            (SCM server),
            "Return the list of sessions DTLS @var{server} keeps: one per\n"
            "client whose cookie it accepted and that has not closed, failed\n"
            "or been idle too long, including handshakes under way.")
#define FUNC_NAME s_gn_dtls_server_sessions
{
  gn_dtls_server *sv = to_server (server, FUNC_NAME, 1);
  return scm_internal_hash_fold (collect_session, NULL, SCM_EOL,
                                 sv->sessions);
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_statistics, "dtls-server-statistics", 1, 0, 0,
            (SCM server),
            "Return what DTLS @var{server} has done, as an alist of counts:\n"
            "@code{datagrams} received, @code{cookies-sent},\n"
            "@code{sessions-opened}, @code{handshakes-done},\n"
            "@code{handshakes-failed}, @code{handshakes-timed-out},\n"
            "@code{sessions-closed} (by close_notify),\n"
            "@code{sessions-failed}, @code{sessions-idle},\n"
            "@code{retransmissions}, and @code{batches}: the system calls\n"
            "that received datagrams (@code{datagrams} divided by it is how\n"
            "many one call took on average).")
#define FUNC_NAME s_gn_dtls_server_statistics
{
  gn_dtls_server *sv = to_server (server, FUNC_NAME, 1);
  SCM alist = SCM_EOL;
  for (int i = N_STATS - 1; i >= 0; i--)
    alist = scm_acons (scm_from_utf8_symbol (stat_names[i]),
                       scm_from_ulong (sv->stats[i]), alist);
  return alist;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_server_forget, "dtls-server-forget!", 2, 0, 0,
            (SCM server, SCM session),
            "Make DTLS @var{server} forget @var{session}, one of its\n"
            "clients, without telling the client; its next datagram then\n"
            "needs a new cookie and handshake.  Use @code{bye} first to\n"
            "close the session properly.")
#define FUNC_NAME s_gn_dtls_server_forget
{
  gn_dtls_server *sv = to_server (server, FUNC_NAME, 1);
  gn_tls_session *t = gn_to_tls_session (session, FUNC_NAME, 2);
  if (t->dtls_peer == NULL
      || !scm_is_eq (scm_hash_ref (sv->sessions, peer_key (&t->dtls_peer->addr),
                                   SCM_BOOL_F), session))
    gn_out_of_range (FUNC_NAME, 2, session);
  forget_session (sv, session, STAT_SESSIONS_CLOSED);
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_close_dtls_server, "%close-dtls-server", 1, 0, 0,
            (SCM server),
            "Internal: forget every session of @var{server} and mark it\n"
            "closed.")
#define FUNC_NAME "close-dtls-server"
{
  gn_dtls_server *sv = to_server (server, FUNC_NAME, 1);
  gn_wake_waiting (&sv->waiting, 1);
  sv->fd = -1;
  sv->queued = sv->next = 0;
  scm_hash_clear_x (sv->sessions);
  sv->handshaking = SCM_EOL;
  sv->ready = SCM_BOOL_F;
  sv->last = SCM_BOOL_F;
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_session_server, "%dtls-session-server", 1, 0, 0,
            (SCM session),
            "Internal: the DTLS server @var{session} belongs to, or\n"
            "@code{#f}.")
#define FUNC_NAME s_gn_dtls_session_server
{
  return gn_to_tls_session (session, FUNC_NAME, 1)->dtls_server;
}
#undef FUNC_NAME

void
gn_init_dtls_server (void)
{
  dtls_server_type =
    scm_make_foreign_object_type (scm_from_utf8_symbol ("dtls-server"),
                                  scm_list_1 (scm_from_utf8_symbol ("data")),
                                  finalize_server);
  /* For (net dtls)'s printer, a GOOPS method on this class.  */
  scm_c_define ("%dtls-server-type", dtls_server_type);
#ifndef SCM_MAGIC_SNARFER
#include "dtls-server.x"
#endif
}
