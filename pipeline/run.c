/* run.c: a run's first stages: manifest and inputs, common grid, clocks
 * (stage 1), despiking, excess, T_ref and flags (stage 3), and the driver
 * that runs every stage with progress and timings. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "calibfile.h"
#include "dl_cli.h"
#include "dl_hash.h"
#include "dl_run.h"

/* A day of data is 86 400 samples at 1 Hz; streams further apart than this
 * are a clock or zone mistake, not a run. */
#define DL_RUN_MAX_SPAN_S (72.0 * 3600.0)

void dl_run_progress(const dl_run *r, const char *fmt, ...) {
  if (r->opts.quiet) return;
  va_list ap;
  fputs("dustload run: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void dl_run_init(dl_run *r) {
  memset(r, 0, sizeof *r);
  dl_fixes_init(&r->fixes);
  r->bg_idx = r->amb_idx = -1;
  r->district_grade = DL_GRADE_NONE;
}

static void free_grid(dl_run *r) {
  free(r->t), free(r->lat), free(r->lon), free(r->speed), free(r->course), free(r->hdop);
  for (int k = 0; k < DL_MANIFEST_MAX_INST; k++) free(r->tyre[k]), r->tyre[k] = NULL;
  free(r->c_tyre), free(r->bg), free(r->ambient), free(r->delta_c), free(r->delta_c_lp);
  free(r->t_ref), free(r->flags);
  r->t = r->lat = r->lon = r->speed = r->course = r->hdop = NULL;
  r->c_tyre = r->bg = r->ambient = r->delta_c = r->delta_c_lp = r->t_ref = NULL;
  r->flags = NULL;
}

static void free_agg(dl_agg_output *a) {
  free(a->seg_covered), free(a->seg_nvalid), free(a->seg_tref_mean), free(a->seg_counted);
  free(a->seg_load), free(a->road_load), free(a->road_length), free(a->road_covered);
  free(a->road_nseg), free(a->town_load), free(a->town_length), free(a->town_covered);
  free(a->town_nseg);
  memset(a, 0, sizeof *a);
}

void dl_run_free(dl_run *r) {
  if (!r) return;
  dl_manifest_free(&r->m);
  free(r->config_text);
  for (int i = 0; i < r->nfiles; i++) free(r->files[i].path);
  dl_fixes_free(&r->fixes);
  for (int k = 0; k < DL_MANIFEST_MAX_INST; k++) free(r->inst_t[k]), free(r->inst_v[k]);
  free_grid(r);
  free(r->segment), free(r->offset), free(r->match_dist), free(r->match_status);
  free_agg(&r->agg);
  free(r->seg_nmatched), free(r->road_rank), free(r->town_rank), free(r->road_town);
  if (r->netf) dl_network_close(r->netf);
  dl_run_init(r);
}

/* ---- load: manifest, parameters, calibration, inputs ------------------ */

static int add_file(dl_run *r, const char *what, const char *path, dl_err *e) {
  if (r->nfiles >= DL_RUN_MAX_FILES)
    return dl_errf(e, DL_EINTERNAL, "too many input files (at most %d)", DL_RUN_MAX_FILES);
  dl_run_file *f = &r->files[r->nfiles];
  snprintf(f->what, sizeof f->what, "%s", what);
  f->path = strdup(path);
  if (!f->path) return dl_errf(e, DL_ENOMEM, "out of memory");
  r->nfiles++;
  if (!strncmp(path, "gpsd://", 7)) {
    snprintf(f->sha256, sizeof f->sha256, "live");
    return DL_OK;
  }
  return dl_sha256_file(path, f->sha256, e);
}

/* Sorts fixes by time and drops repeated times (several GPS sources). */
static int fixes_sort(dl_fixes *f, dl_err *e) {
  int sorted = 1;
  for (size_t i = 1; i < f->n && sorted; i++) sorted = f->t[i] > f->t[i - 1];
  if (sorted) return DL_OK;
  size_t n = f->n;
  size_t *ix = malloc(n * sizeof *ix);
  dl_fixes g;
  dl_fixes_init(&g);
  if (!ix || dl_fixes_reserve(&g, n)) {
    free(ix);
    dl_fixes_free(&g);
    return dl_errf(e, DL_ENOMEM, "out of memory sorting %zu GPS fixes", n);
  }
  for (size_t i = 0; i < n; i++) ix[i] = i;
  for (size_t w = 1; w < n; w *= 2) { /* bottom-up merge sort: stable by source order */
    size_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) {
      free(ix);
      dl_fixes_free(&g);
      return dl_errf(e, DL_ENOMEM, "out of memory sorting GPS fixes");
    }
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi) tmp[k++] = f->t[ix[b]] < f->t[ix[a]] ? ix[b++] : ix[a++];
      while (a < mid) tmp[k++] = ix[a++];
      while (b < hi) tmp[k++] = ix[b++];
    }
    memcpy(ix, tmp, n * sizeof *tmp);
    free(tmp);
  }
  for (size_t j = 0; j < n; j++) {
    size_t i = ix[j];
    if (g.n && !(f->t[i] > g.t[g.n - 1])) continue;
    long k = dl_fixes_push(&g);
    g.t[k] = f->t[i], g.lat[k] = f->lat[i], g.lon[k] = f->lon[i];
    g.speed[k] = f->speed[i], g.course[k] = f->course[i], g.hdop[k] = f->hdop[i];
    g.quality[k] = f->quality[i], g.nsat[k] = f->nsat[i], g.line[k] = f->line[i];
  }
  free(ix);
  dl_fixes_free(f);
  *f = g;
  return DL_OK;
}

