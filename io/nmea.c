/* nmea.c: NMEA 0183 reader: checksummed sentences from any talker grouped
 * into one fix per time instant (epoch), with hand-written field parsing. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dl_io.h"
#include "dl_lines.h"

#define NS_PER_S 1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_S)
#define KNOT_MPS (1852.0 / 3600.0)
#define MAX_FRAC 18 /* fraction digits kept exactly (fit in uint64) */

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                   1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                   1e14, 1e15, 1e16, 1e17, 1e18};

/* ---- field scanning ----------------------------------------------------
 * A sentence body is [p, end) without '$' and '*hh'. Each parser consumes
 * one field and its trailing comma; fields are short, so a byte loop beats
 * memchr here. */
typedef struct cur {
  const char *p, *end;
  int missing; /* set when a field was asked for past the end */
} cur;

/* Next field as [*s, *e). Returns 0 when the sentence has no more fields. */
static inline int field(cur *c, const char **s, const char **e) {
  if (c->p > c->end) {
    c->missing = 1;
    *s = *e = c->end;
    return 0;
  }
  const char *q = c->p;
  while (q < c->end && *q != ',') q++;
  *s = c->p;
  *e = q;
  c->p = q + 1; /* may step one past end: marks "no more fields" */
  return 1;
}

static inline void skip(cur *c, int n) {
  const char *s, *e;
  while (n-- > 0) field(c, &s, &e);
}

static inline unsigned digit(char ch) { return (unsigned)(unsigned char)ch - '0'; }

/* Unsigned decimal "123.4567" as integer part and exact fraction.
 * Returns 0 for an empty field, 1 when parsed, -1 on any other content. */
static int parse_udec(const char *s, const char *e, uint64_t *ip, uint64_t *fp,
                      int *nf) {
  if (s == e) return 0;
  uint64_t i = 0, f = 0;
  int ni = 0, k = 0;
  while (s < e && digit(*s) < 10) {
    if (ni++ >= 18) return -1;
    i = i * 10 + digit(*s++);
  }
  if (s < e && *s == '.') {
    s++;
    while (s < e && digit(*s) < 10) {
      if (k < MAX_FRAC) f = f * 10 + digit(*s), k++; /* extra digits dropped */
      s++;
    }
  }
  if (s != e || (ni == 0 && k == 0)) return -1;
  *ip = i;
  *fp = f;
  *nf = k;
  return 1;
}

/* Signed decimal as a double. Same returns as parse_udec. */
static int parse_num(const char *s, const char *e, double *v) {
  int neg = 0;
  if (s < e && (*s == '-' || *s == '+')) neg = *s++ == '-';
  uint64_t i, f;
  int k;
  int r = parse_udec(s, e, &i, &f, &k);
  if (r <= 0) return r == 0 && neg ? -1 : r;
  double x = (double)i + (k ? (double)f / pow10_tab[k] : 0.0);
  *v = neg ? -x : x;
  return 1;
}

static int parse_int(const char *s, const char *e, int *v) {
  if (s == e) return 0;
  int x = 0, n = 0;
  while (s < e && digit(*s) < 10 && n < 9) x = x * 10 + (int)digit(*s++), n++;
  if (s != e) return -1;
  *v = x;
  return 1;
}

/* hhmmss[.sss]: nanoseconds of the day, fraction kept exactly as written
 * (up to 9 digits). */
static int parse_tod(const char *s, const char *e, int64_t *ns) {
  if (s == e) return 0;
  if (e - s < 6) return -1;
  for (int j = 0; j < 6; j++)
    if (digit(s[j]) >= 10) return -1;
  int hh = (int)(digit(s[0]) * 10 + digit(s[1]));
  int mm = (int)(digit(s[2]) * 10 + digit(s[3]));
  int ss = (int)(digit(s[4]) * 10 + digit(s[5]));
  if (hh > 23 || mm > 59 || ss > 60) return -1;
  s += 6;
  int64_t frac = 0, scale = NS_PER_S;
  if (s < e) {
    if (*s++ != '.') return -1;
    while (s < e && digit(*s) < 10) {
      if (scale > 1) scale /= 10, frac += (int64_t)digit(*s) * scale;
      s++;
    }
    if (s != e) return -1;
  }
  *ns = (hh * 3600LL + mm * 60LL + ss) * NS_PER_S + frac;
  return 1;
}

