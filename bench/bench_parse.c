/* bench_parse.c: parse throughput of the NMEA and DustTrak readers on large
 * generated logs (fixed seed), beside `wc -l` on the same file. NMEA is
 * timed cold (a new container per run) and warm (one container reused with
 * its capacity, so no page faults on the output columns), both with the file
 * in the page cache, and once more with the file's cached pages dropped.
 * usage: bench_parse [DIR] [NMEA_MB]   (DIR keeps the files for reruns) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl_io.h"

#define KNOT_MPS (1852.0 / 3600.0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(void) { /* xorshift64*: fixed seed, same file every run */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static unsigned nmea_sum(const char *s) {
  unsigned x = 0;
  while (*s) x ^= (unsigned char)*s++;
  return x;
}

/* What the generator wrote, to check the reader's result against. */
typedef struct truth {
  size_t n;
  double sum_a, sum_b, sum_c; /* NMEA: lat, lon, speed; DustTrak: value */
} truth;

static off_t file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? st.st_size : -1;
}

/* RMC + GGA at 1 Hz from 2024-06-01 00:00:00 UTC, a random drive around
 * Beijing, until the file reaches mb megabytes. */
static int gen_nmea(const char *path, double mb, truth *tr) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  static char obuf[1 << 20];
  setvbuf(f, obuf, _IOFBF, sizeof obuf);
  int64_t lat_u = 3954LL * 100000 + 12345, lon_u = 11623LL * 100000 + 54321; /* ddmm.mmmmm * 1e5 */
  int64_t day0 = dl_days_from_civil(2024, 6, 1);
  double target = mb * 1e6, written = 0;
  char body[160], line[200];
  memset(tr, 0, sizeof *tr);
  for (int64_t k = 0; written < target; k++) {
    int64_t day = day0 + k / 86400;
    int sod = (int)(k % 86400);
    int64_t y;
    unsigned mo, d;
    dl_civil_from_days(day, &y, &mo, &d);
    lat_u += (int64_t)(rnd() % 201) - 100;
    lon_u += (int64_t)(rnd() % 201) - 100;
    unsigned spd_c = rnd() % 4000; /* knots * 100 */
    unsigned crs_c = rnd() % 36000;
    int hh = sod / 3600, mi = sod / 60 % 60, ss = sod % 60;
    long la_d = (long)(lat_u / 10000000), la_m = (long)(lat_u % 10000000);
    long lo_d = (long)(lon_u / 10000000), lo_m = (long)(lon_u % 10000000);
    snprintf(body, sizeof body,
             "GPRMC,%02d%02d%02d.00,A,%02ld%02ld.%05ld,N,%03ld%02ld.%05ld,E,%u.%02u,%u.%02u,%02u%02u%02u,,,A",
             hh, mi, ss, la_d, la_m / 100000, la_m % 100000, lo_d, lo_m / 100000, lo_m % 100000,
             spd_c / 100, spd_c % 100, crs_c / 100, crs_c % 100, d, mo, (unsigned)(y % 100));
    int n1 = snprintf(line, sizeof line, "$%s*%02X\r\n", body, nmea_sum(body));
    fwrite(line, 1, (size_t)n1, f);
    snprintf(body, sizeof body,
             "GPGGA,%02d%02d%02d.00,%02ld%02ld.%05ld,N,%03ld%02ld.%05ld,E,1,%02u,0.9,52.1,M,-8.3,M,,",
             hh, mi, ss, la_d, la_m / 100000, la_m % 100000, lo_d, lo_m / 100000, lo_m % 100000,
             8 + rnd() % 10);
    int n2 = snprintf(line, sizeof line, "$%s*%02X\r\n", body, nmea_sum(body));
    fwrite(line, 1, (size_t)n2, f);
    written += n1 + n2;
    tr->n++;
    tr->sum_a += (double)la_d + (double)la_m / 1e5 / 60.0;
    tr->sum_b += (double)lo_d + (double)lo_m / 1e5 / 60.0;
    tr->sum_c += spd_c / 100.0 * KNOT_MPS;
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) return -1;
  return 0;
}