static double bearing_deg(double la1, double lo1, double la2, double lo2) {
  const double d2r = M_PI / 180.0;
  double y = sin((lo2 - lo1) * d2r) * cos(la2 * d2r);
  double x = cos(la1 * d2r) * sin(la2 * d2r) - sin(la1 * d2r) * cos(la2 * d2r) * cos((lo2 - lo1) * d2r);
  double b = atan2(y, x) / d2r;
  return b < 0 ? b + 360.0 : b;
}

/* Fills missing speed/course (GPX, CSV without them) from the neighbouring
 * fixes, never across a gap over max_gap. */
static void fixes_derive_motion(dl_fixes *f, double max_gap) {
  /* a 4 s baseline: GPS position noise over 2 s would make speed (cubed
   * later) and acceleration useless */
  for (size_t i = 0; i < f->n; i++) {
    if (isfinite(f->speed[i]) && isfinite(f->course[i])) continue;
    size_t a = i, b = i;
    while (a > 0 && i - a < 2 && f->t[i] - f->t[a - 1] <= 2 * max_gap && isfinite(f->lat[a - 1])) a--;
    while (b + 1 < f->n && b - i < 2 && f->t[b + 1] - f->t[i] <= 2 * max_gap && isfinite(f->lat[b + 1])) b++;
    if (a == b || !isfinite(f->lat[a]) || !isfinite(f->lat[b])) continue;
    double dt = f->t[b] - f->t[a];
    if (!(dt > 0) || dt > 2 * max_gap) continue;
    double d = dl_haversine_m(f->lat[a], f->lon[a], f->lat[b], f->lon[b]);
    if (!isfinite(f->speed[i])) f->speed[i] = d / dt;
    if (!isfinite(f->course[i]) && d > 2.0)
      f->course[i] = bearing_deg(f->lat[a], f->lon[a], f->lat[b], f->lon[b]);
  }
}

static int read_instrument(dl_run *r, int i, dl_err *e) {
  const dl_manifest_inst *in = &r->m.inst[i];
  dl_samples s;
  dl_rejects rej;
  dl_samples_init(&s);
  memset(&rej, 0, sizeof rej);
  int rc = dl_read_instrument(in->path, in->format, &in->opts, &s, &rej, e);
  if (rc) {
    dl_samples_free(&s);
    return rc;
  }
  if (s.nchan > 1 && !in->channel) {
    char names[512] = "";
    for (int c = 0; c < s.nchan; c++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", c ? ", " : "",
               s.chan_name[c]);
    int nchan = s.nchan;
    dl_samples_free(&s);
    return dl_errf(e, DL_ECONFIG,
                   "%s:%d: [instrument %s]: %s has %d channels (%s): name one with channel =",
                   r->m.path, in->line, in->name, in->path, nchan, names);
  }
  double *t = malloc((s.n ? s.n : 1) * sizeof *t), *v = malloc((s.n ? s.n : 1) * sizeof *v);
  if (!t || !v) {
    free(t), free(v), dl_samples_free(&s);
    return dl_errf(e, DL_ENOMEM, "out of memory reading %s", in->path);
  }
  size_t n = 0, finite = 0;
  for (size_t k = 0; k < s.n; k++) {
    double tk = s.t[k] - in->inlet_delay_s;
    if (!isfinite(tk) || (n && !(tk > t[n - 1]))) continue; /* readers keep time order */
    t[n] = tk, v[n] = s.value[k];
    finite += isfinite(v[n]);
    n++;
  }
  double interval = s.interval_s;
  dl_samples_free(&s);
  if (!finite) {
    free(t), free(v);
    return dl_errf(e, DL_ENODATA,
                   "%s: [instrument %s] (manifest line %d): no usable readings "
                   "(%llu lines, %llu rejected)",
                   in->path, in->name, in->line, (unsigned long long)rej.lines,
                   (unsigned long long)dl_rejects_total(&rej));
  }
  r->inst_t[i] = t, r->inst_v[i] = v, r->inst_n[i] = n;
  double gap = r->p.max_gap_s;
  if (isfinite(interval) && 1.5 * interval > gap) gap = 1.5 * interval;
  r->inst_gap[i] = gap;
  dl_run_progress(r, "  instrument %s (%s): %zu readings, %llu lines rejected", in->name,
                  dl_role_name(in->role), n, (unsigned long long)dl_rejects_total(&rej));
  return DL_OK;
}

