/* dusttrak.c: reader of TSI TrakPro ASCII exports (DustTrak II 8530/8532,
 * DustTrak DRX 8533/8534): header block, "Date,Time,<channels>", the line
 * declaring the date/time format and units, then one row per log time. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "timeparse_inst.h"

/* Date layout declared by the export, e.g. "MM/dd/yyyy" or "dd-MM-yyyy". */
typedef struct date_fmt {
  char part[4]; /* 'd', 'M' or 'y' in written order (3 used) */
  char sep;
  int ylen; /* 2 or 4 */
} date_fmt;

typedef struct dt_ctx {
  const char *path;
  date_fmt df;
  int nch;                  /* value columns in the file */
  int scale[DL_MAX_CHANNELS]; /* power of ten to µg/m³ per column */
  char name[DL_MAX_CHANNELS][32];
  int only;                 /* column kept (o->channel), -1 for all */
  double shift;             /* added to the local clock reading: -zone + clock offset */
  /* one-entry cache: consecutive rows share their date */
  char last_date[16];
  size_t last_date_len;
  double last_day_s;
  double last_t;
} dt_ctx;

/* Copies a header value (trimmed, NUL-terminated) into dst. */
static void copy_field(char *dst, size_t cap, const char *s, size_t n) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == ',')) n--;
  while (n && *s == ' ') s++, n--;
  if (n >= cap) n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

static int starts_with_ci(const char *s, size_t n, const char *lit) {
  size_t k = strlen(lit);
  return n >= k && strncasecmp(s, lit, k) == 0;
}

/* "MM/dd/yyyy" → layout; 0 when it is not a date pattern. */
static int parse_date_fmt(const char *s, size_t n, date_fmt *f) {
  int np = 0, seen = 0;
  f->sep = 0;
  f->ylen = 0;
  size_t i = 0;
  while (i < n) {
    char c = s[i];
    size_t j = i;
    while (j < n && s[j] == c) j++;
    size_t run = j - i;
    if (c == 'd' || c == 'D' || c == 'M' || c == 'y' || c == 'Y') {
      char p = (c == 'D') ? 'd' : (c == 'Y') ? 'y' : c;
      int bit = p == 'd' ? 1 : p == 'M' ? 2 : 4;
      if (np >= 3 || (seen & bit)) return 0;
      if (p == 'y') {
        if (run != 2 && run != 4) return 0;
        f->ylen = (int)run;
      } else if (run > 2) {
        return 0;
      }
      seen |= bit;
      f->part[np++] = p;
    } else if (run == 1 && (c == '/' || c == '-' || c == '.')) {
      if (np == 0 || np == 3 || (f->sep && f->sep != c)) return 0;
      f->sep = c;
    } else {
      return 0;
    }
    i = j;
  }
  return np == 3 && seen == 7 && f->sep;
}

/* A date written in layout f → seconds since 1970 at its midnight. */
static int parse_date(const date_fmt *f, const char *s, size_t n, double *day_s) {
  int v[3] = {0, 0, 0}, y = 0, m = 0, d = 0;
  size_t i = 0;
  for (int k = 0; k < 3; k++) {
    if (k) {
      if (i >= n || s[i] != f->sep) return 0;
      i++;
    }
    int w = f->part[k] == 'y' ? f->ylen : 2;
    if (!tpi_uint(s, n, &i, f->part[k] == 'y' ? w : 1, w, &v[k])) return 0;
    if (f->part[k] == 'y') y = f->ylen == 2 ? 2000 + v[k] : v[k];
    else if (f->part[k] == 'M') m = v[k];
    else d = v[k];
  }
  if (i != n || !tpi_date_ok(y, m, d)) return 0;
  *day_s = (double)dl_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400.0;
  return 1;
}

/* Reads the header block up to and including the format line. Returns
 * DL_OK, or an error; header lines are counted as rejected headers. */
