/* test_nmea.c: the NMEA reader against gpsd's own decoding of 30 real
 * receiver logs, and on synthetic logs for each behaviour it promises. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "dl_test.h"

/* ---- helpers --------------------------------------------------------- */

/* "$" body "*hh" with the right checksum, into out. */
static const char *S(char *out, size_t n, const char *body) {
  unsigned x = 0;
  for (const char *p = body; *p; p++) x ^= (unsigned char)*p;
  snprintf(out, n, "$%s*%02X", body, x);
  return out;
}

static char *write_tmp(const char *name, const void *data, size_t len) {
  static char path[1200];
  snprintf(path, sizeof path, "%s/%s", dl_tmpdir(), name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len) assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  return path;
}

typedef struct run {
  dl_fixes fx;
  dl_rejects rej;
  dl_err err;
  int rc;
} run;

static void read_text(run *r, const char *text, int lenient) {
  dl_gps_opts o;
  dl_gps_opts_default(&o);
  o.nmea_lenient = lenient;
  dl_fixes_init(&r->fx);
  dl_err_clear(&r->err);
  const char *p = write_tmp("t.nmea", text, strlen(text));
  r->rc = dl_read_nmea(p, &o, &r->fx, &r->rej, &r->err);
}

static const char *iso(double t) {
  static char b[4][40];
  static int k;
  return dl_time_iso(t, b[k++ % 4], sizeof b[0]);
}

/* ---- gpsd agreement -------------------------------------------------- */

/* Where we disagree with gpsd on purpose. */
typedef struct exception {
  const char *log;
  double shift_s; /* added to gpsd's time before matching */
  const char *why;
} exception;

static const exception EXCEPTIONS[] = {
    {"neo-m8n.log", -7168.0 * 86400.0,
     "gpsd moves this capture forward one GPS week rollover (1024 weeks) to "
     "2034-11-01; the receiver's RMC says 18 Mar 2015 and the log header says "
     "'Date = 2015-03-18', so we keep the date the receiver wrote"},
};

static double parse_iso(const char *s) {
  int y, mo, d, h, mi;
  double sec;
  if (sscanf(s, "%d-%d-%dT%d:%d:%lfZ", &y, &mo, &d, &h, &mi, &sec) != 6) return NAN;
  return (double)dl_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600 +
         mi * 60 + sec;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct agree {
  int tpv, matched, speed_cmp, speed_ok, speed_gpsd_only;
} agree;

/* Every gpsd TPV with time, lat and lon must have a fix of ours at the same
 * ISO time within 1e-6 degrees. Speeds are compared on the last TPV gpsd
 * gives for each time (its view once the whole cycle is merged). */
static void agree_one(const char *log, agree *ag) {
  char rel[300], lp[1100], cp[1100];
  snprintf(rel, sizeof rel, "nmea_gpsd/%s", log);
  snprintf(lp, sizeof lp, "%s", dl_fixture(rel));
  snprintf(rel, sizeof rel, "nmea_gpsd/%s.chk", log);
  snprintf(cp, sizeof cp, "%s", dl_fixture(rel));
  double shift = 0;
  for (size_t i = 0; i < sizeof EXCEPTIONS / sizeof *EXCEPTIONS; i++)
    if (!strcmp(EXCEPTIONS[i].log, log)) shift = EXCEPTIONS[i].shift_s;

  dl_fixes fx;
  dl_rejects rej;
  dl_err err;
  dl_fixes_init(&fx);
  dl_gps_opts o;
  dl_gps_opts_default(&o);
  assert_int_equal(dl_read_nmea(lp, &o, &fx, &rej, &err), DL_OK);
  char(*ours)[40] = calloc(fx.n ? fx.n : 1, 40);
  assert_non_null(ours);
  for (size_t i = 0; i < fx.n; i++) dl_time_iso(fx.t[i], ours[i], 40);

  FILE *f = fopen(cp, "r");
  assert_non_null(f);
  static char line[1 << 16];
  /* collect (time, lat, lon, speed) of each TPV; remember the last per time */
  enum { MAXT = 4096 };
  static char tt[MAXT][40];
  static double tla[MAXT], tlo[MAXT], tsp[MAXT];
  int nt = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] != '{') continue;
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    if (!j) continue;
    const char *cls = json_string_value(json_object_get(j, "class"));
    json_t *jt = json_object_get(j, "time"), *jla = json_object_get(j, "lat"),
           *jlo = json_object_get(j, "lon"), *jsp = json_object_get(j, "speed");
    if (cls && !strcmp(cls, "TPV") && json_is_string(jt) && json_is_number(jla) &&
        json_is_number(jlo)) {
      assert_true(nt < MAXT);
      double t = parse_iso(json_string_value(jt));
      assert_true(isfinite(t));
      dl_time_iso(t + shift, tt[nt], 40);
      tla[nt] = json_number_value(jla);
      tlo[nt] = json_number_value(jlo);
      tsp[nt] = json_is_number(jsp) ? json_number_value(jsp) : NAN;
      nt++;
    }
    json_decref(j);
  }
  fclose(f);
  for (int k = 0; k < nt; k++) {
    ag->tpv++;
    long hit = -1;
    for (size_t i = 0; i < fx.n; i++)
      if (!strcmp(ours[i], tt[k]) && fabs(fx.lat[i] - tla[k]) <= 1e-6 &&
          fabs(fx.lon[i] - tlo[k]) <= 1e-6)
        hit = (long)i;
    if (hit < 0) {
      print_message("%s: gpsd TPV %s %.9f %.9f has no matching fix\n", log, tt[k], tla[k], tlo[k]);
      continue;
    }
    ag->matched++;
    int last = 1;
    for (int k2 = k + 1; k2 < nt; k2++)
      if (!strcmp(tt[k2], tt[k])) last = 0;
    if (!last || !isfinite(tsp[k])) continue;
    if (!isfinite(fx.speed[hit])) {
      /* gpsd derives a speed from successive positions when no sentence of
       * the cycle reports one (GGA- or GLL-only); we report none rather
       * than invent one. Counted, not compared. */
      ag->speed_gpsd_only++;
      continue;
    }
    ag->speed_cmp++;
    if (fabs(fx.speed[hit] - tsp[k]) <= 0.01)
      ag->speed_ok++;
    else
      print_message("%s: %s speed ours %.3f gpsd %.3f\n", log, tt[k], fx.speed[hit], tsp[k]);
  }
  free(ours);
  dl_fixes_free(&fx);
}

