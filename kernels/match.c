/* match.c: the HMM map matcher: per-trace preparation (outliers, thinning,
 * hard breaks, sigma), parallel pieces, candidates, Viterbi with exact
 * pruning, routes, along-route smoothing, and the output rows. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match_internal.h"

#define MAXK 24          /* hard cap on directed candidates per fix: the k nearest, then roads that continue
                            the previous step's (a dense junction must not push out the road being driven) */
#define KOPT_MAX 16      /* largest k option */
#define OVERLAP 240      /* fixes of context on each side of a piece of a long trace */
#define OUTLIER_MPS 70.0 /* a jump faster than this to both neighbours is an outlier */
#define STILL_MAX_S 10.0 /* keep an observation at least this often while still (unless standing) */
#define STAND_MPS 0.3    /* reported speed below which the vehicle stands (Doppler speed is good to ~0.1 m/s) */
#define STAND_SIGMAS 4.0 /* a standing vehicle's fixes stay within this many sigmas of its kept fix */
#define STOP_MPS 1.5     /* smoothed speed below which the vehicle may be stopped */
#define STOP_MIN_S 3.0   /* shortest stop held in place */
#define STOP_GAP_S 5.0   /* a stop (held, or capped before its junction) does not span a dropout longer than this */
#define BOX_M 15.0       /* a junction's box: metres past its node where vehicles rarely stand */
#define LINE_M 10.0      /* a long stop's junction stop line: the metres before the node ... */
#define LINE_SHARE 0.5   /* ... hold this prior share of long stops ... */
#define LINE_BG_M 100.0  /* ... and the rest are spread over this many metres */
#define BOX_PRIOR 0.05   /* prior density of a stop inside the box, relative to elsewhere */
#define KF_STRIDE 24     /* smoother doubles per fix: filtered x[3] P[9], predicted x[3] P[9] */
#define CONT_WIDEN 1.5   /* radius factor for candidates that continue the previous step's */
#define STOP_FIT_BACK 3.0 /* s: a stop's fitted end may be this much before the smoother's ... */
#define STOP_FIT_FWD 6.0  /* ... or this much after it */
#define STOP_FIT_PRE 8    /* fixes of the stop in its departure fit */
#define STOP_FIT_WIN 8.0  /* s after the smoother's end of the stop in the fit */
#define STOP_FIT_MAX 64   /* most fixes in one departure fit */
#define STOP_HOLD_S 3.0   /* s after the fitted start of a departure placed by the fit */
#define STOP_FIT_NATS 1.0 /* log-likelihood the fitted start must beat starts a second off by */
#define LIN_GATE 1.0      /* sigmas: a tangent measurement farther than this from the projection is not used */
#define SG_Q 1.0          /* stop/go filter: moving model's acceleration noise, m^2/s^3 */
#define SG_QS 0.02        /* ... stopped model's position noise, m^2/s (creeping in a queue) */
#define SG_TAU_STOP 20.0  /* ... mean seconds stopped */
#define SG_TAU_MOVE 60.0  /* ... mean seconds moving between stops */
#define SG_P 0.15         /* stopped probability above which a stretch may be a short stop */
#define SG_EPS 1.0        /* m: a short stop's cap before its junction node */
#define AGILE_Q 1.0       /* m^2/s^3: acceleration noise of the smoother that picks the side of each junction */
#define HEAD_MPS 3.0     /* receiver speed above which its course is used */
#define HEAD_EPS 0.05    /* share of courses unrelated to the road piece (turning, bends the map lacks) */
#define COURSE_MIN 2.0   /* degrees: clamp of the per-trace course error sigma (receivers: 1-5 degrees ... */
#define COURSE_MAX 30.0  /* ... above a few m/s; OSM pieces add their own) */
#define COURSE_BIAS 10.0 /* degrees: largest course bias taken from a trace */
#define COURSE_KEEP 10.0 /* degrees: with the course this good, a moving fix is never thinned as still */
#define RHO_START 0.7    /* GPS error AR(1) coefficient per second before it is estimated */
#define EM_GAIN 2.0      /* emission weight over (1 - r) / (1 + r): that discount is exact for a constant
                            offset between two roads, but the emission also separates roads whose distance
                            changes from fix to fix (diverging links, bends), where each fix tells more; 2
                            measured best on own and independent simulations at sigma 15 m (1.5 and 3 worse) */
#define RHO_MAX 0.95     /* largest GPS error AR(1) coefficient per second */
#define SKIP_PEN 5.0     /* log-likelihood cost of dropping an observation between two steps */
#define SKIP_MAX 4       /* observations in a row that may be bridged when nothing reaches them */
#define SKIP_S 12.0      /* ... within this many seconds of the last reachable one */
#define FROM_START UINT32_MAX      /* from[]: first step of a sub-match */
#define FROM_SKIP (UINT32_MAX - 1) /* from[]: step bridged over (no candidate reachable) */

static const char *const status_names[] = {"matched", "interpolated", "outlier", "unmatched"};
const char *dl_match_status_name(int s) { return s >= 0 && s < 4 ? status_names[s] : "?"; }

void dl_match_opts_default(dl_match_opts *o) {
  memset(o, 0, sizeof *o);
  o->k = 8;
  o->radius_max = 200;
  o->gap_s = 60;
  o->jump_m = 2000;
  o->still_m = 10;
  o->uturn = 8;
  o->turn = 3;
  o->heading_kappa = 2;
  o->smooth_q = 0.3;
  o->chunk = 2400;
}

/* fix kinds decided per trace before matching */
enum { K_OBS = 0, K_THIN = 1, K_OUT = 2, K_BAD = 3 /* non-finite coordinates or time */ };

/* ---- segment geometry ---------------------------------------------------- */
void dl_match_seg_point(const dl_net *n, uint32_t s, double off, double *x, double *y, double *lat,
                        double *lon) {
  uint32_t a = n->seg_vtx[s], b = n->seg_vtx[s + 1] - 1; /* first and last vertex */
  if (!(off > 0)) off = 0;
  if (off > n->vtx_off[b]) off = n->vtx_off[b];
  uint32_t lo = a, hi = b; /* piece [v, v+1] with vtx_off[v] <= off */
  while (hi - lo > 1) {
    uint32_t m = lo + (hi - lo) / 2;
    if (n->vtx_off[m] <= off) lo = m;
    else hi = m;
  }
  double l = n->vtx_off[lo + 1] - n->vtx_off[lo];
  double u = l > 0 ? (off - n->vtx_off[lo]) / l : 0;
  if (u > 1) u = 1;
  *x = n->vtx_x[lo] + u * (n->vtx_x[lo + 1] - n->vtx_x[lo]);
  *y = n->vtx_y[lo] + u * (n->vtx_y[lo + 1] - n->vtx_y[lo]);
  if (lat) *lat = n->vtx_lat[lo] + u * (n->vtx_lat[lo + 1] - n->vtx_lat[lo]);
  if (lon) *lon = n->vtx_lon[lo] + u * (n->vtx_lon[lo + 1] - n->vtx_lon[lo]);
}

/* ---- per-thread workspace ------------------------------------------------ */
typedef struct cand {
  uint32_t edge;
  float head;  /* heading of the piece the fix projects onto, in the travel direction, degrees */
  double pos;  /* metres along the directed edge */
  double dist; /* metres from the fix */
  double em;   /* log emission */
} cand;

typedef struct work {
  dl_mgraph g;
  dl_net_query q;
  size_t cap;        /* fixes the arrays below hold */
  uint32_t *cstart;  /* [cap+1] candidates of observation step s */
  cand *c;           /* [cap*MAXK] */
  double *score;     /* [cap*MAXK] */
  int16_t *back;     /* [cap*MAXK] previous candidate, -1 = sub-match start */
  uint8_t *via;      /* [cap*MAXK] 1: reached through the graph (not along the same edge) */
  uint32_t *obs;     /* [cap] fix index of step s */
  int32_t *state;    /* [cap] chosen candidate of step s (index into c), -1: bridged over */
  uint32_t *from;    /* [cap] step the transitions into step s come from, or FROM_START / FROM_SKIP;
                        a back code >= MAXK is candidate code - MAXK of the step before from[s] */
  double *shift;     /* [cap] what was subtracted from step s's scores */
  uint32_t *sub;     /* [cap] sub-match of step s */
  double *coord;     /* [cap] route coordinate of each fix in the chunk (NAN: none) */
  int32_t *fsub;     /* [cap] sub-match of each fix (-1: none) */
  uint8_t *noroad;   /* [cap] fix has no candidate */
  double *kf;        /* [cap*10] smoother state */
  double *zraw, *sv; /* [cap] smoother: measurements, smoothed speeds */
  double *zlin;      /* [cap] smoother: measurements of its second pass */
  uint8_t *stopk;    /* [cap] smoother: fix is in a stop */
  double *zcap;      /* [cap] smoother: largest route coordinate of each fix (short stops) */
  double *zag;       /* [cap] agile smoother's coordinates */
  uint32_t *route;   /* route edges of the current sub-match */
  double *rcum;      /* route coordinate where each route edge starts */
  size_t rn, rcap;
  uint32_t *path;    /* scratch: one Dijkstra path, last edge first */
  size_t pcap;
} work;

static void work_free(work *w) {
  dl_mgraph_free(&w->g);
  dl_net_query_free(&w->q);
  free(w->cstart), free(w->c), free(w->score), free(w->back), free(w->via), free(w->obs), free(w->state);
  free(w->from), free(w->shift);
  free(w->sub), free(w->coord), free(w->fsub), free(w->noroad), free(w->kf);
  free(w->zraw), free(w->zlin), free(w->sv), free(w->stopk), free(w->zcap), free(w->zag);
  free(w->route), free(w->rcum), free(w->path);
  memset(w, 0, sizeof *w);
}

static int work_init(work *w, const dl_net *n, double turn) {
  memset(w, 0, sizeof *w);
  if (dl_mgraph_init(&w->g, n) || dl_net_query_init(&w->q, 64)) return DL_ENOMEM;
  dl_mgraph_set_turn(&w->g, turn);
  return DL_OK;
}

/* realloc that keeps the old block on failure; 1 on failure. One per
 * statement: tmp is shared. */
#define GROW(p, n) ((tmp = realloc((p), (n) * sizeof *(p))) != NULL ? ((p) = tmp, 0) : 1)
static int work_reserve(work *w, size_t nfix) {
  if (nfix <= w->cap) return DL_OK;
  size_t c = nfix + nfix / 2 + 64;
  void *tmp;
  int bad = GROW(w->cstart, c + 1);
  bad |= GROW(w->c, c * MAXK);
  bad |= GROW(w->score, c * MAXK);
  bad |= GROW(w->back, c * MAXK);
  bad |= GROW(w->via, c * MAXK);
  bad |= GROW(w->obs, c);
  bad |= GROW(w->state, c);
  bad |= GROW(w->from, c);
  bad |= GROW(w->shift, c);
  bad |= GROW(w->sub, c);
  bad |= GROW(w->coord, c);
  bad |= GROW(w->fsub, c);
  bad |= GROW(w->noroad, c);
  bad |= GROW(w->kf, c * KF_STRIDE);
  bad |= GROW(w->zraw, c);
  bad |= GROW(w->sv, c);
  bad |= GROW(w->zlin, c);
  bad |= GROW(w->stopk, c);
  bad |= GROW(w->zcap, c);
  bad |= GROW(w->zag, c);
  if (bad) return DL_ENOMEM;
  w->cap = c;
  return DL_OK;
}

static int route_push(work *w, uint32_t e, double start) {
  if (w->rn == w->rcap) {
    size_t c = w->rcap ? 2 * w->rcap : 256;
    void *tmp;
    if (GROW(w->route, c)) return DL_ENOMEM;
    if (GROW(w->rcum, c)) return DL_ENOMEM;
    w->rcap = c;
  }
  w->route[w->rn] = e, w->rcum[w->rn] = start;
  w->rn++;
  return DL_OK;
}

