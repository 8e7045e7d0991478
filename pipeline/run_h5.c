/* run_h5.c: a run's HDF5 file (DESIGN.md layout): /samples, /segments,
 * /roads, /townships, /district, /match, and provenance as root attributes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dl_h5.h"
#include "dl_run.h"

#define TRY(x)          \
  do {                  \
    if ((rc = (x))) goto out; \
  } while (0)

static int write_samples(dl_h5 *h, const dl_run *r, dl_err *e) {
  int rc = DL_OK;
  size_t n = r->n;
  double *nanc = NULL;
  const double *ct = r->c_tyre, *cb = r->bg;
  if (!ct || !cb) {
    nanc = malloc((n ? n : 1) * sizeof *nanc);
    if (!nanc) return dl_errf(e, DL_ENOMEM, "out of memory writing samples");
    for (size_t i = 0; i < n; i++) nanc[i] = NAN;
    if (!ct) ct = nanc;
    if (!cb) cb = nanc;
  }
  TRY(dl_h5_column(h, "/samples/time", DL_H5_F64, r->t, n, "s",
                   "UTC time, seconds since 1970-01-01T00:00:00Z", e));
  TRY(dl_h5_column(h, "/samples/lat", DL_H5_F64, r->lat, n, "degree_north", "WGS84 latitude", e));
  TRY(dl_h5_column(h, "/samples/lon", DL_H5_F64, r->lon, n, "degree_east", "WGS84 longitude", e));
  TRY(dl_h5_column(h, "/samples/speed", DL_H5_F64, r->speed, n, "m/s", "speed over ground", e));
  TRY(dl_h5_column(h, "/samples/course", DL_H5_F64, r->course, n, "degree",
                   "course over ground, clockwise from true north", e));
  TRY(dl_h5_column(h, "/samples/c_tyre", DL_H5_F64, ct, n, "ug/m3",
                   "tyre inlet concentration (mean of the tyre inlets), despiked; NaN: no tyre "
                   "inlet or no reading",
                   e));
  TRY(dl_h5_column(h, "/samples/c_bg", DL_H5_F64, cb, n, "ug/m3",
                   "background inlet concentration, despiked; NaN: no background inlet or no "
                   "reading",
                   e));
  if (r->ambient)
    TRY(dl_h5_column(h, "/samples/c_ambient", DL_H5_F64, r->ambient, n, "ug/m3",
                     "ambient inlet concentration (single-inlet rig), despiked", e));
  TRY(dl_h5_column(h, "/samples/delta_c", DL_H5_F64, r->delta_c, n, "ug/m3",
                   "excess: mean tyre minus background; NaN when either is missing", e));
  if (r->delta_c_lp)
    TRY(dl_h5_column(h, "/samples/delta_c_lowpass", DL_H5_F64, r->delta_c_lp, n, "ug/m3",
                     "excess after the zero-phase FFT low-pass (display)", e));
  TRY(dl_h5_column(h, "/samples/t_ref", DL_H5_F64, r->t_ref, n, "ug/m3",
                   "excess normalised to the reference speed: delta_c * (v_ref / v)^n", e));
  TRY(dl_h5_column(h, "/samples/flags", DL_H5_U32, r->flags, n, "1",
                   "validity flags, OR of bits (0 = valid); see the attribute flag_bits", e));
  char bits[2048] = "";
  for (int b = 0; b < DL_FLAG_COUNT; b++)
    snprintf(bits + strlen(bits), sizeof bits - strlen(bits), "%d %s: %s\n", b, dl_flag_name(b),
             dl_flag_desc(b));
  TRY(dl_h5_attr_str(h, "/samples/flags", "flag_bits", bits, e));
  TRY(dl_h5_column(h, "/samples/segment", DL_H5_I32, r->segment, n, "1",
                   "matched segment id of the road network, -1 when none", e));
  TRY(dl_h5_column(h, "/samples/offset", DL_H5_F64, r->offset, n, "m",
                   "distance along the matched segment from its first vertex", e));
  TRY(dl_h5_column(h, "/samples/match_distance", DL_H5_F64, r->match_dist, n, "m",
                   "distance from the position to the matched segment", e));
  TRY(dl_h5_column(h, "/samples/match_status", DL_H5_U8, r->match_status, n, "1",
                   "0 matched, 1 interpolated (placed on the path by time), 2 outlier, 3 unmatched", e));
out:
  free(nanc);
  return rc;
}

/* Without a network every table has its columns, with no rows. */
static int write_network_tables(dl_h5 *h, const dl_run *r, dl_err *e) {
  const dl_net *net = &r->net;
  const dl_agg_output *a = &r->agg;
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  int rc = DL_OK;
  /* segments: those with at least one matched sample */
  size_t ns = 0, nr = 0;
  for (uint32_t s = 0; s < net->n_segs; s++) ns += r->seg_nmatched[s] > 0;
  for (uint32_t k = 0; k < net->n_roads; k++) nr += a->road_covered[k] > 0 || a->road_nseg[k] > 0;
  size_t big = ns > nr ? ns : nr;
  if (net->n_townships > big) big = net->n_townships;
  if (!big) big = 1;
  int32_t *i32 = malloc(big * sizeof *i32), *i32b = malloc(big * sizeof *i32b);
  int64_t *i64 = malloc(big * sizeof *i64);
  double *f1 = malloc(big * sizeof *f1), *f2 = malloc(big * sizeof *f2),
         *f3 = malloc(big * sizeof *f3), *f4 = malloc(big * sizeof *f4);
  const char **s1 = malloc(big * sizeof *s1), **s2 = malloc(big * sizeof *s2),
             **s3 = malloc(big * sizeof *s3);
  if (!i32 || !i32b || !i64 || !f1 || !f2 || !f3 || !f4 || !s1 || !s2 || !s3) {
    rc = dl_errf(e, DL_ENOMEM, "out of memory writing tables");
    goto out;
  }
  size_t k = 0;
  for (uint32_t s = 0; s < net->n_segs; s++) {
    if (r->seg_nmatched[s] <= 0) continue;
    i32[k] = (int32_t)s;
    i64[k] = net->seg_way[s];
    s1[k] = dl_net_str(net, net->road_name[net->seg_road[s]]);
    s2[k] = net->seg_township[s] >= 0 ? dl_net_str(net, net->township_name[net->seg_township[s]]) : "";
    f1[k] = net->seg_len[s];
    f2[k] = a->seg_covered[s];
    i32b[k] = a->seg_nvalid[s];
    f3[k] = a->seg_tref_mean[s];
    f4[k] = a->seg_load[s];
    s3[k] = dl_grade_name(dl_grade(a->seg_load[s], &gp));
    k++;
  }
  TRY(dl_h5_column(h, "/segments/id", DL_H5_I32, i32, ns, "1", "segment id of the road network", e));
  TRY(dl_h5_column(h, "/segments/osm_way", DL_H5_I64, i64, ns, "1", "OpenStreetMap way id", e));
  TRY(dl_h5_column_str(h, "/segments/road", s1, ns, "road name (OSM name, else ref, else way id)", e));
  TRY(dl_h5_column_str(h, "/segments/township", s2, ns, "township of the segment (\"\" outside)", e));
  TRY(dl_h5_column(h, "/segments/length", DL_H5_F64, f1, ns, "m", "segment length", e));
  TRY(dl_h5_column(h, "/segments/covered_length", DL_H5_F64, f2, ns, "m",
                   "valid covered length: sum of v*dt over valid samples", e));
  TRY(dl_h5_column(h, "/segments/n_samples", DL_H5_I32, i32b, ns, "1", "valid samples", e));
  TRY(dl_h5_column(h, "/segments/t_ref_mean", DL_H5_F64, f3, ns, "ug/m3",
                   "distance-weighted mean of t_ref over valid samples", e));
  TRY(dl_h5_column(h, "/segments/dust_load", DL_H5_F64, f4, ns, "g/m2",
                   "dust load a*max(t_ref_mean,0)^beta; NaN unless the coverage rule is met", e));
  TRY(dl_h5_column_str(h, "/segments/grade", s3, ns, "grade (优 良 中 差; \"\" without a load)", e));
  /* roads with any covered length */
  k = 0;
  for (uint32_t q = 0; q < net->n_roads; q++) {
    if (!(a->road_covered[q] > 0 || a->road_nseg[q] > 0)) continue;
    s1[k] = dl_net_str(net, net->road_name[q]);
    s2[k] = r->road_town[q] >= 0 ? dl_net_str(net, net->township_name[r->road_town[q]]) : "";
    f1[k] = a->road_covered[q];
    f2[k] = a->road_load[q];
    i32[k] = r->road_rank[q];
    i32b[k] = a->road_nseg[q];
    s3[k] = dl_grade_name(dl_grade(a->road_load[q], &gp));
    k++;
  }
  TRY(dl_h5_column_str(h, "/roads/name", s1, nr, "road name", e));
  TRY(dl_h5_column_str(h, "/roads/township", s2, nr, "township holding most of the road's counted length", e));
  TRY(dl_h5_column(h, "/roads/covered_length", DL_H5_F64, f1, nr, "m", "valid covered length of counted segments", e));
  TRY(dl_h5_column(h, "/roads/n_segments", DL_H5_I32, i32b, nr, "1", "counted segments", e));
  TRY(dl_h5_column(h, "/roads/dust_load", DL_H5_F64, f2, nr, "g/m2", "length-weighted mean over counted segments", e));
  TRY(dl_h5_column(h, "/roads/rank", DL_H5_I32, i32, nr, "1",
                   "competition rank ascending on 2-decimal loads (0: no value)", e));
  TRY(dl_h5_column_str(h, "/roads/grade", s3, nr, "grade (优 良 中 差)", e));
  /* every township of the network */
  size_t nt = net->n_townships;
  for (uint32_t t = 0; t < nt; t++) {
    s1[t] = dl_net_str(net, net->township_name[t]);
    f1[t] = a->town_covered[t];
    i32b[t] = a->town_nseg[t];
    f2[t] = a->town_load[t];
    i32[t] = r->town_rank[t];
    s3[t] = dl_grade_name(dl_grade(a->town_load[t], &gp));
  }
  TRY(dl_h5_column_str(h, "/townships/name", s1, nt, "township name", e));
  TRY(dl_h5_column(h, "/townships/covered_length", DL_H5_F64, f1, nt, "m", "valid covered length of counted segments", e));
  TRY(dl_h5_column(h, "/townships/n_segments", DL_H5_I32, i32b, nt, "1", "counted segments", e));
  TRY(dl_h5_column(h, "/townships/dust_load", DL_H5_F64, f2, nt, "g/m2", "length-weighted mean over counted segments", e));
  TRY(dl_h5_column(h, "/townships/rank", DL_H5_I32, i32, nt, "1",
                   "competition rank ascending on 2-decimal loads (0: no value)", e));
  TRY(dl_h5_column_str(h, "/townships/grade", s3, nt, "grade (优 良 中 差)", e));
out:
  free(i32), free(i32b), free(i64), free(f1), free(f2), free(f3), free(f4);
  free(s1), free(s2), free(s3);
  return rc;
}