static void nmea_agrees_with_gpsd_on_30_real_logs(void **state) {
  (void)state;
  DIR *d = opendir(dl_fixture("nmea_gpsd"));
  assert_non_null(d);
  char *names[64];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l > 4 && !strcmp(de->d_name + l - 4, ".log") && n < 64) names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  assert_int_equal(n, 30);
  agree tot = {0};
  for (int i = 0; i < n; i++) {
    agree a = {0};
    agree_one(names[i], &a);
    assert_int_equal(a.matched, a.tpv);
    assert_int_equal(a.speed_ok, a.speed_cmp);
    tot.tpv += a.tpv;
    tot.matched += a.matched;
    tot.speed_cmp += a.speed_cmp;
    tot.speed_ok += a.speed_ok;
    tot.speed_gpsd_only += a.speed_gpsd_only;
    free(names[i]);
  }
  print_message("gpsd agreement: %d/%d TPVs, speeds %d/%d (%d gpsd-derived, not compared)\n",
                tot.matched, tot.tpv, tot.speed_ok, tot.speed_cmp, tot.speed_gpsd_only);
  /* the fixture set's size, so that a lost file or TPV cannot pass */
  assert_int_equal(tot.tpv, 2693);
}

/* ---- synthetic behaviour --------------------------------------------- */

#define RMC1 "GPRMC,120000.00,A,4000.0000,N,11600.0000,E,10.0,90.0,010320,,,A"
#define RMC2 "GPRMC,120001.00,A,4000.0010,N,11600.0020,E,10.0,90.0,010320,,,A"
#define RMC3 "GPRMC,120002.00,A,4000.0020,N,11600.0040,E,10.0,90.0,010320,,,A"

static void nmea_rejects_bad_checksum(void **state) {
  (void)state;
  char a[128], b[128], c[128], text[512];
  S(b, sizeof b, RMC2);
  b[strlen(b) - 1] ^= 1; /* corrupt the last hex digit */
  snprintf(text, sizeof text, "%s\r\n%s\r\n%s\r\n$GPRMC,1*ZZ\r\n", S(a, sizeof a, RMC1), b,
           S(c, sizeof c, RMC3));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.rc, DL_OK);
  assert_int_equal(r.fx.n, 2);
  assert_int_equal(r.rej.lines, 4);
  assert_int_equal(r.rej.accepted, 2);
  assert_int_equal(r.rej.count[DL_REJ_CHECKSUM], 2);
  assert_int_equal(r.rej.first_line[DL_REJ_CHECKSUM][0], 2);
  assert_int_equal(r.rej.first_line[DL_REJ_CHECKSUM][1], 4);
  assert_string_equal(iso(r.fx.t[0]), "2020-03-01T12:00:00.000Z");
  assert_string_equal(iso(r.fx.t[1]), "2020-03-01T12:00:02.000Z");
  assert_int_equal(r.fx.line[1], 3);
  dl_fixes_free(&r.fx);
}

static void nmea_lenient_accepts_missing_checksum(void **state) {
  (void)state;
  const char *text = "$" RMC1 "\n$" RMC2 "  \n";
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.rc, DL_OK);
  assert_int_equal(r.fx.n, 0);
  assert_int_equal(r.rej.count[DL_REJ_NO_CHECKSUM], 2);
  dl_fixes_free(&r.fx);
  read_text(&r, text, 1);
  assert_int_equal(r.fx.n, 2);
  assert_int_equal(r.rej.count[DL_REJ_NO_CHECKSUM], 0);
  assert_string_equal(iso(r.fx.t[1]), "2020-03-01T12:00:01.000Z");
  /* lenient does not forgive a wrong checksum */
  char b[128], text2[256];
  S(b, sizeof b, RMC1);
  b[strlen(b) - 2] = b[strlen(b) - 2] == '0' ? '1' : '0';
  snprintf(text2, sizeof text2, "%s\n", b);
  dl_fixes_free(&r.fx);
  read_text(&r, text2, 1);
  assert_int_equal(r.fx.n, 0);
  assert_int_equal(r.rej.count[DL_REJ_CHECKSUM], 1);
  dl_fixes_free(&r.fx);
}

static void nmea_date_rolls_over_at_midnight(void **state) {
  (void)state;
  char a[160], b[160], c[160], d[160], text[1024];
  snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n",
           S(a, sizeof a, "GPRMC,235959.50,A,4000.0000,N,11600.0000,E,0.0,,311219,,,A"),
           S(b, sizeof b, "GPGGA,000000.50,4000.0000,N,11600.0000,E,1,08,0.9,50.0,M,,M,,"),
           S(c, sizeof c, "GPGGA,000001.50,4000.0000,N,11600.0000,E,1,08,0.9,50.0,M,,M,,"),
           /* a small step back is a replay, not a new day */
           S(d, sizeof d, "GPGGA,000000.90,4000.0000,N,11600.0000,E,1,08,0.9,50.0,M,,M,,"));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 4);
  assert_string_equal(iso(r.fx.t[0]), "2019-12-31T23:59:59.500Z");
  assert_string_equal(iso(r.fx.t[1]), "2020-01-01T00:00:00.500Z");
  assert_string_equal(iso(r.fx.t[2]), "2020-01-01T00:00:01.500Z");
  assert_string_equal(iso(r.fx.t[3]), "2020-01-01T00:00:00.900Z");
  dl_fixes_free(&r.fx);
}

