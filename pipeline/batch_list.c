/* batch_list.c: the runs of a batch: manifests found on the command line
 * and in folders, their run ids and input sizes, shards and dispatch order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dl_batch.h"
#include "manifest.h"

static int push(dl_batch_list *l, const char *path, dl_err *e) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 64;
    dl_batch_run *v = realloc(l->v, nc * sizeof *v);
    if (!v) return dl_errf(e, DL_ENOMEM, "out of memory listing runs");
    l->v = v, l->cap = nc;
  }
  dl_batch_run *r = &l->v[l->n];
  memset(r, 0, sizeof *r);
  if (!(r->manifest = strdup(path))) return dl_errf(e, DL_ENOMEM, "out of memory listing runs");
  l->n++;
  return DL_OK;
}

/* An INI file with a [run] section (a calibration file has none). */
static int is_manifest(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 1; /* unreadable: let the manifest reader say why */
  char line[512];
  int yes = 0;
  for (int k = 0; k < 4096 && !yes && fgets(line, sizeof line, f); k++) {
    char *s = line;
    if (k == 0 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    while (*s == ' ' || *s == '\t') s++;
    if (!strncmp(s, "[run]", 5)) yes = 1;
  }
  fclose(f);
  return yes;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursively collects *.ini manifests under dir (names sorted per folder;
 * the whole list is sorted again afterwards). */
static int walk(dl_batch_list *l, const char *dir, int depth, dl_err *e) {
  if (depth > 32) return dl_errf(e, DL_EFORMAT, "%s: folders nested too deep (a link loop?)", dir);
  DIR *d = opendir(dir);
  if (!d) return dl_errf(e, DL_ENOINPUT, "%s: cannot open the folder: %s", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = DL_OK;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue; /* hidden, temporary, . and .. */
    if (n == cap) {
      cap = cap ? 2 * cap : 32;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) { rc = dl_errf(e, DL_ENOMEM, "out of memory"); break; }
      names = nn;
    }
    if (!(names[n] = strdup(de->d_name))) { rc = dl_errf(e, DL_ENOMEM, "out of memory"); break; }
    n++;
  }
  closedir(d);
  if (!rc && n) qsort(names, n, sizeof *names, cmp_str); /* names is NULL when n is 0 */
  for (size_t i = 0; !rc && i < n; i++) {
    size_t need = strlen(dir) + strlen(names[i]) + 2;
    char *p = malloc(need);
    if (!p) { rc = dl_errf(e, DL_ENOMEM, "out of memory"); break; }
    snprintf(p, need, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(p, &st) == 0) {
      size_t len = strlen(names[i]);
      if (S_ISDIR(st.st_mode)) rc = walk(l, p, depth + 1, e);
      else if (S_ISREG(st.st_mode) && len > 4 && !strcmp(names[i] + len - 4, ".ini") && is_manifest(p))
        rc = push(l, p, e);
    }
    free(p);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

static int cmp_run(const void *a, const void *b) {
  return strcmp(((const dl_batch_run *)a)->manifest, ((const dl_batch_run *)b)->manifest);
}

static uint64_t fsize(const char *p) {
  struct stat st;
  return p && stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Run id and input size of one manifest; a failure is kept on the run. */
static int describe(dl_batch_run *r) {
  dl_manifest m;
  dl_err e;
  dl_err_clear(&e);
  memset(&m, 0, sizeof m);
  if (dl_manifest_read(r->manifest, &m, &e)) {
    r->load_error = strdup(e.msg[0] ? e.msg : dl_strerror(e.code));
    return r->load_error ? DL_OK : DL_ENOMEM;
  }
  r->run_id = strdup(m.run_id);
  r->input_bytes = fsize(m.path);
  for (int g = 0; g < m.ngps; g++) r->input_bytes += fsize(m.gps[g].path);
  for (int i = 0; i < m.ninst; i++) r->input_bytes += fsize(m.inst[i].path);
  dl_manifest_free(&m);
  return r->run_id ? DL_OK : DL_ENOMEM;
}

static int cmp_id(const void *a, const void *b) {
  const dl_batch_run *x = *(dl_batch_run *const *)a, *y = *(dl_batch_run *const *)b;
  int c = strcmp(x->run_id, y->run_id);
  return c ? c : strcmp(x->manifest, y->manifest);
}

int dl_batch_find(const char *const *args, int nargs, dl_batch_list *l, dl_err *e) {
  memset(l, 0, sizeof *l);
  int rc = DL_OK;
  for (int i = 0; !rc && i < nargs; i++) {
    struct stat st;
    if (stat(args[i], &st) != 0)
      rc = dl_errf(e, DL_ENOINPUT, "%s: no such manifest or folder: %s", args[i], strerror(errno));
    else if (S_ISDIR(st.st_mode)) {
      /* strip trailing slashes so paths read "dir/x/manifest.ini" */
      char *d = strdup(args[i]);
      if (!d) rc = dl_errf(e, DL_ENOMEM, "out of memory");
      for (size_t k = d ? strlen(d) : 0; k > 1 && d[k - 1] == '/'; k--) d[k - 1] = '\0';
      if (!rc) rc = walk(l, d, 0, e);
      free(d);
    } else
      rc = push(l, args[i], e);
  }
  if (rc) {
    dl_batch_list_free(l);
    return rc;
  }
  if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_run); /* l->v is NULL when nothing was found */
  size_t k = 0; /* the same path named twice counts once */
  for (size_t i = 0; i < l->n; i++) {
    if (k && !strcmp(l->v[k - 1].manifest, l->v[i].manifest)) {
      free(l->v[i].manifest);
      continue;
    }
    l->v[k++] = l->v[i];
  }
  l->n = k;
  for (size_t i = 0; !rc && i < l->n; i++)
    if (describe(&l->v[i])) rc = dl_errf(e, DL_ENOMEM, "out of memory reading manifests");
  /* run ids name the outputs: two manifests with one id would collide */
  dl_batch_run **by = malloc((l->n ? l->n : 1) * sizeof *by);
  size_t nb = 0;
  if (!rc && !by) rc = dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; !rc && i < l->n; i++)
    if (l->v[i].run_id) by[nb++] = &l->v[i];
  if (!rc) qsort(by, nb, sizeof *by, cmp_id);
  for (size_t i = 1; !rc && i < nb; i++)
    if (!strcmp(by[i]->run_id, by[i - 1]->run_id))
      rc = dl_errf(e, DL_EFORMAT, "run id '%s' is used by two manifests: %s and %s (run ids name "
                   "the output files and must be unique)",
                   by[i]->run_id, by[i - 1]->manifest, by[i]->manifest);
  free(by);
  if (rc) dl_batch_list_free(l);
  return rc;
}

void dl_batch_list_free(dl_batch_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) free(l->v[i].manifest), free(l->v[i].run_id), free(l->v[i].load_error);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void dl_batch_shard(dl_batch_list *l, int i, int n) {
  size_t k = 0;
  for (size_t j = 0; j < l->n; j++) {
    dl_batch_run *r = &l->v[j];
    if (fnv1a(r->run_id ? r->run_id : r->manifest) % (uint64_t)n == (uint64_t)i) {
      l->v[k++] = *r;
    } else {
      free(r->manifest), free(r->run_id), free(r->load_error);
    }
  }
  l->n = k;
}

static const dl_batch_list *order_list; /* qsort has no context argument */

static int cmp_order(const void *a, const void *b) {
  const dl_batch_run *x = &order_list->v[*(const size_t *)a], *y = &order_list->v[*(const size_t *)b];
  if (x->input_bytes != y->input_bytes) return x->input_bytes < y->input_bytes ? 1 : -1;
  return strcmp(x->manifest, y->manifest);
}

int dl_batch_order(const dl_batch_list *l, size_t **order, dl_err *e) {
  size_t *o = malloc((l->n ? l->n : 1) * sizeof *o);
  if (!o) return dl_errf(e, DL_ENOMEM, "out of memory");
  for (size_t i = 0; i < l->n; i++) o[i] = i;
  order_list = l;
  qsort(o, l->n, sizeof *o, cmp_order);
  order_list = NULL;
  *order = o;
  return DL_OK;
}
