/* mmsg.c -- batched datagram I/O: many datagrams in one system call.

   recvmmsg! and sendmmsg move up to a vector's worth of datagrams with
   recvmmsg(2) and sendmmsg(2).  The caller keeps the bytevectors, the
   length vector and the address vector from call to call, and addresses
   of the same family are updated in place, so a loop over IPv4 datagrams
   allocates nothing.  Waiting, timeouts and errors are those of recvfrom!
   and sendto (wait.c, the socket's read and write timeouts).  */

#include "guile-net.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

/* The most datagrams one call takes: the kernel's UIO_MAXIOV.  */
#define MAX_BATCH 1024

/* One batch: the headers, iovecs and addresses of up to MAX_BATCH
   datagrams, in memory the collector does not scan.  */
typedef struct
{
  unsigned int n;
  int flags;
  struct mmsghdr *msgs;
  struct iovec *iov;
  gn_sockaddr *addrs;
} batch;

static void
batch_alloc (batch *b, size_t n, int flags)
{
  b->n = n;
  b->flags = flags;
  b->msgs = scm_gc_malloc_pointerless (n * sizeof *b->msgs, "mmsghdr");
  b->iov = scm_gc_malloc_pointerless (n * sizeof *b->iov, "iovec");
  b->addrs = scm_gc_malloc_pointerless (n * sizeof *b->addrs, "addresses");
  memset (b->msgs, 0, n * sizeof *b->msgs);
}

/* The vector argument POS of SUBR with at most MAX_BATCH elements; its
   length.  */
static size_t
batch_length (SCM v, const char *subr, int pos)
{
  if (!scm_is_vector (v))
    gn_wrong_type (subr, pos, v);
  size_t n = scm_c_vector_length (v);
  if (n > MAX_BATCH)
    gn_out_of_range_msg (subr, pos, v, "more than 1024 datagrams");
  return n;
}

/* Optional vector argument POS of the same length N, or #f.  */
static int
companion (SCM v, size_t n, const char *subr, int pos)
{
  if (SCM_UNBNDP (v) || scm_is_false (v))
    return 0;
  if (!scm_is_vector (v))
    gn_wrong_type (subr, pos, v);
  if (scm_c_vector_length (v) != n)
    gn_out_of_range_msg (subr, pos, v, "not as long as the buffers");
  return 1;
}

/* Point B's iovecs at the bytevectors of BUFFERS (argument 2 of SUBR),
   COUNTS bytes of each when COUNTS (argument 3) is a vector, else all.  */
static void
batch_buffers (batch *b, SCM buffers, SCM counts, const char *subr)
{
  int with_counts = scm_is_vector (counts);
  for (size_t i = 0; i < b->n; i++)
    {
      SCM bv = SCM_SIMPLE_VECTOR_REF (buffers, i);
      if (!scm_is_bytevector (bv))
        gn_wrong_type (subr, 2, buffers);
      size_t len = SCM_BYTEVECTOR_LENGTH (bv);
      if (with_counts)
        {
          SCM c = SCM_SIMPLE_VECTOR_REF (counts, i);
          if (!scm_is_exact_integer (c))
            gn_wrong_type (subr, 3, counts);
          if (!scm_is_unsigned_integer (c, 0, len))
            gn_out_of_range_msg (subr, 3, counts,
                                 "a count beyond its bytevector");
          len = scm_to_size_t (c);
        }
      b->iov[i].iov_base = SCM_BYTEVECTOR_CONTENTS (bv);
      b->iov[i].iov_len = len;
      b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
      b->msgs[i].msg_hdr.msg_iovlen = 1;
    }
}

static ssize_t
attempt_recvmmsg (int fd, void *data)
{
  batch *b = data;
  for (unsigned int i = 0; i < b->n; i++)
    {
      b->msgs[i].msg_hdr.msg_name = &b->addrs[i].ss;
      b->msgs[i].msg_hdr.msg_namelen = sizeof b->addrs[i].ss;
    }
  return recvmmsg (fd, b->msgs, b->n, b->flags | MSG_DONTWAIT, NULL);
}

static ssize_t
attempt_sendmmsg (int fd, void *data)
{
  batch *b = data;
  return sendmmsg (fd, b->msgs, b->n, b->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Store the address SA into element I of ADDRESSES: in place when it
   holds an IPv4 address already (no allocation), else a new one.  */
static void
store_address (SCM addresses, size_t i, const gn_sockaddr *sa,
               const char *subr)
{
  SCM old = SCM_SIMPLE_VECTOR_REF (addresses, i);
  if (sa->ss.ss_family == AF_INET && scm_is_vector (old)
      && SCM_SIMPLE_VECTOR_LENGTH (old) == 3
      && scm_is_eq (SCM_SIMPLE_VECTOR_REF (old, 0), scm_from_int (AF_INET)))
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) &sa->ss;
      SCM_SIMPLE_VECTOR_SET (old, 1,
                             scm_from_uint32 (ntohl (in->sin_addr.s_addr)));
      SCM_SIMPLE_VECTOR_SET (old, 2, scm_from_uint16 (ntohs (in->sin_port)));
      return;
    }
  SCM_SIMPLE_VECTOR_SET (addresses, i,
                         sa->len > 0 && sa->ss.ss_family != AF_UNSPEC
                         ? gn_sockaddr_to_scm ((const struct sockaddr *) &sa->ss,
                                               sa->len, subr)
                         : SCM_BOOL_F);
}

