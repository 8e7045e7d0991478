/* test_base.c: status table, civil time, time formatting, parameters. */
#include <math.h>
#include <string.h>

#include "dl_base.h"
#include "dl_io.h"
#include "dl_params.h"
#include "dl_test.h"

static void status_maps_to_sysexits(void **state) {
  (void)state;
  assert_int_equal(dl_status_exit(DL_OK), 0);
  assert_int_equal(dl_status_exit(DL_EFORMAT), 65);
  assert_int_equal(dl_status_exit(DL_ENOINPUT), 66);
  assert_int_equal(dl_status_exit(DL_ECONFIG), 78);
  assert_string_equal(dl_strerror(DL_EEXIST), "output exists");
}

static void civil_days_round_trip(void **state) {
  (void)state;
  assert_int_equal(dl_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(dl_days_from_civil(2000, 3, 1), 11017);
  for (int64_t z = -800000; z < 800000; z += 97) {
    int64_t y;
    unsigned m, d;
    dl_civil_from_days(z, &y, &m, &d);
    assert_int_equal(dl_days_from_civil(y, m, d), z);
  }
}

static void time_iso_has_milliseconds(void **state) {
  (void)state;
  char b[40];
  /* 2019-04-12T00:39:56Z = 1555029596 */
  assert_string_equal(dl_time_iso(1555029596.0, b, sizeof b), "2019-04-12T00:39:56.000Z");
  assert_string_equal(dl_time_iso(1584538100.6, b, sizeof b), "2020-03-18T13:28:20.600Z");
  assert_string_equal(dl_time_iso(-0.5, b, sizeof b), "1969-12-31T23:59:59.500Z");
  assert_string_equal(dl_time_iso(NAN, b, sizeof b), "");
}

static void tz_parses_offsets(void **state) {
  (void)state;
  double o;
  assert_int_equal(dl_parse_tz("+08:00", &o), 0);
  assert_true(o == 28800);
  assert_int_equal(dl_parse_tz("+0530", &o), 0);
  assert_true(o == 19800);
  assert_int_equal(dl_parse_tz("UTC-03:30", &o), 0);
  assert_true(o == -12600);
  assert_int_equal(dl_parse_tz("UTC", &o), 0);
  assert_true(o == 0);
  assert_int_not_equal(dl_parse_tz("8", &o), 0);
  assert_int_not_equal(dl_parse_tz("+25:00", &o), 0);
}

static void params_table_drives_defaults_and_bounds(void **state) {
  (void)state;
  dl_params p;
  dl_err e;
  dl_params_default(&p);
  assert_true(p.v_ref_kmh == 30 && p.speed_exponent == 3 && p.max_gap_s == 5);
  assert_true(fabs(p.calib_beta - 1.0 / (3 * 0.91)) < 1e-12);
  assert_int_equal(dl_param_assign(&p, "v_ref_kmh=40", "--set", &e), 0);
  assert_true(p.v_ref_kmh == 40);
  assert_int_equal(dl_param_assign(&p, "v_ref_kmh=abc", "--set", &e), DL_ECONFIG);
  assert_non_null(strstr(e.msg, "expected a number"));
  assert_int_equal(dl_param_assign(&p, "hdop_max=-1", "x.ini:3", &e), DL_ECONFIG);
  assert_non_null(strstr(e.msg, "x.ini:3"));
  assert_int_equal(dl_param_assign(&p, "nope=1", "--set", &e), DL_ECONFIG);
  assert_int_equal(dl_param_assign(&p, "lowpass=yes", "--set", &e), 0);
  assert_int_equal(p.lowpass, 1);
  char buf[4096];
  size_t n = dl_params_dump(&p, buf, sizeof buf);
  assert_true(n < sizeof buf);
  assert_non_null(strstr(buf, "v_ref_kmh = 40\n"));
  assert_non_null(strstr(buf, "lowpass = true\n"));
}

static void rejects_keep_first_lines(void **state) {
  (void)state;
  dl_rejects r;
  memset(&r, 0, sizeof r);
  for (int i = 1; i <= 7; i++) dl_reject(&r, DL_REJ_CHECKSUM, (uint64_t)i * 10);
  assert_int_equal(r.count[DL_REJ_CHECKSUM], 7);
  assert_int_equal(r.first_line[DL_REJ_CHECKSUM][0], 10);
  assert_int_equal(r.first_line[DL_REJ_CHECKSUM][4], 50);
  assert_int_equal(dl_rejects_total(&r), 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(status_maps_to_sysexits),
      cmocka_unit_test(civil_days_round_trip),
      cmocka_unit_test(time_iso_has_milliseconds),
      cmocka_unit_test(tz_parses_offsets),
      cmocka_unit_test(params_table_drives_defaults_and_bounds),
      cmocka_unit_test(rejects_keep_first_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
