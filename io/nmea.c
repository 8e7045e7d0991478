/* nmea.c: NMEA 0183 reader: checksummed sentences from any talker grouped
 * into one fix per time instant (epoch), with hand-written field parsing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dl_io.h"
#include "dl_lines.h"

#define NS_PER_S 1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_S)
#define KNOT_MPS (1852.0 / 3600.0)
#define MAX_FRAC 18 /* fraction digits kept exactly (fit in uint64) */

/* XOR of the eight bytes of a, in its low byte (the NMEA checksum of a
 * word-wise XOR accumulator); the upper bytes are left with partial folds. */
static inline uint64_t xor_fold8(uint64_t a) {
  a ^= a >> 32;
  a ^= a >> 16;
  return a ^ (a >> 8);
}

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
enum { EP_POS = 1, EP_VALID = 2, EP_INVALID = 4 };

typedef struct epoch {
  int active;
  int64_t tod;   /* ns of the day */
  uint64_t line; /* line of the sentence that started the epoch */
  unsigned src;  /* SRC_* seen */
  unsigned got; /* EP_*: a position, a sentence saying valid, one saying not */
  double lat, lon, speed, course, hdop, gsa_hdop, vtg_speed, vtg_course;
  int quality, nsat, gsa_nsat;
} epoch;

/* A field layout of RMC or GGA lines for the AVX2 tier (see line_t1):
 * the body's comma and dot bitmaps it stands for, and the byte shuffles
 * that gather each numeric field's digits right-aligned into one of 12
 * eight-byte slots (every byte of those fields but the dots: line_t1 checks
 * they are digits). */
typedef struct t1_layout {
  uint64_t comma, dot; /* comma UINT64_MAX: unused (no line has bit 63) */
  uint8_t bad;         /* these bitmaps are not a plain layout */
  uint8_t pstat, plat, plon, pdate, pmode; /* body offsets; pmode 0: no mode field */
  uint8_t k[5];     /* fraction digits: time, lat, lon, and the two decimals */
  uint8_t empty;    /* RMC: 1 speed, 2 course empty; GGA: 1 quality, 2 satellites, 4 HDOP */
  uint16_t foff[2]; /* the decimals in slots 8-9, 10-11: where t1_fr holds their
                     * fractions (T1_FR_DIV: divide) */
  int32_t none[2];  /* GGA quality, satellites: -1 when empty, else 0 (the
                     * empty slot reads 0: OR-ed in, it gives -1) */
  uint8_t ctl[3][4][32]; /* slot vector, source lane: pshufb control */
} t1_layout;
#define T1_WAYS 64 /* layouts kept per sentence type: a generated log's six RMC
                    * shapes collided often in 16 */

typedef struct state {
  const dl_gps_opts *o;
  dl_fixes *out;
  dl_rejects *rej;
  int64_t day;      /* days since 1970 of the current date; INT64_MIN unknown */
  int64_t last_tod; /* ns of the day of the last timed sentence, -1 none */
  epoch ep;
  int oom;
  uint64_t date_txt; /* "ddmmyy," of the last RMC date converted, or
                      * UINT64_MAX (no 7 bytes read as it) */
  int64_t date_day; /* its day number */
  /* the fast path's last time and coordinate fields as written, and their
   * values: the GGA of an epoch usually repeats its RMC's text exactly */
  unsigned tod_len, coord_len; /* bytes, with the trailing ','; 0: none */
  int64_t tod_ns;
  double coord_lat, coord_lon;
  char tod_txt[16], coord_txt[48];
  struct t1_layout *lay; /* AVX2 tier: RMC and GGA field layouts seen, or NULL */
  uint64_t t1_pre[2];    /* "$ttRMC," and "$ttGGA," last seen (8 bytes, top 0;
                          * UINT64_MAX: none) */
  uint8_t t1_px[2];      /* the XOR of their bytes after the '$' */
  uintptr_t t1_lim;      /* lines_avx2 reads lines at p <= t1_lim with line_t1
                          * (80 bytes before the run's end; 0 after oom) */
  /* the AVX2 tier's vector constants (t1_kword): read from memory as
   * operands, where the compiler would otherwise rebuild them per line */
  _Alignas(32) uint64_t t1_kv[7][4];
  /* the AVX2 tier's last time and coordinate digits as gathered into
   * slots, with their fraction digits and hemispheres, and the values made
   * from them */
  uint64_t t1_tv[4], t1_cv[4];
  uint64_t t1_key; /* k[0..2] of the layout, the hemispheres; UINT64_MAX none */
  int64_t t1_tod;
  double t1_lat, t1_lon;
} state;

static void epoch_start(state *st, int64_t tod, uint64_t line) {
  epoch *ep = &st->ep;
  ep->active = 1;
  ep->tod = tod;
  ep->line = line;
  ep->src = 0;
  ep->got = 0;
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
  if (!(ep->got & EP_POS) || (ep->got & (EP_VALID | EP_INVALID)) == EP_INVALID) {
    dl_reject(st->rej, DL_REJ_NO_FIX, ep->line);
    return;
  }
  if (st->day == INT64_MIN) {
    dl_reject(st->rej, DL_REJ_NO_DATE, ep->line);
    return;
  }
  if (!((fabs(ep->lat) <= 90.0) & (fabs(ep->lon) <= 180.0))) { /* NaN fails too */
    dl_reject(st->rej, DL_REJ_RANGE, ep->line);
    return;
  }
  dl_fixes *f = st->out;
  if (f->n == f->cap && dl_fixes_reserve(f, f->n ? f->n * 2 : 4096) != DL_OK) {
    st->oom = 1;
    st->t1_lim = 0; /* stops the AVX2 tier's inner loop */
    return;
  }
  size_t i = f->n++;
  /* whole seconds and fraction added separately: the fraction survives
   * exactly to the millisecond at any date */
  int64_t sec = ep->tod / NS_PER_S, sub = ep->tod - sec * NS_PER_S;
  double t = (double)(st->day * 86400 + sec); /* + 0.0 when sub is 0: the same */
  if (sub) t += (double)sub / 1e9;
  f->t[i] = t;
  f->lat[i] = ep->lat;
  f->lon[i] = ep->lon;
  f->speed[i] = isfinite(ep->speed) ? ep->speed : ep->vtg_speed;
  double crs = isfinite(ep->course) ? ep->course : ep->vtg_course;
  if (isfinite(crs) && !(crs >= 0.0 && crs < 360.0)) { /* fmod is exact: skip it in range */
    crs = fmod(crs, 360.0);
    if (crs < 0) crs += 360.0;
  }
  f->course[i] = crs;
  f->hdop[i] = isfinite(ep->hdop) ? ep->hdop : ep->gsa_hdop;
  f->line[i] = ep->line;
  /* byte stores last: they may alias anything, so loads after them repeat */
  f->quality[i] = (int8_t)ep->quality;
  int ns = ep->nsat >= 0 ? ep->nsat : (ep->gsa_nsat > 0 ? ep->gsa_nsat : -1);
  f->nsat[i] = (int8_t)(ns > 127 ? 127 : ns);
}

/* A sentence with a time of day: closes the epoch in progress when the time
 * differs, and advances a known date when the clock wraps past midnight
 * (a backwards step of more than 12 h; smaller steps are receiver replays
 * or glitches, not a new day). */
static inline void timed(state *st, int64_t tod, uint64_t line) {
  if (st->ep.active && st->ep.tod == tod) return;
  epoch_flush(st);
  /* last_tod -1 (none) never passes the first test: tod >= 0 */
  if (tod < st->last_tod - NS_PER_DAY / 2 && st->day != INT64_MIN) st->day++;
  st->last_tod = tod;
  epoch_start(st, tod, line);
}

static int set_pos(epoch *ep, double lat, double lon) {
  ep->lat = lat;
  ep->lon = lon;
  ep->got |= EP_POS;
  return 0;
}

/* ---- sentences ---------------------------------------------------------
 * Each returns 0 or a DL_REJ_* reason + 1 (so 0 stays "fine"). */
#define REJ(r) ((r) + 1)