/* ---- the model -------------------------------------------------------------- */
typedef struct model {
  const dl_net *n;
  const dl_match_opts *o;
  double sigma, beta, radius;
  double rho;  /* AR(1) coefficient of the GPS error per second */
  double emw;  /* (1 - r) / (1 + r), r the error correlation between consecutive fixes: what one fix
                  adds to the mean of many (the emission weight is EM_GAIN times it) */
  const double *t, *x, *y, *speed, *course;
  const double *hx, *hy; /* observation positions for the HMM: x/y, or a standing vehicle's mean fix */
  const double *hw;      /* emission weight of each observation: 0 = emw, else 1 / variance factor of that mean
                            (the observations before and after a stand are too far off in time to correlate) */
  const uint8_t *kind;
  const uint8_t *deg;  /* [n_nodes] segments meeting at each node (capped at 255) */
  double hk, hf;       /* heading term: von Mises concentration, its floor (log-likelihood <= 0) */
  double hb;           /* degrees: the course's bias against the map (grid convergence, receiver), subtracted */
} model;

/* Angle between two headings in degrees, cos of it. */
static double cos_deg(double a, double b) { return cos((a - b) * (M_PI / 180.0)); }

/* Angle d in degrees into (-180, 180] (any finite d). */
static double wrap180(double d) {
  d = fmod(d, 360.0);
  return d > 180.0 ? d - 360.0 : d <= -180.0 ? d + 360.0 : d;
}

/* Heading term of concentration kappa (per trace), as log-likelihood
 * relative to a perfect match: kappa (cos - 1) of a von Mises course error
 * (density ~ sqrt(kappa / 2 pi) at its peak), floored where a uniform
 * share HEAD_EPS of unrelated courses would take over. A sharp course
 * (kappa ~ 800 at 2 degrees) costs a link that turns 10 degrees away from
 * it several nats per fix, yet one course far off (a turn between fixes, a
 * map bend) costs at most -hf (7.2 nats at 2 degrees). The floor is the
 * maximum, not the smooth mixture: no exp and log per candidate, and the
 * same results on the simulations. */
static void heading_model(double kappa, model *m) {
  m->hk = kappa;
  m->hf = kappa > 0 ? log(HEAD_EPS / (1 - HEAD_EPS) / sqrt(2 * M_PI * kappa)) : -INFINITY;
}

/* 1 when edge e continues one of the previous step's candidate edges pc[0..np):
 * the same edge, or an edge leaving its end node or a node one edge further. */
static int continues(const dl_net *n, uint32_t e, const cand *pc, int np) {
  uint32_t from = n->edge_from[e];
  for (int j = 0; j < np; j++) {
    uint32_t pe = pc[j].edge, u = n->edge_to[pe];
    if (pe == e || from == u) return 1;
    for (uint32_t f = n->node_edge[u]; f < n->node_edge[u + 1]; f++)
      if (n->edge_to[f] == from && n->edge_seg[f] != n->edge_seg[pe]) return 1;
  }
  return 0;
}

static void cand_set(const model *m, const dl_net_hit *hit, int d, uint32_t e, double hd, double hw, cand *c) {
  double em = -0.5 * (hw > 0 ? hw : EM_GAIN * m->emw) * (hit->dist / m->sigma) * (hit->dist / m->sigma);
  c->edge = e;
  c->pos = d ? m->n->seg_len[hit->seg] - hit->offset : hit->offset;
  c->dist = hit->dist;
  c->em = em;
  c->head = (float)(hit->heading + (d ? 180.0 : 0.0));
  if (isfinite(hd)) c->em += fmax(m->hk * (cos_deg(hd, c->head) - 1.0), m->hf);
}

/* Directed candidates of fix i into c: the k nearest, then (up to MAXK)
 * farther ones within the radius that continue a candidate of the previous
 * step pc[0..np), so that a road once among the candidates is not pushed
 * out by a dense interchange. Returns the count. */
static int candidates(const model *m, work *w, size_t i, cand *c, const cand *pc, int np) {
  const dl_net *n = m->n;
  dl_net_query *q = &w->q;
  double x = m->hx[i], y = m->hy[i], hw = m->hw[i];
  /* continuing roads are looked for a little farther: one fix far off the
   * true road must not remove it from every later step's choice */
  dl_net_radius(n, q, x, y, CONT_WIDEN * m->radius, DL_NETQ_PER_SEGMENT | DL_NETQ_SORT);
  size_t near = 0; /* hits that may be taken without continuing anything */
  while (near < q->n && q->hit[near].dist <= m->radius) near++;
  if (near == 0 && q->n) near = q->n < 4 ? q->n : 4;
  if (q->n == 0) {
    dl_net_nearest(n, q, x, y, 4, m->o->radius_max, DL_NETQ_PER_SEGMENT);
    near = q->n;
  }
  int k = m->o->k < MAXK ? m->o->k : MAXK, nc = 0;
  double sp = m->speed ? m->speed[i] : NAN, co = m->course ? m->course[i] : NAN;
  double hd = sp > HEAD_MPS && isfinite(co) && m->o->heading_kappa > 0 ? co - m->hb : NAN;
  size_t h = 0;
  int d = 0;
  for (; h < near && nc < k; h++) {
    for (d = 0; d < 2 && nc < k; d++) {
      uint32_t e = dl_net_seg_edge(n, q->hit[h].seg, d);
      if (e != DL_NET_NONE) cand_set(m, &q->hit[h], d, e, hd, hw, &c[nc++]);
    }
    if (d < 2) break; /* stopped inside hit h: its other direction comes next */
  }
  if (d >= 2) d = 0;
  for (; h < q->n && nc < MAXK && np > 0; h++, d = 0) {
    for (; d < 2 && nc < MAXK; d++) {
      uint32_t e = dl_net_seg_edge(n, q->hit[h].seg, d);
      if (e != DL_NET_NONE && continues(n, e, pc, np)) cand_set(m, &q->hit[h], d, e, hd, hw, &c[nc++]);
    }
  }
  return nc;
}

/* Largest backward step accepted as stationary jitter (a stopped vehicle's
 * fixes project up to a few sigma back along the road). */
static double jitter_m(const model *m) { return fmax(2.0 * m->o->still_m, 3.0 * m->sigma); }

/* Extra cost of a step back of back metres: none within sigma (the
 * projection of a stopped vehicle moves back as often as forward), beyond
 * it by the excess, so steady motion against the travel direction is not
 * taken for jitter. */
static double back_cost(const model *m, double back) { return fmax(0.0, back - m->sigma) / m->beta; }

/* Distance from candidate b forward to candidate a on other edges, through
 * at most two intermediate edges and no U-turn, when it is at most lim;
 * INFINITY otherwise. A fix that falls behind the previous one across a
 * junction is jitter of a (nearly) stopped vehicle, not a loop around the block. */
static double behind(const dl_net *n, const cand *b, const cand *a, double lim) {
  double rest = n->edge_len[b->edge] - b->pos, base = rest + a->pos;
  if (base > lim) return INFINITY;
  uint32_t u = n->edge_to[b->edge], target = n->edge_from[a->edge];
  if (u == target) return base;
  double best = INFINITY;
  for (uint32_t e1 = n->node_edge[u]; e1 < n->node_edge[u + 1]; e1++) {
    if (n->edge_seg[e1] == n->edge_seg[b->edge] || n->edge_seg[e1] == n->edge_seg[a->edge]) continue;
    double d1 = base + n->edge_len[e1];
    if (d1 > lim) continue;
    uint32_t v = n->edge_to[e1];
    if (v == target) {
      if (d1 < best) best = d1;
      continue;
    }
    for (uint32_t e2 = n->node_edge[v]; e2 < n->node_edge[v + 1]; e2++) {
      if (n->edge_seg[e2] == n->edge_seg[e1] || n->edge_seg[e2] == n->edge_seg[a->edge]) continue;
      double d2 = d1 + n->edge_len[e2];
      if (d2 <= lim && d2 < best && n->edge_to[e2] == target) best = d2;
    }
  }
  return best;
}

/* 1 when edge e is the edge of candidate ia of step s or of one of its
 * best predecessors in the last few steps: a step back onto e then stays on
 * the route the vehicle came along, not onto a road it never took. */
static int on_history(const work *w, size_t s, int ia, uint32_t e) {
  for (int depth = 0; depth < 4 && ia >= 0; depth++) {
    uint32_t c = w->cstart[s] + (uint32_t)ia;
    if (w->c[c].edge == e) return 1;
    if (w->from[s] >= FROM_SKIP || w->back[c] < 0) break;
    ia = w->back[c], s = w->from[s];
    if (ia >= MAXK) ia -= MAXK, s = w->from[s];
  }
  return 0;
}

/* Route distance from candidate a to b within bound, INFINITY when none;
 * *kind: 0 along the same edge, 1 through the graph, 2 backward jitter on
 * the same edge, 3 backward jitter across a junction (b lies behind a).
 * *pen: the extra log-likelihood cost (U-turn, backward step). Uses the
 * last Dijkstra run from to(a.edge) when *ran is set. */
static double route_between(const model *m, work *w, const cand *a, const cand *b, double bound, double straight,
                            size_t s, int ia, int *ran, double *pen, int *kind) {
  const dl_net *n = m->n;
  double jit = jitter_m(m);
  *pen = 0;
  if (a->edge == b->edge) {
    if (b->pos >= a->pos) {
      *kind = 0;
      return b->pos - a->pos;
    }
    double back = a->pos - b->pos;
    if (back <= jit) { /* stationary jitter */
      *kind = 2;
      *pen = back_cost(m, back);
      return back;
    }
  }
  double r = INFINITY, upen = 0;
  double rest = n->edge_len[a->edge] - a->pos;
  double lim = bound - rest;
  if (lim >= 0) {
    if (!*ran) {
      dl_mgraph_run(&w->g, n->edge_to[a->edge], lim);
      *ran = 1;
    }
    double d = dl_mgraph_dist(&w->g, n->edge_from[b->edge]);
    if (isfinite(d) && rest + d + b->pos <= bound) {
      r = rest + d + b->pos;
      if (n->edge_seg[b->edge] == n->edge_seg[a->edge] && b->edge != a->edge && d == 0) upen = m->o->uturn;
      else if (m->o->turn > 0)
        upen = m->o->turn * dl_mgraph_turns(&w->g, a->edge, n->edge_from[b->edge], b->edge);
    }
  }
  if (a->edge != b->edge && straight <= jit) {
    double back = behind(n, b, a, jit);
    if (isfinite(back) && on_history(w, s, ia, b->edge) &&
        (!isfinite(r) || fabs(back - straight) + back_cost(m, back) * m->beta < fabs(r - straight) + upen * m->beta)) {
      *kind = 3;
      *pen = back_cost(m, back);
      return back;
    }
  }
  if (!isfinite(r)) return INFINITY;
  *kind = 1;
  *pen = upen;
  return r;
}

static double step_bound(double straight, double dt) {
  double b1 = 5.0 * straight + 100.0, b2 = 33.0 * (dt > 1 ? dt : 1) * 1.5;
  return b1 < b2 ? b1 : b2;
}

/* Sorts candidate indices of a step by score, best first (ties by index). */
static void order(const double *sc, int nc, int *idx) {
  for (int i = 0; i < nc; i++) idx[i] = i;
  for (int i = 1; i < nc; i++) {
    int v = idx[i], j = i;
    while (j > 0 && sc[idx[j - 1]] < sc[v]) idx[j] = idx[j - 1], j--;
    idx[j] = v;
  }
}

/* Transitions from the candidates of step q (their scores plus bias) into
 * those of step s (only those with open[j] set when open is not NULL),
 * keeping the best per target in score/back/via; back codes are the
 * source index plus code0. Returns dt of the step. */
