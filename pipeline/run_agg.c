/* run_agg.c: a run's aggregation (segments, roads, townships, district,
 * ranks, grades), its distance and rejection summary, and the short report
 * on stdout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_run.h"

static int agg_alloc(dl_agg_output *a, size_t nseg, size_t nroad, size_t ntown) {
#define A(f, k) (a->f = calloc((k) ? (k) : 1, sizeof *a->f)) == NULL
  if (A(seg_covered, nseg) || A(seg_nvalid, nseg) || A(seg_tref_mean, nseg) ||
      A(seg_counted, nseg) || A(seg_load, nseg) || A(road_load, nroad) || A(road_length, nroad) ||
      A(road_covered, nroad) || A(road_nseg, nroad) || A(town_load, ntown) ||
      A(town_length, ntown) || A(town_covered, ntown) || A(town_nseg, ntown))
    return -1;
#undef A
  return 0;
}

typedef struct { int32_t road, town; double len; } road_town_len;

static int cmp_rtl(const void *pa, const void *pb) {
  const road_town_len *a = pa, *b = pb;
  if (a->road != b->road) return (a->road > b->road) - (a->road < b->road);
  return (a->town > b->town) - (a->town < b->town);
}

/* The township holding most of each road's counted length (-1: none). */
static int road_townships(dl_run *r, dl_err *e) {
  const dl_net *net = &r->net;
  size_t k = 0;
  road_town_len *v = malloc((net->n_segs ? net->n_segs : 1) * sizeof *v);
  r->road_town = malloc((net->n_roads ? net->n_roads : 1) * sizeof *r->road_town);
  if (!v || !r->road_town) {
    free(v);
    return dl_errf(e, DL_ENOMEM, "out of memory for road townships");
  }
  for (uint32_t s = 0; s < net->n_segs; s++)
    if (r->agg.seg_counted[s] && net->seg_township[s] >= 0)
      v[k++] = (road_town_len){(int32_t)net->seg_road[s], net->seg_township[s], net->seg_len[s]};
  qsort(v, k, sizeof *v, cmp_rtl);
  for (uint32_t i = 0; i < net->n_roads; i++) r->road_town[i] = -1;
  double best = -1;
  for (size_t i = 0; i < k;) {
    size_t j = i;
    double sum = 0;
    while (j < k && v[j].road == v[i].road && v[j].town == v[i].town) sum += v[j++].len;
    if (i == 0 || v[i].road != v[i - 1].road) best = -1;
    if (sum > best) best = sum, r->road_town[v[i].road] = v[i].town;
    i = j;
  }
  free(v);
  return DL_OK;
}

int dl_run_aggregate(dl_run *r, dl_err *e) {
  dl_params *p = &r->p;
  size_t n = r->n;
  double dt = 1.0 / r->hz;
  r->km_driven = r->km_valid = 0;
  r->n_valid = 0;
  memset(r->flag_count, 0, sizeof r->flag_count);
  size_t valid_but_match = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t f = r->flags[i];
    double d = isfinite(r->speed[i]) ? r->speed[i] * (r->dt ? r->dt[i] : dt) : 0;
    r->km_driven += d;
    if (!f) r->n_valid++, r->km_valid += d;
    valid_but_match += (f & ~(uint32_t)DL_FLAG_UNMATCHED) == 0;
    for (int b = 0; b < DL_FLAG_COUNT; b++) r->flag_count[b] += (f >> b) & 1u;
  }
  r->km_driven /= 1000.0, r->km_valid /= 1000.0;
  /* A rig that can measure a load but has nothing to show is a failed run;
   * without a network the samples are still worth having unmatched. */
  if (r->can_load && (r->have_net ? r->n_valid : valid_but_match) == 0) {
    char why[700] = "";
    for (int b = 0; b < DL_FLAG_COUNT; b++)
      if (r->flag_count[b] && !(!r->have_net && b == 8))
        snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s %zu", why[0] ? ", " : "",
                 dl_flag_name(b), r->flag_count[b]);
    return dl_errf(e, DL_ENODATA,
                   "%s: no valid samples among %zu (flagged: %s); nothing to aggregate", r->m.path,
                   n, why);
  }
  if (!r->have_net) return DL_OK;

  const dl_net *net = &r->net;
  size_t nseg = net->n_segs, nroad = net->n_roads, ntown = net->n_townships;
  int32_t *seg_road = malloc((nseg ? nseg : 1) * sizeof *seg_road);
  double *seg_len = malloc((nseg ? nseg : 1) * sizeof *seg_len);
  r->seg_nmatched = calloc(nseg ? nseg : 1, sizeof *r->seg_nmatched);
  r->road_rank = malloc((nroad ? nroad : 1) * sizeof *r->road_rank);
  r->town_rank = malloc((ntown ? ntown : 1) * sizeof *r->town_rank);
  if (!seg_road || !seg_len || !r->seg_nmatched || !r->road_rank || !r->town_rank ||
      agg_alloc(&r->agg, nseg, nroad, ntown)) {
    free(seg_road), free(seg_len);
    return dl_errf(e, DL_ENOMEM, "out of memory for aggregation over %zu segments", nseg);
  }
  for (size_t s = 0; s < nseg; s++) seg_road[s] = (int32_t)net->seg_road[s], seg_len[s] = net->seg_len[s];
  for (size_t i = 0; i < n; i++)
    if (r->segment[i] >= 0) r->seg_nmatched[r->segment[i]]++;
  dl_agg_input in = {0};
  in.n = n;
  in.segment = r->segment;
  in.flags = r->flags;
  in.t_ref = r->t_ref;
  in.speed = r->speed;
  in.dt = r->dt;
  in.dt_const = dt;
  in.nseg = nseg;
  in.seg_length = seg_len;
  in.seg_road = seg_road;
  in.seg_township = net->seg_township;
  in.nroad = nroad, in.ntown = ntown;
  dl_agg_params ap = {p->coverage_min_m, p->coverage_min_frac, p->calib_a, p->calib_beta,
                      DL_DISTRICT_SEGMENTS};
  int rc = dl_aggregate(&in, &ap, &r->agg, e);
  free(seg_road), free(seg_len);
  if (rc) return rc;
  if ((rc = dl_rank(r->agg.road_load, nroad, r->road_rank, NULL, e))) return rc;
  if ((rc = dl_rank(r->agg.town_load, ntown, r->town_rank, NULL, e))) return rc;
  dl_grade_params gp = {p->grade_excellent, p->grade_good, p->grade_fair};
  r->district_grade = dl_grade(r->agg.district_load, &gp);
  return road_townships(r, e);
}