static void nmea_gga_before_any_date_is_rejected_no_date(void **state) {
  (void)state;
  char a[160], b[160], c[160], text[1024];
  snprintf(text, sizeof text, "%s\n%s\n%s\n",
           S(a, sizeof a, "GNGGA,080000,3954.0000,N,11623.0000,E,1,10,1.1,40.0,M,,M,,"),
           S(b, sizeof b, "GNGGA,080001,3954.0000,N,11623.0000,E,1,10,1.1,40.0,M,,M,,"),
           S(c, sizeof c, "GNZDA,080001,05,06,2024,00,00"));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 1);
  assert_int_equal(r.rej.count[DL_REJ_NO_DATE], 1);
  assert_int_equal(r.rej.first_line[DL_REJ_NO_DATE][0], 1);
  /* ZDA in the same epoch dates it */
  assert_string_equal(iso(r.fx.t[0]), "2024-06-05T08:00:01.000Z");
  assert_int_equal(r.fx.line[0], 2);
  assert_int_equal(r.fx.quality[0], 1);
  assert_int_equal(r.fx.nsat[0], 10);
  assert_true(fabs(r.fx.hdop[0] - 1.1) < 1e-12);
  dl_fixes_free(&r.fx);
}

static void nmea_spliced_sentences_both_parsed(void **state) {
  (void)state;
  char a[160], b[160], c[160], d[160], text[1024];
  /* GGA and RMC of one epoch glued together, then a sentence cut short by
   * the next one, then a doubled "$$" */
  snprintf(text, sizeof text, "%s%s\n$GPRMC,120001.00,A,40%s\n$%s\n",
           S(a, sizeof a, "GPGGA,120000.00,4000.0000,N,11600.0000,E,2,07,1.3,50.0,M,,M,,"),
           S(b, sizeof b, RMC1), S(c, sizeof c, RMC2), S(d, sizeof d, RMC3));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.rc, DL_OK);
  assert_int_equal(r.rej.lines, 3);
  assert_int_equal(r.fx.n, 3);
  assert_int_equal(r.rej.count[DL_REJ_NO_CHECKSUM], 1);
  assert_int_equal(r.rej.first_line[DL_REJ_NO_CHECKSUM][0], 2);
  /* one fix from both halves of line 1: quality from GGA, speed from RMC */
  assert_int_equal(r.fx.quality[0], 2);
  assert_true(fabs(r.fx.speed[0] - 10.0 * 1852.0 / 3600.0) < 1e-12);
  assert_true(fabs(r.fx.course[0] - 90.0) < 1e-12);
  assert_int_equal(r.fx.line[0], 1);
  assert_int_equal(r.fx.line[1], 2);
  assert_int_equal(r.fx.line[2], 3);
  assert_string_equal(iso(r.fx.t[2]), "2020-03-01T12:00:02.000Z");
  dl_fixes_free(&r.fx);
}

static void nmea_no_fix_sentences_are_not_fixes(void **state) {
  (void)state;
  char a[160], b[160], c[160], d[160], text[1024];
  snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n",
           S(a, sizeof a, "GPRMC,120000,V,,,,,,,010320,,,N"),
           S(b, sizeof b, "GPGGA,120001,4000.0000,N,11600.0000,E,0,00,99.9,,M,,M,,"),
           S(c, sizeof c, "GPGGA,120002,,,,,0,00,99.9,,M,,M,,"),
           S(d, sizeof d, "GPGNS,120003,4000.0000,N,11600.0000,E,NN,00,,,,,"));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 0);
  assert_int_equal(r.rej.count[DL_REJ_NO_FIX], 4);
  assert_int_equal(r.rej.count[DL_REJ_SYNTAX], 0);
  dl_fixes_free(&r.fx);
}

static void nmea_proprietary_and_other_sentences_counted_unsupported(void **state) {
  (void)state;
  char a[160], b[160], c[160], text[1024];
  snprintf(text, sizeof text, "u-blox AG - www.u-blox.com\n# comment\n%s\n%s\n%s\n\n",
           S(a, sizeof a, "PUBX,00,120000.00,4000.0000,N"),
           S(b, sizeof b, "GPGSV,1,1,01,01,40,083,46"), S(c, sizeof c, RMC1));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 1);
  assert_int_equal(r.rej.lines, 6);
  assert_int_equal(r.rej.count[DL_REJ_UNSUPPORTED], 2);
  assert_int_equal(r.rej.count[DL_REJ_HEADER], 2);
  assert_int_equal(r.rej.count[DL_REJ_SYNTAX], 0);
  assert_int_equal(r.fx.line[0], 5);
  dl_fixes_free(&r.fx);
}

static void nmea_keeps_fraction_and_coordinates_exact(void **state) {
  (void)state;
  char a[200], text[512];
  snprintf(text, sizeof text, "\xEF\xBB\xBF%s\r\n",
           S(a, sizeof a,
             "GPRMC,132820.60,A,4134.49821229,N,09345.03351845,W,3.252,92.308,180320,"
             "11.5985,E,D"));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 1);
  assert_string_equal(iso(r.fx.t[0]), "2020-03-18T13:28:20.600Z");
  assert_true(fabs(r.fx.t[0] - 1584538100.6) < 1e-6);
  assert_true(fabs(r.fx.lat[0] - (41.0 + 34.49821229 / 60.0)) < 1e-13);
  assert_true(fabs(r.fx.lon[0] + (93.0 + 45.03351845 / 60.0)) < 1e-13);
  assert_true(fabs(r.fx.speed[0] - 3.252 * 0.514444444444) < 1e-9);
  assert_true(fabs(r.fx.course[0] - 92.308) < 1e-12);
  dl_fixes_free(&r.fx);
}

