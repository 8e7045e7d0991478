/* test_network.c: road network import, queries, file validation, GCJ-02. */
#include <math.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_netbuild.h"
#include "dl_netio.h"
#include "dl_netopen.h"
#include "dl_test.h"

/* OSM file -> network, as `network import` does (polygons optional). */
typedef struct built {
  dl_osm o;
  dl_netbuf nb;
  dl_netbuild_report rep;
  double *x, *y;
} built;

static int load_polys(const char *path, int gcj, dl_proj *pj, dl_geopolys *g, double **x, double **y,
                      dl_polyset *ps) {
  dl_err e;
  int rc = dl_geojson_read_polys(path, "name", g, &e);
  if (rc) return rc;
  if (gcj)
    for (size_t i = 0; i < g->n_vtx; i++) dl_gcj02_to_wgs84(g->lat[i], g->lon[i], &g->lat[i], &g->lon[i]);
  *x = malloc(g->n_vtx * sizeof **x);
  *y = malloc(g->n_vtx * sizeof **y);
  rc = dl_proj_fwd(pj, g->lat, g->lon, g->n_vtx, *x, *y, &e);
  *ps = (dl_polyset){g->n_poly, g->poly_ring, g->ring_vtx, *x, *y, (const char *const *)g->name};
  return rc;
}

static int build_osm(const char *path, int service, const char *districts, int gcj, built *b) {
  memset(b, 0, sizeof *b);
  dl_err e;
  int rc = dl_osm_read(path, &b->o, &e);
  if (rc) return rc;
  dl_proj *pj;
  assert_int_equal(dl_proj_create(32650, &pj, &e), DL_OK);
  b->x = malloc(b->o.n_nodes * sizeof *b->x);
  b->y = malloc(b->o.n_nodes * sizeof *b->y);
  assert_int_equal(dl_proj_fwd(pj, b->o.node_lat, b->o.node_lon, b->o.n_nodes, b->x, b->y, &e), DL_OK);
  dl_geopolys g;
  memset(&g, 0, sizeof g);
  double *px = NULL, *py = NULL;
  dl_polyset ps;
  if (districts) assert_int_equal(load_polys(districts, gcj, pj, &g, &px, &py, &ps), DL_OK);
  const dl_osm *o = &b->o;
  dl_netsrc src = {o->n_nodes, o->node_id, o->node_lat, o->node_lon, b->x, b->y, o->n_ways, o->way_id,
                   o->way_nd, o->nd_ref, o->way_highway, o->way_oneway, o->way_junction, o->way_name,
                   o->way_ref, o->way_maxspeed, o->str, o->n_str};
  dl_netbuild_opts opt = {service, 50.0, 0.0, 32650};
  rc = dl_netbuild(&src, NULL, districts ? &ps : NULL, &opt, &b->nb, &b->rep, &e);
  if (rc) print_message("build: %s\n", e.msg);
  dl_proj_free(pj);
  dl_geopolys_free(&g);
  free(px), free(py);
  return rc;
}

static void built_free(built *b) {
  dl_netbuf_free(&b->nb);
  dl_osm_free(&b->o);
  free(b->x), free(b->y);
}

static void check_ok(const dl_net *n) {
  char why[256];
  int rc = dl_net_check(n, why, sizeof why);
  if (rc) print_message("check: %s\n", why);
  assert_int_equal(rc, DL_OK);
}

/* ---- import rules ------------------------------------------------------ */
static void oneway_variants_and_roundabout(void **state) {
  (void)state;
  built b;
  assert_int_equal(build_osm(dl_fixture("osm/small_oneway.osm"), 0, NULL, 0, &b), DL_OK);
  const dl_net *n = &b.nb.net;
  check_ok(n);
  assert_int_equal(n->n_segs, 8);
  assert_int_equal(n->n_edges, 11);
  /* way id -> expected oneway flag and edge count */
  const int64_t way[8] = {1, 2, 3, 4, 5, 6, 7, 50};
  const int flag[8] = {1, 1, 1, 2, 1, 0, 0, 1};
  for (int k = 0; k < 8; k++) {
    uint32_t s = DL_NET_NONE;
    for (uint32_t i = 0; i < n->n_segs; i++)
      if (n->seg_way[i] == way[k]) s = i;
    assert_int_not_equal(s, DL_NET_NONE);
    assert_int_equal(n->seg_oneway[s], flag[k]);
    assert_true(n->seg_edge_fwd[s] != DL_NET_NONE);
    assert_int_equal(n->seg_edge_bwd[s] != DL_NET_NONE, flag[k] != 1);
    if (way[k] == 3) { /* oneway=-1: geometry reversed, runs east to west */
      assert_true(n->vtx_lon[n->seg_vtx[s]] > n->vtx_lon[n->seg_vtx[s + 1] - 1]);
      assert_int_equal(n->node_osm[n->seg_from[s]], 105);
    }
    if (way[k] == 50) { /* closed roundabout: one loop segment from its first node to itself */
      assert_int_equal(n->seg_from[s], n->seg_to[s]);
      assert_int_equal(n->seg_vtx[s + 1] - n->seg_vtx[s], 5);
    }
  }
  built_free(&b);
}

