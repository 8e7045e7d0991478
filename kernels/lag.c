/* lag.c: clock / inlet lag by FFT cross-correlation with a validity mask. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_proc.h"

/* One slot: what a thread needs to correlate one pair of series. */
typedef struct xslot {
  double *r;                        /* m reals: staging, then inverse output */
  fftw_complex *fa, *fb, *fa2, *fb2, *fma, *fmb, *prod; /* nc each */
  double *sxy, *sxx, *syy, *cnt;    /* 2*max_lag+1 correlations */
} xslot;

struct dl_xcorr {
  size_t n, m, nc, max_lag;
  int nslots;
  fftw_plan fwd, inv;
  xslot *slot;
};

size_t dl_window_samples(double seconds, double hz) {
  double k = floor(seconds * hz + 0.5);
  if (!(k >= 1)) k = 1;
  if (k > 1e9) k = 1e9;
  size_t w = (size_t)k;
  return (w % 2) ? w : w + 1;
}

/* Smallest 2^a 3^b 5^c 7^d >= n: sizes FFTW transforms fast. */
static size_t fast_size(size_t n) {
  for (size_t m = n < 1 ? 1 : n;; m++) {
    size_t k = m;
    while (k % 2 == 0) k /= 2;
    while (k % 3 == 0) k /= 3;
    while (k % 5 == 0) k /= 5;
    while (k % 7 == 0) k /= 7;
    if (k == 1) return m;
  }
}

void dl_xcorr_free(dl_xcorr *w) {
  if (!w) return;
  if (w->slot)
    for (int s = 0; s < w->nslots; s++) {
      xslot *x = &w->slot[s];
      fftw_free(x->r);
      fftw_free(x->fa);
      fftw_free(x->fb);
      fftw_free(x->fa2);
      fftw_free(x->fb2);
      fftw_free(x->fma);
      fftw_free(x->fmb);
      fftw_free(x->prod);
      free(x->sxy);
      free(x->sxx);
      free(x->syy);
      free(x->cnt);
    }
  free(w->slot);
  if (w->fwd) fftw_destroy_plan(w->fwd);
  if (w->inv) fftw_destroy_plan(w->inv);
  free(w);
}

dl_xcorr *dl_xcorr_create(size_t n, size_t max_lag, int nslots, dl_err *e) {
  if (n < 2 || nslots < 1 || max_lag >= n || n > ((size_t)1 << 31)) {
    dl_errf(e, DL_EUSAGE, "xcorr: need n >= 2 (got %zu), max_lag < n (got %zu), "
            "slots >= 1 (got %d)", n, max_lag, nslots);
    return NULL;
  }
  dl_xcorr *w = calloc(1, sizeof *w);
  if (!w) goto nomem;
  w->n = n;
  w->max_lag = max_lag;
  /* Zero padding to n + max_lag keeps lags within ±max_lag free of wrap. */
  w->m = fast_size(n + max_lag + 1);
  w->nc = w->m / 2 + 1;
  w->nslots = nslots;
  w->slot = calloc((size_t)nslots, sizeof *w->slot);
  if (!w->slot) goto nomem;
  size_t nl = 2 * max_lag + 1;
  for (int s = 0; s < nslots; s++) {
    xslot *x = &w->slot[s];
    x->r = fftw_malloc(w->m * sizeof *x->r);
    fftw_complex **c[] = {&x->fa, &x->fb, &x->fa2, &x->fb2, &x->fma, &x->fmb, &x->prod};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
      *c[i] = fftw_malloc(w->nc * sizeof(fftw_complex));
      if (!*c[i]) goto nomem;
    }
    x->sxy = malloc(nl * sizeof(double));
    x->sxx = malloc(nl * sizeof(double));
    x->syy = malloc(nl * sizeof(double));
    x->cnt = malloc(nl * sizeof(double));
    if (!x->r || !x->sxy || !x->sxx || !x->syy || !x->cnt) goto nomem;
  }
  /* ESTIMATE: no timing runs, so the plan (and the result bits) do not
   * depend on machine load. */
  w->fwd = fftw_plan_dft_r2c_1d((int)w->m, w->slot[0].r, w->slot[0].fa, FFTW_ESTIMATE);
  w->inv = fftw_plan_dft_c2r_1d((int)w->m, w->slot[0].prod, w->slot[0].r, FFTW_ESTIMATE);
  if (!w->fwd || !w->inv) {
    dl_errf(e, DL_ELIB, "xcorr: FFTW could not plan a transform of %zu points", w->m);
    dl_xcorr_free(w);
    return NULL;
  }
  return w;
nomem:
  dl_errf(e, DL_ENOMEM, "xcorr: out of memory for series of %zu samples", n);
  dl_xcorr_free(w);
  return NULL;
}

/* Forward transform of src[0..n) zero-padded to m. */
static void forward(const dl_xcorr *w, xslot *x, fftw_complex *dst) {
  fftw_execute_dft_r2c(w->fwd, x->r, dst);
}

