/* run_match.c: stage 4 of a run: every grid sample with a position gets a
 * segment, an offset along it and a distance to it (or none), and the
 * per-trace summary. Without a network every sample stays unmatched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_match.h"
#include "dl_netio.h"
#include "dl_run.h"

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
    r->match_status[i] = DL_MATCH_UNMATCHED;
  }
  return DL_OK;
}

/* The HMM matcher (kernels/dl_match.h) over the grid samples that have a
 * position, as one trace: it breaks at gaps and jumps itself. */
static int match_hmm(dl_run *r, dl_err *e) {
  size_t n = r->n, np = 0;
  for (size_t i = 0; i < n; i++) np += isfinite(r->lat[i]) && isfinite(r->lon[i]);
  r->match_points = np;
  if (!np) return DL_OK;
  size_t m = np;
  double *la = malloc(m * sizeof *la), *lo = malloc(m * sizeof *lo), *t = malloc(m * sizeof *t);
  double *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y);
  double *sp = malloc(m * sizeof *sp), *co = malloc(m * sizeof *co);
  size_t *at = malloc(m * sizeof *at);
  dl_match_out mo = {0};
  mo.seg = malloc(m * sizeof *mo.seg);
  mo.offset = malloc(m * sizeof *mo.offset);
  mo.mx = malloc(m * sizeof *mo.mx), mo.my = malloc(m * sizeof *mo.my);
  mo.mlat = malloc(m * sizeof *mo.mlat), mo.mlon = malloc(m * sizeof *mo.mlon);
  mo.dist = malloc(m * sizeof *mo.dist);
  mo.status = malloc(m);
  dl_proj *pj = NULL;
  int rc = DL_OK;
  if (!la || !lo || !t || !x || !y || !sp || !co || !at || !mo.seg || !mo.offset || !mo.mx ||
      !mo.my || !mo.mlat || !mo.mlon || !mo.dist || !mo.status)
    rc = dl_errf(e, DL_ENOMEM, "out of memory for matching %zu samples", np);
  size_t k = 0;
  for (size_t i = 0; !rc && i < n; i++)
    if (isfinite(r->lat[i]) && isfinite(r->lon[i])) {
      la[k] = r->lat[i], lo[k] = r->lon[i], t[k] = r->t[i];
      sp[k] = r->speed[i], co[k] = r->course[i], at[k++] = i;
    }
  if (!rc) rc = dl_proj_create(r->net.epsg, &pj, e);
  if (!rc) rc = dl_proj_fwd(pj, la, lo, np, x, y, e);
  dl_match_opts o;
  dl_match_opts_default(&o);
  o.threads = r->p.threads;
  dl_match_summary sum;
  size_t tr[2] = {0, np};
  if (!rc) rc = dl_match(&r->net, &o, 1, tr, t, x, y, sp, co, &mo, &sum, e);
  double sumd = 0;
  for (size_t j = 0; !rc && j < np; j++) {
    size_t i = at[j];
    r->match_status[i] = mo.status[j];
    if (mo.seg[j] == DL_NET_NONE) continue;
    r->segment[i] = (int32_t)mo.seg[j];
    r->offset[i] = mo.offset[j];
    r->match_dist[i] = mo.dist[j];
    if (mo.status[j] == DL_MATCH_MATCHED) r->match_matched++, sumd += mo.dist[j];
  }
  if (!rc) {
    r->match_breaks = sum.breaks;
    r->match_mean_dist = r->match_matched ? sumd / (double)r->match_matched : NAN;
    snprintf(r->match_method, sizeof r->match_method, "hmm (sigma %.1f m, beta %.1f m)", sum.sigma,
             sum.beta);
  }
  dl_proj_free(pj);
  free(la), free(lo), free(t), free(x), free(y), free(sp), free(co), free(at);
  free(mo.seg), free(mo.offset), free(mo.mx), free(mo.my), free(mo.mlat), free(mo.mlon);
  free(mo.dist), free(mo.status);
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
  return match_hmm(r, e);
}