/* The next field as a time of day: 0 with *tod set, else the REJ() code
 * (syntax, or no time in an empty field). */
static int next_tod(cur *c, int64_t *tod) {
  const char *s, *e;
  field(c, &s, &e);
  int r = parse_tod(s, e, tod);
  return r < 0 ? REJ(DL_REJ_SYNTAX) : r == 0 ? REJ(DL_REJ_NO_TIME) : 0;
}

/* The next four fields as latitude and longitude (NAN when empty); *rl and
 * *ro as parse_coord; 0 ok, else the REJ() code. */
static int next_latlon(cur *c, double *lat, double *lon, int *rl, int *ro) {
  *rl = parse_coord(c, lat, 1);
  *ro = parse_coord(c, lon, 0);
  return *rl < 0 || *ro < 0 ? REJ(DL_REJ_SYNTAX) : 0;
}

/* Applies a validated RMC to the epoch (shared by the general and fast
 * parsers so that both change the state the same way). */
static inline void rmc_apply(state *st, uint64_t line, int64_t tod, int64_t day, char status,
                             char mode, int have_pos, double lat, double lon, double spd,
                             double crs) {
  timed(st, tod, line);
  if (day != INT64_MIN) st->day = day;
  epoch *ep = &st->ep;
  ep->src |= SRC_RMC;
  if (status == 'A' && mode != 'N') {
    if (have_pos) {
      set_pos(ep, lat, lon);
      ep->got |= EP_VALID;
    }
    if (isfinite(spd)) ep->speed = spd * KNOT_MPS;
    if (isfinite(crs)) ep->course = crs;
  } else {
    ep->got |= EP_INVALID;
  }
}

static int do_rmc(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  /* validate the whole sentence before touching the epoch */
  cur c2 = *c;
  int r = next_tod(&c2, &tod);
  if (r) return r;
  const char *st_s, *st_e;
  field(&c2, &st_s, &st_e);
  double lat = NAN, lon = NAN, spd = NAN, crs = NAN;
  int rl, ro;
  if ((r = next_latlon(&c2, &lat, &lon, &rl, &ro))) return r;
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
  char status = st_e - st_s == 1 ? *st_s : 0;
  rmc_apply(st, line, tod, day, status, mode, rl > 0 && ro > 0, lat, lon, spd, crs);
  return 0;
}

static inline void gga_apply(state *st, uint64_t line, int64_t tod, int rl, int ro, double lat,
                             double lon, int q, int ns, double hdop) {
  timed(st, tod, line);
  epoch *ep = &st->ep;
  ep->src |= SRC_GGA;
  if (q > 0 && rl > 0 && ro > 0) {
    set_pos(ep, lat, lon);
    ep->got |= EP_VALID;
  } else if (q == 0 || rl == 0) {
    ep->got |= EP_INVALID;
  }
  if (q >= 0) ep->quality = q > 127 ? 127 : q;
  if (ns >= 0) ep->nsat = ns;
  if (isfinite(hdop)) ep->hdop = hdop;
}

static int do_gga(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  int r = next_tod(&c2, &tod);
  if (r) return r;
  double lat = NAN, lon = NAN, hdop = NAN;
  int rl, ro;
  if ((r = next_latlon(&c2, &lat, &lon, &rl, &ro))) return r;
  int q = -1, ns = -1;
  field(&c2, &s, &e);
  if (parse_int(s, e, &q) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_int(s, e, &ns) < 0) return REJ(DL_REJ_SYNTAX);
  field(&c2, &s, &e);
  if (parse_num(s, e, &hdop) < 0) return REJ(DL_REJ_SYNTAX);
  if (c2.missing) return REJ(DL_REJ_SYNTAX);
  gga_apply(st, line, tod, rl, ro, lat, lon, q, ns, hdop);
  return 0;
}

static int do_gns(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  int r = next_tod(&c2, &tod);
  if (r) return r;
  double lat = NAN, lon = NAN, hdop = NAN;
  int rl, ro;
  if ((r = next_latlon(&c2, &lat, &lon, &rl, &ro))) return r;
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
    ep->got |= EP_VALID;
    if (ep->quality < 0) ep->quality = q;
  } else {
    ep->got |= EP_INVALID;
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
  int rl, ro, r;
  if ((r = next_latlon(&c2, &lat, &lon, &rl, &ro))) return r;
  if ((r = next_tod(&c2, &tod))) return r; /* no time: NMEA 1.x GLL, position only */
  const char *ss, *se;
  field(&c2, &ss, &se);
  char mode = 0;
  if (field(&c2, &s, &e) && e > s) mode = *s;
  timed(st, tod, line);
  epoch *ep = &st->ep;
  ep->src |= SRC_GLL;
  if (se - ss == 1 && *ss == 'A' && mode != 'N' && rl > 0 && ro > 0) {
    if (!(ep->got & EP_POS)) set_pos(ep, lat, lon);
    ep->got |= EP_VALID;
  } else {
    ep->got |= EP_INVALID;
  }
  return 0;
}

static int do_zda(state *st, cur *c, uint64_t line) {
  int64_t tod;
  const char *s, *e;
  cur c2 = *c;
  int r = next_tod(&c2, &tod);
  if (r) return r;
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
  acc = xor_fold8(acc);
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

/* ---- fast path ---------------------------------------------------------
 * Most lines of a log are "$ttRMC,...*hh\r\n" in the common field shapes.
 * Those are read with word-at-a-time scans: one pass finds the '*' (and any
 * '$' or '\n' that would make the line unusual) while XOR-ing the checksum,
 * and each field is read with one 8-byte load (digit count from a bit trick,
 * value from a multiply). Anything else (other shapes, other sentences,
 * junk) goes to the general parser above, so results do not depend on the
 * path taken. Loads may reach past the line: dl_lines_block guarantees
 * DL_LINES_PAD readable bytes after each run of lines. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_FAST 1
#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#endif
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
#include <immintrin.h>
#define HAVE_AVX2 1 /* compiled for it here, used when the CPU has it */
#define AVX2_FN __attribute__((target("avx2")))
#endif

static inline uint64_t load8(const char *p) {
  uint64_t w;
  memcpy(&w, p, 8); /* unaligned-safe */
  return w;
}

/* Leading decimal digits among the bytes of w (first byte lowest), 0..8.
 * After XOR with '0' a digit is 0..9: a byte of 10 or more gets its top bit
 * from adding 0x76, one of 0x80 or more has it already. Carries only run
 * upwards from a non-digit, past the first one. */
static inline int lead_digits(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ULL;
  uint64_t x = w ^ (ones * '0');
  uint64_t nd = ((x + ones * 0x76) | x) & (ones * 0x80);
  return nd ? __builtin_ctzll(nd) >> 3 : 8;
}

/* Value of the first n (1..8) bytes of w, all digits: shifted up so the
 * missing digits read as leading zeros, then digits paired, pairs combined. */
static inline uint32_t digits_value(uint64_t w, int n) {
  if (n <= 4) { /* the same on 32 bits: most fields are short */
    uint32_t v = ((uint32_t)w - 0x30303030u) << (32 - 8 * n);
    v = v * 10 + (v >> 8);
    return (v & 0xFF) * 100 + ((v >> 16) & 0xFF);
  }
  w = (w - 0x3030303030303030ULL) << (64 - 8 * n);
  w = w * 10 + (w >> 8); /* byte 2j: 10 * d[2j] + d[2j+1] */
  uint64_t a = w & 0x000000FF000000FFULL, b = (w >> 16) & 0x000000FF000000FFULL;
  return (uint32_t)((a * (100 + (1000000ULL << 32)) + b * (1 + (10000ULL << 32))) >> 32);
}

static const int64_t ns_scale[9] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                    10000,      1000,      100,      10};

