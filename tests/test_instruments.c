/* test_instruments.c: DustTrak TrakPro exports (the real 8530 and DRX 8533
 * files) and the generic instrument CSV reader: values, times, zones,
 * channels, and robustness against damaged input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_io.h"
#include "dl_test.h"

#define DT8530 "mmaq_dusttrak/2019_09_25_h091000_KAN_DT8530.csv"
#define DRX8533 "mmaq_dusttrak/2019_08_30_h134435_CSTEP_DT602_8533.csv"

/* TrakPro header of the real 8530 export, up to the column header. */
static const char *HEAD8530 =
    "TrakPro Version 4.70 ASCII Data File\n\nModel:,DustTrak II\nModel Number:,8530\n"
    "Serial Number:,8530172809\nLog Interval (mm:ss):,00:01\n\nDate,Time,AEROSOL\n";

static const char *write_tmp(const char *name, const char *text, size_t n) {
  static char path[8][1200], dir[1100];
  static int k;
  if (!dir[0]) snprintf(dir, sizeof dir, "%s", dl_tmpdir());
  char *p = path[k++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, n, f), n);
  fclose(f);
  return p;
}

static const char *write_text(const char *name, const char *text) {
  return write_tmp(name, text, strlen(text));
}

/* Checks the bookkeeping every reader promises: each line accepted or
 * rejected with a reason. */
static void assert_lines_balance(const dl_rejects *r) {
  assert_int_equal(r->lines, r->accepted + dl_rejects_total(r));
}

static int read_dt(const char *path, const dl_inst_opts *o, dl_samples *s, dl_rejects *r,
                   dl_err *e) {
  dl_samples_init(s);
  memset(r, 0, sizeof *r);
  dl_err_clear(e);
  return dl_read_dusttrak(path, o, s, r, e);
}

static void dusttrak_8530_real_export_local_to_utc(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  assert_int_equal(dl_parse_tz("+05:30", &o.tz_offset_s), 0);
  o.have_tz = 1;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(dl_fixture(DT8530), &o, &s, &r, &e), DL_OK);
  assert_int_equal(s.n, 14106);
  assert_int_equal(s.nchan, 1);
  assert_string_equal(s.chan_name[0], "AEROSOL");
  assert_string_equal(s.model, "DustTrak II 8530");
  assert_string_equal(s.serial, "8530172809");
  assert_true(s.interval_s == 1.0);
  char b[40];
  assert_string_equal(dl_time_iso(s.t[0], b, sizeof b), "2019-09-25T03:40:01.000Z");
  assert_true(s.t[0] == 1569382801.0);
  assert_true(s.value[0] == 90.0); /* 0.090 mg/m^3 exactly */
  assert_true(s.value[1] == 93.0);
  assert_int_equal(s.line[0], 30);
  assert_string_equal(dl_time_iso(s.t[s.n - 1], b, sizeof b), "2019-09-25T07:35:06.000Z");
  assert_true(s.value[s.n - 1] == 96.0);
  assert_int_equal(s.line[s.n - 1], 14135);
  /* the header's own statistics: min 0.041, max 3.120, average 0.202 */
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (size_t i = 0; i < s.n; i++) {
    lo = fmin(lo, s.value[i]), hi = fmax(hi, s.value[i]), sum += s.value[i];
    if (i) assert_true(s.t[i] == s.t[i - 1] + 1.0); /* 1 s, no gap */
  }
  assert_true(lo == 41.0 && hi == 3120.0);
  assert_true(fabs(sum / (double)s.n - 202.0) < 0.5);
  assert_int_equal(r.lines, 14135);
  assert_int_equal(r.accepted, 14106);
  assert_int_equal(r.count[DL_REJ_HEADER], 29);
  assert_lines_balance(&r);
  dl_samples_free(&s);
}

static void dusttrak_without_zone_reads_utc_and_adds_clock_offset(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(dl_fixture(DT8530), &o, &s, &r, &e), DL_OK);
  assert_true(s.t[0] == 1569402601.0); /* 09:10:01 read as UTC */
  dl_samples_free(&s);
  o.clock_offset_s = -2.5;
  o.have_tz = 1;
  o.tz_offset_s = 19800;
  assert_int_equal(read_dt(dl_fixture(DT8530), &o, &s, &r, &e), DL_OK);
  assert_true(s.t[0] == 1569382801.0 - 2.5);
  dl_samples_free(&s);
}