static int load_calibration(dl_run *r, dl_err *e) {
  snprintf(r->calib_source, sizeof r->calib_source, "params (calib_a, calib_beta)");
  dl_manifest *m = &r->m;
  if (m->calib_file) {
    dl_calib_file cf;
    int rc = dl_calib_file_read(m->calib_file, &cf, e);
    if (rc) return rc;
    r->p.calib_a = cf.a, r->p.calib_beta = cf.beta;
    snprintf(r->calib_source, sizeof r->calib_source, "file %s", m->calib_file);
    return add_file(r, "calibration", m->calib_file, e);
  }
  if (m->have_calib_a || m->have_calib_beta) {
    if (m->have_calib_a) r->p.calib_a = m->calib_a;
    if (m->have_calib_beta) r->p.calib_beta = m->calib_beta;
    snprintf(r->calib_source, sizeof r->calib_source, "manifest [calibration]%s",
             m->have_calib_a && m->have_calib_beta ? "" : " (with a params default)");
  }
  return DL_OK;
}

int dl_run_load(dl_run *r, const dl_run_opts *o, dl_err *e) {
  r->opts = *o;
  int rc = dl_manifest_read(o->manifest, &r->m, e);
  if (rc) return rc;
  dl_manifest *m = &r->m;
  dl_params_default(&r->p);
  for (int i = 0; i < m->nparams; i++) {
    char origin[4200];
    snprintf(origin, sizeof origin, "%s:%d: [params]", m->path, m->params[i].line);
    if ((rc = dl_param_set(&r->p, m->params[i].key, m->params[i].value, origin, e))) return rc;
  }
  if ((rc = load_calibration(r, e))) return rc;
  int set_calib = 0;
  for (int i = 0; i < o->nsets; i++) {
    if ((rc = dl_param_assign(&r->p, o->sets[i], "--set", e))) return rc;
    set_calib |= !strncmp(o->sets[i], "calib_", 6);
  }
  if (set_calib)
    snprintf(r->calib_source + strlen(r->calib_source),
             sizeof r->calib_source - strlen(r->calib_source), ", overridden by --set");
  if (o->threads > 0) r->p.threads = o->threads;
  if (r->p.speed_min_kmh >= r->p.speed_max_kmh)
    return dl_errf(e, DL_ECONFIG, "speed_min_kmh (%g) must be below speed_max_kmh (%g)",
                   r->p.speed_min_kmh, r->p.speed_max_kmh);
  if (!(r->p.grade_excellent <= r->p.grade_good && r->p.grade_good <= r->p.grade_fair))
    return dl_errf(e, DL_ECONFIG, "grades: expected grade_excellent <= grade_good <= grade_fair");
#ifdef _OPENMP
  if (r->p.threads > 0) omp_set_num_threads(r->p.threads);
#endif
  size_t need = dl_params_dump(&r->p, NULL, 0) + 1;
  r->config_text = malloc(need);
  if (!r->config_text) return dl_errf(e, DL_ENOMEM, "out of memory");
  dl_params_dump(&r->p, r->config_text, need);

  if ((rc = add_file(r, "manifest", m->path, e))) return rc;
  /* network: --network, else the manifest's; none is a valid run */
  const char *net = o->network ? o->network : m->network;
  if (net) {
    const char *path;
    if ((rc = dl_manifest_network(m, o->network, &path, e))) return rc;
    snprintf(r->network_path, sizeof r->network_path, "%s", path);
    if ((rc = dl_network_open(path, &r->net, &r->netf, e))) return rc;
    r->have_net = 1;
    if ((rc = add_file(r, "network", path, e))) return rc;
  }

  /* GPS */
  dl_gps_opts go;
  dl_gps_opts_default(&go);
  go.nmea_lenient = r->p.nmea_lenient;
  for (int g = 0; g < m->ngps; g++) {
    dl_fixes f;
    dl_rejects rej;
    dl_fixes_init(&f);
    memset(&rej, 0, sizeof rej);
    rc = dl_read_gps(m->gps[g].path, m->gps[g].format, &go, &f, &rej, e);
    if (!rc && !f.n)
      rc = dl_errf(e, DL_ENODATA, "%s: [gps%s%s] (manifest line %d): no usable fixes "
                   "(%llu lines, %llu rejected)", m->gps[g].path, m->gps[g].name[0] ? " " : "",
                   m->gps[g].name, m->gps[g].line, (unsigned long long)rej.lines,
                   (unsigned long long)dl_rejects_total(&rej));
    if (!rc && dl_fixes_reserve(&r->fixes, r->fixes.n + f.n))
      rc = dl_errf(e, DL_ENOMEM, "out of memory reading %s", m->gps[g].path);
    for (size_t i = 0; !rc && i < f.n; i++) {
      long k = dl_fixes_push(&r->fixes);
      dl_fixes *d = &r->fixes;
      d->t[k] = f.t[i], d->lat[k] = f.lat[i], d->lon[k] = f.lon[i], d->speed[k] = f.speed[i];
      d->course[k] = f.course[i], d->hdop[k] = f.hdop[i], d->quality[k] = f.quality[i];
      d->nsat[k] = f.nsat[i], d->line[k] = f.line[i];
    }
    if (!rc)
      dl_run_progress(r, "  gps %s: %zu fixes, %llu lines rejected", m->gps[g].path, f.n,
                      (unsigned long long)dl_rejects_total(&rej));
    dl_fixes_free(&f);
    if (rc) return rc;
    char what[80];
    snprintf(what, sizeof what, "gps%s%s", m->gps[g].name[0] ? " " : "", m->gps[g].name);
    if ((rc = add_file(r, what, m->gps[g].path, e))) return rc;
  }
  if ((rc = fixes_sort(&r->fixes, e))) return rc;
  fixes_derive_motion(&r->fixes, r->p.max_gap_s);

  /* instruments */
  r->ninst = m->ninst;
  for (int i = 0; i < m->ninst; i++) {
    if ((rc = read_instrument(r, i, e))) return rc;
    char what[80];
    snprintf(what, sizeof what, "instrument %s (%s)", m->inst[i].name,
             dl_role_name(m->inst[i].role));
    if ((rc = add_file(r, what, m->inst[i].path, e))) return rc;
    dl_run_lag *L = &r->lag[i];
    snprintf(L->name, sizeof L->name, "%s", m->inst[i].name);
    L->role = m->inst[i].role;
    L->declared_clock_s = m->inst[i].opts.clock_offset_s;
    L->declared_delay_s = m->inst[i].inlet_delay_s;
    L->found_s = 0, L->peak = NAN;
    snprintf(L->how, sizeof L->how, "not refined");
    switch (m->inst[i].role) {
      case DL_ROLE_TYRE: case DL_ROLE_TYRE_LEFT: case DL_ROLE_TYRE_RIGHT:
        r->tyre_idx[r->ntyre++] = i; break;
      case DL_ROLE_BACKGROUND: r->bg_idx = i; break;
      default: r->amb_idx = i; break;
    }
  }
  if (m->tags) {
    if ((rc = add_file(r, "tags", m->tags, e))) return rc;
  }
  r->can_load = r->ntyre > 0 && r->bg_idx >= 0 && r->fixes.n > 0;
  return DL_OK;
}

