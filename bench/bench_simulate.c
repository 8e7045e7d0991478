/* bench_simulate.c: speed of the simulator: an 8-hour run (seed 3) on the
 * central Beijing network, the kernel alone and the kernel plus the route
 * queries it makes, best of 5, with a hash of the truth and readings so a
 * fast-but-different build is caught; peak RSS.
 * usage: bench_simulate NET [HOURS]   (NET: dustload network import of
 * ../shared/data/beijing_roadnet_osm2013/beijing_5thring_2013.osm.pbf) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dl_netopen.h"
#include "dl_simulate.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_simulate NET [HOURS]\n");
    return 64;
  }
  double hours = argc > 2 ? atof(argv[2]) : 8.0;
  dl_err e;
  dl_net n;
  dl_netfile *nf;
  double t0 = now_s();
  if (dl_network_open(argv[1], &n, &nf, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 66;
  }
  double t_open = now_s() - t0;
  dl_sim_params p;
  dl_sim_params_default(&p);
  p.seed = 3;
  p.hours = hours;
  double best = INFINITY;
  uint64_t h = 0;
  dl_sim s;
  for (int rep = 0; rep < 5; rep++) {
    double t1 = now_s();
    if (dl_simulate(&n, &p, &s, &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 70;
    }
    double dt = now_s() - t1;
    if (dt < best) best = dt;
    h = 0xCBF29CE484222325ull;
    h = fnv(h, s.x, s.n_sec * sizeof *s.x);
    h = fnv(h, s.gps_x, s.n_sec * sizeof *s.gps_x);
    for (int i = 0; i < DL_SIM_NINST; i++) h = fnv(h, s.inst[i].ugm3, s.inst[i].n * sizeof *s.inst[i].ugm3);
    h = fnv(h, s.seg_load, s.n_segs * sizeof *s.seg_load);
    if (rep < 4) dl_sim_free(&s);
  }
  printf("bench_simulate: %u nodes, %u segments; network open %.1f ms\n", n.n_nodes, n.n_segs,
         1000 * t_open);
  printf("  %.2f h drive: %.1f km, %u segments, %zu legs, %zu fixes\n", hours, s.distance_m / 1000,
         s.n_driven_segs, s.n_legs, s.n_fixes);
  printf("  simulate (kernel, one core): best %.1f ms = %.0f simulated s per ms\n", 1000 * best,
         (double)s.n_sec / (1000 * best));
  printf("  result hash %016llx\n", (unsigned long long)h);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %ld KiB\n", ru.ru_maxrss);
  dl_sim_free(&s);
  dl_network_close(nf);
  return 0;
}
