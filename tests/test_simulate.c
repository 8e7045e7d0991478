/* test_simulate.c: shortest paths against brute force, and a simulated run
 * on the real Haidian extract checked against its own truth: kinematics,
 * truth on the road, GPS noise through the NMEA writer and reader, DustTrak
 * export and manifest round trips, the v³ law and the calibration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_io.h"
#include "dl_netio.h"
#include "dl_netopen.h"
#include "dl_route.h"
#include "dl_simulate.h"
#include "dl_simwrite.h"
#include "dl_test.h"
#include "manifest.h"

/* ---- shortest paths on small random graphs ------------------------------ */
typedef struct graph {
  dl_net n;
  uint32_t node_edge[33], from[200], to[200];
  double len[200];
} graph;

/* A random directed multigraph of nn nodes and about ne edges, in CSR. */
static void make_graph(graph *g, uint32_t nn, uint32_t ne, uint64_t seed) {
  memset(g, 0, sizeof *g);
  dl_rng r;
  dl_rng_seed(&r, seed, 99);
  uint32_t k = 0;
  for (uint32_t u = 0; u < nn; u++) {
    g->node_edge[u] = k;
    uint32_t deg = (uint32_t)(dl_rng_uniform(&r) * (2.0 * ne / nn + 1));
    for (uint32_t j = 0; j < deg && k < 200; j++, k++) {
      g->from[k] = u;
      g->to[k] = (uint32_t)(dl_rng_uniform(&r) * nn);
      g->len[k] = 1.0 + floor(dl_rng_uniform(&r) * 20.0); /* integers: ties happen */
    }
  }
  g->node_edge[nn] = k;
  g->n.n_nodes = nn;
  g->n.n_edges = k;
  g->n.node_edge = g->node_edge;
  g->n.edge_from = g->from;
  g->n.edge_to = g->to;
  g->n.edge_len = g->len;
}

static void route_matches_brute_force(void **state) {
  (void)state;
  static double dist[32][32];
  for (uint64_t seed = 1; seed <= 30; seed++) {
    graph g;
    uint32_t nn = 8 + (uint32_t)(seed % 24);
    make_graph(&g, nn, nn * 3, seed);
    double mult[200];
    for (uint32_t k = 0; k < g.n.n_edges; k++) mult[k] = (seed & 1) ? 1.0 + (k % 3) : 1.0;
    /* Floyd-Warshall */
    for (uint32_t i = 0; i < nn; i++)
      for (uint32_t j = 0; j < nn; j++) dist[i][j] = i == j ? 0 : INFINITY;
    for (uint32_t k = 0; k < g.n.n_edges; k++) {
      double c = g.len[k] * mult[k];
      if (c < dist[g.from[k]][g.to[k]]) dist[g.from[k]][g.to[k]] = c;
    }
    for (uint32_t m = 0; m < nn; m++)
      for (uint32_t i = 0; i < nn; i++)
        for (uint32_t j = 0; j < nn; j++)
          if (dist[i][m] + dist[m][j] < dist[i][j]) dist[i][j] = dist[i][m] + dist[m][j];
    dl_err e;
    dl_route *w = dl_route_create(nn, g.n.n_edges, &e);
    assert_non_null(w);
    for (uint32_t i = 0; i < nn; i++)
      for (uint32_t j = 0; j < nn; j++) {
        const uint32_t *p;
        size_t cnt;
        double cost;
        int rc = dl_route_shortest(w, &g.n, i, j, mult, &p, &cnt, &cost);
        if (!isfinite(dist[i][j])) {
          assert_int_equal(rc, DL_ENODATA);
          continue;
        }
        assert_int_equal(rc, DL_OK);
        assert_true(cost == dist[i][j]);
        /* the edges chain from i to j and add up to the cost */
        uint32_t at = i;
        double sum = 0;
        for (size_t q = 0; q < cnt; q++) {
          assert_int_equal(g.from[p[q]], at);
          at = g.to[p[q]];
          sum += g.len[p[q]] * mult[p[q]];
        }
        assert_int_equal(at, j);
        assert_true(fabs(sum - cost) < 1e-9);
        if (i == j) assert_int_equal(cnt, 0);
      }
    dl_route_free(w);
  }
}

