/* tables.c: the ranking tables (CSV, Markdown). */
#include "tables.h"

#include "dl_outfile.h"

#include <math.h>
#include <string.h>

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
  dl_outfile a;
  int rc = dl_outfile_open(&a, path, force, e);
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
  return dl_outfile_commit(&a, e);
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