/* "hhmmss[.f]," : ns of the day; the byte after the ',' or NULL. */
static inline const char *fast_tod(const char *p, int64_t *ns) {
  uint64_t w = load8(p);
  if (lead_digits(w) < 6) return NULL;
  uint32_t v = digits_value(w, 6);
  uint32_t hh = v / 10000, mm = v / 100 % 100, ss = v % 100;
  if (hh > 23 || mm > 59 || ss > 60) return NULL;
  int64_t frac = 0;
  p += 6;
  if (*p == '.') {
    uint64_t f = load8(p + 1);
    int k = lead_digits(f);
    if (k == 8) return NULL;
    if (k) frac = (int64_t)digits_value(f, k) * ns_scale[k];
    p += 1 + k;
  }
  if (*p != ',') return NULL;
  *ns = (hh * 3600LL + mm * 60LL + ss) * NS_PER_S + frac;
  return p + 1;
}

/* Whether the len (1..48) bytes at a equal those at b; may read 48 bytes
 * of each. */
static inline int same_text(const char *a, const char *b, unsigned len) {
#ifdef HAVE_SSE2
  uint64_t m = 0;
  for (int j = 0; j < 3; j++) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + 16 * j));
    __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + 16 * j));
    m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) << (16 * j);
  }
  return (~m & ((1ULL << len) - 1)) == 0;
#else
  return memcmp(a, b, len) == 0;
#endif
}

/* fast_tod, through the last time field read when the text repeats. */
static inline const char *cached_tod(state *st, const char *p, int64_t *ns) {
  if (st->tod_len && same_text(p, st->tod_txt, st->tod_len)) {
    *ns = st->tod_ns;
    return p + st->tod_len;
  }
  const char *q = fast_tod(p, ns);
  if (q && q - p <= 16) {
    memcpy(st->tod_txt, p, 16); /* the line is followed by readable bytes */
    st->tod_len = (unsigned)(q - p);
    st->tod_ns = *ns;
  }
  return q;
}

/* "ddmm.mmmm,H," with pos/neg the hemisphere letters; same arithmetic as
 * parse_coord. The byte after the second ',' or NULL. */
static inline const char *fast_coord(const char *p, double *deg, char pos, char neg) {
  uint64_t w = load8(p);
  int a = lead_digits(w);
  if (a == 0 || a == 8 || p[a] != '.') return NULL;
  uint32_t i = digits_value(w, a); /* 32 bits: cheaper / and % below */
  const char *q = p + a + 1;
  uint64_t fw = load8(q);
  int k = lead_digits(fw);
  if (k == 8) return NULL;
  uint64_t f = k ? digits_value(fw, k) : 0;
  q += k;
  if (q[0] != ',' || (q[1] != pos && q[1] != neg) || q[2] != ',') return NULL;
  uint32_t d = i / 100, m = i % 100;
  double x = (double)d + ((double)m * pow10_tab[k] + (double)f) / (60.0 * pow10_tab[k]);
  *deg = q[1] == neg ? -x : x;
  return q + 3;
}

/* Latitude and longitude fields, through the last pair read when the text
 * repeats. */
static inline const char *cached_coords(state *st, const char *p, double *lat, double *lon) {
  if (st->coord_len && same_text(p, st->coord_txt, st->coord_len)) {
    *lat = st->coord_lat;
    *lon = st->coord_lon;
    return p + st->coord_len;
  }
  const char *q = fast_coord(p, lat, 'N', 'S');
  if (q) q = fast_coord(q, lon, 'E', 'W');
  if (q && q - p <= 48) {
    memcpy(st->coord_txt, p, 48);
    st->coord_len = (unsigned)(q - p);
    st->coord_lat = *lat;
    st->coord_lon = *lon;
  }
  return q;
}

/* Unsigned decimal or empty field, ended by ',' or by end: value (NAN when
 * empty) as parse_num computes it; the byte after the field + 1 or NULL. */
static inline const char *fast_num(const char *p, const char *end, double *v) {
  if (p == end || *p == ',') {
    *v = NAN;
    return p + 1;
  }
  uint64_t w = load8(p);
  int a = lead_digits(w), k = 0;
  if (a == 8) return NULL;
  uint64_t i = a ? digits_value(w, a) : 0, f = 0;
  p += a;
  if (*p == '.') {
    w = load8(p + 1);
    k = lead_digits(w);
    if (k == 8) return NULL;
    f = k ? digits_value(w, k) : 0;
    p += 1 + k;
  }
  if (a + k == 0 || (p != end && *p != ',')) return NULL;
  *v = (double)i + (k ? (double)f / pow10_tab[k] : 0.0);
  return p + 1;
}

/* Unsigned integer or empty field, ended by ','; *v untouched when empty. */
static inline const char *fast_int(const char *p, int *v) {
  uint64_t w = load8(p);
  int a = lead_digits(w);
  if (a == 8 || p[a] != ',') return NULL;
  if (a) *v = (int)digits_value(w, a);
  return p + a + 1;
}

/* RMC body after "ttRMC,", ending at end ('*'). -1: unusual, use do_rmc. */
static int fast_rmc(state *st, const char *p, const char *end, uint64_t line) {
  int64_t tod;
  double lat, lon, spd, crs;
  p = cached_tod(st, p, &tod);
  if (!p || p[1] != ',') return -1;
  char status = p[0];
  if (status == ',' || !(p = cached_coords(st, p + 2, &lat, &lon)) ||
      !(p = fast_num(p, end, &spd)) || p > end ||
      !(p = fast_num(p, end, &crs)) || p > end)
    return -1;
  uint64_t w = load8(p);
  int64_t day = INT64_MIN;
  if ((w & 0x00FFFFFFFFFFFFFFULL) == st->date_txt) {
    day = st->date_day; /* "ddmmyy," as in the last RMC: skip the calendar */
  } else if (lead_digits(w) < 6 || p[6] != ',') {
    return -1;
  } else {
    uint32_t v = digits_value(w, 6);
    unsigned dd = v / 10000, mo = v / 100 % 100, yy = v % 100;
    if (dd >= 1 && dd <= 31 && mo >= 1 && mo <= 12) {
      day = dl_days_from_civil(yy < 80 ? 2000 + yy : 1900 + yy, mo, dd);
      st->date_txt = w & 0x00FFFFFFFFFFFFFFULL;
      st->date_day = day;
    }
  }
  /* magnetic variation, E/W, then the mode letter, as do_rmc reads them */
  char mode = 0;
  if (p[7] == ',' && p[8] == ',') { /* both empty, the usual case */
    if (p + 9 < end && p[9] != ',') mode = p[9];
  } else {
    cur c = {p + 7, end, 0};
    const char *s, *e;
    skip(&c, 2);
    if (field(&c, &s, &e) && e > s) mode = *s;
  }
  rmc_apply(st, line, tod, day, status, mode, 1, lat, lon, spd, crs);
  return 0;
}

/* GGA body after "ttGGA,". -1: unusual, use do_gga. */
static int fast_gga(state *st, const char *p, const char *end, uint64_t line) {
  int64_t tod;
  double lat, lon, hdop;
  int q = -1, ns = -1;
  if (!(p = cached_tod(st, p, &tod)) || !(p = cached_coords(st, p, &lat, &lon)) ||
      !(p = fast_int(p, &q)) || !(p = fast_int(p, &ns)) ||
      !fast_num(p, end, &hdop))
    return -1;
  gga_apply(st, line, tod, 1, 1, lat, lon, q, ns, hdop);
  return 0;
}

static inline int alnum_up(char ch) {
  return (unsigned)(ch - 'A') < 26u || (unsigned)(ch - '0') < 10u;
}

/* As sentence(), for a body [s, end) with *end == '*'. */
static int sentence_fast(state *st, const char *s, const char *end, uint64_t line) {
  if (s[5] == ',' && s[0] != 'P' && alnum_up(s[0]) && alnum_up(s[1])) {
    uint32_t t = (uint32_t)(load8(s) >> 16) & 0xFFFFFFu; /* bytes 2..4 */
    int r = -1;
    if (t == ('R' | 'M' << 8 | 'C' << 16))
      r = fast_rmc(st, s + 6, end, line);
    else if (t == ('G' | 'G' << 8 | 'A' << 16))
      r = fast_gga(st, s + 6, end, line);
    if (r >= 0) return r;
  }
  return sentence(st, s, end, line);
}

