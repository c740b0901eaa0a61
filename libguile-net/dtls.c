/* dtls.c -- datagram TLS: messages over DTLS sessions.

   A client is an ordinary session (tls-session.c) made with
   connection-flag/datagram over a connected UDP socket.  This file adds
   what datagrams need: a message interface that never cuts a message (one
   larger than the data MTU is refused before sending; one larger than the
   caller's buffer is kept for the next call), and the MTU.  The server,
   which serves many clients on one UDP socket, is dtls-server.c.  */

#include "tls.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* ---- errors ---------------------------------------------------------- */

gn_tls_session *
gn_to_dtls_session (SCM obj, const char *subr, int pos)
{
  gn_tls_session *t = gn_to_tls_session (obj, subr, pos);
  if (!(t->init_flags & GNUTLS_DATAGRAM))
    gn_wrong_type_msg (subr, pos, obj,
                       "DTLS session (made with connection-flag/datagram)");
  if (t->s == NULL)
    gn_raise_tls_error (subr, GNUTLS_E_INVALID_SESSION, -1);
  return t;
}

/* Where a message goes or comes from: COUNT bytes of bytevector BV from
   START (argument POS and the two after it); unbound or #f means the
   default (from 0, to the end).  Into *OUT and *N.  */
void
gn_dtls_message_span (SCM bv, SCM start, SCM count, char **out, size_t *n,
                      const char *subr, int pos)
{
  gn_bytevector_span (bv, pos, scm_is_false (start) ? SCM_UNDEFINED : start,
                      pos + 1, scm_is_false (count) ? SCM_UNDEFINED : count,
                      pos + 2, 1, subr, out, n);
}

/* Copy the message in *PACKET into OUT (room for ROOM bytes) and free it;
   a message too large is kept in T for the next call and refused.  */
size_t
gn_dtls_deliver_packet (SCM session, gn_tls_session *t,
                        gnutls_packet_t packet, char *out, size_t room,
                        const char *subr)
{
  gnutls_datum_t d;
  gnutls_packet_get (packet, &d, NULL);
  if (d.size > room)
    {
      t->held_packet = packet;
      gn_raise_dtls_message_too_large (subr, d.size, room, session);
    }
  memcpy (out, d.data, d.size);
  gnutls_packet_deinit (packet);
  return d.size;
}

/* Run STEP of a client's message operation through the driver, in the
   mode the session procedures have (tls-ops.c).  */
static ssize_t
drive (SCM session, gn_tls_session *t, const char *subr, const char *name,
       gn_tls_step step, void *args)
{
  gn_tls_io io;
  gn_tls_io_init (&io, t, subr, name, step, args, GN_TLS_AUTO);
  return gn_tls_drive (session, t, &io);
}

/* Run STEP of a server's session, never waiting nor raising: GnuTLS's
   result, GNUTLS_E_AGAIN when it needs the next datagram.  */
ssize_t
gn_dtls_drive_quietly (SCM session, gn_tls_session *t, const char *name,
                       gn_tls_step step, void *args)
{
  gn_tls_io io;
  gn_tls_io_init (&io, t, "dtls-server-receive!", name, step, args,
                  GN_TLS_AGAIN);
  io.quiet = 1;
  return gn_tls_drive (session, t, &io);
}

SCM_DEFINE (gn_dtls_operation, "%dtls-operation", 2, 0, 0,
            (SCM session, SCM kind),
            "Internal: a message operation of @var{kind} (@code{receive} or\n"
            "@code{send}) on DTLS client @var{session} is to wait in a\n"
            "waiter: return its wait port.")
#define FUNC_NAME s_gn_dtls_operation
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  int sending = scm_is_eq (kind, scm_from_utf8_symbol ("send"));
  if (!sending && !scm_is_eq (kind, scm_from_utf8_symbol ("receive")))
    gn_out_of_range (FUNC_NAME, 2, kind);
  return gn_tls_operation (session, t, sending ? "dtls-send" : "dtls-receive!",
                           sending ? "write" : "read", sending);
}
#undef FUNC_NAME