static double relax(const model *m, work *w, size_t q, size_t s, double bias, int code0, const uint8_t *open) {
  uint32_t p0 = w->cstart[q], np = w->cstart[q + 1] - p0, c0 = w->cstart[s], nc = w->cstart[s + 1] - c0;
  double *sc = w->score + c0;
  int16_t *bk = w->back + c0;
  uint8_t *via = w->via + c0;
  const cand *cj = w->c + c0;
  size_t i0 = w->obs[q], i1 = w->obs[s];
  double dt = m->t[i1] - m->t[i0];
  double straight = hypot(m->hx[i1] - m->hx[i0], m->hy[i1] - m->hy[i0]);
  double bound = step_bound(straight, dt);
  int idx[MAXK];
  order(w->score + p0, (int)np, idx);
  for (uint32_t r = 0; r < np; r++) {
    int i = idx[r];
    double si = w->score[p0 + i] + bias;
    /* exact pruning: transitions are <= 0, so a source no better than
     * every target's current best cannot improve any of them */
    double worst = INFINITY;
    for (uint32_t j = 0; j < nc; j++) {
      double need = sc[j] - cj[j].em;
      if (need < worst && (!open || open[j])) worst = need;
    }
    if (!(si > worst)) break;
    const cand *a = w->c + p0 + i;
    int ran = 0;
    for (uint32_t j = 0; j < nc; j++) {
      if (open && !open[j]) continue;
      double pen;
      int kind;
      double rd = route_between(m, w, a, &cj[j], bound, straight, q, i, &ran, &pen, &kind);
      if (!isfinite(rd)) continue;
      double v = si - fabs(rd - straight) / m->beta - pen + cj[j].em;
      if (v > sc[j]) sc[j] = v, bk[j] = (int16_t)(code0 + i), via[j] = (uint8_t)kind;
    }
  }
  return dt;
}

/* Forward Viterbi over the observation steps 0..ns-1; fills score/back/via,
 * from and sub (sub-match id per step).
 * A target that no candidate of the previous step reaches may be reached
 * from the step before it, dropping the previous observation for
 * SKIP_PEN (only then: as a free choice it would let the path shed
 * observations that disagree with it at sigma 15 m): otherwise one bad fix
 * (an outlier a few tens of metres back along the road, or off to the
 * side) whose candidates the true road cannot reach removes the true road
 * from every later step while some other road stays reachable, for
 * example a one-way carriageway beside a one-way side road.
 * A step that no candidate of the last reachable step p can reach is
 * bridged over: the next steps take their transitions from p, up to
 * SKIP_MAX steps within SKIP_S seconds; restarting at such a fix would tie
 * the new sub-match to its candidates. Only when the bridge fails too does
 * a new sub-match start, at the first step after p. */
static uint32_t viterbi(const model *m, work *w, size_t ns) {
  uint32_t nsub = 0;
  size_t p = SIZE_MAX;      /* last step with reachable candidates in the current sub-match */
  size_t forced = SIZE_MAX; /* step where a sub-match must start */
  size_t s = 0;
  for (;;) {
    if (s >= ns) {
      if (ns == 0 || p == ns - 1) break;
      s = forced = p + 1; /* bridged steps at the end: a new sub-match at the first */
    }
    uint32_t c0 = w->cstart[s], nc = w->cstart[s + 1] - c0;
    double *sc = w->score + c0;
    int16_t *bk = w->back + c0;
    uint8_t *via = w->via + c0;
    const cand *cj = w->c + c0;
    int restart = 1;
    if (p != SIZE_MAX && s != forced) {
      for (uint32_t j = 0; j < nc; j++) sc[j] = -INFINITY, bk[j] = -1, via[j] = 0;
      double dt = relax(m, w, p, s, 0.0, 0, NULL);
      uint8_t open[MAXK];
      int any = 0;
      for (uint32_t j = 0; j < nc; j++) open[j] = sc[j] == -INFINITY, any |= open[j];
      /* p's scores are shifted by its best: undo it for the scores of the step before */
      if (any && w->from[p] < FROM_SKIP) relax(m, w, w->from[p], s, -w->shift[p] - SKIP_PEN, MAXK, open);
      for (uint32_t j = 0; j < nc; j++)
        if (sc[j] > -INFINITY) restart = 0;
      if (restart) {
        if (s - p <= SKIP_MAX && dt <= SKIP_S) { /* bridge over step s */
          w->from[s] = FROM_SKIP, w->sub[s] = nsub - 1;
          s++;
          continue;
        }
        if (s > p + 1) { /* the bridge failed: start again at the first step after p */
          s = forced = p + 1;
          continue;
        }
      }
    }
    if (restart) {
      for (uint32_t j = 0; j < nc; j++) sc[j] = cj[j].em, bk[j] = -1, via[j] = 0;
      nsub++;
    }
    w->from[s] = restart ? FROM_START : (uint32_t)p;
    double best = -INFINITY;
    for (uint32_t j = 0; j < nc; j++)
      if (sc[j] > best) best = sc[j];
    for (uint32_t j = 0; j < nc; j++) sc[j] -= best; /* keep scores near 0 */
    w->shift[s] = best;
    w->sub[s] = nsub - 1;
#ifdef DL_MATCH_TRACE
    if (getenv("DLM_DEBUG")) {
      long lo = 0, hi = 0;
      sscanf(getenv("DLM_DEBUG"), "%ld,%ld", &lo, &hi);
      if ((long)w->obs[s] >= lo && (long)w->obs[s] <= hi) {
        fprintf(stderr, "fix %u rs=%d from=%u sig=%.1f beta=%.1f:", w->obs[s], restart, w->from[s], m->sigma, m->beta);
        for (uint32_t j = 0; j < nc; j++)
          fprintf(stderr, " [%u%c p=%.1f d=%.1f em=%.2f sc=%.2f b=%d]", m->n->edge_seg[cj[j].edge], m->n->edge_dir[cj[j].edge] ? '-' : '+', cj[j].pos,
                  cj[j].dist, cj[j].em, sc[j], bk[j]);
        fprintf(stderr, "\n");
      }
    }
#endif
    p = s++;
  }
  return nsub;
}

/* Backtracks every sub-match: state[s] = chosen candidate (absolute index),
 * -1 for a bridged step. */
static void backtrack(work *w, size_t ns) {
  size_t s = ns;
  while (s > 0) {
    size_t k = s - 1; /* the last step of a sub-match is never bridged */
    uint32_t c0 = w->cstart[k], nc = w->cstart[k + 1] - c0;
    int cur = 0;
    for (uint32_t j = 1; j < nc; j++)
      if (w->score[c0 + j] > w->score[c0 + cur]) cur = (int)j;
    for (;;) {
      w->state[k] = (int32_t)(w->cstart[k] + (uint32_t)cur);
      int b = w->back[w->cstart[k] + (uint32_t)cur];
      uint32_t pk = w->from[k];
      if (b < 0 || pk >= FROM_SKIP) break;
      if (b >= MAXK) b -= MAXK, pk = w->from[pk]; /* the previous observation was dropped */
      for (size_t d = pk + 1; d < k; d++) w->state[d] = -1;
      k = pk, cur = b;
    }
    s = k;
  }
}

/* ---- route of one sub-match -------------------------------------------------- */
/* Moves the route position from candidate *a (route entry *ri) to b, chosen
 * by Viterbi with transition kind via, and sets *q to b's route coordinate.
 * Forward moves follow the route already built where it agrees with the
 * path (after a jitter step back) and replace the rest; a step back finds
 * b's edge a few entries back (or stays at the start of a's edge). *a
 * becomes the position the next step starts from. */
static int route_step(const model *m, work *w, size_t *ri, cand *a, const cand *b, int via, double bound,
                      double *q) {
  const dl_net *n = m->n;
  if (b->edge == a->edge && via != 1) {
    *q = w->rcum[*ri] + b->pos;
    *a = *b;
    return DL_OK;
  }
  if (via == 3) {
    for (size_t k = *ri, hops = 0; k-- > 0 && hops < 8; hops++)
      if (w->route[k] == b->edge) {
        *ri = k, *q = w->rcum[k] + b->pos, *a = *b;
        return DL_OK;
      }
    *q = w->rcum[*ri], a->pos = 0;
    return DL_OK;
  }
  double rest = n->edge_len[a->edge] - a->pos;
  uint32_t src = n->edge_to[a->edge], target = n->edge_from[b->edge];
  dl_mgraph_run(&w->g, src, fmax(bound - rest, 0));
  size_t k = 0;
  if (isfinite(dl_mgraph_dist(&w->g, target)))
    for (uint32_t v = target; v != src && w->g.pred[v] != DL_NET_NONE; v = n->edge_from[w->g.pred[v]]) {
      if (k == w->pcap) {
        size_t c = w->pcap ? 2 * w->pcap : 64;
        void *tmp;
        if (GROW(w->path, c)) return DL_ENOMEM;
        w->pcap = c;
      }
      w->path[k++] = w->g.pred[v];
      if (k > n->n_edges) break; /* cannot happen on a consistent run */
    }
  for (size_t i = k + 1; i-- > 0;) { /* path edges in travel order, then b's edge */
    uint32_t e = i ? w->path[i - 1] : b->edge;
    if (*ri + 1 < w->rn && w->route[*ri + 1] == e) {
      (*ri)++;
      continue;
    }
    w->rn = *ri + 1;
    if (route_push(w, e, w->rcum[*ri] + n->edge_len[w->route[*ri]])) return DL_ENOMEM;
    *ri = w->rn - 1;
  }
  *q = w->rcum[*ri] + b->pos;
  *a = *b;
  return DL_OK;
}

/* Nearest route coordinate to (x,y) within [lo, hi]. */
static double route_project(const model *m, const work *w, double x, double y, double lo, double hi) {
  const dl_net *n = m->n;
  double best = lo, bd = INFINITY;
  for (size_t k = 0; k < w->rn; k++) {
    uint32_t e = w->route[k];
    double c0 = w->rcum[k], L = n->edge_len[e];
    if (c0 > hi || c0 + L < lo) continue;
    uint32_t s = n->edge_seg[e], dir = n->edge_dir[e];
    for (uint32_t v = n->seg_vtx[s]; v + 1 < n->seg_vtx[s + 1]; v++) {
      /* coordinates of the piece's two ends along the route */
      double o0 = n->vtx_off[v], o1 = n->vtx_off[v + 1];
      double q0 = c0 + (dir ? L - o0 : o0), q1 = c0 + (dir ? L - o1 : o1);
      double qa = fmin(q0, q1), qb = fmax(q0, q1);
      if (qa > hi || qb < lo) continue;
      double ax = n->vtx_x[v], ay = n->vtx_y[v], dx = n->vtx_x[v + 1] - ax, dy = n->vtx_y[v + 1] - ay;
      double l2 = dx * dx + dy * dy, u = 0;
      if (l2 > 0) u = ((x - ax) * dx + (y - ay) * dy) / l2;
      u = u < 0 ? 0 : u > 1 ? 1 : u;
      double q = q0 + u * (q1 - q0);
      if (q < lo) q = lo;
      if (q > hi) q = hi;
      /* distance to the clamped point */
      double uu = q1 != q0 ? (q - q0) / (q1 - q0) : 0;
      double ex = ax + uu * dx - x, ey = ay + uu * dy - y, d = ex * ex + ey * ey;
      if (d < bd) bd = d, best = q;
    }
  }
  return best;
}

/* Route coordinate -> segment, offset, position. */
static void route_point(const model *m, const work *w, double q, uint32_t *seg, uint8_t *dir, double *off,
                        double *px, double *py, double *lat, double *lon) {
  const dl_net *n = m->n;
  size_t lo = 0, hi = w->rn;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->rcum[mid] <= q) lo = mid;
    else hi = mid;
  }
  uint32_t e = w->route[lo];
  double p = q - w->rcum[lo], L = n->edge_len[e];
  if (p < 0) p = 0;
  if (p > L) p = L;
  *seg = n->edge_seg[e];
  *dir = n->edge_dir[e];
  *off = n->edge_dir[e] ? L - p : p;
  dl_match_seg_point(n, *seg, *off, px, py, lat, lon);
}

