/* test_manifest.c: the run manifest (happy path on the commented example
 * and the real mmaq run, then one precise error per mistake) and the
 * operator tags file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dl_io.h"
#include "dl_test.h"
#include "manifest.h"

static char tmp[1024];

/* A folder holding empty stand-ins for the files a manifest names. */
static const char *workdir(void) {
  if (!tmp[0]) {
    snprintf(tmp, sizeof tmp, "%s", dl_tmpdir());
    const char *names[] = {"g.nmea", "t.csv", "l.csv", "r.csv", "b.csv", "tags.csv", "cal.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      char p[1200];
      snprintf(p, sizeof p, "%s/%s", tmp, names[i]);
      FILE *f = fopen(p, "w");
      assert_non_null(f);
      fclose(f);
    }
  }
  return tmp;
}

/* Writes text to NAME in the work folder (one static path per name kind). */
static const char *write_named(const char *name, const char *text) {
  static char paths[2][1200];
  char *p = paths[name[0] == 'm'];
  snprintf(p, sizeof paths[0], "%s/%s", workdir(), name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static const char *write_ini(const char *text) { return write_named("m.ini", text); }
static const char *write_tags(const char *text) { return write_named("t.tags", text); }

static const char *GOOD =
    "[run]\n"                      /* 1 */
    "id = r1\n"                    /* 2 */
    "tz = +08:00\n"                /* 3 */
    "[gps]\n"                      /* 4 */
    "file = g.nmea\n"              /* 5 */
    "[instrument tyre]\n"          /* 6 */
    "file = t.csv\n"               /* 7 */
    "role = tyre\n"                /* 8 */
    "[instrument bg]\n"            /* 9 */
    "file = b.csv\n"               /* 10 */
    "role = background\n";         /* 11 */

/* Reads text as m.ini and expects an error whose message holds want. */
static void expect_error(const char *text, int code, const char *want) {
  dl_manifest m;
  dl_err e;
  dl_err_clear(&e);
  int rc = dl_manifest_read(write_ini(text), &m, &e);
  if (rc != code || !strstr(e.msg, want))
    print_error("got %d '%s'\nwanted %d '...%s...'\n", rc, e.msg, code, want);
  assert_int_equal(rc, code);
  assert_non_null(strstr(e.msg, want));
  assert_null(m.run_id); /* freed on failure */
}

static void manifest_reads_commented_example(void **state) {
  (void)state;
  dl_manifest m;
  dl_err e;
  assert_int_equal(dl_manifest_read(dl_fixture("manifests/example.ini"), &m, &e), DL_OK);
  assert_string_equal(m.run_id, "2019-09-25-KAN-example");
  assert_string_equal(m.vehicle, "KAN-van-1");
  assert_true(m.have_tz && m.tz_offset_s == 19800);
  assert_non_null(strstr(m.network, "manifests/beijing.dlnet"));
  assert_non_null(strstr(m.tags, "manifests/tags.csv"));
  assert_int_equal(m.ngps, 1);
  assert_int_equal(m.gps[0].format, DL_FMT_GPX);
  assert_non_null(strstr(m.gps[0].path, "manifests/../mmaq_dusttrak/2019_09_25_h091000_KAN_Garmin_3.gpx"));
  assert_int_equal(m.ninst, 2);
  const dl_manifest_inst *l = &m.inst[m.role_inst[DL_ROLE_TYRE_LEFT]];
  assert_string_equal(l->name, "left");
  assert_int_equal(l->format, DL_FMT_DUSTTRAK);
  assert_true(l->opts.have_tz && l->opts.tz_offset_s == 19800); /* from [run] */
  assert_true(l->opts.clock_offset_s == -2.5 && l->inlet_delay_s == 2.0);
  assert_null(l->opts.channel);
  const dl_manifest_inst *b = &m.inst[m.role_inst[DL_ROLE_BACKGROUND]];
  assert_int_equal(b->format, DL_FMT_UNKNOWN);
  assert_string_equal(b->opts.channel, "PM10");
  assert_int_equal(m.role_inst[DL_ROLE_TYRE], -1);
  assert_true(m.have_calib_a && m.calib_a == 0.04 && m.have_calib_beta && m.calib_beta == 0.366);
  assert_null(m.calib_file);
  assert_int_equal(m.nparams, 2);
  assert_string_equal(m.params[0].key, "v_ref_kmh");
  assert_string_equal(m.params[0].value, "30");
  assert_int_equal(m.params[0].line, 43);
  assert_string_equal(m.params[1].key, "hampel_nsigma");
  assert_int_equal(m.params[1].line, 44);
  /* the network named there does not exist: only an error when it is used */
  const char *net;
  assert_int_equal(dl_manifest_network(&m, NULL, &net, &e), DL_ENOINPUT);
  assert_non_null(strstr(e.msg, "example.ini:16: [run] key 'network': cannot read '"));
  assert_int_equal(dl_manifest_network(&m, dl_fixture("manifests/tags.csv"), &net, &e), DL_OK);
  /* the instruments it names are read with its options */
  dl_samples s;
  dl_rejects r;
  dl_samples_init(&s);
  memset(&r, 0, sizeof r);
  assert_int_equal(dl_read_instrument(b->path, b->format, &b->opts, &s, &r, &e), DL_OK);
  assert_int_equal(s.nchan, 1);
  assert_true(s.t[0] == 1567152935.0 && s.value[0] == 75.0);
  dl_samples_free(&s);
  dl_manifest_free(&m);
  dl_manifest_free(&m); /* twice is harmless */
  dl_manifest_free(NULL);
}

static void manifest_reads_real_ambient_run(void **state) {
  (void)state;
  dl_manifest m;
  dl_err e;
  assert_int_equal(dl_manifest_read(dl_fixture("manifests/mmaq_ambient.ini"), &m, &e), DL_OK);
  assert_int_equal(m.ninst, 1);
  assert_int_equal(m.inst[0].role, DL_ROLE_AMBIENT);
  assert_string_equal(m.vehicle, "KAN");
  assert_null(m.network);
  const char *net;
  assert_int_equal(dl_manifest_network(&m, NULL, &net, &e), DL_EUSAGE);
  assert_non_null(strstr(e.msg, "no road network: give --network FILE or [run] network = FILE"));
  dl_samples s;
  dl_rejects r;
  dl_samples_init(&s);
  memset(&r, 0, sizeof r);
  assert_int_equal(
      dl_read_instrument(m.inst[0].path, m.inst[0].format, &m.inst[0].opts, &s, &r, &e), DL_OK);
  char b[40];
  assert_string_equal(dl_time_iso(s.t[0], b, sizeof b), "2019-09-25T03:40:01.000Z");
  dl_samples_free(&s);
  dl_manifest_free(&m);
}

static void manifest_minimal_tyre_background(void **state) {
  (void)state;
  dl_manifest m;
  dl_err e;
  assert_int_equal(dl_manifest_read(write_ini(GOOD), &m, &e), DL_OK);
  assert_string_equal(m.vehicle, "");
  assert_int_equal(m.gps[0].format, DL_FMT_UNKNOWN);
  assert_int_equal(m.role_inst[DL_ROLE_TYRE], 0);
  assert_int_equal(m.role_inst[DL_ROLE_BACKGROUND], 1);
  assert_true(m.inst[1].opts.have_tz && m.inst[1].opts.tz_offset_s == 28800);
  assert_int_equal(m.inst[1].line, 9);
  assert_true(isnan(m.calib_a) && !m.have_calib_a);
  dl_manifest_free(&m);
  /* no zone anywhere: the caller is told (have_tz 0) */
  assert_int_equal(dl_manifest_read(write_ini("[run]\nid=x\n[gps]\nfile=g.nmea\n"
                                              "[instrument a]\nfile=t.csv\nrole=ambient\n"),
                                    &m, &e),
                   DL_OK);
  assert_int_equal(m.inst[0].opts.have_tz, 0);
  dl_manifest_free(&m);
  /* comments, CRLF, spaces, ':' as separator, a live gpsd source */
  assert_int_equal(
      dl_manifest_read(write_ini("; c\r\n# c\r\n[run]\r\n  id : x ; comment\r\n[gps live]\r\n"
                                 "file = gpsd://localhost:2947\r\nformat = gpsd\r\n[gps]\r\n"
                                 "file=g.nmea\r\nformat=nmea\r\n[instrument a]\r\nfile=t.csv\r\n"
                                 "role=ambient\r\n[calibration]\r\nfile = cal.txt\r\n"),
                       &m, &e),
      DL_OK);
  assert_string_equal(m.run_id, "x");
  assert_int_equal(m.ngps, 2);
  assert_string_equal(m.gps[0].name, "live");
  assert_string_equal(m.gps[0].path, "gpsd://localhost:2947");
  assert_int_equal(m.gps[0].format, DL_FMT_GPSD_LIVE);
  assert_int_equal(m.gps[1].format, DL_FMT_NMEA);
  assert_non_null(strstr(m.calib_file, "/cal.txt"));
  dl_manifest_free(&m);
}

static void manifest_errors_name_line_section_and_key(void **state) {
  (void)state;
  char text[2048];
  expect_error("[run]\nid = r1\n[gps]\nfile = g.nmea\n[instrument bg]\nfile = b.csv\n"
               "role = background\n[instrument tyre]\ntz = abc\n",
               DL_ECONFIG, "m.ini:9: [instrument tyre] key 'tz': expected an offset like +08:00, got 'abc'");
  expect_error("[run]\nid = r1\ntz = 8\n", DL_ECONFIG,
               "m.ini:3: [run] key 'tz': expected an offset like +08:00, got '8'");
  expect_error("[run]\nid = r1\n[gsp]\nfile = g.nmea\n", DL_ECONFIG,
               "m.ini:3: unknown section [gsp] (expected [run], [gps], [gps NAME], "
               "[instrument NAME], [calibration], [params])");
  expect_error("[run]\nid = r1\nvehicel = A1\n", DL_ECONFIG,
               "m.ini:3: [run] unknown key 'vehicel' (expected id, vehicle, network, tags, tz)");
  expect_error("[run]\nid = r1\n[gps]\nfile = nope.nmea\n", DL_ENOINPUT,
               "m.ini:4: [gps] key 'file': cannot read '");
  expect_error("[run]\nid = r1\n[gps]\nfile = nope.nmea\n", DL_ENOINPUT,
               "/nope.nmea': No such file or directory");
  expect_error("[run]\nid=r1\n[instrument t]\nfile=t.csv\nclock_offset_s = 1.5x\n", DL_ECONFIG,
               "m.ini:5: [instrument t] key 'clock_offset_s': expected seconds, got '1.5x'");
  expect_error("[run]\nid=r1\n[instrument t]\ninlet_delay_s = -1\n", DL_ECONFIG,
               "m.ini:4: [instrument t] key 'inlet_delay_s': seconds must be in [0, 600], got '-1'");
  snprintf(text, sizeof text, "%s[instrument bg2]\nfile = r.csv\nrole = background\n", GOOD);
  expect_error(text, DL_ECONFIG,
               "m.ini:14: [instrument bg2] key 'role': role 'background' is already taken by "
               "[instrument bg] (line 9)");
  snprintf(text, sizeof text, "%s[instrument left]\nfile = l.csv\nrole = tyre_left\n", GOOD);
  expect_error(text, DL_ECONFIG,
               "m.ini:14: [instrument left] key 'role': 'tyre_left' cannot be combined with "
               "'tyre' of [instrument tyre] (line 6)");
  snprintf(text, sizeof text, "%s[instrument amb]\nfile = l.csv\nrole = ambient\n", GOOD);
  expect_error(text, DL_ECONFIG, "m.ini:14: [instrument amb] key 'role': 'ambient' cannot be combined");
  expect_error("[run]\nid=r1\n[instrument t]\nrole = front\n", DL_ECONFIG,
               "m.ini:4: [instrument t] key 'role': expected tyre, tyre_left, tyre_right, "
               "background or ambient, got 'front'");
  expect_error("[run]\nid=r1\n[instrument t]\nformat = nmea\n", DL_ECONFIG,
               "m.ini:4: [instrument t] key 'format': expected auto, dusttrak or csv, got 'nmea'");
  expect_error("[run]\nid=r1\n[gps]\nformat = dusttrak\n", DL_ECONFIG,
               "m.ini:4: [gps] key 'format': expected auto, nmea, gpsd-json, gpsd, gpx, plt or "
               "gps-csv, got 'dusttrak'");
  expect_error("[run]\nid=r1\n[instrument t]\nfile=t.csv\nrole=ambient\n", DL_ECONFIG,
               "m.ini: no GPS source: add a [gps] section with file = ...");
  expect_error("[run]\nvehicle=v\n[gps]\nfile=g.nmea\n", DL_ECONFIG, "m.ini:1: [run]: missing key 'id'");
  expect_error("[gps]\nfile=g.nmea\n", DL_ECONFIG, "m.ini: no [run] section");
  expect_error("[run]\nid = a/b\n", DL_ECONFIG,
               "m.ini:2: [run] key 'id': expected a name usable in file names");
  expect_error("[run]\nid = r1\nid = r2\n", DL_ECONFIG,
               "m.ini:3: [run] key 'id' given twice (first at line 2)");
  expect_error("[run]\nid = r1\n[gps]\nfile=g.nmea\n[run]\nvehicle=x\n", DL_ECONFIG,
               "m.ini:5: section [run] given twice (first at line 1)");
  expect_error("[run]\nid = r1\n[calibration]\na = 0.04\nfile = cal.txt\n", DL_ECONFIG,
               "m.ini:5: [calibration] key 'file': give either a and beta, or file, not both (line 4)");
  expect_error("[run]\nid = r1\n[calibration]\nbeta = 0\n", DL_ECONFIG,
               "m.ini:4: [calibration] key 'beta': a positive exponent must be in");
  expect_error("[run]\nid = r1\n[params]\nv_ref_kmh = 30\nV_REF_KMH = 40\n", DL_ECONFIG,
               "m.ini:5: [params] key 'V_REF_KMH' given twice (first at line 4)");
  expect_error("[run]\nid = r1\nthis line has no equals sign\n[gps]\nfile = nope\n", DL_ECONFIG,
               "m.ini:3: expected '[section]' or 'key = value', got 'this line has no equals sign'");
  expect_error("id = r1\n", DL_ECONFIG, "m.ini:1: key 'id' before any [section]");
  expect_error("[run]\nid=r1\n[gps]\nfile=g.nmea\n[instrument t]\nfile=t.csv\nrole=tyre\n",
               DL_ECONFIG, "m.ini: no background inlet");
  expect_error("[run]\nid=r1\n[gps]\nfile=g.nmea\n[instrument t]\nfile=t.csv\nrole=background\n",
               DL_ECONFIG, "m.ini: no tyre inlet");
  expect_error("[run]\nid=r1\n[gps]\nfile=g.nmea\n[instrument t]\nfile=t.csv\n", DL_ECONFIG,
               "m.ini:5: [instrument t]: missing key 'role'");
  expect_error("[run]\nid=r1\n[gps]\nfile=g.nmea\n", DL_ECONFIG, "m.ini: no instrument");
  expect_error("[run]\nid=r1\n[instrument]\nfile=t.csv\n", DL_ECONFIG,
               "m.ini:3: section [instrument] needs a name");
  expect_error("[run]\nid=r1\n[instrument t]\nfile=t.csv\n  role=tyre\n", DL_ECONFIG,
               "an indented line continues the previous key");
  /* a line longer than the INI reader's buffer */
  char lng[600];
  snprintf(lng, sizeof lng, "[run]\nid=r1\nvehicle=%0400d\n", 7);
  expect_error(lng, DL_ECONFIG, "m.ini:3: line longer than the INI reader's limit");
  /* tags file that is missing */
  expect_error("[run]\nid=r1\ntags = missing.csv\n", DL_ENOINPUT,
               "m.ini:3: [run] key 'tags': cannot read '");
  expect_error("[run]\nid=r1\n[gps]\nfile=g.nmea\nformat=gpsd\n", DL_ECONFIG,
               "m.ini:3: [gps]: format gpsd goes with file = gpsd://HOST:PORT, and only with it");
  expect_error("[run]\nid=r1\n[gps x]\nfile=gpsd://h:1\nformat=nmea\n", DL_ECONFIG,
               "m.ini:3: [gps x]: format gpsd goes with");
  expect_error("[run]\nid=r1\n[gps x]\nfile=gpsd://h:1\n[instrument a]\nfile=gpsd://h:2\n"
               "role=ambient\n", DL_ECONFIG, "m.ini:5: [instrument a]: key 'file': gpsd:// is a GPS source");
  /* empty, binary junk, control characters */
  expect_error("", DL_ECONFIG, "m.ini: no [run] section");
  expect_error("\x01\x02junk\xff\n[run]\nid=r1\n", DL_ECONFIG,
               "m.ini:1: expected '[section]' or 'key = value', got '??junk\xff'");
  expect_error("[run]\nid=r1\nvehicle=a\x01b\n", DL_ECONFIG,
               "m.ini:3: [run] key 'vehicle': control character in the value");
  dl_manifest m;
  dl_err e;
  assert_int_equal(dl_manifest_read("/nonexistent/m.ini", &m, &e), DL_ENOINPUT);
}

static void tags_read_intervals_reasons_and_zones(void **state) {
  (void)state;
  dl_tags t;
  dl_err e;
  dl_tags_init(&t);
  assert_int_equal(dl_tags_read(dl_fixture("manifests/tags.csv"), 19800, 1, &t, &e), DL_OK);
  assert_int_equal(t.n, 3);
  assert_true(t.start[0] == 1569384000.0 && t.end[0] == 1569384300.0);
  assert_int_equal(t.reason[0], DL_TAG_SPRINKLING);
  assert_string_equal(t.note[0], "water truck ahead on Hosur Road");
  assert_int_equal(t.line[0], 3);
  assert_true(t.start[1] == 1569385800.0 && t.end[1] == 1569385950.0); /* local +05:30 */
  assert_int_equal(t.reason[1], DL_TAG_FOLLOWING);
  assert_string_equal(t.note[1], "bus, then lorry");
  assert_true(t.start[2] == 1569385860.0 && t.end[2] == 1569387000.0); /* overlaps [1] */
  assert_int_equal(t.reason[2], DL_TAG_CONSTRUCTION);
  assert_string_equal(t.note[2], "");
  assert_string_equal(dl_tag_name(DL_TAG_WET_ROAD), "wet_road");
  dl_tags_free(&t);
  /* zone-less times need a run zone */
  assert_int_equal(dl_tags_read(dl_fixture("manifests/tags.csv"), 0, 0, &t, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "tags.csv:4: start time '2019-09-25 10:00:00' has no zone"));
  dl_tags_free(&t);
}


static void tags_errors_name_the_line(void **state) {
  (void)state;
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"2024-05-14T01:00:00Z,2024-05-14T01:05:00Z,rain\n",
       "t.tags:1: reason 'rain': expected wet_road, sprinkling, sanding, following, construction "
       "or other"},
      {"# c\n\n2024-05-14T01:00:00Z,2024-05-14T00:05:00Z,other\n",
       "t.tags:3: end '2024-05-14T00:05:00Z' is not after start '2024-05-14T01:00:00Z'"},
      {"2024-05-14T01:00:00Z,2024-05-14T01:00:00Z,other\n", "t.tags:1: end"},
      {"start,end,reason\n2024-05-14T01:00Z,yesterday,other\n",
       "t.tags:2: end time: expected ISO-8601 like 2024-05-14T09:30:00Z or 2024-05-14 "
       "17:30:00+08:00, got 'yesterday'"},
      {"2024-02-30T01:00:00Z,2024-03-01T01:00:00Z,other\n", "t.tags:1: start time: expected"},
      {"2024-05-14T01:00:00Z;2024-05-14T01:05:00Z;other\n", "t.tags:1: expected start,end,reason[,note]"},
      {"2024-05-14T01:00:00Z,2024-05-14T01:05:00Z,ot\x01her\n", "t.tags:1: control character"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dl_tags t;
    dl_err e;
    dl_tags_init(&t);
    int rc = dl_tags_read(write_tags(cases[i].text), 0, 1, &t, &e);
    if (!strstr(e.msg, cases[i].want)) print_error("case %zu: '%s'\n", i, e.msg);
    assert_int_equal(rc, DL_EFORMAT);
    assert_non_null(strstr(e.msg, cases[i].want));
    dl_tags_free(&t);
  }
  /* header only, CRLF, wet_road in any case, note with a comma */
  dl_tags t;
  dl_err e;
  dl_tags_init(&t);
  assert_int_equal(dl_tags_read(write_tags("start,end,reason,note\r\n"
                                           "2024-05-14T01:00:00Z,2024-05-14T01:05:00.5Z,WET_ROAD,"
                                           "after rain, puddles\r\n"),
                                0, 0, &t, &e),
                   DL_OK);
  assert_int_equal(t.n, 1);
  assert_true(t.end[0] - t.start[0] == 300.5);
  assert_int_equal(t.reason[0], DL_TAG_WET_ROAD);
  assert_string_equal(t.note[0], "after rain, puddles");
  dl_tags_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(manifest_reads_commented_example),
      cmocka_unit_test(manifest_reads_real_ambient_run),
      cmocka_unit_test(manifest_minimal_tyre_background),
      cmocka_unit_test(manifest_errors_name_line_section_and_key),
      cmocka_unit_test(tags_read_intervals_reasons_and_zones),
      cmocka_unit_test(tags_errors_name_the_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
