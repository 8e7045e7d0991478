/* journal.c: the append-only batch journal (see journal.h). */
#include "journal.h"

#include "dl_time.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER "# dustload batch journal v1\n"
#define NFIELDS 12
#define CHECK_HEX 16

struct dl_journal {
  int fd;
  char *path;
};

/* Copies s into the line buffer with tabs, CR and LF made spaces. */
static size_t put_field(char *buf, size_t used, size_t cap, const char *s, int last) {
  for (; s && *s; s++)
    if (used + 1 < cap) buf[used++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
  if (!last && used + 1 < cap) buf[used++] = '\t';
  return used;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k, n -= (size_t)k;
  }
  return 0;
}

int dl_journal_open(const char *path, dl_journal **out, dl_err *e) {
  *out = NULL;
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return dl_errf(e, DL_ECANTCREAT, "%s: cannot open the journal: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    return dl_errf(e, DL_EUNAVAIL, "%s: the journal is in use by another batch (%s)", path,
                   err == EWOULDBLOCK ? "locked" : strerror(err));
  }
  struct stat st;
  int rc = DL_OK;
  if (fstat(fd, &st) != 0) {
    rc = dl_errf(e, DL_EIO, "%s: %s", path, strerror(errno));
  } else if (st.st_size == 0) {
    if (write_all(fd, HEADER, strlen(HEADER)) || fsync(fd))
      rc = dl_errf(e, DL_EIO, "%s: cannot write the journal header: %s", path, strerror(errno));
  } else {
    char last;
    if (pread(fd, &last, 1, st.st_size - 1) != 1)
      rc = dl_errf(e, DL_EIO, "%s: cannot read the journal: %s", path, strerror(errno));
    else if (last != '\n' && (write_all(fd, "\n", 1) || fsync(fd)))
      rc = dl_errf(e, DL_EIO, "%s: cannot close a torn line: %s", path, strerror(errno));
  }
  dl_journal *j = rc ? NULL : malloc(sizeof *j);
  if (!rc && (!j || !(j->path = strdup(path)))) {
    free(j);
    j = NULL;
    rc = dl_errf(e, DL_ENOMEM, "out of memory");
  }
  if (rc) {
    close(fd);
    return rc;
  }
  j->fd = fd;
  *out = j;
  return DL_OK;
}

int dl_journal_append(dl_journal *j, const dl_journal_rec *r, dl_err *e) {
  size_t cap = 2048 + (r->manifest ? strlen(r->manifest) : 0) + (r->message ? strlen(r->message) : 0);
  char *buf = malloc(cap);
  if (!buf) return dl_errf(e, DL_ENOMEM, "out of memory");
  char num[4][48], fin[40];
  snprintf(num[0], sizeof num[0], "%lld", (long long)r->output_bytes);
  snprintf(num[1], sizeof num[1], "%.3f", r->wall_s);
  snprintf(num[2], sizeof num[2], "%lld", (long long)r->fixes);
  dl_time_iso(r->finished, fin, sizeof fin);
  const char *f[NFIELDS - 1] = {r->run_id[0] ? r->run_id : "-",
                                r->ok ? "ok" : "failed",
                                r->input_sha[0] ? r->input_sha : "-",
                                r->output[0] ? r->output : "-",
                                num[0],
                                r->output_sha[0] ? r->output_sha : "-",
                                num[1],
                                num[2],
                                fin,
                                r->manifest ? r->manifest : "-",
                                r->message && r->message[0] ? r->message : "-"};
  size_t used = 0;
  for (int i = 0; i < NFIELDS - 1; i++) used = put_field(buf, used, cap - CHECK_HEX - 4, f[i], 0);
  char hex[DL_SHA256_HEX];
  int rc = dl_sha256_mem(buf, used, hex, e);
  if (!rc) {
    memcpy(buf + used, hex, CHECK_HEX);
    used += CHECK_HEX;
    buf[used++] = '\n';
    if (write_all(j->fd, buf, used) || fsync(j->fd))
      rc = dl_errf(e, DL_EIO, "%s: cannot append to the journal: %s", j->path, strerror(errno));
  }
  free(buf);
  return rc;
}

