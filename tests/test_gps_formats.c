/* test_gps_formats.c: the GPS readers other than NMEA (GPX, GeoLife PLT,
 * CSV, gpsd JSON, live gpsd) on real files, plus malformed inputs. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dl_io.h"
#include "dl_test.h"
#include "dl_time.h"

/* ---- helpers ---------------------------------------------------------- */
typedef struct run {
  dl_fixes f;
  dl_rejects r;
  dl_err e;
  int rc;
} run;

static run *read_gps(const char *path, dl_format fmt) {
  run *x = calloc(1, sizeof *x);
  assert_non_null(x);
  dl_fixes_init(&x->f);
  dl_err_clear(&x->e);
  dl_gps_opts o;
  dl_gps_opts_default(&o);
  x->rc = dl_read_gps(path, fmt, &o, &x->f, &x->r, &x->e);
  return x;
}

static void run_free(run *x) {
  dl_fixes_free(&x->f);
  free(x);
}

/* Writes len bytes to a fresh file named name in a temporary folder. */
static const char *write_tmp(const char *name, const char *data, size_t len) {
  static char path[8][1100];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", dl_tmpdir(), name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  return p;
}
#define WRITE_TMP(name, lit) write_tmp(name, lit, sizeof lit - 1)

static double iso(const char *s) {
  double t;
  assert_int_equal(dl_parse_iso8601(s, strlen(s), &t), DL_OK);
  return t;
}

/* ---- ISO-8601 --------------------------------------------------------- */
static void iso8601_parses_zones_and_fractions(void **state) {
  (void)state;
  assert_true(iso("2009-05-01T08:00:00Z") == 1241164800.0);
  assert_true(iso("2009-05-01 08:00:00") == 1241164800.0); /* no zone: UTC */
  assert_true(iso("2009-05-01T16:00:00+08:00") == 1241164800.0);
  assert_true(iso("2009-05-01T02:30:00-0530") == 1241164800.0);
  assert_true(iso("2009-05-01T10:00:00+02") == 1241164800.0);
  assert_true(iso(" 2009-05-01T08:00Z ") == 1241164800.0);
  assert_true(iso("2026-11-22T09:53:04.802Z") == 1795341184.0 + 0.802);
  assert_true(iso("2000-02-29T23:59:59.999999999Z") == 951868799.0 + 0.999999999);
  int z = -1;
  double t;
  assert_int_equal(dl_parse_iso8601_zone("2009-05-01T08:00:00", 19, &t, &z), DL_OK);
  assert_int_equal(z, 0);
  assert_int_equal(dl_parse_iso8601_zone("2009-05-01T08:00:00Z", 20, &t, &z), DL_OK);
  assert_int_equal(z, 1);
  /* n bounds the text: the rest of the buffer is not read */
  assert_int_equal(dl_parse_iso8601("2009-05-01T08:00:00Zjunk", 20, &t), DL_OK);
}

static void iso8601_rejects_bad_fields(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",         "2009-05-01",          "2009-13-01T00:00:00Z", "2009-04-31T00:00:00Z",
      "2009-02-29T00:00:00Z",            "2009-05-01T24:00:00Z", "2009-05-01T08:60:00Z",
      "2009-05-01T08:00:00.Z",           "2009-05-01T08:00:00+8", "2009-05-01T08:00:00Zx",
      "20090501T080000Z",                "2009-5-1T08:00:00Z",   "junk", "2009-05-01T08:00:00+15:00"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    double t = 42;
    assert_int_equal(dl_parse_iso8601(bad[i], strlen(bad[i]), &t), DL_EFORMAT);
  }
}

/* ---- GPX -------------------------------------------------------------- */
static void gpx_garmin_one_line_track(void **state) {
  (void)state;
  const char *p = dl_fixture("mmaq_dusttrak/2019_09_25_h091000_KAN_Garmin_3.gpx");
  assert_int_equal(dl_format_detect(p, NULL), DL_FMT_GPX);
  run *x = read_gps(p, DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 3000);
  assert_int_equal(x->r.accepted, 3000);
  assert_int_equal(dl_rejects_total(&x->r), 0);
  assert_true(x->f.t[0] == 1569385764.0); /* 2019-09-25T04:29:24Z */
  assert_true(x->f.lat[0] == 13.0056896154);
  assert_true(x->f.lon[0] == 77.6205807924);
  assert_true(x->f.t[2999] == 1569388763.0); /* 2019-09-25T05:19:23Z */
  assert_true(x->f.lat[2999] == 13.1070646271);
  assert_true(x->f.lon[2999] == 77.6690268517);
  /* one line: records are numbered by point */
  assert_int_equal(x->f.line[0], 1);
  assert_int_equal(x->f.line[2999], 3000);
  /* no speed or course in this file: unknown, not zero */
  assert_true(isnan(x->f.speed[0]) && isnan(x->f.course[0]));
  for (size_t i = 1; i < x->f.n; i++) assert_true(x->f.t[i] == x->f.t[i - 1] + 1.0);
  run_free(x);
}