static void splits_at_junctions_and_reports_drops(void **state) {
  (void)state;
  built b;
  assert_int_equal(build_osm(dl_fixture("osm/small_junction.osm"), 0, NULL, 0, &b), DL_OK);
  const dl_net *n = &b.nb.net;
  check_ok(n);
  assert_int_equal(n->n_segs, 6);
  assert_int_equal(n->n_nodes, 8);
  assert_int_equal(n->n_edges, 12);
  assert_int_equal(b.rep.ways_not_car, 1);          /* footway */
  assert_int_equal(b.rep.ways_unknown_highway, 1);  /* weird_value */
  assert_int_equal(b.rep.ways_service_skipped, 1);
  assert_int_equal(b.rep.ways_missing_nodes, 1);
  assert_int_equal(b.rep.missing_refs, 1);
  assert_int_equal(b.rep.ways_too_short, 1);        /* the lone node 8 before the gap */
  /* way 1 (1-2-3-4-5) is cut at node 3 only: two segments of 3 vertices */
  double len1 = 0;
  int n1 = 0;
  for (uint32_t s = 0; s < n->n_segs; s++)
    if (n->seg_way[s] == 1) {
      n1++;
      len1 += n->seg_len[s];
      assert_int_equal(n->seg_vtx[s + 1] - n->seg_vtx[s], 3);
      assert_string_equal(dl_net_str(n, n->seg_name[s]), "East Road");
      assert_true(fabs(n->seg_maxspeed[s] - 60) < 1e-9);
    } else if (n->seg_way[s] == 2) {
      assert_string_equal(dl_net_str(n, n->road_name[n->seg_road[s]]), "S2"); /* ref names the road */
      assert_true(fabs(n->seg_maxspeed[s] - 30 * 1.609344) < 1e-9);
    } else if (n->seg_way[s] == 3) {
      assert_string_equal(dl_net_str(n, n->road_name[n->seg_road[s]]), "way 3");
    }
  assert_int_equal(n1, 2);
  /* expected: arc of the WGS84 parallel at 39.9N times the UTM 50N scale
   * factor at 116.402E (0.9996 on the central meridian 117E); the spherical
   * haversine would be 0.25 % short along a parallel at this latitude */
  double phi = 39.9 * M_PI / 180, sp = sin(phi), a = 6378137.0, e2 = 0.00669437999014;
  double arc = a / sqrt(1 - e2 * sp * sp) * cos(phi) * (0.004 * M_PI / 180);
  double dl = (116.402 - 117) * M_PI / 180 * cos(phi), k = 0.9996 * (1 + dl * dl / 2);
  assert_true(fabs(len1 - arc * k) < 1e-5 * arc);
  /* offsets along a segment end at its length */
  for (uint32_t s = 0; s < n->n_segs; s++)
    assert_true(fabs(n->vtx_off[n->seg_vtx[s + 1] - 1] - n->seg_len[s]) < 1e-9);
  built_free(&b);

  assert_int_equal(build_osm(dl_fixture("osm/small_junction.osm"), 1, NULL, 0, &b), DL_OK);
  assert_int_equal(b.nb.net.n_segs, 8); /* service way 2-7 added, way 1 now cut at node 2 too */
  built_free(&b);
}