/* ---- stage 2: common grid -------------------------------------------- */

static int alloc_col(double **p, size_t n, dl_err *e) {
  free(*p);
  *p = malloc((n ? n : 1) * sizeof **p);
  return *p ? DL_OK : dl_errf(e, DL_ENOMEM, "out of memory for a %zu-sample column", n);
}

/* Resamples instrument i (with its stage 1 shift) onto the grid column. */
static int grid_inst(dl_run *r, int i, double *out, dl_err *e) {
  /* corrected time = t - shift, so the grid value at g is the raw value at g + shift */
  return dl_grid_resample(r->inst_t[i], r->inst_v[i], r->inst_n[i], r->t0 + r->inst_shift[i],
                          r->hz, r->n, DL_INTERP_LINEAR, 0, r->inst_gap[i], out, e);
}

static int grid_instruments(dl_run *r, dl_err *e) {
  int rc = DL_OK;
  for (int k = 0; k < r->ntyre && !rc; k++) rc = alloc_col(&r->tyre[k], r->n, e);
  if (!rc && r->bg_idx >= 0) rc = alloc_col(&r->bg, r->n, e);
  if (!rc && r->amb_idx >= 0) rc = alloc_col(&r->ambient, r->n, e);
  if (rc) return rc;
  int fail = 0;
  dl_err errs[DL_MANIFEST_MAX_INST];
  /* one channel per thread; each call only writes its own column */
#pragma omp parallel for schedule(dynamic, 1) reduction(| : fail)
  for (int i = 0; i < r->ninst; i++) {
    double *col = NULL;
    for (int k = 0; k < r->ntyre; k++)
      if (r->tyre_idx[k] == i) col = r->tyre[k];
    if (i == r->bg_idx) col = r->bg;
    if (i == r->amb_idx) col = r->ambient;
    dl_err_clear(&errs[i]);
    if (col && grid_inst(r, i, col, &errs[i])) fail |= 1;
  }
  if (fail)
    for (int i = 0; i < r->ninst; i++)
      if (errs[i].code) {
        *e = errs[i];
        return errs[i].code;
      }
  return DL_OK;
}