/* Route coordinate q (clamped to the route) -> position and unit tangent
 * in the travel direction. */
static void route_tangent(const model *m, const work *w, double q, double *px, double *py, double *tx, double *ty) {
  const dl_net *n = m->n;
  size_t lo = 0, hi = w->rn;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->rcum[mid] <= q) lo = mid;
    else hi = mid;
  }
  uint32_t e = w->route[lo], sg = n->edge_seg[e];
  double L = n->edge_len[e], p = q - w->rcum[lo];
  p = p < 0 ? 0 : p > L ? L : p;
  double off = n->edge_dir[e] ? L - p : p;
  uint32_t a = n->seg_vtx[sg], b = n->seg_vtx[sg + 1] - 1; /* piece [v, v+1] with vtx_off[v] <= off */
  while (b - a > 1) {
    uint32_t mid = a + (b - a) / 2;
    if (n->vtx_off[mid] <= off) a = mid;
    else b = mid;
  }
  double l = n->vtx_off[a + 1] - n->vtx_off[a], u = l > 0 ? (off - n->vtx_off[a]) / l : 0;
  u = u < 0 ? 0 : u > 1 ? 1 : u;
  *px = n->vtx_x[a] + u * (n->vtx_x[a + 1] - n->vtx_x[a]);
  *py = n->vtx_y[a] + u * (n->vtx_y[a + 1] - n->vtx_y[a]);
  double h = n->vtx_head[a] * (M_PI / 180.0), sgn = n->edge_dir[e] ? -1.0 : 1.0;
  *tx = sgn * sin(h), *ty = sgn * cos(h);
}

/* ---- along-route smoother ------------------------------------------------------ */
/* 3x3 helpers (row-major) */
static void m3_mul(const double *a, const double *b, double *c) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) c[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}
static void m3_mul_bt(const double *a, const double *b, double *c) { /* a b^T */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      c[3 * i + j] = a[3 * i] * b[3 * j] + a[3 * i + 1] * b[3 * j + 1] + a[3 * i + 2] * b[3 * j + 2];
}
/* inverse of a; 0 when singular */
static int m3_inv(const double *a, double *r) {
  double c00 = a[4] * a[8] - a[5] * a[7], c01 = a[5] * a[6] - a[3] * a[8], c02 = a[3] * a[7] - a[4] * a[6];
  double det = a[0] * c00 + a[1] * c01 + a[2] * c02;
  if (!(fabs(det) > 1e-300)) return 0;
  double id = 1.0 / det;
  r[0] = c00 * id, r[1] = (a[2] * a[7] - a[1] * a[8]) * id, r[2] = (a[1] * a[5] - a[2] * a[4]) * id;
  r[3] = c01 * id, r[4] = (a[0] * a[8] - a[2] * a[6]) * id, r[5] = (a[2] * a[3] - a[0] * a[5]) * id;
  r[6] = c02 * id, r[7] = (a[1] * a[6] - a[0] * a[7]) * id, r[8] = (a[0] * a[4] - a[1] * a[3]) * id;
  return 1;
}

/* Kalman filter + RTS smoother over fixes f .. f+nf-1 of a sub-match with
 * state (position s, speed v, GPS error n along the route): constant
 * velocity with acceleration noise q, and an AR(1) error n (coefficient
 * rho per second, variance R) so that a few seconds of correlated drift
 * are not read as motion. Measurement z = s + n (+ a little white noise).
 * z (NAN = none) is replaced by the smoothed s, v_out gets the speeds.
 * With zeff, a fix k with a measurement and not hold[k] is measured from
 * its x/y instead: the along-route component of its offset from the route
 * point at the predicted position (a fix beyond a bend or a junction is not
 * pulled back to the corner, as its nearest-point projection is); the
 * measurements used go to zeff[k]. */
static void kf_rts(const model *m, work *w, size_t f, size_t nf, double *z, double *v_out, double R, double q,
                   const uint8_t *hold, double *zeff) {
  double rho = m->rho, Rw = 0.02 * R, Ra = R - Rw;
  double qmax = w->rcum[w->rn - 1] + m->n->edge_len[w->route[w->rn - 1]];
  double *kf = w->kf;
  size_t first = 0;
  while (first < nf && !isfinite(z[first])) first++;
  if (first == nf) {
    for (size_t k = 0; k < nf; k++) v_out[k] = NAN;
    return;
  }
  double x[3] = {z[first], 0, 0}, P[9] = {0};
  P[0] = R, P[4] = 1e4, P[8] = Ra;
  for (size_t k = first + 1; k < nf; k++)
    if (isfinite(z[k])) {
      double dt = m->t[f + k] - m->t[f + first];
      if (dt > 0) x[1] = (z[k] - z[first]) / dt, P[4] = 2 * R / (dt * dt) + 1;
      break;
    }
  for (size_t k = 0; k < nf; k++) {
    double *r = kf + KF_STRIDE * k;
    if (k > 0) {
      double dt = m->t[f + k] - m->t[f + k - 1], a = pow(rho, dt);
      double F[9] = {1, dt, 0, 0, 1, 0, 0, 0, a}, FP[9], Pp[9];
      x[0] += x[1] * dt, x[2] *= a;
      m3_mul(F, P, FP);
      m3_mul_bt(FP, F, Pp);
      Pp[0] += q * dt * dt * dt / 3, Pp[1] += q * dt * dt / 2, Pp[3] += q * dt * dt / 2, Pp[4] += q * dt;
      Pp[8] += Ra * (1 - a * a);
      memcpy(P, Pp, sizeof P);
    }
    memcpy(r + 12, x, 3 * sizeof *x), memcpy(r + 15, P, 9 * sizeof *P);
    if (isfinite(z[k]) && k >= first) {
      double zk = z[k];
      if (zeff && !(hold && hold[k])) {
        double qs = x[0] < 0 ? 0 : x[0] > qmax ? qmax : x[0], px, py, tx, ty;
        route_tangent(m, w, qs, &px, &py, &tx, &ty);
        double zl = qs + (m->x[f + k] - px) * tx + (m->y[f + k] - py) * ty;
        /* beyond a hairpin or a sharp turn the tangent misleads: keep the projection */
        if (fabs(zl - zk) <= LIN_GATE * m->sigma) zk = zl;
        zeff[k] = zk;
      }
      /* H = [1 0 1] */
      double PH[3] = {P[0] + P[2], P[3] + P[5], P[6] + P[8]};
      double S = PH[0] + PH[2] + Rw, y = zk - x[0] - x[2];
      double K[3] = {PH[0] / S, PH[1] / S, PH[2] / S};
      for (int i = 0; i < 3; i++) x[i] += K[i] * y;
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) P[3 * i + j] -= K[i] * PH[j];
    }
    memcpy(r, x, 3 * sizeof *x), memcpy(r + 3, P, 9 * sizeof *P);
  }
  /* RTS backward pass */
  double xs[3];
  memcpy(xs, kf + KF_STRIDE * (nf - 1), sizeof xs);
  z[nf - 1] = xs[0], v_out[nf - 1] = xs[1];
  for (size_t k = nf - 1; k-- > 0;) {
    const double *a = kf + KF_STRIDE * k, *p = kf + KF_STRIDE * (k + 1);
    double dt = m->t[f + k + 1] - m->t[f + k], al = pow(rho, dt);
    double F[9] = {1, dt, 0, 0, 1, 0, 0, 0, al}, PFt[9], Pi[9], C[9];
    m3_mul_bt(a + 3, F, PFt);
    if (m3_inv(p + 15, Pi)) {
      m3_mul(PFt, Pi, C);
      double d[3] = {xs[0] - p[12], xs[1] - p[13], xs[2] - p[14]}, nx[3];
      for (int i = 0; i < 3; i++) nx[i] = a[i] + C[3 * i] * d[0] + C[3 * i + 1] * d[1] + C[3 * i + 2] * d[2];
      memcpy(xs, nx, sizeof xs);
    } else {
      memcpy(xs, a, sizeof xs);
    }
    z[k] = xs[0], v_out[k] = xs[1];
  }
}

/* ---- stop / go switching filter --------------------------------------------- */
/* Two motion models over the same state (route coordinate s, speed v, GPS
 * error n along the route, as in kf_rts): stopped (v = 0) and moving
 * (constant velocity, acceleration noise SG_Q), switching as a Markov
 * chain with mean dwell SG_TAU_STOP stopped and SG_TAU_MOVE moving. One
 * interacting-multiple-model pass over fixes f .. f+nf-1 of a sub-match in
 * time order (dir +1) or reversed (dir -1; both models are reversible)
 * writes the stopped probability of each fix to pr: forward after its
 * measurement, backward before it, so that the two combine (two-filter
 * form) without counting a measurement twice. A constant-velocity smoother
 * glides through a 5-10 s stop at 1-2 m/s; the stopped model drops the
 * speed to zero at once, so it explains the standing fixes better. */
static void imm_pass(const model *m, size_t f, size_t nf, const double *z, double R, int dir, double *pr) {
  double rho = m->rho, Rw = 0.02 * R, Ra = R - Rw;
  double pis = SG_TAU_STOP / (SG_TAU_STOP + SG_TAU_MOVE); /* stationary share stopped */
  double x[2][3], P[2][9], mu[2] = {pis, 1.0 - pis};
  size_t k = dir > 0 ? 0 : nf - 1;
  int started = 0;
  double dtp = -1, a = 1, pms = 0, psm = 0;
  for (size_t step = 0; step < nf; step++, k += (size_t)dir) {
    if (!started) {
      pr[k] = mu[0];
      if (!isfinite(z[k])) continue;
      for (int j = 0; j < 2; j++) {
        x[j][0] = z[k], x[j][1] = 0, x[j][2] = 0;
        memset(P[j], 0, sizeof P[j]);
        P[j][0] = R, P[j][4] = j ? 100.0 : 1e-4, P[j][8] = Ra;
      }
      started = 1;
      if (dir < 0) continue;
    } else {
      size_t kp = k - (size_t)dir;
      double dt = fabs(m->t[f + k] - m->t[f + kp]);
      if (dt != dtp) {
        dtp = dt, a = pow(rho, dt);
        pms = 1.0 - exp(-dt / SG_TAU_MOVE), psm = 1.0 - exp(-dt / SG_TAU_STOP);
      }
      /* mixing: Pi[i][j] = P(model j now | model i before); 0 = stopped */
      double Pi[2][2] = {{1.0 - psm, psm}, {pms, 1.0 - pms}};
      double c[2], xm[2][3], Pm[2][9];
      for (int j = 0; j < 2; j++) {
        c[j] = Pi[0][j] * mu[0] + Pi[1][j] * mu[1];
        double w0 = c[j] > 0 ? Pi[0][j] * mu[0] / c[j] : 0.5, w1 = 1.0 - w0;
        for (int i = 0; i < 3; i++) xm[j][i] = w0 * x[0][i] + w1 * x[1][i];
        double d0[3], d1[3];
        for (int i = 0; i < 3; i++) d0[i] = x[0][i] - xm[j][i], d1[i] = x[1][i] - xm[j][i];
        for (int i = 0; i < 3; i++)
          for (int l = 0; l < 3; l++)
            Pm[j][3 * i + l] = w0 * (P[0][3 * i + l] + d0[i] * d0[l]) + w1 * (P[1][3 * i + l] + d1[i] * d1[l]);
      }
      /* prediction */
      for (int j = 0; j < 2; j++) {
        double F[9] = {1, j ? dt : 0, 0, 0, j ? 1 : 0, 0, 0, 0, a}, FP[9];
        x[j][0] = xm[j][0] + F[1] * xm[j][1], x[j][1] = F[4] * xm[j][1], x[j][2] = a * xm[j][2];
        m3_mul(F, Pm[j], FP);
        m3_mul_bt(FP, F, P[j]);
        if (j) {
          double q = SG_Q;
          P[j][0] += q * dt * dt * dt / 3, P[j][1] += q * dt * dt / 2, P[j][3] += q * dt * dt / 2, P[j][4] += q * dt;
        } else {
          P[j][0] += SG_QS * dt, P[j][4] += 1e-6;
        }
        P[j][8] += Ra * (1 - a * a);
      }
      mu[0] = c[0], mu[1] = c[1];
      if (dir < 0) pr[k] = mu[0];
    }
    if (isfinite(z[k])) {
      double L[2];
      for (int j = 0; j < 2; j++) {
        double *Q = P[j];
        double PH[3] = {Q[0] + Q[2], Q[3] + Q[5], Q[6] + Q[8]};
        double S = PH[0] + PH[2] + Rw, y = z[k] - x[j][0] - x[j][2];
        L[j] = exp(-0.5 * y * y / S) / sqrt(S);
        for (int i = 0; i < 3; i++) x[j][i] += PH[i] / S * y;
        for (int i = 0; i < 3; i++)
          for (int l = 0; l < 3; l++) Q[3 * i + l] -= PH[i] * PH[l] / S;
      }
      double s0 = mu[0] * L[0], s1 = mu[1] * L[1], st = s0 + s1;
      if (st > 1e-300) mu[0] = s0 / st, mu[1] = s1 / st;
    }
    if (dir > 0) pr[k] = mu[0];
  }
}

