/* simulate.c: the drive of a synthetic run: a route of shortest paths
 * between random destinations that prefers roads not yet driven, a speed
 * profile with class speeds, turn and junction limits, stops and bounded
 * acceleration, integrated at 10 Hz and sampled each second as truth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_route.h"
#include "sim_internal.h"

#define DT 0.1          /* integration step, s */
#define STEPS_PER_S 10
#define AHEAD_M 2000.0  /* route kept planned this far ahead of the vehicle */
#define CORNER_L 12.0   /* m: corner radius scale at a junction */
#define STOP_LINE_MIN_M 2.0 /* a stop is this far before its junction ... */
#define STOP_LINE_MAX_M 8.0 /* ... up to this */
#define STOP_EDGE_MIN_M 20.0 /* no stop on a shorter incoming edge */

void dl_sim_params_default(dl_sim_params *p) {
  memset(p, 0, sizeof *p);
  p->seed = 1;
  p->hours = 1.0;
  p->t0 = (double)dl_days_from_civil(2020, 5, 12) * 86400.0 + 3600.0; /* 09:00 Beijing */
  p->revisit_cost = 4.0;
  p->leg_min_m = 800.0, p->leg_max_m = 4000.0;
  p->accel_ms2 = 1.5, p->brake_ms2 = 1.5, p->brake_max_ms2 = 2.0, p->lat_accel_ms2 = 2.0;
  p->stop_prob = 0.2, p->stop_min_s = 5.0, p->stop_max_s = 40.0;
  p->gps_sigma_m = 5.0, p->gps_rho = 0.7;
  p->outlier_frac = 0.01, p->outlier_min_m = 40.0, p->outlier_max_m = 150.0;
  p->dropouts_per_hour = 2.0, p->dropout_min_s = 3.0, p->dropout_max_s = 30.0;
  p->speed_sigma_ms = 0.05, p->course_sigma_deg = 1.0;
  p->v_ref_kmh = 30.0, p->speed_exponent = 3.0, p->calib_a = 0.04, p->calib_beta = 1.0 / (3.0 * 0.91);
  p->load_min_gm2 = 0.1, p->load_max_gm2 = 2.0;
  p->tyre_delay_s = NAN, p->tyre_clock_offset_s = NAN, p->bg_delay_s = 1.0;
  p->plume_cv = 0.2, p->noise_ugm3 = 2.0, p->noise_frac = 0.02;
  p->bg_min_ugm3 = 40.0, p->bg_max_ugm3 = 300.0, p->spikes_per_hour = 10.0;
  p->inst_pre_s = 120.0, p->inst_post_s = 60.0, p->inst_max_ugm3 = 400000.0;
}

double dl_sim_class_speed_kmh(int cls) {
  static const double kmh[DL_HW__N] = {
      [DL_HW_MOTORWAY] = 80,       [DL_HW_TRUNK] = 70,          [DL_HW_PRIMARY] = 60,
      [DL_HW_SECONDARY] = 50,      [DL_HW_TERTIARY] = 40,       [DL_HW_UNCLASSIFIED] = 35,
      [DL_HW_RESIDENTIAL] = 30,    [DL_HW_LIVING_STREET] = 15,  [DL_HW_MOTORWAY_LINK] = 50,
      [DL_HW_TRUNK_LINK] = 40,     [DL_HW_PRIMARY_LINK] = 40,   [DL_HW_SECONDARY_LINK] = 35,
      [DL_HW_TERTIARY_LINK] = 30,  [DL_HW_SERVICE] = 20};
  return cls >= 0 && cls < DL_HW__N ? kmh[cls] : 30.0;
}