/* out[j] = Σ_t p(t+k) q(t) for k = j - L, j < 2L+1 (circular, no wrap). */
static void correlate(const dl_xcorr *w, xslot *x, const fftw_complex *p,
                      const fftw_complex *q, size_t lag, double *out) {
  for (size_t i = 0; i < w->nc; i++) {
    double pr = p[i][0], pi = p[i][1], qr = q[i][0], qi = q[i][1];
    x->prod[i][0] = pr * qr + pi * qi; /* p * conj(q) */
    x->prod[i][1] = pi * qr - pr * qi;
  }
  fftw_execute_dft_c2r(w->inv, x->prod, x->r);
  double s = 1.0 / (double)w->m;
  for (size_t j = 0; j <= 2 * lag; j++) {
    long k = (long)j - (long)lag;
    size_t idx = k >= 0 ? (size_t)k : w->m - (size_t)(-k);
    out[j] = x->r[idx] * s;
  }
}

void dl_speed_cube(const double *v, size_t n, double *y) {
  for (size_t i = 0; i < n; i++) y[i] = v[i] * v[i] * v[i];
}

int dl_xcorr_lag(dl_xcorr *w, int slot, const double *x, const double *y,
                 size_t n, double hz, double max_lag_s, double min_corr,
                 dl_lag *out, dl_err *e) {
  memset(out, 0, sizeof *out);
  out->weak = 1;
  out->peak = NAN;
  if (!w || slot < 0 || slot >= w->nslots)
    return dl_errf(e, DL_EUSAGE, "xcorr: slot %d outside [0, %d)", slot, w ? w->nslots : 0);
  if (n > w->n || !(hz > 0))
    return dl_errf(e, DL_EUSAGE, "xcorr: series of %zu samples exceeds the planned %zu "
                   "(or rate %g Hz not positive)", n, w->n, hz);
  xslot *s = &w->slot[slot];
  size_t lag = w->max_lag;
  double want = floor(max_lag_s * hz);
  if (want >= 0 && want < (double)lag) lag = (size_t)want;

  /* Means over valid samples, then zero where invalid. */
  double sx = 0, sy = 0;
  size_t nx = 0, ny = 0;
  for (size_t i = 0; i < n; i++) {
    if (isfinite(x[i])) sx += x[i], nx++;
    if (isfinite(y[i])) sy += y[i], ny++;
  }
  if (nx < 3 || ny < 3)
    return dl_errf(e, DL_ENODATA, "xcorr: only %zu and %zu valid samples", nx, ny);
  double mx = sx / (double)nx, my = sy / (double)ny;
  size_t pad = w->m - n;

#define STAGE(expr)                                                  \
  do {                                                               \
    for (size_t i = 0; i < n; i++) s->r[i] = (expr);                 \
    memset(s->r + n, 0, pad * sizeof(double));                       \
  } while (0)
  STAGE(isfinite(x[i]) ? x[i] - mx : 0.0);
  forward(w, s, s->fa);
  STAGE(isfinite(x[i]) ? (x[i] - mx) * (x[i] - mx) : 0.0);
  forward(w, s, s->fa2);
  STAGE(isfinite(x[i]) ? 1.0 : 0.0);
  forward(w, s, s->fma);
  STAGE(isfinite(y[i]) ? y[i] - my : 0.0);
  forward(w, s, s->fb);
  STAGE(isfinite(y[i]) ? (y[i] - my) * (y[i] - my) : 0.0);
  forward(w, s, s->fb2);
  STAGE(isfinite(y[i]) ? 1.0 : 0.0);
  forward(w, s, s->fmb);
#undef STAGE
  correlate(w, s, s->fa, s->fb, lag, s->sxy);
  correlate(w, s, s->fa2, s->fmb, lag, s->sxx);
  correlate(w, s, s->fma, s->fb2, lag, s->syy);
  correlate(w, s, s->fma, s->fmb, lag, s->cnt);

  size_t need = (nx < ny ? nx : ny) / 2;
  if (need < 3) need = 3;
  long best = 0;
  double bestr = -INFINITY;
  size_t bestn = 0;
  for (size_t j = 0; j <= 2 * lag; j++) {
    double c = floor(s->cnt[j] + 0.5);
    /* Round-off makes tiny negative sums possible; skip flat overlaps. */
    double den = s->sxx[j] * s->syy[j];
    if (c < (double)need || !(den > 0)) continue;
    double r = s->sxy[j] / sqrt(den);
    /* Strictly greater: an exact tie keeps the most negative lag. */
    if (r > bestr) {
      bestr = r;
      best = (long)j - (long)lag;
      bestn = (size_t)c;
    }
  }
  if (!(bestr > -INFINITY))
    return dl_errf(e, DL_ENODATA, "xcorr: no lag within ±%zu samples has %zu overlapping "
                   "valid samples with spread", lag, need);
  if (bestr > 1) bestr = 1;
  out->lag = best;
  out->lag_s = (double)best / hz;
  out->peak = bestr;
  out->overlap = bestn;
  out->weak = !(bestr >= min_corr);
  return DL_OK;
}