/* A TSI DustTrak II 8530 TrakPro export: header block, then one row a second. */
static int gen_dusttrak(const char *path, double mb, truth *tr) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  static char obuf[1 << 20];
  setvbuf(f, obuf, _IOFBF, sizeof obuf);
  size_t rows = (size_t)(mb * 1e6 / 26.0);
  unsigned dd = (unsigned)(rows / 86400 + 1);
  fprintf(f,
          "TrakPro Version 4.70 ASCII Data File\n\nModel:,DustTrak II\nModel Number:,8530\n"
          "Serial Number:,8530172809\nTest ID:,002\nTest Abbreviation:,MANUAL_002\n"
          "Start Date:,06/01/2024\nStart Time:,00:00:00\nDuration (dd:hh:mm:ss):,%u:00:00:00\n"
          "Log Interval (mm:ss):,00:01\nNumber of points:,%zu\nNotes:,\n\n"
          "Statistics,Channel:,AEROSOL\n,Units:,mg/m^3\n,Average:,0.202\n,Minimum:,0.041\n"
          ",Time of Minimum:,09:15:11\n,Date of Minimum:,06/01/2024\n,Maximum:,3.120\n"
          ",Time of Maximum:,12:13:56\n,Date of Maximum:,06/01/2024\n\n"
          "Calibration,Sensor:,AEROSOL\n,Cal. date,07/14/2017\n\n"
          "Date,Time,AEROSOL\nMM/dd/yyyy,hh:mm:ss,mg/m^3\n",
          dd, rows);
  int64_t day0 = dl_days_from_civil(2024, 6, 1);
  memset(tr, 0, sizeof *tr);
  unsigned v = 90;
  for (size_t k = 1; k <= rows; k++) {
    int64_t y;
    unsigned mo, d;
    dl_civil_from_days(day0 + (int64_t)(k / 86400), &y, &mo, &d);
    unsigned sod = (unsigned)(k % 86400);
    unsigned r = rnd() % 21;
    v = v + r > 10 ? v + r - 10 : 1; /* mg/m^3 * 1000, a random walk */
    if (v > 9999) v = 9999;
    fprintf(f, "%02u/%02u/%04lld,%02u:%02u:%02u,%u.%03u\n", mo, d, (long long)y, sod / 3600,
            sod / 60 % 60, sod % 60, v / 1000, v % 1000);
    tr->n++;
    tr->sum_a += v; /* mg/m^3 * 1000 = ug/m^3 */
  }
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) return -1;
  return 0;
}