/* Latitude or longitude "ddmm.mmmm" + hemisphere field. The minutes are
 * divided once as an exact integer ratio so that many-digit RTK positions
 * keep their precision (error well under 1e-12 degrees). */
static int parse_coord(cur *c, double *deg, int is_lat) {
  const char *p = c->p, *end = c->end;
  /* fast path: digits '.' digits ',' hemisphere (',' or end), read once */
  if (p < end) {
    uint64_t i = 0, f = 0;
    int ni = 0, k = 0;
    while (p < end && digit(*p) < 10 && ni < 12) i = i * 10 + digit(*p++), ni++;
    if (ni && p < end && *p == '.') {
      p++;
      while (p < end && digit(*p) < 10 && k < 15) f = f * 10 + digit(*p++), k++;
    }
    if (ni && p + 2 <= end && *p == ',' && (p + 2 == end || p[2] == ',')) {
      char h = p[1];
      int ok = is_lat ? (h == 'N' || h == 'S') : (h == 'E' || h == 'W');
      if (ok) {
        uint64_t d = i / 100, m = i % 100;
        double x = (double)d + ((double)m * pow10_tab[k] + (double)f) / (60.0 * pow10_tab[k]);
        *deg = (h == 'S' || h == 'W') ? -x : x;
        c->p = p + 3;
        return 1;
      }
    }
  }
  /* general path: empty fields, over-long fractions, malformed input */
  const char *s, *e, *hs, *he;
  field(c, &s, &e);
  field(c, &hs, &he);
  if (c->missing) return -1;
  uint64_t i, f;
  int k;
  int r = parse_udec(s, e, &i, &f, &k);
  if (r <= 0) return r;
  for (; k > 15; k--) f /= 10; /* keep mm*10^k + f below 2^53 */
  uint64_t d = i / 100, m = i % 100;
  double x = (double)d + ((double)m * pow10_tab[k] + (double)f) / (60.0 * pow10_tab[k]);
  if (he - hs != 1) return -1;
  char h = *hs;
  if (is_lat ? (h != 'N' && h != 'S') : (h != 'E' && h != 'W')) return -1;
  if (h == 'S' || h == 'W') x = -x;
  *deg = x;
  return 1;
}

/* ---- epochs -------------------------------------------------------------
 * All sentences carrying the same time of day (hhmmss.ss) form one epoch;
 * sentences without a time (VTG, GSA) join the epoch in progress. */
enum { SRC_RMC = 1, SRC_GGA = 2, SRC_GNS = 4, SRC_GLL = 8, SRC_ZDA = 16, SRC_VTG = 32 };

typedef struct epoch {
  int active;
  int64_t tod;   /* ns of the day */
  uint64_t line; /* line of the sentence that started the epoch */
  unsigned src;  /* SRC_* seen */
  int have_pos, invalid, valid;
  double lat, lon, speed, course, hdop, gsa_hdop, vtg_speed, vtg_course;
  int quality, nsat, gsa_nsat;
} epoch;

typedef struct state {
  const dl_gps_opts *o;
  dl_fixes *out;
  dl_rejects *rej;
  int64_t day;      /* days since 1970 of the current date; INT64_MIN unknown */
  int64_t last_tod; /* ns of the day of the last timed sentence, -1 none */
  epoch ep;
  int oom;
} state;

static void epoch_start(state *st, int64_t tod, uint64_t line) {
  epoch *ep = &st->ep;
  ep->active = 1;
  ep->tod = tod;
  ep->line = line;
  ep->src = 0;
  ep->have_pos = ep->invalid = ep->valid = 0;
  ep->lat = ep->lon = ep->speed = ep->course = ep->hdop = NAN;
  ep->gsa_hdop = ep->vtg_speed = ep->vtg_course = NAN;
  ep->quality = ep->nsat = -1;
  ep->gsa_nsat = 0;
}

