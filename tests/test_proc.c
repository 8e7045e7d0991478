/* test_proc.c: the numeric kernels of a run, on hand-built series with known answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_movstat.h>

#include "dl_proc.h"
#include "dl_test.h"

/* cmocka 1.1 has no assert_double_equal: |a - b| <= tol, printed when not. */
#define assert_near(a, b, tol) near_impl((a), (b), (tol), #a, __FILE__, __LINE__)
static void near_impl(double a, double b, double tol, const char *what, const char *file,
                      int line) {
  if (fabs(a - b) <= tol) return;
  print_error("%s = %.17g, want %.17g within %g\n", what, a, b, tol);
  _fail(file, line);
}

/* Fixed-seed generator: the same series on every machine. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double nrand(void) {
  double u = urand() + 1e-300, v = urand();
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

#define NX 3600
/* x(t) = y(t - shift) * gain + noise, y = v^3 of a wandering speed, with holes. */
static void shifted_pair(long shift, double *x, double *y) {
  static double v[NX];
  double s = 9;
  for (int i = 0; i < NX; i++) {
    s += 0.4 * nrand();
    if (s < 3) s = 3;
    if (s > 18) s = 18;
    v[i] = s;
  }
  dl_speed_cube(v, NX, y);
  for (long i = 0; i < NX; i++) {
    long j = i - shift;
    x[i] = (j >= 0 && j < NX) ? 0.3 * y[j] + 60 * nrand() : NAN;
  }
  for (int i = 500; i < 540; i++) x[i] = NAN; /* instrument dropout */
  for (int i = 2000; i < 2010; i++) y[i] = NAN; /* GPS dropout */
}

static void xcorr_recovers_known_shifts(void **state) {
  (void)state;
  static double x[NX], y[NX];
  dl_err e;
  dl_xcorr *w = dl_xcorr_create(NX, 120, 2, &e);
  assert_non_null(w);
  long shifts[] = {7, -3, 0, 45};
  for (int k = 0; k < 4; k++) {
    shifted_pair(shifts[k], x, y);
    dl_lag lag;
    assert_int_equal(dl_xcorr_lag(w, k % 2, x, y, NX, 1.0, 10, 0.2, &lag, &e), DL_OK);
    long want = shifts[k] > 10 ? 10 : shifts[k]; /* 45 s is outside ±10 s */
    if (shifts[k] <= 10) {
      assert_int_equal(lag.lag, want);
      assert_true(lag.lag_s == (double)want);
      assert_true(lag.peak > 0.8);
      assert_int_equal(lag.weak, 0);
    } else {
      assert_true(lag.peak < 0.8);
    }
    /* a wider search finds the 45 s one */
    assert_int_equal(dl_xcorr_lag(w, 0, x, y, NX, 1.0, 120, 0.2, &lag, &e), DL_OK);
    assert_int_equal(lag.lag, shifts[k]);
  }
  /* at 2 Hz the same 7-sample shift is 3.5 s */
  shifted_pair(7, x, y);
  dl_lag lag;
  assert_int_equal(dl_xcorr_lag(w, 1, x, y, NX, 2.0, 10, 0.2, &lag, &e), DL_OK);
  assert_int_equal(lag.lag, 7);
  assert_true(lag.lag_s == 3.5);
  dl_xcorr_free(w);
}

static void xcorr_slots_run_in_parallel_with_serial_results(void **state) {
  (void)state;
  static double x[4][NX], y[4][NX];
  long shifts[] = {7, -3, 2, -9};
  for (int k = 0; k < 4; k++) shifted_pair(shifts[k], x[k], y[k]);
  dl_err e;
  dl_xcorr *w = dl_xcorr_create(NX, 10, 4, &e);
  dl_lag ser[4], par[4];
  for (int k = 0; k < 4; k++)
    assert_int_equal(dl_xcorr_lag(w, 0, x[k], y[k], NX, 1.0, 10, 0.2, &ser[k], NULL), DL_OK);
  int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
  for (int k = 0; k < 4; k++)
    bad += dl_xcorr_lag(w, k, x[k], y[k], NX, 1.0, 10, 0.2, &par[k], NULL) != DL_OK;
  assert_int_equal(bad, 0);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(par[k].lag, shifts[k]);
    assert_true(par[k].peak == ser[k].peak); /* same bits on every thread */
  }
  dl_xcorr_free(w);
}