/* ---- MTU ------------------------------------------------------------- */

SCM_DEFINE (gn_set_session_dtls_mtu, "set-session-dtls-mtu!", 2, 0, 0,
            (SCM session, SCM mtu),
            "Set the path MTU of DTLS @var{session} to @var{mtu} bytes, the\n"
            "largest datagram it may send (GnuTLS's default is 1,200).\n"
            "Handshake messages are fragmented to fit; application messages\n"
            "larger than @code{session-dtls-data-mtu} are refused.")
#define FUNC_NAME s_gn_set_session_dtls_mtu
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  if (!scm_is_exact_integer (mtu))
    gn_wrong_type (FUNC_NAME, 2, mtu);
  /* Below ~256 bytes not even the record overhead and a handshake
     fragment header fit.  */
  if (!scm_is_unsigned_integer (mtu, 256, 65535))
    gn_out_of_range (FUNC_NAME, 2, mtu);
  gnutls_dtls_set_mtu (t->s, scm_to_uint (mtu));
  return SCM_UNSPECIFIED;
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_dtls_mtu, "session-dtls-mtu", 1, 0, 0, (SCM session),
            "Return the path MTU of DTLS @var{session}, in bytes.")
#define FUNC_NAME s_gn_session_dtls_mtu
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  return scm_from_uint (gnutls_dtls_get_mtu (t->s));
}
#undef FUNC_NAME

SCM_DEFINE (gn_session_dtls_data_mtu, "session-dtls-data-mtu", 1, 0, 0,
            (SCM session),
            "Return the largest message, in bytes, that DTLS @var{session}\n"
            "can send in one datagram: the MTU less the record overhead of\n"
            "the cipher negotiated (before the handshake, of the worst\n"
            "case).")
#define FUNC_NAME s_gn_session_dtls_data_mtu
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  return scm_from_uint (gnutls_dtls_get_data_mtu (t->s));
}
#undef FUNC_NAME

/* ---- messages -------------------------------------------------------- */

/* A send that GnuTLS refuses for its size (GNUTLS_E_LARGE_PACKET, which
   it decides before encrypting anything) ends the step with TOO_LARGE
   set, not as a failure of the session.  Leaving the check to GnuTLS
   spares a gnutls_dtls_get_data_mtu per message (GnuTLS computes it
   again inside).  */
struct dtls_send_args
{
  struct gn_tls_send_args send;
  int too_large;
};

static ssize_t
dtls_send_step (gn_tls_session *t, void *args)
{
  struct dtls_send_args *a = args;
  ssize_t rc = gn_tls_send_step (t, &a->send);
  if (rc == GNUTLS_E_LARGE_PACKET)
    {
      a->too_large = 1;
      return 0;
    }
  return rc;
}

SCM_DEFINE (gn_dtls_send, "%dtls-send", 2, 2, 0,
            (SCM session, SCM bv, SCM start, SCM count),
            "Send @var{count} bytes of bytevector @var{bv} from @var{start}\n"
            "(by default all of it) as one message over DTLS @var{session}\n"
            "and return @var{count}, which must not be zero.  A message\n"
            "larger than @code{session-dtls-data-mtu} raises\n"
            "@code{&dtls-message-too-large}: datagrams are never cut.  On a\n"
            "non-blocking session that would block, raise the non-fatal\n"
            "@code{error/again}.")