static void route_bounded_multi_seed_search(void **state) {
  (void)state;
  graph g;
  make_graph(&g, 30, 90, 7);
  dl_err e;
  dl_route *w = dl_route_create(30, g.n.n_edges, &e);
  /* two seeds behave as a virtual source joined to both */
  dl_route_begin(w);
  dl_route_seed(w, 3, 5.0, DL_NET_NONE);
  dl_route_seed(w, 11, 0.0, DL_NET_NONE);
  dl_route_seed(w, 3, 9.0, DL_NET_NONE); /* worse: ignored */
  dl_route_run(w, &g.n, NULL, INFINITY, DL_NET_NONE);
  double both[30];
  for (uint32_t v = 0; v < 30; v++) both[v] = dl_route_cost(w, v);
  for (uint32_t v = 0; v < 30; v++) {
    const uint32_t *p;
    size_t cnt;
    double c3, c11;
    if (dl_route_shortest(w, &g.n, 3, v, NULL, &p, &cnt, &c3)) c3 = INFINITY;
    if (dl_route_shortest(w, &g.n, 11, v, NULL, &p, &cnt, &c11)) c11 = INFINITY;
    double want = fmin(c3 + 5.0, c11);
    assert_true(both[v] == want || (isinf(both[v]) && isinf(want)));
  }
  /* a bound settles exactly the nodes within it, with their true costs */
  double from11[30];
  for (uint32_t v = 0; v < 30; v++) {
    const uint32_t *p;
    size_t cnt;
    if (dl_route_shortest(w, &g.n, 11, v, NULL, &p, &cnt, &from11[v])) from11[v] = INFINITY;
  }
  dl_route_begin(w);
  dl_route_seed(w, 11, 0.0, DL_NET_NONE);
  size_t settled = dl_route_run(w, &g.n, NULL, 15.0, DL_NET_NONE), within = 0;
  for (uint32_t v = 0; v < 30; v++) {
    double c = dl_route_cost(w, v);
    if (from11[v] <= 15.0) {
      assert_true(c == from11[v]);
      within++;
    } else {
      assert_true(isinf(c));
    }
  }
  assert_int_equal(settled, within);
  assert_true(within >= 2 && within < 30);
  dl_route_free(w);
}

/* ---- a simulated hour on the Haidian extract ----------------------------- */
typedef struct world {
  char dir[1024], net_path[1100];
  dl_net n;
  dl_netfile *nf;
  dl_sim_params p;
  dl_sim s;
} world;

static int setup(void **state) {
  world *w = calloc(1, sizeof *w);
  snprintf(w->dir, sizeof w->dir, "%s", dl_tmpdir());
  snprintf(w->net_path, sizeof w->net_path, "%s/hd.net", w->dir);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' network import -q --osm '%s' -o '%s'", dl_bin(),
           dl_fixture("osm/beijing_haidian_2013.osm"), w->net_path);
  if (system(cmd) != 0) return -1;
  dl_err e;
  if (dl_network_open(w->net_path, &w->n, &w->nf, &e)) return -1;
  dl_sim_params_default(&w->p);
  w->p.seed = 11;
  w->p.hours = 1.0;
  w->p.tyre_delay_s = 3.0; /* whole seconds: readings line up with truth seconds */
  w->p.tyre_clock_offset_s = -20.0;
  if (dl_simulate(&w->n, &w->p, &w->s, &e)) {
    fprintf(stderr, "simulate: %s\n", e.msg);
    return -1;
  }
  *state = w;
  return 0;
}