double dl_sim_class_load_gm2(int cls) {
  static const double gm2[DL_HW__N] = {
      [DL_HW_MOTORWAY] = 0.18,      [DL_HW_TRUNK] = 0.22,         [DL_HW_PRIMARY] = 0.30,
      [DL_HW_SECONDARY] = 0.40,     [DL_HW_TERTIARY] = 0.55,      [DL_HW_UNCLASSIFIED] = 0.70,
      [DL_HW_RESIDENTIAL] = 0.75,   [DL_HW_LIVING_STREET] = 0.85, [DL_HW_MOTORWAY_LINK] = 0.22,
      [DL_HW_TRUNK_LINK] = 0.26,    [DL_HW_PRIMARY_LINK] = 0.33,  [DL_HW_SECONDARY_LINK] = 0.45,
      [DL_HW_TERTIARY_LINK] = 0.60, [DL_HW_SERVICE] = 0.90};
  return cls >= 0 && cls < DL_HW__N ? gm2[cls] : 0.6;
}

/* ---- the drive under construction --------------------------------------- */
typedef struct drive {
  const dl_net *n;
  const dl_sim_params *p;
  dl_rng rr, rs;          /* route, speed */
  dl_route *rw;
  double *mult;           /* [n_edges] cost multiplier: revisit_cost once driven */
  uint8_t *planned;       /* [n_segs] on the route already */
  uint32_t *scc;          /* nodes of the largest strongly connected part */
  size_t n_scc;
  uint8_t *deg;           /* [n_nodes] segment ends at the node (capped) */
  uint32_t cur;           /* node where the planned route ends */
  /* route: edge, start distance, cruise cap (m/s) */
  uint32_t *r_edge;
  double *r_s0, *r_cap;
  size_t nr, capr;
  double len;             /* planned length */
  /* constraints along the route: position, speed limit, dwell (stop when > 0) */
  double *c_s, *c_v, *c_dwell;
  size_t nc, capc;
  double traffic;         /* current share of the class speed */
  int traffic_left;       /* edges before it changes */
  size_t n_stops, n_legs;
} drive;

static int grow(void **a, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 256;
  while (c < need) c *= 2;
  void *q = realloc(*a, c * elem);
  if (!q) return -1;
  *a = q;
  *cap = c;
  return 0;
}

/* Largest strongly connected part (forward ∩ backward reach of a node),
 * from a few seeded starting nodes. */
static int find_scc(drive *d, dl_err *e) {
  const dl_net *n = d->n;
  uint32_t nn = n->n_nodes;
  uint32_t *rstart = calloc((size_t)nn + 1, sizeof *rstart);
  uint32_t *rsrc = malloc((n->n_edges ? n->n_edges : 1) * sizeof *rsrc);
  uint32_t *stack = malloc((nn ? nn : 1) * sizeof *stack);
  uint8_t *mark = malloc(nn ? nn : 1);
  d->scc = malloc((nn ? nn : 1) * sizeof *d->scc);
  if (!rstart || !rsrc || !stack || !mark || !d->scc) {
    free(rstart), free(rsrc), free(stack), free(mark);
    return dl_errf(e, DL_ENOMEM, "simulate: out of memory");
  }
  for (uint32_t k = 0; k < n->n_edges; k++) rstart[n->edge_to[k] + 1]++;
  for (uint32_t v = 0; v < nn; v++) rstart[v + 1] += rstart[v];
  for (uint32_t k = 0; k < n->n_edges; k++) rsrc[rstart[n->edge_to[k]]++] = n->edge_from[k];
  for (uint32_t v = nn; v > 0; v--) rstart[v] = rstart[v - 1];
  rstart[0] = 0;
  dl_rng r;
  dl_rng_seed(&r, d->p->seed, SIM_STREAM_START);
  size_t best = 0;
  for (int attempt = 0; attempt < 12 && best * 2 <= nn; attempt++) {
    uint32_t s0 = (uint32_t)(dl_rng_uniform(&r) * nn);
    memset(mark, 0, nn);
    size_t sp = 0;
    stack[sp++] = s0;
    mark[s0] = 1;
    while (sp) { /* forward reach: bit 1 */
      uint32_t u = stack[--sp];
      for (uint32_t k = n->node_edge[u]; k < n->node_edge[u + 1]; k++)
        if (!(mark[n->edge_to[k]] & 1)) mark[n->edge_to[k]] |= 1, stack[sp++] = n->edge_to[k];
    }
    stack[sp++] = s0;
    mark[s0] |= 2;
    while (sp) { /* backward reach: bit 2 */
      uint32_t u = stack[--sp];
      for (uint32_t k = rstart[u]; k < rstart[u + 1]; k++)
        if (!(mark[rsrc[k]] & 2)) mark[rsrc[k]] |= 2, stack[sp++] = rsrc[k];
    }
    size_t cnt = 0;
    for (uint32_t v = 0; v < nn; v++) cnt += mark[v] == 3;
    if (cnt > best) {
      best = cnt;
      d->n_scc = 0;
      for (uint32_t v = 0; v < nn; v++)
        if (mark[v] == 3) d->scc[d->n_scc++] = v;
    }
  }
  free(rstart), free(rsrc), free(stack), free(mark);
  if (d->n_scc < 2)
    return dl_errf(e, DL_ENODATA, "simulate: the network has no drivable loop (largest strongly "
                                  "connected part: %zu nodes)", d->n_scc);
  return DL_OK;
}

