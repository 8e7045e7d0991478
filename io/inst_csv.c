/* inst_csv.c: reader of instrument tables whose header names the columns:
 * a time column (or date + time) and value columns in wide form
 * (time,pm10_ugm3,pm25_ugm3) or long form (time_utc,channel,value_ugm3, as
 * `dustload inspect --samples` writes). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "dl_time.h"
#include "timeparse_inst.h"

#define MAXCOLS 64

enum col_kind { COL_IGNORE, COL_TIME, COL_DATE, COL_TOD, COL_VALUE, COL_CHANNEL };

typedef struct csv_ctx {
  const char *path;
  char delim;
  int ncol;
  unsigned char kind[MAXCOLS];
  signed char vch[MAXCOLS];  /* wide form: output channel of a value column, -1 skipped */
  int scale[MAXCOLS];        /* power of ten to µg/m³ */
  int time_col, date_col, tod_col, chan_col, value_col;
  int time_is_utc;           /* the column's name says UTC: zone-less times are UTC */
  int longform;
  double zone_shift;         /* -tz for zone-less local times (0 without a zone) */
  double clock;              /* o->clock_offset_s */
  double last_t[DL_MAX_CHANNELS];
  const char *only;          /* o->channel */
  int only_seen;
} csv_ctx;

/* Splits a line on the delimiter into at most max fields; returns the count
 * (max + 1 when there were more). */
static int split(const char *s, size_t n, char delim, const char **f, size_t *fl, int max) {
  int k = 0;
  size_t i = 0;
  for (;;) {
    const char *cm = memchr(s + i, delim, n - i);
    size_t len = cm ? (size_t)(cm - (s + i)) : n - i;
    if (k == max) return max + 1;
    f[k] = s + i;
    fl[k] = len;
    k++;
    if (!cm) return k;
    i += len + 1;
  }
}

static void trim(const char **s, size_t *n) {
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '"' || (*s)[*n - 1] == '\t')) (*n)--;
  while (*n && (**s == ' ' || **s == '"' || **s == '\t')) (*s)++, (*n)--;
}

static int name_is(const char *s, size_t n, const char *const *names) {
  for (int i = 0; names[i]; i++)
    if (tpi_ieq(s, n, names[i])) return 1;
  return 0;
}

static int ends_with_ci(const char *s, size_t n, const char *suf) {
  size_t k = strlen(suf);
  return n >= k && strncasecmp(s + n - k, suf, k) == 0;
}

/* Splits a value column name into channel name and unit scale: "pm10_ugm3",
 * "PM10 [mg/m3]", "pm10 (ug/m^3)", or a bare name (µg/m³). */
static int column_unit(csv_ctx *c, const char *s, size_t n, char *name, size_t cap,
                       int *scale, uint64_t lineno, dl_err *e) {
  static const char *const mg[] = {"_mgm3", "_mg_m3", "_mgm-3", "_mg/m3", "_mg/m^3", NULL};
  static const char *const ug[] = {"_ugm3", "_ug_m3", "_ugm-3", "_ug/m3", "_ug/m^3", NULL};
  *scale = 0;
  size_t keep = n;
  if (n && (s[n - 1] == ']' || s[n - 1] == ')')) {
    char open = s[n - 1] == ']' ? '[' : '(';
    size_t i = n - 1;
    while (i > 0 && s[i - 1] != open) i--;
    if (i == 0)
      return dl_errf(e, DL_EFORMAT, "%s:%llu: column '%.*s': unbalanced '%c'", c->path,
                     (unsigned long long)lineno, (int)n, s, s[n - 1]);
    *scale = tpi_unit_scale(s + i, n - 1 - i);
    if (*scale == -99)
      return dl_errf(e, DL_EFORMAT,
                     "%s:%llu: column '%.*s': unit '%.*s': expected mg/m3 or ug/m3", c->path,
                     (unsigned long long)lineno, (int)n, s, (int)(n - 1 - i), s + i);
    keep = i - 1;
  } else {
    for (int j = 0; mg[j] || ug[j]; j++) {
      if (mg[j] && ends_with_ci(s, n, mg[j])) {
        *scale = 3, keep = n - strlen(mg[j]);
        break;
      }
      if (ug[j] && ends_with_ci(s, n, ug[j])) {
        *scale = 0, keep = n - strlen(ug[j]);
        break;
      }
    }
  }
  while (keep && (s[keep - 1] == ' ' || s[keep - 1] == '_')) keep--;
  if (keep == 0)
    return dl_errf(e, DL_EFORMAT, "%s:%llu: column '%.*s' has no channel name", c->path,
                   (unsigned long long)lineno, (int)n, s);
  if (keep >= cap) keep = cap - 1;
  memcpy(name, s, keep);
  name[keep] = '\0';
  return DL_OK;
}