static const char gpx_multi[] =
    "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n"
    "<gpx version=\"1.0\" xmlns=\"http://www.topografix.com/GPX/1/0\"\r\n"
    "  xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v2\">\r\n"
    "<wpt lat=\"1\" lon=\"2\"><time>2020-01-01T00:00:00Z</time></wpt>\r\n"
    "<trk><trkseg>\r\n"
    "<trkpt lat=\"39.9\" lon=\"116.3\"><time>2020-01-01T08:00:00.250+08:00</time>"
    "<speed>3.5</speed><course>90</course><hdop>1.2</hdop><sat>7</sat><fix>3d</fix></trkpt>\r\n"
    "<trkpt lat=\"39.91\" lon=\"116.31\"><ele>50</ele></trkpt>\r\n"
    "<trkpt lat=\"39.92\" lon=\"116.32\"><time>2020-01-01T00:00:01Z</time><extensions>"
    "<gpxtpx:TrackPointExtension><gpxtpx:speed>4.25</gpxtpx:speed><gpxtpx:course>359.5"
    "</gpxtpx:course></gpxtpx:TrackPointExtension></extensions></trkpt>\r\n"
    "<trkpt lat=\"39.93\" lon=\"116.33\"><time>2020-01-01T00:00:01Z</time></trkpt>\r\n"
    "<trkpt lat=\"99\" lon=\"116.33\"><time>2020-01-01T00:00:02Z</time></trkpt>\r\n"
    "<trkpt lat=\"x\" lon=\"116.33\"><time>2020-01-01T00:00:03Z</time></trkpt>\r\n"
    "<trkpt lat=\"39.94\" lon=\"116.34\"><time>2020-01-01T00:00:04</time></trkpt>\r\n"
    "</trkseg></trk></gpx>\r\n";

static void gpx_bom_crlf_extensions_and_rejects(void **state) {
  (void)state;
  run *x = read_gps(WRITE_TMP("multi.gpx", gpx_multi), DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 3);
  assert_int_equal(x->r.lines, 8); /* 7 trkpt + 1 wpt */
  assert_true(x->f.t[0] == 1577836800.25);
  assert_true(x->f.speed[0] == 3.5 && x->f.course[0] == 90 && x->f.hdop[0] == 1.2);
  assert_int_equal(x->f.nsat[0], 7);
  assert_int_equal(x->f.quality[0], 1);
  assert_int_equal(x->f.line[0], 6); /* XML line numbers when the file has them */
  assert_true(x->f.speed[1] == 4.25 && x->f.course[1] == 359.5);
  assert_int_equal(x->f.quality[1], -1);
  assert_int_equal(x->f.line[1], 8);
  assert_true(x->f.t[2] == 1577836804.0); /* no zone: UTC */
  assert_int_equal(x->r.count[DL_REJ_UNSUPPORTED], 1);
  assert_int_equal(x->r.first_line[DL_REJ_UNSUPPORTED][0], 4);
  assert_int_equal(x->r.count[DL_REJ_NO_TIME], 1);
  assert_int_equal(x->r.first_line[DL_REJ_NO_TIME][0], 7);
  assert_int_equal(x->r.count[DL_REJ_DUPLICATE], 1);
  assert_int_equal(x->r.first_line[DL_REJ_DUPLICATE][0], 9);
  assert_int_equal(x->r.count[DL_REJ_RANGE], 1);
  assert_int_equal(x->r.count[DL_REJ_SYNTAX], 1);
  assert_int_equal(x->r.first_line[DL_REJ_SYNTAX][0], 11);
  run_free(x);
}