/* Travel-order vertex j (0..m-1) of edge k. */
static inline uint32_t evtx(const dl_net *n, uint32_t k, uint32_t j) {
  uint32_t s = n->edge_seg[k];
  return n->edge_dir[k] ? n->seg_vtx[s + 1] - 1 - j : n->seg_vtx[s] + j;
}

/* Unit direction of the first (last = 0) or last (last = 1) non-degenerate
 * piece of edge k, in travel order. */
static void end_dir(const dl_net *n, uint32_t k, int last, double *ux, double *uy) {
  uint32_t s = n->edge_seg[k], m = n->seg_vtx[s + 1] - n->seg_vtx[s];
  uint32_t a = evtx(n, k, last ? m - 1 : 0);
  for (uint32_t j = 1; j < m; j++) {
    uint32_t b = evtx(n, k, last ? m - 1 - j : j);
    double dx = n->vtx_x[b] - n->vtx_x[a], dy = n->vtx_y[b] - n->vtx_y[a];
    double l = hypot(dx, dy);
    if (l > 0.5 || j == m - 1) {
      if (l == 0) l = 1, dx = 0, dy = 1;
      *ux = (last ? -dx : dx) / l;
      *uy = (last ? -dy : dy) / l;
      return;
    }
  }
  *ux = 0, *uy = 1;
}

/* Speed (m/s) through a corner of angle theta (radians, 0 = straight)
 * whose shorter leg is leg metres: v = sqrt(a_lat * R) on the arc that
 * fits the corner. */
static double corner_speed(double theta, double leg, double lat_accel) {
  if (theta < 0.05) return INFINITY;
  if (theta > 2.95) return 0.0; /* a U-turn: stop first */
  double r = fmin(CORNER_L, 0.5 * leg) / tan(0.5 * theta);
  return sqrt(lat_accel * r);
}

static int add_constraint(drive *d, double s, double v, double dwell) {
  if (d->nc && d->c_s[d->nc - 1] >= s - 1e-9) { /* same place: keep the stricter */
    size_t i = d->nc - 1;
    if (v < d->c_v[i]) d->c_v[i] = v;
    if (dwell > d->c_dwell[i]) d->c_dwell[i] = dwell;
    return 0;
  }
  if (grow((void **)&d->c_s, &d->capc, d->nc + 1, sizeof *d->c_s)) return -1;
  size_t cap = d->nc; /* the other arrays follow c_s's capacity */
  double *v1 = realloc(d->c_v, d->capc * sizeof *v1);
  if (!v1) return -1;
  d->c_v = v1;
  double *v2 = realloc(d->c_dwell, d->capc * sizeof *v2);
  if (!v2) return -1;
  d->c_dwell = v2;
  d->c_s[cap] = s, d->c_v[cap] = v, d->c_dwell[cap] = dwell;
  d->nc++;
  return 0;
}

/* Inserts a stop of dwell seconds at route position s among the
 * constraints already planned (the corners of the edge it lies on may lie
 * beyond it), keeping them in order. */