static void haidian_extract_exact_counts(void **state) {
  (void)state;
  built b;
  assert_int_equal(build_osm(dl_fixture("osm/beijing_haidian_2013.osm"), 0, NULL, 0, &b), DL_OK);
  const dl_net *n = &b.nb.net;
  check_ok(n);
  assert_int_equal(n->n_segs, 1950);
  assert_int_equal(n->n_nodes, 1416);
  assert_int_equal(n->n_edges, 2538);
  assert_int_equal(n->n_roads, 661);
  /* osm_length.py (haversine, each way once) gives 429.157 km */
  double km = dl_net_length(n, NULL, NULL) / 1000;
  assert_true(fabs(km - 429.157) < 0.002 * 429.157);
  assert_int_equal(b.rep.ways_unknown_highway, 62); /* highway=other 61, road 1 */
  built_free(&b);
}

/* ---- queries against brute force ------------------------------------- */
static uint64_t rng = 88172645463325252ull;
static double urand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static void random_point_near_road(const dl_net *n, double spread, double *x, double *y) {
  uint32_t s = (uint32_t)(urand() * n->n_segs);
  uint32_t v = n->seg_vtx[s] + (uint32_t)(urand() * (n->seg_vtx[s + 1] - n->seg_vtx[s] - 1));
  double t = urand();
  *x = n->vtx_x[v] + t * (n->vtx_x[v + 1] - n->vtx_x[v]) + (urand() - 0.5) * spread;
  *y = n->vtx_y[v] + t * (n->vtx_y[v + 1] - n->vtx_y[v]) + (urand() - 0.5) * spread;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static void radius_and_nearest_match_brute_force(void **state) {
  (void)state;
  built b;
  assert_int_equal(build_osm(dl_fixture("osm/beijing_haidian_2013.osm"), 0, NULL, 0, &b), DL_OK);
  const dl_net *n = &b.nb.net;
  dl_net_query q;
  assert_int_equal(dl_net_query_init(&q, 8), DL_OK);
  uint32_t *got = malloc(n->n_vtx * sizeof *got), *want = malloc(n->n_vtx * sizeof *want);
  double *bd = malloc(n->n_vtx * sizeof *bd);
  for (int trial = 0; trial < 400; trial++) {
    double x, y, r = trial % 4 == 0 ? 150 : 30;
    random_point_near_road(n, trial % 2 ? 80 : 10, &x, &y);
    assert_int_equal(dl_net_radius(n, &q, x, y, r, 0), DL_OK);
    size_t ng = q.n, nw = 0, nb = 0;
    for (size_t i = 0; i < ng; i++) {
      got[i] = q.hit[i].piece;
      dl_net_hit h;
      dl_net_piece_hit(n, q.hit[i].piece, x, y, &h);
      assert_true(fabs(h.dist - q.hit[i].dist) < 1e-9);
      assert_true(fabs(hypot(q.hit[i].px - x, q.hit[i].py - y) - q.hit[i].dist) < 1e-6);
      assert_true(q.hit[i].offset >= -1e-9 && q.hit[i].offset <= n->seg_len[q.hit[i].seg] + 1e-9);
      uint32_t v = q.hit[i].piece;
      double hd = atan2(n->vtx_x[v + 1] - n->vtx_x[v], n->vtx_y[v + 1] - n->vtx_y[v]) * 180 / M_PI;
      assert_true(fabs((hd < 0 ? hd + 360 : hd) - q.hit[i].heading) < 1e-9);
    }
    for (uint32_t v = 0; v + 1 < n->n_vtx; v++) {
      if (n->vtx_seg[v] != n->vtx_seg[v + 1]) continue;
      dl_net_hit h;
      dl_net_piece_hit(n, v, x, y, &h);
      bd[nb++] = h.dist;
      if (h.dist <= r) want[nw++] = v;
    }
    assert_int_equal(ng, nw);
    qsort(got, ng, sizeof *got, cmp_u32);
    qsort(want, nw, sizeof *want, cmp_u32);
    assert_memory_equal(got, want, nw * sizeof *got);
    /* k nearest pieces: distances equal the k smallest brute-force ones */
    size_t k = 1 + trial % 7;
    assert_int_equal(dl_net_nearest(n, &q, x, y, k, INFINITY, 0), DL_OK);
    assert_int_equal(q.n, k);
    for (size_t i = 0; i < k; i++) {
      size_t below = 0;
      for (size_t j = 0; j < nb; j++) below += bd[j] < q.hit[i].dist - 1e-9;
      assert_true(below <= i); /* nothing closer was skipped */
      if (i) assert_true(q.hit[i].dist >= q.hit[i - 1].dist);
    }
    /* per segment: one hit per segment, the nearest piece */
    assert_int_equal(dl_net_radius(n, &q, x, y, r, DL_NETQ_PER_SEGMENT | DL_NETQ_SORT), DL_OK);
    for (size_t i = 0; i < q.n; i++)
      for (size_t j = i + 1; j < q.n; j++) assert_int_not_equal(q.hit[i].seg, q.hit[j].seg);
  }
  /* far away and non-finite points find nothing and do not crash */
  assert_int_equal(dl_net_radius(n, &q, 1e12, -1e12, 30, 0), DL_OK);
  assert_int_equal(q.n, 0);
  assert_int_equal(dl_net_radius(n, &q, NAN, 0, 30, 0), DL_OK);
  assert_int_equal(q.n, 0);
  assert_int_equal(dl_net_nearest(n, &q, NAN, 0, 3, INFINITY, 0), DL_OK);
  assert_int_equal(q.n, 0);
  free(got), free(want), free(bd);
  dl_net_query_free(&q);
  built_free(&b);
}

/* ---- the file ---------------------------------------------------------- */
static void save_open_round_trip_and_rejects_damage(void **state) {
  (void)state;
  built b;
  assert_int_equal(build_osm(dl_fixture("osm/small_junction.osm"), 0, NULL, 0, &b), DL_OK);
  char path[1100], bad[1200];
  snprintf(path, sizeof path, "%s/s.net", dl_tmpdir());
  snprintf(bad, sizeof bad, "%s.bad", path);
  dl_err e;
  int same = -1;
  assert_int_equal(dl_network_save(path, &b.nb.net, 0, &same, &e), DL_OK);
  assert_int_equal(same, 0);
  /* the same network again: nothing to write, not an error */
  assert_int_equal(dl_network_save(path, &b.nb.net, 0, &same, &e), DL_OK);
  assert_int_equal(same, 1);
  /* a different file at the path is never replaced without force */
  FILE *other = fopen(bad, "w");
  assert_non_null(other);
  fputs("not this network\n", other);
  fclose(other);
  assert_int_equal(dl_network_save(bad, &b.nb.net, 0, &same, &e), DL_EEXIST);
  assert_non_null(strstr(e.msg, "differs"));
  assert_int_equal(dl_network_save(path, &b.nb.net, 1, &same, &e), DL_OK);
  assert_int_equal(same, 0);
  dl_net n;
  dl_netfile *h;
  assert_int_equal(dl_network_open(path, &n, &h, &e), DL_OK);
  assert_int_equal(n.n_segs, b.nb.net.n_segs);
  assert_memory_equal(n.vtx_x, b.nb.net.vtx_x, n.n_vtx * sizeof(double));
  assert_memory_equal(n.edge_to, b.nb.net.edge_to, n.n_edges * sizeof(uint32_t));
  assert_string_equal(dl_net_str(&n, n.seg_name[0]), dl_net_str(&b.nb.net, b.nb.net.seg_name[0]));
  dl_network_close(h);

  FILE *f = fopen(path, "rb");
  struct stat st;
  stat(path, &st);
  size_t size = (size_t)st.st_size;
  unsigned char *buf = malloc(size);
  assert_int_equal(fread(buf, 1, size, f), size);
  fclose(f);
  /* every truncation length */
  for (size_t len = 0; len < size; len++) {
    f = fopen(bad, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    assert_int_equal(dl_network_open(bad, &n, &h, &e), DL_EFORMAT);
    assert_non_null(strstr(e.msg, bad));
  }
  /* one flipped bit at every byte position */
  for (size_t pos = 0; pos < size; pos++) {
    buf[pos] ^= 0x10;
    f = fopen(bad, "wb");
    fwrite(buf, 1, size, f);
    fclose(f);
    buf[pos] ^= 0x10;
    int rc = dl_network_open(bad, &n, &h, &e);
    if (rc == DL_OK) print_message("flip at %zu accepted\n", pos);
    assert_int_equal(rc, DL_EFORMAT);
  }
  /* wrong kind of file */
  f = fopen(bad, "wb");
  fputs("<?xml version=\"1.0\"?><osm></osm>\n<!-- padding padding padding padding padding -->\n", f);
  fclose(f);
  assert_int_equal(dl_network_open(bad, &n, &h, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "not a dustload network"));
  assert_int_equal(dl_network_open("/nonexistent/x.net", &n, &h, &e), DL_ENOINPUT);
  free(buf);
  unlink(bad), unlink(path);
  built_free(&b);
}

/* The import's path: the build streams each array to the writer, projects
 * only the nodes it keeps (node_x/node_y NULL) and releases input arrays. */
typedef struct stream_ctx {
  dl_netwriter *w;
  dl_proj *pj;
  dl_err e;
  dl_osm *o;
  int released[13], fail_at, puts;
} stream_ctx;

static int stream_put(void *user, const dl_netcol *col, uint64_t count, void *data) {
  stream_ctx *c = user;
  int rc = ++c->puts == c->fail_at ? dl_errf(&c->e, DL_EIO, "test: column %s refused", col->name)
                                   : dl_netwriter_put(c->w, col, count, data, &c->e);
  free(data);
  return rc;
}

static int stream_project(void *user, const double *lat, const double *lon, size_t n, double *x, double *y) {
  stream_ctx *c = user;
  return dl_proj_fwd(c->pj, lat, lon, n, x, y, &c->e);
}

static void stream_done(void *user, const void *p) {
  stream_ctx *c = user;
  dl_osm *o = c->o;
  void **arr[13] = {(void **)&o->node_id, (void **)&o->node_lat, (void **)&o->node_lon, (void **)&o->way_id,
                    (void **)&o->way_nd, (void **)&o->way_highway, (void **)&o->way_oneway,
                    (void **)&o->way_junction, (void **)&o->way_name, (void **)&o->way_ref,
                    (void **)&o->way_maxspeed, (void **)&o->nd_ref, (void **)&o->str};
  for (int i = 0; i < 13; i++)
    if (*arr[i] == p) {
      c->released[i]++;
      free(*arr[i]);
      *arr[i] = NULL;
    }
}

/* Streams the OSM file to path; fail_at > 0 makes that put fail. */
static int stream_import(const char *osm, const char *path, int fail_at, stream_ctx *c, dl_netbuild_report *rep,
                         dl_err *e) {
  memset(c, 0, sizeof *c);
  dl_osm o;
  assert_int_equal(dl_osm_read(osm, &o, e), DL_OK);
  c->o = &o, c->fail_at = fail_at;
  assert_int_equal(dl_proj_create(32650, &c->pj, e), DL_OK);
  dl_netsrc src = {o.n_nodes, o.node_id, o.node_lat, o.node_lon, NULL, NULL, o.n_ways, o.way_id, o.way_nd, o.nd_ref,
                   o.way_highway, o.way_oneway, o.way_junction, o.way_name, o.way_ref, o.way_maxspeed, o.str,
                   o.n_str};
  dl_netbuild_opts opt = {0, 50.0, 0.0, 32650};
  dl_netbuild_io io = {stream_put, stream_done, stream_project, c};
  dl_net n;
  assert_int_equal(dl_netwriter_open(path, &c->w, e), DL_OK);
  int rc = dl_netbuild_stream(&src, NULL, NULL, &opt, &io, &n, rep, e);
  if (rc) dl_netwriter_abort(c->w);
  else rc = dl_netwriter_close(c->w, &n, 1, NULL, e);
  dl_proj_free(c->pj);
  dl_osm_free(&o);
  c->o = NULL;
  return rc;
}

static int temp_files_beside(const char *path) {
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "ls '%s'.tmp* 2>/dev/null | grep -q .", path);
  return system(cmd) == 0;
}

static void streamed_import_equals_heap_build(void **state) {
  (void)state;
  const char *osm = dl_fixture("osm/beijing_haidian_2013.osm");
  built b;
  assert_int_equal(build_osm(osm, 0, NULL, 0, &b), DL_OK);
  char heap[1100], streamed[1100];
  snprintf(heap, sizeof heap, "%s/heap.net", dl_tmpdir());
  snprintf(streamed, sizeof streamed, "%s/streamed.net", dl_tmpdir());
  dl_err e;
  assert_int_equal(dl_network_save(heap, &b.nb.net, 1, NULL, &e), DL_OK);
  stream_ctx c;
  dl_netbuild_report rep;
  assert_int_equal(stream_import(osm, streamed, 0, &c, &rep, &e), DL_OK);
  for (int i = 0; i < 13; i++) assert_int_equal(c.released[i], 1); /* every input array, once */
  assert_true(rep.length_m == dl_net_length(&b.nb.net, NULL, NULL));
  assert_true(rep.length_m > 429e3 && rep.length_m < 430e3);
  /* byte for byte the file of the heap build */
  FILE *f1 = fopen(heap, "rb"), *f2 = fopen(streamed, "rb");
  assert_non_null(f1);
  assert_non_null(f2);
  int a, z;
  long n = 0;
  do {
    a = fgetc(f1), z = fgetc(f2);
    assert_int_equal(a, z);
    n++;
  } while (a != EOF);
  fclose(f1), fclose(f2);
  assert_true(n > 100000);
  unlink(heap), unlink(streamed);
  built_free(&b);
}

static void failed_stream_leaves_nothing(void **state) {
  (void)state;
  const char *osm = dl_fixture("osm/small_junction.osm");
  char path[1100];
  snprintf(path, sizeof path, "%s/fail.net", dl_tmpdir());
  unlink(path);
  stream_ctx c;
  dl_netbuild_report rep;
  dl_err e;
  static const int at[] = {1, 9, 17, 25, 33, 40}; /* 40 arrays: a refusing writer stops the build */
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    assert_int_equal(stream_import(osm, path, at[i], &c, &rep, &e), DL_EIO);
    assert_non_null(strstr(c.e.msg, "refused"));
    assert_int_equal(access(path, F_OK), -1);
    assert_false(temp_files_beside(path));
  }
  /* the writer: too few sections is an internal error, and nothing is left */
  dl_secw *w;
  static const char magic[8] = "TESTFILE";
  uint32_t v = 7;
  assert_int_equal(dl_secw_open(path, magic, 1, 2, &w, &e), DL_OK);
  assert_int_equal(dl_secw_add(w, "one", 4, 1, &v, &e), DL_OK);
  assert_int_equal(dl_secw_commit(w, 0, NULL, &e), DL_EINTERNAL);
  assert_int_equal(access(path, F_OK), -1);
  assert_false(temp_files_beside(path));
  /* a reserved section filled afterwards reads back, checksum and all */
  assert_int_equal(dl_secw_open(path, magic, 1, 2, &w, &e), DL_OK);
  assert_int_equal(dl_secw_add(w, "later", 4, 1, NULL, &e), DL_OK);
  assert_int_equal(dl_secw_add(w, "one", 4, 1, &v, &e), DL_OK);
  uint32_t later = 0xdeadbeef;
  assert_int_equal(dl_secw_fill(w, 0, &later, &e), DL_OK);
  assert_int_equal(dl_secw_commit(w, 0, NULL, &e), DL_OK);
  dl_secfile *f;
  uint64_t cnt;
  assert_int_equal(dl_secfile_open(path, magic, 1, &f, &e), DL_OK);
  const uint32_t *p = dl_secfile_get(f, "later", 4, &cnt);
  assert_non_null(p);
  assert_int_equal(cnt, 1);
  assert_int_equal(*p, 0xdeadbeef);
  dl_secfile_close(f);
  assert_false(temp_files_beside(path));
  unlink(path);
}