int dl_run_grid(dl_run *r, dl_err *e) {
  dl_params *p = &r->p;
  r->hz = p->grid_hz;
  double lo = INFINITY, hi = -INFINITY;
  const char *lo_what = "", *hi_what = "";
  if (r->fixes.n) {
    lo = r->fixes.t[0], hi = r->fixes.t[r->fixes.n - 1];
    lo_what = hi_what = "gps";
  }
  for (int i = 0; i < r->ninst; i++) {
    if (!r->inst_n[i]) continue;
    if (r->inst_t[i][0] < lo) lo = r->inst_t[i][0], lo_what = r->m.inst[i].name;
    if (r->inst_t[i][r->inst_n[i] - 1] > hi)
      hi = r->inst_t[i][r->inst_n[i] - 1], hi_what = r->m.inst[i].name;
  }
  if (!(hi >= lo))
    return dl_errf(e, DL_ENODATA, "%s: no GPS fix and no instrument reading to put on a grid",
                   r->m.path);
  if (hi - lo > DL_RUN_MAX_SPAN_S) {
    char a[40], b[40];
    return dl_errf(e, DL_ECONFIG,
                   "%s: the streams span %.1f h (%s starts %s, %s ends %s): more than %g h, "
                   "check each instrument's tz and clock_offset_s",
                   r->m.path, (hi - lo) / 3600.0, lo_what, dl_time_iso(lo, a, sizeof a), hi_what,
                   dl_time_iso(hi, b, sizeof b), DL_RUN_MAX_SPAN_S / 3600.0);
  }
  /* the grid sits on whole multiples of 1/hz in UTC */
  r->t0 = ceil(lo * r->hz - 1e-9) / r->hz;
  r->n = dl_grid_count(r->t0, hi, r->hz);
  size_t n = r->n;
  int rc;
  if ((rc = alloc_col(&r->t, n, e)) || (rc = alloc_col(&r->lat, n, e)) ||
      (rc = alloc_col(&r->lon, n, e)) || (rc = alloc_col(&r->speed, n, e)) ||
      (rc = alloc_col(&r->course, n, e)) || (rc = alloc_col(&r->hdop, n, e)))
    return rc;
  for (size_t k = 0; k < n; k++) r->t[k] = r->t0 + (double)k / r->hz;
  dl_fixes *f = &r->fixes;
  struct { const double *v; double *out; int angle; } gc[5] = {
      {f->lat, r->lat, 0}, {f->lon, r->lon, 0}, {f->speed, r->speed, 0},
      {f->course, r->course, 1}, {f->hdop, r->hdop, 0}};
  int fail = 0;
  dl_err errs[5];
#pragma omp parallel for schedule(dynamic, 1) reduction(| : fail)
  for (int c = 0; c < 5; c++) {
    dl_err_clear(&errs[c]);
    if (f->n) {
      if (dl_grid_resample(f->t, gc[c].v, f->n, r->t0, r->hz, n, DL_INTERP_LINEAR, gc[c].angle,
                           p->max_gap_s, gc[c].out, &errs[c]))
        fail |= 1;
    } else {
      for (size_t k = 0; k < n; k++) gc[c].out[k] = NAN;
    }
  }
  if (fail)
    for (int c = 0; c < 5; c++)
      if (errs[c].code) {
        *e = errs[c];
        return errs[c].code;
      }
  /* a position only with a speed: a sample without one cannot be judged */
  for (size_t k = 0; k < n; k++)
    if (!isfinite(r->lat[k]) || !isfinite(r->lon[k])) r->speed[k] = r->course[k] = NAN;
  if ((rc = grid_instruments(r, e))) return rc;
  /* something must line up: a position with a reading */
  size_t both = 0;
  for (size_t k = 0; k < n; k++) {
    if (!isfinite(r->lat[k])) continue;
    int any = r->bg && isfinite(r->bg[k]);
    any |= r->ambient && isfinite(r->ambient[k]);
    for (int j = 0; j < r->ntyre; j++) any |= isfinite(r->tyre[j][k]);
    both += any;
  }
  if (!both) {
    char a[40], b[40], c[40], d[40];
    double ilo = INFINITY, ihi = -INFINITY;
    for (int i = 0; i < r->ninst; i++)
      if (r->inst_n[i]) {
        if (r->inst_t[i][0] < ilo) ilo = r->inst_t[i][0];
        if (r->inst_t[i][r->inst_n[i] - 1] > ihi) ihi = r->inst_t[i][r->inst_n[i] - 1];
      }
    return dl_errf(e, DL_ENODATA,
                   "%s: no valid samples: no GPS position coincides with an instrument reading "
                   "(GPS %s to %s, instruments %s to %s UTC): check tz and clock_offset_s",
                   r->m.path, f->n ? dl_time_iso(f->t[0], a, sizeof a) : "none",
                   f->n ? dl_time_iso(f->t[f->n - 1], b, sizeof b) : "none",
                   dl_time_iso(ilo, c, sizeof c), dl_time_iso(ihi, d, sizeof d));
  }
  return DL_OK;
}

/* ---- stage 1: clocks --------------------------------------------------- */

/* Seconds of valid driving on the grid: a position, a speed in range and
 * both inlets reading. */