static int read_header(csv_ctx *c, const char *s, size_t n, uint64_t lineno,
                       const dl_inst_opts *o, dl_samples *out, dl_err *e) {
  static const char *const tnames[] = {"time", "time_utc", "timestamp", "datetime",
                                       "date_time", "utc", NULL};
  static const char *const ignore[] = {
      "line", "lat", "lon", "latitude", "longitude", "alt", "altitude", "speed",
      "speed_mps", "speed_kmh", "course", "heading", "hdop", "flag", "flags", "status",
      "note", "notes", "comment", "id", "serial", "model", "unit", "units", NULL};
  c->delim = memchr(s, ',', n) ? ',' : memchr(s, ';', n) ? ';' : '\t';
  const char *f[MAXCOLS + 1];
  size_t fl[MAXCOLS + 1];
  int nf = split(s, n, c->delim, f, fl, MAXCOLS);
  if (nf > MAXCOLS)
    return dl_errf(e, DL_EFORMAT, "%s:%llu: more than %d columns", c->path,
                   (unsigned long long)lineno, MAXCOLS);
  c->ncol = nf;
  c->time_col = c->date_col = c->tod_col = c->chan_col = c->value_col = -1;
  int has_date = 0, has_time = 0;
  for (int i = 0; i < nf; i++) {
    trim(&f[i], &fl[i]);
    if (tpi_ieq(f[i], fl[i], "date")) has_date = 1;
    if (tpi_ieq(f[i], fl[i], "time")) has_time = 1;
  }
  int nval = 0;
  for (int i = 0; i < nf; i++) {
    c->vch[i] = -1;
    if (has_date && has_time && tpi_ieq(f[i], fl[i], "date")) {
      c->kind[i] = COL_DATE, c->date_col = i;
    } else if (has_date && has_time && tpi_ieq(f[i], fl[i], "time")) {
      c->kind[i] = COL_TOD, c->tod_col = i;
    } else if (c->time_col < 0 && name_is(f[i], fl[i], tnames)) {
      c->kind[i] = COL_TIME, c->time_col = i;
      c->time_is_utc = tpi_ieq(f[i], fl[i], "time_utc") || tpi_ieq(f[i], fl[i], "utc");
    } else if (tpi_ieq(f[i], fl[i], "channel")) {
      c->kind[i] = COL_CHANNEL, c->chan_col = i;
    } else if (fl[i] == 0 || name_is(f[i], fl[i], ignore) ||
               name_is(f[i], fl[i], tnames) || tpi_ieq(f[i], fl[i], "date")) {
      c->kind[i] = COL_IGNORE;
    } else {
      c->kind[i] = COL_VALUE;
      nval++;
    }
  }
  if (c->time_col < 0 && c->date_col < 0)
    return dl_errf(e, DL_EFORMAT,
                   "%s:%llu: no time column (expected time, time_utc, timestamp, datetime, "
                   "or date and time)",
                   c->path, (unsigned long long)lineno);
  if (c->chan_col >= 0) {
    if (nval != 1)
      return dl_errf(e, DL_EFORMAT,
                     "%s:%llu: a 'channel' column needs exactly one value column, found %d",
                     c->path, (unsigned long long)lineno, nval);
    c->longform = 1;
  } else if (nval == 0) {
    return dl_errf(e, DL_EFORMAT, "%s:%llu: no value column", c->path,
                   (unsigned long long)lineno);
  }
  out->nchan = 0;
  for (int i = 0; i < nf; i++) {
    if (c->kind[i] != COL_VALUE) continue;
    char name[32];
    int rc = column_unit(c, f[i], fl[i], name, sizeof name, &c->scale[i], lineno, e);
    if (rc != DL_OK) return rc;
    if (c->longform) {
      c->value_col = i;
      continue;
    }
    if (o && o->channel && strcasecmp(name, o->channel) != 0) continue;
    if (out->nchan == DL_MAX_CHANNELS)
      return dl_errf(e, DL_EFORMAT, "%s:%llu: more than %d value columns", c->path,
                     (unsigned long long)lineno, DL_MAX_CHANNELS);
    c->vch[i] = (signed char)out->nchan;
    memcpy(out->chan_name[out->nchan++], name, sizeof name);
  }
  if (!c->longform && out->nchan == 0)
    return dl_errf(e, DL_ECONFIG, "%s:%llu: no channel '%s' among the columns", c->path,
                   (unsigned long long)lineno, o->channel);
  return DL_OK;
}