static int write_district(dl_h5 *h, const dl_run *r, dl_err *e) {
  int rc = DL_OK;
  double cov = r->have_net ? r->agg.district_covered : 0;
  double load = r->have_net ? r->agg.district_load : NAN;
  int32_t nseg = r->have_net ? r->agg.district_nseg : 0;
  const char *g[1] = {dl_grade_name(r->district_grade)};
  TRY(dl_h5_column(h, "/district/covered_length", DL_H5_F64, &cov, 1, "m",
                   "valid covered length of counted segments", e));
  TRY(dl_h5_column(h, "/district/n_segments", DL_H5_I32, &nseg, 1, "1", "counted segments", e));
  TRY(dl_h5_column(h, "/district/dust_load", DL_H5_F64, &load, 1, "g/m2",
                   "length-weighted mean over all counted segments; NaN without any", e));
  TRY(dl_h5_column_str(h, "/district/grade", g, 1, "grade (优 良 中 差)", e));
out:
  return rc;
}

static int write_match(dl_h5 *h, const dl_run *r, dl_err *e) {
  int rc = DL_OK;
  int64_t pts = (int64_t)r->match_points, mat = (int64_t)r->match_matched,
          brk = (int64_t)r->match_breaks;
  TRY(dl_h5_column(h, "/match/points", DL_H5_I64, &pts, 1, "1", "samples with a position", e));
  TRY(dl_h5_column(h, "/match/matched", DL_H5_I64, &mat, 1, "1", "samples matched to a segment", e));
  TRY(dl_h5_column(h, "/match/breaks", DL_H5_I64, &brk, 1, "1", "breaks in the matched trace", e));
  TRY(dl_h5_column(h, "/match/mean_distance", DL_H5_F64, &r->match_mean_dist, 1, "m",
                   "mean distance of matched samples to their road", e));
  TRY(dl_h5_attr_str(h, "/match", "method", r->match_method, e));
out:
  return rc;
}