/* Emits the finished epoch as a fix row, or counts why it is not one. */
static void epoch_flush(state *st) {
  epoch *ep = &st->ep;
  if (!ep->active) return;
  ep->active = 0;
  if (!ep->have_pos || (ep->invalid && !ep->valid)) {
    dl_reject(st->rej, DL_REJ_NO_FIX, ep->line);
    return;
  }
  if (st->day == INT64_MIN) {
    dl_reject(st->rej, DL_REJ_NO_DATE, ep->line);
    return;
  }
  if (!(fabs(ep->lat) <= 90.0 && fabs(ep->lon) <= 180.0)) {
    dl_reject(st->rej, DL_REJ_RANGE, ep->line);
    return;
  }
  dl_fixes *f = st->out;
  if (f->n == f->cap && dl_fixes_reserve(f, f->n ? f->n * 2 : 4096) != DL_OK) {
    st->oom = 1;
    return;
  }
  size_t i = f->n++;
  /* whole seconds and fraction added separately: the fraction survives
   * exactly to the millisecond at any date */
  int64_t sec = ep->tod / NS_PER_S;
  f->t[i] = (double)(st->day * 86400 + sec) + (double)(ep->tod - sec * NS_PER_S) / 1e9;
  f->lat[i] = ep->lat;
  f->lon[i] = ep->lon;
  f->speed[i] = isfinite(ep->speed) ? ep->speed : ep->vtg_speed;
  double crs = isfinite(ep->course) ? ep->course : ep->vtg_course;
  if (isfinite(crs)) {
    crs = fmod(crs, 360.0);
    if (crs < 0) crs += 360.0;
  }
  f->course[i] = crs;
  f->hdop[i] = isfinite(ep->hdop) ? ep->hdop : ep->gsa_hdop;
  f->quality[i] = (int8_t)ep->quality;
  int ns = ep->nsat >= 0 ? ep->nsat : (ep->gsa_nsat > 0 ? ep->gsa_nsat : -1);
  f->nsat[i] = (int8_t)(ns > 127 ? 127 : ns);
  f->line[i] = ep->line;
  st->rej->accepted++;
}

/* A sentence with a time of day: closes the epoch in progress when the time
 * differs, and advances a known date when the clock wraps past midnight
 * (a backwards step of more than 12 h; smaller steps are receiver replays
 * or glitches, not a new day). */
static void timed(state *st, int64_t tod, uint64_t line) {
  if (st->ep.active && st->ep.tod == tod) return;
  epoch_flush(st);
  if (st->day != INT64_MIN && st->last_tod >= 0 && tod < st->last_tod - NS_PER_DAY / 2)
    st->day++;
  st->last_tod = tod;
  epoch_start(st, tod, line);
}

static int set_pos(epoch *ep, double lat, double lon) {
  ep->lat = lat;
  ep->lon = lon;
  ep->have_pos = 1;
  return 0;
}

/* ---- sentences ---------------------------------------------------------
 * Each returns 0 or a DL_REJ_* reason + 1 (so 0 stays "fine"). */
#define REJ(r) ((r) + 1)