/* ---- GCJ-02 ------------------------------------------------------------- */
static void gcj02_round_trip_under_half_a_metre(void **state) {
  (void)state;
  double worst = 0;
  for (int i = 0; i < 20000; i++) {
    double lat = 39.4 + urand() * 1.6, lon = 115.4 + urand() * 2.2, glat, glon, la, lo;
    dl_wgs84_to_gcj02(lat, lon, &glat, &glon);
    double shift = dl_haversine_m(lat, lon, glat, glon);
    assert_true(shift > 100 && shift < 1000); /* the offset in Beijing is a few hundred metres */
    dl_gcj02_to_wgs84(glat, glon, &la, &lo);
    double d = dl_haversine_m(lat, lon, la, lo);
    if (d > worst) worst = d;
  }
  assert_true(worst < 0.01);
  /* GCJ-02 lies east and north of WGS84 in Beijing (the shared README: WGS84 = GCJ-02 - offset) */
  double glat, glon;
  dl_wgs84_to_gcj02(40.3, 116.6, &glat, &glon);
  assert_true(glon - 116.6 > 0.004 && glon - 116.6 < 0.008);
  assert_true(glat - 40.3 > 0.0005 && glat - 40.3 < 0.0025);
  /* identity outside China */
  dl_wgs84_to_gcj02(48.85, 2.35, &glat, &glon);
  assert_true(glat == 48.85 && glon == 2.35);
}