static void xcorr_flags_weak_peak_on_noise(void **state) {
  (void)state;
  static double x[NX], y[NX];
  for (int i = 0; i < NX; i++) x[i] = nrand(), y[i] = nrand();
  dl_err e;
  dl_xcorr *w = dl_xcorr_create(NX, 10, 1, &e);
  dl_lag lag;
  assert_int_equal(dl_xcorr_lag(w, 0, x, y, NX, 1.0, 10, 0.2, &lag, &e), DL_OK);
  assert_int_equal(lag.weak, 1);
  assert_true(fabs(lag.peak) < 0.2);
  /* nothing valid: no data, weak */
  for (int i = 0; i < NX; i++) x[i] = NAN;
  assert_int_equal(dl_xcorr_lag(w, 0, x, y, NX, 1.0, 10, 0.2, &lag, &e), DL_ENODATA);
  assert_int_equal(lag.weak, 1);
  /* bad slot and oversize series are usage errors */
  assert_int_equal(dl_xcorr_lag(w, 1, x, y, NX, 1.0, 10, 0.2, &lag, &e), DL_EUSAGE);
  assert_int_equal(dl_xcorr_lag(w, 0, x, y, NX + 1, 1.0, 10, 0.2, &lag, &e), DL_EUSAGE);
  dl_xcorr_free(w);
  dl_xcorr_free(NULL);
}

static void window_samples_is_odd(void **state) {
  (void)state;
  assert_int_equal(dl_window_samples(7, 1), 7);
  assert_int_equal(dl_window_samples(60, 1), 61);
  assert_int_equal(dl_window_samples(7, 2), 15);
  assert_int_equal(dl_window_samples(0, 1), 1);
}

static void grid_interpolates_and_respects_gaps(void **state) {
  (void)state;
  double t[] = {100, 101.5, 103, 104, 110, 111};
  double v[] = {0, 3, 6, NAN, 20, 22};
  double out[13];
  dl_err e;
  assert_int_equal(dl_grid_count(100, 111, 1), 12);
  assert_int_equal(dl_grid_resample(t, v, 6, 100, 1, 13, DL_INTERP_LINEAR, 0, 5, out, &e),
                   DL_OK);
  double want[] = {0, 2, 4, 6, NAN, NAN, NAN, NAN, NAN, NAN, 20, 22, NAN};
  for (int k = 0; k < 13; k++) {
    if (isnan(want[k]))
      assert_true(isnan(out[k]));
    else
      assert_near(out[k], want[k], 1e-12);
  }
  /* with max_gap 7 the 103 -> 110 gap (the NAN at 104 skipped) is bridged */
  assert_int_equal(dl_grid_resample(t, v, 6, 100, 1, 13, DL_INTERP_LINEAR, 0, 7, out, &e),
                   DL_OK);
  assert_near(out[5], 6 + 14.0 * 2 / 7, 1e-12);
  /* a grid starting between samples */
  assert_int_equal(dl_grid_resample(t, v, 6, 100.5, 2, 4, DL_INTERP_LINEAR, 0, 5, out, &e),
                   DL_OK);
  assert_near(out[0], 1, 1e-12);
  assert_near(out[1], 2, 1e-12);
  assert_near(out[2], 3, 1e-12);
  assert_near(out[3], 4, 1e-12);
  double tb[] = {0, 2, 1};
  assert_int_equal(dl_grid_resample(tb, v, 3, 0, 1, 3, DL_INTERP_LINEAR, 0, 5, out, &e),
                   DL_EFORMAT);
}