/* First '*', '$' or '\n' in [q, lim + 7], XOR of the bytes before it in *x;
 * NULL when none. Eight bytes a word; a zero byte test per character. */
static inline const char *scan_swar(const char *q, const char *lim, unsigned *x) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t acc = 0;
  for (; q < lim; q += 8) {
    uint64_t w = load8(q);
    uint64_t a = w ^ (ones * '*'), b = w ^ (ones * '$'), c = w ^ (ones * '\n');
    uint64_t hit = ((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c);
    hit &= highs; /* exact up to the first hit, which is all we use */
    if (hit) {
      int j = __builtin_ctzll(hit) >> 3;
      if (j) acc ^= w & (~0ULL >> (64 - 8 * j));
      acc = xor_fold8(acc);
      *x = (unsigned)acc & 0xff;
      return q + j;
    }
    acc ^= w;
  }
  return NULL;
}

#ifdef HAVE_SSE2
static const unsigned char keep_tab[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* scan_swar sixteen bytes at a time. */
static inline const char *scan_sse2(const char *q, const char *lim, unsigned *x) {
  const __m128i cs = _mm_set1_epi8('*'), cd = _mm_set1_epi8('$'), cn = _mm_set1_epi8('\n');
  __m128i acc = _mm_setzero_si128();
  for (; q < lim; q += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
    __m128i h = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cs), _mm_cmpeq_epi8(v, cd)),
                             _mm_cmpeq_epi8(v, cn));
    unsigned m = (unsigned)_mm_movemask_epi8(h);
    if (m) {
      int j = __builtin_ctz(m);
      __m128i keep = _mm_loadu_si128((const __m128i *)(const void *)(keep_tab + 16 - j));
      acc = _mm_xor_si128(acc, _mm_and_si128(v, keep));
      acc = _mm_xor_si128(acc, _mm_srli_si128(acc, 8));
      uint64_t a = (uint64_t)_mm_cvtsi128_si64(acc);
      a = xor_fold8(a);
      *x = (unsigned)a & 0xff;
      return q + j;
    }
    acc = _mm_xor_si128(acc, v);
  }
  return NULL;
}
#endif

#ifdef HAVE_AVX2
static const unsigned char keep_tab32[64] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* scan_swar thirty-two bytes at a time. */
AVX2_FN static inline const char *scan_avx2(const char *q, const char *lim, unsigned *x) {
  const __m256i cs = _mm256_set1_epi8('*'), cd = _mm256_set1_epi8('$'), cn = _mm256_set1_epi8('\n');
  __m256i acc = _mm256_setzero_si256();
  for (; q < lim; q += 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)q);
    __m256i h = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, cs), _mm256_cmpeq_epi8(v, cd)),
                                _mm256_cmpeq_epi8(v, cn));
    unsigned m = (unsigned)_mm256_movemask_epi8(h);
    if (m) {
      int j = __builtin_ctz(m);
      __m256i keep = _mm256_loadu_si256((const __m256i *)(const void *)(keep_tab32 + 32 - j));
      acc = _mm256_xor_si256(acc, _mm256_and_si256(v, keep));
      __m128i a2 = _mm_xor_si128(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
      a2 = _mm_xor_si128(a2, _mm_srli_si128(a2, 8));
      uint64_t a = (uint64_t)_mm_cvtsi128_si64(a2);
      a = xor_fold8(a);
      *x = (unsigned)a & 0xff;
      return q + j;
    }
    acc = _mm256_xor_si256(acc, v);
  }
  return NULL;
}
#endif

enum { SCAN_SWAR, SCAN_SSE2, SCAN_AVX2 };

/* Reads the line at p (of the run [p, end)) and returns the start of the
 * next: the common shape "$...*hh[\r]\n" inline, any other line through
 * line_sentences. */
static inline const char *line_fast(state *st, const char *p, const char *end, uint64_t *lineno,
                                    int simd) {
  if (p[0] == '$' && p[1] != '$') {
    unsigned sum = 0;
    const char *star;
#ifdef HAVE_AVX2
    if (simd == SCAN_AVX2)
      star = scan_avx2(p + 1, end, &sum);
    else
#endif
#ifdef HAVE_SSE2
    if (simd == SCAN_SSE2)
      star = scan_sse2(p + 1, end, &sum);
    else
#endif
      star = scan_swar(p + 1, end, &sum);
    if (star && *star == '*') {
      const char *nl = star[3] == '\n' ? star + 3 : star[3] == '\r' && star[4] == '\n' ? star + 4 : NULL;
      if (nl && nl < end && nl - p < DL_LINES_MAXLINE) {
        uint64_t line = ++*lineno;
        int h1 = hexval((unsigned char)star[1]), h2 = hexval((unsigned char)star[2]);
        int r = h1 < 0 || h2 < 0 || (unsigned)(h1 << 4 | h2) != sum
                    ? REJ(DL_REJ_CHECKSUM)
                    : sentence_fast(st, p + 1, star, line);
        if (r) dl_reject(st->rej, r - 1, line);
        return nl + 1;
      }
    }
  }
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  const char *e = nl ? nl : end;
  size_t n = (size_t)(e - p);
  if (n >= DL_LINES_MAXLINE) { /* as dl_lines_next cuts them */
    dl_reject(st->rej, DL_REJ_TOO_LONG, ++*lineno);
    return nl ? nl + 1 : end;
  }
  if (n && p[n - 1] == '\r') n--;
  line_sentences(st, p, n, ++*lineno);
  return nl ? nl + 1 : end;
}

static void lines_swar(state *st, const char *p, const char *end, uint64_t *lineno) {
  while (p < end && !st->oom) p = line_fast(st, p, end, lineno, SCAN_SWAR);
}

#ifdef HAVE_SSE2
static void lines_sse2(state *st, const char *p, const char *end, uint64_t *lineno) {
  while (p < end && !st->oom) p = line_fast(st, p, end, lineno, SCAN_SSE2);
}
#endif

#ifdef HAVE_AVX2
/* ---- AVX2 tier: one RMC or GGA line from bitmaps ----------------------
 * The body after "$ttXXX," is loaded as two 32-byte vectors once; they
 * give the checksum and bitmaps of the stop bytes ('*' '$' '\n'), commas,
 * dots and digits. The comma and dot bitmaps pick a layout, worked out once
 * per shape (field bounds by tzcnt, each field's shape checked on the
 * bitmaps) and then found by a hash: it names the digits the line must have
 * (one mask compare checks them all) and the byte shuffles that gather each
 * numeric field's digits into a slot; all slots are converted together, 8
 * digits each (maddubs, madd, one multiply). Only lines whose '*' lies in
 * those 64 bytes and whose fields have the plain shapes below are read
 * here; anything else (and any line this tier rejects) goes to line_fast
 * before anything is read into the epoch, so results never depend on the
 * tier. */

/* Bits [s, e) of a 64-bit mask, 0 <= s <= e <= 63. */
static inline uint64_t span(unsigned s, unsigned e) {
  return ((1ULL << e) - 1) & ~((1ULL << s) - 1);
}

/* Slot `slot` of a layout gathers the n (0..8) body bytes from s,
 * right-aligned (the bytes before them read as zeros). */
static void t1_slot(t1_layout *L, int slot, unsigned s, unsigned n) {
  unsigned p0 = (unsigned)(slot % 4) * 8 + 8 - n;
  for (unsigned i = 0; i < n; i++) L->ctl[slot / 4][(s + i) / 16][p0 + i] = (uint8_t)((s + i) % 16);
}

/* "d{0,8}[.d{0,8}]" at [s, e) into slots slot (integer part) and slot + 1
 * (fraction); *k its fraction digits, *a its integer digits. 0 when the
 * field has another shape (empty included). */