static int add_stop(drive *d, double s, double dwell) {
  size_t i = d->nc;
  while (i > 0 && d->c_s[i - 1] > s) i--;
  if (i > 0 && d->c_s[i - 1] >= s - 1e-9) { /* same place: a stop */
    d->c_v[i - 1] = 0;
    if (dwell > d->c_dwell[i - 1]) d->c_dwell[i - 1] = dwell;
    return 0;
  }
  size_t tail = d->nc - i;
  if (add_constraint(d, INFINITY, 0, 0)) return -1; /* room for one more */
  memmove(d->c_s + i + 1, d->c_s + i, tail * sizeof *d->c_s);
  memmove(d->c_v + i + 1, d->c_v + i, tail * sizeof *d->c_v);
  memmove(d->c_dwell + i + 1, d->c_dwell + i, tail * sizeof *d->c_dwell);
  d->c_s[i] = s, d->c_v[i] = 0, d->c_dwell[i] = dwell;
  return 0;
}

/* Appends edge k to the route with its junction and corner constraints. */
static int append_edge(drive *d, uint32_t k) {
  const dl_net *n = d->n;
  const dl_sim_params *p = d->p;
  uint32_t s = n->edge_seg[k];
  if (d->traffic_left-- <= 0) { /* traffic changes every 1-4 edges */
    d->traffic = 0.6 + 0.4 * dl_rng_uniform(&d->rs);
    d->traffic_left = (int)(dl_rng_uniform(&d->rs) * 4);
  }
  double vcls = dl_sim_class_speed_kmh(n->seg_class[s]);
  double vmax = n->seg_maxspeed && isfinite(n->seg_maxspeed[s]) && n->seg_maxspeed[s] > 0
                    ? fmin(vcls, n->seg_maxspeed[s]) : vcls;
  double cap = fmax(2.0, d->traffic * vmax / 3.6);
  if (d->nr) {
    uint32_t prev = d->r_edge[d->nr - 1];
    double ax, ay, bx, by;
    end_dir(n, prev, 1, &ax, &ay);
    end_dir(n, k, 0, &bx, &by);
    double th = acos(fmax(-1.0, fmin(1.0, ax * bx + ay * by)));
    double v = fmin(cap, corner_speed(th, fmin(n->edge_len[prev], n->edge_len[k]), p->lat_accel_ms2));
    double dwell = 0;
    uint32_t node = n->edge_from[k];
    int uturn = n->edge_seg[prev] == s;
    if (uturn) {
      v = 0, dwell = 2.0;
    } else if (d->deg[node] >= 3 && dl_rng_uniform(&d->rs) < p->stop_prob) {
      /* stop a few metres before the junction, on the road coming into it
       * (where real vehicles wait for the light); not on a short connector */
      double wait = p->stop_min_s + (p->stop_max_s - p->stop_min_s) * dl_rng_uniform(&d->rs);
      double back = STOP_LINE_MIN_M + (STOP_LINE_MAX_M - STOP_LINE_MIN_M) * dl_rng_uniform(&d->rs);
      if (n->edge_len[prev] >= STOP_EDGE_MIN_M) {
        if (add_stop(d, d->len - back, wait)) return -1;
        d->n_stops++;
      }
    }
    if (dwell > 0) d->n_stops++;
    if (add_constraint(d, d->len, v, dwell)) return -1;
  }
  /* corners at the edge's inner vertices */
  uint32_t m = n->seg_vtx[s + 1] - n->seg_vtx[s];
  for (uint32_t j = 1; j + 1 < m; j++) {
    uint32_t a = evtx(n, k, j - 1), b = evtx(n, k, j), c = evtx(n, k, j + 1);
    double x1 = n->vtx_x[b] - n->vtx_x[a], y1 = n->vtx_y[b] - n->vtx_y[a];
    double x2 = n->vtx_x[c] - n->vtx_x[b], y2 = n->vtx_y[c] - n->vtx_y[b];
    double l1 = hypot(x1, y1), l2 = hypot(x2, y2);
    if (l1 < 0.5 || l2 < 0.5) continue;
    double th = acos(fmax(-1.0, fmin(1.0, (x1 * x2 + y1 * y2) / (l1 * l2))));
    double v = corner_speed(th, fmin(l1, l2), p->lat_accel_ms2);
    if (v < cap) {
      double off = n->vtx_off[b];
      double pos = n->edge_dir[k] ? n->seg_len[s] - off : off;
      if (add_constraint(d, d->len + pos, fmax(v, 1.0), 0)) return -1;
    }
  }
  if (grow((void **)&d->r_edge, &d->capr, d->nr + 1, sizeof *d->r_edge)) return -1;
  double *q1 = realloc(d->r_s0, d->capr * sizeof *q1);
  if (!q1) return -1;
  d->r_s0 = q1;
  double *q2 = realloc(d->r_cap, d->capr * sizeof *q2);
  if (!q2) return -1;
  d->r_cap = q2;
  d->r_edge[d->nr] = k, d->r_s0[d->nr] = d->len, d->r_cap[d->nr] = cap;
  d->nr++;
  d->len += n->edge_len[k];
  if (!d->planned[s]) {
    d->planned[s] = 1;
    if (n->seg_edge_fwd[s] != DL_NET_NONE) d->mult[n->seg_edge_fwd[s]] = p->revisit_cost;
    if (n->seg_edge_bwd[s] != DL_NET_NONE) d->mult[n->seg_edge_bwd[s]] = p->revisit_cost;
  }
  d->cur = n->edge_to[k];
  return 0;
}