static int teardown(void **state) {
  world *w = *state;
  dl_sim_free(&w->s);
  dl_network_close(w->nf);
  free(w);
  return 0;
}

static void simulate_is_deterministic(void **state) {
  world *w = *state;
  dl_sim b;
  dl_err e;
  assert_int_equal(dl_simulate(&w->n, &w->p, &b, &e), DL_OK);
  size_t ns = w->s.n_sec;
  assert_int_equal(b.n_sec, ns);
  assert_memory_equal(b.x, w->s.x, ns * sizeof *b.x);
  assert_memory_equal(b.gps_x, w->s.gps_x, ns * sizeof *b.gps_x);
  assert_memory_equal(b.inst[0].ugm3, w->s.inst[0].ugm3, b.inst[0].n * sizeof *b.inst[0].ugm3);
  dl_sim_free(&b);
  /* another seed drives elsewhere */
  dl_sim_params p2 = w->p;
  p2.seed = 12;
  assert_int_equal(dl_simulate(&w->n, &p2, &b, &e), DL_OK);
  assert_true(memcmp(b.x, w->s.x, ns * sizeof *b.x) != 0);
  dl_sim_free(&b);
  /* the GPS noise level does not move the route */
  p2 = w->p;
  p2.gps_sigma_m = 15;
  assert_int_equal(dl_simulate(&w->n, &p2, &b, &e), DL_OK);
  assert_memory_equal(b.x, w->s.x, ns * sizeof *b.x);
  assert_true(memcmp(b.gps_x, w->s.gps_x, ns * sizeof *b.gps_x) != 0);
  dl_sim_free(&b);
}

static void speed_profile_respects_limits(void **state) {
  world *w = *state;
  const dl_sim *s = &w->s;
  const dl_net *n = &w->n;
  size_t stopped = 0, runs = 0;
  for (size_t j = 0; j < s->n_sec; j++) {
    uint32_t g = s->seg[j];
    double cap = dl_sim_class_speed_kmh(n->seg_class[g]);
    if (isfinite(n->seg_maxspeed[g])) cap = fmin(cap, n->seg_maxspeed[g]);
    assert_true(s->speed[j] <= cap / 3.6 + 1e-9);
    if (j) {
      double a = s->speed[j] - s->speed[j - 1];
      assert_true(a <= 2.0 + 1e-9 && a >= -2.0 - 1e-9);
    }
    if (s->speed[j] == 0) {
      stopped++;
      if (j && s->speed[j - 1] > 0) runs++;
    }
  }
  assert_true(s->max_accel <= 2.0 && s->max_brake <= 2.0);
  assert_true(s->n_stops >= 10);                 /* stops at junctions happen */
  assert_true(runs >= 10 && stopped >= 60);
  /* sharp turns are taken slowly: a heading change over 60° within 2 s
   * happens below 8 m/s */
  size_t turns = 0;
  for (size_t j = 1; j + 1 < s->n_sec; j++) {
    if (s->speed[j] < 1.0) continue;
    double dh = fabs(fmod(s->heading[j + 1] - s->heading[j - 1] + 540.0, 360.0) - 180.0);
    if (dh > 60.0 && s->speed[j - 1] > 1.0 && s->speed[j + 1] > 1.0) {
      turns++;
      assert_true(fmin(s->speed[j - 1], fmin(s->speed[j], s->speed[j + 1])) < 8.0);
    }
  }
  assert_true(turns >= 5);
  /* a realistic urban drive: 15-45 km in an hour */
  assert_true(s->distance_m > 15000 && s->distance_m < 45000);
}