static int t1_dec(t1_layout *L, uint64_t num, uint64_t dot, unsigned s, unsigned e, int slot,
                  uint8_t *k, unsigned *a) {
  uint64_t m = span(s, e);
  uint64_t t = dot & m;
  if (s == e || (num & m) != m || (t & (t - 1))) return 0;
  unsigned d = t ? (unsigned)__builtin_ctzll(t) : e;
  unsigned kk = t ? e - d - 1 : 0;
  *a = d - s;
  if (*a > 8 || kk > 8 || *a + kk == 0) return 0;
  t1_slot(L, slot, s, *a);
  if (kk) t1_slot(L, slot + 1, d + 1, kk);
  *k = (uint8_t)kk;
  return 1;
}

/* Works out the layout of an RMC (rmc) or GGA body from its bitmaps (cut
 * at the '*'): 0 when some field the fast path reads has an unusual shape
 * (the line then goes to line_fast). The shapes are those fast_rmc and
 * fast_gga read, so both give the same values. */
static int t1_build(t1_layout *L, int rmc, uint64_t comma, uint64_t dot, uint64_t num) {
  unsigned c[12], a;
  int nc = 0;
  for (uint64_t cm = comma; cm && nc < 12; cm &= cm - 1) c[nc++] = (unsigned)__builtin_ctzll(cm);
  if (nc < (rmc ? 9 : 8)) return 0;
  memset(L->ctl, 0x80, sizeof L->ctl);
  L->empty = 0;
  L->k[3] = L->k[4] = 0;
  L->pmode = 0;
  /* hhmmss[.f] */
  unsigned e = c[0];
  uint64_t m = span(0, e);
  if (e < 6 || e > 15 || (num & m) != m || (dot & m) != (e > 6 ? 1ULL << 6 : 0)) return 0;
  for (int i = 0; i < 3; i++) t1_slot(L, i, 2u * (unsigned)i, 2);
  L->k[0] = (uint8_t)(e > 7 ? e - 7 : 0);
  t1_slot(L, 3, 7, L->k[0]);
  int f = 0;
  if (rmc) { /* one status byte */
    if (c[1] != c[0] + 2) return 0;
    L->pstat = (uint8_t)(c[0] + 1);
    f = 1;
  }
  /* ddmm.mmmm,H,dddmm.mmmm,H: a dot and a digit before it, as fast_coord */
  for (int i = 0; i < 2; i++) {
    unsigned s = c[f + 2 * i] + 1, ce = c[f + 2 * i + 1];
    if (!(dot & span(s, ce)) || !t1_dec(L, num, dot, s, ce, 4 + 2 * i, &L->k[1 + i], &a) || a == 0 ||
        c[f + 2 * i + 2] != ce + 2)
      return 0;
    if (i == 0) L->plat = (uint8_t)(ce + 1);
    else L->plon = (uint8_t)(ce + 1);
  }
  int g = f + 4; /* the ',' after E/W */
  if (rmc) {
    /* speed, course: decimals or empty; date: six bytes */
    for (int i = 0; i < 2; i++) {
      unsigned s = c[g + i] + 1, ce = c[g + i + 1];
      if (s == ce) L->empty |= (uint8_t)(1 << i);
      else if (!t1_dec(L, num, dot, s, ce, 8 + 2 * i, &L->k[3 + i], &a)) return 0;
    }
    if (c[8] != c[7] + 7) return 0;
    L->pdate = (uint8_t)(c[7] + 1);
    if (nc >= 11) L->pmode = (uint8_t)(c[10] + 1);
  } else {
    /* quality, satellites: integers or empty; HDOP: decimal or empty */
    for (int i = 0; i < 2; i++) {
      unsigned s = c[g + i] + 1, ce = c[g + i + 1];
      m = span(s, ce);
      if (s == ce) {
        L->empty |= (uint8_t)(1 << i);
        continue;
      }
      if (ce - s > 8 || (num & m) != m || (dot & m)) return 0;
      t1_slot(L, 8 + i, s, ce - s);
    }
    unsigned s = c[6] + 1;
    if (s == c[7]) L->empty |= 4;
    else if (!t1_dec(L, num, dot, s, c[7], 10, &L->k[4], &a)) return 0;
  }
  /* the bytes line_t1 gathers slots 4-7 and 8-11 from: coordinates end
   * before byte 48 but with the longest fields, and what follows them
   * starts at byte 17 or later */
  static const uint8_t none[32] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
  return !memcmp(L->ctl[1][3], none, 32) && !memcmp(L->ctl[2][0], none, 32);
}

#define T1_AVX2_FN __attribute__((target("avx2,bmi,sse4.2")))

/* Latitude and longitude (low, high lane) from slots 4-7 (vs1: "ddmm" and
 * the minutes' fraction of k1 digits, "dddmm" and that of k2), each as
 * parse_coord computes it: the same IEEE operations, two lanes at a time
 * (one division for both). neg: sign bits to flip (S, W). */
T1_AVX2_FN static inline __m128d t1_deg2(__m256i vs1, unsigned k1, unsigned k2, __m128d neg) {
  /* integer parts < 10^8: /100 as a multiply by ceil(2^32 / 100), exact there */
  __m256i d = _mm256_srli_epi64(_mm256_mul_epu32(vs1, _mm256_set1_epi64x(42949673)), 32);
  __m256i m = _mm256_sub_epi64(vs1, _mm256_mul_epu32(d, _mm256_set1_epi64x(100)));
  /* 32-bit lanes: d, m, f, 0 of latitude, then of longitude */
  __m256i x = _mm256_blend_epi32(_mm256_or_si256(d, _mm256_slli_epi64(m, 32)), vs1, 0x44);
  x = _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  __m256d dm = _mm256_cvtepi32_pd(_mm256_castsi256_si128(x)); /* < 10^8: exact */
  __m128d f = _mm_cvtepi32_pd(_mm256_extracti128_si256(x, 1));
  __m128d p = _mm_set_pd(pow10_tab[k2], pow10_tab[k1]);
  __m128d num = _mm_add_pd(_mm_mul_pd(_mm256_extractf128_pd(dm, 1), p), f);
  __m128d r = _mm_add_pd(_mm256_castpd256_pd128(dm), _mm_div_pd(num, _mm_mul_pd(_mm_set1_pd(60.0), p)));
  return _mm_xor_pd(r, neg);
}

/* f / 10^k for every f of k <= 3 digits, as the division gives it (the
 * compiler rounds constant expressions as the machine does): most speeds,
 * courses and HDOPs then need no division. */
#define T1_D10(m, b) m(b) m(b + 1) m(b + 2) m(b + 3) m(b + 4) m(b + 5) m(b + 6) m(b + 7) m(b + 8) m(b + 9)
#define T1_D100(m, b)                                                                              \
  T1_D10(m, b) T1_D10(m, b + 10) T1_D10(m, b + 20) T1_D10(m, b + 30) T1_D10(m, b + 40)             \
  T1_D10(m, b + 50) T1_D10(m, b + 60) T1_D10(m, b + 70) T1_D10(m, b + 80) T1_D10(m, b + 90)
#define T1_F1(x) (double)(x) / 10.0,
#define T1_F2(x) (double)(x) / 100.0,
#define T1_F3(x) (double)(x) / 1000.0,
/* t1_fr: NaN (an empty field: 0 + NaN), 0 (no fraction digits), then the
 * tables for 1, 2 and 3 digits, at these offsets. */
enum { T1_FR_EMPTY = 0, T1_FR_K0 = 1, T1_FR_K1 = 2, T1_FR_K2 = 12, T1_FR_K3 = 112, T1_FR_DIV = 0xFFFF };
static const double t1_fr[1112] = {
    NAN, 0.0, T1_D10(T1_F1, 0) T1_D100(T1_F2, 0)
    T1_D100(T1_F3, 0) T1_D100(T1_F3, 100) T1_D100(T1_F3, 200) T1_D100(T1_F3, 300) T1_D100(T1_F3, 400)
    T1_D100(T1_F3, 500) T1_D100(T1_F3, 600) T1_D100(T1_F3, 700) T1_D100(T1_F3, 800) T1_D100(T1_F3, 900)};

/* Where t1_fr holds the fraction of a decimal field with k fraction digits
 * (empty: the field is). */