static void dusttrak_drx_five_channels_dd_mm_yyyy(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  dl_parse_tz("+05:30", &o.tz_offset_s);
  o.have_tz = 1;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(dl_fixture(DRX8533), &o, &s, &r, &e), DL_OK);
  assert_int_equal(s.nchan, 5);
  const char *names[5] = {"PM1", "PM2.5", "RESP", "PM10", "TOTAL"};
  for (int c = 0; c < 5; c++) assert_string_equal(s.chan_name[c], names[c]);
  assert_string_equal(s.model, "DustTrak DRX 8533");
  assert_string_equal(s.serial, "8533192602");
  assert_true(s.interval_s == 60.0);
  assert_int_equal(s.n, 5471 * 5);
  /* 30-08-2019,13:45:35,0.035,0.038,0.045,0.075,0.316 */
  const double first[5] = {35, 38, 45, 75, 316};
  for (int c = 0; c < 5; c++) {
    assert_true(s.t[c] == 1567152935.0);
    assert_int_equal(s.channel[c], c);
    assert_true(s.value[c] == first[c]);
    assert_int_equal(s.line[c], 30);
  }
  /* 03-09-2019,08:55:35,...,0.183 (a date past the 12th: day first) */
  assert_true(s.t[s.n - 1] == 1567481135.0);
  assert_true(s.value[s.n - 1] == 183.0);
  assert_int_equal(s.line[s.n - 1], 5500);
  assert_int_equal(r.accepted, 5471);
  assert_lines_balance(&r);
  dl_samples_free(&s);
}

static void dusttrak_channel_option_keeps_one(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  o.channel = "pm10"; /* names match without case */
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(dl_fixture(DRX8533), &o, &s, &r, &e), DL_OK);
  assert_int_equal(s.nchan, 1);
  assert_string_equal(s.chan_name[0], "PM10");
  assert_int_equal(s.n, 5471);
  assert_true(s.value[0] == 75.0 && s.channel[0] == 0);
  dl_samples_free(&s);
  o.channel = "PM3";
  assert_int_equal(read_dt(dl_fixture(DRX8533), &o, &s, &r, &e), DL_ECONFIG);
  assert_non_null(strstr(e.msg, "no channel 'PM3' (the file has: PM1, PM2.5, RESP, PM10, TOTAL)"));
  dl_samples_free(&s);
}