/* ---- boundaries --------------------------------------------------------- */
static void boundary_splits_segment_at_polygon_edge(void **state) {
  (void)state;
  /* one straight 1000 m road along y=0 from x=0 to x=1000, two-way; a square
   * polygon x in [300,700] with a hole x in [450,550] */
  const int64_t id[2] = {1, 2};
  const double lat[2] = {40, 40}, lon[2] = {116, 116.01}, x[2] = {0, 1000}, y[2] = {0, 0};
  const int64_t wid[1] = {7};
  const uint64_t nd[2] = {0, 2};
  const int64_t ref[2] = {1, 2};
  const char str[] = "\0residential\0";
  const uint32_t hw[1] = {1}, zero[1] = {0};
  dl_netsrc src = {2, id, lat, lon, x, y, 1, wid, nd, ref, hw, zero, zero, zero, zero, zero, str, sizeof str};
  const double px[8] = {300, 700, 700, 300, 450, 550, 550, 450};
  const double py[8] = {-50, -50, 50, 50, -20, -20, 20, 20};
  const uint32_t pr[2] = {0, 2}, rv[3] = {0, 4, 8};
  const char *names[1] = {"Square"};
  dl_polyset ps = {1, pr, rv, px, py, names};
  dl_netbuild_opts o = {0, 50, 0, 32650};
  dl_netbuf nb;
  dl_netbuild_report rep;
  dl_err e;
  assert_int_equal(dl_netbuild(&src, &ps, NULL, &o, &nb, &rep, &e), DL_OK);
  const dl_net *n = &nb.net;
  check_ok(n);
  assert_int_equal(n->n_segs, 5);
  assert_int_equal(rep.boundary_cuts, 4);
  const double cut[6] = {0, 300, 450, 550, 700, 1000};
  const int32_t lab[5] = {-1, 0, -1, 0, -1};
  for (uint32_t s = 0; s < 5; s++) {
    assert_true(fabs(n->vtx_x[n->seg_vtx[s]] - cut[s]) < 1e-9);
    assert_true(fabs(n->seg_len[s] - (cut[s + 1] - cut[s])) < 1e-9);
    assert_int_equal(n->seg_township[s], lab[s]);
    assert_int_equal(n->seg_district[s], -1);
    if (s) assert_int_equal(n->seg_from[s], n->seg_to[s - 1]);
  }
  /* the split point's lat/lon is interpolated along the piece */
  assert_true(fabs(n->vtx_lon[n->seg_vtx[1]] - 116.003) < 1e-12);
  assert_int_equal(n->n_nodes, 6);
  assert_int_equal(n->n_edges, 10);
  assert_int_equal(dl_polyset_locate(&ps, 500, 0), -1);
  assert_int_equal(dl_polyset_locate(&ps, 400, 0), 0);
  dl_netbuf_free(&nb);
}