static void grid_unwraps_course(void **state) {
  (void)state;
  double t[] = {0, 1, 2}, c[] = {350, 10, 30}, out[5];
  dl_err e;
  assert_int_equal(dl_grid_resample(t, c, 3, 0, 2, 5, DL_INTERP_LINEAR, 1, 5, out, &e), DL_OK);
  double want[] = {350, 0, 10, 20, 30};
  for (int k = 0; k < 5; k++) assert_near(out[k], want[k], 1e-9);
  double c2[] = {10, 350, 330};
  assert_int_equal(dl_grid_resample(t, c2, 3, 0, 2, 5, DL_INTERP_LINEAR, 1, 5, out, &e), DL_OK);
  double want2[] = {10, 0, 350, 340, 330};
  for (int k = 0; k < 5; k++) assert_near(out[k], want2[k], 1e-9);
}

static void grid_steffen_does_not_overshoot(void **state) {
  (void)state;
  double t[] = {0, 1, 2, 3, 4}, v[] = {0, 1, 1, 2, 2.5}, out[17];
  dl_err e;
  assert_int_equal(dl_grid_resample(t, v, 5, 0, 4, 17, DL_INTERP_STEFFEN, 0, 5, out, &e), DL_OK);
  for (int k = 4; k <= 8; k++) assert_true(out[k] == 1.0); /* flat between equal knots */
  for (int k = 1; k < 17; k++) assert_true(out[k] >= out[k - 1]); /* monotone */
  assert_true(out[16] == 2.5);
}

static void despike_replaces_spike_with_window_median(void **state) {
  (void)state;
  double x[50];
  for (int i = 0; i < 50; i++) x[i] = 100 + i % 5;
  x[20] = 1000;
  x[30] = NAN;
  x[48] = 5000; /* alone with 49 in a 2-sample run after the NAN at 47 */
  x[47] = NAN;
  uint8_t out[50];
  size_t nrep = 99;
  dl_err e;
  dl_despike *w = dl_despike_create(50, 7, &e);
  assert_non_null(w);
  assert_int_equal(dl_despike_run(w, x, 50, 4, out, &nrep, &e), DL_OK);
  assert_int_equal(nrep, 1);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(out[i], i == 20);
    if (i == 20)
      assert_true(x[i] == 103); /* median of 102,103,104,1000,101,102,103 */
    else if (i == 30 || i == 47)
      assert_true(isnan(x[i]));
    else if (i == 48)
      assert_true(x[i] == 5000);
    else
      assert_true(x[i] == 100 + i % 5);
  }
  assert_int_equal(dl_despike_run(w, x, 51, 4, out, &nrep, &e), DL_EUSAGE);
  dl_despike_free(w);
  assert_null(dl_despike_create(10, 6, &e));
  assert_int_equal(e.code, DL_EUSAGE);
}

static void lowpass_keeps_slow_drops_fast(void **state) {
  (void)state;
  enum { N = 1000 };
  static double x[N], y[N];
  for (int i = 0; i < N; i++)
    x[i] = 5 + cos(2 * M_PI * 0.01 * i) + 0.5 * cos(2 * M_PI * 0.4 * i);
  x[600] = NAN;
  dl_err e;
  dl_lowpass *w = dl_lowpass_create(N, &e);
  assert_non_null(w);
  assert_int_equal(dl_lowpass_run(w, x, y, N, 1.0, 0.2, &e), DL_OK);
  /* gain at 0.4 Hz is 1/sqrt(1 + 2^8) = 0.0624: residue 0.031 of 0.5;
   * the bridged NAN blurs its neighbourhood, so that is left out */
  assert_true(isnan(y[600]));
  for (int i = 50; i < N - 50; i++) {
    if (i > 590 && i < 610) continue;
    assert_near(y[i], 5 + cos(2 * M_PI * 0.01 * i), 0.04);
  }
  /* a constant passes unchanged (in place) */
  for (int i = 0; i < N; i++) x[i] = 42;
  assert_int_equal(dl_lowpass_run(w, x, x, N, 1.0, 0.2, &e), DL_OK);
  for (int i = 0; i < N; i++) assert_near(x[i], 42, 1e-9);
  assert_int_equal(dl_lowpass_run(w, x, y, N - 1, 1.0, 0.2, &e), DL_EUSAGE);
  dl_lowpass_free(w);
}