static void gpx_malformed_gives_line_and_column(void **state) {
  (void)state;
  /* the real one-line file cut after 1000 bytes */
  FILE *f = fopen(dl_fixture("mmaq_dusttrak/2019_09_25_h091000_KAN_Garmin_3.gpx"), "rb");
  assert_non_null(f);
  char buf[1000];
  assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
  fclose(f);
  run *x = read_gps(write_tmp("cut.gpx", buf, sizeof buf), DL_FMT_GPX);
  assert_int_equal(x->rc, DL_EFORMAT);
  /* expat points at the start of the unclosed start tag of <gpx> */
  assert_non_null(strstr(x->e.msg, "cut.gpx:1:56: malformed XML: unclosed token"));
  run_free(x);

  x = read_gps(WRITE_TMP("tag.gpx", "<gpx>\n<trk><trkseg>\n<trkpt lat=\"1\" lon=\"2\">"
                                    "</trkseg></trk></gpx>\n"), DL_FMT_GPX);
  assert_int_equal(x->rc, DL_EFORMAT);
  assert_non_null(strstr(x->e.msg, "tag.gpx:3:"));
  assert_non_null(strstr(x->e.msg, "mismatched tag"));
  run_free(x);

  x = read_gps(WRITE_TMP("junk.gpx", "\x00\x01\xff\xfe<gpx\x00\x9c"), DL_FMT_GPX);
  assert_int_equal(x->rc, DL_EFORMAT);
  run_free(x);

  x = read_gps(WRITE_TMP("empty.gpx", ""), DL_FMT_GPX);
  assert_int_equal(x->rc, DL_ENODATA);
  run_free(x);

  x = read_gps(WRITE_TMP("osm.gpx", "<osm><node/></osm>"), DL_FMT_GPX);
  assert_int_equal(x->rc, DL_EFORMAT);
  assert_non_null(strstr(x->e.msg, "expected <gpx>"));
  run_free(x);
}

/* ---- GeoLife PLT ------------------------------------------------------ */
static void plt_geolife_trajectory(void **state) {
  (void)state;
  DL_SKIP_IF_NO_SHARED("geolife_trackintel/000/Trajectory/20081023025304.plt");
  const char *p = dl_shared("geolife_trackintel/000/Trajectory/20081023025304.plt");
  assert_int_equal(dl_format_detect(p, NULL), DL_FMT_PLT);
  run *x = read_gps(p, DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->r.lines, 914);
  assert_int_equal(x->f.n, 908);
  assert_int_equal(x->r.count[DL_REJ_HEADER], 6);
  assert_int_equal(dl_rejects_total(&x->r), 6);
  assert_true(x->f.t[0] == 1224730384.0); /* 2008-10-23T02:53:04Z */
  assert_true(x->f.lat[0] == 39.984702 && x->f.lon[0] == 116.318417);
  assert_int_equal(x->f.line[0], 7);
  assert_true(x->f.t[907] == 1224760272.0); /* 2008-10-23T11:11:12Z */
  assert_true(x->f.lat[907] == 40.009328 && x->f.lon[907] == 116.320887);
  assert_int_equal(x->f.line[907], 914);
  run_free(x);
}

static void plt_day_count_fallback_and_bad_rows(void **state) {
  (void)state;
  run *x = read_gps(WRITE_TMP("t.plt",
                              "Geolife trajectory\r\nWGS 84\r\nAltitude is in Feet\r\n"
                              "Reserved 3\r\n0,2,255,My Track,0,0,2,8421376\r\n0\r\n"
                              "39.984702,116.318417,0,492,39744.1201851852,2008-10-23,02:53:04\r\n"
                              "39.984683,116.31845,0,492,39744.1202546296,,\r\n"
                              "39.98,116.31,0,492\r\n"
                              "91.5,116.31,0,492,39744.1203125,2008-10-23,02:53:15\r\n"),
                    DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 2);
  assert_true(x->f.t[1] == 1224730390.0); /* from the day count: 02:53:10 */
  assert_int_equal(x->r.count[DL_REJ_SYNTAX], 1);
  assert_int_equal(x->r.first_line[DL_REJ_SYNTAX][0], 9);
  assert_int_equal(x->r.count[DL_REJ_RANGE], 1);
  assert_int_equal(x->r.first_line[DL_REJ_RANGE][0], 10);
  run_free(x);

  x = read_gps(WRITE_TMP("bad.plt", "lat,lon\n1,2\n"), DL_FMT_PLT);
  assert_int_equal(x->rc, DL_EFORMAT);
  run_free(x);
}