void dl_journal_close(dl_journal *j) {
  if (!j) return;
  close(j->fd); /* releases the lock */
  free(j->path);
  free(j);
}

/* Splits a line (no newline) in place; NULL when it is not an intact record. */
static int parse_line(char *line, size_t len, dl_journal_rec *r) {
  char *f[NFIELDS];
  int n = 0;
  f[n++] = line;
  for (size_t i = 0; i < len; i++)
    if (line[i] == '\t') {
      if (n == NFIELDS) return -1;
      line[i] = '\0';
      f[n++] = line + i + 1;
    }
  if (n != NFIELDS || strlen(f[NFIELDS - 1]) != CHECK_HEX) return -1;
  /* the check covers the line up to and including the tab before it */
  size_t body = (size_t)(f[NFIELDS - 1] - line);
  char hex[DL_SHA256_HEX];
  char *tmp = malloc(body ? body : 1);
  if (!tmp) return -1;
  memcpy(tmp, line, body);
  for (size_t i = 0; i < body; i++)
    if (!tmp[i]) tmp[i] = '\t';
  int bad = dl_sha256_mem(tmp, body, hex, NULL) || memcmp(hex, f[NFIELDS - 1], CHECK_HEX);
  free(tmp);
  if (bad) return -1;
  memset(r, 0, sizeof *r);
  if (strcmp(f[1], "ok") && strcmp(f[1], "failed")) return -1;
  r->ok = !strcmp(f[1], "ok");
  snprintf(r->run_id, sizeof r->run_id, "%s", strcmp(f[0], "-") ? f[0] : "");
  snprintf(r->input_sha, sizeof r->input_sha, "%s", strcmp(f[2], "-") ? f[2] : "");
  snprintf(r->output, sizeof r->output, "%s", strcmp(f[3], "-") ? f[3] : "");
  r->output_bytes = strtoll(f[4], NULL, 10);
  snprintf(r->output_sha, sizeof r->output_sha, "%s", strcmp(f[5], "-") ? f[5] : "");
  r->wall_s = strtod(f[6], NULL);
  r->fixes = strtoll(f[7], NULL, 10);
  r->finished = NAN;
  double t;
  if (dl_parse_iso8601(f[8], strlen(f[8]), &t) == 0) r->finished = t;
  r->manifest = strdup(f[9]);
  r->message = strdup(strcmp(f[10], "-") ? f[10] : "");
  if (!r->manifest || !r->message) {
    free(r->manifest), free(r->message);
    return -1;
  }
  return 0;
}

int dl_journal_read(const char *path, dl_journal_recs *out, dl_err *e) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return DL_OK;
    return dl_errf(e, DL_ENOINPUT, "%s: cannot read the journal: %s", path, strerror(errno));
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t k;
  int rc = DL_OK, first = 1;
  while ((k = getline(&line, &cap, f)) > 0) {
    if (first) {
      first = 0;
      if (strcmp(line, HEADER)) {
        rc = dl_errf(e, DL_EFORMAT, "%s:1: not a dustload batch journal (expected \"%.*s\")", path,
                     (int)strlen(HEADER) - 1, HEADER);
        break;
      }
      continue;
    }
    if (line[k - 1] != '\n') { /* torn by a kill: the run is redone */
      out->torn++;
      break;
    }
    line[--k] = '\0';
    dl_journal_rec r;
    if (k == 0 || parse_line(line, (size_t)k, &r)) {
      out->torn += k > 0;
      continue;
    }
    if (out->n == out->cap) {
      size_t nc = out->cap ? 2 * out->cap : 64;
      dl_journal_rec *v = realloc(out->v, nc * sizeof *v);
      if (!v) {
        free(r.manifest), free(r.message);
        rc = dl_errf(e, DL_ENOMEM, "out of memory reading %s", path);
        break;
      }
      out->v = v, out->cap = nc;
    }
    out->v[out->n++] = r;
  }
  if (!rc && ferror(f)) rc = dl_errf(e, DL_EIO, "%s: read error", path);
  free(line);
  fclose(f);
  return rc;
}

void dl_journal_recs_free(dl_journal_recs *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) free(r->v[i].manifest), free(r->v[i].message);
  free(r->v);
  memset(r, 0, sizeof *r);
}