/* ---- stdout summary ---------------------------------------------------- */

static void print_town_line(const dl_run *r, FILE *out, uint32_t t) {
  const dl_net *net = &r->net;
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  fprintf(out, "    %3d  %-28s %.2f g/m2  %s  %.2f km covered, %d segments\n", r->town_rank[t],
          dl_net_str(net, net->township_name[t]), r->agg.town_load[t],
          dl_grade_name(dl_grade(r->agg.town_load[t], &gp)), r->agg.town_covered[t] / 1000.0,
          r->agg.town_nseg[t]);
}

void dl_run_summary(const dl_run *r, FILE *out) {
  fprintf(out, "run %s%s%s\n", r->m.run_id, r->m.vehicle[0] ? ", vehicle " : "", r->m.vehicle);
  fprintf(out, "  samples: %zu at %g Hz\n", r->n, r->hz);
  fprintf(out, "  km driven: %.2f\n", r->km_driven);
  fprintf(out, "  km valid:  %.2f (%zu valid samples)\n", r->km_valid, r->n_valid);
  fprintf(out, "  samples flagged, by reason (a sample may have several):\n");
  for (int b = 0; b < DL_FLAG_COUNT; b++)
    if (r->flag_count[b])
      fprintf(out, "    %-14s %6.2f %%  %zu  (%s)\n", dl_flag_name(b),
              r->n ? 100.0 * (double)r->flag_count[b] / (double)r->n : 0.0, r->flag_count[b],
              dl_flag_desc(b));
  if (!r->can_load) {
    fprintf(out,
            "  no dust load: a dust load needs a tyre inlet, a background inlet and GPS speed "
            "(ΔC = tyre - background, normalised by v^3); this run has %s%s%s. Its samples "
            "are written with their flags; loads are NaN.\n",
            r->ntyre ? "a tyre inlet" : "no tyre inlet",
            r->bg_idx >= 0 ? ", a background inlet" : ", no background inlet",
            r->fixes.n ? "" : ", no GPS");
    if (r->amb_idx >= 0) fprintf(out, "  (one ambient inlet: concentrations kept as c_ambient)\n");
  }
  if (!r->have_net) {
    fprintf(out, "  no road network: samples are not map-matched (UNMATCHED); no segment, road,"
                 " township or district values\n");
    return;
  }
  const dl_net *net = &r->net;
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  size_t counted = 0;
  for (uint32_t s = 0; s < net->n_segs; s++) counted += r->agg.seg_counted[s];
  fprintf(out, "  segments counted: %zu (valid coverage >= min(%g m, %g of length))\n", counted,
          r->p.coverage_min_m, r->p.coverage_min_frac);
  if (isfinite(r->agg.district_load))
    fprintf(out, "  district: %.2f g/m2 (%s), %.2f km covered, %d segments\n",
            r->agg.district_load, dl_grade_name(dl_grade(r->agg.district_load, &gp)),
            r->agg.district_covered / 1000.0, r->agg.district_nseg);
  else
    fprintf(out, "  district: no counted segment, no value\n");
  size_t nt = 0;
  for (uint32_t t = 0; t < net->n_townships; t++) nt += isfinite(r->agg.town_load[t]);
  if (!nt) return;
  int32_t *order = malloc(net->n_townships * sizeof *order);
  int32_t *rk = malloc(net->n_townships * sizeof *rk);
  if (order && rk && !dl_rank(r->agg.town_load, net->n_townships, rk, order, NULL)) {
    size_t show = nt < 3 ? nt : 3;
    fprintf(out, "  townships, best (of %zu with a value):\n", nt);
    for (size_t i = 0; i < show; i++) print_town_line(r, out, (uint32_t)order[i]);
    if (nt > show) {
      fprintf(out, "  townships, worst:\n");
      size_t from = nt - show < show ? show : nt - show;
      for (size_t i = from; i < nt; i++) print_town_line(r, out, (uint32_t)order[i]);
    }
  }
  free(order), free(rk);
}