static void truth_points_lie_on_their_segment(void **state) {
  world *w = *state;
  const dl_sim *s = &w->s;
  const dl_net *n = &w->n;
  for (size_t j = 0; j < s->n_sec; j++) {
    uint32_t g = s->seg[j];
    assert_true(g < n->n_segs);
    assert_true(s->offset[j] >= 0 && s->offset[j] <= n->seg_len[g]);
    assert_int_equal(n->edge_seg[s->edge[j]], g);
    /* the point is on the polyline, at that offset */
    double best = INFINITY, boff = NAN;
    for (uint32_t v = n->seg_vtx[g]; v + 1 < n->seg_vtx[g + 1]; v++) {
      dl_net_hit h;
      dl_net_piece_hit(n, v, s->x[j], s->y[j], &h);
      if (h.dist < best) best = h.dist, boff = h.offset;
    }
    assert_true(best < 1e-6);
    assert_true(fabs(boff - s->offset[j]) < 1e-3 || best < 1e-6);
    /* continuity: no jump beyond what the speeds at both ends allow with
     * |a| <= 2 m/s² in between */
    if (j) {
      double d = hypot(s->x[j] - s->x[j - 1], s->y[j] - s->y[j - 1]);
      if (!(d <= 0.5 * (s->speed[j] + s->speed[j - 1]) + 0.5))
        fail_msg("second %zu: moved %.3f m at speeds %.3f, %.3f (segments %u, %u)", j, d, s->speed[j - 1],
                 s->speed[j], s->seg[j - 1], s->seg[j]);
    }
  }
}

static void route_prefers_undriven_roads(void **state) {
  world *w = *state;
  dl_sim_params p = w->p;
  p.revisit_cost = 1.0; /* no preference for new roads */
  dl_sim b;
  dl_err e;
  assert_int_equal(dl_simulate(&w->n, &p, &b, &e), DL_OK);
  /* distinct road length per driven kilometre */
  double mine = 0, plain = 0;
  for (uint32_t g = 0; g < w->n.n_segs; g++) {
    if (w->s.seg_driven_m[g] > 0) mine += w->n.seg_len[g];
    if (b.seg_driven_m[g] > 0) plain += w->n.seg_len[g];
  }
  double share = mine / w->s.distance_m, share_plain = plain / b.distance_m;
  print_message("new road per driven km: %.3f with preference, %.3f without\n", share, share_plain);
  assert_true(share > share_plain);
  assert_true(share > 0.8);
  dl_sim_free(&b);
  /* coverage keeps growing through the drive */
  uint8_t *seen = calloc(w->n.n_segs, 1);
  size_t distinct = 0, at_half = 0;
  for (size_t j = 0; j < w->s.n_sec; j++) {
    if (!seen[w->s.seg[j]]) seen[w->s.seg[j]] = 1, distinct++;
    if (j == w->s.n_sec / 2) at_half = distinct;
  }
  assert_true(distinct > at_half + at_half / 2);
  free(seen);
}