static void excess_and_tref(void **state) {
  (void)state;
  double l[] = {500, 500, NAN, NAN, 40};
  double r[] = {520, NAN, 300, NAN, 45};
  double bg[] = {50, 50, 60, 50, 50};
  double v[] = {30 / 3.6, 15 / 3.6, 60 / 3.6, 10, 0};
  const double *ty[] = {l, r};
  double dc[5], tr[5];
  dl_excess(ty, 2, bg, 5, dc);
  assert_true(dc[0] == 460);
  assert_true(dc[1] == 450);
  assert_true(dc[2] == 240);
  assert_true(isnan(dc[3]));
  assert_true(dc[4] == -7.5); /* small negatives kept */
  dl_tref(dc, v, 5, 30 / 3.6, 3, tr);
  assert_near(tr[0], 460, 1e-9);
  assert_near(tr[1], 450 * 8, 1e-9);
  assert_near(tr[2], 240 / 8.0, 1e-9);
  assert_true(isnan(tr[3]));
  assert_true(isnan(tr[4])); /* v = 0 */
  dl_excess(ty, 0, bg, 5, dc);
  assert_true(isnan(dc[0]));
}

static void flags_name_and_format(void **state) {
  (void)state;
  assert_string_equal(dl_flag_name(0), "SPEED_LOW");
  assert_string_equal(dl_flag_name(12), "NO_GPS");
  assert_null(dl_flag_name(13));
  assert_int_equal(DL_FLAG_TAGGED, 1u << 9);
  char b[64];
  assert_int_equal(dl_flags_format(DL_FLAG_TURN | DL_FLAG_GPS, b, sizeof b), 8);
  assert_string_equal(b, "TURN|GPS");
  dl_flags_format(0, b, sizeof b);
  assert_string_equal(b, "");
  assert_int_equal(dl_flags_format(DL_FLAG_SPEED_LOW | DL_FLAG_ACCEL, b, 5), 15);
  assert_string_equal(b, "");
}