static uint16_t t1_fr_offset(int empty, unsigned k) {
  static const uint16_t off[4] = {T1_FR_K0, T1_FR_K1, T1_FR_K2, T1_FR_K3};
  return empty ? T1_FR_EMPTY : k <= 3 ? off[k] : T1_FR_DIV;
}

/* As fast_num's value of the decimal in slots i (integer part) and f (its
 * fraction); d: 0 for slots 8-9, 1 for 10-11. NaN when empty. */
static inline double t1_dec_value(const t1_layout *L, int d, uint64_t i, uint64_t f) {
  unsigned o = L->foff[d];
  double fr = o != T1_FR_DIV ? t1_fr[o + f] : (double)(int64_t)f / pow10_tab[L->k[3 + d]];
  return (double)(int64_t)i + fr;
}

/* 64 bytes 0xff then 64 zeros: from keep_tab64 + 64 - j, a mask of the
 * first j bytes (j <= 64); from + 96 - j, of those after the first 32. */
static const unsigned char keep_tab64[128] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* "$ttRMC," (1) or "$ttGGA," (0) from any talker but 'P...', else -1
 * (what line_t1 needs to be called on). */
static inline int t1_prefix(state *st, const char *p, uint64_t w) {
  uint64_t pre = w & 0x00FFFFFFFFFFFFFFULL;
  if (pre == st->t1_pre[1]) return 1;
  if (pre == st->t1_pre[0]) return 0;
  uint32_t t = (uint32_t)(w >> 24) & 0xFFFFFFFFu; /* bytes 3..6: a new talker or type */
  int rmc = t == ('R' | 'M' << 8 | 'C' << 16 | (uint32_t)',' << 24);
  if (!rmc && t != ('G' | 'G' << 8 | 'A' << 16 | (uint32_t)',' << 24)) return -1;
  if (p[0] != '$' || p[1] == 'P' || !alnum_up(p[1]) || !alnum_up(p[2])) return -1;
  st->t1_pre[rmc] = pre;
  uint64_t x = pre >> 8; /* "ttXXX,": its part of the checksum */
  x = xor_fold8(x);
  st->t1_px[rmc] = (uint8_t)x;
  return rmc;
}

/* Byte x as two upper-case hex digits, first in the low byte. */
#define T1_HC(n) ((n) < 10 ? '0' + (n) : 'A' - 10 + (n))
#define T1_HX(x) (uint16_t)(T1_HC((x) >> 4) | T1_HC((x) & 15) << 8),
static const uint16_t t1_hex[256] = {T1_D100(T1_HX, 0) T1_D100(T1_HX, 100) T1_D10(T1_HX, 200)
    T1_D10(T1_HX, 210) T1_D10(T1_HX, 220) T1_D10(T1_HX, 230) T1_D10(T1_HX, 240)
    T1_HX(250) T1_HX(251) T1_HX(252) T1_HX(253) T1_HX(254) T1_HX(255)};

/* The '*' at b + j ends a plain line: "*hh" then CR LF or LF; the byte
 * after the line or NULL. a: low byte the XOR of the bytes from '$'
 * (excluded) to '*', but for x. */
static inline const char *t1_end(const char *b, unsigned j, unsigned a, unsigned x) {
  const char *star = b + j;
  /* "*hh" expected, upper-case hex (line_fast reads the rest); the 5
   * bytes from the '*' compared at the top of a word */
  uint64_t want = (uint64_t)t1_hex[(a ^ x) & 0xFF] << 32 | (uint64_t)'*' << 24;
  uint64_t w = load8(star) << 24;
  if (w == (want | (uint64_t)('\r' | '\n' << 8) << 48)) return star + 5;
  return w << 8 == (want | (uint64_t)'\n' << 48) << 8 ? star + 4 : NULL;
}

/* Bytes [0, 64) of b that are digits or '.', as a bitmap cut by cut: only
 * needed when a layout is worked out. */
T1_AVX2_FN __attribute__((noinline)) static uint64_t t1_num(const char *b, uint64_t cut) {
  const __m256i c0 = _mm256_set1_epi8('0'), c9 = _mm256_set1_epi8(9), cp = _mm256_set1_epi8('.');
  uint64_t num = 0;
  for (int h = 0; h < 2; h++) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32 * h));
    __m256i d = _mm256_sub_epi8(v, c0);
    __m256i n = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(d, c9), d), _mm256_cmpeq_epi8(v, cp));
    num |= (uint64_t)(uint32_t)_mm256_movemask_epi8(n) << 32 * h;
  }
  return num & cut;
}

/* The layout of these bitmaps (b: the body they are of, cut at the '*'):
 * seen before, or worked out once; NULL when the line is not plain. The
 * digits the layout needs are checked by the caller. */
T1_AVX2_FN static inline const t1_layout *t1_layout_of(state *st, int rmc, uint64_t comma, uint64_t dot,
                                                       const char *b, uint64_t cut) {
  uint64_t h = _mm_crc32_u64(comma, dot); /* one instruction, mixes every bit */
  t1_layout *L = &st->lay[(unsigned)rmc * T1_WAYS + (h & (T1_WAYS - 1))];
  if (L->comma != comma || L->dot != dot) {
    L->comma = comma;
    L->dot = dot;
    L->bad = !t1_build(L, rmc, comma, dot, t1_num(b, cut));
    if (!L->bad) { /* where the decimals' fractions are, the empty integers */
      L->none[0] = L->empty & 1 ? -1 : 0;
      L->none[1] = L->empty & 2 ? -1 : 0;
      L->foff[0] = t1_fr_offset(!rmc || (L->empty & 1), L->k[3]);
      L->foff[1] = t1_fr_offset(L->empty & (rmc ? 2 : 4), L->k[4]);
    }
  }
  return L->bad ? NULL : L;
}

enum { T1_K_COMMA, T1_K_DOT, T1_K_ZERO, T1_K_NINE, T1_K_10, T1_K_100, T1_K_10000 };
/* The 64-bit words the constants repeat: each byte ',', '.', '0' or 9;
 * the digit pairs' and quads' weights; 10000. */
static const uint64_t t1_kword[7] = {0x2C2C2C2C2C2C2C2CULL, 0x2E2E2E2E2E2E2E2EULL,
                                     0x3030303030303030ULL, 0x0909090909090909ULL,
                                     0x010A010A010A010AULL, 0x0001006400010064ULL, 10000};

/* Vector constant i (T1_K_*) from the state. */
T1_AVX2_FN __attribute__((always_inline)) static inline __m256i t1_k(const state *st, int i) {
  return _mm256_load_si256((const __m256i *)(const void *)st->t1_kv[i]);
}

/* Four slots of gathered digits (0..9 each, right-aligned, zeros before)
 * to their values: pairs (x10 + y), quads (x100 + y), halves (x10000 + y). */
T1_AVX2_FN __attribute__((always_inline)) static inline __m256i t1_conv(const state *st, __m256i g) {
  __m256i q4 = _mm256_madd_epi16(_mm256_maddubs_epi16(g, t1_k(st, T1_K_10)), t1_k(st, T1_K_100));
  return _mm256_add_epi64(_mm256_mul_epu32(q4, t1_k(st, T1_K_10000)), _mm256_srli_epi64(q4, 32));
}


/* Reads the fields into the epoch from the gathered digits of slots 0-3
 * (g0: time) and 4-7 (g1: coordinates), and val[8..11], the values of
 * slots 8-11 (val[0..7] is room for the others); next is the byte after
 * the line, returned unless some value is out of range (then NULL, and
 * nothing read into the epoch or the memo of the last time and
 * coordinates). */