static int do_rmc(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  /* validate the whole sentence before touching the epoch */
  cur c2 = *c;
  field(&c2, &s, &e);
  int r = parse_tod(s, e, &tod);
  if (r < 0) return REJ(DL_REJ_SYNTAX);
  if (r == 0) return REJ(DL_REJ_NO_TIME);
  const char *st_s, *st_e;
  field(&c2, &st_s, &st_e);
  double lat = NAN, lon = NAN, spd = NAN, crs = NAN;
  int rl = parse_coord(&c2, &lat, 1);
  int ro = parse_coord(&c2, &lon, 0);
  if (rl < 0 || ro < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_num(s, e, &spd) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_num(s, e, &crs) < 0) return REJ(DL_REJ_SYNTAX);
  const char *ds, *de;
  field(&c2, &ds, &de);
  if (c2.missing) return REJ(DL_REJ_SYNTAX);
  int64_t day = INT64_MIN;
  if (de - ds == 6) {
    int ok = 1;
    for (int j = 0; j < 6; j++) ok &= digit(ds[j]) < 10;
    if (ok) {
      unsigned dd = digit(ds[0]) * 10 + digit(ds[1]);
      unsigned mo = digit(ds[2]) * 10 + digit(ds[3]);
      unsigned yy = digit(ds[4]) * 10 + digit(ds[5]);
      if (dd >= 1 && dd <= 31 && mo >= 1 && mo <= 12)
        day = dl_days_from_civil(yy < 80 ? 2000 + yy : 1900 + yy, mo, dd);
    }
  }
  skip(&c2, 2); /* magnetic variation, E/W */
  char mode = 0;
  if (field(&c2, &s, &e) && e > s) mode = *s;

  timed(st, tod, line);
  if (day != INT64_MIN) st->day = day;
  epoch *ep = &st->ep;
  ep->src |= SRC_RMC;
  char status = st_e - st_s == 1 ? *st_s : 0;
  if (status == 'A' && mode != 'N') {
    if (rl > 0 && ro > 0) {
      set_pos(ep, lat, lon);
      ep->valid = 1;
    }
    if (isfinite(spd)) ep->speed = spd * KNOT_MPS;
    if (isfinite(crs)) ep->course = crs;
  } else {
    ep->invalid = 1;
  }
  return 0;
}

static int do_gga(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  field(&c2, &s, &e);
  int r = parse_tod(s, e, &tod);
  if (r < 0) return REJ(DL_REJ_SYNTAX);
  if (r == 0) return REJ(DL_REJ_NO_TIME);
  double lat = NAN, lon = NAN, hdop = NAN;
  int rl = parse_coord(&c2, &lat, 1);
  int ro = parse_coord(&c2, &lon, 0);
  if (rl < 0 || ro < 0) return REJ(DL_REJ_SYNTAX);
  int q = -1, ns = -1;
  field(&c2, &s, &e);
  if (parse_int(s, e, &q) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_int(s, e, &ns) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_num(s, e, &hdop) < 0) return REJ(DL_REJ_SYNTAX);
  if (c2.missing) return REJ(DL_REJ_SYNTAX);

  timed(st, tod, line);
  epoch *ep = &st->ep;
  ep->src |= SRC_GGA;
  if (q > 0 && rl > 0 && ro > 0) {
    set_pos(ep, lat, lon);
    ep->valid = 1;
  } else if (q == 0 || rl == 0) {
    ep->invalid = 1;
  }
  if (q >= 0) ep->quality = q > 127 ? 127 : q;
  if (ns >= 0) ep->nsat = ns;
  if (isfinite(hdop)) ep->hdop = hdop;
  return 0;
}

static int do_gns(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  field(&c2, &s, &e);
  int r = parse_tod(s, e, &tod);
  if (r < 0) return REJ(DL_REJ_SYNTAX);
  if (r == 0) return REJ(DL_REJ_NO_TIME);
  double lat = NAN, lon = NAN, hdop = NAN;
  int rl = parse_coord(&c2, &lat, 1);
  int ro = parse_coord(&c2, &lon, 0);
  if (rl < 0 || ro < 0) return REJ(DL_REJ_SYNTAX);
  const char *ms, *me;
  field(&c2, &ms, &me);
  int ns = -1;
  field(&c2, &s, &e);
  if (parse_int(s, e, &ns) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_num(s, e, &hdop) < 0) return REJ(DL_REJ_SYNTAX);
  if (c2.missing) return REJ(DL_REJ_SYNTAX);
  /* one mode letter per constellation: any of A D P R F E M S is a fix */
  int fix = 0, q = 0;
  for (const char *m = ms; m < me; m++) {
    switch (*m) {
      case 'A': fix = 1; if (q < 1) q = 1; break;
      case 'D': case 'P': case 'S': fix = 1; if (q < 2) q = 2; break;
      case 'R': fix = 1; q = 4; break;
      case 'F': fix = 1; if (q != 4) q = 5; break;
      case 'E': case 'M': fix = 1; if (q < 1) q = 6; break;
      default: break;
    }
  }
  timed(st, tod, line);
  epoch *ep = &st->ep;
  ep->src |= SRC_GNS;
  if (fix && rl > 0 && ro > 0) {
    set_pos(ep, lat, lon);
    ep->valid = 1;
    if (ep->quality < 0) ep->quality = q;
  } else {
    ep->invalid = 1;
  }
  if (ns >= 0 && ep->nsat < 0) ep->nsat = ns;
  if (isfinite(hdop) && !isfinite(ep->hdop)) ep->hdop = hdop;
  return 0;
}