static void nmea_vtg_gives_speed_without_rmc(void **state) {
  (void)state;
  char a[160], b[160], c[160], text[1024];
  snprintf(text, sizeof text, "%s\n%s\n%s\n",
           S(a, sizeof a, "GPZDA,100000,01,02,2021,,"),
           S(b, sizeof b, "GPGGA,100001,4000.0000,S,01600.0000,W,1,05,2.0,5.0,M,,M,,"),
           S(c, sizeof c, "GPVTG,270.0,T,,M,20.0,N,37.0,K,A"));
  run r;
  read_text(&r, text, 0);
  assert_int_equal(r.fx.n, 1);
  assert_true(fabs(r.fx.speed[0] - 20.0 * 1852.0 / 3600.0) < 1e-12);
  assert_true(fabs(r.fx.course[0] - 270.0) < 1e-12);
  assert_true(fabs(r.fx.lat[0] + 40.0) < 1e-12);
  assert_true(fabs(r.fx.lon[0] + 16.0) < 1e-12);
  /* the ZDA-only epoch before it has no position */
  assert_int_equal(r.rej.count[DL_REJ_NO_FIX], 1);
  dl_fixes_free(&r.fx);
}

static void nmea_survives_binary_junk(void **state) {
  (void)state;
  dl_gps_opts o;
  dl_gps_opts_default(&o);
  dl_fixes fx;
  dl_rejects rej;
  dl_err err;
  /* empty file */
  dl_fixes_init(&fx);
  const char *p = write_tmp("empty.nmea", "", 0);
  assert_int_equal(dl_read_nmea(p, &o, &fx, &rej, &err), DL_OK);
  assert_int_equal(fx.n, 0);
  assert_int_equal(rej.lines, 0);
  assert_int_equal(dl_rejects_total(&rej), 0);
  /* missing file */
  assert_int_equal(dl_read_nmea("/nonexistent/x.nmea", &o, &fx, &rej, &err), DL_ENOINPUT);
  assert_non_null(strstr(err.msg, "/nonexistent/x.nmea"));
  /* 1 MiB of random bytes with some '$', '*' and newlines mixed in */
  size_t n = 1 << 20;
  unsigned char *buf = malloc(n);
  assert_non_null(buf);
  uint64_t s = 42;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned v = (unsigned)(s >> 56);
    buf[i] = v < 8 ? '$' : v < 16 ? '*' : v < 20 ? '\n' : v < 24 ? ',' : (unsigned char)v;
  }
  for (int lenient = 0; lenient < 2; lenient++) {
    o.nmea_lenient = lenient;
    p = write_tmp("junk.nmea", buf, n);
    assert_int_equal(dl_read_nmea(p, &o, &fx, &rej, &err), DL_OK);
    assert_int_equal(fx.n, 0);
    assert_true(rej.lines > 10000);
  }
  free(buf);
  dl_fixes_free(&fx);
  /* a real log cut at every byte: never more fixes than the whole file, and
   * the fixes read are a prefix of the whole file's */
  o.nmea_lenient = 0;
  const char *full = dl_fixture("nmea_gpsd/nmea-fuzzy-cases.log");
  FILE *f = fopen(full, "rb");
  assert_non_null(f);
  static char txt[8192];
  size_t tn = fread(txt, 1, sizeof txt, f);
  fclose(f);
  dl_fixes all;
  dl_fixes_init(&all);
  assert_int_equal(dl_read_nmea(full, &o, &all, &rej, &err), DL_OK);
  assert_int_equal(all.n, 14);
  for (size_t cut = 0; cut <= tn; cut += 7) {
    p = write_tmp("cut.nmea", txt, cut);
    dl_fixes_init(&fx);
    assert_int_equal(dl_read_nmea(p, &o, &fx, &rej, &err), DL_OK);
    assert_true(fx.n <= all.n);
    for (size_t i = 0; i < fx.n; i++) assert_true(fx.t[i] == all.t[i] && fx.lat[i] == all.lat[i]);
    dl_fixes_free(&fx);
  }
  dl_fixes_free(&all);
}

static void nmea_fuzzy_cases_counts(void **state) {
  (void)state;
  /* gpsd's "fuzzy arithmetic" log: 8 comment lines, then GGA+RMC pairs;
   * gpsd reports the first GGA undated (before its RMC), we merge the pair
   * into one dated epoch that starts at the GGA's line */
  dl_fixes fx;
  dl_rejects rej;
  dl_err err;
  dl_fixes_init(&fx);
  assert_int_equal(dl_read_nmea(dl_fixture("nmea_gpsd/nmea-fuzzy-cases.log"), NULL, &fx, &rej, &err),
                   DL_OK);
  assert_int_equal(rej.lines, 36);
  assert_int_equal(rej.accepted, fx.n);
  assert_int_equal(fx.n, 14);
  assert_int_equal(rej.count[DL_REJ_HEADER], 8);
  assert_int_equal(dl_rejects_total(&rej), 8);
  assert_string_equal(iso(fx.t[0]), "2020-03-18T13:28:20.600Z");
  assert_int_equal(fx.line[0], 9);
  assert_int_equal(fx.quality[0], 2);
  assert_string_equal(iso(fx.t[13]), "2020-03-18T13:39:00.900Z");
  assert_int_equal(fx.line[13], 35);
  dl_fixes_free(&fx);
}


/* ---- fast paths against the reference parser ------------------------- */

static int same_fixes(const dl_fixes *a, const dl_fixes *b) {
  if (a->n != b->n) return 0;
  size_t n = a->n;
  if (n == 0) return 1; /* columns may be NULL */
  return !memcmp(a->t, b->t, n * 8) && !memcmp(a->lat, b->lat, n * 8) &&
         !memcmp(a->lon, b->lon, n * 8) && !memcmp(a->speed, b->speed, n * 8) &&
         !memcmp(a->course, b->course, n * 8) && !memcmp(a->hdop, b->hdop, n * 8) &&
         !memcmp(a->quality, b->quality, n) && !memcmp(a->nsat, b->nsat, n) &&
         !memcmp(a->line, b->line, n * 8);
}