static void real_districts_gcj02_and_wgs84_agree(void **state) {
  (void)state;
  DL_SKIP_IF_NO_SHARED("beijing_admin_divisions/beijing_central6_districts_gcj02.geojson");
  const char *g = dl_shared("beijing_admin_divisions/beijing_central6_districts_gcj02.geojson");
  char gp[1024];
  snprintf(gp, sizeof gp, "%s", g);
  const char *w = dl_shared("beijing_admin_divisions/beijing_central6_districts_wgs84.geojson");
  char wp[1024];
  snprintf(wp, sizeof wp, "%s", w);
  built a, b, plain;
  const char *osm = dl_fixture("osm/beijing_haidian_2013.osm");
  assert_int_equal(build_osm(osm, 0, gp, 1, &a), DL_OK);
  assert_int_equal(build_osm(osm, 0, wp, 0, &b), DL_OK);
  assert_int_equal(build_osm(osm, 0, NULL, 0, &plain), DL_OK);
  const dl_net *na = &a.nb.net, *nb = &b.nb.net;
  check_ok(na);
  check_ok(nb);
  assert_int_equal(na->n_districts, 6);
  /* splitting keeps the length */
  double la = dl_net_length(na, NULL, NULL), lp = dl_net_length(&plain.nb.net, NULL, NULL);
  assert_true(fabs(la - lp) < 1e-6 * lp);
  assert_true(na->n_segs > plain.nb.net.n_segs);
  /* the Haidian extract lies mostly in Haidian (110108), partly in Xicheng/Chaoyang */
  double per[7] = {0}, perb[7] = {0};
  for (uint32_t s = 0; s < na->n_segs; s++) per[na->seg_district[s] + 1] += na->seg_len[s];
  for (uint32_t s = 0; s < nb->n_segs; s++) perb[nb->seg_district[s] + 1] += nb->seg_len[s];
  int hd = -1;
  for (uint32_t d = 0; d < na->n_districts; d++)
    if (!strcmp(dl_net_str(na, na->district_name[d]), "海淀区")) hd = (int)d;
  assert_true(hd >= 0);
  assert_true(per[hd + 1] > 0.6 * la);
  assert_true(per[0] < 0.01 * la); /* almost nothing outside the six districts */
  /* the converted GCJ-02 polygons and the shared WGS84 ones agree to 0.1 % of the length */
  for (int d = 0; d < 7; d++) assert_true(fabs(per[d] - perb[d]) < 1e-3 * la);
  built_free(&a), built_free(&b), built_free(&plain);
}

