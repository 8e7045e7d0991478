/* rank.c: `dustload rank`: pools every valid sample of a period's run files
 * per segment (a road driven twice counts both passes' coverage), then the
 * run's own aggregation, ranking, grades and table writers on the pool. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calibfile.h"
#include "dl_cli.h"
#include "dl_h5.h"
#include "dl_batch.h"
#include "dl_run.h"
#include "dl_simwrite.h"

typedef struct rank_run {
  char *file;            /* name inside OUTDIR */
  char run_id[128];
  size_t n_in;           /* samples inside the period */
  int used;
  char reason[1200];     /* why excluded ("" when used) */
  char key[DL_SHA256_HEX]; /* network + calibration + parameters */
  char net_sha[DL_SHA256_HEX];
  char sha[DL_SHA256_HEX]; /* of the run file */
  dl_run_samples s;
} rank_run;

int dl_rank_period(int year, int month, int start_day, double tz_hours, double *t0, double *t1) {
  if (month < 1 || month > 12 || start_day < 1 || start_day > 28) return DL_EUSAGE;
  int ny = month == 12 ? year + 1 : year, nm = month == 12 ? 1 : month + 1;
  *t0 = (double)dl_days_from_civil(year, (unsigned)month, (unsigned)start_day) * 86400.0 - tz_hours * 3600.0;
  *t1 = (double)dl_days_from_civil(ny, (unsigned)nm, (unsigned)start_day) * 86400.0 - tz_hours * 3600.0;
  return DL_OK;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Configuration lines that decide the numbers: comments and the thread
 * count (which never changes results) are left out. */
static void config_key(const rank_run *r, char out[DL_SHA256_HEX]) {
  const char *c = r->s.configuration ? r->s.configuration : "";
  size_t n = strlen(c), k = 0;
  char *buf = malloc(n + 256);
  if (!buf) {
    snprintf(out, DL_SHA256_HEX, "?");
    return;
  }
  k += (size_t)snprintf(buf, 256, "%s\n%.17g %.17g\n", r->net_sha, r->s.calib_a, r->s.calib_beta);
  for (const char *l = c; *l;) {
    const char *nl = strchr(l, '\n');
    size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
    if (l[0] != '#' && strncmp(l, "threads =", 9)) memcpy(buf + k, l, len), k += len;
    l += len;
  }
  if (dl_sha256_mem(buf, k, out, NULL)) snprintf(out, DL_SHA256_HEX, "?");
  free(buf);
}

/* The network's SHA-256 from the run's input_files attribute. */
static void network_sha(const rank_run *r, char out[DL_SHA256_HEX]) {
  out[0] = '\0';
  for (const char *l = r->s.input_files; l && *l;) {
    const char *nl = strchr(l, '\n');
    if (strlen(l) > 64 + 11 && !strncmp(l + 64, "  network  ", 11)) {
      memcpy(out, l, 64);
      out[64] = '\0';
      return;
    }
    l = nl ? nl + 1 : l + strlen(l);
  }
}

/* Runs shown in the Markdown and the summary: those of the period, and
 * files that could not be read (which might have been). */
static int listed(const rank_run *r) { return r->n_in > 0 || !strncmp(r->reason, "unreadable", 10); }

typedef struct runs_table {
  const rank_run *v;
  size_t n;
} runs_table;

static int write_runs_h5(struct dl_h5 *h, const void *ctx, dl_err *e) {
  const runs_table *t = ctx;
  size_t n = t->n ? t->n : 0;
  const char **file = malloc((n ? n : 1) * sizeof *file), **id = malloc((n ? n : 1) * sizeof *id),
             **why = malloc((n ? n : 1) * sizeof *why), **sha = malloc((n ? n : 1) * sizeof *sha);
  int64_t *ns = malloc((n ? n : 1) * sizeof *ns);
  uint8_t *used = malloc(n ? n : 1);
  int rc = DL_OK;
  if (!file || !id || !why || !sha || !ns || !used) rc = dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    file[i] = t->v[i].file, id[i] = t->v[i].run_id, why[i] = t->v[i].reason, sha[i] = t->v[i].sha;
    ns[i] = (int64_t)t->v[i].n_in, used[i] = (uint8_t)t->v[i].used;
  }
  if (!rc) rc = dl_h5_column_str(h, "/runs/file", file, n, "run file in the batch folder", e);
  if (!rc) rc = dl_h5_column_str(h, "/runs/run_id", id, n, "run id", e);
  if (!rc) rc = dl_h5_column(h, "/runs/used", DL_H5_U8, used, n, "1", "1: pooled, 0: excluded", e);
  if (!rc) rc = dl_h5_column(h, "/runs/n_samples", DL_H5_I64, ns, n, "1", "samples inside the period", e);
  if (!rc) rc = dl_h5_column_str(h, "/runs/reason", why, n, "why excluded (\"\" when used)", e);
  if (!rc) rc = dl_h5_column_str(h, "/runs/sha256", sha, n, "SHA-256 of the run file", e);
  free(file), free(id), free(why), free(sha), free(ns), free(used);
  return rc;
}