/* ---- CSV -------------------------------------------------------------- */
static void csv_iso_and_unix_times_any_column_order(void **state) {
  (void)state;
  run *x = read_gps(WRITE_TMP("a.csv",
                              "\xEF\xBB\xBF# exported track\r\n"
                              "id,Lon,time,extra,LAT,speed,course\r\n"
                              "1,116.3,2009-05-01T08:00:00Z,x,39.9,2.5,180\r\n"
                              "2,116.31,2009-05-01T08:00:01.5Z,x,39.91,,\r\n"
                              "3,116.32,2009-05-01T16:00:03+08:00,x,39.92,3,360\r\n"
                              "4,116.33,1241164804,x,39.93,1,1\r\n"
                              "5,116.34,1241164804.5,x,39.94\r\n"),
                    DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 5);
  double want_t[] = {1241164800.0, 1241164801.5, 1241164803.0, 1241164804.0, 1241164804.5};
  for (int i = 0; i < 5; i++) {
    assert_true(x->f.t[i] == want_t[i]);
    assert_true(x->f.lat[i] == 39.9 + 0.01 * i || fabs(x->f.lat[i] - (39.9 + 0.01 * i)) < 1e-12);
    assert_int_equal(x->f.line[i], (uint64_t)i + 3);
  }
  assert_true(x->f.speed[0] == 2.5 && x->f.course[0] == 180);
  assert_true(isnan(x->f.speed[1]) && isnan(x->f.course[1]));
  assert_true(x->f.course[2] == 0); /* 360 is north */
  assert_true(isnan(x->f.speed[4]));
  assert_int_equal(x->r.count[DL_REJ_HEADER], 2);
  run_free(x);
}

static void csv_rejects_bad_rows_with_reason_and_line(void **state) {
  (void)state;
  run *x = read_gps(WRITE_TMP("b.csv",
                              "time,lat,lon,speed\n"
                              "2009-05-01T08:00:00Z,39.9,116.3,1\n"   /* 2 ok */
                              "2009-05-01T08:00:00Z,39.9,116.3,1\n"   /* 3 duplicate */
                              "2009-05-01T07:59:59Z,39.9,116.3,1\n"   /* 4 backwards */
                              "2009-05-01T08:00:02Z,,116.3,1\n"       /* 5 missing */
                              "2009-05-01T08:00:03Z,39.9,116.3,fast\n" /* 6 syntax */
                              "2009-05-01T08:00:04Z,95,116.3,1\n"     /* 7 range */
                              ",39.9,116.3,1\n"                       /* 8 no time */
                              "2009-05-01T08:00:05Z\n"                /* 9 syntax */
                              "1241164806000,39.9,116.3,1\n"          /* 10 ms: range */
                              "2009-05-01T08:00:07Z,39.9,116.3,-1\n"  /* 11 range */
                              "2009-05-01T08:00:08Z,39.9,116.3,1\x01\n" /* 12 binary */
                              "\n"
                              "2009-05-01T08:00:09Z,39.9,116.3,1"),   /* 14 ok, no LF */
                    DL_FMT_GPS_CSV);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 2);
  assert_int_equal(x->f.line[1], 14);
  struct { int why; uint64_t n, line; } want[] = {
      {DL_REJ_DUPLICATE, 1, 3}, {DL_REJ_BACKWARDS, 1, 4}, {DL_REJ_MISSING, 1, 5},
      {DL_REJ_SYNTAX, 2, 6},    {DL_REJ_RANGE, 3, 7},     {DL_REJ_NO_TIME, 1, 8},
      {DL_REJ_BINARY, 1, 12},   {DL_REJ_HEADER, 1, 1}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    assert_int_equal(x->r.count[want[i].why], want[i].n);
    assert_int_equal(x->r.first_line[want[i].why][0], want[i].line);
  }
  assert_int_equal(x->r.first_line[DL_REJ_SYNTAX][1], 9);
  assert_int_equal(x->r.first_line[DL_REJ_RANGE][1], 10);
  assert_int_equal(x->r.first_line[DL_REJ_RANGE][2], 11);
  run_free(x);
}