/* A node next to a segment not yet on the route. */
static int touches_new_road(const drive *d, uint32_t v) {
  const dl_net *n = d->n;
  for (uint32_t k = n->node_edge[v]; k < n->node_edge[v + 1]; k++)
    if (!d->planned[n->edge_seg[k]]) return 1;
  return 0;
}

/* Plans the next leg: a random destination (at leg_min..leg_max metres,
 * next to an undriven road when one can be found), reached by the path
 * that is cheapest when driven roads cost revisit_cost times their length;
 * a leg that would start with a U-turn is redrawn a few times. */
static int append_leg(drive *d, dl_err *e) {
  const dl_net *n = d->n;
  const dl_sim_params *p = d->p;
  for (int attempt = 0; attempt < 40; attempt++) {
    uint32_t dst = d->scc[(size_t)(dl_rng_uniform(&d->rr) * d->n_scc)];
    if (dst == d->cur) continue;
    double dist = hypot(n->node_x[dst] - n->node_x[d->cur], n->node_y[dst] - n->node_y[d->cur]);
    if (attempt < 24 && (dist < p->leg_min_m || dist > p->leg_max_m)) continue;
    if (attempt < 12 && !touches_new_road(d, dst)) continue;
    const uint32_t *path;
    size_t cnt;
    double cost;
    if (dl_route_shortest(d->rw, n, d->cur, dst, d->mult, &path, &cnt, &cost) != DL_OK || !cnt) continue;
    if (attempt < 36 && d->nr && n->edge_seg[path[0]] == n->edge_seg[d->r_edge[d->nr - 1]]) continue;
    for (size_t i = 0; i < cnt; i++)
      if (append_edge(d, path[i])) return dl_errf(e, DL_ENOMEM, "simulate: out of memory");
    d->n_legs++;
    return DL_OK;
  }
  return dl_errf(e, DL_EINTERNAL, "simulate: no reachable destination from node %u", d->cur);
}

static void drive_free(drive *d) {
  dl_route_free(d->rw);
  free(d->mult), free(d->planned), free(d->scc), free(d->deg);
  free(d->r_edge), free(d->r_s0), free(d->r_cap);
  free(d->c_s), free(d->c_v), free(d->c_dwell);
}

