/* run_out.c: a run's ranking tables (CSV + Markdown) and its GeoJSON map. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_run.h"
#include "geojson_out.h"
#include "dl_outfile.h"
#include "tables.h"

/* Rows of a ranked group in rank order (ties by id, NAN last); keep(i)
 * decides which ids are listed. */
static int ranked_rows(const dl_run *r, const double *load, const double *covered,
                       const int32_t *nseg, const int32_t *rank, size_t n, int roads,
                       dl_table_row **out, size_t *nout, size_t *nvalue, dl_err *e) {
  const dl_net *net = &r->net;
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  int32_t *order = malloc((n ? n : 1) * sizeof *order), *rk = malloc((n ? n : 1) * sizeof *rk);
  dl_table_row *rows = malloc((n ? n : 1) * sizeof *rows);
  if (!order || !rk || !rows) {
    free(order), free(rk), free(rows);
    return dl_errf(e, DL_ENOMEM, "out of memory for tables");
  }
  int rc = dl_rank(load, n, rk, order, e);
  size_t k = 0, v = 0;
  for (size_t j = 0; !rc && j < n; j++) {
    size_t i = (size_t)order[j];
    if (roads && nseg[i] <= 0) continue; /* roads: only those with a value */
    dl_table_row *w = &rows[k++];
    w->name = dl_net_str(net, roads ? net->road_name[i] : net->township_name[i]);
    w->township = roads ? (r->road_town[i] >= 0 ? dl_net_str(net, net->township_name[r->road_town[i]]) : "")
                        : NULL;
    w->covered_m = covered[i];
    w->nseg = nseg[i];
    w->load = load[i];
    w->rank = rank[i];
    w->grade = dl_grade_name(dl_grade(load[i], &gp));
    v += isfinite(load[i]);
  }
  free(order), free(rk);
  if (rc) {
    free(rows);
    return rc;
  }
  *out = rows, *nout = k, *nvalue = v;
  return DL_OK;
}

static int write_one(const char *dir, const char *name, const dl_table *t, int force, dl_err *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return dl_table_write_csv(path, t, force, e);
}

