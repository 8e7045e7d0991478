/* batch.c: one run as a batch task (input hash, skip or run, output hash),
 * the journal bookkeeping and the loop in one process; batch_mpi.c spreads
 * the same tasks over MPI ranks. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl_batch.h"
#include "dl_cli.h"
#include "dl_run.h"
#include "journal.h"
#include "manifest.h"

/* ---- inputs hash ------------------------------------------------------ */

/* The network is shared by most runs: hashed once per process while its
 * size and mtime stay the same. */
static struct {
  char path[4096];
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  char sha[DL_SHA256_HEX];
} net_cache;

static int net_sha(const char *path, char sha[DL_SHA256_HEX], dl_err *e) {
  struct stat st;
  if (stat(path, &st) != 0) return dl_errf(e, DL_ENOINPUT, "%s: %s", path, strerror(errno));
  if (!strcmp(net_cache.path, path) && net_cache.dev == st.st_dev && net_cache.ino == st.st_ino &&
      net_cache.size == st.st_size && net_cache.mtime.tv_sec == st.st_mtim.tv_sec &&
      net_cache.mtime.tv_nsec == st.st_mtim.tv_nsec) {
    memcpy(sha, net_cache.sha, DL_SHA256_HEX);
    return DL_OK;
  }
  int rc = dl_sha256_file(path, sha, e);
  if (rc) return rc;
  snprintf(net_cache.path, sizeof net_cache.path, "%s", path);
  net_cache.dev = st.st_dev, net_cache.ino = st.st_ino, net_cache.size = st.st_size;
  net_cache.mtime = st.st_mtim;
  memcpy(net_cache.sha, sha, DL_SHA256_HEX);
  return DL_OK;
}

static int add_line(char **buf, size_t *len, size_t *cap, const char *a, const char *b) {
  size_t need = strlen(a) + strlen(b) + 3;
  if (*len + need > *cap) {
    size_t nc = (*cap + need) * 2;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb, *cap = nc;
  }
  *len += (size_t)snprintf(*buf + *len, *cap - *len, "%s %s\n", a, b);
  return 0;
}

/* SHA-256 over "sha role" lines of every input, the version and the
 * --network override: what must be unchanged for a run to be skipped. */
static int input_hash(const dl_batch_opts *o, const char *manifest, char hex[DL_SHA256_HEX],
                      dl_err *e) {
  dl_manifest m;
  int rc = dl_manifest_read(manifest, &m, e);
  if (rc) return rc;
  char *buf = NULL, sha[DL_SHA256_HEX];
  size_t len = 0, cap = 0;
  int oom = add_line(&buf, &len, &cap, "dustload", DL_VERSION);
  oom |= add_line(&buf, &len, &cap, "network-option", o->network ? o->network : "-");
  if (!(rc = dl_sha256_file(m.path, sha, e))) oom |= add_line(&buf, &len, &cap, sha, "manifest");
  const char *net = o->network ? o->network : m.network;
  if (!rc && net) {
    const char *p;
    if (!(rc = dl_manifest_network(&m, o->network, &p, e)) && !(rc = net_sha(p, sha, e)))
      oom |= add_line(&buf, &len, &cap, sha, "network");
  }
  for (int g = 0; !rc && g < m.ngps; g++)
    if (strncmp(m.gps[g].path, "gpsd://", 7) && !(rc = dl_sha256_file(m.gps[g].path, sha, e)))
      oom |= add_line(&buf, &len, &cap, sha, "gps");
  for (int i = 0; !rc && i < m.ninst; i++)
    if (!(rc = dl_sha256_file(m.inst[i].path, sha, e)))
      oom |= add_line(&buf, &len, &cap, sha, m.inst[i].name);
  if (!rc && m.tags && !(rc = dl_sha256_file(m.tags, sha, e)))
    oom |= add_line(&buf, &len, &cap, sha, "tags");
  if (!rc && m.calib_file && !(rc = dl_sha256_file(m.calib_file, sha, e)))
    oom |= add_line(&buf, &len, &cap, sha, "calibration");
  if (!rc && oom) rc = dl_errf(e, DL_ENOMEM, "out of memory hashing inputs");
  if (!rc) rc = dl_sha256_mem(buf, len, hex, e);
  free(buf);
  dl_manifest_free(&m);
  return rc;
}

