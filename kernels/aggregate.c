/* aggregate.c: segment means, calibration, road/township/district loads (METHOD §6). */
#include <math.h>
#include <string.h>

#include "dl_proc.h"

double dl_calibrate(double t_ref_mean, double a, double beta) {
  if (isnan(t_ref_mean)) return NAN;
  return a * pow(t_ref_mean > 0 ? t_ref_mean : 0.0, beta);
}

/* Length-weighted mean over counted segments into one group array. */
static int group(const dl_agg_input *in, const dl_agg_output *out, const int32_t *id,
                 size_t ngroup, const char *what, double *load, double *length,
                 double *covered, int32_t *nseg, dl_err *e) {
  for (size_t g = 0; g < ngroup; g++) load[g] = length[g] = covered[g] = 0, nseg[g] = 0;
  for (size_t s = 0; s < in->nseg; s++) {
    int32_t g = id ? id[s] : -1;
    if (g >= 0 && (size_t)g >= ngroup)
      return dl_errf(e, DL_EFORMAT, "aggregate: segment %zu has %s id %d, but there are %zu",
                     s, what, (int)g, ngroup);
    if (g < 0 || !out->seg_counted[s]) continue;
    load[g] += in->seg_length[s] * out->seg_load[s];
    length[g] += in->seg_length[s];
    covered[g] += out->seg_covered[s];
    nseg[g]++;
  }
  for (size_t g = 0; g < ngroup; g++) load[g] = length[g] > 0 ? load[g] / length[g] : NAN;
  return DL_OK;
}

int dl_aggregate(const dl_agg_input *in, const dl_agg_params *p,
                 dl_agg_output *out, dl_err *e) {
  size_t nseg = in->nseg;
  double *sumw = out->seg_covered, *sumwt = out->seg_tref_mean;
  memset(out->seg_nvalid, 0, nseg * sizeof(int32_t));
  for (size_t s = 0; s < nseg; s++) sumw[s] = sumwt[s] = 0;
  /* Serial, in sample order: the sums are the same bits on every run. */
  for (size_t i = 0; i < in->n; i++) {
    int32_t s = in->segment[i];
    if (s < 0) continue;
    if ((size_t)s >= nseg)
      return dl_errf(e, DL_EFORMAT, "aggregate: sample %zu is on segment %d, but there are %zu",
                     i, (int)s, nseg);
    double dt = in->dt ? in->dt[i] : in->dt_const;
    double w = in->speed[i] * dt, t = in->t_ref[i];
    if (in->flags[i] || !isfinite(t) || !(w > 0) || !isfinite(w)) continue;
    sumw[s] += w;
    sumwt[s] += w * t;
    out->seg_nvalid[s]++;
  }
  double dsum = 0, dlen = 0, dcov = 0;
  int32_t dn = 0;
  for (size_t s = 0; s < nseg; s++) {
    double len = in->seg_length[s];
    double need = p->coverage_min_frac * len;
    if (p->coverage_min_m < need) need = p->coverage_min_m;
    out->seg_tref_mean[s] = sumw[s] > 0 ? sumwt[s] / sumw[s] : NAN;
    out->seg_counted[s] = sumw[s] > 0 && sumw[s] >= need && isfinite(len);
    out->seg_load[s] = out->seg_counted[s]
                           ? dl_calibrate(out->seg_tref_mean[s], p->calib_a, p->calib_beta)
                           : NAN;
    if (!out->seg_counted[s]) continue;
    dsum += len * out->seg_load[s];
    dlen += len;
    dcov += sumw[s];
    dn++;
  }
  int rc = group(in, out, in->seg_road, in->nroad, "road", out->road_load, out->road_length,
                 out->road_covered, out->road_nseg, e);
  if (!rc)
    rc = group(in, out, in->seg_township, in->ntown, "township", out->town_load,
               out->town_length, out->town_covered, out->town_nseg, e);
  if (rc) return rc;
  out->district_length = dlen;
  out->district_covered = dcov;
  out->district_nseg = dn;
  if (p->district_mode == DL_DISTRICT_SEGMENTS) {
    out->district_load = dlen > 0 ? dsum / dlen : NAN;
  } else {
    const double *v = p->district_mode == DL_DISTRICT_ROADS ? out->road_load : out->town_load;
    size_t m = p->district_mode == DL_DISTRICT_ROADS ? in->nroad : in->ntown;
    double s = 0;
    size_t k = 0;
    for (size_t g = 0; g < m; g++)
      if (isfinite(v[g])) s += v[g], k++;
    out->district_load = k ? s / (double)k : NAN;
  }
  return DL_OK;
}