T1_AVX2_FN __attribute__((always_inline)) static inline const char *
t1_finish(state *st, const t1_layout *L, int rmc, const char *b, unsigned j, uint64_t *val,
          __m256i g0, __m256i g1, const char *next, uint64_t *lineno) {
  /* time and position: an epoch's GGA repeats its RMC's digits, reuse
   * the values made from them (one test for both) */
  int64_t tod;
  double lat, lon;
  uint32_t k3; /* fraction digits of time, latitude, longitude: k[0..2] */
  memcpy(&k3, L->k, 4);
  unsigned char hl = (unsigned char)b[L->plat], ho = (unsigned char)b[L->plon];
  uint64_t key = (k3 & 0xFFFFFFu) | (uint64_t)hl << 24 | (uint64_t)ho << 32;
  __m256i tv = _mm256_loadu_si256((const __m256i *)(const void *)st->t1_tv);
  __m256i cv = _mm256_loadu_si256((const __m256i *)(const void *)st->t1_cv);
  __m256i diff = _mm256_or_si256(_mm256_xor_si256(g0, tv), _mm256_xor_si256(g1, cv));
  if (key == st->t1_key && _mm256_testz_si256(diff, diff)) {
    tod = st->t1_tod;
    lat = st->t1_lat;
    lon = st->t1_lon;
  } else {
    __m256i vs0 = t1_conv(st, g0);
    _mm256_storeu_si256((__m256i *)(void *)val, vs0);
    /* hh <= 23, mm <= 59, ss <= 60 (slots < 10^8: signed compares) */
    if (_mm256_movemask_epi8(_mm256_cmpgt_epi64(vs0, _mm256_setr_epi64x(23, 59, 60, INT64_MAX))))
      return NULL;
    if ((hl != 'N' && hl != 'S') || (ho != 'E' && ho != 'W')) return NULL;
    uint64_t hh = val[0], mm = val[1], ss = val[2];
    tod = (int64_t)(hh * 3600 + mm * 60 + ss) * NS_PER_S + (int64_t)val[3] * ns_scale[L->k[0]];
    __m128d neg = _mm_castsi128_pd(_mm_set_epi64x(ho == 'W' ? INT64_MIN : 0, hl == 'S' ? INT64_MIN : 0));
    __m128d ll = t1_deg2(t1_conv(st, g1), L->k[1], L->k[2], neg);
    lat = _mm_cvtsd_f64(ll);
    lon = _mm_cvtsd_f64(_mm_unpackhi_pd(ll, ll));
    _mm256_storeu_si256((__m256i *)(void *)st->t1_tv, g0);
    _mm256_storeu_si256((__m256i *)(void *)st->t1_cv, g1);
    st->t1_key = key;
    st->t1_tod = tod;
    st->t1_lat = lat;
    st->t1_lon = lon;
  }
  uint64_t line;
  if (rmc) {
    /* time,status,lat,H,lon,H,speed,course,date,[magvar,E/W,mode] */
    uint64_t dw = load8(b + L->pdate) & 0x00FFFFFFFFFFFFFFULL; /* "ddmmyy," */
    int64_t day;
    if (dw == st->date_txt) {
      day = st->date_day;
    } else {
      if (lead_digits(dw) < 6) return NULL;
      uint32_t v = digits_value(dw, 6);
      unsigned dd = v / 10000, mo = v / 100 % 100, yy = v % 100;
      if (!(dd >= 1 && dd <= 31 && mo >= 1 && mo <= 12)) return NULL;
      day = dl_days_from_civil(yy < 80 ? 2000 + yy : 1900 + yy, mo, dd);
      st->date_txt = dw;
      st->date_day = day;
    }
    char mode = L->pmode && L->pmode < j && b[L->pmode] != ',' ? b[L->pmode] : 0;
    double spd = t1_dec_value(L, 0, val[8], val[9]), crs = t1_dec_value(L, 1, val[10], val[11]);
    line = ++*lineno;
    rmc_apply(st, line, tod, day, b[L->pstat], mode, 1, lat, lon, spd, crs);
  } else {
    /* time,lat,H,lon,H,quality,satellites,hdop,... */
    int q = (int)val[8] | L->none[0], ns = (int)val[9] | L->none[1]; /* < 10^8 */
    double hdop = t1_dec_value(L, 1, val[10], val[11]);
    line = ++*lineno;
    gga_apply(st, line, tod, 1, 1, lat, lon, q, ns, hdop);
  }
  return next;
}


/* The line at p as an RMC or GGA in the plain shapes; the start of the
 * next line, or NULL (nothing read, nothing changed). Needs 80 bytes of
 * the run from p (so every load below stays within the run's padding). */
T1_AVX2_FN __attribute__((always_inline)) static inline const char *
line_t1_of(state *st, const char *p, uint64_t w, int rmc, uint64_t *lineno) {
  const char *b = p + 7;
  __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)b);
  __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
  /* stops: bytes up to '*' (0x2A), which takes in '$' and '\n'; a line
   * whose first stop is not its '*' is left to line_fast */
  const __m256i cs = _mm256_set1_epi8('*');
  __m256i s0 = _mm256_cmpeq_epi8(_mm256_min_epu8(v0, cs), v0);
  __m256i s1 = _mm256_cmpeq_epi8(_mm256_min_epu8(v1, cs), v1);
  uint64_t stop = (uint32_t)_mm256_movemask_epi8(s0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(s1) << 32;
  if (!stop) return NULL;
  unsigned j = (unsigned)__builtin_ctzll(stop); /* the '*', if this line is plain */
  /* checksum: body bytes before the '*', then "ttXXX," */
  const unsigned char *kt = keep_tab64 + 64 - j;
  __m256i k0 = _mm256_loadu_si256((const __m256i *)(const void *)kt);
  __m256i k1 = _mm256_loadu_si256((const __m256i *)(const void *)(kt + 32));
  __m256i x = _mm256_xor_si256(_mm256_and_si256(v0, k0), _mm256_and_si256(v1, k1));
  /* folded to one byte in the vector unit (as xor_fold8 does) */
  __m128i a2 = _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
  a2 = _mm_xor_si128(a2, _mm_srli_si128(a2, 8));
  a2 = _mm_xor_si128(a2, _mm_srli_epi64(a2, 32));
  a2 = _mm_xor_si128(a2, _mm_srli_epi64(a2, 16));
  a2 = _mm_xor_si128(a2, _mm_srli_epi64(a2, 8));
  const char *next = t1_end(b, j, (unsigned)_mm_cvtsi128_si32(a2), st->t1_px[rmc]);
  if (!next) return NULL;
  /* field bitmaps, cut at the '*' */
  const __m256i cc = t1_k(st, T1_K_COMMA), cp = t1_k(st, T1_K_DOT), c0 = t1_k(st, T1_K_ZERO);
  __m256i d0 = _mm256_sub_epi8(v0, c0), d1 = _mm256_sub_epi8(v1, c0);
  uint64_t cut = (1ULL << j) - 1;
  uint64_t comma = ((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, cc)) |
                    (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, cc)) << 32) & cut;
  uint64_t dot = ((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, cp)) |
                  (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, cp)) << 32) & cut;
  const t1_layout *L = t1_layout_of(st, rmc, comma, dot, b, cut);
  if (!L) return NULL;
  /* gather every field's digits into its slot (all the layout needs: a
   * byte that is not a digit there is 10 or more after the '0' taken off,
   * and the line is left to line_fast); slots 8-11 to numbers here, the
   * time and coordinates in t1_finish unless they repeat the last ones */
  __m256i s[4] = {_mm256_permute2x128_si256(d0, d0, 0x00), _mm256_permute2x128_si256(d0, d0, 0x11),
                  _mm256_permute2x128_si256(d1, d1, 0x00), _mm256_permute2x128_si256(d1, d1, 0x11)};
  uint64_t val[12];
  __m256i g[3];
  for (int k = 0; k < 3; k++) {
    /* slots 0-3 (the time, at most 15 bytes) come from bytes 0-15, 4-7
     * (coordinates) from 0-47, 8-11 from 16-63 (see t1_build) */
    int l0 = k == 2, l1 = k == 0 ? 1 : k == 1 ? 3 : 4;
    g[k] = _mm256_shuffle_epi8(s[l0], _mm256_loadu_si256((const __m256i *)(const void *)L->ctl[k][l0]));
    for (int l = l0 + 1; l < l1; l++)
      g[k] = _mm256_or_si256(g[k], _mm256_shuffle_epi8(s[l], _mm256_loadu_si256((const __m256i *)(const void *)L->ctl[k][l])));
  }
  /* a byte above 9 in any slot: one test on their bytewise maximum */
  __m256i over = _mm256_subs_epu8(_mm256_max_epu8(_mm256_max_epu8(g[0], g[1]), g[2]), t1_k(st, T1_K_NINE));
  if (!_mm256_testz_si256(over, over)) return NULL;
  _mm256_storeu_si256((__m256i *)(void *)(val + 8), t1_conv(st, g[2]));
  return t1_finish(st, L, rmc, b, j, val, g[0], g[1], next, lineno);
}