static int do_gll(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  double lat = NAN, lon = NAN;
  int rl = parse_coord(&c2, &lat, 1);
  int ro = parse_coord(&c2, &lon, 0);
  if (rl < 0 || ro < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  int r = parse_tod(s, e, &tod);
  if (r < 0) return REJ(DL_REJ_SYNTAX);
  if (r == 0) return REJ(DL_REJ_NO_TIME); /* NMEA 1.x GLL: position only */
  const char *ss, *se;
  field(&c2, &ss, &se);
  char mode = 0;
  if (field(&c2, &s, &e) && e > s) mode = *s;
  timed(st, tod, line);
  epoch *ep = &st->ep;
  ep->src |= SRC_GLL;
  if (se - ss == 1 && *ss == 'A' && mode != 'N' && rl > 0 && ro > 0) {
    if (!ep->have_pos) set_pos(ep, lat, lon);
    ep->valid = 1;
  } else {
    ep->invalid = 1;
  }
  return 0;
}

static int do_zda(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  field(&c2, &s, &e);
  int r = parse_tod(s, e, &tod);
  if (r < 0) return REJ(DL_REJ_SYNTAX);
  if (r == 0) return REJ(DL_REJ_NO_TIME);
  int d = 0, m = 0, y = 0;
  int rd, rm, ry;
  field(&c2, &s, &e);
  rd = parse_int(s, e, &d);
  field(&c2, &s, &e);
  rm = parse_int(s, e, &m);
  field(&c2, &s, &e);
  ry = parse_int(s, e, &y);
  if (rd < 0 || rm < 0 || ry < 0 || c2.missing) return REJ(DL_REJ_SYNTAX);
  timed(st, tod, line);
  st->ep.src |= SRC_ZDA;
  if (rd > 0 && rm > 0 && ry > 0 && d >= 1 && d <= 31 && m >= 1 && m <= 12 && y >= 1980)
    st->day = dl_days_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

static int do_vtg(state *st, cur *c) {
  const char *s, *e, *u, *ue;
  double crs = NAN, kn = NAN;
  cur c2 = *c;
  field(&c2, &s, &e);
  if (parse_num(s, e, &crs) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &u, &ue);
  if (ue - u == 1 && *u == 'T') { /* NMEA 2+: crs,T,mag,M,kn,N,kmh,K[,mode] */
    skip(&c2, 2);
    field(&c2, &s, &e);
    if (parse_num(s, e, &kn) < 0) return REJ(DL_REJ_SYNTAX);
    skip(&c2, 3);
    const char *ms, *me;
    if (field(&c2, &ms, &me) && me > ms && *ms == 'N') kn = crs = NAN;
  } else { /* NMEA 1.x: crs,mag,kn,kmh */
    field(&c2, &s, &e);
    if (parse_num(s, e, &kn) < 0) return REJ(DL_REJ_SYNTAX);
  }
  if (c2.missing) return REJ(DL_REJ_SYNTAX);
  if (!st->ep.active) return REJ(DL_REJ_NO_TIME);
  st->ep.src |= SRC_VTG;
  if (isfinite(kn)) st->ep.vtg_speed = kn * KNOT_MPS;
  if (isfinite(crs)) st->ep.vtg_course = crs;
  return 0;
}

static int do_gsa(state *st, cur *c) {
  const char *s, *e;
  cur c2 = *c;
  skip(&c2, 2); /* mode, fix type */
  int used = 0;
  for (int j = 0; j < 12; j++) {
    field(&c2, &s, &e);
    used += e > s;
  }
  skip(&c2, 1); /* PDOP */
  double hdop = NAN;
  field(&c2, &s, &e);
  if (c2.missing || parse_num(s, e, &hdop) < 0) return REJ(DL_REJ_SYNTAX);
  if (!st->ep.active) return REJ(DL_REJ_NO_TIME);
  /* one GSA per constellation: satellites add up, HDOP is the same */
  st->ep.gsa_nsat += used;
  if (isfinite(hdop)) st->ep.gsa_hdop = hdop;
  return 0;
}

/* Dispatches one checksum-verified sentence body [s, end). */
static int sentence(state *st, const char *s, const char *end, uint64_t line) {
  /* address: 2-letter talker + 3-letter type, or P + maker (proprietary) */
  const char *comma = s;
  while (comma < end && *comma != ',') comma++;
  size_t alen = (size_t)(comma - s);
  if (alen == 0) return REJ(DL_REJ_SYNTAX);
  if (s[0] == 'P') return REJ(DL_REJ_UNSUPPORTED);
  if (alen != 5) return REJ(alen < 5 ? DL_REJ_SYNTAX : DL_REJ_UNSUPPORTED);
  for (size_t j = 0; j < 5; j++) {
    unsigned char ch = (unsigned char)s[j];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) return REJ(DL_REJ_SYNTAX);
  }
  cur c = {comma + 1, end, 0};
  const char *t = s + 2;
  uint32_t k = (uint32_t)(unsigned char)t[0] << 16 | (uint32_t)(unsigned char)t[1] << 8 |
               (unsigned char)t[2];
#define K3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
  switch (k) {
    case K3('R', 'M', 'C'): return do_rmc(st, &c, line);
    case K3('G', 'G', 'A'): return do_gga(st, &c, line);
    case K3('G', 'N', 'S'): return do_gns(st, &c, line);
    case K3('G', 'L', 'L'): return do_gll(st, &c, line);
    case K3('Z', 'D', 'A'): return do_zda(st, &c, line);
    case K3('V', 'T', 'G'): return do_vtg(st, &c);
    case K3('G', 'S', 'A'): return do_gsa(st, &c);
    default: return REJ(DL_REJ_UNSUPPORTED);
  }
#undef K3
}

static inline int hexval(unsigned char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch |= 0x20;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

/* XOR of the bytes in [s, e), eight at a time, watching for a '$' (the
 * start of a spliced sentence) in the same pass. Returns the first '$' or
 * NULL; *x is meaningful only when there is none. */
static inline const char *xor_scan(const char *s, const char *e, unsigned *x) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  const char *s0 = s;
  uint64_t acc = 0, hit = 0;
  while (e - s >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    acc ^= w;
    uint64_t z = w ^ (ones * '$');
    hit |= (z - ones) & ~z & highs;
    s += 8;
  }
  unsigned t = 0;
  for (; s < e; s++) {
    t ^= (unsigned char)*s;
    hit |= *s == '$';
  }
  if (hit) return memchr(s0, '$', (size_t)(e - s0));
  acc ^= acc >> 32;
  acc ^= acc >> 16;
  acc ^= acc >> 8;
  *x = ((unsigned)acc ^ t) & 0xff;
  return NULL;
}

/* A line without any '$': a comment, a banner, or binary noise. */
static void non_sentence(state *st, const char *s, size_t n, uint64_t line) {
  if (n == 0) return;
  if (s[0] == '!') {
    dl_reject(st->rej, DL_REJ_UNSUPPORTED, line); /* AIS and other '!' sentences */
    return;
  }
  for (size_t j = 0; j < n; j++) {
    unsigned char ch = (unsigned char)s[j];
    if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
      dl_reject(st->rej, DL_REJ_BINARY, line);
      return;
    }
  }
  dl_reject(st->rej, DL_REJ_HEADER, line);
}

