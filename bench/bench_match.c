/* bench_match.c: map-matching speed: 1 Hz drives on the central Beijing
 * network (random walks along the directed graph, 8-16 m/s, stops, AR(1)
 * noise sigma 5 m, fixed seed), matched with 1 and 2 threads: fixes/s and
 * per core, result hash, peak RSS, without and with the receiver's speed
 * and course; then the whole `dustload match` process
 * on a one-hour NMEA-free CSV trace, network opening included.
 * usage: bench_match NET [TRACES (default 24 one-hour traces)] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dl_match.h"
#include "dl_netopen.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static double urand(void) {
  rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rs >> 11) / 9007199254740992.0;
}
static double nrand(void) {
  double u = urand(), v = urand();
  return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* One drive of n fixes from a random edge: truth along the graph, noisy x/y
 * out; the receiver's speed and course (the travel heading of the true
 * piece, 1 degree of noise, held while stopped) when sp/co are not NULL. */
static void drive(const dl_net *n, size_t nfix, double t0, double *t, double *x, double *y, double *lat,
                  double *lon, double *sp, double *co) {
  uint32_t e = (uint32_t)(urand() * n->n_edges);
  double pos = 0, v = 12, nx = 0, ny = 0, stop = 0, course = 0;
  uint64_t cs = (uint64_t)t0;
  for (size_t i = 0; i < nfix; i++) {
    int stopped = stop > 0;
    if (stop > 0) stop -= 1;
    else pos += v;
    while (pos >= n->edge_len[e]) {
      pos -= n->edge_len[e];
      uint32_t u = n->edge_to[e], a = n->node_edge[u], b = n->node_edge[u + 1], next = DL_NET_NONE;
      for (int k = 0; k < 4 && b > a; k++) { /* avoid U-turns unless at a dead end */
        uint32_t c = a + (uint32_t)(urand() * (b - a));
        if (n->edge_seg[c] != n->edge_seg[e] || b - a == 1) {
          next = c;
          break;
        }
      }
      if (next == DL_NET_NONE) next = b > a ? a : (uint32_t)(urand() * n->n_edges);
      e = next;
      v = 8 + 8 * urand();
      if (urand() < 0.15) stop = 5 + 20 * urand(), pos = 0;
    }
    uint32_t s = n->edge_seg[e];
    double off = n->edge_dir[e] ? n->seg_len[s] - pos : pos, px, py, la, lo;
    dl_match_seg_point(n, s, off, &px, &py, &la, &lo);
    nx = 0.7 * nx + sqrt(1 - 0.49) * 5 * nrand();
    ny = 0.7 * ny + sqrt(1 - 0.49) * 5 * nrand();
    t[i] = t0 + (double)i, x[i] = px + nx, y[i] = py + ny;
    if (sp) {
      uint32_t a = n->seg_vtx[s], b = n->seg_vtx[s + 1] - 1; /* piece holding off */
      while (b - a > 1) {
        uint32_t m = a + (b - a) / 2;
        if (n->vtx_off[m] <= off) a = m;
        else b = m;
      }
      /* its own generator: the x/y of the drives do not depend on sp */
      cs = cs * 6364136223846793005ULL + 1442695040888963407ULL;
      double u1 = (double)(cs >> 11) / 9007199254740992.0;
      cs = cs * 6364136223846793005ULL + 1442695040888963407ULL;
      double u2 = (double)(cs >> 11) / 9007199254740992.0, g = sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
      if (!stopped) course = fmod(n->vtx_head[a] + (n->edge_dir[e] ? 180.0 : 0.0) + g + 360.0, 360.0);
      sp[i] = stopped ? 0.0 : v, co[i] = course;
    }
    if (lat) lat[i] = la + ny / 111000.0, lon[i] = lo + nx / (111320.0 * cos(la * M_PI / 180));
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_match NET [TRACES]\n");
    return 64;
  }
  size_t ntr = argc > 2 ? (size_t)atol(argv[2]) : 24, per = 3600, N = ntr * per;
  dl_net n;
  dl_netfile *h;
  dl_err e;
  if (dl_network_open(argv[1], &n, &h, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 66;
  }
  double *t = malloc(N * sizeof *t), *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  double *sp = malloc(N * sizeof *sp), *co = malloc(N * sizeof *co);
  size_t *st = malloc((ntr + 1) * sizeof *st);
  dl_match_out o;
  o.seg = malloc(N * sizeof *o.seg);
  o.offset = malloc(N * sizeof(double)), o.mx = malloc(N * sizeof(double)), o.my = malloc(N * sizeof(double));
  o.mlat = malloc(N * sizeof(double)), o.mlon = malloc(N * sizeof(double)), o.dist = malloc(N * sizeof(double));
  o.status = malloc(N), o.dir = NULL;
  dl_match_summary *sum = malloc(ntr * sizeof *sum);
  for (size_t r = 0; r < ntr; r++) {
    st[r] = r * per;
    drive(&n, per, 1.6e9 + 1e5 * (double)r, t + r * per, x + r * per, y + r * per, NULL, NULL, sp + r * per,
          co + r * per);
  }
  st[ntr] = N;
  printf("bench_match: %zu traces x %zu fixes at 1 Hz, sigma 5 m AR(1), on %s (%u segments)\n", ntr, per, argv[1],
         n.n_segs);
  /* mode 0: positions only (as from the CSV); 1: with the receiver's
   * speed and course (as from NMEA RMC) */
  for (int mode = 0; mode < 2; mode++) {
    double rate1 = 0;
    if (mode) printf("with the receiver's speed and course (1 degree):\n");
    for (int th = 1; th <= 2; th++) {
      dl_match_opts mo;
      dl_match_opts_default(&mo);
      mo.threads = th;
      double best = INFINITY;
      for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        if (dl_match(&n, &mo, ntr, st, t, x, y, mode ? sp : NULL, mode ? co : NULL, &o, sum, &e)) {
          fprintf(stderr, "%s\n", e.msg);
          return 70;
        }
        double dt = now_s() - t0;
        if (dt < best) best = dt;
      }
      uint64_t hsh = 1469598103934665603ULL;
      size_t matched = 0, breaks = 0;
      for (size_t i = 0; i < N; i++) {
        int64_t q = o.seg[i] == DL_NET_NONE ? -1 : (int64_t)llround(o.offset[i] * 1000);
        hsh = (hsh ^ o.seg[i]) * 1099511628211ULL;
        hsh = (hsh ^ (uint64_t)q) * 1099511628211ULL;
        matched += o.status[i] == DL_MATCH_MATCHED;
      }
      for (size_t r = 0; r < ntr; r++) breaks += sum[r].breaks;
      double rate = (double)N / best;
      if (th == 1) rate1 = rate;
      printf("threads %d: %.3f s, %.0f fixes/s, %.0f fixes/s per core, speed-up %.2f; matched %.2f %%, breaks %zu; "
             "hash %016llx\n",
             th, best, rate, rate / th, rate / rate1, 100.0 * (double)matched / (double)N, breaks,
             (unsigned long long)hsh);
    }
  }
  printf("peak RSS %.1f MB\n", peak_mb());
  /* the whole command on one hour */
  char dir[4096], cmd[16384], csv[256], outp[256];
  snprintf(dir, sizeof dir, "%s", argv[0]);
  char *sl = strrchr(dir, '/');
  if (sl) *sl = 0;
  else snprintf(dir, sizeof dir, ".");
  double *la = malloc(per * sizeof *la), *lo = malloc(per * sizeof *lo);
  drive(&n, per, 1.6e9, t, x, y, la, lo, NULL, NULL);
  snprintf(csv, sizeof csv, "/tmp/bench_match_%d.csv", (int)getpid());
  snprintf(outp, sizeof outp, "/tmp/bench_match_%d.out.csv", (int)getpid());
  FILE *f = fopen(csv, "w");
  if (!f) return 73;
  fprintf(f, "time,lat,lon\n");
  char tb[40];
  for (size_t i = 0; i < per; i++) fprintf(f, "%s,%.8f,%.8f\n", dl_time_iso(t[i], tb, sizeof tb), la[i], lo[i]);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s/dustload match -q --force --network %s %s -o %s", dir, argv[1], csv, outp);
  double best = INFINITY;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    if (system(cmd) != 0) {
      fprintf(stderr, "failed: %s\n", cmd);
      return 70;
    }
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  printf("dustload match process on a one-hour 1 Hz trace (open network, read, match, write): %.3f s (best of 5)\n",
         best);
  unlink(csv), unlink(outp);
  free(la), free(lo), free(t), free(x), free(y), free(sp), free(co), free(st), free(sum);
  free(o.seg), free(o.offset), free(o.mx), free(o.my), free(o.mlat), free(o.mlon), free(o.dist), free(o.status);
  dl_network_close(h);
  return 0;
}
