/* tables.c: atomic text files and the ranking tables (CSV, Markdown). */
#include "tables.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dl_afile_open(dl_afile *a, const char *path, int force, dl_err *e) {
  memset(a, 0, sizeof *a);
  a->force = force;
  if (!force && access(path, F_OK) == 0)
    return dl_errf(e, DL_EEXIST, "%s exists (use --force to overwrite)", path);
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
  const char *base = slash ? slash + 1 : path;
  size_t tl = strlen(path) + 48;
  a->path = strdup(path);
  a->tmp = malloc(tl);
  if (!a->path || !a->tmp) {
    free(a->path), free(a->tmp);
    memset(a, 0, sizeof *a);
    return dl_errf(e, DL_ENOMEM, "out of memory");
  }
  snprintf(a->tmp, tl, "%.*s.%s.tmp.%ld", (int)dirlen, path, base, (long)getpid());
  int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
    int err = errno;
    if (fd >= 0) close(fd), unlink(a->tmp);
    dl_errf(e, DL_ECANTCREAT, "%s: cannot create temporary file %s: %s", path, a->tmp,
            strerror(err));
    free(a->path), free(a->tmp);
    memset(a, 0, sizeof *a);
    return DL_ECANTCREAT;
  }
  return DL_OK;
}

void dl_afile_abort(dl_afile *a) {
  if (!a) return;
  if (a->f) fclose(a->f), unlink(a->tmp);
  free(a->path), free(a->tmp);
  memset(a, 0, sizeof *a);
}

int dl_afile_commit(dl_afile *a, dl_err *e) {
  int rc = DL_OK;
  if (!a->f) return dl_errf(e, DL_EINTERNAL, "commit of an unopened file");
  int bad = ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
  int err = errno;
  if (fclose(a->f) != 0 && !bad) bad = 1, err = errno;
  a->f = NULL;
  if (bad) {
    rc = dl_errf(e, DL_EIO, "%s: writing %s failed: %s", a->path, a->tmp, strerror(err));
  } else if (a->force) {
    if (rename(a->tmp, a->path) != 0)
      rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot rename %s into place: %s", a->path, a->tmp,
                   strerror(errno));
  } else if (link(a->tmp, a->path) != 0) {
    /* link() refuses an existing target atomically; without hard links, check then rename */
    if (errno == EEXIST)
      rc = dl_errf(e, DL_EEXIST, "%s exists (use --force to overwrite)", a->path);
    else if (access(a->path, F_OK) == 0)
      rc = dl_errf(e, DL_EEXIST, "%s exists (use --force to overwrite)", a->path);
    else if (rename(a->tmp, a->path) != 0)
      rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot rename %s into place: %s", a->path, a->tmp,
                   strerror(errno));
  }
  unlink(a->tmp); /* after link(), or after a failure; harmless after rename() */
  if (!rc) {
    char *slash = strrchr(a->path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a->path) + 1 : 1, slash ? a->path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) fsync(fd), close(fd); /* best effort */
  }
  free(a->path), free(a->tmp);
  a->path = a->tmp = NULL;
  return rc;
}

static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

int dl_table_write_csv(const char *path, const dl_table *t, int force, dl_err *e) {
  dl_afile a;
  int rc = dl_afile_open(&a, path, force, e);
  if (rc) return rc;
  fprintf(a.f, "rank,%s%s,dust_load_gm2,grade,covered_km,segments\n", t->what,
          t->has_township ? ",township" : "");
  for (size_t i = 0; i < t->n; i++) {
    const dl_table_row *r = &t->rows[i];
    if (r->rank > 0) fprintf(a.f, "%d", r->rank);
    fputc(',', a.f);
    csv_field(a.f, r->name);
    if (t->has_township) fputc(',', a.f), csv_field(a.f, r->township ? r->township : "");
    fputc(',', a.f);
    if (isfinite(r->load)) fprintf(a.f, "%.2f", r->load);
    fprintf(a.f, ",%s,%.3f,%d\n", r->grade, r->covered_m / 1000.0, r->nseg);
  }
  return dl_afile_commit(&a, e);
}

static void md_cell(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputc('\\', f);
    fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
  }
}

void dl_table_md(FILE *out, const dl_table *t) {
  fprintf(out, "## %s\n\n| rank | %s |%s dust load (g/m²) | grade | covered km | segments |\n",
          t->title, t->what, t->has_township ? " township |" : "");
  fprintf(out, "|---:|---|%s---:|:-:|---:|---:|\n", t->has_township ? "---|" : "");
  for (size_t i = 0; i < t->n; i++) {
    const dl_table_row *r = &t->rows[i];
    fputs("| ", out);
    if (r->rank > 0) fprintf(out, "%d", r->rank);
    fputs(" | ", out);
    md_cell(out, r->name);
    fputs(" | ", out);
    if (t->has_township) md_cell(out, r->township ? r->township : ""), fputs(" | ", out);
    if (isfinite(r->load)) fprintf(out, "%.2f", r->load);
    fprintf(out, " | %s | %.2f | %d |\n", r->grade, r->covered_m / 1000.0, r->nseg);
  }
  if (!t->n) fputs("| | (none) | | | | |\n", out);
  fputc('\n', out);
}