/* Reads path with every implementation and both checksum modes; all must
 * give the same status, rows (bit for bit) and reject counts. Returns the
 * reference's fix count. */
static size_t impls_agree(const char *path) {
  size_t nref = 0;
  for (int lenient = 0; lenient < 2; lenient++) {
    dl_gps_opts o;
    dl_gps_opts_default(&o);
    o.nmea_lenient = lenient;
    dl_fixes ref;
    dl_rejects rref;
    dl_err e;
    dl_fixes_init(&ref);
    int rc_ref = dl_read_nmea_impl(path, &o, &ref, &rref, &e, DL_NMEA_REFERENCE);
    for (int impl = DL_NMEA_BEST; impl < DL_NMEA_REFERENCE; impl++) {
      dl_fixes fx;
      dl_rejects rj;
      dl_fixes_init(&fx);
      int rc = dl_read_nmea_impl(path, &o, &fx, &rj, &e, impl);
      if (rc != rc_ref || !same_fixes(&fx, &ref) || memcmp(&rj, &rref, sizeof rj) != 0)
        fail_msg("%s (impl %d, lenient %d): %zu fixes, %llu lines; reference %zu, %llu", path,
                 impl, lenient, fx.n, (unsigned long long)rj.lines, ref.n,
                 (unsigned long long)rref.lines);
      dl_fixes_free(&fx);
    }
    /* the same bytes on standard input: read() in chunks, never mapped */
    assert_non_null(freopen(path, "rb", stdin));
    dl_fixes fs;
    dl_rejects rs_;
    dl_fixes_init(&fs);
    int rc = dl_read_nmea_impl("-", &o, &fs, &rs_, &e, DL_NMEA_BEST);
    if (rc != rc_ref || !same_fixes(&fs, &ref) || memcmp(&rs_, &rref, sizeof rs_) != 0)
      fail_msg("%s on stdin (lenient %d): %zu fixes; reference %zu", path, lenient, fs.n, ref.n);
    dl_fixes_free(&fs);
    if (!lenient) nref = ref.n;
    dl_fixes_free(&ref);
  }
  return nref;
}

static uint64_t rs = 7;
static unsigned rn(unsigned n) { /* LCG: fixed seed, same cases every run */
  rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rs >> 33) % n;
}

/* Appends k random characters drawn from set. */
static void put_rand(char **w, const char *set, int k) {
  size_t n = strlen(set);
  while (k-- > 0) *(*w)++ = set[rn((unsigned)n)];
}

/* A number field in a random shape: digits, '.', more digits, rarely a sign,
 * a letter or nothing at all. */
static void put_num(char **w, int maxi, int maxf, int sane) {
  unsigned r = sane ? 3 + rn(37) : rn(40);
  if (r == 0 || r == 3) return; /* empty */
  if (r == 1) *(*w)++ = "-+"[rn(2)];
  if (r == 2) *(*w)++ = 'x';
  put_rand(w, "0123456789", (int)rn((unsigned)maxi + 1));
  if (rn(8)) {
    *(*w)++ = '.';
    put_rand(w, "0123456789", (int)rn((unsigned)maxf + 1));
  }
}