static double driving_seconds(const dl_run *r, const double *a, const double *b) {
  size_t k = 0;
  double vmin = r->p.speed_min_kmh / 3.6, vmax = r->p.speed_max_kmh / 3.6;
  for (size_t i = 0; i < r->n; i++)
    k += r->speed[i] >= vmin && r->speed[i] <= vmax && isfinite(a[i]) && (!b || isfinite(b[i]));
  return (double)k / r->hz;
}

static void set_how(dl_run_lag *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_how(dl_run_lag *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(L->how, sizeof L->how, fmt, ap);
  va_end(ap);
}

int dl_run_clocks(dl_run *r, dl_err *e) {
  if (!r->ntyre) {
    for (int i = 0; i < r->ninst; i++)
      set_how(&r->lag[i], "not refined: the run has no tyre inlet (no v^3 signal)");
    return DL_OK;
  }
  if (r->bg_idx < 0 || !r->fixes.n) {
    for (int i = 0; i < r->ninst; i++)
      set_how(&r->lag[i], "not refined: needs %s", r->bg_idx < 0 ? "a background inlet" : "GPS speed");
    return DL_OK;
  }
  dl_params *p = &r->p;
  size_t n = r->n;
  double bound = p->max_lag_inlet_s + p->max_lag_clock_s;
  size_t maxlag = (size_t)ceil(bound * r->hz) + 1;
  if (maxlag >= n) maxlag = n ? n - 1 : 0;
  dl_xcorr *xc = dl_xcorr_create(n, maxlag, 1, e);
  if (!xc) return e && e->code ? e->code : DL_ENOMEM;
  double *v3 = malloc(n * sizeof *v3), *x = malloc(n * sizeof *x), *bgs = malloc(n * sizeof *bgs);
  int rc = DL_OK;
  if (!v3 || !x || !bgs) rc = dl_errf(e, DL_ENOMEM, "out of memory for the lag search");
  /* In log space: ln ΔC = ln T_ref(load) + n ln v + const, so the load,
   * which changes by orders of magnitude from one segment to the next, is a
   * piecewise-constant offset there instead of a multiplier that swamps v^3
   * in a linear correlation. Starts and stops are the strongest v^3
   * events, so only standstill (no v^3 to speak of) is left out. */
  if (!rc) {
    dl_speed_cube(r->speed, n, v3);
    for (size_t j = 0; j < n; j++) v3[j] = r->speed[j] >= 0.5 ? log(v3[j]) : NAN;
  }
  for (int k = 0; k < r->ntyre && !rc; k++) {
    int i = r->tyre_idx[k];
    dl_run_lag *L = &r->lag[i];
    double drive = driving_seconds(r, r->tyre[k], r->bg);
    if (drive < p->lag_min_drive_s) {
      set_how(L, "not refined: %.0f s of valid driving, lag_min_drive_s is %g", drive,
              p->lag_min_drive_s);
      continue;
    }
    /* (a) background against this tyre inlet: both see the ambient air, but
     * the tyre's excess dominates its level, so compare second-to-second
     * changes (passing trucks, gusts); weak means the declared clocks stand */
    dl_lag lb;
    double rb = 0;
    for (size_t j = 0; j + 1 < n; j++) {
      x[j] = r->bg[j + 1] - r->bg[j];
      bgs[j] = r->tyre[k][j + 1] - r->tyre[k][j];
    }
    rc = dl_xcorr_lag(xc, 0, x, bgs, n - 1, r->hz, bound, p->lag_min_corr, &lb, e);
    if (rc == DL_ENODATA) rc = DL_OK, lb.weak = 1;
    if (rc) break;
    if (!lb.weak) rb = lb.lag_s; /* bg lags the tyre by rb: its corrected time is t - rb */
    if (k == 0) {
      dl_run_lag *B = &r->lag[r->bg_idx];
      B->found_s = rb;
      B->peak = lb.peak;
      if (lb.weak)
        set_how(B, "changes vs %s: weak peak %.2f, declared clock kept", L->name, lb.peak);
      else
        set_how(B, "aligned on %s by their changes (peak %.2f), then moved with it", L->name,
                lb.peak);
      r->inst_shift[r->bg_idx] = rb;
    }
    /* (b) excess with the background so aligned, against v^3 */
    if (rb != 0) {
      if ((rc = dl_grid_resample(r->inst_t[r->bg_idx], r->inst_v[r->bg_idx], r->inst_n[r->bg_idx],
                                 r->t0 + rb, r->hz, n, DL_INTERP_LINEAR, 0, r->inst_gap[r->bg_idx],
                                 bgs, e)))
        break;
    } else {
      memcpy(bgs, r->bg, n * sizeof *bgs);
    }
    const double *ty[1] = {r->tyre[k]};
    dl_excess(ty, 1, bgs, n, x);
    for (size_t j = 0; j < n; j++) x[j] = x[j] > 0 ? log(x[j]) : NAN;
    dl_lag lt;
    rc = dl_xcorr_lag(xc, 0, x, v3, n, r->hz, bound, p->lag_min_corr, &lt, e);
    if (rc == DL_ENODATA) {
      rc = DL_OK;
      set_how(L, "not refined: too little overlap of excess and speed");
      continue;
    }
    if (rc) break;
    L->peak = lt.peak;
    if (lt.weak) {
      set_how(L, "weak peak %.2f < lag_min_corr %g: declared offsets kept", lt.peak,
              p->lag_min_corr);
      continue;
    }
    L->found_s = lt.lag_s;
    r->inst_shift[i] = lt.lag_s;
    set_how(L, "refined from tyre excess vs v^3");
    if (k == 0 && !lb.weak) {
      r->lag[r->bg_idx].found_s = rb + lt.lag_s;
      r->inst_shift[r->bg_idx] = rb + lt.lag_s;
    }
  }
  free(v3), free(x), free(bgs);
  dl_xcorr_free(xc);
  if (rc) return rc;
  return grid_instruments(r, e);
}

/* ---- stage 3: despike, excess, T_ref, flags ---------------------------- */

int dl_run_process(dl_run *r, dl_err *e) {
  dl_params *p = &r->p;
  size_t n = r->n;
  int rc;
  /* despike every PM channel (each its own workspace: channels in parallel) */
  double *chan[DL_MANIFEST_MAX_INST + 2];
  int chan_inst[DL_MANIFEST_MAX_INST + 2];
  int nch = 0;
  for (int k = 0; k < r->ntyre; k++) chan_inst[nch] = r->tyre_idx[k], chan[nch++] = r->tyre[k];
  if (r->bg) chan_inst[nch] = r->bg_idx, chan[nch++] = r->bg;
  if (r->ambient) chan_inst[nch] = r->amb_idx, chan[nch++] = r->ambient;
  size_t win = dl_window_samples(p->hampel_window_s, r->hz);
  if (win < 3) win = 3;
  int fail = 0;
  dl_err errs[DL_MANIFEST_MAX_INST + 2];
#pragma omp parallel for schedule(dynamic, 1) reduction(| : fail)
  for (int c = 0; c < nch; c++) {
    dl_err_clear(&errs[c]);
    dl_despike *w = dl_despike_create(n, win, &errs[c]);
    size_t nrep = 0;
    if (!w || dl_despike_run(w, chan[c], n, p->hampel_nsigma, NULL, &nrep, &errs[c])) fail |= 1;
    r->despiked[chan_inst[c]] = nrep;
    dl_despike_free(w);
  }
  if (fail)
    for (int c = 0; c < nch; c++)
      if (errs[c].code) {
        *e = errs[c];
        return errs[c].code;
      }
  if ((rc = alloc_col(&r->delta_c, n, e)) || (rc = alloc_col(&r->t_ref, n, e))) return rc;
  free(r->flags);
  r->flags = malloc((n ? n : 1) * sizeof *r->flags);
  if (!r->flags) return dl_errf(e, DL_ENOMEM, "out of memory for flags");
  if (r->ntyre) {
    if ((rc = alloc_col(&r->c_tyre, n, e))) return rc;
    const double *ty[DL_MANIFEST_MAX_INST];
    for (int k = 0; k < r->ntyre; k++) ty[k] = r->tyre[k];
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      int m = 0;
      for (int k = 0; k < r->ntyre; k++)
        if (isfinite(ty[k][i])) s += ty[k][i], m++;
      r->c_tyre[i] = m ? s / m : NAN;
    }
    dl_excess(ty, r->ntyre, r->bg, n, r->delta_c);
  } else {
    for (size_t i = 0; i < n; i++) r->delta_c[i] = NAN;
  }
  dl_tref(r->delta_c, r->speed, n, p->v_ref_kmh / 3.6, p->speed_exponent, r->t_ref);
  if (p->lowpass && r->ntyre && r->bg) {
    if ((rc = alloc_col(&r->delta_c_lp, n, e))) return rc;
    dl_lowpass *lp = dl_lowpass_create(n, e);
    if (!lp) return e && e->code ? e->code : DL_ENOMEM;
    rc = dl_lowpass_run(lp, r->delta_c, r->delta_c_lp, n, r->hz, p->lowpass_hz, e);
    dl_lowpass_free(lp);
    if (rc) return rc;
  }
  return DL_OK;
}