/* ---- one task --------------------------------------------------------- */

static int64_t file_bytes(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

/* A run id becomes a file name: no folders, no hidden files, no control
 * characters. */
static int id_is_filename(const char *id) {
  if (!id[0] || id[0] == '.' || strlen(id) > 120) return 0;
  for (const char *s = id; *s; s++)
    if (*s == '/' || (unsigned char)*s < 32 || *s == 127) return 0;
  return 1;
}

void dl_batch_do(const dl_batch_opts *o, const dl_batch_task *t, dl_batch_result *res) {
  double t0 = dl_cli_now();
  memset(res, 0, sizeof *res);
  res->index = t->index;
  res->status = DL_BATCH_FAILED;
  res->output_bytes = -1;
  dl_err e;
  dl_err_clear(&e);
  if (t->load_error[0]) {
    snprintf(res->message, sizeof res->message, "%s", t->load_error);
    goto out;
  }
  if (!id_is_filename(t->run_id)) {
    snprintf(res->message, sizeof res->message,
             "%.600s: run id '%s' cannot name a file (no '/', no leading '.', no control characters, "
             "at most 120 bytes)", t->manifest, t->run_id);
    goto out;
  }
  char out[4400];
  snprintf(res->output, sizeof res->output, "%s.h5", t->run_id);
  snprintf(out, sizeof out, "%s/%s", o->outdir, res->output);
  if (input_hash(o, t->manifest, res->input_sha, &e)) {
    snprintf(res->message, sizeof res->message, "%s", e.msg);
    goto out;
  }
  if (t->may_skip && !strcmp(res->input_sha, t->prev_sha) && !strcmp(res->output, t->prev_output) &&
      file_bytes(out) == t->prev_bytes) {
    char now[DL_SHA256_HEX];
    dl_err he;
    if (dl_sha256_file(out, now, &he) == DL_OK && !strcmp(now, t->prev_out_sha)) {
      res->status = DL_BATCH_SKIPPED;
      res->output_bytes = t->prev_bytes;
      goto out;
    }
    /* the output changed since it was journaled: redo the run */
  }
  dl_run r;
  dl_run_init(&r);
  dl_run_opts ro = {0};
  ro.manifest = t->manifest;
  ro.network = o->network;
  ro.threads = o->threads;
  ro.quiet = 1;
  /* the batch owns OUTDIR: a stale output (not journaled ok) is replaced */
  int rc = dl_run_execute(&r, &ro, &e);
  if (!rc) rc = dl_run_write_h5(&r, out, 1, &e);
  res->fixes = (int64_t)r.fixes.n;
  dl_run_free(&r);
  if (!rc) rc = dl_sha256_file(out, res->output_sha, &e);
  if (rc) {
    snprintf(res->message, sizeof res->message, "%s", e.msg[0] ? e.msg : dl_strerror(rc));
    goto out;
  }
  res->output_bytes = file_bytes(out);
  res->status = DL_BATCH_OK;
out:
  if (res->status == DL_BATCH_FAILED) res->output[0] = '\0';
  res->wall_s = dl_cli_now() - t0;
}

/* ---- state on rank 0 ---------------------------------------------------- */

struct dl_batch_state {
  const dl_batch_opts *o;
  dl_batch_list l;
  size_t *order, next;
  dl_journal_recs prev;
  const dl_journal_rec **prev_ok; /* ok records sorted by run id, file order kept */
  size_t nprev_ok;
  dl_journal *j;
  char journal[4400];
  int32_t *status;                /* per run: -1 not done, else DL_BATCH_* */
  char **message;
  size_t done, ok, failed, skipped;
  uint64_t bytes_total, bytes_done;
  int64_t fixes;
  double t0;
};

static int cmp_prev(const void *a, const void *b) {
  const dl_journal_rec *x = *(const dl_journal_rec *const *)a, *y = *(const dl_journal_rec *const *)b;
  int c = strcmp(x->run_id, y->run_id);
  return c ? c : (x < y ? -1 : x > y);
}

/* The last ok record of a run id, NULL when none. */
static const dl_journal_rec *last_ok(const dl_batch_state *s, const char *id) {
  size_t lo = 0, hi = s->nprev_ok;
  while (lo < hi) { /* first index with run_id > id */
    size_t mid = (lo + hi) / 2;
    if (strcmp(s->prev_ok[mid]->run_id, id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo && !strcmp(s->prev_ok[lo - 1]->run_id, id) ? s->prev_ok[lo - 1] : NULL;
}

int dl_batch_next(dl_batch_state *s, dl_batch_task *t) {
  memset(t, 0, sizeof *t);
  t->index = -1;
  if (s->next >= s->l.n) return 0;
  size_t i = s->order[s->next++];
  const dl_batch_run *r = &s->l.v[i];
  t->index = (int32_t)i;
  snprintf(t->manifest, sizeof t->manifest, "%s", r->manifest);
  snprintf(t->run_id, sizeof t->run_id, "%s", r->run_id ? r->run_id : "");
  snprintf(t->load_error, sizeof t->load_error, "%s", r->load_error ? r->load_error : "");
  const dl_journal_rec *p = s->o->resume && r->run_id ? last_ok(s, r->run_id) : NULL;
  if (p) {
    t->may_skip = 1;
    snprintf(t->prev_sha, sizeof t->prev_sha, "%s", p->input_sha);
    snprintf(t->prev_output, sizeof t->prev_output, "%s", p->output);
    t->prev_bytes = p->output_bytes;
    snprintf(t->prev_out_sha, sizeof t->prev_out_sha, "%s", p->output_sha);
  }
  return 1;
}

static void fmt_eta(double s, char *buf, size_t len) {
  if (!isfinite(s) || s < 0) snprintf(buf, len, "?");
  else if (s < 120) snprintf(buf, len, "%.0f s", s);
  else if (s < 7200) snprintf(buf, len, "%.0f min", s / 60);
  else snprintf(buf, len, "%.1f h", s / 3600);
}

int dl_batch_record(dl_batch_state *s, const dl_batch_result *r, dl_err *e) {
  if (r->index < 0 || (size_t)r->index >= s->l.n) return DL_OK;
  const dl_batch_run *run = &s->l.v[r->index];
  s->status[r->index] = r->status;
  s->done++;
  if (r->status == DL_BATCH_SKIPPED) {
    s->skipped++;
    s->bytes_total -= run->input_bytes; /* ETA counts work still to do */
  } else {
    s->bytes_done += run->input_bytes;
    s->fixes += r->fixes;
    if (r->status == DL_BATCH_OK) s->ok++;
    else s->failed++, s->message[r->index] = strdup(r->message);
    dl_journal_rec j;
    memset(&j, 0, sizeof j);
    snprintf(j.run_id, sizeof j.run_id, "%s", run->run_id ? run->run_id : "");
    j.ok = r->status == DL_BATCH_OK;
    memcpy(j.input_sha, r->input_sha, sizeof j.input_sha);
    snprintf(j.output, sizeof j.output, "%s", r->output);
    j.output_bytes = j.ok ? r->output_bytes : -1;
    memcpy(j.output_sha, r->output_sha, sizeof j.output_sha);
    j.wall_s = r->wall_s;
    j.fixes = r->fixes;
    j.finished = (double)time(NULL);
    j.manifest = run->manifest;
    j.message = (char *)r->message;
    int rc = dl_journal_append(s->j, &j, e);
    if (rc) return rc;
  }
  double el = dl_cli_now() - s->t0;
  char eta[32];
  double left = (double)(s->bytes_total - s->bytes_done);
  fmt_eta(s->bytes_done ? el * left / (double)s->bytes_done : NAN, eta, sizeof eta);
  const char *what = r->status == DL_BATCH_OK ? "ok" : r->status == DL_BATCH_SKIPPED ? "skipped (unchanged)" : "FAILED";
  dl_cli_progress("batch", s->o->quiet, "[%zu/%zu] %s %s (%.1f s)%s%s; %.0f fixes/s, ETA %s",
                  s->done, s->l.n, run->run_id ? run->run_id : run->manifest, what, r->wall_s,
                  r->status == DL_BATCH_FAILED ? ": " : "",
                  r->status == DL_BATCH_FAILED ? r->message : "",
                  el > 0 ? (double)s->fixes / el : 0.0, s->done == s->l.n ? "0 s" : eta);
  return DL_OK;
}

/* ---- setup, loop, summary ---------------------------------------------- */

static int is_journal_name(const char *n) {
  size_t k = strlen(n);
  return !strncmp(n, "journal", 7) && k > 4 && !strcmp(n + k - 4, ".tsv");
}

/* Reads every journal*.tsv of OUTDIR (one per shard) and removes the
 * temporary files a killed batch left for this batch's runs: ".ID.h5.tmp.*"
 * of the HDF5 writer. Runs of other shards are left alone. */
static int scan_outdir(dl_batch_state *s, dl_err *e) {
  DIR *d = opendir(s->o->outdir);
  if (!d) return dl_errf(e, DL_ECANTCREAT, "%s: cannot open: %s", s->o->outdir, strerror(errno));
  char **ids = malloc((s->l.n ? s->l.n : 1) * sizeof *ids);
  size_t nid = 0;
  if (!ids) {
    closedir(d);
    return dl_errf(e, DL_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < s->l.n; i++)
    if (s->l.v[i].run_id) ids[nid++] = s->l.v[i].run_id;
  int rc = DL_OK;
  struct dirent *de;
  char path[4400];
  while (!rc && (de = readdir(d))) {
    const char *n = de->d_name;
    snprintf(path, sizeof path, "%s/%s", s->o->outdir, n);
    if (is_journal_name(n)) {
      rc = dl_journal_read(path, &s->prev, e);
      continue;
    }
    const char *tmp = n[0] == '.' ? strstr(n, ".h5.tmp.") : NULL;
    if (!tmp) continue;
    for (size_t i = 0; i < nid; i++)
      if ((size_t)(tmp - n - 1) == strlen(ids[i]) && !strncmp(n + 1, ids[i], strlen(ids[i]))) {
        if (unlink(path) == 0)
          dl_cli_progress("batch", s->o->quiet, "removed %s, left by an interrupted batch", path);
        break;
      }
  }
  closedir(d);
  free(ids);
  return rc;
}

static int make_dir(const char *p, dl_err *e) {
  if (mkdir(p, 0755) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) return DL_OK;
    return dl_errf(e, DL_ECANTCREAT, "%s: exists and is not a folder", p);
  }
  return dl_errf(e, DL_ECANTCREAT, "%s: cannot create the output folder: %s", p, strerror(errno));
}

static void state_free(dl_batch_state *s) {
  dl_journal_close(s->j);
  for (size_t i = 0; s->message && i < s->l.n; i++) free(s->message[i]);
  free(s->message), free(s->status), free(s->order), free(s->prev_ok);
  dl_journal_recs_free(&s->prev);
  dl_batch_list_free(&s->l);
}

static int setup(dl_batch_state *s, const char *const *args, int nargs, dl_err *e) {
  const dl_batch_opts *o = s->o;
  int rc = dl_batch_find(args, nargs, &s->l, e);
  if (rc) return rc;
  size_t all = s->l.n;
  if (o->shard_n > 0) dl_batch_shard(&s->l, o->shard_i, o->shard_n);
  if (!all)
    return dl_errf(e, DL_ENOINPUT, "%s%s: no manifest found (a manifest is an .ini file with a [run] section)",
                   nargs > 0 ? args[0] : "", nargs > 1 ? " ..." : "");
  if ((rc = make_dir(o->outdir, e))) return rc;
  if ((rc = dl_batch_order(&s->l, &s->order, e))) return rc;
  s->status = malloc((s->l.n ? s->l.n : 1) * sizeof *s->status);
  s->message = calloc(s->l.n ? s->l.n : 1, sizeof *s->message);
  if (!s->status || !s->message) return dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->l.n; i++) s->status[i] = -1, s->bytes_total += s->l.v[i].input_bytes;
  if ((rc = scan_outdir(s, e))) return rc;
  /* refuse before any work when earlier outputs are in the way */
  if (!o->resume && !o->force) {
    size_t clash = 0;
    char first[4400] = "";
    for (size_t i = 0; i < s->l.n; i++) {
      if (!s->l.v[i].run_id) continue;
      char p[4400];
      snprintf(p, sizeof p, "%s/%s.h5", o->outdir, s->l.v[i].run_id);
      if (access(p, F_OK) == 0 && !clash++) snprintf(first, sizeof first, "%s", p);
    }
    if (clash) {
      char more[64] = "";
      if (clash > 1) snprintf(more, sizeof more, " (and %zu more outputs)", clash - 1);
      return dl_errf(e, DL_EEXIST, "%s exists%s: use --resume to skip finished runs, or --force to "
                     "redo them", first, more);
    }
  }
  s->prev_ok = malloc((s->prev.n ? s->prev.n : 1) * sizeof *s->prev_ok);
  if (!s->prev_ok) return dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->prev.n; i++)
    if (s->prev.v[i].ok && s->prev.v[i].run_id[0]) s->prev_ok[s->nprev_ok++] = &s->prev.v[i];
  qsort(s->prev_ok, s->nprev_ok, sizeof *s->prev_ok, cmp_prev);
  if (o->shard_n > 0)
    snprintf(s->journal, sizeof s->journal, "%s/journal.shard-%d-of-%d.tsv", o->outdir, o->shard_i,
             o->shard_n);
  else
    snprintf(s->journal, sizeof s->journal, "%s/journal.tsv", o->outdir);
  return dl_journal_open(s->journal, &s->j, e);
}

static void summary(const dl_batch_state *s, FILE *out) {
  double el = dl_cli_now() - s->t0;
  fprintf(out, "batch: %zu runs%s: %zu succeeded, %zu failed, %zu skipped (unchanged); %lld fixes in "
          "%.1f s (%.0f fixes/s)\n",
          s->l.n, s->o->shard_n ? " in this shard" : "", s->ok, s->failed, s->skipped,
          (long long)s->fixes, el, el > 0 ? (double)s->fixes / el : 0.0);
  if (s->failed) {
    fprintf(out, "failed runs (retried by --resume):\n");
    for (size_t i = 0; i < s->l.n; i++)
      if (s->status[i] == DL_BATCH_FAILED)
        fprintf(out, "  %s (%s): %s\n", s->l.v[i].run_id ? s->l.v[i].run_id : "-",
                s->l.v[i].manifest, s->message[i] ? s->message[i] : "");
  }
  fprintf(out, "journal: %s\n", s->journal);
}

int dl_batch_main(const char *const *args, int nargs, const dl_batch_opts *o) {
  dl_err e;
  dl_err_clear(&e);
  int rank = 0, size = 1, rc;
#if DL_HAVE_MPI
  int mpi = dl_batch_mpi_launched();
  if (mpi && (rc = dl_batch_mpi_init(&rank, &size, &e))) return dl_cli_fail("batch", &e);
  if (mpi && rank > 0) {
    rc = dl_batch_mpi_work(o, &e);
    dl_batch_mpi_finalize();
    return rc ? dl_cli_fail("batch", &e) : 0;
  }
#endif
  dl_batch_state s;
  memset(&s, 0, sizeof s);
  s.o = o;
  s.t0 = dl_cli_now();
  rc = setup(&s, args, nargs, &e);
  if (!rc) {
    dl_cli_progress("batch", o->quiet, "%zu runs to %s%s, %d process%s; journal %s", s.l.n, o->outdir,
                    o->resume ? " (resuming)" : "", size > 1 ? size - 1 : 1,
                    size > 2 ? "es (MPI workers)" : size > 1 ? " (MPI worker)" : "", s.journal);
    if (size > 1) {
#if DL_HAVE_MPI
      rc = dl_batch_mpi_dispatch(&s, size, &e);
#endif
    } else {
      dl_batch_task t;
      dl_batch_result r;
      while (!rc && dl_batch_next(&s, &t)) {
        dl_batch_do(o, &t, &r);
        rc = dl_batch_record(&s, &r, &e);
      }
    }
  }
#if DL_HAVE_MPI
  else if (size > 1)
    dl_batch_mpi_stop_all(size);
#endif
  if (!rc) summary(&s, stdout);
  int failed = s.failed;
  state_free(&s);
#if DL_HAVE_MPI
  if (mpi) dl_batch_mpi_finalize();
#endif
  if (rc) return dl_cli_fail("batch", &e);
  return failed ? 1 : 0;
}
