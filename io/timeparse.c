/* timeparse.c: ISO-8601 date-time parsing (see dl_time.h). */
#include "dl_time.h"

#include "dl_base.h"

/* Reads exactly k digits at *p (bounded by end) into *v. */
static int digits(const char **p, const char *end, int k, int *v) {
  int x = 0;
  for (int i = 0; i < k; i++) {
    if (*p >= end || (unsigned)(**p - '0') > 9) return 0;
    x = x * 10 + (*(*p)++ - '0');
  }
  *v = x;
  return 1;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m) {
  static const unsigned char md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

int dl_parse_iso8601_zone(const char *s, size_t n, double *t, int *has_zone) {
  const char *p = s, *end = s + n;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
  int y, mo, d, hh, mi, ss = 0;
  if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) ||
      p >= end || *p++ != '-' || !digits(&p, end, 2, &d))
    return DL_EFORMAT;
  if (p >= end || (*p != 'T' && *p != 't' && *p != ' ')) return DL_EFORMAT;
  p++;
  if (!digits(&p, end, 2, &hh) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi))
    return DL_EFORMAT;
  double frac = 0;
  if (p < end && *p == ':') {
    p++;
    if (!digits(&p, end, 2, &ss)) return DL_EFORMAT;
    if (p < end && (*p == '.' || *p == ',')) {
      p++;
      long long num = 0, den = 1;
      int nd = 0;
      while (p < end && (unsigned)(*p - '0') <= 9) {
        if (nd < 9) num = num * 10 + (*p - '0'), den *= 10; /* beyond ns: ignored */
        nd++, p++;
      }
      if (nd == 0) return DL_EFORMAT;
      frac = (double)num / (double)den;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || hh > 23 || mi > 59 || ss > 60)
    return DL_EFORMAT;
  int zone = 0, off = 0;
  if (p < end && (*p == 'Z' || *p == 'z')) {
    zone = 1;
    p++;
  } else if (p < end && (*p == '+' || *p == '-')) {
    int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
    if (!digits(&p, end, 2, &oh)) return DL_EFORMAT;
    if (p < end && *p == ':') {
      p++;
      if (!digits(&p, end, 2, &om)) return DL_EFORMAT;
    } else if (p < end && !digits(&p, end, 2, &om)) {
      return DL_EFORMAT;
    }
    if (oh > 14 || om > 59) return DL_EFORMAT;
    zone = 1;
    off = sign * (oh * 3600 + om * 60);
  }
  if (p != end) return DL_EFORMAT;
  int64_t days = dl_days_from_civil(y, (unsigned)mo, (unsigned)d);
  /* whole seconds first so that the fraction is added to an exact integer */
  int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - off;
  *t = (double)secs + frac;
  if (has_zone) *has_zone = zone;
  return DL_OK;
}

int dl_parse_iso8601(const char *s, size_t n, double *t) {
  return dl_parse_iso8601_zone(s, n, t, NULL);
}
