/* tls-names.h -- the one driver of the names of GnuTLS's constants
   (tls-names.c) and the tables it drives, for the files holding tables:
   tls-names.c (the session's families), tls-errors.c (error/) and
   tls-x509-names.c (the X.509 families).  Private to those files.  */

#ifndef GUILE_NET_TLS_NAMES_H
#define GUILE_NET_TLS_NAMES_H

#include "tls.h"

#include <limits.h>

/* A value GnuTLS has no number for (historic, or ours only).  */
#define GN_NO_VALUE LONG_MIN

/* One row of a family: one value, bound under one name.  */
typedef struct
{
  const char *binding;  /* FAMILY/BINDING is defined; NULL: not bound */
  const char *symbol;   /* the value, in a symbol family */
  long value;           /* GnuTLS's number, or GN_NO_VALUE */
  const char *string;   /* what FAMILY->string says; NULL: the symbol;
                           the value, in a string family */
  const char *words;    /* certificate statuses: why, in English */
} gn_name;

/* Symbol-valued rows; integer-valued rows; string-valued rows.  */
#define GN_SYMBOL_ROW(b, sym, v, str) { b, sym, (long) (v), str, NULL }
#define GN_INTEGER_ROW(b, v, str) { b, NULL, (long) (v), str, NULL }
#define GN_STRING_ROW(b, str) { b, NULL, GN_NO_VALUE, str, NULL }

typedef enum
{
  GN_INTEGER_VALUES,    /* GnuTLS's numbers: options, flags, codes */
  GN_SYMBOL_VALUES,     /* symbols: what describes a session or key */
  GN_STRING_VALUES      /* strings (OIDs): bound only, never looked up */
} gn_value_kind;

typedef struct
{
  const char *name;         /* cipher: bindings cipher/..., cipher->string */
  gn_value_kind kind;
  const gn_name *rows;
  size_t count;
  int to_string;            /* define FAMILY->string here */
  const char *what;         /* for FAMILY->string's docstring */
  /* Symbol families whose symbols are GnuTLS's names: whether GnuTLS
     knows NAME, for values of a newer GnuTLS than these tables.  */
  int (*known) (const char *name);
  /* What FAMILY->string says of VALUE when GnuTLS names it at run time
     (pk-algorithm/, sign-algorithm/); NULL: the row's string.  */
  const char *(*gnutls_string) (long value);
  /* Out-of-range message: "not one of the FAMILY/ values" (the X.509
     families' wording) rather than "not a FAMILY/ value".  */
  int one_of;
  /* Made at initialization.  */
  SCM *symbols;
  char *subr;
  char *doc;
} gn_family;

#define GN_ROWS(t) t, sizeof t / sizeof t[0]

/* tls-errors.c.  */
extern gn_family gn_error_family;
void gn_init_tls_errors (void);

/* tls-x509-names.c.  */
extern gn_family gn_certificate_status_family, gn_certificate_verify_family,
  gn_pk_algorithm_family, gn_sign_algorithm_family,
  gn_digest_family, gn_key_usage_family, gn_san_family, gn_privkey_family,
  gn_oid_family;
void gn_init_tls_x509_names (void);

/* tls-names.c: add NAME, a procedure defined in (net tls), to
   (%tls-name-bindings); only during gn_init_tls_names.  */
void gn_tls_export_name (const char *name);

#endif /* GUILE_NET_TLS_NAMES_H */