/* Splits one physical line into sentences: each '$' (a doubled "$$" is one)
 * up to "*hh", or up to the next '$' (a sentence cut short by another), or
 * up to the end of the line (no checksum). */
static void line_sentences(state *st, const char *p, size_t n, uint64_t line) {
  const char *e = p + n;
  const char *d = memchr(p, '$', n);
  if (!d) {
    non_sentence(st, p, n, line);
    return;
  }
  while (d) {
    const char *s = d + 1;
    while (s < e && *s == '$') s++;
    const char *stop = memchr(s, '*', (size_t)(e - s));
    unsigned sum = 0;
    const char *next = xor_scan(s, stop ? stop : e, &sum);
    int r;
    if (next) { /* cut short by the next sentence: it never got its checksum */
      r = st->o->nmea_lenient ? sentence(st, s, next, line) : REJ(DL_REJ_NO_CHECKSUM);
      d = next;
    } else if (stop) {
      int h1 = stop + 1 < e ? hexval((unsigned char)stop[1]) : -1;
      int h2 = stop + 2 < e ? hexval((unsigned char)stop[2]) : -1;
      if (h1 < 0 || h2 < 0)
        r = REJ(DL_REJ_CHECKSUM);
      else if ((unsigned)(h1 << 4 | h2) != sum)
        r = REJ(DL_REJ_CHECKSUM);
      else
        r = sentence(st, s, stop, line);
      const char *after = stop + 1;
      d = after < e ? memchr(after, '$', (size_t)(e - after)) : NULL;
    } else {
      const char *t = e;
      while (t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) t--;
      r = st->o->nmea_lenient ? sentence(st, s, t, line) : REJ(DL_REJ_NO_CHECKSUM);
      d = NULL;
    }
    if (r) dl_reject(st->rej, r - 1, line);
  }
}

