/* gps_common.h: small helpers the GPS readers in io/ share (number and
 * field parsing, plausibility ranges, time order). Internal to io/. */
#ifndef DL_GPS_COMMON_H
#define DL_GPS_COMMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_base.h"

/* Plausible fix times: from the GPS epoch year to 2100. Anything outside is
 * a unit mistake (milliseconds, days) rather than a real fix. */
#define GPS_T_MIN 315532800.0  /* 1980-01-01T00:00:00Z */
#define GPS_T_MAX 4102444800.0 /* 2100-01-01T00:00:00Z */

/* Parses the n bytes at s as a finite decimal number (no hex, nan or inf;
 * blanks around it allowed). Returns 1 on success. */
static inline int gps_num(const char *s, size_t n, double *v) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 || n >= 64) return 0;
  char b[64];
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return 0;
    b[i] = c;
  }
  b[n] = '\0';
  char *end;
  double x = strtod(b, &end);
  if (*end || !isfinite(x)) return 0;
  *v = x;
  return 1;
}

/* 1 when the line holds a NUL or other control bytes no text format has. */
static inline int gps_binary(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 && c != '\t' && c != '\r') return 1;
    if (c == 0x7f) return 1;
  }
  return 0;
}

static inline int gps_latlon_ok(double lat, double lon) {
  return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180;
}

/* Time order rule shared by the readers: a fix at the time of the last kept
 * one is a duplicate (the first is kept), an earlier one goes backwards.
 * Returns the reject reason, or -1 when t may be appended. */
static inline int gps_time_order(const dl_fixes *f, size_t first, double t) {
  if (f->n <= first) return -1;
  double last = f->t[f->n - 1];
  if (t == last) return DL_REJ_DUPLICATE;
  if (t < last) return DL_REJ_BACKWARDS;
  return -1;
}

/* The screening every line-based GPS reader applies first: an over-long
 * line is rejected as too long, a binary one as binary, a blank one is
 * skipped. Returns 1 when the line is done with, 0 when it is to be read. */
static inline int gps_line_skip(dl_rejects *rej, const char *line, size_t len, int too_long,
                                uint64_t ln) {
  if (too_long) {
    dl_reject(rej, DL_REJ_TOO_LONG, ln);
    return 1;
  }
  if (len == 0) return 1;
  if (gps_binary(line, len)) {
    dl_reject(rej, DL_REJ_BINARY, ln);
    return 1;
  }
  return 0;
}

/* Appends an accepted fix (time, position, source line; other columns
 * unknown) and counts it. Returns its row, or -1 with e filled when memory
 * runs out. */
static inline long gps_push(dl_fixes *out, dl_rejects *rej, double t, double lat, double lon,
                            uint64_t line, const char *path, dl_err *e) {
  long i = dl_fixes_push(out);
  if (i < 0) {
    dl_errf(e, DL_ENOMEM, "%s:%llu: out of memory", path, (unsigned long long)line);
    return -1;
  }
  out->t[i] = t;
  out->lat[i] = lat;
  out->lon[i] = lon;
  out->line[i] = line;
  rej->accepted++;
  return i;
}

/* gpsd's fix status (STATUS_* in gps.h) as a GGA fix quality. */
static inline int gps_quality_from_gpsd(int mode, int status) {
  if (mode < 2) return 0;
  switch (status) {
    case 2: return 2; /* DGPS */
    case 3: return 4; /* RTK fixed */
    case 4: return 5; /* RTK float */
    case 5: return 6; /* dead reckoning */
    case 6: return 1; /* GNSS + dead reckoning: a GNSS fix */
    case 8: return 8; /* simulated */
    case 9: return 3; /* PPS */
    default: return 1;
  }
}

#endif