static void csv_without_header_or_empty_fails_cleanly(void **state) {
  (void)state;
  run *x = read_gps(WRITE_TMP("nohead.csv", "2009-05-01T08:00:00Z,39.9,116.3\n"), DL_FMT_GPS_CSV);
  assert_int_equal(x->rc, DL_EFORMAT);
  assert_non_null(strstr(x->e.msg, "nohead.csv:1: header"));
  run_free(x);
  x = read_gps(WRITE_TMP("empty.csv", ""), DL_FMT_GPS_CSV);
  assert_int_equal(x->rc, DL_ENODATA);
  run_free(x);
  x = read_gps(WRITE_TMP("bom.csv", "\xEF\xBB\xBF"), DL_FMT_GPS_CSV);
  assert_int_equal(x->rc, DL_ENODATA);
  run_free(x);
  x = read_gps("/nonexistent/track.csv", DL_FMT_GPS_CSV);
  assert_int_equal(x->rc, DL_ENOINPUT);
  run_free(x);
}

static void csv_reads_gen_traces_output(void **state) {
  (void)state;
  /* the first rows of gen_traces.py --seed 1 --minutes 5 --sigma 5: trace.csv */
  const char *p = WRITE_TMP("trace.csv",
                            "time,lat,lon\n"
                            "2020-05-12T08:00:00Z,39.88864350,116.38521592\n"
                            "2020-05-12T08:00:01Z,39.88860705,116.38517731\n");
  assert_int_equal(dl_format_detect(p, NULL), DL_FMT_GPS_CSV);
  run *x = read_gps(p, DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 2);
  assert_true(x->f.t[0] == 1589270400.0);
  assert_true(x->f.lat[1] == 39.88860705 && x->f.lon[1] == 116.38517731);
  run_free(x);
}

/* ---- gpsd JSON -------------------------------------------------------- */
static void gpsd_json_haicom_replay(void **state) {
  (void)state;
  const char *p = dl_fixture("gpsd_json/haicom-305N.json");
  assert_int_equal(dl_format_detect(p, NULL), DL_FMT_GPSD_JSON);
  run *x = read_gps(p, DL_FMT_UNKNOWN);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->r.lines, 97);
  assert_int_equal(x->f.n, 68);
  assert_int_equal(x->r.count[DL_REJ_UNSUPPORTED], 29); /* 23 SKY + 6 others */
  assert_int_equal(dl_rejects_total(&x->r), 29);
  assert_true(x->f.t[0] == 1795341184.0 + 0.802); /* 2026-11-22T09:53:04.802Z */
  assert_true(x->f.lat[0] == -27.210866667 && x->f.lon[0] == 153.052328333);
  assert_true(x->f.speed[0] == 0.0 && x->f.course[0] == 133.96);
  assert_int_equal(x->f.quality[0], 1);
  assert_true(isnan(x->f.hdop[0])); /* no SKY seen yet */
  assert_int_equal(x->f.line[0], 6);
  assert_true(x->f.hdop[3] == 21.10); /* the SKY on line 9, carried forward */
  assert_int_equal(x->f.nsat[3], 4);
  assert_true(x->f.t[67] == 1795341255.0 + 0.787);
  assert_true(x->f.lat[67] == -27.210673333 && x->f.lon[67] == 153.052);
  assert_true(x->f.hdop[67] == 1.10);
  run_free(x);
}

static void gpsd_json_filters_mode_and_dedups_by_time(void **state) {
  (void)state;
  run *x = read_gps(dl_fixture("gpsd_json/mtk-3301.json"), DL_FMT_GPSD_JSON);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 3);
  assert_int_equal(x->r.count[DL_REJ_NO_FIX], 6);
  assert_int_equal(x->r.count[DL_REJ_NO_TIME], 2); /* mode 2 but no time */
  assert_int_equal(x->r.count[DL_REJ_DUPLICATE], 3);
  assert_int_equal(x->r.first_line[DL_REJ_DUPLICATE][0], 15);
  assert_int_equal(x->r.count[DL_REJ_UNSUPPORTED], 7);
  /* the first report of an epoch is kept (speed 1.725, not the 0.020 after) */
  assert_true(x->f.t[0] == 1838794477.0);
  assert_true(x->f.speed[0] == 1.725);
  assert_int_equal(x->f.line[0], 14);
  assert_true(x->f.lat[2] == 52.216363867 && x->f.lon[2] == 6.8850781);
  run_free(x);
}