static int read_header(dl_lines *r, dt_ctx *c, const dl_inst_opts *o,
                       dl_samples *out, dl_rejects *rej, dl_err *e) {
  const char *s;
  size_t n;
  int tl, k;
  char model[40] = "", number[20] = ""; /* both fit out->model */
  int have_cols = 0;
  while ((k = dl_lines_next(r, &s, &n, &tl, e)) == 1) {
    rej->lines++;
    dl_reject(rej, DL_REJ_HEADER, r->lineno);
    if (tl) continue;
    if (!have_cols) {
      const char *comma = memchr(s, ',', n);
      size_t vn = comma ? n - (size_t)(comma + 1 - s) : 0;
      const char *v = comma ? comma + 1 : s + n;
      if (starts_with_ci(s, n, "Model:,")) {
        copy_field(model, sizeof model, v, vn);
      } else if (starts_with_ci(s, n, "Model Number:,")) {
        copy_field(number, sizeof number, v, vn);
      } else if (starts_with_ci(s, n, "Serial Number:,")) {
        copy_field(out->serial, sizeof out->serial, v, vn);
      } else if (starts_with_ci(s, n, "Log Interval")) {
        /* "Log Interval (mm:ss):,00:01" or "(hh:mm:ss)" */
        int a = 0, b = 0, cc = 0, hms = starts_with_ci(s, n, "Log Interval (hh:mm:ss)");
        size_t i = 0;
        if (tpi_uint(v, vn, &i, 1, 3, &a) && i < vn && v[i++] == ':' &&
            tpi_uint(v, vn, &i, 1, 2, &b)) {
          if (i < vn && v[i] == ':') {
            i++;
            if (tpi_uint(v, vn, &i, 1, 2, &cc)) out->interval_s = a * 3600.0 + b * 60.0 + cc;
          } else {
            out->interval_s = hms ? a * 3600.0 + b * 60.0 : a * 60.0 + b;
          }
        }
      } else if (starts_with_ci(s, n, "Date,Time,")) {
        /* column header: the channels follow */
        size_t i = 10;
        c->nch = 0;
        while (i <= n) {
          const char *f = s + i;
          const char *cm = memchr(f, ',', n - i);
          size_t fl = cm ? (size_t)(cm - f) : n - i;
          if (c->nch == DL_MAX_CHANNELS)
            return dl_errf(e, DL_EFORMAT, "%s:%llu: more than %d channels", c->path,
                           (unsigned long long)r->lineno, DL_MAX_CHANNELS);
          copy_field(c->name[c->nch], sizeof c->name[0], f, fl);
          if (!c->name[c->nch][0]) {
            if (!cm) break; /* a trailing comma */
            return dl_errf(e, DL_EFORMAT, "%s:%llu: column %d has no channel name",
                           c->path, (unsigned long long)r->lineno, c->nch + 3);
          }
          c->nch++;
          if (!cm) break;
          i += fl + 1;
        }
        if (c->nch == 0)
          return dl_errf(e, DL_EFORMAT, "%s:%llu: 'Date,Time' header names no channel",
                         c->path, (unsigned long long)r->lineno);
        have_cols = 1;
      }
      continue;
    }
    if (n == 0) continue;
    /* the format line: MM/dd/yyyy,hh:mm:ss,mg/m^3,... */
    const char *f[2 + DL_MAX_CHANNELS + 1];
    size_t fl[2 + DL_MAX_CHANNELS + 1];
    int nf = 0;
    size_t i = 0;
    while (nf < 2 + DL_MAX_CHANNELS + 1) {
      const char *cm = memchr(s + i, ',', n - i);
      f[nf] = s + i;
      fl[nf] = cm ? (size_t)(cm - (s + i)) : n - i;
      nf++;
      if (!cm) break;
      i += fl[nf - 1] + 1;
    }
    if (nf > 2 + c->nch && fl[nf - 1] == 0) nf--; /* a trailing comma */
    if (nf < 2 || !parse_date_fmt(f[0], fl[0], &c->df))
      return dl_errf(e, DL_EFORMAT,
                     "%s:%llu: expected the date/time format and units line (like "
                     "'MM/dd/yyyy,hh:mm:ss,mg/m^3') after the 'Date,Time' header, got '%.*s'",
                     c->path, (unsigned long long)r->lineno, (int)(n < 80 ? n : 80), s);
    if (fl[1] == 0 || (f[1][0] != 'h' && f[1][0] != 'H'))
      return dl_errf(e, DL_EFORMAT, "%s:%llu: time format '%.*s': expected hh:mm:ss",
                     c->path, (unsigned long long)r->lineno, (int)fl[1], f[1]);
    if (nf != 2 + c->nch)
      return dl_errf(e, DL_EFORMAT,
                     "%s:%llu: format line has %d units for %d channels", c->path,
                     (unsigned long long)r->lineno, nf - 2, c->nch);
    for (int ch = 0; ch < c->nch; ch++) {
      c->scale[ch] = tpi_unit_scale(f[2 + ch], fl[2 + ch]);
      if (c->scale[ch] == -99)
        return dl_errf(e, DL_EFORMAT,
                       "%s:%llu: channel %s: unit '%.*s': expected mg/m^3 or ug/m^3",
                       c->path, (unsigned long long)r->lineno, c->name[ch],
                       (int)fl[2 + ch], f[2 + ch]);
    }
    /* the instrument and its channels */
    snprintf(out->model, sizeof out->model, "%s%s%s", model, model[0] && number[0] ? " " : "",
             number);
    c->only = -1;
    if (o && o->channel) {
      for (int ch = 0; ch < c->nch; ch++)
        if (!strcasecmp(c->name[ch], o->channel)) c->only = ch;
      if (c->only < 0) {
        char list[DL_MAX_CHANNELS * 34] = "";
        for (int ch = 0; ch < c->nch; ch++)
          snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", ch ? ", " : "",
                   c->name[ch]);
        return dl_errf(e, DL_ECONFIG, "%s: no channel '%s' (the file has: %s)", c->path,
                       o->channel, list);
      }
      out->nchan = 1;
      memcpy(out->chan_name[0], c->name[c->only], sizeof out->chan_name[0]);
    } else {
      out->nchan = c->nch;
      for (int ch = 0; ch < c->nch; ch++)
        memcpy(out->chan_name[ch], c->name[ch], sizeof out->chan_name[0]);
    }
    return DL_OK;
  }
  if (k < 0) return k;
  return dl_errf(e, DL_EFORMAT,
                 have_cols ? "%s: ends before the date/time format line"
                           : "%s: no 'Date,Time,<channels>' column header: not a TrakPro export",
                 c->path);
}