#define NF 40
static void flags_each_rule_fires_where_expected(void **state) {
  (void)state;
  double t[NF], lat[NF], lon[NF], v[NF], crs[NF], hd[NF], l[NF], r[NF], bg[NF], dc[NF],
      md[NF];
  uint8_t fix[NF], ie[NF];
  int32_t seg[NF];
  const double dlon = 10 / (6371008.8 * M_PI / 180 * cos(39.9 * M_PI / 180));
  for (int i = 0; i < NF; i++) {
    t[i] = 1000 + i;
    lat[i] = 39.9;
    lon[i] = 116.4 + i * dlon;
    v[i] = 10;
    crs[i] = 90;
    hd[i] = 1;
    fix[i] = 1;
    l[i] = 500;
    r[i] = 520;
    bg[i] = 50 + i % 3;
    ie[i] = 0;
    seg[i] = 0;
    md[i] = 5;
  }
  uint32_t want[NF] = {0};
  v[2] = 9.5, want[2] = DL_FLAG_SPEED_LOW;
  v[4] = 10.5, want[4] = DL_FLAG_SPEED_HIGH;
  v[7] = 12.5, want[7] = DL_FLAG_SPEED_HIGH, want[6] = want[8] = DL_FLAG_ACCEL;
  crs[11] = 130, want[10] = want[12] = DL_FLAG_TURN;
  hd[17] = 6, want[17] = DL_FLAG_GPS;
  fix[18] = 0, want[18] = DL_FLAG_GPS;
  lon[20] += 10 * dlon, want[20] = want[21] = DL_FLAG_GPS; /* 110 m then 90 m in 1 s */
  bg[23] = 80, want[23] = DL_FLAG_BG_SPIKE;
  l[25] = r[25] = 10, want[25] = DL_FLAG_NEGATIVE;
  r[27] = NAN, want[27] = DL_FLAG_INSTRUMENT;
  l[28] = 150000, want[28] = DL_FLAG_INSTRUMENT;
  ie[29] = 1, want[29] = DL_FLAG_INSTRUMENT;
  seg[31] = -1, want[31] = DL_FLAG_UNMATCHED;
  md[32] = 31, want[32] = DL_FLAG_UNMATCHED;
  md[33] = NAN, want[33] = DL_FLAG_UNMATCHED;
  want[35] = want[36] = DL_FLAG_TAGGED;
  lat[38] = NAN, want[38] = DL_FLAG_NO_GPS;
  v[39] = NAN, want[39] = DL_FLAG_NO_GPS;
  const double *ty[] = {l, r};
  dl_excess(ty, 2, bg, NF, dc);
  double tb[] = {1035.0}, te[] = {1036.5};
  dl_qc_params p = {.speed_min_kmh = 35, .speed_max_kmh = 37, .accel_max_ms2 = 1,
                    .turn_max_degs = 15, .hdop_max = 5, .jump_max_kmh = 150,
                    .bg_window_s = 11, .bg_nsigma = 5, .negative_min_ugm3 = -20,
                    .instrument_max_ugm3 = 150000, .match_max_m = 30};
  dl_qc_input in = {.n = NF, .t = t, .lat = lat, .lon = lon, .speed = v, .course = crs,
                    .hdop = hd, .fix_ok = fix, .tyre = ty, .ntyre = 2, .bg = bg, .dc = dc,
                    .inst_err = ie, .segment = seg, .match_dist = md, .tag_begin = tb,
                    .tag_end = te, .ntags = 1};
  dl_err e;
  dl_qc *w = dl_qc_create(NF, 1.0, &p, &e);
  assert_non_null(w);
  uint32_t f[NF];
  double med[NF], sig[NF];
  assert_int_equal(dl_qc_flags(w, &in, f, med, sig, &e), DL_OK);
  for (int i = 0; i < NF; i++) {
    if (f[i] != want[i]) print_message("sample %d: flags %#x, want %#x\n", i, f[i], want[i]);
    assert_int_equal(f[i], want[i]);
  }
  assert_true(med[23] == 51);
  assert_near(sig[23], 1.482602218505602, 1e-12); /* GSL's 1/Phi^-1(3/4) */

  /* no tyre, no background, nothing matched: every sample says so */
  dl_qc_input bare = {.n = NF, .t = t, .lat = lat, .lon = lon, .speed = v};
  assert_int_equal(dl_qc_flags(w, &bare, f, NULL, NULL, &e), DL_OK);
  for (int i = 0; i < NF; i++)
    assert_true((f[i] & (DL_FLAG_NO_TYRE | DL_FLAG_NO_BACKGROUND | DL_FLAG_UNMATCHED)) ==
                (DL_FLAG_NO_TYRE | DL_FLAG_NO_BACKGROUND | DL_FLAG_UNMATCHED));
  /* a bad tag is refused */
  double bb[] = {5}, be[] = {4};
  in.tag_begin = bb, in.tag_end = be;
  assert_int_equal(dl_qc_flags(w, &in, f, NULL, NULL, &e), DL_EUSAGE);
  dl_qc_free(w);
}

static void rolling_mad_equals_gsl(void **state) {
  (void)state;
  enum { N = 5000 };
  static double x[N], m1[N], s1[N], m2[N], s2[N];
  double work[62];
  /* integers with many ties, a flat stretch and a spike: every branch */
  for (int i = 0; i < N; i++) x[i] = floor(50 + 8 * nrand());
  for (int i = 1000; i < 1100; i++) x[i] = 51;
  x[2000] = 3000;
  size_t wins[] = {3, 7, 61};
  for (int k = 0; k < 3; k++) {
    gsl_movstat_workspace *mw = gsl_movstat_alloc(wins[k]);
    gsl_vector_view xv = gsl_vector_view_array(x, N), mv = gsl_vector_view_array(m1, N),
                    sv = gsl_vector_view_array(s1, N);
    assert_int_equal(gsl_movstat_mad(GSL_MOVSTAT_END_TRUNCATE, &xv.vector, &mv.vector,
                                     &sv.vector, mw), 0);
    gsl_movstat_free(mw);
    dl_rolling_mad(x, N, wins[k], work, m2, s2);
    for (int i = 0; i < N; i++) {
      if (m1[i] != m2[i] || s1[i] != s2[i])
        print_message("window %zu, i %d: gsl %g %g, ours %g %g\n", wins[k], i, m1[i], s1[i],
                      m2[i], s2[i]);
      assert_true(m1[i] == m2[i]);
      assert_true(s1[i] == s2[i]);
    }
  }
  /* short runs (shorter than the window) too */
  dl_rolling_mad(x, 2, 61, work, m2, s2);
  assert_true(m2[0] == (x[0] + x[1]) / 2 && m2[1] == m2[0]);
}