static int write_runs_csv(const char *dir, const rank_run *v, size_t n, int force, dl_err *e) {
  char path[4200];
  snprintf(path, sizeof path, "%s/runs.csv", dir);
  dl_outfile f;
  int rc = dl_outfile_open(&f, path, force, e);
  if (rc) return rc;
  fprintf(f.f, "file,run_id,used,samples_in_period,reason,sha256\n");
  for (size_t i = 0; i < n; i++) {
    fprintf(f.f, "%s,%s,%d,%zu,\"", v[i].file, v[i].run_id, v[i].used, v[i].n_in);
    for (const char *s = v[i].reason; *s; s++) {
      if (*s == '"') fputc('"', f.f);
      fputc(*s == '\n' ? ' ' : *s, f.f);
    }
    fprintf(f.f, "\",%s\n", v[i].sha);
  }
  return dl_outfile_commit(&f, e);
}

static char *runs_markdown(const rank_run *v, size_t n) {
  size_t nused = 0, nexcl = 0;
  for (size_t i = 0; i < n; i++) nused += v[i].used, nexcl += !v[i].used && listed(&v[i]);
  size_t cap = 512 + n * 1000, k = 0;
  char *md = malloc(cap);
  if (!md) return NULL;
  k += (size_t)snprintf(md, cap, "## Runs\n\n%zu run(s) pooled, %zu excluded (run files without a "
                        "sample in the period are left out of this list; runs.csv has them all).\n\n"
                        "| run | file | samples in period | status |\n|---|---|---:|---|\n",
                        nused, nexcl);
  for (size_t i = 0; i < n; i++)
    if (listed(&v[i]))
      k += (size_t)snprintf(md + k, cap - k, "| %s | %s | %zu | %s%.700s |\n",
                            v[i].run_id[0] ? v[i].run_id : "-", v[i].file, v[i].n_in,
                            v[i].used ? "used" : "excluded: ", v[i].reason);
  return md;
}

/* Fills the run's parameters from the configuration text of a run file. */
static int params_from_config(dl_params *p, const char *cfg, const char *file, dl_err *e) {
  dl_params_default(p);
  char line[512];
  for (const char *l = cfg ? cfg : ""; *l;) {
    const char *nl = strchr(l, '\n');
    size_t len = nl ? (size_t)(nl - l) : strlen(l);
    if (len < sizeof line && l[0] != '#') {
      memcpy(line, l, len);
      line[len] = '\0';
      char *eq = strstr(line, " = ");
      if (eq) {
        *eq = '\0';
        char origin[4200];
        snprintf(origin, sizeof origin, "%s: configuration attribute", file);
        int rc = dl_param_set(p, line, eq + 3, origin, e);
        if (rc) return rc;
      }
    }
    l += len + (nl != NULL);
  }
  return DL_OK;
}

static void runs_free(rank_run *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].file), dl_run_samples_free(&v[i].s);
  free(v);
}

/* Lists *.h5 of dir (not hidden) in name order, reads each. */
static int read_runs(const dl_rank_opts *o, rank_run **out, size_t *nout, dl_err *e) {
  DIR *d = opendir(o->outdir);
  if (!d) return dl_errf(e, DL_ENOINPUT, "%s: cannot open the batch folder: %s", o->outdir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = DL_OK;
  while (!rc && (de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".h5")) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) rc = dl_errf(e, DL_ENOMEM, "out of memory");
      else names = nn;
    }
    if (!rc && !(names[n++] = strdup(de->d_name))) rc = dl_errf(e, DL_ENOMEM, "out of memory");
  }
  closedir(d);
  if (!rc && n) qsort(names, n, sizeof *names, cmp_name); /* names is NULL when n is 0 */
  rank_run *v = rc ? NULL : calloc(n ? n : 1, sizeof *v);
  if (!rc && !v) rc = dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (rc || !v) {
      free(names[i]);
      continue;
    }
    rank_run *r = &v[i];
    r->file = names[i];
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", o->outdir, r->file);
    dl_err fe;
    dl_err_clear(&fe);
    if (dl_run_samples_read(path, &r->s, &fe) || dl_sha256_file(path, r->sha, &fe)) {
      snprintf(r->reason, sizeof r->reason, "unreadable: %s", fe.msg);
      dl_run_samples_free(&r->s);
      continue;
    }
    snprintf(r->run_id, sizeof r->run_id, "%s", r->s.run_id);
    for (size_t k = 0; k < r->s.n; k++) r->n_in += r->s.time[k] >= o->t0 && r->s.time[k] < o->t1;
    if (!r->n_in) {
      snprintf(r->reason, sizeof r->reason, "no sample in the period");
      dl_run_samples_free(&r->s); /* keep memory to the period's runs */
      continue;
    }
    network_sha(r, r->net_sha);
    config_key(r, r->key);
  }
  free(names);
  if (rc) {
    if (v) runs_free(v, n);
    return rc;
  }
  *out = v, *nout = n;
  return DL_OK;
}

