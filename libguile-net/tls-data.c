/* tls-data.c -- certificate, key and CRL data: what they hold (PEM or
   DER, which PEM blocks), and reading them from files so that a failure
   names the file and the errno.  For the credentials (tls-credentials.c)
   and X.509 objects (tls-x509.c).  */

#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- What data hold ----------------------------------------------------
   PEM is text with "-----BEGIN LABEL-----" lines, anywhere in the data
   (certtool puts a description before them); DER starts with the
   SEQUENCE tag, #x30, which no PEM text starts with.  So each is told
   from the other with certainty.  */

static const unsigned char *
find_bytes (const unsigned char *hay, size_t n, const char *needle)
{
  size_t k = strlen (needle);
  for (size_t i = 0; k <= n && i <= n - k; i++)
    if (hay[i] == (unsigned char) needle[0] && memcmp (hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

static int
looks_pem (const gnutls_datum_t *d)
{
  return d->size > 0 && d->data[0] != 0x30
    && find_bytes (d->data, d->size, "-----BEGIN ") != NULL;
}

static int
looks_der (const gnutls_datum_t *d)
{
  return d->size > 1 && d->data[0] == 0x30
    && find_bytes (d->data, d->size, "-----BEGIN ") == NULL;
}

gnutls_x509_crt_fmt_t
gn_tls_data_format (const gnutls_datum_t *d, gnutls_x509_crt_fmt_t format)
{
  if (format == GNUTLS_X509_FMT_DER && looks_pem (d))
    return GNUTLS_X509_FMT_PEM;
  if (format == GNUTLS_X509_FMT_PEM && looks_der (d))
    return GNUTLS_X509_FMT_DER;
  return format;
}

static int
printable (const unsigned char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7e)
      return 0;
  return 1;
}

/* Call F with each PEM label of D (printable ASCII, at most 64 bytes)
   until it returns nonzero; return that, or 0.  */
static int
each_pem_label (const gnutls_datum_t *d,
                int (*f) (const char *label, size_t len, void *data),
                void *data)
{
  const unsigned char *p = d->data, *end = d->data + d->size;
  while (p < end)
    {
      const unsigned char *b = find_bytes (p, end - p, "-----BEGIN ");
      if (b == NULL)
        return 0;
      const unsigned char *label = b + 11;
      const unsigned char *e = find_bytes (label, end - label, "-----");
      if (e == NULL)
        return 0;
      size_t len = e - label;
      if (len > 0 && len <= 64 && printable (label, len))
        {
          int r = f ((const char *) label, len, data);
          if (r)
            return r;
        }
      p = e + 5;
    }
  return 0;
}

static int
label_matches (const char *label, size_t len, void *data)
{
  const char *want = data;
  size_t k = strlen (want);
  return len >= k && memcmp (label + len - k, want, k) == 0
    && (len == k || label[len - k - 1] == ' ');
}

int
gn_tls_pem_has (const gnutls_datum_t *d, const char *label)
{
  return each_pem_label (d, label_matches, (void *) label);
}

/* The first four distinct labels.  */
struct label_list { char labels[4][65]; int count; };

static int
collect_label (const char *label, size_t len, void *data)
{
  struct label_list *l = data;
  char one[65];
  snprintf (one, sizeof one, "%.*s", (int) len, label);
  for (int i = 0; i < l->count; i++)
    if (strcmp (l->labels[i], one) == 0)   /* said already */
      return 0;
  if (l->count == 4)
    return 1;
  memcpy (l->labels[l->count++], one, sizeof one);
  return 0;
}

SCM
gn_tls_pem_contents (const gnutls_datum_t *d)
{
  if (d->size == 0)
    return scm_from_utf8_string (" (it is empty)");
  struct label_list l;
  l.count = 0;
  each_pem_label (d, collect_label, &l);
  char text[320];
  if (l.count > 0)
    {
      size_t used = snprintf (text, sizeof text, " (its PEM blocks: %s",
                              l.labels[0]);
      for (int i = 1; i < l.count; i++)
        used += snprintf (text + used, sizeof text - used, ", %s",
                          l.labels[i]);
      snprintf (text + used, sizeof text - used, ")");
    }
  else if (d->data[0] == 0x30)
    text[0] = '\0';
  else
    snprintf (text, sizeof text, " (it holds no PEM block and is not DER)");
  return scm_from_utf8_string (text);   /* ASCII */
}

/* Files are read whole, up to this size.  */
#define MAX_FILE_SIZE (64 * 1024 * 1024)

static void
free_file_data (void *p)
{
  gn_tls_file_data *f = p;
  if (f->d.data != NULL)
    {
      if (f->secret)
        gnutls_memset (f->d.data, 0, f->d.size);
      free (f->d.data);
      f->d.data = NULL;
    }
}

/* Read file PATH (the argument NAME) into F; raise a &tls-file-error
   naming it and the errno on failure.  Call within a dynwind context,
   which frees F's data when it ends: F must live until then (declare it
   in the block that ends the context, not in a block inside).  */
void
gn_tls_read_file (const char *subr, SCM name, const char *path,
                  gn_tls_file_data *f, int secret)
{
  f->d.data = NULL;
  f->d.size = 0;
  f->secret = secret;
  scm_dynwind_unwind_handler (free_file_data, f, SCM_F_WIND_EXPLICITLY);
  int err = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    err = errno;
  struct stat st;
  if (err == 0 && fstat (fd, &st) < 0)
    err = errno;
  if (err == 0 && S_ISDIR (st.st_mode))
    err = EISDIR;
  size_t cap = 0, used = 0;
  while (err == 0)
    {
      if (used == cap)
        {
          size_t want = cap == 0 ? 16384 : 2 * cap;
          if (cap >= MAX_FILE_SIZE)
            {
              err = EFBIG;
              break;
            }
          unsigned char *more = malloc (want);
          if (more == NULL)
            {
              err = ENOMEM;
              break;
            }
          if (f->d.data != NULL)
            {
              memcpy (more, f->d.data, used);
              if (secret)
                gnutls_memset (f->d.data, 0, used);
              free (f->d.data);
            }
          f->d.data = more;
          cap = want;
        }
      ssize_t n = read (fd, f->d.data + used, cap - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        err = errno;
      else if (n == 0)
        break;
      else
        used += (size_t) n;
      f->d.size = (unsigned int) used;
    }
  if (fd >= 0)
    close (fd);
  if (err != 0)
    gn_raise_tls_file_error (subr, name, err);
}

