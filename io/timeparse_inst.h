/* timeparse_inst.h: small date, time and number parsers shared by the
 * instrument readers and the tags file (static inline: private to io/; the
 * ISO-8601 part duplicates the GPS branch's parser until merge). All work on
 * (pointer, length) fields that are not NUL-terminated. */
#ifndef DL_TIMEPARSE_INST_H
#define DL_TIMEPARSE_INST_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dl_base.h"

static inline int tpi_isdigit(char c) { return c >= '0' && c <= '9'; }

/* Parses between min and max digits at s[*i..n); 1 on success. */
static inline int tpi_uint(const char *s, size_t n, size_t *i, int min, int max,
                           int *v) {
  int k = 0, x = 0;
  while (*i < n && k < max && tpi_isdigit(s[*i])) x = x * 10 + (s[(*i)++] - '0'), k++;
  if (k < min) return 0;
  *v = x;
  return 1;
}

static inline int tpi_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int tpi_days_in_month(int64_t y, int m) {
  static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 ? 28 + tpi_leap(y) : dm[m - 1];
}

static inline int tpi_date_ok(int y, int m, int d) {
  return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 &&
         d <= tpi_days_in_month(y, m);
}

static inline int tpi_ieq(const char *a, size_t n, const char *lit) {
  size_t k = strlen(lit);
  if (n != k) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lit[i]) return 0;
  }
  return 1;
}

/* Time of day "H[H]:MM[:SS[.fff]]" with an optional " AM"/" PM" (12-hour
 * clock when present). Minutes and seconds need exactly two digits, so a
 * truncated "13:05:0" is refused. Consumes the whole field; 1 on success
 * with the seconds since midnight in *sod. */
static inline int tpi_time_of_day(const char *s, size_t n, double *sod) {
  size_t i = 0;
  int h, m, sec = 0;
  double frac = 0;
  if (!tpi_uint(s, n, &i, 1, 2, &h) || i >= n || s[i++] != ':') return 0;
  if (!tpi_uint(s, n, &i, 2, 2, &m)) return 0;
  if (i < n && s[i] == ':') {
    i++;
    if (!tpi_uint(s, n, &i, 2, 2, &sec)) return 0;
    if (i < n && s[i] == '.') {
      i++;
      double scale = 0.1;
      size_t k0 = i;
      while (i < n && tpi_isdigit(s[i])) frac += (s[i++] - '0') * scale, scale *= 0.1;
      if (i == k0) return 0;
    }
  }
  while (i < n && s[i] == ' ') i++;
  if (i < n) {
    if (n - i != 2 || (s[i + 1] != 'M' && s[i + 1] != 'm')) return 0;
    int pm;
    if (s[i] == 'P' || s[i] == 'p')
      pm = 1;
    else if (s[i] == 'A' || s[i] == 'a')
      pm = 0;
    else
      return 0;
    if (h < 1 || h > 12) return 0;
    h = h % 12 + (pm ? 12 : 0);
  }
  if (h > 23 || m > 59 || sec > 60) return 0;
  *sod = h * 3600.0 + m * 60.0 + sec + frac;
  return 1;
}

/* ISO-8601 date "YYYY-MM-DD" (or "YYYY/MM/DD"): 1 and days since 1970. */
static inline int tpi_iso_date(const char *s, size_t n, size_t *i, int64_t *days) {
  int y, m, d;
  if (!tpi_uint(s, n, i, 4, 4, &y) || *i >= n) return 0;
  char sep = s[*i];
  if (sep != '-' && sep != '/') return 0;
  (*i)++;
  if (!tpi_uint(s, n, i, 1, 2, &m) || *i >= n || s[(*i)++] != sep) return 0;
  if (!tpi_uint(s, n, i, 1, 2, &d) || !tpi_date_ok(y, m, d)) return 0;
  *days = dl_days_from_civil(y, (unsigned)m, (unsigned)d);
  return 1;
}

/* Exact powers of ten (every one up to 1e22 is a double exactly). */
static const double tpi_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Decimal number "[+-]digits[.digits][e[+-]dd]" times 10^scale10 (3 turns
 * mg/m³ into µg/m³ with one correctly rounded operation: "0.090" → 90
 * exactly). Returns 1 ok, 0 for a missing value (empty, NA, NaN, null, "-",
 * "--"), -1 for anything else. No locale, no allocation. */