/* Marks runs used or excluded (with the reason) against the reference:
 * the most common network + calibration + parameters among the period's
 * runs, ties to the first in name order. */
static const rank_run *choose(rank_run *v, size_t n) {
  const rank_run *ref = NULL;
  size_t best = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i].reason[0] || !v[i].net_sha[0]) continue;
    size_t c = 0;
    for (size_t j = 0; j < n; j++) c += !v[j].reason[0] && !strcmp(v[j].key, v[i].key);
    if (c > best) best = c, ref = &v[i];
  }
  for (size_t i = 0; i < n; i++) {
    rank_run *r = &v[i];
    if (r->reason[0]) continue;
    if (!r->net_sha[0]) {
      snprintf(r->reason, sizeof r->reason, "no road network (samples not map-matched)");
      continue;
    }
    for (size_t j = 0; j < i; j++)
      if (v[j].used && !strcmp(v[j].run_id, r->run_id)) {
        snprintf(r->reason, sizeof r->reason, "same run id as %s", v[j].file);
        break;
      }
    if (r->reason[0]) continue;
    if (strcmp(r->net_sha, ref->net_sha))
      snprintf(r->reason, sizeof r->reason, "another road network (%.12s..., the period's is %.12s... of %s)",
               r->net_sha, ref->net_sha, ref->file);
    else if (r->s.calib_a != ref->s.calib_a || r->s.calib_beta != ref->s.calib_beta)
      snprintf(r->reason, sizeof r->reason, "another calibration (a = %g, beta = %g; the period's is "
               "a = %g, beta = %g of %s)", r->s.calib_a, r->s.calib_beta, ref->s.calib_a,
               ref->s.calib_beta, ref->file);
    else if (strcmp(r->key, ref->key))
      snprintf(r->reason, sizeof r->reason, "other method parameters than %s (compare their "
               "configuration attributes)", ref->file);
    else
      r->used = 1;
  }
  return ref;
}