static void gps_noise_has_configured_sigma_through_nmea(void **state) {
  world *w = *state;
  const dl_sim *s = &w->s;
  char path[1200];
  snprintf(path, sizeof path, "%s/gps.nmea", w->dir);
  /* the CLI's path: project to WGS84, write, read back, project again */
  dl_err e;
  dl_proj *pj;
  assert_int_equal(dl_proj_create(w->n.epsg, &pj, &e), DL_OK);
  dl_fixes fx;
  dl_fixes_init(&fx);
  double *xs = malloc(s->n_sec * sizeof *xs), *ys = malloc(s->n_sec * sizeof *ys);
  size_t *idx = malloc(s->n_sec * sizeof *idx);
  size_t k = 0;
  for (size_t j = 0; j < s->n_sec; j++) {
    if (!s->gps_ok[j]) continue;
    long i = dl_fixes_push(&fx);
    assert_true(i >= 0);
    fx.t[i] = s->t[j], fx.speed[i] = s->gps_speed[j], fx.course[i] = s->gps_course[j];
    fx.hdop[i] = s->gps_hdop[j], fx.quality[i] = 1, fx.nsat[i] = s->gps_nsat[j];
    xs[k] = s->gps_x[j], ys[k] = s->gps_y[j], idx[k] = j;
    k++;
  }
  assert_int_equal(k, s->n_fixes);
  assert_int_equal(dl_proj_inv(pj, xs, ys, k, fx.lat, fx.lon, &e), DL_OK);
  assert_int_equal(dl_nmea_write(path, &fx, 52.0, 0, &e), DL_OK);
  assert_int_equal(dl_nmea_write(path, &fx, 52.0, 0, &e), DL_EEXIST); /* never overwritten */
  dl_fixes rd;
  dl_fixes_init(&rd);
  dl_rejects rej;
  memset(&rej, 0, sizeof rej);
  dl_gps_opts go;
  dl_gps_opts_default(&go);
  assert_int_equal(dl_read_nmea(path, &go, &rd, &rej, &e), DL_OK);
  assert_int_equal(dl_rejects_total(&rej), 0);
  assert_int_equal(rd.n, s->n_fixes);
  assert_int_equal(rej.lines, 2 * s->n_fixes);
  assert_true(s->n_dropouts >= 1 && s->n_fixes + s->dropout_s == s->n_sec);
  double *rx = malloc(rd.n * sizeof *rx), *ry = malloc(rd.n * sizeof *ry);
  assert_int_equal(dl_proj_fwd(pj, rd.lat, rd.lon, rd.n, rx, ry, &e), DL_OK);
  double sxx = 0, syy = 0, cxy = 0, c1 = 0;
  size_t m = 0, m1 = 0, big = 0;
  double pex = NAN;
  for (size_t i = 0; i < rd.n; i++) {
    size_t j = idx[i];
    assert_true(rd.t[i] == s->t[j]);
    assert_true(fabs(rd.speed[i] - s->gps_speed[j]) < 0.001);
    assert_int_equal(rd.quality[i], 1);
    assert_true(fabs(rx[i] - xs[i]) < 0.05 && fabs(ry[i] - ys[i]) < 0.05); /* 1e-5' resolution */
    double ex = rx[i] - s->x[j], ey = ry[i] - s->y[j];
    if (hypot(ex, ey) > 30) big++;
    if (s->gps_outlier[j]) {
      pex = NAN;
      continue;
    }
    sxx += ex * ex, syy += ey * ey, cxy += ex * ey, m++;
    if (!isnan(pex) && i && idx[i - 1] == j - 1) c1 += ex * pex, m1++;
    pex = ex;
  }
  double sdx = sqrt(sxx / m), sdy = sqrt(syy / m), rho = (c1 / m1) / (sxx / m);
  print_message("GPS noise: sd %.2f / %.2f m, lag-1 correlation %.3f, %zu outliers of %zu fixes\n", sdx,
                sdy, rho, s->n_outliers, rd.n);
  assert_true(fabs(sdx - 5.0) < 0.5 && fabs(sdy - 5.0) < 0.5);
  assert_true(fabs(rho - 0.7) < 0.07);
  assert_true(fabs(cxy / m) < 2.5); /* axes independent */
  assert_true(s->n_outliers >= rd.n / 200 && s->n_outliers <= rd.n * 3 / 200);
  assert_true(big >= s->n_outliers - s->n_outliers / 10 && big <= s->n_outliers + 3);
  free(rx), free(ry), free(xs), free(ys), free(idx);
  dl_fixes_free(&fx);
  dl_fixes_free(&rd);
  dl_proj_free(pj);
}

/* Reading index of instrument i whose air entered at truth second j. */
static long reading_at(const dl_sim *s, int i, size_t j) {
  const dl_sim_inst *in = &s->inst[i];
  double k = s->t[j] + in->delay_s - in->clock_offset_s - (double)in->clock0;
  assert_true(k == floor(k)); /* whole-second lags in this test */
  return k >= 0 && k < (double)in->n ? (long)k : -1;
}