/* dl_proj writes the UTM operation out as a PROJ pipeline (no proj.db, so
 * no SQLite cache); it must give what PROJ's own EPSG:4326 -> EPSG:326zz /
 * 327zz operation gives, forward and back, to 1e-9 m and 1e-12 degrees. */
static void utm_pipeline_equals_proj_epsg_operation(void **state) {
  (void)state;
  const int codes[] = {32650, 32601, 32660, 32733, 32750};
  PJ_CONTEXT *ctx = proj_context_create();
  proj_log_level(ctx, PJ_LOG_NONE);
  int compared = 0;
  for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++) {
    char dst[32];
    snprintf(dst, sizeof dst, "EPSG:%d", codes[c]);
    PJ *raw = proj_create_crs_to_crs(ctx, "EPSG:4326", dst, NULL);
    if (!raw) continue; /* no EPSG database here: nothing to compare with */
    PJ *ref = proj_normalize_for_visualization(ctx, raw);
    proj_destroy(raw);
    assert_non_null(ref);
    dl_err e;
    dl_proj *pj;
    assert_int_equal(dl_proj_create(codes[c], &pj, &e), DL_OK);
    double cm = (codes[c] % 100) * 6.0 - 183.0, south = codes[c] > 32700;
    enum { N = 400 };
    double lat[N], lon[N], x[N], y[N], la2[N], lo2[N];
    for (int i = 0; i < N; i++) { /* the zone and 1 degree beyond, equator to 80 degrees */
      lon[i] = cm - 4.0 + 8.0 * (i % 20) / 19.0;
      lat[i] = (south ? -1 : 1) * 80.0 * (i / 20) / 19.0;
    }
    assert_int_equal(dl_proj_fwd(pj, lat, lon, N, x, y, &e), DL_OK);
    assert_int_equal(dl_proj_inv(pj, x, y, N, la2, lo2, &e), DL_OK);
    for (int i = 0; i < N; i++) {
      PJ_COORD r = proj_trans(ref, PJ_FWD, proj_coord(lon[i], lat[i], 0, 0));
      assert_true(fabs(r.xy.x - x[i]) <= 1e-9 && fabs(r.xy.y - y[i]) <= 1e-9);
      PJ_COORD b = proj_trans(ref, PJ_INV, proj_coord(x[i], y[i], 0, 0));
      assert_true(fabs(b.lp.lam - lo2[i]) <= 1e-12 && fabs(b.lp.phi - la2[i]) <= 1e-12);
      compared++;
    }
    dl_proj_free(pj);
    proj_destroy(ref);
  }
  proj_context_destroy(ctx);
  if (!compared) skip();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oneway_variants_and_roundabout),
      cmocka_unit_test(splits_at_junctions_and_reports_drops),
      cmocka_unit_test(haidian_extract_exact_counts),
      cmocka_unit_test(radius_and_nearest_match_brute_force),
      cmocka_unit_test(save_open_round_trip_and_rejects_damage),
      cmocka_unit_test(streamed_import_equals_heap_build),
      cmocka_unit_test(failed_stream_leaves_nothing),
      cmocka_unit_test(gcj02_round_trip_under_half_a_metre),
      cmocka_unit_test(boundary_splits_segment_at_polygon_edge),
      cmocka_unit_test(real_districts_gcj02_and_wgs84_agree),
      cmocka_unit_test(utm_pipeline_equals_proj_epsg_operation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