static int check_params(const dl_sim_params *p, dl_err *e) {
#define NEED(cond, what) \
  if (!(cond)) return dl_errf(e, DL_EUSAGE, "simulate: %s", what)
  NEED(p->hours > 0 && p->hours <= 240, "hours must be in (0, 240]");
  NEED(isfinite(p->t0), "start time must be finite");
  NEED(p->revisit_cost >= 1 && p->revisit_cost <= 1000, "revisit cost must be in [1, 1000]");
  NEED(p->leg_min_m >= 0 && p->leg_max_m >= p->leg_min_m, "leg distances: 0 <= min <= max");
  NEED(p->accel_ms2 > 0 && p->brake_ms2 > 0 && p->brake_max_ms2 >= p->brake_ms2 && p->lat_accel_ms2 > 0,
       "accelerations must be positive, brake_max >= brake");
  NEED(p->stop_prob >= 0 && p->stop_prob <= 1 && p->stop_min_s >= 0 && p->stop_max_s >= p->stop_min_s,
       "stops: probability in [0, 1], 0 <= min <= max duration");
  NEED(p->gps_sigma_m >= 0 && p->gps_sigma_m <= 1000, "GPS sigma must be in [0, 1000] m");
  NEED(p->gps_rho >= 0 && p->gps_rho < 1, "GPS AR(1) coefficient must be in [0, 1)");
  NEED(p->outlier_frac >= 0 && p->outlier_frac <= 0.5, "outlier share must be in [0, 0.5]");
  NEED(p->outlier_min_m >= 0 && p->outlier_max_m >= p->outlier_min_m, "outlier sizes: 0 <= min <= max");
  NEED(p->dropouts_per_hour >= 0 && p->dropouts_per_hour <= 60 && p->dropout_min_s >= 1 &&
           p->dropout_max_s >= p->dropout_min_s && p->dropout_max_s <= 3600,
       "dropouts: 0..60 per hour lasting 1 <= min <= max <= 3600 s");
  NEED(p->speed_sigma_ms >= 0 && p->course_sigma_deg >= 0, "speed and course noise must be >= 0");
  NEED(p->v_ref_kmh > 0 && p->speed_exponent > 0 && p->calib_a > 0 && p->calib_beta > 0,
       "v_ref, speed exponent, calibration a and beta must be positive");
  NEED(p->load_min_gm2 > 0 && p->load_max_gm2 >= p->load_min_gm2, "loads: 0 < min <= max");
  NEED(isnan(p->tyre_delay_s) || (p->tyre_delay_s >= 0 && p->tyre_delay_s <= 600), "inlet delay in [0, 600] s");
  NEED(isnan(p->tyre_clock_offset_s) || fabs(p->tyre_clock_offset_s) <= 3600, "clock offset within ±3600 s");
  NEED(p->bg_delay_s >= 0 && p->bg_delay_s <= 600, "background inlet delay in [0, 600] s");
  NEED(p->plume_cv >= 0 && p->noise_ugm3 >= 0 && p->noise_frac >= 0, "noise levels must be >= 0");
  NEED(p->bg_min_ugm3 > 0 && p->bg_max_ugm3 >= p->bg_min_ugm3, "background: 0 < min <= max");
  NEED(p->spikes_per_hour >= 0 && p->spikes_per_hour <= 3600, "spikes per hour in [0, 3600]");
  NEED(p->inst_pre_s >= 0 && p->inst_post_s >= 0 && p->inst_pre_s + p->inst_post_s <= 86400,
       "instrument lead and tail in [0, 86400] s");
  NEED(p->inst_max_ugm3 > 1, "instrument range must exceed 1 ug/m3");
#undef NEED
  return DL_OK;
}

void dl_sim_free(dl_sim *s) {
  if (!s) return;
  free(s->t), free(s->seg), free(s->offset), free(s->edge), free(s->x), free(s->y);
  free(s->speed), free(s->heading), free(s->excess);
  free(s->gps_ok), free(s->gps_outlier), free(s->gps_x), free(s->gps_y);
  free(s->gps_speed), free(s->gps_course), free(s->gps_hdop), free(s->gps_nsat);
  for (int i = 0; i < DL_SIM_NINST; i++) free(s->inst[i].ugm3);
  free(s->seg_load), free(s->seg_tref), free(s->seg_driven_m);
  memset(s, 0, sizeof *s);
}

/* Position of the vehicle at route distance pos on route edge ri: segment
 * offset, projected point and heading. */