static void tyre_excess_follows_v_cubed_and_calibration(void **state) {
  world *w = *state;
  const dl_sim *s = &w->s;
  const double vref = w->p.v_ref_kmh / 3.6;
  double sx = 0, sy = 0, sxx = 0, sxy = 0, ratio = 0;
  size_t m = 0;
  for (size_t j = 3; j + 3 < s->n_sec; j++) {
    double v = s->speed[j];
    if (v < 5.0 || s->seg[j - 1] != s->seg[j] || s->seg[j + 1] != s->seg[j]) continue;
    if (fabs(s->speed[j + 1] - s->speed[j - 1]) > 0.5) continue;
    long kt = reading_at(s, DL_SIM_TYRE, j), kb = reading_at(s, DL_SIM_BG, j);
    if (kt < 0 || kb < 0) continue;
    double dc = s->inst[DL_SIM_TYRE].ugm3[kt] - s->inst[DL_SIM_BG].ugm3[kb];
    double tref = s->seg_tref[s->seg[j]];
    if (dc <= 0) continue;
    double x = log(v / vref), y = log(dc / tref);
    sx += x, sy += y, sxx += x * x, sxy += x * y, m++;
    ratio += dc / (tref * pow(v / vref, 3.0));
  }
  assert_true(m > 500);
  double slope = (sxy - sx * sy / m) / (sxx - sx * sx / m);
  print_message("log excess vs log speed: slope %.3f over %zu seconds; mean ratio %.3f\n", slope, m,
                ratio / m);
  assert_true(fabs(slope - 3.0) < 0.15);
  assert_true(fabs(ratio / m - 1.0) < 0.05); /* so sL = a * T_ref^beta gives the load back */
  /* the background stays within its range except for truck spikes */
  const dl_sim_inst *bg = &s->inst[DL_SIM_BG];
  size_t inside = 0;
  for (size_t k = 0; k < bg->n; k++) inside += bg->ugm3[k] >= 35 && bg->ugm3[k] <= 320;
  assert_true(inside > bg->n * 95 / 100);
}

static void loads_follow_road_class(void **state) {
  world *w = *state;
  const dl_net *n = &w->n;
  double big = 0, small = 0;
  size_t nb = 0, ns = 0;
  for (uint32_t g = 0; g < n->n_segs; g++) {
    double l = w->s.seg_load[g];
    assert_true(l >= 0.1 && l <= 2.0);
    assert_true(fabs(0.04 * pow(w->s.seg_tref[g], w->p.calib_beta) - l) < 1e-9 * l);
    int c = n->seg_class[g];
    if (c == DL_HW_MOTORWAY || c == DL_HW_TRUNK) big += l, nb++;
    if (c == DL_HW_RESIDENTIAL || c == DL_HW_UNCLASSIFIED || c == DL_HW_TERTIARY) small += l, ns++;
  }
  assert_true(nb > 10 && ns > 10);
  assert_true(big / nb < 0.5 * (small / ns));
}

static void dusttrak_export_reads_back(void **state) {
  world *w = *state;
  const dl_sim_inst *in = &w->s.inst[DL_SIM_TYRE];
  char path[1200];
  snprintf(path, sizeof path, "%s/tyre.csv", w->dir);
  dl_dusttrak_info info = {"DustTrak II", "8530", "8530000001", "001", "03/02/2020", "AEROSOL"};
  dl_err e;
  assert_int_equal(dl_dusttrak_write(path, &info, in->clock0 + 8 * 3600, in->ugm3, in->n, 0, &e), DL_OK);
  dl_inst_opts o;
  dl_inst_opts_default(&o);
  assert_int_equal(dl_parse_tz("+08:00", &o.tz_offset_s), DL_OK);
  o.have_tz = 1;
  dl_samples sm;
  dl_samples_init(&sm);
  dl_rejects rej;
  memset(&rej, 0, sizeof rej);
  assert_int_equal(dl_read_dusttrak(path, &o, &sm, &rej, &e), DL_OK);
  assert_int_equal(sm.n, in->n);
  assert_int_equal(dl_rejects_total(&rej), rej.count[DL_REJ_HEADER]);
  assert_int_equal(rej.count[DL_REJ_HEADER], 29); /* as in the real export */
  assert_string_equal(sm.model, "DustTrak II 8530");
  assert_true(sm.interval_s == 1.0);
  for (size_t k = 0; k < sm.n; k++) {
    assert_true(sm.t[k] == (double)(in->clock0 + (int64_t)k));
    assert_true(sm.value[k] == (double)in->ugm3[k]);
  }
  dl_samples_free(&sm);
}