static int write_root(dl_h5 *h, const dl_run *r, dl_err *e) {
  int rc = DL_OK;
  char buf[8192], created[40];
  TRY(dl_h5_attr_str(h, "/", "dustload_version", DL_VERSION, e));
  TRY(dl_h5_attr_str(h, "/", "created", dl_time_iso((double)time(NULL), created, sizeof created), e));
  TRY(dl_h5_attr_str(h, "/", "run_id", r->m.run_id, e));
  TRY(dl_h5_attr_str(h, "/", "vehicle", r->m.vehicle ? r->m.vehicle : "", e));
  TRY(dl_h5_attr_str(h, "/", "manifest", r->m.path, e));
  TRY(dl_h5_attr_str(h, "/", "network", r->network_path, e));
  /* effective configuration: the params table, then where calibration came from */
  size_t need = strlen(r->config_text) + 512;
  char *cfg = malloc(need);
  if (!cfg) return dl_errf(e, DL_ENOMEM, "out of memory");
  snprintf(cfg, need, "%s# calibration from %s\n# network: %s\n", r->config_text, r->calib_source,
           r->network_path[0] ? r->network_path : "none");
  rc = dl_h5_attr_str(h, "/", "configuration", cfg, e);
  free(cfg);
  if (rc) goto out;
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < r->nfiles; i++)
    used += (size_t)snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0, "%s  %s  %s\n",
                             r->files[i].sha256, r->files[i].what, r->files[i].path);
  TRY(dl_h5_attr_str(h, "/", "input_files", buf, e));
  TRY(dl_h5_attr_f64(h, "/", "calib_a", r->p.calib_a, e));
  TRY(dl_h5_attr_f64(h, "/", "calib_beta", r->p.calib_beta, e));
  TRY(dl_h5_attr_f64(h, "/", "v_ref_kmh", r->p.v_ref_kmh, e));
  TRY(dl_h5_attr_f64(h, "/", "speed_exponent", r->p.speed_exponent, e));
  TRY(dl_h5_attr_str(h, "/", "calibration_source", r->calib_source, e));
  used = 0;
  buf[0] = '\0';
  for (int i = 0; i < r->ninst; i++) {
    const dl_run_lag *L = &r->lag[i];
    used += (size_t)snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0,
                             "%s (%s): declared clock_offset_s %+g, inlet_delay_s %g; "
                             "correction %+g s (peak %.3f): %s\n",
                             L->name, dl_role_name(L->role), L->declared_clock_s,
                             L->declared_delay_s, L->found_s, L->peak, L->how);
    char an[96];
    snprintf(an, sizeof an, "lag_%s_s", L->name);
    /* declared clock offset, declared inlet delay, correction found, and the
     * resulting intake shift (UTC of the air = instrument clock - zone + shift) */
    double tot[4] = {L->declared_clock_s, L->declared_delay_s, L->found_s,
                     L->declared_clock_s - L->declared_delay_s - L->found_s};
    TRY(dl_h5_attr_f64v(h, "/", an, tot, 4, e));
  }
  TRY(dl_h5_attr_str(h, "/", "lags", buf, e));
  TRY(dl_h5_attr_str(h, "/", "dust_load_available",
                     r->can_load ? "yes"
                                 : "no: a dust load needs a tyre inlet, a background inlet and GPS",
                     e));
out:
  return rc;
}

int dl_run_write_h5(const dl_run *r, const char *path, int force, dl_err *e) {
  dl_h5 *h = NULL;
  int rc = dl_h5_create(path, force, &h, e);
  if (rc) return rc;
  if ((rc = write_root(h, r, e)) || (!r->summary_only && (rc = write_samples(h, r, e))) ||
      (rc = write_network_tables(h, r, e)) || (rc = write_district(h, r, e)) ||
      (!r->summary_only && (rc = write_match(h, r, e))) ||
      (r->h5_extra && (rc = r->h5_extra(h, r->h5_extra_ctx, e)))) {
    dl_h5_abort(h);
    return rc;
  }
  return dl_h5_commit(h, e);
}