/* line_t1_of with one copy for each sentence type (rmc a constant there). */
T1_AVX2_FN __attribute__((always_inline)) static inline const char *line_t1(state *st, const char *p,
                                                                          uint64_t *lineno) {
  uint64_t w = load8(p);
  int rmc = t1_prefix(st, p, w);
  if (rmc < 0) return NULL;
  return rmc ? line_t1_of(st, p, w, 1, lineno) : line_t1_of(st, p, w, 0, lineno);
}

/* lines_swar with the AVX2 scan, and RMC/GGA lines through line_t1 first. */
T1_AVX2_FN static void lines_avx2(state *st, const char *p, const char *end, uint64_t *lineno) {
  uint64_t ln = *lineno; /* in a register while line_t1 reads */
  st->t1_lim = end - p >= 80 ? (uintptr_t)end - 80 : 0;
  while (p < end) {
    const char *q;
    /* one test a line: t1_lim is 0 once out of memory */
    if ((uintptr_t)p <= st->t1_lim && (q = line_t1(st, p, &ln))) { /* '$' checked there */
      p = q;
    } else {
      if (st->oom) break;
      *lineno = ln;
      p = line_fast(st, p, end, lineno, SCAN_AVX2);
      ln = *lineno;
    }
  }
  *lineno = ln;
}
#endif

#endif /* HAVE_FAST */

/* Asks for 2 MB pages under the unwritten part of big columns: one page
 * fault per 2 MB instead of per 4 kB when the rows are first written. Only
 * advice; the 2 MB-aligned interior of each column. */
static void huge_columns(const dl_fixes *f) {
#ifdef MADV_HUGEPAGE
  const size_t huge = 2u << 20;
  void *cols[] = {f->t, f->lat, f->lon, f->speed, f->course, f->hdop, f->quality, f->nsat, f->line};
  const size_t sizes[] = {8, 8, 8, 8, 8, 8, 1, 1, 8};
  for (int j = 0; j < 9; j++) {
    uintptr_t a = (uintptr_t)cols[j] + f->n * sizes[j], b = (uintptr_t)cols[j] + f->cap * sizes[j];
    a = (a + huge - 1) & ~(uintptr_t)(huge - 1);
    b &= ~(uintptr_t)(huge - 1);
    if (b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
  }
#else
  (void)f;
#endif
}

/* Gives a new container (no columns yet) room for cap rows, each column
 * of 2 MB or more starting on a 2 MB boundary, so that 2 MB pages can back
 * all of it rather than only its aligned middle (the columns are freed and
 * grown by free and realloc as any others). DL_OK, or DL_ENOMEM with the
 * container unchanged. */
static int reserve_aligned(dl_fixes *f, size_t cap) {
  const size_t huge = 2u << 20;
  void **cols[] = {(void **)&f->t,      (void **)&f->lat,     (void **)&f->lon,
                   (void **)&f->speed,  (void **)&f->course,  (void **)&f->hdop,
                   (void **)&f->quality, (void **)&f->nsat,   (void **)&f->line};
  const size_t sizes[] = {8, 8, 8, 8, 8, 8, 1, 1, 8};
  void *got[9] = {0};
  for (int j = 0; j < 9; j++) {
    size_t bytes = cap * sizes[j];
    if (bytes >= huge ? posix_memalign(&got[j], huge, bytes) != 0 : !(got[j] = malloc(bytes))) {
      for (int i = 0; i < j; i++) free(got[i]);
      return DL_ENOMEM;
    }
  }
  for (int j = 0; j < 9; j++) *cols[j] = got[j];
  f->cap = cap;
  return DL_OK;
}

/* Appends one fix per epoch with a valid position and a known date, in file
 * order (times may repeat or step back when the receiver does; nothing is
 * sorted or dropped for that). Each fix's line is the line of the first
 * sentence of its epoch. Sentences: RMC GGA GNS GLL VTG GSA ZDA from any
 * talker; others count as unsupported. rej->lines is physical lines,
 * rej->accepted the fixes appended. */
int dl_read_nmea_impl(const char *path, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e, int impl) {
  dl_gps_opts defo;
  dl_rejects local;
  if (!o) {
    dl_gps_opts_default(&defo);
    o = &defo;
  }
  if (!rej) rej = &local;
  memset(rej, 0, sizeof *rej);
  size_t n0 = out->n;
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
  st.date_txt = UINT64_MAX;
  st.t1_key = UINT64_MAX; /* no slots seen yet */
  st.t1_pre[0] = st.t1_pre[1] = UINT64_MAX;
#ifdef HAVE_AVX2
  /* on the heap: 2 * T1_WAYS layouts are 54 kB (without them, no AVX2 tier) */
  t1_layout *lay = malloc(2 * T1_WAYS * sizeof *lay);
  for (int i = 0; lay && i < 2 * T1_WAYS; i++) lay[i].comma = UINT64_MAX; /* matches no line: bit 63 is cut */
  for (int i = 0; i < 7; i++)
    for (int l = 0; l < 4; l++) st.t1_kv[i][l] = t1_kword[i];
  st.lay = lay;
#endif
  /* room for the fixes up front (a fix takes 140 bytes or more of a
   * typical log), so the columns are not copied while growing */
  struct stat sb;
  if (lr.fd > 0 && fstat(lr.fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
    uint64_t want = (uint64_t)sb.st_size / 140 + 16;
    if (want > (1u << 26)) want = 1u << 26;
    /* a guess: may grow later */
    int fresh = out->cap == 0 && !out->t && !out->lat && !out->lon && !out->speed && !out->course &&
                !out->hdop && !out->quality && !out->nsat && !out->line;
    int rr = fresh ? reserve_aligned(out, (size_t)want) : dl_fixes_reserve(out, out->n + (size_t)want);
    if (rr == DL_OK) huge_columns(out);
  }
#ifndef HAVE_FAST
  impl = DL_NMEA_REFERENCE;
#endif
  uint64_t lineno = 0;
  if (impl == DL_NMEA_REFERENCE) {
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
    lineno = lr.lineno;
  }
#ifdef HAVE_FAST
  else {
    void (*run)(state *, const char *, const char *, uint64_t *) = lines_swar;
#ifdef HAVE_SSE2
    if (impl == DL_NMEA_BEST || impl == DL_NMEA_SSE2) run = lines_sse2;
#endif
#ifdef HAVE_AVX2
    if (impl == DL_NMEA_BEST && st.lay && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("sse4.2"))
      run = lines_avx2;
#endif
    const char *b;
    size_t n;
    int too_long;
    while ((rc = dl_lines_block(&lr, &b, &n, &too_long, e)) == 1) {
      if (too_long) {
        dl_reject(rej, DL_REJ_TOO_LONG, ++lineno);
        continue;
      }
      run(&st, b, b + n, &lineno);
      if (st.oom) break;
    }
  }
#endif
  if (rc >= 0 && !st.oom) epoch_flush(&st);
  rej->lines = lineno;
  rej->accepted = out->n - n0; /* epoch_flush is what appends rows */
  dl_lines_close(&lr);
  free(st.lay);
  if (rc < 0) return rc;
  if (st.oom) return dl_errf(e, DL_ENOMEM, "%s: out of memory after %zu fixes", path, out->n);
  return DL_OK;
}

int dl_read_nmea(const char *path, const dl_gps_opts *o, dl_fixes *out,
                 dl_rejects *rej, dl_err *e) {
  return dl_read_nmea_impl(path, o, out, rej, e, DL_NMEA_BEST);
}