static void flags_turn_wraps_through_north(void **state) {
  (void)state;
  double t[] = {0, 1, 2, 3, 4}, c[] = {350, 355, 0, 5, 10}, v[] = {10, 10, 10, 10, 10};
  double lat[] = {40, 40, 40, 40, 40}, lon[] = {116, 116, 116, 116, 116};
  int32_t seg[] = {0, 0, 0, 0, 0};
  dl_qc_params p = {.speed_min_kmh = 15, .speed_max_kmh = 70, .accel_max_ms2 = 1,
                    .turn_max_degs = 15, .hdop_max = 5, .jump_max_kmh = 150,
                    .bg_window_s = 60, .bg_nsigma = 5, .negative_min_ugm3 = -20,
                    .instrument_max_ugm3 = 150000, .match_max_m = 30};
  dl_qc_input in = {.n = 5, .t = t, .lat = lat, .lon = lon, .speed = v, .course = c,
                    .segment = seg};
  dl_err e;
  dl_qc *w = dl_qc_create(5, 1.0, &p, &e);
  uint32_t f[5];
  assert_int_equal(dl_qc_flags(w, &in, f, NULL, NULL, &e), DL_OK);
  for (int i = 0; i < 5; i++)
    assert_int_equal(f[i], DL_FLAG_NO_TYRE | DL_FLAG_NO_BACKGROUND);
  dl_qc_free(w);
}