static void locate(const dl_net *n, uint32_t k, double pos, double *off, double *x, double *y,
                   double *head) {
  uint32_t s = n->edge_seg[k];
  double len = n->seg_len[s];
  pos = fmin(fmax(pos, 0.0), len);
  double o = n->edge_dir[k] ? len - pos : pos;
  uint32_t lo = n->seg_vtx[s], hi = n->seg_vtx[s + 1] - 1; /* piece lo..lo+1 holding o */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (n->vtx_off[mid] <= o) lo = mid;
    else hi = mid;
  }
  double span = n->vtx_off[lo + 1] - n->vtx_off[lo];
  double f = span > 0 ? (o - n->vtx_off[lo]) / span : 0.0;
  f = fmin(fmax(f, 0.0), 1.0);
  double dx = n->vtx_x[lo + 1] - n->vtx_x[lo], dy = n->vtx_y[lo + 1] - n->vtx_y[lo];
  *off = o;
  *x = n->vtx_x[lo] + f * dx;
  *y = n->vtx_y[lo] + f * dy;
  if (n->edge_dir[k]) dx = -dx, dy = -dy;
  double h = atan2(dx, dy) * (180.0 / M_PI);
  *head = h < 0 ? h + 360.0 : h;
}

#define ALLOC(ptr, cnt)                                    \
  do {                                                     \
    (ptr) = calloc((cnt) ? (cnt) : 1, sizeof *(ptr));      \
    if (!(ptr)) goto oom;                                  \
  } while (0)

