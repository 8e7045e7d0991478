/* bench_network.c: road network speed: import of the central Beijing
 * network (.osm.pbf and .osm, one core), open (mmap + validate), radius
 * (30 m) and k-nearest query rates on random points on roads, peak RSS.
 * usage: bench_network [DIR with beijing_5thring_2013.osm(.pbf)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* The whole import as the command does it: read, project, build, save. */
static int import(const char *osm, const char *out, double *secs) {
  double t0 = now_s();
  dl_err e;
  dl_osm o;
  if (dl_osm_read(osm, &o, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  dl_proj *pj;
  if (dl_proj_create(32650, &pj, &e)) return 1;
  double *x = malloc(o.n_nodes * sizeof *x), *y = malloc(o.n_nodes * sizeof *y);
  if (dl_proj_fwd(pj, o.node_lat, o.node_lon, o.n_nodes, x, y, &e)) return 1;
  dl_netsrc src = {o.n_nodes, o.node_id, o.node_lat, o.node_lon, x, y, o.n_ways, o.way_id, o.way_nd, o.nd_ref,
                   o.way_highway, o.way_oneway, o.way_junction, o.way_name, o.way_ref, o.way_maxspeed, o.str,
                   o.n_str};
  const char *cell = getenv("BENCH_GRID_CELL"); /* to try other cell sizes */
  dl_netbuild_opts opt = {0, cell ? atof(cell) : 70, 0, 32650};
  dl_netbuf nb;
  dl_netbuild_report rep;
  int rc = dl_netbuild(&src, NULL, NULL, &opt, &nb, &rep, &e) || dl_network_save(out, &nb.net, 1, &e);
  if (rc) fprintf(stderr, "%s\n", e.msg);
  dl_netbuf_free(&nb);
  dl_proj_free(pj);
  dl_osm_free(&o);
  free(x), free(y);
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
  char pbf[1024], xml[1024], out[64];
  snprintf(pbf, sizeof pbf, "%s/beijing_5thring_2013.osm.pbf", dir);
  snprintf(xml, sizeof xml, "%s/beijing_5thring_2013.osm", dir);
  snprintf(out, sizeof out, "/tmp/bench_network_%d.net", (int)getpid());
  if (access(pbf, R_OK) || access(xml, R_OK)) {
    fprintf(stderr, "bench_network: %s not found (give the folder as argument)\n", pbf);
    return 77;
  }
  double best_pbf = INFINITY, best_xml = INFINITY, s;
  for (int r = 0; r < 3; r++) {
    if (import(pbf, out, &s)) return 1;
    best_pbf = fmin(best_pbf, s);
  }
  double peak_import = peak_mb();
  for (int r = 0; r < 3; r++) {
    if (import(xml, out, &s)) return 1;
    best_xml = fmin(best_xml, s);
  }
  printf("import_pbf_s: %.3f (best of 3)\n", best_pbf);
  printf("import_osm_s: %.3f (best of 3)\n", best_xml);
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