static double norm_cdf(double a) { return 0.5 * erfc(-a * M_SQRT1_2); }

/* Position of a stop whose measurements average mu (standard error sd)
 * along the route: vehicles wait before a junction (a node where three or
 * more segments meet), not inside it, so the BOX_M metres past a junction
 * node have prior density BOX_PRIOR. When the part before the nearest
 * junction holds most posterior mass, the stop is placed at the posterior
 * mean there (a normal truncated at the node) and the node's route
 * coordinate goes to *jn (when not NULL); otherwise at mu. Without
 * this, GPS noise puts about half the stops that are a few metres before a
 * junction onto the road after it. With line set (a long stop, held by the
 * smoother), the LINE_M metres before the junction node (its stop line and
 * the first places of its queue) hold prior share LINE_SHARE against
 * LINE_BG_M metres elsewhere; when the measurements make that the likelier
 * place, the stop goes to the posterior mean there. At sigma 15 m a 20 s
 * stop's mean is known to about 8 m, which left most long stops of the
 * independent generator 6-13 m short of their junction. */
static double stop_place(const model *m, const work *w, double mu, double sd, int line, double *jn) {
  const dl_net *n = m->n;
  double qj = NAN; /* the junction nearest before mu within BOX_M, else the first one after it */
  size_t kj = 0;
  for (size_t k = 1; k < w->rn; k++) {
    double q = w->rcum[k];
    if (q < mu - BOX_M) continue;
    if (q > mu + 4.0 * sd) break;
    if (m->deg[n->edge_from[w->route[k]]] < 3) continue;
    qj = q, kj = k;
    if (q >= mu) break;
  }
  if (!isfinite(qj) || !(sd > 0)) return mu;
  /* junctions closer than BOX_M in a row (the carriageways of a divided
   * road) are one intersection: its box runs from the first one's node to
   * BOX_M past the last one's, and vehicles wait before the first */
  double qe = qj;
  for (size_t k = kj; k-- > 1 && w->rcum[k] >= qj - BOX_M;)
    if (m->deg[n->edge_from[w->route[k]]] >= 3) qj = w->rcum[k];
  double a = (qj - mu) / sd, b = (qe + BOX_M - mu) / sd;
  double pa = norm_cdf(a), pb = norm_cdf(b);
  if (line) {
    /* a long stop waits at the junction's stop line (the LINE_M metres before
     * its node) with prior share LINE_SHARE, elsewhere spread over LINE_BG_M */
    double b0 = (qj - LINE_M - mu) / sd, p0 = norm_cdf(b0);
    double wl = LINE_SHARE * (pa - p0) / LINE_M, wb = (1.0 - LINE_SHARE) / LINE_BG_M * fmax(pa, 1e-12);
    if (wl > wb && pa - p0 > 1e-12) {
      double f0 = exp(-0.5 * b0 * b0), f1 = exp(-0.5 * a * a);
      return mu + sd * (f0 - f1) / sqrt(2.0 * M_PI) / (pa - p0);
    }
  }
  if (!(pa >= BOX_PRIOR * (pb - pa) && pa >= 1.0 - pb && pa > 1e-12)) return mu;
  if (jn) *jn = qj;
  double phi = exp(-0.5 * a * a) / sqrt(2.0 * M_PI);
  return fmin(mu - sd * phi / pa, qj);
}

/* Route coordinate at time t of a vehicle standing at at until t0 and then
 * accelerating at acc along the route (dir +1), or (dir -1) braking at acc
 * to stand at at from t0 on. */
static double stop_model(double at, double t0, double acc, int dir, double t) {
  double u = dir > 0 ? t - t0 : t0 - t;
  if (u <= 0) return at;
  return at + dir * 0.5 * acc * u * u;
}

/* Sum of the squared whitened residuals (r_k - a_k r_{k-1}, scaled to the
 * innovation variance by iv_k = 1 / (1 - a_k^2); the first with a_k = 0,
 * iv_k = 1) of the measurements zm over fixes [lo, hi) that have one (a_k
 * and iv_k indexed from lo) against stop_model(at, t0, acc, dir); stops
 * adding once above stop_at. */
static double stop_fit_cost(const model *m, size_t f, const double *zm, size_t lo, size_t hi, const double *ak,
                            const double *iv, double at, double t0, double acc, int dir, double stop_at) {
  double cost = 0, rp = 0;
  for (size_t k = lo; k < hi && cost < stop_at; k++) {
    if (!isfinite(zm[k])) continue;
    double r = zm[k] - stop_model(at, t0, acc, dir, m->t[f + k]), wr = r - ak[k - lo] * rp;
    cost += wr * wr * iv[k - lo];
    rp = r;
  }
  return cost;
}

/* Fits the end (dir +1: departure) or start (dir -1: arrival) of a stop at
 * route coordinate at, detected by the smoothed speed at fix kb (the first
 * fix after the stop, or its first fix): the time t0 where the vehicle
 * leaves (reaches) at, and its acceleration, by least squares on the
 * whitened residuals (r_k - a r_{k-1}, a = rho^dt: the GPS error is AR(1),
 * so a few seconds of drift are not read as motion) of the measurements zm
 * over fixes [lo, hi). A constant-velocity smoother starts moving seconds
 * before a vehicle pulls away at <= 2 m/s^2 (and overshoots one braking
 * into a stop); since stops are just before a junction, those seconds land
 * on the next segment. Returns t0 and sets *acc; NAN when too few
 * measurements. */
static double stop_edge_fit(const model *m, size_t f, const double *zm, size_t lo, size_t hi, size_t kb, double at,
                            int dir, double R, double *acc) {
  static const double accs[] = {0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5};
  double ak[STOP_FIT_MAX], iv[STOP_FIT_MAX], tp = NAN;
  if (hi > lo + STOP_FIT_MAX) hi = lo + STOP_FIT_MAX;
  size_t cnt = 0;
  for (size_t k = lo; k < hi; k++) {
    ak[k - lo] = 0, iv[k - lo] = 1;
    if (!isfinite(zm[k])) continue;
    double tk = m->t[f + k];
    if (cnt++) {
      double a = pow(m->rho, tk - tp);
      ak[k - lo] = a, iv[k - lo] = 1.0 / fmax(1.0 - a * a, 1e-3);
    }
    tp = tk;
  }
  if (cnt < 6) return NAN;
  double tb = m->t[f + kb], best = INFINITY, bt = NAN;
  for (double d0 = -STOP_FIT_BACK; d0 <= STOP_FIT_FWD + 1e-9; d0 += 0.25) {
    double t0 = tb + dir * d0;
    for (size_t ia = 0; ia < sizeof accs / sizeof *accs; ia++) {
      double cost = stop_fit_cost(m, f, zm, lo, hi, ak, iv, at, t0, accs[ia], dir, best);
      if (cost < best) best = cost, bt = t0, *acc = accs[ia];
    }
  }
  /* only a start known to within about a second is used (at sigma 15 m it rarely is) */
  double c1 = fmin(stop_fit_cost(m, f, zm, lo, hi, ak, iv, at, bt - 1.0, *acc, dir, INFINITY),
                   stop_fit_cost(m, f, zm, lo, hi, ak, iv, at, bt + 1.0, *acc, dir, INFINITY));
  if (!((c1 - best) / (2.0 * R) >= STOP_FIT_NATS)) return NAN;
  return bt;
}

/* Smooths the route coordinates z of fixes f .. f+nf-1 (NAN = no
 * measurement) with acceleration noise qn: a constant-velocity smoother; then every stretch where the
 * smoothed speed stays below STOP_MPS for STOP_MIN_S is a stop, held at the
 * mean of its smoothed positions (a constant-velocity model overshoots a
 * braking vehicle and carries the overshoot into the stop; the smoothed
 * positions also weigh the arrival and departure, so a short stop is placed
 * better than by its few AR(1)-correlated measurements), and the smoother is run
 * again with the stops as measurements; finally the nearest non-decreasing
 * sequence (pool adjacent violators): the vehicle never moves backwards
 * along its own route. The short-stop caps (zcap) are computed when
 * *capped < 0 (then set to 1 if any, else 0) and reused otherwise. */