/* Appends one fix per epoch with a valid position and a known date, in file
 * order (times may repeat or step back when the receiver does; nothing is
 * sorted or dropped for that). Each fix's line is the line of the first
 * sentence of its epoch. Sentences: RMC GGA GNS GLL VTG GSA ZDA from any
 * talker; others count as unsupported. rej->lines is physical lines,
 * rej->accepted the fixes appended. */
int dl_read_nmea(const char *path, const dl_gps_opts *o, dl_fixes *out,
                 dl_rejects *rej, dl_err *e) {
  dl_gps_opts defo;
  dl_rejects local;
  if (!o) {
    dl_gps_opts_default(&defo);
    o = &defo;
  }
  if (!rej) rej = &local;
  memset(rej, 0, sizeof *rej);
  dl_lines lr;
  int rc = dl_lines_open(&lr, path, e);
  if (rc != DL_OK) return rc;
  state st;
  memset(&st, 0, sizeof st);
  st.o = o;
  st.out = out;
  st.rej = rej;
  st.day = INT64_MIN;
  st.last_tod = -1;
  const char *ln;
  size_t len;
  int too_long;
  while ((rc = dl_lines_next(&lr, &ln, &len, &too_long, e)) == 1) {
    if (too_long) {
      dl_reject(rej, DL_REJ_TOO_LONG, lr.lineno);
      continue;
    }
    line_sentences(&st, ln, len, lr.lineno);
    if (st.oom) break;
  }
  if (rc >= 0 && !st.oom) epoch_flush(&st);
  rej->lines = lr.lineno;
  dl_lines_close(&lr);
  if (rc < 0) return rc;
  if (st.oom) return dl_errf(e, DL_ENOMEM, "%s: out of memory after %zu fixes", path, out->n);
  return DL_OK;
}