/* Best wall time of `wc -l` on the file over runs runs. */
static double time_wc(const char *path, int runs) {
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "wc -l < '%s' > /dev/null", path);
  double best = INFINITY;
  for (int i = 0; i < runs; i++) {
    double t0 = now_s();
    if (system(cmd) != 0) return NAN;
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

/* Drops the file's pages from the page cache (written back first), so the
 * next read waits for the disk. 0 when done. */
static int drop_cache(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  int rc = fdatasync(fd) == 0 ? posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) : -1;
  close(fd);
  return rc;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

enum { NMEA_COLD = 7, NMEA_WARM = 3 }; /* reader runs with fresh / reused columns */

static void report(const char *what, const char *path, double wall, double cpu, size_t recs,
                   double wc) {
  double mb = (double)file_size(path) / 1e6;
  printf("%-9s %8.1f MB  best run: %.3f s wall, %.3f s cpu  %7.1f MB/s/core  %6.2f M records/s\n",
         what, mb, wall, cpu, mb / cpu, (double)recs / cpu / 1e6);
  printf("%-9s wc -l: %.3f s (%.1f MB/s)  reader/wc ratio: %.2f\n", "", wc, mb / wc, wall / wc);
}

int main(int argc, char **argv) {
  char dir[1024];
  int keep = argc > 1;
  double nmea_mb = argc > 2 ? atof(argv[2]) : 300.0;
  if (!(nmea_mb > 0)) nmea_mb = 300.0;
  if (keep) {
    snprintf(dir, sizeof dir, "%s", argv[1]);
    mkdir(dir, 0755);
  } else {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bench_parse.XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "bench_parse: cannot create a temp dir: %s\n", strerror(errno));
      return 1;
    }
  }
  char np[1100], dp[1100];
  snprintf(np, sizeof np, "%s/bench.nmea", dir);
  snprintf(dp, sizeof dp, "%s/bench_dt8530.csv", dir);
  truth tn, td;
  double t0 = now_s();
  /* always regenerate the truth (cheap beside parsing); rewrite the files
   * only when absent, so a kept DIR skips the disk writes */
  int have = keep && file_size(np) > 0 && file_size(dp) > 0;
  char devnull_n[] = "/dev/null";
  if (gen_nmea(have ? devnull_n : np, nmea_mb, &tn) != 0 ||
      gen_dusttrak(have ? devnull_n : dp, nmea_mb * 0.5, &td) != 0) {
    fprintf(stderr, "bench_parse: cannot write %s: %s\n", dir, strerror(errno));
    return 1;
  }
  printf("bench_parse: files in %s (%s in %.1f s); timings are noisy on a shared machine\n", dir,
         have ? "reused, truth regenerated" : "generated", now_s() - t0);

  int status = 0;
  /* NMEA */
  double wc = time_wc(np, 3);
  double best = INFINITY, best_cpu = INFINITY;
  dl_fixes fx;
  dl_fixes_init(&fx);
  dl_rejects rej;
  dl_err err;
  dl_gps_opts go;
  dl_gps_opts_default(&go);
  /* cold: a new container each run (its pages are faulted in as the rows
   * are written); warm: one container reused, its capacity kept, as a
   * caller reading many logs into the same columns would */
  double wbest = INFINITY, wbest_cpu = INFINITY;
  for (int i = 0; i < NMEA_COLD + NMEA_WARM; i++) {
    int warm = i >= NMEA_COLD;
    if (warm) {
      fx.n = 0;
    } else {
      dl_fixes_free(&fx);
      dl_fixes_init(&fx);
    }
    /* one wc -l right before each reader run: on a shared machine both
     * bests then come from the same quiet windows */
    double w1 = time_wc(np, 1);
    if (w1 < wc) wc = w1;
    double c0 = cpu_s(), w0 = now_s();
    int rc = dl_read_nmea(np, &go, &fx, &rej, &err);
    double w = now_s() - w0, c = cpu_s() - c0;
    if (rc != DL_OK) {
      printf("nmea: failed: %s\n", err.msg);
      return 1;
    }
    if (!warm && w < best) best = w, best_cpu = c;
    if (warm && w < wbest) wbest = w, wbest_cpu = c;
  }
  report("nmea", np, best, best_cpu, fx.n, wc);
  report("nmea warm", np, wbest, wbest_cpu, fx.n, wc);
  printf("%-9s (wc -l times include its process start: %.1f ms on empty input)\n", "",
         time_wc("/dev/null", 3) * 1e3);
  /* page cache cold: one run each of the reader and wc -l, the file's
   * cached pages dropped before each (the disk's speed, mostly) */
  if (drop_cache(np) == 0) {
    fx.n = 0;
    double w0 = now_s();
    int rc = dl_read_nmea(np, &go, &fx, &rej, &err);
    double wr = now_s() - w0, mb = (double)file_size(np) / 1e6;
    double wcc = drop_cache(np) == 0 ? time_wc(np, 1) : NAN;
    if (rc != DL_OK) {
      printf("nmea: failed: %s\n", err.msg);
      return 1;
    }
    printf("%-9s page cache cold: %.3f s wall (%.1f MB/s); wc -l %.3f s (%.1f MB/s)\n", "", wr,
           mb / wr, wcc, mb / wcc);
  }
  double sla = 0, slo = 0, ssp = 0;
  for (size_t i = 0; i < fx.n; i++) sla += fx.lat[i], slo += fx.lon[i], ssp += fx.speed[i];
  char a[40], b[40];
  int ok = fx.n == tn.n && fabs(sla - tn.sum_a) < 1e-6 * (double)tn.n &&
           fabs(slo - tn.sum_b) < 1e-6 * (double)tn.n && fabs(ssp - tn.sum_c) < 1e-6 * (double)tn.n &&
           dl_rejects_total(&rej) == 0 && fx.n &&
           fabs(fx.t[fx.n - 1] - (fx.t[0] + (double)(fx.n - 1))) < 1e-6;
  printf("%-9s fixes %zu (%s .. %s)  hash lat %.6f lon %.6f speed %.6f: %s\n", "", fx.n,
         fx.n ? dl_time_iso(fx.t[0], a, sizeof a) : "-",
         fx.n ? dl_time_iso(fx.t[fx.n - 1], b, sizeof b) : "-", sla, slo, ssp,
         ok ? "matches the generator" : "DOES NOT MATCH the generator");
  if (!ok) status = 1;
  /* the slow general parser, one line at a time: a fast path that is fast
   * but wrong shows up here as a difference in any column or count */
  dl_fixes ref;
  dl_fixes_init(&ref);
  dl_rejects rref;
  double cr0 = cpu_s();
  int rcr = dl_read_nmea_impl(np, &go, &ref, &rref, &err, DL_NMEA_REFERENCE);
  double cref = cpu_s() - cr0;
  size_t n = fx.n;
  int same = rcr == DL_OK && ref.n == n && !memcmp(ref.t, fx.t, n * 8) &&
             !memcmp(ref.lat, fx.lat, n * 8) && !memcmp(ref.lon, fx.lon, n * 8) &&
             !memcmp(ref.speed, fx.speed, n * 8) && !memcmp(ref.course, fx.course, n * 8) &&
             !memcmp(ref.hdop, fx.hdop, n * 8) && !memcmp(ref.quality, fx.quality, n) &&
             !memcmp(ref.nsat, fx.nsat, n) && !memcmp(ref.line, fx.line, n * 8) &&
             !memcmp(&rref, &rej, sizeof rej);
  printf("%-9s reference parser: %zu fixes, %.1f MB/s/core: %s\n", "", ref.n,
         (double)file_size(np) / 1e6 / cref,
         same ? "same rows and counts, bit for bit" : "DIFFERS from the fast path");
  if (!same) status = 1;
  dl_fixes_free(&ref);
  dl_fixes_free(&fx);

  /* DustTrak */
  wc = time_wc(dp, 3);
  dl_samples sm;
  dl_samples_init(&sm);
  dl_inst_opts io;
  dl_inst_opts_default(&io);
  io.have_tz = 1;
  best = best_cpu = INFINITY;
  int rc = DL_OK;
  for (int i = 0; i < 3 && rc == DL_OK; i++) {
    dl_samples_free(&sm);
    dl_samples_init(&sm);
    double c0 = cpu_s(), w0 = now_s();
    rc = dl_read_dusttrak(dp, &io, &sm, &rej, &err);
    double w = now_s() - w0, c = cpu_s() - c0;
    if (w < best) best = w, best_cpu = c;
  }
  if (rc != DL_OK) {
    printf("dusttrak  skipped: %s (%s); wc -l: %.3f s\n", err.msg, dl_status_name(rc), wc);
  } else {
    report("dusttrak", dp, best, best_cpu, sm.n, wc);
    double sv = 0;
    for (size_t i = 0; i < sm.n; i++) sv += sm.value[i];
    int okd = sm.n == td.n && fabs(sv - td.sum_a) < 1e-6 * (double)td.n;
    printf("%-9s readings %zu  hash value %.3f: %s\n", "", sm.n, sv,
           okd ? "matches the generator" : "DOES NOT MATCH the generator");
    if (!okd) status = 1;
  }
  dl_samples_free(&sm);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS: %.1f MB\n", ru.ru_maxrss / 1024.0);
  if (!keep) {
    unlink(np);
    unlink(dp);
    rmdir(dir);
  }
  return status;
}
