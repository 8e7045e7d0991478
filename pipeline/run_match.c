/* run_match.c: stage 4 of a run: every grid sample with a position gets a
 * segment, an offset along it and a distance to it (or none), and the
 * per-trace summary. Without a network every sample stays unmatched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_netio.h"
#include "dl_run.h"

/* Candidates per sample, and the score a heading disagreement costs
 * (metres at 90 degrees) when the vehicle moves. */
#define NEAR_K 6
#define HEADING_M 15.0
/* Stay on the previous segment unless another is this much better (m). */
#define STICKY_M 4.0

static int alloc_match(dl_run *r, dl_err *e) {
  size_t n = r->n ? r->n : 1;
  r->segment = malloc(n * sizeof *r->segment);
  r->offset = malloc(n * sizeof *r->offset);
  r->match_dist = malloc(n * sizeof *r->match_dist);
  r->match_status = malloc(n * sizeof *r->match_status);
  if (!r->segment || !r->offset || !r->match_dist || !r->match_status)
    return dl_errf(e, DL_ENOMEM, "out of memory for match columns");
  for (size_t i = 0; i < r->n; i++) {
    r->segment[i] = -1;
    r->offset[i] = r->match_dist[i] = NAN;
    r->match_status[i] = DL_RUN_UNMATCHED;
  }
  return DL_OK;
}

static double score(const dl_net_hit *h, double course, double speed) {
  double s = h->dist;
  if (isfinite(course) && speed > 3.0) {
    double d = fabs(fmod(course - h->heading + 540.0, 360.0) - 180.0); /* 0..180 */
    double along = fabs(cos(d * M_PI / 180.0));  /* either travel direction */
    s += HEADING_M * (1.0 - along);
  }
  return s;
}

/* Nearest-segment matching with a heading term and hysteresis: serial in
 * sample order (deterministic whatever the thread count). */
static int match_nearest(dl_run *r, dl_err *e) {
  size_t n = r->n, np = 0;
  for (size_t i = 0; i < n; i++) np += isfinite(r->lat[i]) && isfinite(r->lon[i]);
  r->match_points = np;
  if (!np) return DL_OK;
  double *la = malloc(np * sizeof *la), *lo = malloc(np * sizeof *lo);
  double *x = malloc(np * sizeof *x), *y = malloc(np * sizeof *y);
  size_t *at = malloc(np * sizeof *at);
  dl_proj *pj = NULL;
  dl_net_query q = {0};
  int rc = DL_OK;
  if (!la || !lo || !x || !y || !at || dl_net_query_init(&q, 64))
    rc = dl_errf(e, DL_ENOMEM, "out of memory for matching");
  size_t k = 0;
  for (size_t i = 0; !rc && i < n; i++)
    if (isfinite(r->lat[i]) && isfinite(r->lon[i])) la[k] = r->lat[i], lo[k] = r->lon[i], at[k++] = i;
  if (!rc) rc = dl_proj_create(r->net.epsg, &pj, e);
  if (!rc) rc = dl_proj_fwd(pj, la, lo, np, x, y, e);
  double radius = 2.0 * r->p.match_max_m, sumd = 0;
  int32_t prev = -1;
  int in_run = 0;
  for (size_t j = 0; !rc && j < np; j++) {
    size_t i = at[j];
    if (j && at[j - 1] + 1 != i) prev = -1; /* a gap: no hysteresis across it */
    if (dl_net_nearest(&r->net, &q, x[j], y[j], NEAR_K, radius,
                       DL_NETQ_PER_SEGMENT | DL_NETQ_SORT) == DL_ENOMEM) {
      rc = dl_errf(e, DL_ENOMEM, "out of memory in a network query");
      break;
    }
    const dl_net_hit *best = NULL, *keep = NULL;
    double bs = INFINITY, ks = INFINITY;
    for (size_t c = 0; c < q.n; c++) {
      double s = score(&q.hit[c], r->course[i], r->speed[i]);
      if (s < bs) bs = s, best = &q.hit[c];
      if ((int32_t)q.hit[c].seg == prev) ks = s, keep = &q.hit[c];
    }
    if (keep && ks <= bs + STICKY_M) best = keep;
    if (!best) {
      prev = -1;
      in_run = 0;
      continue;
    }
    r->segment[i] = (int32_t)best->seg;
    r->offset[i] = best->offset;
    r->match_dist[i] = best->dist;
    r->match_status[i] = DL_RUN_MATCHED;
    r->match_matched++;
    sumd += best->dist;
    if (!in_run && r->match_matched > 1) r->match_breaks++;
    in_run = 1;
    prev = (int32_t)best->seg;
  }
  r->match_mean_dist = r->match_matched ? sumd / (double)r->match_matched : NAN;
  dl_proj_free(pj);
  dl_net_query_free(&q);
  free(la), free(lo), free(x), free(y), free(at);
  return rc;
}

int dl_run_match(dl_run *r, dl_err *e) {
  int rc = alloc_match(r, e);
  if (rc) return rc;
  if (!r->have_net) {
    snprintf(r->match_method, sizeof r->match_method, "none: no road network");
    for (size_t i = 0; i < r->n; i++) r->match_points += isfinite(r->lat[i]);
    r->match_mean_dist = NAN;
    return DL_OK;
  }
  snprintf(r->match_method, sizeof r->match_method, "nearest segment with heading");
  return match_nearest(r, e);
}