int dl_run_write_tables(const dl_run *r, const char *dir, int force, dl_err *e) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return dl_errf(e, DL_ECANTCREAT, "%s: cannot create the tables folder: %s", dir, strerror(errno));
  const dl_net *net = &r->net;
  const dl_agg_output *a = &r->agg;
  dl_table_row *towns = NULL, *roads = NULL;
  size_t nt = 0, ntv = 0, nr = 0, nrv = 0;
  int rc = DL_OK;
  if (r->have_net) {
    rc = ranked_rows(r, a->town_load, a->town_covered, a->town_nseg, r->town_rank,
                     net->n_townships, 0, &towns, &nt, &ntv, e);
    if (!rc)
      rc = ranked_rows(r, a->road_load, a->road_covered, a->road_nseg, r->road_rank, net->n_roads, 1,
                       &roads, &nr, &nrv, e);
  }
  /* worst lists: the last rows with a value, worst first */
  size_t nw10 = ntv < 10 ? ntv : 10, nw3 = nrv < 3 ? nrv : 3;
  dl_table_row w10[10], w3[3];
  for (size_t i = 0; i < nw10; i++) w10[i] = towns[ntv - 1 - i];
  for (size_t i = 0; i < nw3; i++) w3[i] = roads[nrv - 1 - i];
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  char dname[160];
  if (r->title) snprintf(dname, sizeof dname, "%s", r->title);
  else snprintf(dname, sizeof dname, "run %s", r->m.run_id);
  /* the network's district, when every counted segment lies in the same one */
  int32_t dist = -2;
  for (uint32_t s = 0; r->have_net && r->agg.seg_counted && s < r->net.n_segs && dist != -1; s++)
    if (r->agg.seg_counted[s]) {
      int32_t d = r->net.seg_district[s];
      dist = dist == -2 ? d : (d == dist ? dist : -1);
    }
  if (!r->title && dist >= 0 && (uint32_t)dist < r->net.n_districts)
    snprintf(dname, sizeof dname, "%s", dl_net_str(&r->net, r->net.district_name[dist]));
  dl_table_row drow = {dname, NULL, r->have_net ? a->district_covered : 0,
                       r->have_net ? a->district_nseg : 0,
                       r->have_net ? a->district_load : NAN,
                       r->have_net && isfinite(a->district_load) ? 1 : 0,
                       dl_grade_name(r->have_net ? dl_grade(a->district_load, &gp) : DL_GRADE_NONE)};
  dl_table tabs[] = {
      {"District", "district", 0, 1, &drow},
      {"Townships (all)", "township", 0, nt, towns},
      {"Townships: best 30", "township", 0, ntv < 30 ? ntv : 30, towns},
      {"Townships: worst 10 (worst first)", "township", 0, nw10, w10},
      {"Roads: worst 3 (worst first)", "road", 1, nw3, w3},
      {"Roads (all with a value)", "road", 1, nr, roads},
  };
  const char *files[] = {"district.csv", "townships.csv", "townships_best30.csv",
                         "townships_worst10.csv", "roads_worst3.csv", "roads.csv"};
  /* refuse before writing any table, so a clash leaves no partial set behind */
  for (int i = 0; !rc && !force && i < 7; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, i < 6 ? files[i] : "ranking.md");
    if (access(path, F_OK) == 0) rc = dl_errf(e, DL_EEXIST, "%s: exists (use --force to replace it)", path);
  }
  for (int i = 0; !rc && i < 6; i++) rc = write_one(dir, files[i], &tabs[i], force, e);
  if (!rc) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ranking.md", dir);
    dl_outfile f;
    rc = dl_outfile_open(&f, path, force, e);
    if (!rc) {
      if (r->title)
        fprintf(f.f, "# Road dust load, %s\n\n", r->title);
      else
        fprintf(f.f, "# Road dust load, run %s%s%s\n\n", r->m.run_id, r->m.vehicle[0] ? ", vehicle " : "",
                r->m.vehicle);
      fprintf(f.f, "Loads in g/m² rounded to 2 decimals; ranks ascending (lower is cleaner), "
                   "ties share a rank. Calibration a = %g, beta = %g (%s).%s\n\n",
              r->p.calib_a, r->p.calib_beta, r->calib_source,
              r->have_net ? "" : " No road network: no segment, road or township values.");
      for (int i = 0; i < 6; i++) dl_table_md(f.f, &tabs[i]);
      if (r->md_extra) fputs(r->md_extra, f.f);
      rc = dl_outfile_commit(&f, e);
    }
  }
  free(towns), free(roads);
  return rc;
}

int dl_run_write_geojson(const dl_run *r, const char *path, int force, dl_err *e) {
  const dl_net *net = &r->net;
  size_t n = 0;
  for (uint32_t s = 0; r->have_net && s < net->n_segs; s++) n += r->seg_nmatched[s] > 0;
  dl_geo_segment *g = calloc(n ? n : 1, sizeof *g);
  if (!g) return dl_errf(e, DL_ENOMEM, "out of memory for GeoJSON");
  dl_grade_params gp = {r->p.grade_excellent, r->p.grade_good, r->p.grade_fair};
  size_t k = 0;
  for (uint32_t s = 0; r->have_net && s < net->n_segs; s++) {
    if (r->seg_nmatched[s] <= 0) continue;
    dl_geo_segment *f = &g[k++];
    uint32_t v0 = net->seg_vtx[s];
    f->lat = net->vtx_lat + v0, f->lon = net->vtx_lon + v0;
    f->nv = net->seg_vtx[s + 1] - v0;
    f->segment = (int32_t)s;
    f->osm_way = net->seg_way[s];
    f->road = dl_net_str(net, net->road_name[net->seg_road[s]]);
    f->township = net->seg_township[s] >= 0 ? dl_net_str(net, net->township_name[net->seg_township[s]]) : "";
    f->dust_load = r->agg.seg_load[s];
    f->grade = dl_grade_name(dl_grade(r->agg.seg_load[s], &gp));
    f->covered_m = r->agg.seg_covered[s];
  }
  int rc = dl_geojson_write_segments(path, g, n, force, e);
  free(g);
  return rc;
}
