/* bench_proc.c: per-stage throughput of the run kernels on synthetic 1 Hz series
 * (8 h = 28,800 samples, and 10x that). Fixed seed; prints a result hash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dl_proc.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static double nrand(void) {
  return sqrt(-2 * log(urand() + 1e-300)) * cos(2 * M_PI * urand());
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

#define REPS 5
#define TIME(label, expr)                                                     \
  do {                                                                        \
    double best = 1e300;                                                      \
    for (int r_ = 0; r_ < REPS; r_++) {                                       \
      double t0_ = now_us();                                                  \
      if ((expr) != 0) {                                                      \
        fprintf(stderr, "%s failed: %s\n", label, e.msg);                     \
        exit(1);                                                              \
      }                                                                       \
      double d_ = now_us() - t0_;                                             \
      if (d_ < best) best = d_;                                               \
    }                                                                         \
    printf("  %-10s %10.0f us  %8.2f Msamples/s\n", label, best, n / best);   \
  } while (0)

static int run(size_t n) {
  dl_err e;
  double *tg = malloc(n * sizeof(double)), *tr = malloc(n * sizeof(double));
  double *v = malloc(n * sizeof(double)), *vr = malloc(n * sizeof(double));
  double *crs = malloc(n * sizeof(double)), *crsr = malloc(n * sizeof(double));
  double *lat = malloc(n * sizeof(double)), *lon = malloc(n * sizeof(double));
  double *l = malloc(n * sizeof(double)), *r = malloc(n * sizeof(double));
  double *bg = malloc(n * sizeof(double)), *dc = malloc(n * sizeof(double));
  double *y = malloc(n * sizeof(double)), *tref = malloc(n * sizeof(double));
  double *work = malloc(n * sizeof(double)), *vg = malloc(n * sizeof(double));
  double *hd = malloc(n * sizeof(double)), *md = malloc(n * sizeof(double));
  uint32_t *flags = malloc(n * sizeof(uint32_t));
  int32_t *seg = malloc(n * sizeof(int32_t));
  uint8_t *mask = malloc(n);
  /* a drive: wandering speed, turning course, positions, dust with spikes */
  double s = 10, c = 0, la = 39.9, lo = 116.4;
  for (size_t i = 0; i < n; i++) {
    tg[i] = 1.7e9 + (double)i;
    tr[i] = tg[i] + 0.2 * (urand() - 0.5) + (i % 5000 > 4990 ? 0 : 0);
    s += 0.3 * nrand();
    if (s < 0) s = 0;
    if (s > 22) s = 22;
    c = fmod(c + 2 * nrand() + 360, 360);
    la += s * cos(c * M_PI / 180) / 111195.0;
    lo += s * sin(c * M_PI / 180) / (111195.0 * cos(la * M_PI / 180));
    vr[i] = s;
    crsr[i] = c;
    lat[i] = la;
    lon[i] = lo;
    bg[i] = 80 + 10 * nrand() + (urand() < 0.001 ? 2000 : 0);
    hd[i] = 1 + urand();
    md[i] = 10 * urand();
    seg[i] = (int32_t)(i / 50);
  }
  for (size_t i = 0; i < n; i++) {
    size_t j = i >= 3 ? i - 3 : 0; /* tyre signal lags speed by 3 s */
    double ex = 0.05 * vr[j] * vr[j] * vr[j];
    l[i] = bg[i] + ex + 20 * nrand() + (urand() < 0.0005 ? 5000 : 0);
    r[i] = bg[i] + 1.1 * ex + 20 * nrand();
  }
  uint64_t h = 0xcbf29ce484222325ull;
  printf("n = %zu samples\n", n);

  /* xcorr: planning once, then the correlation */
  double t0 = now_us();
  dl_xcorr *xc = dl_xcorr_create(n, 120, 1, &e);
  printf("  %-10s %10.0f us  (FFTW_ESTIMATE planning, once)\n", "xcorr-plan", now_us() - t0);
  const double *ty[] = {l, r};
  dl_excess(ty, 2, bg, n, dc);
  dl_speed_cube(vr, n, y);
  dl_lag lag;
  TIME("xcorr", dl_xcorr_lag(xc, 0, dc, y, n, 1.0, 120, 0.2, &lag, &e));
  printf("             lag %ld s, peak %.4f\n", lag.lag, lag.peak);
  h = fnv(h, &lag.lag, sizeof lag.lag);
  h = fnv(h, &lag.peak, sizeof lag.peak);

  /* grid: speed (linear) and course (angle) from jittered times */
  size_t ng = dl_grid_count(tg[0], tg[n - 1], 1.0);
  TIME("grid", dl_grid_resample(tr, vr, n, tg[0], 1.0, ng, DL_INTERP_LINEAR, 0, 5, vg, &e));
  h = fnv(h, vg, ng * sizeof(double));
  TIME("grid-crs", dl_grid_resample(tr, crsr, n, tg[0], 1.0, ng, DL_INTERP_LINEAR, 1, 5, crs, &e));
  h = fnv(h, crs, ng * sizeof(double));
  TIME("grid-stef", dl_grid_resample(tr, vr, n, tg[0], 1.0, ng, DL_INTERP_STEFFEN, 0, 5, work, &e));
  h = fnv(h, work, ng * sizeof(double));

  /* despike a tyre channel (copy each repetition: it works in place) */
  dl_despike *ds = dl_despike_create(n, 7, &e);
  size_t nrep = 0;
  TIME("despike", (memcpy(work, l, n * sizeof(double)),
                   dl_despike_run(ds, work, n, 4, mask, &nrep, &e)));
  printf("             %zu replaced\n", nrep);
  h = fnv(h, work, n * sizeof(double));

  dl_lowpass *lp = dl_lowpass_create(n, &e);
  TIME("lowpass", dl_lowpass_run(lp, l, work, n, 1.0, 0.2, &e));
  h = fnv(h, work, n * sizeof(double));

  dl_tref(dc, vr, n, 30 / 3.6, 3, tref);
  dl_qc_params qp = {.speed_min_kmh = 15, .speed_max_kmh = 70, .accel_max_ms2 = 1,
                     .turn_max_degs = 15, .hdop_max = 5, .jump_max_kmh = 150,
                     .bg_window_s = 60, .bg_nsigma = 5, .negative_min_ugm3 = -20,
                     .instrument_max_ugm3 = 150000, .match_max_m = 30};
  dl_qc *qc = dl_qc_create(n, 1.0, &qp, &e);
  dl_qc_input in = {.n = n, .t = tg, .lat = lat, .lon = lon, .speed = vr, .course = crsr,
                    .hdop = hd, .tyre = ty, .ntyre = 2, .bg = bg, .dc = dc, .segment = seg,
                    .match_dist = md};
  TIME("flags", dl_qc_flags(qc, &in, flags, NULL, NULL, &e));
  size_t nvalid = 0;
  for (size_t i = 0; i < n; i++) nvalid += flags[i] == 0;
  printf("             %zu valid (%.1f %%)\n", nvalid, 100.0 * nvalid / n);
  h = fnv(h, flags, n * sizeof(uint32_t));

  size_t nseg = n / 50 + 1, nroad = nseg / 10 + 1, ntown = 20;
  double *len = malloc(nseg * sizeof(double));
  int32_t *road = malloc(nseg * sizeof(int32_t)), *town = malloc(nseg * sizeof(int32_t));
  for (size_t k = 0; k < nseg; k++)
    len[k] = 200 + 800 * urand(), road[k] = (int32_t)(k / 10), town[k] = (int32_t)(k % ntown);
  double *sc = malloc(nseg * sizeof(double)), *sm = malloc(nseg * sizeof(double));
  double *sl = malloc(nseg * sizeof(double));
  int32_t *sn = malloc(nseg * sizeof(int32_t));
  uint8_t *cnt = malloc(nseg);
  double *rl = malloc(nroad * sizeof(double)), *rlen = malloc(nroad * sizeof(double));
  double *rc = malloc(nroad * sizeof(double));
  int32_t *rn = malloc(nroad * sizeof(int32_t));
  double tl[20], tlen[20], tc[20];
  int32_t tn[20];
  dl_agg_input ai = {.n = n, .segment = seg, .flags = flags, .t_ref = tref, .speed = vr,
                     .dt_const = 1, .nseg = nseg, .seg_length = len, .seg_road = road,
                     .seg_township = town, .nroad = nroad, .ntown = ntown};
  dl_agg_params ap = {200, 0.5, 0.04, 0.366300366300366, DL_DISTRICT_SEGMENTS};
  dl_agg_output ao = {.seg_covered = sc, .seg_nvalid = sn, .seg_tref_mean = sm,
                      .seg_counted = cnt, .seg_load = sl, .road_load = rl,
                      .road_length = rlen, .road_covered = rc, .road_nseg = rn,
                      .town_load = tl, .town_length = tlen, .town_covered = tc,
                      .town_nseg = tn};
  TIME("aggregate", dl_aggregate(&ai, &ap, &ao, &e));
  printf("             district %.4f g/m2 over %d segments\n", ao.district_load,
         ao.district_nseg);
  h = fnv(h, sl, nseg * sizeof(double));
  h = fnv(h, &ao.district_load, sizeof(double));
  int32_t *rank = malloc(nroad * sizeof(int32_t));
  TIME("rank", dl_rank(rl, nroad, rank, NULL, &e));
  h = fnv(h, rank, nroad * sizeof(int32_t));

  printf("  result hash %016llx\n", (unsigned long long)h);
  dl_xcorr_free(xc);
  dl_despike_free(ds);
  dl_lowpass_free(lp);
  dl_qc_free(qc);
  void *all[] = {tg, tr, v, vr, crs, crsr, lat, lon, l, r, bg, dc, y, tref, work, vg, hd, md,
                 flags, seg, mask, len, road, town, sc, sm, sl, sn, cnt, rl, rlen, rc, rn,
                 rank};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  return 0;
}

int main(void) {
  dl_kernels_init();
  printf("bench_proc: best of %d, one thread (kernels are serial)\n", REPS);
  run(28800);
  run(288000);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %ld KiB\n", ru.ru_maxrss);
  return 0;
}