static void nmea_fast_paths_match_reference(void **state) {
  (void)state;
  /* the 30 real logs */
  DIR *d = opendir(dl_fixture("nmea_gpsd"));
  assert_non_null(d);
  struct dirent *de;
  int logs = 0;
  size_t fixes = 0;
  char path[1200];
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (l <= 4 || strcmp(de->d_name + l - 4, ".log")) continue;
    snprintf(path, sizeof path, "%s/%s", dl_fixture("nmea_gpsd"), de->d_name);
    fixes += impls_agree(path);
    logs++;
  }
  closedir(d);
  assert_int_equal(logs, 30);
  print_message("real logs: %zu fixes, all paths agree\n", fixes);
  assert_int_equal(fixes, 1032); /* the fixture set, so a lost file cannot pass */
  /* random RMC/GGA/VTG/GSA sentences in every field shape, most with a right
   * checksum so that the field parsers see them, in lines that end in LF,
   * CRLF or junk, some spliced, doubled, cut, or far too long */
  size_t cap = 6u << 20;
  char *buf = malloc(cap);
  assert_non_null(buf);
  char prev_tod[64] = "", prev_coord[160] = "";
  for (int round = 0; round < 4; round++) {
    char *w = buf;
    if (round == 1) w += sprintf(w, "\xEF\xBB\xBF");
    while ((size_t)(w - buf) < cap - (200u << 10)) {
      char body[400], *b = body;
      unsigned kind = rn(10);
      int sane = rn(10) < 7; /* well-formed fields, in their usual variety */
      b += sprintf(b, "%s", (const char *[]){"GP", "GN", "GL", "P", "G", "gp"}[rn(sane ? 3 : 6)]);
      b += sprintf(b, "%s", kind < 4 ? "RMC" : kind < 8 ? "GGA" : kind < 9 ? "VTG" : "GSA");
      int nf = kind < 4 ? 12 : kind < 8 ? 14 : kind < 9 ? 9 : 17;
      if (!sane && !rn(10)) nf = (int)rn(16);
      char *cs = NULL; /* where this sentence's coordinates start */
      for (int f = 0; f < nf; f++) {
        *b++ = ',';
        int tod_i = kind < 8 ? 0 : -1, lat_i = kind < 4 ? 2 : kind < 8 ? 1 : -1;
        if (f == lat_i + 4 && cs) { /* lat,H,lon,H as written */
          snprintf(prev_coord, sizeof prev_coord, "%.*s", (int)(b - 1 - cs), cs);
          cs = NULL;
        }
        if (f == lat_i) cs = b;
        if ((f == tod_i || f == lat_i) && rn(3) == 0 && (f == tod_i ? prev_tod : prev_coord)[0]) {
          /* the last sentence's text, as an epoch's GGA repeats its RMC's
           * (the fast path reuses the values read from it) */
          b += sprintf(b, "%s", f == tod_i ? prev_tod : prev_coord);
          if (f == lat_i) f += 3, cs = NULL;
          continue;
        }
        if (f == tod_i && (sane || rn(10))) { /* time of day */
          char *ts = b;
          b += sprintf(b, "%02u%02u%02u", rn(sane ? 24 : 25), rn(sane ? 60 : 61), rn(62));
          if (rn(4)) {
            *b++ = '.';
            put_rand(&b, "0123456789", (int)rn(sane ? 4 : 11));
          }
          snprintf(prev_tod, sizeof prev_tod, "%.*s", (int)(b - ts), ts);
        } else if ((f == lat_i || f == lat_i + 2) && (sane || rn(4))) { /* plausible */
          b += sprintf(b, f == lat_i ? "%02u%02u" : "%03u%02u", rn(90), rn(60));
          if (rn(20)) *b++ = '.';
          put_rand(&b, "0123456789", rn(4) ? 2 + (int)rn(6) : (int)rn(18));
        } else if (f == lat_i || f == lat_i + 2) { /* any shape */
          put_rand(&b, "0123456789", (int)rn(10));
          if (rn(10)) *b++ = '.';
          put_rand(&b, "0123456789", (int)rn(18));
        } else if ((f == lat_i + 1 || f == lat_i + 3) && (sane || rn(10))) {
          *b++ = sane || rn(10) ? (f == lat_i + 1 ? "NS" : "EW")[rn(2)] : "NSEWx"[rn(5)];
        } else if (kind < 4 && f == 1) {
          if (sane || rn(10)) *b++ = "AVAAAx"[rn(sane ? 5 : 6)];
        } else if (kind < 4 && f == 8 && (sane || rn(10))) { /* date */
          b += sprintf(b, "%02u%02u%02u", rn(sane ? 28 : 33), rn(sane ? 12 : 14), rn(100));
        } else if (kind >= 4 && kind < 8 && f == 6 && (sane || rn(10))) { /* fix quality */
          b += sprintf(b, "%u", rn(7));
        } else if (kind < 4 && f == 11) {
          if (rn(4)) *b++ = "ADNE"[rn(4)];
        } else {
          put_num(&b, rn(8) || sane ? 3 : 12, rn(8) || sane ? 3 : 12, sane);
        }
      }
      *b = 0;
      unsigned x = 0;
      for (const char *q = body; *q; q++) x ^= (unsigned char)*q;
      unsigned shape = rn(100);
      if (shape < 2) *w++ = '$'; /* doubled */
      if (shape < 97) w += sprintf(w, "$%s", body);
      else w += sprintf(w, "junk,%s", body);
      if (shape == 3) w--;                               /* cut short */
      else if (shape == 4) w += sprintf(w, "*%02x", x);  /* lower-case hex */
      else if (shape == 5) w += sprintf(w, "*%02X", x ^ 1);
      else if (shape == 6) w += sprintf(w, "*%X", x);    /* one digit */
      else if (shape != 7) w += sprintf(w, "*%02X", x);  /* 7: no checksum */
      if (shape == 8) w += sprintf(w, "$GPGGA,1"); /* spliced: the next one cut */
      if (shape == 9) w += sprintf(w, "  ");
      if (shape == 10 && !rn(8)) {         /* over-long line */
        memset(w, 'a', 70000);
        w += 70000;
      }
      w += sprintf(w, "%s", rn(3) ? "\r\n" : rn(20) ? "\n" : "\r\r\n");
      if (round == 3 && !rn(50)) *w++ = (char)rn(256); /* stray byte */
    }
    if (round == 2) w -= 3; /* last line without its newline */
    const char *p = write_tmp("shapes.nmea", buf, (size_t)(w - buf));
    fixes = impls_agree(p);
    print_message("random shapes round %d: %zu fixes, all paths agree\n", round, fixes);
    assert_true(fixes > 1000); /* enough valid sentences reached the epochs */
  }
  free(buf);
}


/* Lines in the shapes the AVX2 tier reads from its cached layouts, at the
 * edges of those shapes (8 digits in a field, 8 fraction digits in a time,
 * no mode field, empty fields) and just past them (9 digits, lower-case
 * checksum, '*' beyond its 64-byte window, a letter among the digits of a
 * layout already seen, out-of-range times and dates, more layouts than it
 * keeps): every path gives the reference's rows, and the edge values are
 * exact. The file is over 1 MB, so it is mapped. */