/* Time of one row: UTC seconds or 0 when it does not parse. */
static int row_time(csv_ctx *c, const char **f, size_t *fl, double *t) {
  double local;
  if (c->time_col >= 0) {
    const char *s = f[c->time_col];
    size_t n = fl[c->time_col];
    trim(&s, &n);
    int zoned;
    if (dl_parse_iso8601_zone(s, n, &local, &zoned) == 0) {
      *t = local + (zoned || c->time_is_utc ? 0 : c->zone_shift) + c->clock;
      return 1;
    }
    /* Unix seconds (a bare number) are UTC */
    double v;
    if (n && tpi_isdigit(s[0]) && tpi_decimal(s, n, 0, &v) == 1 && v > 1e8 && v < 1e10) {
      *t = v + c->clock;
      return 1;
    }
    return 0;
  }
  const char *ds = f[c->date_col], *ts = f[c->tod_col];
  size_t dn = fl[c->date_col], tn = fl[c->tod_col];
  trim(&ds, &dn);
  trim(&ts, &tn);
  size_t i = 0;
  int64_t days;
  double sod;
  if (!tpi_iso_date(ds, dn, &i, &days) || i != dn || !tpi_time_of_day(ts, tn, &sod)) return 0;
  *t = (double)days * 86400.0 + sod + c->zone_shift + c->clock;
  return 1;
}

/* One data line → rows; -1 when accepted, else the reject reason. */
static int data_line(csv_ctx *c, const char *s, size_t n, uint64_t lineno, dl_samples *out,
                     int *fail, dl_err *e) {
  const char *f[MAXCOLS + 1];
  size_t fl[MAXCOLS + 1];
  int nf = split(s, n, c->delim, f, fl, MAXCOLS);
  if (nf < c->ncol) return DL_REJ_SYNTAX;
  for (int i = c->ncol; i < nf && i < MAXCOLS; i++)
    if (fl[i]) return DL_REJ_SYNTAX; /* extra non-empty columns */
  double t;
  int tc = c->time_col >= 0 ? c->time_col : c->date_col;
  if (fl[tc] == 0) return DL_REJ_NO_TIME;
  if (!row_time(c, f, fl, &t)) return DL_REJ_SYNTAX;

  if (c->longform) {
    const char *cs = f[c->chan_col];
    size_t cn = fl[c->chan_col];
    trim(&cs, &cn);
    if (cn == 0 || cn >= sizeof out->chan_name[0]) return DL_REJ_SYNTAX;
    double v;
    int k = tpi_decimal(f[c->value_col], fl[c->value_col], c->scale[c->value_col], &v);
    if (k < 0) return DL_REJ_SYNTAX;
    if (k == 0) return DL_REJ_MISSING;
    if (!isfinite(v)) return DL_REJ_RANGE;
    if (c->only && !(strlen(c->only) == cn && !strncasecmp(cs, c->only, cn))) return -1; /* another channel: parsed, not kept */
    int ch = 0;
    while (ch < out->nchan &&
           !(strlen(out->chan_name[ch]) == cn && !memcmp(out->chan_name[ch], cs, cn)))
      ch++;
    if (ch == out->nchan) {
      if (ch == DL_MAX_CHANNELS) {
        *fail = dl_errf(e, DL_EFORMAT, "%s:%llu: more than %d channels", c->path,
                        (unsigned long long)lineno, DL_MAX_CHANNELS);
        return DL_REJ_SYNTAX;
      }
      memcpy(out->chan_name[ch], cs, cn);
      out->chan_name[ch][cn] = '\0';
      out->nchan++;
      c->last_t[ch] = -INFINITY;
    }
    c->only_seen = 1;
    if (t == c->last_t[ch]) return DL_REJ_DUPLICATE;
    if (t < c->last_t[ch]) return DL_REJ_BACKWARDS;
    c->last_t[ch] = t;
    if (tpi_samples_room(out, 1) != DL_OK) {
      *fail = dl_errf(e, DL_ENOMEM, "%s:%llu: out of memory", c->path,
                      (unsigned long long)lineno);
      return DL_REJ_SYNTAX;
    }
    size_t i = out->n++;
    out->t[i] = t, out->value[i] = v, out->channel[i] = (uint8_t)ch, out->line[i] = lineno;
    return -1;
  }

  double v[DL_MAX_CHANNELS];
  int have = 0;
  for (int i = 0; i < c->ncol; i++) {
    if (c->vch[i] < 0) continue;
    int k = tpi_decimal(f[i], fl[i], c->scale[i], &v[c->vch[i]]);
    if (k < 0) return DL_REJ_SYNTAX;
    if (k == 0) v[c->vch[i]] = NAN;
    else if (!isfinite(v[c->vch[i]])) return DL_REJ_RANGE;
    else have = 1;
  }
  if (!have) return DL_REJ_MISSING;
  if (t == c->last_t[0]) return DL_REJ_DUPLICATE;
  if (t < c->last_t[0]) return DL_REJ_BACKWARDS;
  c->last_t[0] = t;
  if (tpi_samples_room(out, (size_t)out->nchan) != DL_OK) {
    *fail = dl_errf(e, DL_ENOMEM, "%s:%llu: out of memory", c->path, (unsigned long long)lineno);
    return DL_REJ_SYNTAX;
  }
  for (int ch = 0; ch < out->nchan; ch++) {
    size_t i = out->n++;
    out->t[i] = t, out->value[i] = v[ch], out->channel[i] = (uint8_t)ch, out->line[i] = lineno;
  }
  return -1;
}