static void smooth_q(const model *m, work *w, size_t f, size_t nf, double *z, double R, double qn, int *capped) {
  if (nf < 2) return;
  double *zr = w->zraw, *sv = w->sv;
  memcpy(zr, z, nf * sizeof *z);
  kf_rts(m, w, f, nf, z, sv, R, qn, NULL, zr);
  double *zm = w->zlin; /* the measurements, before stops overwrite zr */
  memcpy(zm, zr, nf * sizeof *zm);
  /* short stops the speed misses: the switching filter's stopped stretches
   * that the stop prior puts before a junction are capped there */
  double *cap = w->zcap;
  if (*capped < 0) {
    *capped = 0;
    double *pf = w->kf, *pb = w->kf + nf;
    imm_pass(m, f, nf, zm, R, 1, pf);
    imm_pass(m, f, nf, zm, R, -1, pb);
    double pis = SG_TAU_STOP / (SG_TAU_STOP + SG_TAU_MOVE);
    for (size_t k = 0; k < nf; k++) {
      double a = pf[k] * pb[k] / pis, b = (1 - pf[k]) * (1 - pb[k]) / (1 - pis);
      pf[k] = a + b > 0 ? a / (a + b) : 0;
      cap[k] = INFINITY;
    }
    for (size_t k0 = 0; k0 < nf;) {
      if (!(pf[k0] > SG_P)) {
        k0++;
        continue;
      }
      size_t k1 = k0, cnt = 0; /* a dropout ends the stretch, as it ends a held stop */
      double sum = 0;
      for (; k1 < nf && pf[k1] > SG_P && (k1 == k0 || m->t[f + k1] - m->t[f + k1 - 1] <= STOP_GAP_S); k1++)
        if (isfinite(zm[k1])) sum += z[k1], cnt++;
      if (cnt >= 2) {
        double sd = sqrt(R / fmax(1.0, (double)cnt * m->emw)), qj = NAN;
        stop_place(m, w, sum / (double)cnt, sd, 0, &qj);
        if (isfinite(qj))
          for (size_t k = k0; k < k1; k++) cap[k] = qj - SG_EPS, *capped = 1;
      }
      k0 = k1;
    }
  }
  int stops = 0;
  for (size_t k0 = 0; k0 < nf;) {
    if (!(fabs(sv[k0]) < STOP_MPS)) {
      k0++;
      continue;
    }
    /* a dropout ends the stop: the vehicle may have crept on to a
     * second stop unseen (a 26 s dropout between the stop lines of two
     * junctions 35 m apart held both at the first) */
    size_t k1 = k0 + 1;
    while (k1 < nf && fabs(sv[k1]) < STOP_MPS && m->t[f + k1] - m->t[f + k1 - 1] <= STOP_GAP_S) k1++;
    double sum = 0;
    size_t cnt = 0;
    for (size_t k = k0; k < k1; k++)
      if (isfinite(zr[k])) sum += z[k], cnt++;
    if (cnt >= 2 && m->t[f + k1 - 1] - m->t[f + k0] >= STOP_MIN_S) {
      /* the mean of cnt measurements with AR(1) errors: about cnt * emw independent ones */
      double sd = sqrt(R / fmax(1.0, (double)cnt * m->emw));
      double at = stop_place(m, w, sum / (double)cnt, sd, 1, NULL);
      for (size_t k = k0; k < k1; k++) zr[k] = at, sv[k] = NAN; /* NAN marks the stop */
      stops = 1;
      /* the departure: the fixes up to the fitted start stay put, the next
       * few follow the fitted acceleration (held: the second pass does not move them) */
      size_t k2 = k1;
      while (k2 < nf && !(fabs(sv[k2]) < STOP_MPS) && m->t[f + k2] - m->t[f + k1] < STOP_FIT_WIN) k2++;
      size_t lo = k1 > k0 + STOP_FIT_PRE ? k1 - STOP_FIT_PRE : k0;
      double acc = 0, t0 = k1 < nf ? stop_edge_fit(m, f, zm, lo, k2, k1, at, 1, R, &acc) : NAN;
      if (isfinite(t0)) {
        for (size_t k = lo; k < k2; k++) {
          double tk = m->t[f + k];
          if (tk > t0 + STOP_HOLD_S) break;
          zr[k] = stop_model(at, t0, acc, 1, tk), sv[k] = NAN;
        }
      }
    }
    k0 = k1;
  }
  if (stops) {
    uint8_t *stop = w->stopk;
    for (size_t k = 0; k < nf; k++) stop[k] = isnan(sv[k]);
    memcpy(z, zr, nf * sizeof *z);
    kf_rts(m, w, f, nf, z, sv, R, qn, stop, w->zlin);
    for (size_t k = 0; k < nf; k++)
      if (stop[k]) z[k] = zr[k];
  }
  if (*capped)
    for (size_t k = 0; k < nf; k++)
      if (z[k] > cap[k]) z[k] = cap[k];
  /* pool adjacent violators (equal weights), in place using kf as a block stack */
  double *bv = w->kf, *bw = w->kf + nf;
  size_t nb = 0;
  for (size_t k = 0; k < nf; k++) {
    bv[nb] = z[k], bw[nb] = 1, nb++;
    while (nb > 1 && bv[nb - 2] > bv[nb - 1]) {
      double wsum = bw[nb - 2] + bw[nb - 1];
      bv[nb - 2] = (bv[nb - 2] * bw[nb - 2] + bv[nb - 1] * bw[nb - 1]) / wsum;
      bw[nb - 2] = wsum;
      nb--;
    }
  }
  size_t k = 0;
  for (size_t b = 0; b < nb; b++)
    for (size_t c = 0; c < (size_t)bw[b]; c++) z[k++] = bv[b];
}

/* Route edge index holding route coordinate q. */
static size_t route_index(const work *w, double q) {
  size_t lo = 0, hi = w->rn;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (w->rcum[mid] <= q) lo = mid;
    else hi = mid;
  }
  return lo;
}
/* Smooths the route coordinates z of fixes f .. f+nf-1 (NAN = no
 * measurement) twice: with the steady smooth_q, whose positions are kept,
 * and with the agile AGILE_Q, which follows braking for a turn or a stop
 * and pulling away seconds sooner; where the two put a fix on different
 * route edges, the fix is moved to the agile one's edge (to its end nearest
 * the steady position). Measured: simulator sigma 15 interior +0.2 to +0.9
 * points; the generator's within-5-m share within -0.3..+0.15 per seed. */
static void smooth(const model *m, work *w, size_t f, size_t nf, double *z, double R) {
  if (nf < 2) return;
  double *za = w->zag;
  memcpy(za, z, nf * sizeof *z);
  int capped = -1;
  smooth_q(m, w, f, nf, za, R, AGILE_Q, &capped);
  smooth_q(m, w, f, nf, z, R, m->o->smooth_q, &capped);
  for (size_t k = 0; k < nf; k++) {
    if (!isfinite(z[k]) || !isfinite(za[k])) continue;
    size_t e = route_index(w, z[k]), ea = route_index(w, za[k]);
    if (e == ea) continue;
    double lo = w->rcum[ea], hi = ea + 1 < w->rn ? w->rcum[ea + 1] : INFINITY;
    z[k] = z[k] < lo ? lo + 0.01 : hi - 0.01;
  }
}

/* ---- one piece of a trace ---------------------------------------------------- */
typedef struct chunk {
  size_t tr;          /* trace */
  size_t a, b;        /* extended range of fixes */
  size_t c0, c1;      /* core range written to the output */
} chunk;

/* Matches fixes [ch->a, ch->b) and writes the rows of [c0, c1). Adds
 * the restarts inside the core to *breaks and the chosen transitions'
 * |route - straight| to mis[fix] and the chosen candidates' distances to emd[fix]. */
static int match_chunk(const model *m, work *w, const chunk *ch, dl_match_out *out, size_t *breaks, double *mis,
                       double *emd, double *hed) {
  const dl_net *n = m->n;
  size_t a = ch->a, nf = ch->b - ch->a;
  if (work_reserve(w, nf)) return DL_ENOMEM;
  /* candidates of the observations */
  size_t ns = 0;
  w->cstart[0] = 0;
  for (size_t i = a; i < ch->b; i++) {
    w->noroad[i - a] = 0;
    if (m->kind[i] != K_OBS) continue;
    const cand *pc = ns ? w->c + w->cstart[ns - 1] : NULL;
    int np = ns ? (int)(w->cstart[ns] - w->cstart[ns - 1]) : 0;
    int nc = candidates(m, w, i, w->c + w->cstart[ns], pc, np);
    if (nc == 0) {
      w->noroad[i - a] = 1;
      continue;
    }
    w->obs[ns] = (uint32_t)i;
    w->cstart[ns + 1] = w->cstart[ns] + (uint32_t)nc;
    ns++;
  }
  for (size_t i = 0; i < nf; i++) w->fsub[i] = -1, w->coord[i] = NAN;
  if (ns > 0) {
    viterbi(m, w, ns);
    backtrack(w, ns);
  }
  /* a bridged observation is placed like an outlier: by the smoother, no measurement */
  for (size_t s = 0; s < ns; s++)
    if (w->state[s] < 0) w->noroad[w->obs[s] - a] = 1;
  /* restarts inside the core are breaks (hard breaks are counted per trace) */
  for (size_t s = 1; s < ns; s++)
    if (w->sub[s] != w->sub[s - 1] && w->obs[s] >= ch->c0 && w->obs[s] < ch->c1 &&
        !(m->t[w->obs[s]] - m->t[w->obs[s - 1]] > m->o->gap_s))
      (*breaks)++;
  /* every fix belongs to the sub-match of the last observation before it
   * (or of the first one after it, before the first observation) */
  {
    size_t s = 0;
    for (size_t i = a; i < ch->b; i++) {
      while (s + 1 < ns && w->obs[s + 1] <= i) s++;
      if (ns) w->fsub[i - a] = (int32_t)w->sub[s];
    }
  }
  /* each sub-match: route, coordinates, smoothing, rows */
  size_t s0 = 0;
  while (s0 < ns) {
    size_t s1 = s0 + 1;
    while (s1 < ns && w->sub[s1] == w->sub[s0]) s1++;
    int32_t id = (int32_t)w->sub[s0];
    w->rn = 0;
    cand cur = w->c[w->state[s0]];
    if (route_push(w, cur.edge, 0)) return DL_ENOMEM;
    size_t ri = 0;
    double cprev = cur.pos;
    w->coord[w->obs[s0] - a] = cprev;
    for (size_t s = s0; s < s1; s++)
      if (w->state[s] >= 0 && w->obs[s] >= ch->c0 && w->obs[s] < ch->c1) {
        size_t i = w->obs[s];
        emd[i] = w->c[w->state[s]].dist;
        if (m->speed && m->course && m->speed[i] > HEAD_MPS && isfinite(m->course[i])) {
          hed[i] = wrap180(m->course[i] - w->c[w->state[s]].head);
        }
      }
    for (size_t s = s0 + 1, sp = s0; s < s1; s++) {
      if (w->state[s] < 0) continue;
      const cand *cc = w->c + w->state[s];
      uint8_t via = w->via[w->state[s]];
      size_t i0 = w->obs[sp], i1 = w->obs[s];
      sp = s;
      double straight = hypot(m->hx[i1] - m->hx[i0], m->hy[i1] - m->hy[i0]);
      double q;
      if (route_step(m, w, &ri, &cur, cc, via, step_bound(straight, m->t[i1] - m->t[i0]), &q)) return DL_ENOMEM;
      double along = via == 2 || via == 3 ? cprev - q : q - cprev;
      if (i1 >= ch->c0 && i1 < ch->c1) mis[i1] = fabs(along - straight);
      w->coord[i1 - a] = q;
      cprev = q;
    }
    /* the fixes of this sub-match in the chunk */
    size_t f0 = 0;
    while (f0 < nf && w->fsub[f0] != id) f0++;
    size_t f1 = f0;
    while (f1 < nf && w->fsub[f1] == id) f1++;
    /* thinned fixes: projected onto the route between their neighbours;
     * the others (outliers, no road) get no measurement */
    double last = NAN, next = NAN;
    size_t nxt = f0;
    for (size_t i = f0; i < f1; i++) {
      size_t fi = a + i;
      if (m->kind[fi] == K_OBS && !w->noroad[i]) {
        last = w->coord[i];
        continue;
      }
      if (m->kind[fi] != K_THIN) continue;
      if (nxt <= i) {
        nxt = i + 1;
        while (nxt < f1 && !(m->kind[a + nxt] == K_OBS && !w->noroad[nxt])) nxt++;
        next = nxt < f1 ? w->coord[nxt] : NAN;
      }
      /* within still_m of the observations around it (a thinned fix lies
       * within still_m of the last kept one): clamping to the span between
       * them would bias a stop towards where the vehicle left it */
      double lo = isfinite(last) ? last : next, hi = isfinite(next) ? next : last;
      if (!isfinite(lo)) continue;
      if (lo > hi) {
        double t = lo;
        lo = hi, hi = t;
      }
      lo -= m->o->still_m, hi += m->o->still_m;
      w->coord[i] = route_project(m, w, m->x[fi], m->y[fi], lo, hi);
    }
    /* smoothing over the sub-match's fixes; outliers and no-road fixes
     * between observations have no measurement and are placed by it */
    size_t g0 = w->obs[s0] - a, g1 = w->obs[s1 - 1] - a + 1;
    smooth(m, w, a + f0, f1 - f0, w->coord + f0, m->sigma * m->sigma);
    /* rows */
    double qmax = w->rcum[w->rn - 1] + n->edge_len[w->route[w->rn - 1]];
    for (size_t i = f0; i < f1; i++) {
      size_t fi = a + i;
      if (fi < ch->c0 || fi >= ch->c1) continue;
      double q = w->coord[i];
      int st;
      if (m->kind[fi] == K_OBS && !w->noroad[i]) st = DL_MATCH_MATCHED;
      else if (m->kind[fi] == K_THIN) st = DL_MATCH_MATCHED;
      else if (i > g0 && i < g1 - 1) st = DL_MATCH_INTERPOLATED;
      else st = m->kind[fi] == K_OUT ? DL_MATCH_OUTLIER : DL_MATCH_UNMATCHED;
      if (!isfinite(q) || st == DL_MATCH_OUTLIER || st == DL_MATCH_UNMATCHED) {
        out->status[fi] = (uint8_t)(st == DL_MATCH_MATCHED ? DL_MATCH_UNMATCHED : st);
        continue;
      }
      if (q < 0) q = 0;
      if (q > qmax) q = qmax;
      uint8_t dir;
      route_point(m, w, q, &out->seg[fi], &dir, &out->offset[fi], &out->mx[fi], &out->my[fi], &out->mlat[fi],
                  &out->mlon[fi]);
      out->dist[fi] = hypot(m->x[fi] - out->mx[fi], m->y[fi] - out->my[fi]);
      out->status[fi] = (uint8_t)st;
      if (out->dir) out->dir[fi] = dir;
    }
    s0 = s1;
  }
  return DL_OK;
}