/* One data line → rows. Returns -1 when accepted, else the reject reason. */
static int data_line(dt_ctx *c, const char *s, size_t n, uint64_t lineno,
                     dl_samples *out, int *oom) {
  const char *end = s + n;
  const char *c1 = memchr(s, ',', n);
  if (!c1) return n == 0 ? DL_REJ_HEADER : DL_REJ_SYNTAX;
  size_t dn = (size_t)(c1 - s);
  double day;
  if (dn == c->last_date_len && dn && memcmp(s, c->last_date, dn) == 0) {
    day = c->last_day_s;
  } else {
    if (dn == 0) return DL_REJ_NO_TIME;
    if (!parse_date(&c->df, s, dn, &day)) return DL_REJ_SYNTAX;
    if (dn <= sizeof c->last_date) {
      memcpy(c->last_date, s, dn);
      c->last_date_len = dn;
      c->last_day_s = day;
    }
  }
  const char *tf = c1 + 1;
  const char *c2 = memchr(tf, ',', (size_t)(end - tf));
  if (!c2) return DL_REJ_SYNTAX;
  double sod;
  if (c2 == tf) return DL_REJ_NO_TIME;
  if (!tpi_time_of_day(tf, (size_t)(c2 - tf), &sod)) return DL_REJ_SYNTAX;
  double t = day + sod + c->shift;

  double v[DL_MAX_CHANNELS];
  int have = 0;
  const char *f = c2 + 1;
  for (int ch = 0; ch < c->nch; ch++) {
    if (f > end) return DL_REJ_SYNTAX; /* too few columns: a cut line */
    const char *cm = memchr(f, ',', (size_t)(end - f));
    const char *fe = cm ? cm : end;
    if (c->only < 0 || c->only == ch) {
      int k = tpi_decimal(f, (size_t)(fe - f), c->scale[ch], &v[ch]);
      if (k < 0) return DL_REJ_SYNTAX;
      if (k == 0) v[ch] = NAN;
      else if (!isfinite(v[ch])) return DL_REJ_RANGE;
      else have = 1;
    }
    f = fe + 1;
  }
  /* extra columns: only empty ones (a trailing comma) are tolerated */
  for (; f <= end; f++)
    if (f < end && *f != ',' && *f != ' ') return DL_REJ_SYNTAX;
  if (!have) return DL_REJ_MISSING;
  if (t == c->last_t) return DL_REJ_DUPLICATE;
  if (t < c->last_t) return DL_REJ_BACKWARDS;
  c->last_t = t;

  size_t k = c->only < 0 ? (size_t)c->nch : 1;
  if (tpi_samples_room(out, k) != DL_OK) {
    *oom = 1;
    return DL_REJ_RANGE;
  }
  size_t i = out->n;
  if (c->only >= 0) {
    out->t[i] = t;
    out->value[i] = v[c->only];
    out->channel[i] = 0;
    out->line[i] = lineno;
  } else {
    for (int ch = 0; ch < c->nch; ch++, i++) {
      out->t[i] = t;
      out->value[i] = v[ch];
      out->channel[i] = (uint8_t)ch;
      out->line[i] = lineno;
    }
  }
  out->n += k;
  return -1;
}