/* Every declared date layout, 12-hour times and µg/m³ units. */
static void dusttrak_obeys_declared_formats(void **state) {
  (void)state;
  static const struct {
    const char *fmt, *d1, *d2;
  } cases[] = {
      {"MM/dd/yyyy", "09/25/2019", "10/01/2019"}, {"dd/MM/yyyy", "25/09/2019", "01/10/2019"},
      {"dd-MM-yyyy", "25-09-2019", "01-10-2019"}, {"MM-dd-yyyy", "09-25-2019", "10-01-2019"},
      {"yyyy-MM-dd", "2019-09-25", "2019-10-01"}, {"yyyy/MM/dd", "2019/09/25", "2019/10/01"},
      {"dd.MM.yyyy", "25.09.2019", "01.10.2019"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[2048];
    snprintf(text, sizeof text,
             "%s%s,hh:mm:ss,ug/m^3\n%s,11:59:59 PM,12.5\n%s,12:00:00 AM,7\n%s,12:30:00 PM,-3\n",
             HEAD8530, cases[k].fmt, cases[k].d1, cases[k].d2, cases[k].d2);
    dl_samples s;
    dl_rejects r;
    dl_err e;
    const char *p = write_text("fmt.csv", text);
    assert_int_equal(read_dt(p, NULL, &s, &r, &e), DL_OK);
    assert_int_equal(s.n, 3);
    /* 2019-09-25T23:59:59Z, then 2019-10-01T00:00:00Z and 12:30 */
    assert_true(s.t[0] == 1569455999.0);
    assert_true(s.t[1] == 1569888000.0);
    assert_true(s.t[2] == 1569888000.0 + 45000.0);
    assert_true(s.value[0] == 12.5 && s.value[1] == 7.0 && s.value[2] == -3.0);
    dl_samples_free(&s);
  }
}

static void dusttrak_survives_crlf_bom_junk_and_truncation(void **state) {
  (void)state;
  /* holds a NUL (line 20): written by length */
  static const char text[] =
                   "\xEF\xBB\xBFTrakPro Version 4.70 ASCII Data File\r\n\r\nModel:,DustTrak II\r\n"
                   "Date,Time,AEROSOL\r\nMM/dd/yyyy,hh:mm:ss,mg/m^3\r\n"
                   "09/25/2019,09:10:01,0.090\r\n"        /* 6 ok */
                   "09/25/2019,09:10:02,\r\n"             /* 7 missing value: rejected */
                   "09/25/2019,09:10:03,abc\r\n"          /* 8 junk value */
                   "09/25/2019,09:10:03,0.1x\r\n"         /* 9 junk value */
                   "09/25/2019,09:10:04,0.093\n"          /* 10 ok (LF only) */
                   "09/25/2019,09:10:04,0.094\n"          /* 11 duplicate time */
                   "09/25/2019,09:10:02,0.094\n"          /* 12 backwards */
                   "13/25/2019,09:10:05,0.094\n"          /* 13 month 13 */
                   "09/25/2019,25:10:05,0.094\n"          /* 14 hour 25 */
                   "09/25/2019,09:10:0,0.094\n"           /* 15 cut seconds */
                   "09/25/2019\n"                         /* 16 cut line */
                   "\n"                                   /* 17 blank */
                   "09/25/2019,09:10:06,0.095,0.1\n"      /* 18 extra column */
                   "09/25/2019,09:10:07,0.096,\n"         /* 19 trailing comma: ok */
                   "0\x01\x02\xff\x00zz\n"                /* 20 binary */
                   "09/25/2019,09:10:08,1e-1\n"           /* 21 ok: exponent */
                   "09/25/2019,09:10:09,0.09";            /* 22 unterminated: cut short */
  const char *p = write_tmp("junk.csv", text, sizeof text - 1);
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(p, NULL, &s, &r, &e), DL_OK);
  assert_int_equal(r.lines, 22);
  assert_int_equal(r.accepted, 4);
  assert_int_equal(s.n, 4);
  assert_true(s.value[0] == 90.0 && s.value[1] == 93.0 && s.value[2] == 96.0 &&
              s.value[3] == 100.0);
  assert_int_equal(s.line[2], 19);
  assert_int_equal(r.count[DL_REJ_HEADER], 5 + 1);
  assert_int_equal(r.count[DL_REJ_MISSING], 1);
  assert_int_equal(r.first_line[DL_REJ_MISSING][0], 7);
  assert_int_equal(r.count[DL_REJ_DUPLICATE], 1);
  assert_int_equal(r.count[DL_REJ_BACKWARDS], 1);
  assert_int_equal(r.count[DL_REJ_BINARY], 1);
  assert_int_equal(r.first_line[DL_REJ_BINARY][0], 20);
  /* 8, 9, 13, 14, 15, 16, 18, 22 */
  assert_int_equal(r.count[DL_REJ_SYNTAX], 8);
  assert_int_equal(r.first_line[DL_REJ_SYNTAX][4], 15);
  assert_lines_balance(&r);
  dl_samples_free(&s);
}

static void dusttrak_refuses_broken_headers(void **state) {
  (void)state;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_dt(write_text("empty.csv", ""), NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "no 'Date,Time,<channels>' column header"));
  /* a file cut in the middle of its header */
  assert_int_equal(read_dt(write_text("cut.csv", "TrakPro Version 4.70 ASCII Data File\n"
                                                 "Model:,DustTr"),
                           NULL, &s, &r, &e),
                   DL_EFORMAT);
  char text[1024];
  snprintf(text, sizeof text, "%s", HEAD8530);
  assert_int_equal(read_dt(write_text("nofmt.csv", text), NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "ends before the date/time format line"));
  snprintf(text, sizeof text, "%s09/25/2019,09:10:01,0.090\n", HEAD8530);
  assert_int_equal(read_dt(write_text("nofmt2.csv", text), NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "nofmt2.csv:9: expected the date/time format and units line"));
  snprintf(text, sizeof text, "%sMM/dd/yyyy,hh:mm:ss,ppm\n", HEAD8530);
  assert_int_equal(read_dt(write_text("ppm.csv", text), NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "ppm.csv:9: channel AEROSOL: unit 'ppm': expected mg/m^3"));
  snprintf(text, sizeof text, "%sMM/dd/yyyy,hh:mm:ss\n", HEAD8530);
  assert_int_equal(read_dt(write_text("nounit.csv", text), NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "format line has 0 units for 1 channels"));
  assert_int_equal(read_dt("/nonexistent/x.csv", NULL, &s, &r, &e), DL_ENOINPUT);
  dl_samples_free(&s);
}