#define FUNC_NAME "dtls-send"
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  char *data;
  size_t n;
  gn_dtls_message_span (bv, start, count, &data, &n, FUNC_NAME, 2);
  /* GnuTLS sends no empty record, and a receiver reads 0 as "closed".  */
  if (n == 0)
    {
      if (SCM_UNBNDP (count) || scm_is_false (count))
        gn_out_of_range (FUNC_NAME, 2, bv);
      gn_out_of_range (FUNC_NAME, 4, count);
    }
  gn_tls_check_handshaken (session, t, FUNC_NAME);
  struct dtls_send_args a = { { data, n }, 0 };
  ssize_t r = drive (session, t, FUNC_NAME, "write", dtls_send_step, &a);
  scm_remember_upto_here_1 (bv);
  if (a.too_large)
    {
      /* The data MTU, or a smaller record size the peer asked for.  */
      size_t limit = gnutls_dtls_get_data_mtu (t->s);
      size_t record = gnutls_record_get_max_size (t->s);
      gn_raise_dtls_message_too_large (FUNC_NAME, n,
                                       record < limit ? record : limit,
                                       session);
    }
  return r == GN_TLS_WOULD_BLOCK ? gn_would_block : scm_from_size_t (n);
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_receive, "%dtls-receive!", 2, 2, 0,
            (SCM session, SCM bv, SCM start, SCM count),
            "Receive one message from DTLS client @var{session} into\n"
            "bytevector @var{bv} at @var{start} (room for @var{count}\n"
            "bytes) and return its length, 0 when the peer closed the\n"
            "session.  A message larger than that room raises\n"
            "@code{&dtls-message-too-large} and is kept: the next call with\n"
            "room enough returns it.  On a non-blocking session with\n"
            "nothing to read, raise the non-fatal @code{error/again}.")
#define FUNC_NAME "dtls-receive!"
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  char *data;
  size_t n;
  gn_dtls_message_span (bv, start, count, &data, &n, FUNC_NAME, 2);
  if (t->dtls_peer != NULL)
    gn_raise_state_error (FUNC_NAME, "the session belongs to a DTLS server: "
                          "its messages arrive through dtls-server-receive!",
                          session);
  char *out = data;
  gnutls_packet_t packet = t->held_packet;
  t->held_packet = NULL;
  if (packet == NULL)
    {
      gn_tls_check_handshaken (session, t, FUNC_NAME);
      struct gn_tls_recv_args a = { NULL, 0, &packet };
      ssize_t r = drive (session, t, FUNC_NAME, "read", gn_tls_recv_step, &a);
      if (r == GN_TLS_WOULD_BLOCK)
        return gn_would_block;
      if (packet == NULL)
        return scm_from_int (0);
    }
  size_t got = gn_dtls_deliver_packet (session, t, packet, out, n, FUNC_NAME);
  scm_remember_upto_here_1 (bv);
  return scm_from_size_t (got);
}
#undef FUNC_NAME

SCM_DEFINE (gn_dtls_session_peer, "dtls-session-peer", 1, 0, 0,
            (SCM session),
            "Return the socket address of the peer of DTLS @var{session}: a\n"
            "server's client, or the server a client is connected to.")
#define FUNC_NAME s_gn_dtls_session_peer
{
  gn_tls_session *t = gn_to_dtls_session (session, FUNC_NAME, 1);
  if (t->dtls_peer != NULL)
    return gn_sockaddr_to_scm ((struct sockaddr *) &t->dtls_peer->addr.ss,
                               t->dtls_peer->addr.len, FUNC_NAME);
  if (t->fd < 0)
    gn_raise_state_error (FUNC_NAME, "the session has no socket transport",
                          session);
  /* Its descriptor may since have been reused for another socket.  */
  if (!gn_tls_transport_open (t))
    gn_syserror_errno (FUNC_NAME, EBADF);
  gn_sockaddr a;
  a.len = sizeof a.ss;
  if (getpeername (t->fd, (struct sockaddr *) &a.ss, &a.len) < 0)
    gn_syserror (FUNC_NAME);
  return gn_sockaddr_to_scm ((struct sockaddr *) &a.ss, a.len, FUNC_NAME);
}
#undef FUNC_NAME

void
gn_init_dtls (void)
{
  gn_init_dtls_server ();
#include "dtls.x"
}