static void manifest_round_trips(void **state) {
  world *w = *state;
  char path[1200], gps[1200], t1[1200], t2[1200];
  snprintf(path, sizeof path, "%s/m.ini", w->dir);
  snprintf(gps, sizeof gps, "%s/gps.nmea", w->dir);
  snprintf(t1, sizeof t1, "%s/tyre.csv", w->dir);
  snprintf(t2, sizeof t2, "%s/bg.csv", w->dir);
  FILE *f = fopen(t2, "w");
  fputs("x\n", f);
  fclose(f);
  f = fopen(gps, "a");
  fclose(f);
  f = fopen(t1, "a");
  fclose(f);
  dl_manifest m;
  memset(&m, 0, sizeof m);
  m.run_id = "sim-1";
  m.vehicle = "van";
  m.network = w->net_path;
  m.tz_offset_s = 8 * 3600, m.have_tz = 1;
  m.ngps = 1;
  m.gps[0].path = "gps.nmea", m.gps[0].format = DL_FMT_NMEA;
  m.ninst = 2;
  strcpy(m.inst[0].name, "tyre");
  m.inst[0].path = "tyre.csv", m.inst[0].format = DL_FMT_DUSTTRAK, m.inst[0].role = DL_ROLE_TYRE;
  m.inst[0].inlet_delay_s = 2.0, m.inst[0].opts.clock_offset_s = -12.5;
  strcpy(m.inst[1].name, "bg");
  m.inst[1].path = "bg.csv", m.inst[1].role = DL_ROLE_BACKGROUND, m.inst[1].inlet_delay_s = 1.0;
  m.inst[1].opts.tz_offset_s = 19800, m.inst[1].opts.have_tz = 1;
  m.have_calib_a = m.have_calib_beta = 1;
  m.calib_a = 0.04, m.calib_beta = 1.0 / (3 * 0.91);
  dl_err e;
  assert_int_equal(dl_manifest_write(path, &m, "line one\nline two", 0, &e), DL_OK);
  dl_manifest r;
  if (dl_manifest_read(path, &r, &e)) fail_msg("%s", e.msg);
  assert_string_equal(r.run_id, "sim-1");
  assert_string_equal(r.vehicle, "van");
  assert_string_equal(r.network, w->net_path);
  assert_true(r.have_tz && r.tz_offset_s == 28800);
  assert_int_equal(r.ngps, 1);
  assert_string_equal(r.gps[0].path, gps);
  assert_int_equal(r.gps[0].format, DL_FMT_NMEA);
  assert_int_equal(r.ninst, 2);
  assert_int_equal(r.role_inst[DL_ROLE_TYRE], 0);
  assert_int_equal(r.role_inst[DL_ROLE_BACKGROUND], 1);
  assert_true(r.inst[0].opts.clock_offset_s == -12.5 && r.inst[0].inlet_delay_s == 2.0);
  assert_true(r.inst[0].opts.tz_offset_s == 28800);
  assert_true(r.inst[1].opts.tz_offset_s == 19800);
  assert_int_equal(r.inst[1].format, DL_FMT_UNKNOWN);
  assert_true(r.calib_a == 0.04 && r.calib_beta == 1.0 / (3 * 0.91)); /* exact */
  dl_manifest_free(&r);
  /* a value the INI reader would cut is refused, not written wrong */
  m.run_id = "bad ;id";
  snprintf(path, sizeof path, "%s/m2.ini", w->dir);
  assert_int_equal(dl_manifest_write(path, &m, NULL, 0, &e), DL_EUSAGE);
}