int dl_rank_main(const dl_rank_opts *o, FILE *out, dl_err *e) {
  /* refuse before any work when a result is in the way, so a clash leaves no partial set */
  static const char *const results[] = {"ranking.h5", "ranking.md", "district.csv", "townships.csv",
                                        "townships_best30.csv", "townships_worst10.csv", "roads.csv",
                                        "roads_worst3.csv", "runs.csv"};
  for (size_t i = 0; !o->force && i < sizeof results / sizeof *results; i++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", o->rankdir, results[i]);
    if (access(p, F_OK) == 0) return dl_errf(e, DL_EEXIST, "%s: exists (use --force to replace it)", p);
  }
  rank_run *v = NULL;
  size_t n = 0;
  int rc = read_runs(o, &v, &n, e);
  if (rc) return rc;
  const rank_run *ref = choose(v, n);
  size_t nused = 0, total = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i].used) nused++, total += v[i].n_in;
  char t0s[40], t1s[40];
  dl_time_iso(o->t0, t0s, sizeof t0s), dl_time_iso(o->t1, t1s, sizeof t1s);
  if (!nused) {
    rc = dl_errf(e, DL_ENODATA, "%s: no run with samples in period %s (start day %d: %s to %s UTC); "
                 "%zu run file(s) read", o->outdir, o->label, o->start_day, t0s, t1s, n);
    runs_free(v, n);
    return rc;
  }
  dl_run r;
  dl_run_init(&r);
  char title[256], md_path[4400];
  snprintf(title, sizeof title, "period %s (%s to %s UTC, start day %d), %zu run(s) pooled", o->label,
           t0s, t1s, o->start_day, nused);
  char *md = runs_markdown(v, n);
  const char *net = o->network ? o->network : ref->s.network;
  char sha[DL_SHA256_HEX];
  runs_table rt = {v, n};
  if (!md || !(r.m.run_id = strdup(o->label)) || !(r.m.vehicle = strdup("")) ||
      !(r.m.path = strdup(o->outdir))) {
    rc = dl_errf(e, DL_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = params_from_config(&r.p, ref->s.configuration, ref->file, e))) goto out;
  r.p.calib_a = ref->s.calib_a, r.p.calib_beta = ref->s.calib_beta;
  size_t need = dl_params_dump(&r.p, NULL, 0) + 1;
  if (!(r.config_text = malloc(need))) {
    rc = dl_errf(e, DL_ENOMEM, "out of memory");
    goto out;
  }
  dl_params_dump(&r.p, r.config_text, need);
  snprintf(r.calib_source, sizeof r.calib_source, "shared by the %zu pooled runs", nused);
  /* the network must be the very file the runs were matched on */
  if ((rc = dl_sha256_file(net, sha, e))) goto out;
  if (strcmp(sha, ref->net_sha)) {
    rc = dl_errf(e, DL_ECONFIG, "%s: this network file is not the one the runs were matched on "
                 "(SHA-256 %.12s..., runs: %.12s...); give the right one with --network", net, sha,
                 ref->net_sha);
    goto out;
  }
  snprintf(r.network_path, sizeof r.network_path, "%s", net);
  if ((rc = dl_network_open(net, &r.net, &r.netf, e))) goto out;
  r.have_net = 1, r.can_load = 1, r.hz = 1;
  r.files[0].path = strdup(net);
  snprintf(r.files[0].what, sizeof r.files[0].what, "network");
  memcpy(r.files[0].sha256, sha, sizeof sha);
  r.nfiles = r.files[0].path ? 1 : 0;
  /* the pool: every in-period sample of every used run, in file order */
  r.n = total;
  size_t cap = total ? total : 1;
  r.t = malloc(cap * sizeof *r.t), r.speed = malloc(cap * sizeof *r.speed);
  r.t_ref = malloc(cap * sizeof *r.t_ref), r.dt = malloc(cap * sizeof *r.dt);
  r.flags = malloc(cap * sizeof *r.flags), r.segment = malloc(cap * sizeof *r.segment);
  if (!r.t || !r.speed || !r.t_ref || !r.dt || !r.flags || !r.segment) {
    rc = dl_errf(e, DL_ENOMEM, "out of memory pooling %zu samples", total);
    goto out;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const dl_run_samples *s = &v[i].s;
    if (!v[i].used) continue;
    double step = s->n > 1 ? (s->time[s->n - 1] - s->time[0]) / (double)(s->n - 1) : 1.0;
    for (size_t j = 0; j < s->n; j++) {
      if (!(s->time[j] >= o->t0 && s->time[j] < o->t1)) continue;
      int32_t seg = s->segment[j];
      r.t[k] = s->time[j], r.speed[k] = s->speed[j], r.t_ref[k] = s->t_ref[j], r.dt[k] = step;
      r.flags[k] = s->flags[j];
      /* a segment id beyond this network would be another network's */
      r.segment[k] = seg >= 0 && (uint32_t)seg < r.net.n_segs ? seg : -1;
      k++;
    }
  }
  if ((rc = dl_run_aggregate(&r, e))) goto out;
  r.title = title, r.md_extra = md, r.summary_only = 1;
  r.h5_extra = write_runs_h5, r.h5_extra_ctx = &rt;
  if (mkdir(o->rankdir, 0755) != 0 && errno != EEXIST) {
    rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot create: %s", o->rankdir, strerror(errno));
    goto out;
  }
  snprintf(md_path, sizeof md_path, "%s/ranking.h5", o->rankdir);
  if ((rc = dl_run_write_h5(&r, md_path, o->force, e))) goto out;
  if ((rc = dl_run_write_tables(&r, o->rankdir, o->force, e))) goto out;
  if ((rc = write_runs_csv(o->rankdir, v, n, o->force, e))) goto out;
  fprintf(out, "rank %s: %zu sample(s), %.2f km valid\n", title, total, r.km_valid);
  for (size_t i = 0; i < n; i++)
    if (!v[i].used && listed(&v[i])) fprintf(out, "  excluded %s: %s\n", v[i].file, v[i].reason);
  if (isfinite(r.agg.district_load)) {
    dl_grade_params gp = {r.p.grade_excellent, r.p.grade_good, r.p.grade_fair};
    fprintf(out, "  district: %.2f g/m2 (%s), %.2f km covered, %d segments\n", r.agg.district_load,
            dl_grade_name(dl_grade(r.agg.district_load, &gp)), r.agg.district_covered / 1000.0,
            r.agg.district_nseg);
  } else
    fprintf(out, "  district: no counted segment, no value\n");
  fprintf(out, "  wrote %s/ranking.h5, ranking.md, district.csv, townships*.csv, roads*.csv, runs.csv\n",
          o->rankdir);
out:
  free(md);
  free(r.dt);
  r.dt = NULL;
  dl_run_free(&r);
  runs_free(v, n);
  return rc;
}