static void nmea_avx2_layouts_match_reference(void **state) {
  (void)state;
  size_t cap = 2u << 20;
  char *buf = malloc(cap), *w = buf;
  assert_non_null(buf);
  const char *lat = "3954.12284,N,11623.54221,E";
  int k = 0;
  for (; (size_t)(w - buf) < cap - 4096; k++) {
    char t[32], r[200], g[200], line[240];
    int v = k % 43;
    snprintf(t, sizeof t, "%02d%02d%02d%s", k / 3600, k / 60 % 60, k % 60,
             v == 4 ? ".12345678" : v == 5 ? ".123456789" : v == 18 ? "." : ".00");
    if (v == 16) t[0] = '2', t[1] = '4'; /* hour 24 */
    snprintf(r, sizeof r, "GPRMC,%s,A,%s,5.46,199.11,010624,,,A", t, lat);
    snprintf(g, sizeof g, "GPGGA,%s,%s,1,08,0.9,52.1,M,-8.3,M,,", v == 18 ? "000000" : t, lat);
    switch (v) {
      case 1: snprintf(r, sizeof r, "GPRMC,%s,A,%s,5.46,199.11,010624,,", t, lat); break;
      case 2: snprintf(r, sizeof r, "GPRMC,%s,A,%s,5.46,199.11,010624,,,N", t, lat); break;
      case 3: snprintf(r, sizeof r, "GPRMC,%s,V,%s,,,010624,,,N", t, lat); break;
      case 4: /* short enough for the 64-byte window */
      case 6:
      case 7: {
        const char *c = v == 4 ? lat : v == 6 ? "3954.12345678,S,11623.87654321,W" : "3954.123456789,S,11623.1,W";
        snprintf(r, sizeof r, "GPRMC,%s,A,%s,,,010624,,,A", t, c);
        snprintf(g, sizeof g, "GPGGA,%s,%s,1,08,0.9,,,,,,", t, c);
        break;
      }
      case 8: snprintf(r, sizeof r, "GPRMC,%s,A,%s,12345678.12345678,,010624,,,A", t, lat); break;
      case 9: snprintf(r, sizeof r, "GPRMC,%s,A,%s,123456789,.5,010624,,,A", t, lat); break;
      case 10: snprintf(g, sizeof g, "GPGGA,%s,%s,,,,52.1,M,-8.3,M,,", t, lat); break;
      case 11: snprintf(g, sizeof g, "GPGGA,%s,%s,12345678,123456789,5.,52.1,M,,,", t, lat); break;
      case 13:
        snprintf(r, sizeof r, "GNRMC,%s,A,3954.1234567890,N,11623.1234567890,E,0.004,77.52,010624,4.1,W,D", t);
        break;
      case 14: snprintf(r, sizeof r, "GPRMC,%s,A,3954.12284,X,11623.54221,E,5.46,199.11,010624,,,A", t); break;
      case 15: snprintf(r, sizeof r, "GPRMC,%s,A,3954.1228A,N,11623.54221,E,5.46,199.11,010624,,,A", t); break;
      case 17: snprintf(r, sizeof r, "GPRMC,%s,A,%s,5.46,199.11,320199,,,A", t, lat); break;
      default:
        if (v >= 19) { /* 24 layouts: speed of 1-8 integer digits, course of 1-3 */
          char sp[16] = "", cr[8] = "";
          for (int i = 0; i <= (v - 19) % 8; i++) strcat(sp, "7");
          for (int i = 0; i <= (v - 19) / 8; i++) strcat(cr, "3");
          snprintf(r, sizeof r, "GPRMC,%s,A,%s,%s.5,%s.25,010624,,,A", t, lat, sp, cr);
        }
        break;
    }
    S(line, sizeof line, r);
    if (v == 12) /* lower-case hex */
      for (char *h = strrchr(line, '*'); *h; h++) *h = (char)(*h >= 'A' && *h <= 'F' ? *h + 32 : *h);
    w += sprintf(w, "%s\r\n", line);
    w += sprintf(w, "%s\r\n", S(line, sizeof line, g));
  }
  const char *p = write_tmp("layouts.nmea", buf, (size_t)(w - buf));
  free(buf);
  size_t n = impls_agree(p);
  assert_true(n > (size_t)k * 3 / 4); /* most epochs are fixes */
  /* the edge values, read through the fast paths */
  dl_fixes fx;
  dl_rejects rj;
  dl_err e;
  dl_fixes_init(&fx);
  assert_int_equal(dl_read_nmea(p, NULL, &fx, &rj, &e), DL_OK);
  double day = (double)dl_days_from_civil(2024, 6, 1) * 86400;
  int seen = 0;
  for (size_t i = 0; i < fx.n; i++) {
    double s = fx.t[i] - day;
    int kk = (int)s;
    if (kk % 43 == 4) { /* 8 fraction digits of a second */
      assert_true(fx.t[i] == day + kk + 0.12345678);
      seen |= 1;
    }
    if (kk % 43 == 6) { /* 8 fraction digits of a minute */
      assert_true(fx.lat[i] == -(39.0 + (54.0 * 1e8 + 12345678.0) / (60.0 * 1e8)));
      assert_true(fx.lon[i] == -(116.0 + (23.0 * 1e8 + 87654321.0) / (60.0 * 1e8)));
      seen |= 2;
    }
    if (kk % 43 == 8) { /* 8 + 8 digits of speed, no course */
      assert_true(fx.speed[i] == (12345678.0 + 12345678.0 / 1e8) * (1852.0 / 3600.0));
      assert_true(isnan(fx.course[i]));
      seen |= 4;
    }
    if (kk % 43 == 10) { /* GGA without quality, satellites, HDOP */
      assert_int_equal(fx.quality[i], -1);
      assert_int_equal(fx.nsat[i], -1);
      assert_true(isnan(fx.hdop[i]));
      seen |= 8;
    }
  }
  assert_int_equal(seen, 15);
  dl_fixes_free(&fx);
}

/* Plain RMC and GGA lines with one byte at a time replaced by an odd one
 * (a stop byte below '*', a letter, a sign, a control byte, a high byte,
 * another separator), their checksums made right so the field readers see
 * them, each after a plain pair so the AVX2 tier's layouts are warm: every
 * path gives the reference's rows and counts. */
static void nmea_avx2_one_odd_byte_matches_reference(void **state) {
  (void)state;
  static const char odd[] = " #\t!)A/:-+.,*$\r\n\x80\xff" "0";
  const char *body[2] = {"GPRMC,%s,A,3954.12284,N,11623.54221,E,5.46,199.11,010624,,,A",
                         "GPGGA,%s,3954.12284,N,11623.54221,E,1,08,0.9,52.1,M,-8.3,M,,"};
  size_t cap = 2u << 20;
  char *buf = malloc(cap), *w = buf;
  assert_non_null(buf);
  int k = 0;
  for (int r = 0; r < 2; r++) {
    for (size_t i = 0;; i++) {
      char t[16], b[2][200], line[512];
      snprintf(t, sizeof t, "%02d%02d%02d.00", k / 3600 % 24, k / 60 % 60, k % 60);
      for (int h = 0; h < 2; h++) snprintf(b[h], sizeof b[h], body[h], t);
      if (i >= strlen(b[r])) break;
      for (const char *o = odd; *o; o++, k++) {
        snprintf(t, sizeof t, "%02d%02d%02d.00", k / 3600 % 24, k / 60 % 60, k % 60);
        for (int h = 0; h < 2; h++) {
          snprintf(b[h], sizeof b[h], body[h], t);
          w += sprintf(w, "%s\r\n", S(line, sizeof line, b[h]));
        }
        b[r][i] = *o;
        w += sprintf(w, "%s\r\n", S(line, sizeof line, b[r]));
        assert_true((size_t)(w - buf) < cap - 1024);
      }
    }
  }
  const char *p = write_tmp("odd_byte.nmea", buf, (size_t)(w - buf));
  free(buf);
  size_t n = impls_agree(p);
  assert_true(n >= (size_t)k); /* the plain pairs at least */
}