/* Reads a headed instrument table into out (which must be empty).
 * Delimiter: ',' (else ';', else tab) as the header uses. Time: a column
 * time, time_utc, utc, timestamp, datetime or date_time holding ISO-8601
 * (a zone makes it UTC; no zone means o's zone, or UTC for a column named
 * time_utc/utc, or UTC when o has none) or Unix seconds; or columns date
 * (YYYY-MM-DD) and time (HH:MM:SS[ AM|PM], o's zone). Value columns: every
 * other column but lat, lon, speed, course, hdop, line, flag, note and the
 * like; unit from the name ("pm10_mgm3", "PM10 [mg/m3]", "pm10 (ug/m^3)"),
 * µg/m³ when the name has none. With a 'channel' column and one value
 * column the table is long (one reading per line, as inspect --samples
 * writes). Empty or NA values become NAN rows; other rules as
 * dl_read_dusttrak, per channel in the long form. Quoted fields may not hold
 * the delimiter. */
int dl_read_inst_csv(const char *path, const dl_inst_opts *o, dl_samples *out,
                     dl_rejects *rej, dl_err *e) {
  dl_rejects dummy;
  if (!rej) {
    memset(&dummy, 0, sizeof dummy);
    rej = &dummy;
  }
  if (out->n || out->nchan)
    return dl_errf(e, DL_EINTERNAL, "%s: reader given a non-empty sample container", path);
  csv_ctx c;
  memset(&c, 0, sizeof c);
  c.path = path;
  c.zone_shift = o && o->have_tz ? -o->tz_offset_s : 0;
  c.clock = o ? o->clock_offset_s : 0;
  c.only = o ? o->channel : NULL;
  for (int i = 0; i < DL_MAX_CHANNELS; i++) c.last_t[i] = -INFINITY;
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  const char *s;
  size_t n;
  int tl, k, have_header = 0, fail = 0;
  while ((k = dl_lines_next(&r, &s, &n, &tl, e)) == 1) {
    rej->lines++;
    if (tl) {
      dl_reject(rej, DL_REJ_TOO_LONG, r.lineno);
      continue;
    }
    if (n == 0 || s[0] == '#') {
      dl_reject(rej, DL_REJ_HEADER, r.lineno);
      continue;
    }
    if (!have_header) {
      if (tpi_binary(s, n)) {
        rc = dl_errf(e, DL_EFORMAT, "%s:%llu: binary data where the column header should be",
                     path, (unsigned long long)r.lineno);
        goto done;
      }
      dl_reject(rej, DL_REJ_HEADER, r.lineno);
      rc = read_header(&c, s, n, r.lineno, o, out, e);
      if (rc != DL_OK) goto done;
      have_header = 1;
      continue;
    }
    int why = data_line(&c, s, n, r.lineno, out, &fail, e);
    if (fail) {
      rc = fail;
      goto done;
    }
    if (why >= 0) {
      if (why == DL_REJ_SYNTAX && tpi_binary(s, n)) why = DL_REJ_BINARY;
      dl_reject(rej, why, r.lineno);
    } else {
      rej->accepted++;
    }
  }
  if (k < 0) {
    rc = k;
  } else if (!have_header) {
    rc = dl_errf(e, DL_EFORMAT, "%s: no column header line", path);
  } else if (c.longform && c.only && !c.only_seen) {
    rc = dl_errf(e, DL_ECONFIG, "%s: no rows of channel '%s'", path, c.only);
  }
done:
  dl_lines_close(&r);
  return rc;
}