int dl_run_flags(dl_run *r, dl_err *e) {
  dl_params *p = &r->p;
  dl_tags tags;
  dl_tags_init(&tags);
  int rc = DL_OK;
  if (r->m.tags && (rc = dl_tags_read(r->m.tags, r->m.tz_offset_s, r->m.have_tz, &tags, e)))
    return rc;
  double *tb = NULL, *te = NULL;
  if (tags.n) {
    tb = malloc(tags.n * sizeof *tb), te = malloc(tags.n * sizeof *te);
    if (!tb || !te) rc = dl_errf(e, DL_ENOMEM, "out of memory for tags");
    /* tags are [start, end); the flag kernel takes closed intervals */
    for (size_t i = 0; !rc && i < tags.n; i++)
      tb[i] = tags.start[i], te[i] = nextafter(tags.end[i], -INFINITY);
  }
  dl_qc_params qp = {p->speed_min_kmh, p->speed_max_kmh, p->accel_max_ms2, p->turn_max_degs,
                     p->hdop_max, p->jump_max_kmh, p->bg_window_s, p->bg_nsigma,
                     p->negative_min_ugm3, p->instrument_max_ugm3, p->match_max_m};
  const double *ty[DL_MANIFEST_MAX_INST];
  for (int k = 0; k < r->ntyre; k++) ty[k] = r->tyre[k];
  dl_qc_input in = {0};
  in.n = r->n;
  in.t = r->t;
  if (r->fixes.n) in.lat = r->lat, in.lon = r->lon, in.speed = r->speed, in.course = r->course;
  in.hdop = r->hdop;
  in.tyre = r->ntyre ? ty : NULL;
  in.ntyre = r->ntyre;
  in.bg = r->bg;
  in.dc = r->ntyre && r->bg ? r->delta_c : NULL;
  if (r->have_net) in.segment = r->segment, in.match_dist = r->match_dist;
  in.tag_begin = tb, in.tag_end = te, in.ntags = tags.n;
  dl_qc *w = NULL;
  if (!rc) w = dl_qc_create(r->n, r->hz, &qp, e);
  if (!rc && !w) rc = e && e->code ? e->code : DL_ENOMEM;
  if (!rc) rc = dl_qc_flags(w, &in, r->flags, NULL, NULL, e);
  dl_qc_free(w);
  free(tb), free(te);
  dl_tags_free(&tags);
  if (rc) return rc;
  /* an ambient-only rig: its one channel is neither tyre nor background, and
   * a missing reading there is an instrument problem too */
  if (r->ambient && !r->ntyre && !r->bg)
    for (size_t i = 0; i < r->n; i++)
      if (!isfinite(r->ambient[i]) || r->ambient[i] >= p->instrument_max_ugm3)
        r->flags[i] |= DL_FLAG_INSTRUMENT;
  return DL_OK;
}