/* Fixed-seed byte mutations of the real export: never a crash, and every
 * line accounted for. */
static void dusttrak_and_csv_survive_mutations(void **state) {
  (void)state;
  FILE *f = fopen(dl_fixture(DT8530), "rb");
  assert_non_null(f);
  static char orig[400000], buf[400000];
  size_t n = fread(orig, 1, sizeof orig, f);
  fclose(f);
  assert_true(n > 300000);
  n = 40000; /* the header and about 1,400 rows are enough */
  uint64_t x = 42;
  for (int round = 0; round < 40; round++) {
    memcpy(buf, orig, n);
    for (int k = 0; k < 60; k++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      size_t pos = (size_t)((x >> 33) % n);
      static const char junk[] = {',', '\n', '\r', '\0', ':', '/', '-', '9', 'x', '\xff', '.', ' '};
      buf[pos] = junk[(x >> 20) % sizeof junk];
    }
    size_t len = n - (size_t)((x >> 40) % 100); /* and a cut end */
    const char *p = write_tmp("mut.csv", buf, len);
    dl_samples s;
    dl_rejects r;
    dl_err e;
    int rc = read_dt(p, NULL, &s, &r, &e);
    if (rc == DL_OK) {
      assert_lines_balance(&r);
      for (size_t i = 1; i < s.n; i++) assert_true(s.t[i] > s.t[i - 1]);
    }
    dl_samples_free(&s);
    dl_samples_init(&s);
    memset(&r, 0, sizeof r);
    rc = dl_read_inst_csv(p, NULL, &s, &r, &e);
    if (rc == DL_OK) assert_lines_balance(&r);
    dl_samples_free(&s);
  }
}

static int read_csv(const char *text, const dl_inst_opts *o, dl_samples *s, dl_rejects *r,
                    dl_err *e) {
  dl_samples_init(s);
  memset(r, 0, sizeof *r);
  dl_err_clear(e);
  return dl_read_inst_csv(write_text("inst.csv", text), o, s, r, e);
}

static void inst_csv_wide_units_and_zones(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  o.have_tz = 1;
  o.tz_offset_s = 8 * 3600;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_csv("# made by hand\n"
                            "timestamp,pm10_mgm3,PM2.5 [ug/m3],lat,tsp\n"
                            "2024-05-14T09:30:00,0.120,45,39.9,300\n"  /* local +08:00 */
                            "2024-05-14T01:30:01Z,0.121,,39.9,301\n"   /* zoned: UTC */
                            "2024-05-14 09:30:02.5+08:00,1.5e-1,47,x,NaN\n"
                            "2024-05-14T09:30:03,oops,47,39.9,1\n"
                            "2024-05-14T09:30:04,,,,\n"
                            "1715650205,0.2,48,,2\n", /* Unix seconds */
                            &o, &s, &r, &e),
                   DL_OK);
  assert_int_equal(s.nchan, 3);
  assert_string_equal(s.chan_name[0], "pm10");
  assert_string_equal(s.chan_name[1], "PM2.5");
  assert_string_equal(s.chan_name[2], "tsp"); /* no unit: µg/m³ */
  assert_int_equal(s.n, 4 * 3);
  assert_true(s.t[0] == 1715650200.0); /* 2024-05-14T01:30:00Z */
  assert_true(s.value[0] == 120.0 && s.value[1] == 45.0 && s.value[2] == 300.0);
  assert_true(s.t[3] == 1715650201.0 && isnan(s.value[4]));
  assert_true(s.t[6] == 1715650202.5 && s.value[6] == 150.0 && isnan(s.value[8]));
  assert_true(s.t[9] == 1715650205.0 && s.value[9] == 200.0);
  assert_int_equal(s.line[9], 8);
  assert_int_equal(r.count[DL_REJ_SYNTAX], 1);
  assert_int_equal(r.first_line[DL_REJ_SYNTAX][0], 6);
  assert_int_equal(r.count[DL_REJ_MISSING], 1);
  assert_lines_balance(&r);
  dl_samples_free(&s);
}

