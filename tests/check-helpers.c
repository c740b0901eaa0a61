/* Unit tests of libguile-net's C helpers with Check: address conversion,
   the option table, error mapping and waits.  Guile is initialised once;
   tests run in one process (CK_NOFORK: forking a Guile process that has
   started threads is unsafe) and report in TAP, so `make check' counts each.  */

#include "guile-net.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* Call FN (DATA) and return the key of the exception it throws, or #f;
   store the exception's arguments in *ARGS.  */
struct call { void (*fn) (void *); void *data; };

static SCM
call_body (void *data)
{
  struct call *c = data;
  c->fn (c->data);
  return SCM_BOOL_F;
}

static SCM last_args;

static SCM
call_handler (void *data, SCM key, SCM args)
{
  last_args = args;
  return key;
}

static SCM
catch_key (void (*fn) (void *), void *data)
{
  struct call c = { fn, data };
  last_args = SCM_EOL;
  return scm_internal_catch (SCM_BOOL_T, call_body, &c, call_handler, NULL);
}

static int
key_is (SCM key, const char *name)
{
  return scm_is_symbol (key) && scm_is_eq (key, scm_from_utf8_symbol (name));
}

/* Addresses.  */

START_TEST (test_inet_vector_to_sockaddr)
{
  SCM v = scm_vector (scm_list_3 (scm_from_int (AF_INET),
                                  scm_from_uint32 (INADDR_LOOPBACK),
                                  scm_from_int (8080)));
  gn_sockaddr sa;
  SCM rest = gn_scm_to_sockaddr (v, SCM_UNDEFINED, SCM_UNDEFINED, &sa, "t", 1);
  struct sockaddr_in *in = (struct sockaddr_in *) &sa.ss;
  ck_assert (scm_is_null (rest));
  ck_assert_int_eq (sa.len, sizeof *in);
  ck_assert_int_eq (in->sin_family, AF_INET);
  ck_assert_uint_eq (ntohs (in->sin_port), 8080);
  ck_assert_uint_eq (ntohl (in->sin_addr.s_addr), INADDR_LOOPBACK);
}
END_TEST

START_TEST (test_family_args_leave_flags)
{
  gn_sockaddr sa;
  SCM rest = gn_scm_to_sockaddr (scm_from_int (AF_INET),
                                 scm_from_uint32 (INADDR_LOOPBACK),
                                 scm_list_2 (scm_from_int (53),
                                             scm_from_int (MSG_DONTWAIT)),
                                 &sa, "t", 3);
  ck_assert_int_eq (scm_ilength (rest), 1);
  ck_assert_int_eq (scm_to_int (SCM_CAR (rest)), MSG_DONTWAIT);
}
END_TEST

START_TEST (test_inet6_round_trip)
{
  uint8_t addr[16];
  inet_pton (AF_INET6, "2001:db8::42", addr);
  SCM n = gn_from_ipv6 (addr);
  gn_sockaddr sa;
  gn_scm_to_sockaddr (scm_from_int (AF_INET6), n,
                      scm_list_3 (scm_from_int (443), scm_from_int (5),
                                  scm_from_int (2)),
                      &sa, "t", 1);
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa.ss;
  ck_assert_int_eq (memcmp (in6->sin6_addr.s6_addr, addr, 16), 0);
  ck_assert_uint_eq (ntohs (in6->sin6_port), 443);
  ck_assert_uint_eq (ntohl (in6->sin6_flowinfo), 5);
  ck_assert_uint_eq (in6->sin6_scope_id, 2);
  SCM back = gn_sockaddr_to_scm ((struct sockaddr *) &sa.ss, sa.len, "t");
  ck_assert (scm_is_true (scm_num_eq_p (scm_c_vector_ref (back, 1), n)));
  ck_assert_int_eq (scm_to_int (scm_c_vector_ref (back, 3)), 5);
}
END_TEST

START_TEST (test_unix_lengths)
{
  gn_sockaddr sa;
  gn_scm_to_sockaddr (scm_from_int (AF_UNIX), scm_from_utf8_string ("/tmp/s"),
                      SCM_EOL, &sa, "t", 1);
  /* A path counts its terminating NUL; an abstract name does not.  */
  ck_assert_int_eq (sa.len, offsetof (struct sockaddr_un, sun_path) + 7);
  gn_scm_to_sockaddr (scm_from_int (AF_UNIX),
                      scm_from_utf8_stringn ("\0abs", 4), SCM_EOL, &sa, "t", 1);
  ck_assert_int_eq (sa.len, offsetof (struct sockaddr_un, sun_path) + 4);
  SCM back = gn_sockaddr_to_scm ((struct sockaddr *) &sa.ss, sa.len, "t");
  ck_assert_int_eq (scm_c_string_length (scm_c_vector_ref (back, 1)), 4);
}
END_TEST

static void
port_70000 (void *data)
{
  gn_to_port_number (scm_from_int (70000), "bind", 4);
}

static void
port_string (void *data)
{
  gn_to_port_number (scm_from_utf8_string ("80"), "bind", 4);
}

START_TEST (test_port_number_checks)
{
  ck_assert (key_is (catch_key (port_70000, NULL), "out-of-range"));
  ck_assert (key_is (catch_key (port_string, NULL), "wrong-type-arg"));
  ck_assert_uint_eq (gn_to_port_number (scm_from_int (65535), "t", 1), 65535);
}
END_TEST