/* ---- per-trace preparation ------------------------------------------------------ */
static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of the finite values of v[0..n) (reordered in place), NAN when none. */
static double median_inplace(double *v, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) v[k++] = v[i];
  if (!k) return NAN;
  qsort(v, k, sizeof *v, cmp_dbl);
  return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/* Heading concentration 1 / sigma^2 (radians) from the signed angles
 * (degrees) between the course and the piece of the chosen candidate,
 * v[0..n) (overwritten): *bias = their median (clamped to COURSE_BIAS),
 * sigma = 1.4826 x the median of |angle - bias|, clamped to [COURSE_MIN,
 * COURSE_MAX] (medians ignore the fixes of turns and wrong roads); NAN
 * with fewer than 30 angles. */
static double estimate_kappa(double *v, size_t n, double *bias) {
  if (n < 30) return NAN;
  double b = median_inplace(v, n);
  if (!isfinite(b)) return NAN;
  b = b < -COURSE_BIAS ? -COURSE_BIAS : b > COURSE_BIAS ? COURSE_BIAS : b;
  for (size_t i = 0; i < n; i++) v[i] = fabs(v[i] - b);
  double s = 1.4826 * median_inplace(v, n);
  if (!isfinite(s)) return NAN;
  *bias = b;
  s = (s < COURSE_MIN ? COURSE_MIN : s > COURSE_MAX ? COURSE_MAX : s) * (M_PI / 180.0);
  return 1.0 / (s * s);
}

/* Starting heading concentration of trace [a,b) before any road is chosen:
 * estimate_kappa of the angles between the course of up to 1000 evenly
 * spread moving fixes and the best aligned of their 4 nearest roads within
 * radius (either way along them): a little sharp, as the best of four,
 * which the estimate from the first pass's roads corrects; NAN when too
 * few fixes have a course. Saves the pass a broad start would need. */
static double start_kappa(const dl_net *n, dl_net_query *q, const double *x, const double *y, const double *speed,
                          const double *course, size_t a, size_t b, double radius, double *tmp, double *bias) {
  *bias = 0;
  if (!speed || !course) return NAN;
  size_t len = b - a, step = len > 1000 ? (len + 999) / 1000 : 1, k = 0;
  for (size_t i = a; i < b; i += step) {
    if (!(speed[i] > HEAD_MPS) || !isfinite(course[i]) || !isfinite(x[i]) || !isfinite(y[i])) continue;
    dl_net_nearest(n, q, x[i], y[i], 4, radius, DL_NETQ_PER_SEGMENT);
    double best = INFINITY;
    for (size_t h = 0; h < q->n; h++) {
      double dh = wrap180(course[i] - q->hit[h].heading); /* either way along the road: (-90, 90] */
      dh = dh > 90.0 ? dh - 180.0 : dh <= -90.0 ? dh + 180.0 : dh;
      if (fabs(dh) < fabs(best)) best = dh;
    }
    if (q->n) tmp[k++] = best;
  }
  return estimate_kappa(tmp, k, bias);
}

/* sigma from the distance of up to 1000 evenly spread fixes to their nearest road */
static double estimate_sigma(const dl_net *n, const dl_match_opts *o, dl_net_query *q, const double *x,
                             const double *y, size_t a, size_t b, double *tmp) {
  size_t len = b - a, step = len > 1000 ? (len + 999) / 1000 : 1, k = 0;
  for (size_t i = a; i < b; i += step) {
    dl_net_nearest(n, q, x[i], y[i], 1, o->radius_max, DL_NETQ_PER_SEGMENT);
    if (q->n) tmp[k++] = q->hit[0].dist;
  }
  double med = median_inplace(tmp, k);
  if (!isfinite(med)) return 10;
  double s = 1.4826 * med;
  return s < 4 ? 4 : s > 25 ? 25 : s;
}

/* Median time step of trace [a,b) (1 when it has fewer than two fixes),
 * from up to 1000 evenly spread steps. */
static double median_step(const double *t, size_t a, size_t b, double *tmp) {
  size_t len = b - a, step = len > 1001 ? (len + 999) / 1000 : 1, k = 0;
  for (size_t i = a + 1; i < b; i += step)
    if (isfinite(t[i]) && isfinite(t[i - 1])) tmp[k++] = t[i] - t[i - 1];
  double m = median_inplace(tmp, k);
  return isfinite(m) && m > 0 ? m : 1.0;
}

/* AR(1) coefficient per second of the GPS error of trace [a,b): lag-one
 * correlation of the residuals (fix minus matched position, both axes)
 * over pairs of matched fixes about a second apart; NAN with fewer than
 * 30 pairs (a sparse trace: the error of its fixes is independent). */
static double estimate_rho(const double *t, const double *x, const double *y, const dl_match_out *out, size_t a,
                           size_t b) {
  double sxy = 0, sxx = 0;
  size_t k = 0;
  for (size_t i = a + 1; i < b; i++) {
    if (out->status[i] != DL_MATCH_MATCHED || out->status[i - 1] != DL_MATCH_MATCHED) continue;
    double dt = t[i] - t[i - 1];
    if (!(dt > 0.5 && dt < 1.5)) continue;
    double ex = x[i] - out->mx[i], ey = y[i] - out->my[i], px = x[i - 1] - out->mx[i - 1],
           py = y[i - 1] - out->my[i - 1];
    sxy += ex * px + ey * py, sxx += 0.5 * (ex * ex + ey * ey + px * px + py * py);
    k++;
  }
  if (k < 30 || !(sxx > 0)) return NAN;
  double r = sxy / sxx;
  return r < 0 ? 0 : r > RHO_MAX ? RHO_MAX : r;
}

/* 1 when fix i's reported speed says the vehicle stands */
static int standing(const double *speed, size_t i) { return speed && speed[i] < STAND_MPS; }

/* kinds (bad, outlier, observation, thinned), hard-break flags and HMM
 * observation positions and weights of trace [a,b), for GPS error sigma
 * and AR(1) coefficient rho per second (both only shape the stands) */
static void prepare(const dl_match_opts *o, double sigma, double rho, const double *t, const double *x,
                    const double *y, const double *speed, const double *course, int keep, size_t a, size_t b,
                    uint8_t *kind, uint8_t *brk, double *hx, double *hy, double *hw) {
  for (size_t i = a; i < b; i++) {
    kind[i] = isfinite(t[i]) && isfinite(x[i]) && isfinite(y[i]) ? K_OBS : K_BAD;
    brk[i] = 0;
  }
  /* single-fix spikes: too fast to reach and to leave, while the neighbours agree */
  size_t p = SIZE_MAX;
  for (size_t i = a; i < b; i++) {
    if (kind[i] == K_BAD) continue;
    size_t q = i + 1;
    while (q < b && kind[q] == K_BAD) q++;
    if (p != SIZE_MAX && q < b) {
      double v1 = hypot(x[i] - x[p], y[i] - y[p]) / fmax(t[i] - t[p], 1e-3);
      double v2 = hypot(x[q] - x[i], y[q] - y[i]) / fmax(t[q] - t[i], 1e-3);
      double v3 = hypot(x[q] - x[p], y[q] - y[p]) / fmax(t[q] - t[p], 1e-3);
      if (v1 > OUTLIER_MPS && v2 > OUTLIER_MPS && v3 <= OUTLIER_MPS) {
        kind[i] = K_OUT;
        continue; /* p stays the last good fix */
      }
    }
    p = i;
  }
  /* hard breaks and thinning */
  double still = o->still_m;
  size_t last = SIZE_MAX, kept = SIZE_MAX;
  for (size_t i = a; i < b; i++) {
    if (kind[i] == K_BAD || kind[i] == K_OUT) continue;
    if (last != SIZE_MAX && (t[i] - t[last] > o->gap_s || hypot(x[i] - x[last], y[i] - y[last]) > o->jump_m)) {
      brk[i] = 1;
      kept = SIZE_MAX;
    }
    last = i;
    /* the receiver's own (Doppler) speed says the vehicle stands: at
     * sigma 15 m its fixes wander much farther than still_m, and each one
     * kept as an observation costs the true road a step back or a clamp
     * at a segment end that the short links of a junction absorb. Within
     * STAND_SIGMAS of the kept fix only: a receiver that reports 0 while
     * moving must not fold a drive into one observation */
    double d = kept != SIZE_MAX ? hypot(x[i] - x[kept], y[i] - y[kept]) : INFINITY;
    int stand = standing(speed, i) && kept != SIZE_MAX && standing(speed, kept) && d <= STAND_SIGMAS * sigma;
    /* a moving fix whose course is sharp (keep) is evidence of the road
     * even within still_m of the last one: a link between a main road
     * and its side road shows in the course of only a fix or two */
    int moving = keep && speed && course && speed[i] > HEAD_MPS && isfinite(course[i]);
    if (kept != SIZE_MAX && (stand || (!moving && d <= still && t[i] - t[kept] < STILL_MAX_S))) {
      kind[i] = K_THIN;
      continue;
    }
    kept = i;
  }
  /* a standing vehicle's kept fix observes the mean of the fixes of its
   * stand: the emission gains what the mean knows more (the variance
   * factor of the mean of m AR(1) errors) */
  for (size_t i = a; i < b; i++) hx[i] = x[i], hy[i] = y[i], hw[i] = 0;
  for (size_t i = a; i < b; i++) {
    if (kind[i] != K_OBS || !standing(speed, i)) continue;
    double sx = x[i], sy = y[i];
    size_t m = 1;
    for (size_t j = i + 1; j < b && kind[j] != K_OBS; j++)
      if (kind[j] == K_THIN && standing(speed, j)) sx += x[j], sy += y[j], m++;
    if (m == 1) continue;
    double dm = (double)m;
    double fm = ((1 + rho) / (1 - rho) - 2 * rho * (1 - pow(rho, dm)) / (dm * (1 - rho) * (1 - rho))) / dm;
    hx[i] = sx / dm, hy[i] = sy / dm, hw[i] = fm > 0 && fm < 1 ? 1 / fm : 0;
  }
}

