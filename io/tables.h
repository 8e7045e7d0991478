/* tables.h: ranking tables as CSV (written atomically through
 * dl_outfile of dl_simwrite.h) and Markdown sections. */
#ifndef DL_TABLES_H
#define DL_TABLES_H

#include <stdint.h>
#include <stdio.h>

#include "dl_base.h"

/* ---- ranking tables ---------------------------------------------------- */
typedef struct dl_table_row {
  const char *name;
  const char *township;   /* roads only; NULL otherwise */
  double covered_m;       /* valid covered length */
  int32_t nseg;           /* counted segments */
  double load;            /* g/m2, NAN: none */
  int32_t rank;           /* 0: none */
  const char *grade;      /* UTF-8, "" for none */
} dl_table_row;

typedef struct dl_table {
  const char *title;      /* Markdown heading */
  const char *what;       /* first column heading: "township", "road", "district" */
  int has_township;       /* a township column */
  size_t n;
  const dl_table_row *rows;
} dl_table;

/* CSV with header rank,<what>[,township],dust_load_gm2,grade,covered_km,segments;
 * loads with 2 decimals as ranked ("" for none), names quoted as needed. */
int dl_table_write_csv(const char *path, const dl_table *t, int force, dl_err *e);
/* Appends one table as a Markdown section to an open stream. */
void dl_table_md(FILE *out, const dl_table *t);

#endif
