/* bench_network.c: road network speed and memory: import of the central
 * Beijing network (.osm.pbf and .osm, one core) with its memory per phase,
 * the dustload binary's import peak RSS minus its idle baseline, open (mmap +
 * validate), radius (30 m) and k-nearest query rates on points on roads.
 * usage: bench_network [DIR with beijing_5thring_2013.osm(.pbf)] [DUSTLOAD]
 * (DUSTLOAD defaults to $DL_BIN, then ./dustload) */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dl_netbuild.h"
#include "dl_netio.h"
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

/* kB of a /proc/self/status line (VmRSS, VmHWM), 0 when unreadable. */
static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = 0;
  size_t k = strlen(key);
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, k) && line[k] == ':') v = atol(line + k + 1);
  fclose(f);
  return v;
}

/* Restarts the peak RSS (VmHWM) count; 0 when the kernel allows it. */
static int hwm_reset(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return -1;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* Peak RSS (kB) of each import phase above the RSS before the import. */
enum { PH_READ, PH_PROJ, PH_BUILD, PH_SAVE, PH__N };
static const char *const ph_name[PH__N] = {"read", "proj_init", "build_write", "commit"};
static long ph_kb[PH__N];
static int ph_ok;
static long ph_base;

static void phase_end(int ph) {
  if (!ph_ok) return;
  long d = status_kb("VmHWM") - ph_base;
  if (d > ph_kb[ph]) ph_kb[ph] = d;
  hwm_reset();
}

/* Peak RSS (kB) of DUSTLOAD ARGS... run as a child, or -1. The child's
 * figure also covers the instant after fork, when it is a copy of this
 * process: that is why the children run first, while this one is small. */
static long child_peak_kb(char *const argv[]) {
  fflush(stdout); /* the child must not repeat buffered output */
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  int st;
  struct rusage ru;
  if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return ru.ru_maxrss;
}

/* The import as the command does it: read, PROJ, the build streaming each
 * array to the file writer (projecting the kept nodes on the way), commit. */
typedef struct sink {
  dl_netwriter *w;
  dl_proj *pj;
  dl_err e;
} sink;

static int put_array(void *user, const dl_netcol *col, uint64_t count, void *data) {
  sink *k = user;
  int rc = dl_netwriter_put(k->w, col, count, data, &k->e);
  free(data);
  return rc;
}

static int project(void *user, const double *lat, const double *lon, size_t n, double *x, double *y) {
  sink *k = user;
  return dl_proj_fwd(k->pj, lat, lon, n, x, y, &k->e);
}

static int import(const char *osm, const char *out, double *secs) {
  ph_ok = hwm_reset() == 0;
  ph_base = status_kb("VmRSS");
  double t0 = now_s();
  dl_err e;
  dl_osm o;
  if (dl_osm_read(osm, &o, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  phase_end(PH_READ);
  sink k;
  memset(&k, 0, sizeof k);
  if (dl_proj_create(32650, &k.pj, &e)) return 1;
  phase_end(PH_PROJ);
  dl_netsrc src = {o.n_nodes, o.node_id, o.node_lat, o.node_lon, NULL, NULL, o.n_ways, o.way_id, o.way_nd, o.nd_ref,
                   o.way_highway, o.way_oneway, o.way_junction, o.way_name, o.way_ref, o.way_maxspeed, o.str,
                   o.n_str};
  const char *cell = getenv("BENCH_GRID_CELL"); /* to try other cell sizes */
  dl_netbuild_opts opt = {0, cell ? atof(cell) : 70, 0, 32650};
  dl_netbuild_io io = {put_array, NULL, project, &k};
  dl_net n;
  dl_netbuild_report rep;
  int rc = dl_netwriter_open(out, &k.w, &e);
  if (!rc && (rc = dl_netbuild_stream(&src, NULL, NULL, &opt, &io, &n, &rep, &e))) dl_netwriter_abort(k.w);
  phase_end(PH_BUILD);
  rc = rc || dl_netwriter_close(k.w, &n, 1, NULL, &e);
  phase_end(PH_SAVE);
  if (rc) fprintf(stderr, "%s %s\n", e.msg, k.e.msg);
  dl_proj_free(k.pj);
  dl_proj_release_caches();
  dl_osm_free(&o);
  malloc_trim(0); /* the next import's phases start from a returned heap */
  *secs = now_s() - t0;
  return rc;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "../shared/data/beijing_roadnet_osm2013";
  const char *bin = argc > 2 ? argv[2] : getenv("DL_BIN") ? getenv("DL_BIN") : "./dustload";
  char pbf[1024], xml[1024], out[64];
  snprintf(pbf, sizeof pbf, "%s/beijing_5thring_2013.osm.pbf", dir);
  snprintf(xml, sizeof xml, "%s/beijing_5thring_2013.osm", dir);
  snprintf(out, sizeof out, "/tmp/bench_network_%d.net", (int)getpid());
  if (access(pbf, R_OK) || access(xml, R_OK)) {
    fprintf(stderr, "bench_network: %s not found (give the folder as argument)\n", pbf);
    return 77;
  }
  /* the command itself: peak RSS of an import minus that of --version */
  if (access(bin, X_OK) == 0) {
    char *ver[] = {(char *)bin, "--version", NULL};
    long base = child_peak_kb(ver);
    const char *in[2] = {pbf, xml}, *tag[2] = {"pbf", "osm"};
    for (int k = 0; k < 2; k++) {
      char *imp[] = {(char *)bin, "network", "import", "-q", "--force", "--osm", (char *)in[k], "-o", out, NULL};
      long peak = -1;
      for (int r = 0; r < 3; r++) { /* smallest of 3: other processes only add */
        long p = child_peak_kb(imp);
        if (p >= 0 && (peak < 0 || p < peak)) peak = p;
      }
      if (base < 0 || peak < 0) {
        fprintf(stderr, "bench_network: %s failed\n", bin);
        return 1;
      }
      printf("cmd_import_%s_peak_rss_mb: %.1f (raw; idle baseline %.1f)\n", tag[k], peak / 1024.0, base / 1024.0);
      printf("cmd_import_%s_mem_mb: %.2f (peak minus idle baseline)\n", tag[k], (peak - base) / 1024.0);
    }
  } else {
    printf("cmd_import: skipped (%s not found; give the binary as 2nd argument)\n", bin);
  }

  mallopt(M_MMAP_THRESHOLD, 32 * 1024); /* as the command does */
  double best_pbf = INFINITY, best_xml = INFINITY, s;
  long pk_pbf[PH__N];
  for (int r = 0; r < 3; r++) {
    if (import(pbf, out, &s)) return 1;
    best_pbf = fmin(best_pbf, s);
  }
  memcpy(pk_pbf, ph_kb, sizeof pk_pbf);
  memset(ph_kb, 0, sizeof ph_kb);
  double peak_import = peak_mb();
  for (int r = 0; r < 3; r++) {
    if (import(xml, out, &s)) return 1;
    best_xml = fmin(best_xml, s);
  }
  printf("import_pbf_s: %.3f (best of 3)\n", best_pbf);
  printf("import_osm_s: %.3f (best of 3)\n", best_xml);
  if (ph_ok) /* in this process, which keeps the OSM arrays to the end (the command frees them early) */
    for (int k = 0; k < 2; k++) {
      long *pk = k ? ph_kb : pk_pbf;
      printf("import_%s_phase_peak_mb:", k ? "osm" : "pbf");
      for (int p = 0; p < PH__N; p++) printf(" %s %.2f", ph_name[p], pk[p] / 1024.0);
      printf(" (above the RSS before the import)\n");
    }
  printf("peak_rss_mb_after_pbf_imports: %.1f\n", peak_import);
  printf("peak_rss_mb_after_osm_imports: %.1f\n", peak_mb());

  dl_err e;
  dl_net n;
  dl_netfile *h;
  double best_open = INFINITY;
  for (int r = 0; r < 20; r++) {
    double t0 = now_s();
    if (dl_network_open(out, &n, &h, &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
    best_open = fmin(best_open, now_s() - t0);
    if (r < 19) dl_network_close(h);
  }
  printf("file_mb: %.2f\n", dl_network_file_size(h) / 1048576.0);
  printf("open_ms: %.3f (mmap + checksums + structure check, best of 20, warm cache)\n", best_open * 1000);

  enum { NQ = 2000000 };
  double *qx = malloc(NQ * sizeof *qx), *qy = malloc(NQ * sizeof *qy);
  for (size_t i = 0; i < NQ; i++) { /* points on roads, up to 20 m off */
    uint32_t sg = (uint32_t)(urand() * n.n_segs);
    uint32_t v = n.seg_vtx[sg] + (uint32_t)(urand() * (n.seg_vtx[sg + 1] - n.seg_vtx[sg] - 1));
    double t = urand();
    qx[i] = n.vtx_x[v] + t * (n.vtx_x[v + 1] - n.vtx_x[v]) + (urand() - 0.5) * 40;
    qy[i] = n.vtx_y[v] + t * (n.vtx_y[v + 1] - n.vtx_y[v]) + (urand() - 0.5) * 40;
  }
  dl_net_query q;
  dl_net_query_init(&q, 256);
  uint64_t hash = 1469598103934665603ull, hits = 0;
  double t0 = now_s();
  for (size_t i = 0; i < NQ; i++) {
    dl_net_radius(&n, &q, qx[i], qy[i], 30.0, 0);
    hits += q.n;
    for (size_t k = 0; k < q.n; k++) hash = (hash ^ q.hit[k].piece) * 1099511628211ull;
  }
  double tr = now_s() - t0;
  printf("radius30_queries_per_s: %.0f (one core; %.2f hits per query)\n", NQ / tr, (double)hits / NQ);
  const size_t NK = NQ / 4;
  t0 = now_s();
  for (size_t i = 0; i < NK; i++) {
    dl_net_nearest(&n, &q, qx[i], qy[i], 5, INFINITY, 0);
    for (size_t k = 0; k < q.n; k++) hash = (hash ^ q.hit[k].piece) * 1099511628211ull;
  }
  double tk = now_s() - t0;
  printf("knn5_queries_per_s: %.0f (one core)\n", NK / tk);
  printf("result_hash: %016llx\n", (unsigned long long)hash);
  dl_net_query_free(&q);
  dl_network_close(h);
  free(qx), free(qy);
  unlink(out);
  return 0;
}