static void inst_csv_date_time_columns_and_utc_name(void **state) {
  (void)state;
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  o.have_tz = 1;
  o.tz_offset_s = 19800;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_csv("Date,Time,PM10 (mg/m^3)\r\n2019-09-25,09:10:01,0.090\r\n"
                            "2019-09-25,09:10:02 AM,0.091\r\n",
                            &o, &s, &r, &e),
                   DL_OK);
  assert_int_equal(s.n, 2);
  assert_true(s.t[0] == 1569382801.0 && s.value[0] == 90.0 && s.t[1] == 1569382802.0);
  dl_samples_free(&s);
  /* a time_utc column is UTC even without a zone and with a --tz */
  assert_int_equal(read_csv("time_utc;pm10\n2019-09-25 03:40:01;90\n", &o, &s, &r, &e), DL_OK);
  assert_true(s.t[0] == 1569382801.0 && s.value[0] == 90.0);
  dl_samples_free(&s);
}

static void inst_csv_reads_inspect_samples_long_form(void **state) {
  (void)state;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  const char *text =
      "time_utc,channel,value_ugm3,line\n"
      "2019-08-30T08:15:35.000Z,PM1,35.000,30\n"
      "2019-08-30T08:15:35.000Z,PM10,75.000,30\n"
      "2019-08-30T08:16:35.000Z,PM1,30.000,31\n"
      "2019-08-30T08:16:35.000Z,PM10,,31\n"
      "2019-08-30T08:16:35.000Z,PM1,31.000,31\n";
  assert_int_equal(read_csv(text, NULL, &s, &r, &e), DL_OK);
  assert_int_equal(s.nchan, 2);
  assert_string_equal(s.chan_name[1], "PM10");
  assert_int_equal(s.n, 3);
  assert_true(s.t[2] == 1567152995.0 && s.channel[2] == 0 && s.value[2] == 30.0);
  assert_int_equal(r.count[DL_REJ_MISSING], 1);
  assert_int_equal(r.count[DL_REJ_DUPLICATE], 1);
  dl_samples_free(&s);
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  o.channel = "PM10";
  assert_int_equal(read_csv(text, &o, &s, &r, &e), DL_OK);
  assert_int_equal(s.n, 1);
  assert_true(s.value[0] == 75.0);
  dl_samples_free(&s);
  o.channel = "TOTAL";
  assert_int_equal(read_csv(text, &o, &s, &r, &e), DL_ECONFIG);
  dl_samples_free(&s);
}

static void inst_csv_header_errors_are_precise(void **state) {
  (void)state;
  dl_samples s;
  dl_rejects r;
  dl_err e;
  assert_int_equal(read_csv("when,pm10\n1,2\n", NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "inst.csv:1: no time column"));
  assert_int_equal(read_csv("time,lat,lon\n", NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "inst.csv:1: no value column"));
  assert_int_equal(read_csv("#c\ntime,pm10 [ppm]\n", NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "inst.csv:2: column 'pm10 [ppm]': unit 'ppm'"));
  assert_int_equal(read_csv("", NULL, &s, &r, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "no column header"));
  dl_samples_free(&s);
}

static void instrument_dispatch_detects_formats(void **state) {
  (void)state;
  dl_err e;
  assert_int_equal(dl_format_detect(dl_fixture(DT8530), &e), DL_FMT_DUSTTRAK);
  assert_int_equal(dl_format_detect(dl_fixture(DRX8533), &e), DL_FMT_DUSTTRAK);
  dl_samples s;
  dl_rejects r;
  dl_samples_init(&s);
  memset(&r, 0, sizeof r);
  assert_int_equal(dl_read_instrument(dl_fixture(DRX8533), DL_FMT_UNKNOWN, NULL, &s, &r, &e),
                   DL_OK);
  assert_int_equal(s.n, 27355);
  dl_samples_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dusttrak_8530_real_export_local_to_utc),
      cmocka_unit_test(dusttrak_without_zone_reads_utc_and_adds_clock_offset),
      cmocka_unit_test(dusttrak_drx_five_channels_dd_mm_yyyy),
      cmocka_unit_test(dusttrak_channel_option_keeps_one),
      cmocka_unit_test(dusttrak_obeys_declared_formats),
      cmocka_unit_test(dusttrak_survives_crlf_bom_junk_and_truncation),
      cmocka_unit_test(dusttrak_refuses_broken_headers),
      cmocka_unit_test(dusttrak_and_csv_survive_mutations),
      cmocka_unit_test(inst_csv_wide_units_and_zones),
      cmocka_unit_test(inst_csv_date_time_columns_and_utc_name),
      cmocka_unit_test(inst_csv_reads_inspect_samples_long_form),
      cmocka_unit_test(inst_csv_header_errors_are_precise),
      cmocka_unit_test(instrument_dispatch_detects_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