/* Reads a TrakPro export into out (which must be empty): one row per (log
 * time, channel), values in µg/m³, t = clock reading - o->tz_offset_s (when
 * have_tz) + o->clock_offset_s. Fills model, serial, interval_s, chan_name.
 * Every line is counted once in rej: accepted, or rejected by reason: the
 * header block (header), an empty value (row kept as NAN; a line with every
 * kept value empty is rejected as missing), non-numeric text, a bad date or
 * time, too few or extra columns, an unterminated last line (syntax),
 * control bytes (binary), a time equal to or before the previous accepted
 * one (duplicate, backwards). A second header block is skipped line by line.
 * Errors: no column header, no or bad format line, an unknown unit, a
 * channel option the file lacks (DL_ECONFIG). */
int dl_read_dusttrak(const char *path, const dl_inst_opts *o, dl_samples *out,
                     dl_rejects *rej, dl_err *e) {
  dl_rejects dummy;
  if (!rej) {
    memset(&dummy, 0, sizeof dummy);
    rej = &dummy;
  }
  if (out->n || out->nchan)
    return dl_errf(e, DL_EINTERNAL, "%s: reader given a non-empty sample container", path);
  dt_ctx c;
  memset(&c, 0, sizeof c);
  c.path = path;
  c.last_t = -INFINITY;
  c.only = -1;
  c.shift = o ? (o->have_tz ? -o->tz_offset_s : 0) + o->clock_offset_s : 0;
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  rc = read_header(&r, &c, o, out, rej, e);
  if (rc != DL_OK) {
    dl_lines_close(&r);
    return rc;
  }
  const char *s;
  size_t n;
  int tl, k, oom = 0;
  while ((k = dl_lines_next(&r, &s, &n, &tl, e)) == 1) {
    rej->lines++;
    if (tl) {
      dl_reject(rej, DL_REJ_TOO_LONG, r.lineno);
      continue;
    }
    int why;
    if (n && tpi_isdigit(s[0])) {
      /* TrakPro ends every line: an unterminated last line was cut short */
      if (r.eof && s + n == r.buf + r.end)
        why = DL_REJ_SYNTAX;
      else
        why = data_line(&c, s, n, r.lineno, out, &oom);
      if (oom) {
        dl_lines_close(&r);
        return dl_errf(e, DL_ENOMEM, "%s:%llu: out of memory", path,
                       (unsigned long long)r.lineno);
      }
    } else if (n == 0 || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) {
      why = DL_REJ_HEADER; /* blank line, or a repeated header block */
    } else {
      why = DL_REJ_SYNTAX;
    }
    if (why >= 0) {
      if (why == DL_REJ_SYNTAX && tpi_binary(s, n)) why = DL_REJ_BINARY;
      dl_reject(rej, why, r.lineno);
    } else {
      rej->accepted++;
    }
  }
  dl_lines_close(&r);
  return k < 0 ? k : DL_OK;
}