static void aggregate_segments_roads_townships_district(void **state) {
  (void)state;
  enum { N = 30 };
  int32_t sseg[N];
  uint32_t fl[N];
  double tr[N], sp[N];
  int k = 0;
#define ADD(s, f, t, v) (sseg[k] = (s), fl[k] = (f), tr[k] = (t), sp[k] = (v), k++)
  for (int i = 0; i < 4; i++) ADD(0, 0, 1000, 10);
  ADD(0, DL_FLAG_TURN, 1e6, 10); /* invalid: ignored */
  ADD(-1, 0, 1e6, 10);           /* off-network: ignored */
  for (int i = 0; i < 4; i++) ADD(0, 0, 2000, 30);
  for (int i = 0; i < 10; i++) ADD(1, 0, 800, 25);
  for (int i = 0; i < 2; i++) ADD(2, 0, 500, 20);
  for (int i = 0; i < 3; i++) ADD(3, 0, -50, 20);
  ADD(1, 0, NAN, 25); /* no T_ref: ignored */
  ADD(1, 0, 1e6, 0);  /* standing: zero weight */
  assert_int_equal(k, 27);
  double len[] = {300, 1000, 100, 100};
  int32_t road[] = {0, 0, 1, 1}, town[] = {0, 1, 1, 0};
  dl_agg_input in = {.n = (size_t)k, .segment = sseg, .flags = fl, .t_ref = tr, .speed = sp,
                     .dt_const = 1, .nseg = 4, .seg_length = len, .seg_road = road,
                     .seg_township = town, .nroad = 2, .ntown = 2};
  dl_agg_params p = {.coverage_min_m = 200, .coverage_min_frac = 0.5, .calib_a = 0.04,
                     .calib_beta = 0.5, .district_mode = DL_DISTRICT_SEGMENTS};
  double cov[4], mean[4], load[4], rl[2], rlen[2], rc[2], tl[2], tlen[2], tc[2];
  int32_t nv[4], rn[2], tn[2];
  uint8_t cnt[4];
  dl_agg_output out = {.seg_covered = cov, .seg_nvalid = nv, .seg_tref_mean = mean,
                       .seg_counted = cnt, .seg_load = load, .road_load = rl,
                       .road_length = rlen, .road_covered = rc, .road_nseg = rn,
                       .town_load = tl, .town_length = tlen, .town_covered = tc,
                       .town_nseg = tn};
  dl_err e;
  assert_int_equal(dl_aggregate(&in, &p, &out, &e), DL_OK);
  assert_true(cov[0] == 160 && cov[1] == 250 && cov[2] == 40 && cov[3] == 60);
  assert_int_equal(nv[0], 8);
  assert_int_equal(nv[1], 10);
  assert_true(mean[0] == 1750 && mean[1] == 800 && mean[2] == 500 && mean[3] == -50);
  assert_int_equal(cnt[0], 1); /* 160 >= min(200, 150) */
  assert_int_equal(cnt[1], 1); /* 250 >= 200 */
  assert_int_equal(cnt[2], 0); /* 40 < 50 */
  assert_int_equal(cnt[3], 1); /* 60 >= 50 */
  double l0 = 0.04 * sqrt(1750), l1 = 0.04 * sqrt(800);
  assert_near(load[0], l0, 1e-15);
  assert_near(load[1], l1, 1e-15);
  assert_true(isnan(load[2]));
  assert_true(load[3] == 0); /* negative mean: max(T, 0) */
  assert_near(rl[0], (300 * l0 + 1000 * l1) / 1300, 1e-15);
  assert_true(rl[1] == 0 && rn[1] == 1 && rlen[1] == 100 && rc[1] == 60);
  assert_near(tl[0], 300 * l0 / 400, 1e-15);
  assert_near(tl[1], l1, 1e-15);
  assert_int_equal(tn[1], 1);
  assert_near(out.district_load, (300 * l0 + 1000 * l1) / 1400, 1e-15);
  assert_true(out.district_length == 1400 && out.district_covered == 470);
  assert_int_equal(out.district_nseg, 3);
  p.district_mode = DL_DISTRICT_ROADS;
  assert_int_equal(dl_aggregate(&in, &p, &out, &e), DL_OK);
  assert_near(out.district_load, ((300 * l0 + 1000 * l1) / 1300 + 0) / 2, 1e-15);
  p.district_mode = DL_DISTRICT_TOWNSHIPS;
  assert_int_equal(dl_aggregate(&in, &p, &out, &e), DL_OK);
  assert_near(out.district_load, (300 * l0 / 400 + l1) / 2, 1e-15);
  /* default calibration: T = 1000 gives 0.5 g/m² */
  assert_near(dl_calibrate(1000, 0.04, 1 / (3 * 0.91)), 0.5, 0.003);
  sseg[3] = 4;
  assert_int_equal(dl_aggregate(&in, &p, &out, &e), DL_EFORMAT);
  sseg[3] = 0;
  road[1] = 2;
  assert_int_equal(dl_aggregate(&in, &p, &out, &e), DL_EFORMAT);
}

static void rank_is_competition_on_rounded_values(void **state) {
  (void)state;
  double v[] = {0.39, 0.3649, NAN, 0.32, 0.36};
  int32_t rank[5], order[5];
  dl_err e;
  assert_int_equal(dl_rank(v, 5, rank, order, &e), DL_OK);
  assert_int_equal(rank[3], 1);
  assert_int_equal(rank[1], 2);
  assert_int_equal(rank[4], 2);
  assert_int_equal(rank[0], 4);
  assert_int_equal(rank[2], 0);
  int32_t want[] = {3, 1, 4, 0, 2};
  for (int i = 0; i < 5; i++) assert_int_equal(order[i], want[i]);
  assert_int_equal(dl_round_cents(0.3649), 36);
  assert_int_equal(dl_round_cents(0.835), 84);
  assert_int_equal(dl_rank(v, 0, rank, order, &e), DL_OK);
}