/* ---- the entry point ---------------------------------------------------------------- */
int dl_match(const dl_net *n, const dl_match_opts *o, size_t n_tr, const size_t *tr_start, const double *t,
             const double *x, const double *y, const double *speed, const double *course, dl_match_out *out,
             dl_match_summary *sum, dl_err *e) {
  if (!(o->k >= 1 && o->k <= KOPT_MAX) || !(o->radius_max > 0) || !(o->gap_s > 0) || !(o->jump_m > 0) ||
      !(o->still_m >= 0) || !(o->sigma >= 0) || !(o->beta >= 0) || !(o->rho >= 0 && o->rho < 1) || !(o->turn >= 0) ||
      !(o->smooth_q > 0) || o->chunk < 100)
    return dl_errf(e, DL_EUSAGE, "match: option out of range (k 1..%d, radius, gap, jump, rho 0..1, turn >= 0, smooth_q > 0, chunk >= 100)",
                   KOPT_MAX);
  size_t N = tr_start[n_tr];
  for (size_t r = 0; r < n_tr; r++)
    for (size_t i = tr_start[r] + 1; i < tr_start[r + 1]; i++)
      if (isfinite(t[i]) && isfinite(t[i - 1]) && !(t[i] > t[i - 1]))
        return dl_errf(e, DL_EUSAGE, "match: trace %zu, fix %zu: time %.3f does not increase (previous %.3f)", r,
                       i - tr_start[r] + 1, t[i], t[i - 1]);
  uint8_t *kind = malloc(N ? N : 1), *brk = malloc(N ? N : 1);
  double *mis = malloc((N ? N : 1) * sizeof *mis), *sig = malloc((n_tr ? n_tr : 1) * sizeof *sig);
  double *bet = malloc((n_tr ? n_tr : 1) * sizeof *bet);
  double *rho = malloc((n_tr ? n_tr : 1) * sizeof *rho), *dtm = malloc((n_tr ? n_tr : 1) * sizeof *dtm);
  size_t *brks = calloc(n_tr ? n_tr : 1, sizeof *brks);
  uint8_t *deg = calloc(n->n_nodes ? n->n_nodes : 1, 1);
  double *hx = malloc((N ? N : 1) * sizeof *hx), *hy = malloc((N ? N : 1) * sizeof *hy);
  double *hw = malloc((N ? N : 1) * sizeof *hw), *kap = malloc((n_tr ? n_tr : 1) * sizeof *kap);
  double *hbi = calloc(n_tr ? n_tr : 1, sizeof *hbi);
  uint8_t *kest = calloc(n_tr ? n_tr : 1, 1); /* the trace's course error was measured */
  /* heading concentration above which moving fixes are all kept */
  const double keep_kappa = 1.0 / ((COURSE_KEEP * M_PI / 180.0) * (COURSE_KEEP * M_PI / 180.0));
  chunk *ch = NULL;
  int rc = DL_OK;
  if (!kind || !brk || !mis || !sig || !bet || !rho || !dtm || !brks || !deg || !hx || !hy || !hw || !kap || !hbi || !kest) {
    rc = DL_ENOMEM;
    goto done;
  }
  for (uint32_t sg = 0; sg < n->n_segs; sg++) {
    if (deg[n->seg_from[sg]] < 255) deg[n->seg_from[sg]]++;
    if (deg[n->seg_to[sg]] < 255) deg[n->seg_to[sg]]++;
  }
  for (size_t i = 0; i < N; i++) {
    out->seg[i] = DL_NET_NONE;
    out->offset[i] = out->mx[i] = out->my[i] = out->mlat[i] = out->mlon[i] = out->dist[i] = NAN;
    out->status[i] = DL_MATCH_UNMATCHED;
    if (out->dir) out->dir[i] = 0;
    mis[i] = NAN;
  }
  int nth = o->threads > 0 ? o->threads : omp_get_max_threads();
  /* phase 1: per trace sigma, kinds, hard breaks */
#pragma omp parallel num_threads(nth)
  {
    dl_net_query q;
    double *tmp = malloc(1001 * sizeof *tmp);
    int ok = dl_net_query_init(&q, 16) == DL_OK && tmp;
#pragma omp for schedule(dynamic, 1)
    for (size_t r = 0; r < n_tr; r++) {
      if (!ok) continue;
      size_t a = tr_start[r], b = tr_start[r + 1];
      sig[r] = o->sigma > 0 ? o->sigma : estimate_sigma(n, o, &q, x, y, a, b, tmp);
      bet[r] = o->beta > 0 ? o->beta : fmax(3.0, 0.5 * sig[r]);
      rho[r] = o->rho > 0 ? o->rho : RHO_START;
      double kc = o->heading_kappa > 0 ? start_kappa(n, &q, x, y, speed, course, a, b, fmax(3.0 * sig[r], 30.0), tmp,
                                                     &hbi[r])
                                        : NAN;
      kap[r] = isfinite(kc) ? kc : o->heading_kappa, kest[r] = isfinite(kc);
      prepare(o, sig[r], rho[r], t, x, y, speed, course, kap[r] >= keep_kappa, a, b, kind, brk, hx, hy, hw);
      dtm[r] = median_step(t, a, b, tmp);
    }
    if (!ok) {
#pragma omp atomic write
      rc = DL_ENOMEM;
    }
    dl_net_query_free(&q);
    free(tmp);
  }
  if (rc) goto done;
  for (size_t i = 0; i < N; i++)
    if (kind[i] == K_OUT) out->status[i] = DL_MATCH_OUTLIER;
  /* phase 2: pieces (between hard breaks) split into chunks of a fixed size */
  size_t nch = 0, cap = 0;
  for (size_t r = 0; r < n_tr; r++) {
    size_t a = tr_start[r], b = tr_start[r + 1];
    size_t p0 = a;
    for (size_t i = a; i <= b; i++) {
      if (i < b && !(brk[i] && i > p0)) continue;
      size_t p1 = i, len = p1 - p0;
      size_t parts = len > o->chunk + o->chunk / 2 ? (len + o->chunk - 1) / o->chunk : 1;
      for (size_t k = 0; k < parts && len; k++) {
        if (nch == cap) {
          cap = cap ? 2 * cap : 64;
          chunk *nc = realloc(ch, cap * sizeof *nc);
          if (!nc) {
            rc = DL_ENOMEM;
            goto done;
          }
          ch = nc;
        }
        chunk *c = &ch[nch++];
        c->tr = r;
        c->c0 = p0 + len * k / parts, c->c1 = p0 + len * (k + 1) / parts;
        c->a = c->c0 >= p0 + OVERLAP ? c->c0 - OVERLAP : p0;
        c->b = c->c1 + OVERLAP <= p1 ? c->c1 + OVERLAP : p1;
      }
      if (i < b && i > a) brks[r]++;
      p0 = i;
    }
  }
  /* phase 3: match every chunk; then re-estimate sigma (from the distances
   * to the chosen roads: the nearest road underestimates it where roads are
   * dense) and beta (from the chosen transitions) per trace, and redo the
   * traces where either moved by more than a fifth */
  uint8_t *redo = calloc(n_tr ? n_tr : 1, 1);
  size_t *rbrk = calloc(n_tr ? n_tr : 1, sizeof *rbrk);
  double *emd = malloc((N ? N : 1) * sizeof *emd), *hed = malloc((N ? N : 1) * sizeof *hed);
  if (!redo || !rbrk || !emd || !hed) {
    free(redo), free(rbrk), free(emd), free(hed);
    rc = DL_ENOMEM;
    goto done;
  }
  for (int pass = 0; pass < 3 && !rc; pass++) {
    for (size_t r = 0; r < n_tr; r++)
      if (pass == 0 || redo[r]) {
        rbrk[r] = 0;
        for (size_t i = tr_start[r]; i < tr_start[r + 1]; i++) {
          mis[i] = emd[i] = hed[i] = NAN;
          out->seg[i] = DL_NET_NONE;
          out->offset[i] = out->mx[i] = out->my[i] = out->mlat[i] = out->mlon[i] = out->dist[i] = NAN;
          out->status[i] = kind[i] == K_OUT ? DL_MATCH_OUTLIER : DL_MATCH_UNMATCHED;
        }
      }
#pragma omp parallel num_threads(nth)
    {
      work w;
      int ok = work_init(&w, n, o->turn) == DL_OK;
#pragma omp for schedule(dynamic, 1)
      for (size_t c = 0; c < nch; c++) {
        size_t r = ch[c].tr;
        if (!ok || (pass > 0 && !redo[r])) continue;
        double r1 = pow(rho[r], dtm[r]);
        model m = {n,    o, sig[r], bet[r], fmax(3.0 * sig[r], 30.0), rho[r], (1 - r1) / (1 + r1),
                   t, x, y, speed, course, hx, hy, hw, kind, deg, 0, 0, 0};
        heading_model(kap[r], &m);
        m.hb = hbi[r];
        size_t nb = 0;
        if (match_chunk(&m, &w, &ch[c], out, &nb, mis, emd, hed)) ok = 0;
#pragma omp atomic
        rbrk[r] += nb;
      }
      if (!ok) {
#pragma omp atomic write
        rc = DL_ENOMEM;
      }
      work_free(&w);
    }
    if (rc || pass == 2 || (o->beta > 0 && o->sigma > 0 && o->rho > 0 && !(course && o->heading_kappa > 0))) break;
    int any = 0;
    for (size_t r = 0; r < n_tr; r++) {
      redo[r] = 0;
      size_t a = tr_start[r], b = tr_start[r + 1], k = 0, k2 = 0;
      double *v = malloc((b - a + 1) * sizeof *v);
      if (!v) {
        rc = DL_ENOMEM;
        break;
      }
      for (size_t i = a; i < b; i++)
        if (isfinite(mis[i])) v[k++] = mis[i];
      double be = median_inplace(v, k) / M_LN2;
      for (size_t i = a; i < b; i++)
        if (isfinite(emd[i])) v[k2++] = emd[i];
      double sg = 1.4826 * median_inplace(v, k2);
      size_t k3 = 0;
      for (size_t i = a; i < b; i++)
        if (isfinite(hed[i])) v[k3++] = hed[i];
      double hb = 0, kc = o->heading_kappa > 0 ? estimate_kappa(v, k3, &hb) : NAN;
      free(v);
      if (isfinite(kc) && (fabs(log(kc / kap[r])) > 0.2 || fabs(hb - hbi[r]) > 0.5))
        kap[r] = kc, hbi[r] = hb, kest[r] = 1, redo[r] = 1;
      if (o->sigma <= 0 && k2 >= 20 && isfinite(sg)) {
        sg = sg < 4 ? 4 : sg > 25 ? 25 : sg;
        if (fabs(sg / sig[r] - 1) > 0.2) sig[r] = sg, redo[r] = 1;
      }
      if (o->rho <= 0) {
        double rh = estimate_rho(t, x, y, out, a, b);
        if (isfinite(rh) && fabs(rh - rho[r]) > 0.1) rho[r] = rh, redo[r] = 1;
      }
      if (o->beta <= 0 && k >= 20 && isfinite(be)) {
        be = be < 3 ? 3 : be > 200 ? 200 : be; /* the estimate from the chosen path tends to collapse */
        if (fabs(be / bet[r] - 1) > 0.2) bet[r] = be, redo[r] = 1;
      }
      /* the stands, thinned with the first (nearest-road) sigma, again with the new estimates */
      if (redo[r]) prepare(o, sig[r], rho[r], t, x, y, speed, course, kap[r] >= keep_kappa, a, b, kind, brk, hx, hy, hw);
      any |= redo[r];
    }
    if (!any) break;
  }
  free(emd), free(hed);
  for (size_t r = 0; r < n_tr; r++) brks[r] += rbrk[r];
  free(redo), free(rbrk);
  if (rc) goto done;
  /* phase 4: summaries */
  if (sum)
    for (size_t r = 0; r < n_tr; r++) {
      dl_match_summary *S = &sum[r];
      memset(S, 0, sizeof *S);
      size_t a = tr_start[r], b = tr_start[r + 1], k = 0;
      S->points = b - a, S->breaks = brks[r], S->sigma = sig[r], S->beta = bet[r], S->rho = rho[r];
      S->course_sigma = kest[r] ? 180.0 / M_PI / sqrt(kap[r]) : NAN, S->course_bias = kest[r] ? hbi[r] : NAN;
      for (size_t i = a; i < b; i++) {
        switch (out->status[i]) {
          case DL_MATCH_MATCHED: S->matched++, mis[k++] = out->dist[i]; break;
          case DL_MATCH_INTERPOLATED: S->interpolated++; break;
          case DL_MATCH_OUTLIER: S->outliers++; break;
          default: S->unmatched++;
        }
      }
      S->median_dist = median_inplace(mis, k);
    }
done:
  free(kind), free(brk), free(mis), free(sig), free(bet), free(rho), free(dtm), free(brks), free(ch), free(deg);
  free(hx), free(hy), free(hw), free(kap), free(hbi), free(kest);
  if (rc == DL_ENOMEM) return dl_errf(e, DL_ENOMEM, "match: out of memory");
  return rc;
}
