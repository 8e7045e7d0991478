/* gps_csv.c: plain CSV GPS tracks with a header naming time, lat and lon
 * (and optionally speed, course, hdop, fix quality) in any order. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "dl_time.h"
#include "gps_common.h"

enum { C_TIME, C_LAT, C_LON, C_SPEED, C_COURSE, C_HDOP, C_QUAL, C__N };
#define MAX_COLS 256

/* Header names accepted for each column (lower case, after trimming). */
static const char *const col_names[C__N][6] = {
    [C_TIME] = {"time", "time_utc", "timestamp", "datetime", "utc", NULL},
    [C_LAT] = {"lat", "latitude", NULL},
    [C_LON] = {"lon", "lng", "long", "longitude", NULL},
    [C_SPEED] = {"speed", "speed_mps", NULL},
    [C_COURSE] = {"course", "course_deg", "track", "heading", "bearing", NULL},
    [C_HDOP] = {"hdop", NULL},
    [C_QUAL] = {"fix_quality", "quality", NULL},
};

/* Splits a CSV line at commas (no embedded commas: GPS tracks have none),
 * trimming blanks and surrounding double quotes. Returns the field count,
 * at most max. */
static int split(const char *s, size_t n, const char **f, size_t *fl, int max) {
  int k = 0;
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (j < n && s[j] != ',') j++;
    const char *a = s + i;
    size_t l = j - i;
    while (l && (*a == ' ' || *a == '\t')) a++, l--;
    while (l && (a[l - 1] == ' ' || a[l - 1] == '\t')) l--;
    if (l >= 2 && a[0] == '"' && a[l - 1] == '"') a++, l -= 2;
    if (k < max) f[k] = a, fl[k] = l;
    k++;
    if (j >= n) break;
    i = j + 1;
  }
  return k < max ? k : max;
}

/* Fills col[] from a header line; returns 1 when time, lat and lon are all
 * there. */
static int parse_header(const char *s, size_t n, int *col) {
  const char *f[MAX_COLS];
  size_t fl[MAX_COLS];
  int k = split(s, n, f, fl, MAX_COLS);
  for (int c = 0; c < C__N; c++) col[c] = -1;
  for (int i = 0; i < k; i++) {
    if (fl[i] == 0 || fl[i] > 31) continue;
    for (int c = 0; c < C__N; c++)
      for (int j = 0; col_names[c][j]; j++)
        if (strlen(col_names[c][j]) == fl[i] && !strncasecmp(f[i], col_names[c][j], fl[i]) &&
            col[c] < 0)
          col[c] = i;
  }
  return col[C_TIME] >= 0 && col[C_LAT] >= 0 && col[C_LON] >= 0;
}

/* A time field: ISO-8601, or Unix seconds when it is a plain number. */
static int parse_time(const char *s, size_t n, double *t) {
  if (gps_num(s, n, t)) return DL_OK;
  return dl_parse_iso8601(s, n, t);
}

int dl_read_gps_csv(const char *path, const dl_gps_opts *o, dl_fixes *out,
                    dl_rejects *rej, dl_err *e) {
  (void)o;
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  int col[C__N], have_header = 0;
  size_t first = out->n;
  const char *line;
  size_t len;
  int too_long;
  const char *f[MAX_COLS];
  size_t fl[MAX_COLS];
  while ((rc = dl_lines_next(&r, &line, &len, &too_long, e)) == 1) {
    uint64_t ln = r.lineno;
    rej->lines++;
    if (gps_line_skip(rej, line, len, too_long, ln)) continue;
    if (line[0] == '#') {
      dl_reject(rej, DL_REJ_HEADER, ln);
      continue;
    }
    if (!have_header) {
      if (!parse_header(line, len, col)) {
        rc = dl_errf(e, DL_EFORMAT,
                     "%s:%llu: header: expected column names time, lat and lon "
                     "(optionally speed, course), got '%.*s'",
                     path, (unsigned long long)ln, (int)(len > 120 ? 120 : len), line);
        goto done;
      }
      have_header = 1;
      dl_reject(rej, DL_REJ_HEADER, ln);
      continue;
    }
    int k = split(line, len, f, fl, MAX_COLS);
    if (k < col[C_TIME] + 1 || k < col[C_LAT] + 1 || k < col[C_LON] + 1) {
      dl_reject(rej, DL_REJ_SYNTAX, ln);
      continue;
    }
    double t, lat, lon;
    int ti = col[C_TIME], la = col[C_LAT], lo = col[C_LON];
    if (fl[ti] == 0) {
      dl_reject(rej, DL_REJ_NO_TIME, ln);
      continue;
    }
    if (fl[la] == 0 || fl[lo] == 0) {
      dl_reject(rej, DL_REJ_MISSING, ln);
      continue;
    }
    if (parse_time(f[ti], fl[ti], &t) != DL_OK || !gps_num(f[la], fl[la], &lat) ||
        !gps_num(f[lo], fl[lo], &lon)) {
      dl_reject(rej, DL_REJ_SYNTAX, ln);
      continue;
    }
    if (t < GPS_T_MIN || t >= GPS_T_MAX || !gps_latlon_ok(lat, lon)) {
      dl_reject(rej, DL_REJ_RANGE, ln);
      continue;
    }
    /* optional columns: empty is unknown, garbage rejects the row */
    double opt[C__N];
    int bad = 0;
    for (int c = C_SPEED; c < C__N; c++) {
      opt[c] = NAN;
      int i = col[c];
      if (i < 0 || i >= k || fl[i] == 0) continue;
      if (!gps_num(f[i], fl[i], &opt[c])) bad = DL_REJ_SYNTAX;
    }
    if (!bad && ((opt[C_SPEED] < 0) || opt[C_COURSE] < 0 || opt[C_COURSE] > 360 ||
                 opt[C_HDOP] < 0 || opt[C_QUAL] < 0 || opt[C_QUAL] > 9))
      bad = DL_REJ_RANGE;
    if (!bad) {
      int why = gps_time_order(out, first, t);
      if (why >= 0) bad = why;
    }
    if (bad) {
      dl_reject(rej, bad, ln);
      continue;
    }
    long i = gps_push(out, rej, t, lat, lon, ln, path, e);
    if (i < 0) {
      rc = DL_ENOMEM;
      goto done;
    }
    out->speed[i] = opt[C_SPEED];
    out->course[i] = opt[C_COURSE] == 360 ? 0 : opt[C_COURSE];
    out->hdop[i] = opt[C_HDOP];
    if (isfinite(opt[C_QUAL])) out->quality[i] = (int8_t)opt[C_QUAL];
  }
  if (rc < 0) goto done;
  rc = DL_OK;
  if (!have_header)
    rc = dl_errf(e, r.lineno ? DL_EFORMAT : DL_ENODATA,
                 "%s: %s: expected a header line naming time, lat and lon", path,
                 r.lineno ? "no header line" : "empty file");
done:
  dl_lines_close(&r);
  return rc;
}