/* The option table.  */

START_TEST (test_option_table)
{
  ck_assert_int_eq (gn_option_lookup (SOL_SOCKET, SO_LINGER), GN_OPT_LINGER);
  ck_assert_int_eq (gn_option_lookup (SOL_SOCKET, SO_REUSEADDR), GN_OPT_INT);
  ck_assert_int_eq (gn_option_lookup (IPPROTO_IP, IP_ADD_MEMBERSHIP),
                    GN_OPT_MREQ);
  ck_assert_int_eq (gn_option_lookup (IPPROTO_IP, IP_MULTICAST_IF),
                    GN_OPT_INADDR);
  ck_assert_int_eq (gn_option_lookup (SOL_SOCKET, 12345), GN_OPT_UNKNOWN);
  /* Options are keyed by level too: SO_LINGER's number is no TCP option.  */
  ck_assert_int_eq (gn_option_lookup (IPPROTO_TCP, SO_LINGER), GN_OPT_UNKNOWN);
  ck_assert_str_eq (gn_option_name (IPPROTO_TCP, TCP_NODELAY), "TCP_NODELAY");
  ck_assert_ptr_null (gn_option_name (SOL_SOCKET, 12345));
}
END_TEST

/* Error mapping.  */

static void
raise_refused (void *data)
{
  gn_syserror_errno ("connect", ECONNREFUSED);
}

static void
raise_in_use (void *data)
{
  gn_syserror_errno ("bind", EADDRINUSE);
}

static void
check_system_error (void (*raise) (void *), const char *subr, int err)
{
  SCM key = catch_key (raise, NULL);
  ck_assert (key_is (key, "system-error"));
  /* (subr message args (errno)) */
  char *got = scm_to_utf8_string (SCM_CAR (last_args));
  int same = strcmp (got, subr) == 0;
  free (got);
  ck_assert_msg (same, "subr is not %s", subr);
  SCM rest = scm_list_ref (last_args, scm_from_int (3));
  ck_assert_int_eq (scm_to_int (SCM_CAR (rest)), err);
}

START_TEST (test_syserror_carries_errno)
{
  check_system_error (raise_in_use, "bind", EADDRINUSE);
}
END_TEST

/* ECONNREFUSED is also a &connection-refused condition, made by (net
   error); to `catch' it is the same system-error.  */
START_TEST (test_refused_is_still_a_system_error)
{
  check_system_error (raise_refused, "connect", ECONNREFUSED);
}
END_TEST

static void
deadline_negative (void *data)
{
  gn_deadline_from_scm (scm_from_int (-1), "t", 1);
}

START_TEST (test_deadlines)
{
  ck_assert (gn_deadline_from_scm (SCM_BOOL_F, "t", 1) == GN_NO_DEADLINE);
  ck_assert (gn_deadline_after_ns (-1) == GN_NO_DEADLINE);
  int64_t d = gn_deadline_from_scm (scm_from_double (0.5), "t", 1);
  int64_t left = d - gn_now_ns ();
  ck_assert (left > 0 && left <= 500000000);
  ck_assert (key_is (catch_key (deadline_negative, NULL), "out-of-range"));
}
END_TEST

/* Waiting.  */

START_TEST (test_wait_fd)
{
  int p[2];
  ck_assert_int_eq (pipe (p), 0);
  /* Nothing to read: the wait ends at its deadline.  */
  ck_assert_int_eq (gn_wait_fd (p[0], POLLIN, gn_deadline_after_ns (30000000)), 0);
  ck_assert_int_eq (gn_wait_fd (p[1], POLLOUT, gn_deadline_after_ns (0)), 1);
  ck_assert_int_eq (write (p[1], "x", 1), 1);
  ck_assert_int_eq (gn_wait_fd (p[0], POLLIN, GN_NO_DEADLINE), 1);
  close (p[0]);
  close (p[1]);
}
END_TEST

static Suite *
helpers_suite (void)
{
  Suite *s = suite_create ("helpers");
  TCase *addresses = tcase_create ("addresses");
  tcase_add_test (addresses, test_inet_vector_to_sockaddr);
  tcase_add_test (addresses, test_family_args_leave_flags);
  tcase_add_test (addresses, test_inet6_round_trip);
  tcase_add_test (addresses, test_unix_lengths);
  tcase_add_test (addresses, test_port_number_checks);
  suite_add_tcase (s, addresses);
  TCase *options = tcase_create ("options");
  tcase_add_test (options, test_option_table);
  suite_add_tcase (s, options);
  TCase *errors = tcase_create ("errors and waits");
  tcase_add_test (errors, test_syserror_carries_errno);
  tcase_add_test (errors, test_refused_is_still_a_system_error);
  tcase_add_test (errors, test_deadlines);
  tcase_add_test (errors, test_wait_fd);
  suite_add_tcase (s, errors);
  return s;
}

int
main (void)
{
  scm_init_guile ();
  SRunner *sr = srunner_create (helpers_suite ());
  srunner_set_fork_status (sr, CK_NOFORK);
  srunner_set_tap (sr, "-");
  srunner_run_all (sr, CK_SILENT);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? 0 : 1;
}
