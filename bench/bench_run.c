/* bench_run.c: a whole `dustload run` (manifest to HDF5) with its per-stage
 * breakdown, best of several repetitions, peak memory and a result hash.
 *
 *   bench_run [--threads N] [--repeat R] [--network NET] MANIFEST [OUT.h5]
 *
 * The workload is a simulated run: for the figure of the issue, an 8 h run
 * on the central Beijing network:
 *   dustload network import --osm ../shared/data/beijing_roadnet_osm2013/beijing_5thring_2013.osm.pbf -o bj.net
 *   dustload simulate --network bj.net --seed 1 --hours 8 -o sim8
 *   bench_run --threads 2 sim8/manifest.ini */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dl_run.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

int main(int argc, char **argv) {
  dl_kernels_init();
  dl_run_opts o = {0};
  int repeat = 5, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      o.threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--network") && i + 1 < argc)
      o.network = argv[++i];
    else
      break;
  }
  if (i >= argc || repeat < 1) {
    fprintf(stderr, "usage: bench_run [--threads N] [--repeat R] [--network NET] MANIFEST [OUT.h5]\n"
                    "(see the comment at the top of bench/bench_run.c for the workload)\n");
    return 2;
  }
  o.manifest = argv[i];
  o.quiet = 1;
  const char *out = i + 1 < argc ? argv[i + 1] : NULL;
  char tmp[64];
  if (!out) {
    snprintf(tmp, sizeof tmp, "/tmp/bench_run.%ld.h5", (long)getpid());
    out = tmp;
  }
  double best_stage[DL_RUN_STAGES], best_total = INFINITY, best_write = INFINITY;
  const char *names[DL_RUN_STAGES] = {0};
  int nstage = 0;
  for (int k = 0; k < DL_RUN_STAGES; k++) best_stage[k] = INFINITY;
  uint64_t hash = 0;
  size_t n = 0;
  double km = 0;
  for (int r = 0; r < repeat; r++) {
    dl_run run;
    dl_err e;
    dl_err_clear(&e);
    dl_run_init(&run);
    double t0 = now_s();
    int rc = dl_run_execute(&run, &o, &e);
    double t1 = now_s();
    if (!rc) rc = dl_run_write_h5(&run, out, 1, &e);
    double t2 = now_s();
    if (rc) {
      fprintf(stderr, "bench_run: %s\n", e.msg);
      dl_run_free(&run);
      return 1;
    }
    if (t1 - t0 < best_total) best_total = t1 - t0;
    if (t2 - t1 < best_write) best_write = t2 - t1;
    nstage = run.nstage;
    for (int k = 0; k < run.nstage; k++) {
      names[k] = run.stage_name[k];
      if (run.stage_s[k] < best_stage[k]) best_stage[k] = run.stage_s[k];
    }
    n = run.n;
    km = run.km_valid;
    hash = 0xcbf29ce484222325ull;
    hash = fnv(hash, run.flags, run.n * sizeof *run.flags);
    hash = fnv(hash, run.t_ref, run.n * sizeof *run.t_ref);
    hash = fnv(hash, run.segment, run.n * sizeof *run.segment);
    if (run.have_net) hash = fnv(hash, run.agg.seg_load, run.net.n_segs * sizeof(double));
    dl_run_free(&run);
  }
  if (out == tmp) unlink(tmp);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("bench_run: %s, %zu samples (%.1f h at 1 Hz), %.1f km valid, threads %d, best of %d\n",
         o.manifest, n, (double)n / 3600.0, km, o.threads, repeat);
  for (int k = 0; k < nstage; k++)
    printf("  %-10s %8.1f ms\n", names[k], 1e3 * best_stage[k]);
  printf("  %-10s %8.1f ms  (all stages, %.2f Msamples/s)\n", "total", 1e3 * best_total,
         (double)n / best_total / 1e6);
  printf("  %-10s %8.1f ms  (HDF5 output)\n", "write", 1e3 * best_write);
  printf("  peak RSS %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
  printf("  result hash %016llx\n", (unsigned long long)hash);
  return 0;
}