static inline int tpi_decimal(const char *s, size_t n, int scale10, double *out) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '"')) n--;
  while (n && (*s == ' ' || *s == '"')) s++, n--;
  if (n == 0 || tpi_ieq(s, n, "na") || tpi_ieq(s, n, "nan") || tpi_ieq(s, n, "null") ||
      tpi_ieq(s, n, "-") || tpi_ieq(s, n, "--") || tpi_ieq(s, n, "n/a"))
    return 0;
  size_t i = 0;
  int neg = 0;
  if (s[0] == '-' || s[0] == '+') neg = s[0] == '-', i++;
  uint64_t m = 0;
  int nd = 0, fd = 0;
  while (i < n && tpi_isdigit(s[i])) {
    if (m < UINT64_C(100000000000000000)) m = m * 10 + (uint64_t)(s[i] - '0');
    else fd--; /* digit beyond what we keep: scale instead */
    i++, nd++;
  }
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && tpi_isdigit(s[i])) {
      if (m < UINT64_C(100000000000000000)) m = m * 10 + (uint64_t)(s[i] - '0'), fd++;
      i++, nd++;
    }
  }
  if (nd == 0) return -1;
  int ex = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0, ev;
    if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (!tpi_uint(s, n, &i, 1, 3, &ev)) return -1;
    ex = eneg ? -ev : ev;
  }
  if (i != n) return -1;
  int p = scale10 + ex - fd;
  double v;
  if (m <= (UINT64_C(1) << 53) && p >= -22 && p <= 22)
    v = p >= 0 ? (double)m * tpi_pow10[p] : (double)m / tpi_pow10[-p];
  else
    v = (double)m * pow(10.0, p); /* rare: very long or very large numbers */
  *out = neg ? -v : v;
  return 1;
}

/* Concentration unit to the power of ten that turns it into µg/m³:
 * "mg/m^3", "mg/m3", "mg/m³" give 3; "ug/m^3", "µg/m³" (micro sign or Greek
 * mu, UTF-8 or Latin-1) give 0; anything else gives -99. */
static inline int tpi_unit_scale(const char *s, size_t n) {
  while (n && s[n - 1] == ' ') n--;
  while (n && *s == ' ') s++, n--;
  int scale;
  size_t i;
  if (n >= 1 && (s[0] == 'm' || s[0] == 'M'))
    scale = 3, i = 1;
  else if (n >= 1 && (s[0] == 'u' || s[0] == 'U' || (unsigned char)s[0] == 0xB5))
    scale = 0, i = 1;
  else if (n >= 2 && ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xB5))
    scale = 0, i = 2;
  else if (n >= 2 && ((unsigned char)s[0] == 0xCE && (unsigned char)s[1] == 0xBC))
    scale = 0, i = 2;
  else
    return -99;
  if (n - i < 3 || (s[i] != 'g' && s[i] != 'G') || s[i + 1] != '/' ||
      (s[i + 2] != 'm' && s[i + 2] != 'M'))
    return -99;
  const char *r = s + i + 3;
  size_t k = n - i - 3;
  if ((k == 1 && (r[0] == '3' || (unsigned char)r[0] == 0xB3)) ||
      (k == 2 && r[0] == '^' && r[1] == '3') ||
      (k == 2 && (unsigned char)r[0] == 0xC2 && (unsigned char)r[1] == 0xB3))
    return scale;
  return -99;
}

/* Makes room for k more rows in s (doubling); DL_OK or DL_ENOMEM. */
static inline int tpi_samples_room(dl_samples *s, size_t k) {
  if (s->n + k <= s->cap) return DL_OK;
  size_t want = s->cap ? s->cap * 2 : 4096;
  while (want < s->n + k) want *= 2;
  return dl_samples_reserve(s, want);
}

/* 1 when the line holds a NUL or another control byte (not tab). */
static inline int tpi_binary(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 && s[i] != '\t') return 1;
  return 0;
}

#endif
