/* rank.c: rounding, competition ranking and grades (METHOD §7). */
#include <math.h>
#include <stdlib.h>

#include "dl_proc.h"

long dl_round_cents(double v) {
  if (!isfinite(v)) return 0;
  double c = v * 100.0;
  if (c > 9e15) c = 9e15;
  if (c < -9e15) c = -9e15;
  return (long)llround(c);
}

typedef struct rkey {
  int nan;
  long cents;
  size_t idx;
} rkey;

static int rkey_cmp(const void *a, const void *b) {
  const rkey *x = a, *y = b;
  if (x->nan != y->nan) return x->nan - y->nan;
  if (x->cents != y->cents) return x->cents < y->cents ? -1 : 1;
  return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

int dl_rank(const double *v, size_t n, int32_t *rank, int32_t *order, dl_err *e) {
  if (n > INT32_MAX) return dl_errf(e, DL_EUSAGE, "rank: %zu values is too many", n);
  rkey *k = malloc((n ? n : 1) * sizeof *k);
  if (!k) return dl_errf(e, DL_ENOMEM, "rank: out of memory for %zu values", n);
  for (size_t i = 0; i < n; i++) {
    k[i].nan = !isfinite(v[i]);
    k[i].cents = dl_round_cents(v[i]);
    k[i].idx = i;
  }
  qsort(k, n, sizeof *k, rkey_cmp);
  for (size_t j = 0; j < n; j++) {
    size_t i = k[j].idx;
    if (order) order[j] = (int32_t)i;
    if (k[j].nan)
      rank[i] = 0;
    else if (j > 0 && !k[j - 1].nan && k[j - 1].cents == k[j].cents)
      rank[i] = rank[k[j - 1].idx]; /* tie: same rank; the next distinct one skips */
    else
      rank[i] = (int32_t)(j + 1);
  }
  free(k);
  return DL_OK;
}

int dl_grade(double load, const dl_grade_params *g) {
  if (!isfinite(load)) return DL_GRADE_NONE;
  /* cents/100.0 is the double nearest the shown value, as the literals are. */
  double r = (double)dl_round_cents(load) / 100.0;
  if (r < g->excellent) return DL_GRADE_EXCELLENT;
  if (r < g->good) return DL_GRADE_GOOD;
  if (r < g->fair) return DL_GRADE_FAIR;
  return DL_GRADE_POOR;
}

const char *dl_grade_name(int grade) {
  static const char *const nm[] = {"优", "良", "中", "差"};
  return grade >= 0 && grade < 4 ? nm[grade] : "";
}

const char *dl_grade_name_en(int grade) {
  static const char *const nm[] = {"excellent", "good", "fair", "poor"};
  return grade >= 0 && grade < 4 ? nm[grade] : "";
}