int dl_simulate(const dl_net *n, const dl_sim_params *p, dl_sim *out, dl_err *e) {
  memset(out, 0, sizeof *out);
  int rc = check_params(p, e);
  if (rc) return rc;
  if (!n->n_nodes || !n->n_edges || !n->n_segs)
    return dl_errf(e, DL_ENODATA, "simulate: the network has no roads");
  drive d;
  memset(&d, 0, sizeof d);
  d.n = n, d.p = p;
  double *e10 = NULL;
  dl_rng_seed(&d.rr, p->seed, SIM_STREAM_ROUTE);
  dl_rng_seed(&d.rs, p->seed, SIM_STREAM_SPEED);
  d.rw = dl_route_create(n->n_nodes, n->n_edges, e);
  if (!d.rw) return DL_ENOMEM;
  ALLOC(d.mult, n->n_edges);
  for (uint32_t k = 0; k < n->n_edges; k++) d.mult[k] = 1.0;
  ALLOC(d.planned, n->n_segs);
  ALLOC(d.deg, n->n_nodes);
  for (uint32_t s = 0; s < n->n_segs; s++) {
    if (d.deg[n->seg_from[s]] < 255) d.deg[n->seg_from[s]]++;
    if (d.deg[n->seg_to[s]] < 255) d.deg[n->seg_to[s]]++;
  }
  rc = find_scc(&d, e);
  if (rc) goto fail;
  d.cur = d.scc[(size_t)(dl_rng_uniform(&d.rr) * d.n_scc)];

  size_t ns = (size_t)llround(p->hours * 3600.0);
  if (ns < 2) ns = 2;
  size_t n10 = ns * STEPS_PER_S;
  out->n_sec = ns;
  out->n_segs = n->n_segs;
  ALLOC(out->t, ns); ALLOC(out->seg, ns); ALLOC(out->offset, ns); ALLOC(out->edge, ns);
  ALLOC(out->x, ns); ALLOC(out->y, ns); ALLOC(out->speed, ns); ALLOC(out->heading, ns);
  ALLOC(out->excess, ns);
  ALLOC(out->gps_ok, ns); ALLOC(out->gps_outlier, ns); ALLOC(out->gps_x, ns); ALLOC(out->gps_y, ns);
  ALLOC(out->gps_speed, ns); ALLOC(out->gps_course, ns); ALLOC(out->gps_hdop, ns); ALLOC(out->gps_nsat, ns);
  ALLOC(out->seg_load, n->n_segs); ALLOC(out->seg_tref, n->n_segs); ALLOC(out->seg_driven_m, n->n_segs);
  ALLOC(e10, n10);
  dl_sim__loads(n, p, out);

  /* integrate the motion */
  const double vref = p->v_ref_kmh / 3.6;
  double s = 0, v = 0, dwell = 0;
  size_t ri = 0, ci = 0;
  for (size_t k = 0; k < n10; k++) {
    for (int g = 0; d.len - s < AHEAD_M; g++) {
      if (g > 100000) {
        rc = dl_errf(e, DL_ENODATA, "simulate: the drivable network is too short to plan a route");
        goto fail;
      }
      rc = append_leg(&d, e);
      if (rc) goto fail;
    }
    while (ri + 1 < d.nr && d.r_s0[ri + 1] <= s) ri++;
    uint32_t edge = d.r_edge[ri];
    uint32_t seg = n->edge_seg[edge];
    e10[k] = v > 0 ? out->seg_tref[seg] * pow(v / vref, p->speed_exponent) : 0.0;
    if (k % STEPS_PER_S == 0) {
      size_t j = k / STEPS_PER_S;
      out->t[j] = p->t0 + (double)j;
      out->edge[j] = edge;
      out->seg[j] = seg;
      locate(n, edge, s - d.r_s0[ri], &out->offset[j], &out->x[j], &out->y[j], &out->heading[j]);
      out->speed[j] = v;
      out->excess[j] = e10[k];
    }
    if (dwell > 0) {
      dwell -= DT;
      continue;
    }
    while (ci < d.nc && d.c_s[ci] <= s) ci++;
    double cap = d.r_cap[ri];
    double vmax = v < cap ? fmin(cap, v + p->accel_ms2 * DT * (1.0 - pow(v / cap, 4))) : cap;
    double horizon = v * v / (2.0 * p->brake_ms2) + v * DT + 5.0;
    size_t stop = SIZE_MAX;
    for (size_t j = ci; j < d.nc && d.c_s[j] - s <= horizon; j++) {
      double dist = d.c_s[j] - s;
      if (d.c_dwell[j] > 0) {
        if (stop == SIZE_MAX) stop = j;
        continue;
      }
      double lim = sqrt(d.c_v[j] * d.c_v[j] + 2.0 * p->brake_ms2 * fmax(0.0, dist - v * DT));
      vmax = fmin(vmax, lim);
    }
    int arrive = 0;
    if (stop != SIZE_MAX) {
      double dist = d.c_s[stop] - s;
      if (dist < 0.05 && v < 0.2) {
        arrive = 1;
      } else if (v > 0 && v * v >= 2.0 * 0.95 * p->brake_ms2 * dist) {
        /* brake at the constant rate that ends exactly on the stop line */
        double b = fmin(v * v / (2.0 * dist), p->brake_max_ms2);
        double vs = v - b * DT;
        if (vs <= 0) arrive = 1;
        else vmax = fmin(vmax, vs);
      } else {
        vmax = fmin(vmax, sqrt(2.0 * p->brake_ms2 * fmax(0.0, dist - v * DT)));
      }
    }
    double vnew = fmax(fmax(vmax, v - p->brake_max_ms2 * DT), 0.0);
    double ds = 0.5 * (v + vnew) * DT;
    if (stop != SIZE_MAX && (arrive || s + ds >= d.c_s[stop])) {
      ds = d.c_s[stop] - s;
      vnew = 0;
      dwell = d.c_dwell[stop];
      ci = stop + 1;
    }
    out->seg_driven_m[seg] += ds;
    s += ds;
    v = vnew;
  }
  out->distance_m = s;
  for (uint32_t k = 0; k < n->n_segs; k++) out->n_driven_segs += out->seg_driven_m[k] > 0;
  out->n_stops = d.n_stops, out->n_legs = d.n_legs;
  for (size_t j = 1; j < ns; j++) {
    double a = out->speed[j] - out->speed[j - 1];
    if (a > out->max_accel) out->max_accel = a;
    if (-a > out->max_brake) out->max_brake = -a;
  }
  dl_sim__gps(p, out);
  rc = dl_sim__instruments(p, e10, n10, out, e);
  if (rc) goto fail;
  free(e10);
  drive_free(&d);
  return DL_OK;
oom:
  rc = dl_errf(e, DL_ENOMEM, "simulate: out of memory");
fail:
  free(e10);
  drive_free(&d);
  dl_sim_free(out);
  return rc;
}