static void gpsd_json_rejects_malformed_lines(void **state) {
  (void)state;
  run *x = read_gps(
      WRITE_TMP("bad.json",
                "{\"class\":\"VERSION\",\"release\":\"3.22\"}\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2020-01-01T00:00:00.5Z\",\"lat\":1,\"lon\":2,"
                "\"status\":2}\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"lat\":1\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"time\":\"junk\",\"lat\":1,\"lon\":2}\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2020-01-01T00:00:01Z\",\"lat\":\"x\","
                "\"lon\":2}\r\n"
                "garbage\r\n"
                "[1,2]\r\n"
                "\x00\x01\x02\r\n"
                "{\"mode\":3}\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2020-01-01T00:00:02Z\",\"lon\":2}\r\n"
                "{\"class\":\"TPV\",\"mode\":3,\"time\":\"2020-01-01T00:00:03Z\",\"lat\":1,"
                "\"lon\":2,\"speed\":1.5,\"track\":10}"),
      DL_FMT_GPSD_JSON);
  assert_int_equal(x->rc, DL_OK);
  assert_int_equal(x->f.n, 2);
  assert_true(x->f.t[0] == 1577836800.5);
  assert_int_equal(x->f.quality[0], 2); /* status 2: DGPS */
  assert_true(x->f.speed[1] == 1.5 && x->f.course[1] == 10);
  assert_int_equal(x->r.count[DL_REJ_SYNTAX], 6);
  uint64_t want[] = {3, 4, 5, 6, 7};
  for (int i = 0; i < 5; i++) assert_int_equal(x->r.first_line[DL_REJ_SYNTAX][i], want[i]);
  assert_int_equal(x->r.count[DL_REJ_BINARY], 1);
  assert_int_equal(x->r.count[DL_REJ_MISSING], 1);
  assert_int_equal(x->r.first_line[DL_REJ_MISSING][0], 10);
  run_free(x);

  x = read_gps(WRITE_TMP("empty.json", ""), DL_FMT_GPSD_JSON);
  assert_int_equal(x->rc, DL_ENODATA);
  run_free(x);
}

/* ---- live gpsd -------------------------------------------------------- */
static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t n = sizeof a;
  assert_int_equal(getsockname(s, (struct sockaddr *)&a, &n), 0);
  close(s);
  return ntohs(a.sin_port);
}

static void gpsd_live_gives_up_after_retries(void **state) {
  (void)state;
  char url[64];
  snprintf(url, sizeof url, "gpsd://127.0.0.1:%d", free_port());
  dl_gps_opts o;
  dl_gps_opts_default(&o);
  o.live_retries = 2; /* first attempt, then 0.5 s and 1 s later */
  dl_fixes f;
  dl_fixes_init(&f);
  dl_rejects r;
  memset(&r, 0, sizeof r);
  dl_err e;
  dl_err_clear(&e);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = dl_read_gpsd_live(url, &o, &f, &r, &e);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double dt = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
  assert_int_equal(rc, DL_EUNAVAIL);
  assert_int_equal(f.n, 0);
  assert_non_null(strstr(e.msg, "cannot connect to gpsd at 127.0.0.1"));
  assert_true(dt >= 1.4 && dt < 3.0);
  dl_fixes_free(&f);

  assert_int_equal(dl_read_gpsd_live("gpsd://", &o, &f, &r, &e), DL_EUSAGE);
  assert_int_equal(dl_read_gpsd_live("gpsd://host:port", &o, &f, &r, &e), DL_EUSAGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(iso8601_parses_zones_and_fractions),
      cmocka_unit_test(iso8601_rejects_bad_fields),
      cmocka_unit_test(gpx_garmin_one_line_track),
      cmocka_unit_test(gpx_bom_crlf_extensions_and_rejects),
      cmocka_unit_test(gpx_malformed_gives_line_and_column),
      cmocka_unit_test(plt_geolife_trajectory),
      cmocka_unit_test(plt_day_count_fallback_and_bad_rows),
      cmocka_unit_test(csv_iso_and_unix_times_any_column_order),
      cmocka_unit_test(csv_rejects_bad_rows_with_reason_and_line),
      cmocka_unit_test(csv_without_header_or_empty_fails_cleanly),
      cmocka_unit_test(csv_reads_gen_traces_output),
      cmocka_unit_test(gpsd_json_haicom_replay),
      cmocka_unit_test(gpsd_json_filters_mode_and_dedups_by_time),
      cmocka_unit_test(gpsd_json_rejects_malformed_lines),
      cmocka_unit_test(gpsd_live_gives_up_after_retries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