/* ---- driver ----------------------------------------------------------- */

static void stage_done(dl_run *r, const char *name, double t0) {
  if (r->nstage < DL_RUN_STAGES) {
    r->stage_name[r->nstage] = name;
    r->stage_s[r->nstage++] = dl_cli_now() - t0;
  }
}

int dl_run_execute(dl_run *r, const dl_run_opts *o, dl_err *e) {
  double t = dl_cli_now();
  int rc;
  r->opts = *o;
  dl_run_progress(r, "reading %s", o->manifest);
  if ((rc = dl_run_load(r, o, e))) return rc;
  stage_done(r, "read", t);
  dl_run_progress(r, "read: %zu GPS fixes, %d instrument(s), %s (%.3f s)", r->fixes.n, r->ninst,
                  r->have_net ? r->network_path : "no road network", r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_grid(r, e))) return rc;
  stage_done(r, "grid", t);
  char a[40], b[40];
  dl_run_progress(r, "stage 2 grid: %zu samples at %g Hz, %s to %s (%.3f s)", r->n, r->hz,
                  dl_time_iso(r->t0, a, sizeof a),
                  dl_time_iso(r->t0 + (double)(r->n ? r->n - 1 : 0) / r->hz, b, sizeof b),
                  r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_clocks(r, e))) return rc;
  stage_done(r, "clocks", t);
  for (int i = 0; i < r->ninst; i++) {
    const dl_run_lag *L = &r->lag[i];
    dl_run_progress(r, "stage 1 clocks: %s (%s): declared clock %+g s, inlet %g s; correction "
                    "%+g s, peak %.3f: %s",
                    L->name, dl_role_name(L->role), L->declared_clock_s, L->declared_delay_s,
                    L->found_s, L->peak, L->how);
  }
  dl_run_progress(r, "stage 1 clocks: %.3f s", r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_process(r, e))) return rc;
  stage_done(r, "process", t);
  dl_run_progress(r, "stage 3 despike/excess/T_ref: %.3f s", r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_match(r, e))) return rc;
  stage_done(r, "match", t);
  dl_run_progress(r, "stage 4 match (%s): %zu of %zu points matched (%.3f s)", r->match_method,
                  r->match_matched, r->match_points, r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_flags(r, e))) return rc;
  stage_done(r, "flags", t);
  dl_run_progress(r, "stage 3 flags: %.3f s", r->stage_s[r->nstage - 1]);

  t = dl_cli_now();
  if ((rc = dl_run_aggregate(r, e))) return rc;
  stage_done(r, "aggregate", t);
  dl_run_progress(r, "aggregate: %zu valid samples, %.2f km valid (%.3f s)", r->n_valid,
                  r->km_valid, r->stage_s[r->nstage - 1]);
  return DL_OK;
}