SCM_DEFINE (gn_recvmmsg, "recvmmsg!", 2, 3, 0,
            (SCM sock, SCM buffers, SCM sizes, SCM addresses, SCM flags),
            "Receive up to @code{(vector-length @var{buffers})} datagrams\n"
            "from socket port @var{sock} in one system call, the @var{i}th\n"
            "into the @var{i}th bytevector of vector @var{buffers}, and\n"
            "return how many came.  Like @code{recvfrom!}, it waits for the\n"
            "first (within the socket's read timeout) and then takes what\n"
            "is already queued, without waiting again.  @var{sizes}, a\n"
            "vector as long as @var{buffers} (or @code{#f}), receives each\n"
            "datagram's length; a datagram larger than its bytevector is\n"
            "cut, as @code{recvfrom!} cuts it.  @var{addresses}, a vector as\n"
            "long (or @code{#f}), receives each sender's socket address:\n"
            "an IPv4 address already there is updated in place, so a loop\n"
            "that keeps its vectors allocates nothing.  @var{flags} is as\n"
            "for @code{recv!}.  A non-blocking socket with nothing queued\n"
            "raises @code{EAGAIN}.  At most 1,024 datagrams per call.")
#define FUNC_NAME s_gn_recvmmsg
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  size_t n = batch_length (buffers, FUNC_NAME, 2);
  int want_sizes = companion (sizes, n, FUNC_NAME, 3);
  int want_addresses = companion (addresses, n, FUNC_NAME, 4);
  int f = SCM_UNBNDP (flags) ? 0 : gn_to_int (flags, FUNC_NAME, 5);
  if (n == 0)
    return scm_from_int (0);
  batch b;
  batch_alloc (&b, n, f & ~MSG_WAITALL);
  batch_buffers (&b, buffers, SCM_BOOL_F, FUNC_NAME);
  gn_op op;
  gn_socket_op (&op, sock, fd, GN_TIMEOUT_READ, FUNC_NAME);
  ssize_t got = gn_retry_io (&op, (f & MSG_DONTWAIT) ? 1 : -1,
                             attempt_recvmmsg, &b);
  if (got < 0)
    gn_syserror_errno (FUNC_NAME, EAGAIN);
  for (ssize_t i = 0; i < got; i++)
    {
      if (want_sizes)
        SCM_SIMPLE_VECTOR_SET (sizes, i, scm_from_uint (b.msgs[i].msg_len));
      if (want_addresses)
        {
          b.addrs[i].len = b.msgs[i].msg_hdr.msg_namelen;
          store_address (addresses, i, &b.addrs[i], FUNC_NAME);
        }
    }
  scm_remember_upto_here_1 (buffers);
  return scm_from_ssize_t (got);
}
#undef FUNC_NAME

SCM_DEFINE (gn_sendmmsg, "sendmmsg", 2, 3, 0,
            (SCM sock, SCM buffers, SCM counts, SCM addresses, SCM flags),
            "Send the bytevectors of vector @var{buffers} as datagrams on\n"
            "socket port @var{sock}, as many as one system call takes, and\n"
            "return how many were sent.  @var{counts}, a vector as long as\n"
            "@var{buffers} (or @code{#f}: each bytevector whole), gives how\n"
            "many bytes of each to send.  @var{addresses}, a vector as long\n"
            "(or @code{#f} on a connected socket), gives each datagram's\n"
            "destination socket address.  @var{flags} is as for\n"
            "@code{send}.  A blocking socket sends them all, waiting (within\n"
            "its write timeout) while its buffer is full; a non-blocking one\n"
            "sends what fits and returns that number, raising @code{EAGAIN}\n"
            "if none does.  At most 1,024 datagrams per call.")
#define FUNC_NAME s_gn_sendmmsg
{
  int fd = gn_port_fd (sock, FUNC_NAME, 1);
  size_t n = batch_length (buffers, FUNC_NAME, 2);
  int with_counts = companion (counts, n, FUNC_NAME, 3);
  int with_addresses = companion (addresses, n, FUNC_NAME, 4);
  int f = SCM_UNBNDP (flags) ? 0 : gn_to_int (flags, FUNC_NAME, 5);
  if (n == 0)
    return scm_from_int (0);
  batch b;
  batch_alloc (&b, n, f);
  batch_buffers (&b, buffers, with_counts ? counts : SCM_BOOL_F, FUNC_NAME);
  for (size_t i = 0; with_addresses && i < n; i++)
    {
      SCM a = SCM_SIMPLE_VECTOR_REF (addresses, i);
      if (!scm_is_vector (a))
        gn_wrong_type (FUNC_NAME, 4, addresses);
      gn_scm_to_sockaddr (a, SCM_UNDEFINED, SCM_EOL, &b.addrs[i],
                          FUNC_NAME, 4);
      b.msgs[i].msg_hdr.msg_name = &b.addrs[i].ss;
      b.msgs[i].msg_hdr.msg_namelen = b.addrs[i].len;
    }
  int nowait = (f & MSG_DONTWAIT) ? 1 : -1;
  gn_op op;
  gn_socket_op (&op, sock, fd, GN_TIMEOUT_WRITE, FUNC_NAME);
  size_t done = 0;
  while (done < n)
    {
      ssize_t sent = gn_retry_io (&op, nowait, attempt_sendmmsg, &b);
      if (sent < 0)
        {
          if (done > 0)
            break;   /* non-blocking: what fitted */
          gn_syserror_errno (FUNC_NAME, EAGAIN);
        }
      done += sent;
      /* A blocking socket sends the rest once there is room.  */
      b.msgs += sent;
      b.n -= sent;
      if (nowait > 0)
        break;
      scm_async_tick ();
    }
  scm_remember_upto_here_1 (buffers);
  return scm_from_size_t (done);
}
#undef FUNC_NAME

void
gn_init_mmsg (void)
{
#ifndef SCM_MAGIC_SNARFER
#include "mmsg.x"
#endif
}