static void simulate_refuses_bad_input(void **state) {
  world *w = *state;
  dl_sim_params p = w->p;
  dl_sim b;
  dl_err e;
  p.hours = 0;
  assert_int_equal(dl_simulate(&w->n, &p, &b, &e), DL_EUSAGE);
  p = w->p;
  p.gps_rho = 1.0;
  assert_int_equal(dl_simulate(&w->n, &p, &b, &e), DL_EUSAGE);
  /* a graph without a cycle cannot host a drive */
  graph g;
  memset(&g, 0, sizeof g);
  g.node_edge[0] = 0, g.node_edge[1] = 1, g.node_edge[2] = 1;
  g.from[0] = 0, g.to[0] = 1, g.len[0] = 100;
  g.n.n_nodes = 2, g.n.n_edges = 1, g.n.n_segs = 1;
  uint32_t sf[1] = {0}, st[1] = {1};
  g.n.seg_from = sf, g.n.seg_to = st;
  g.n.node_edge = g.node_edge, g.n.edge_from = g.from, g.n.edge_to = g.to, g.n.edge_len = g.len;
  uint32_t road[1] = {0};
  uint8_t cls[1] = {DL_HW_RESIDENTIAL};
  g.n.seg_road = road, g.n.seg_class = cls;
  p = w->p;
  assert_int_equal(dl_simulate(&g.n, &p, &b, &e), DL_ENODATA);
  assert_non_null(strstr(e.msg, "no drivable loop"));
}

static void stops_wait_before_the_junction_on_the_incoming_road(void **state) {
  world *w = *state;
  const dl_sim *s = &w->s;
  const dl_net *n = &w->n;
  size_t stops = 0;
  for (size_t j = 1; j < s->n_sec; j++) {
    if (!(s->speed[j] == 0 && s->speed[j - 1] > 0)) continue;
    size_t k = j;
    while (k < s->n_sec && s->speed[k] == 0) k++;
    if (k - j < 4) continue; /* a U-turn waits 2 s at its node */
    /* a junction stop: 2-8 m before the end of the edge it is on, which is at least 20 m long */
    uint32_t e = s->edge[j];
    double L = n->edge_len[e], pos = n->edge_dir[e] ? L - s->offset[j] : s->offset[j];
    if (!(L - pos >= 2.0 - 1e-6 && L - pos <= 8.0 + 1e-6 && L >= 20.0))
      print_message("stop at second %zu: %.2f m before the end of a %.1f m edge\n", j, L - pos, L);
    assert_true(L - pos >= 2.0 - 1e-6 && L - pos <= 8.0 + 1e-6 && L >= 20.0);
    for (size_t q = j; q < k; q++) assert_int_equal(s->seg[q], s->seg[j]); /* put while it waits */
    stops++;
  }
  assert_true(stops >= 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(route_matches_brute_force),
      cmocka_unit_test(route_bounded_multi_seed_search),
      cmocka_unit_test(simulate_is_deterministic),
      cmocka_unit_test(speed_profile_respects_limits),
      cmocka_unit_test(truth_points_lie_on_their_segment),
      cmocka_unit_test(stops_wait_before_the_junction_on_the_incoming_road),
      cmocka_unit_test(route_prefers_undriven_roads),
      cmocka_unit_test(gps_noise_has_configured_sigma_through_nmea),
      cmocka_unit_test(tyre_excess_follows_v_cubed_and_calibration),
      cmocka_unit_test(loads_follow_road_class),
      cmocka_unit_test(dusttrak_export_reads_back),
      cmocka_unit_test(manifest_round_trips),
      cmocka_unit_test(simulate_refuses_bad_input),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