/* ---- line reader ------------------------------------------------------ */

typedef struct cut {
  size_t off, len; /* the line in the file, without CR/LF */
  int too_long;
} cut;

/* The file's lines as a plain split would cut them. */
static size_t split_lines(const char *b, size_t n, cut *out) {
  size_t k = 0, s = n >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3) ? 3 : 0;
  while (s < n) {
    const char *nl = memchr(b + s, '\n', n - s);
    size_t e = nl ? (size_t)(nl - b) : n, len = e - s;
    out[k].too_long = len >= DL_LINES_MAXLINE;
    if (!out[k].too_long && len && b[e - 1] == '\r') len--;
    out[k].off = s;
    out[k].len = out[k].too_long ? 0 : len;
    k++;
    s = e + 1;
  }
  return k;
}

/* A mapped file (exactly 2 MiB, so no readable byte after it) and the same
 * bytes read() from standard input give the lines a plain split gives:
 * byte-order mark skipped, CR dropped, lines of DL_LINES_MAXLINE bytes or
 * more flagged wherever they fall, the last line without its newline. */
static void lines_mapped_and_read_cut_alike(void **state) {
  (void)state;
  size_t n = 2u << 20;
  char *buf = malloc(n);
  cut *want = malloc(sizeof *want * (n / 2)), *got = malloc(sizeof *got * (n / 2));
  assert_true(buf && want && got);
  memcpy(buf, "\xEF\xBB\xBF", 3);
  size_t w = 3;
  const size_t longs[] = {DL_LINES_MAXLINE - 1, DL_LINES_MAXLINE, 70000, DL_LINES_MAXLINE - 2};
  for (int j = 0; w < n; j++) {
    size_t len = j % 97 == 50 ? longs[(j / 97) % 4] : rn(90);
    if (len > n - w) len = n - w;
    memset(buf + w, 'a' + j % 26, len);
    w += len;
    if (w < n) buf[w++] = rn(3) ? '\n' : '\r';
    if (w < n && buf[w - 1] == '\r') buf[w++] = '\n';
  }
  buf[n - 1] = 'z'; /* the last line has no newline */
  size_t nw = split_lines(buf, n, want);
  const char *p = write_tmp("lines.txt", buf, n);
  for (int via = 0; via < 3; via++) { /* mapped lines, mapped blocks, stdin lines */
    if (via == 2) assert_non_null(freopen(p, "rb", stdin));
    dl_lines r;
    dl_err e;
    assert_int_equal(dl_lines_open(&r, via == 2 ? "-" : p, &e), DL_OK);
    if (via < 2) assert_non_null(r.map);
    size_t k = 0;
    const char *ln;
    size_t len;
    int tl, rc;
    if (via == 1) {
      while ((rc = dl_lines_block(&r, &ln, &len, &tl, &e)) == 1) {
        if (tl) {
          got[k++] = (cut){0, 0, 1};
          continue;
        }
        for (const char *q = ln, *end = ln + len; q < end; k++) {
          const char *nl = memchr(q, '\n', (size_t)(end - q));
          const char *le = nl ? nl : end;
          size_t m = (size_t)(le - q);
          got[k].too_long = m >= DL_LINES_MAXLINE;
          if (!got[k].too_long && m && le[-1] == '\r') m--;
          got[k].len = got[k].too_long ? 0 : m;
          got[k].off = got[k].too_long ? 0 : (size_t)memcmp(q, buf + want[k].off, m);
          q = nl ? nl + 1 : end;
        }
      }
    } else {
      while ((rc = dl_lines_next(&r, &ln, &len, &tl, &e)) == 1) {
        got[k] = (cut){len ? (size_t)memcmp(ln, buf + want[k].off, len) : 0, len, tl};
        k++;
        assert_int_equal(r.lineno, k);
      }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(k, nw);
    for (size_t i = 0; i < k; i++) {
      assert_int_equal(got[i].too_long, want[i].too_long);
      assert_int_equal(got[i].len, want[i].len);
      assert_int_equal(got[i].off, 0); /* same bytes */
    }
    assert_int_equal(r.bytes, n);
    dl_lines_close(&r);
  }
  free(buf);
  free(want);
  free(got);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nmea_agrees_with_gpsd_on_30_real_logs),
      cmocka_unit_test(nmea_rejects_bad_checksum),
      cmocka_unit_test(nmea_lenient_accepts_missing_checksum),
      cmocka_unit_test(nmea_date_rolls_over_at_midnight),
      cmocka_unit_test(nmea_gga_before_any_date_is_rejected_no_date),
      cmocka_unit_test(nmea_spliced_sentences_both_parsed),
      cmocka_unit_test(nmea_no_fix_sentences_are_not_fixes),
      cmocka_unit_test(nmea_proprietary_and_other_sentences_counted_unsupported),
      cmocka_unit_test(nmea_keeps_fraction_and_coordinates_exact),
      cmocka_unit_test(nmea_vtg_gives_speed_without_rmc),
      cmocka_unit_test(nmea_survives_binary_junk),
      cmocka_unit_test(nmea_fuzzy_cases_counts),
      cmocka_unit_test(nmea_fast_paths_match_reference),
      cmocka_unit_test(nmea_avx2_layouts_match_reference),
      cmocka_unit_test(nmea_avx2_one_odd_byte_matches_reference),
      cmocka_unit_test(lines_mapped_and_read_cut_alike),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
