/* tags.c: operator tags file: "start,end,reason[,note]" intervals that the
 * operator flagged during a run (wet road, sprinkling, sanding, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dl_lines.h"
#include "manifest.h"
#include "dl_time.h"
#include "timeparse_inst.h"

static const char *const tag_names[DL_TAG__N] = {
#define DL_X_NAME(name, str) str,
    DL_TAG_MAP(DL_X_NAME)
#undef DL_X_NAME
};

const char *dl_tag_name(dl_tag_reason r) {
  return (r >= 0 && r < DL_TAG__N) ? tag_names[r] : "?";
}

int dl_tag_parse(const char *name) {
  for (int i = 0; i < DL_TAG__N; i++)
    if (!strcasecmp(name, tag_names[i])) return i;
  return -1;
}

void dl_tags_init(dl_tags *t) { memset(t, 0, sizeof *t); }

void dl_tags_free(dl_tags *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) free(t->note[i]);
  free(t->start);
  free(t->end);
  free(t->reason);
  free(t->line);
  free(t->note);
  dl_tags_init(t);
}

static int tags_grow(dl_tags *t) {
  void **cols[] = {(void **)&t->start, (void **)&t->end, (void **)&t->reason, (void **)&t->line,
                   (void **)&t->note};
  const size_t sizes[] = {sizeof *t->start, sizeof *t->end, sizeof *t->reason, sizeof *t->line,
                          sizeof *t->note};
  return dl_soa_grow(cols, sizes, 5, &t->cap, t->n + 1);
}

static void trim(const char **s, size_t *n) {
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
  while (*n && (**s == ' ' || **s == '\t')) (*s)++, (*n)--;
}

/* One time field → UTC seconds; 0 and a message on failure. */
static int tag_time(const char *path, uint64_t ln, const char *what, const char *s, size_t n,
                    double tz, int have_tz, double *t, dl_err *e) {
  int zoned;
  if (dl_parse_iso8601_zone(s, n, t, &zoned) != 0)
    return dl_errf(e, DL_EFORMAT,
                   "%s:%llu: %s time: expected ISO-8601 like 2024-05-14T09:30:00Z or "
                   "2024-05-14 17:30:00+08:00, got '%.*s'",
                   path, (unsigned long long)ln, what, (int)(n < 60 ? n : 60), s);
  if (!zoned) {
    if (!have_tz)
      return dl_errf(e, DL_EFORMAT,
                     "%s:%llu: %s time '%.*s' has no zone and the run gives no tz: write Z or "
                     "+08:00, or set [run] tz",
                     path, (unsigned long long)ln, what, (int)n, s);
    *t -= tz;
  }
  return DL_OK;
}

int dl_tags_read(const char *path, double tz_offset_s, int have_tz, dl_tags *out,
                 dl_err *e) {
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  const char *s;
  size_t n;
  int tl, k, first = 1;
  while ((k = dl_lines_next(&r, &s, &n, &tl, e)) == 1) {
    uint64_t ln = r.lineno;
    if (tl) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%llu: line too long", path, (unsigned long long)ln);
      break;
    }
    trim(&s, &n);
    if (n == 0 || s[0] == '#') continue;
    if (tpi_binary(s, n)) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%llu: control character or binary data", path,
                   (unsigned long long)ln);
      break;
    }
    /* start,end,reason[,note...]: the note is the rest of the line */
    const char *f[3];
    size_t fl[3];
    const char *p = s, *end = s + n;
    int nf = 0;
    while (nf < 3) {
      const char *cm = memchr(p, ',', (size_t)(end - p));
      f[nf] = p;
      fl[nf] = cm ? (size_t)(cm - p) : (size_t)(end - p);
      trim(&f[nf], &fl[nf]);
      nf++;
      if (!cm) {
        p = end + 1;
        break;
      }
      p = cm + 1;
    }
    int was_first = first;
    first = 0;
    if (was_first && nf >= 3 && tpi_ieq(f[0], fl[0], "start") && tpi_ieq(f[1], fl[1], "end"))
      continue; /* header line */
    if (nf < 3) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%llu: expected start,end,reason[,note], got '%.*s'",
                   path, (unsigned long long)ln, (int)(n < 80 ? n : 80), s);
      break;
    }
    double t0, t1;
    if ((rc = tag_time(path, ln, "start", f[0], fl[0], tz_offset_s, have_tz, &t0, e)) ||
        (rc = tag_time(path, ln, "end", f[1], fl[1], tz_offset_s, have_tz, &t1, e)))
      break;
    if (!(t1 > t0)) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%llu: end '%.*s' is not after start '%.*s'", path,
                   (unsigned long long)ln, (int)fl[1], f[1], (int)fl[0], f[0]);
      break;
    }
    char reason[32];
    int why = -1;
    if (fl[2] < sizeof reason) {
      memcpy(reason, f[2], fl[2]);
      reason[fl[2]] = '\0';
      why = dl_tag_parse(reason);
    }
    if (why < 0) {
      rc = dl_errf(e, DL_EFORMAT,
                   "%s:%llu: reason '%.*s': expected wet_road, sprinkling, sanding, following, "
                   "construction or other",
                   path, (unsigned long long)ln, (int)(fl[2] < 40 ? fl[2] : 40), f[2]);
      break;
    }
    const char *note = p <= end ? p : end;
    size_t nn = (size_t)(end - note);
    trim(&note, &nn);
    if (nn >= 2 && note[0] == '"' && note[nn - 1] == '"') note++, nn -= 2;
    if (tags_grow(out) != DL_OK || !(out->note[out->n] = strndup(note, nn))) {
      rc = dl_errf(e, DL_ENOMEM, "%s:%llu: out of memory", path, (unsigned long long)ln);
      break;
    }
    out->start[out->n] = t0;
    out->end[out->n] = t1;
    out->reason[out->n] = (uint8_t)why;
    out->line[out->n] = ln;
    out->n++;
  }
  if (k < 0) rc = k;
  dl_lines_close(&r);
  return rc;
}