static void grade_thresholds(void **state) {
  (void)state;
  dl_grade_params g = {0.3, 0.6, 1.0};
  assert_int_equal(dl_grade(0.13, &g), DL_GRADE_EXCELLENT);
  assert_int_equal(dl_grade(0.294, &g), DL_GRADE_EXCELLENT);
  assert_int_equal(dl_grade(0.296, &g), DL_GRADE_GOOD); /* shown as 0.30 */
  assert_int_equal(dl_grade(0.3, &g), DL_GRADE_GOOD);
  assert_int_equal(dl_grade(0.6, &g), DL_GRADE_FAIR);
  assert_int_equal(dl_grade(0.999, &g), DL_GRADE_POOR);
  assert_int_equal(dl_grade(1.0, &g), DL_GRADE_POOR);
  assert_int_equal(dl_grade(NAN, &g), DL_GRADE_NONE);
  assert_string_equal(dl_grade_name(DL_GRADE_EXCELLENT), "优");
  assert_string_equal(dl_grade_name(DL_GRADE_POOR), "差");
  assert_string_equal(dl_grade_name(DL_GRADE_NONE), "");
  assert_string_equal(dl_grade_name_en(DL_GRADE_GOOD), "good");
}

static void calib_fit_recovers_a_beta(void **state) {
  (void)state;
  double t[] = {100, 200, 500, 0, 1000, 2000, 5000, NAN, 300};
  double s[9];
  for (int i = 0; i < 9; i++) s[i] = 0.04 * pow(t[i], 0.3663);
  s[8] = -1;
  uint8_t rej[9];
  double res[9];
  dl_calib_fit f;
  dl_err e;
  assert_int_equal(dl_calib_fit_loglog(t, s, 9, rej, res, &f, &e), DL_OK);
  assert_near(f.a, 0.04, 1e-12);
  assert_near(f.beta, 0.3663, 1e-12);
  assert_near(f.r2, 1, 1e-12);
  assert_int_equal(f.n_used, 6);
  assert_int_equal(f.n_rejected, 3);
  assert_int_equal(rej[3], DL_CALIB_REJ_TREF);
  assert_int_equal(rej[7], DL_CALIB_REJ_NONFINITE);
  assert_int_equal(rej[8], DL_CALIB_REJ_SL);
  assert_int_equal(rej[0], DL_CALIB_USED);
  assert_true(isnan(res[3]));
  assert_near(res[0], 0, 1e-12);
  /* known multiplicative error on one point shows in its residual */
  s[1] *= exp(0.1);
  assert_int_equal(dl_calib_fit_loglog(t, s, 9, rej, res, &f, &e), DL_OK);
  assert_true(f.r2 < 1 && f.r2 > 0.9);
  assert_true(res[1] > 0.05);
  double few[] = {100, 100, 100};
  assert_int_equal(dl_calib_fit_loglog(few, few, 3, NULL, NULL, &f, &e), DL_ENODATA);
  assert_string_equal(dl_calib_reject_name(DL_CALIB_REJ_SL), "vacuum dust load not positive");
}

int main(void) {
  dl_kernels_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(xcorr_recovers_known_shifts),
      cmocka_unit_test(xcorr_slots_run_in_parallel_with_serial_results),
      cmocka_unit_test(xcorr_flags_weak_peak_on_noise),
      cmocka_unit_test(window_samples_is_odd),
      cmocka_unit_test(grid_interpolates_and_respects_gaps),
      cmocka_unit_test(grid_unwraps_course),
      cmocka_unit_test(grid_steffen_does_not_overshoot),
      cmocka_unit_test(despike_replaces_spike_with_window_median),
      cmocka_unit_test(lowpass_keeps_slow_drops_fast),
      cmocka_unit_test(excess_and_tref),
      cmocka_unit_test(flags_name_and_format),
      cmocka_unit_test(flags_each_rule_fires_where_expected),
      cmocka_unit_test(flags_turn_wraps_through_north),
      cmocka_unit_test(rolling_mad_equals_gsl),
      cmocka_unit_test(aggregate_segments_roads_townships_district),
      cmocka_unit_test(rank_is_competition_on_rounded_values),
      cmocka_unit_test(grade_thresholds),
      cmocka_unit_test(calib_fit_recovers_a_beta),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
