/* lowpass.c: zero-phase FFT low-pass of a mirrored, mean-removed series. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_proc.h"

struct dl_lowpass {
  size_t n;
  double *r;          /* 2n: mirrored series */
  fftw_complex *c;    /* n + 1 */
  uint8_t *miss;      /* n: which samples were NAN */
  fftw_plan fwd, inv;
};

void dl_lowpass_free(dl_lowpass *w) {
  if (!w) return;
  if (w->fwd) fftw_destroy_plan(w->fwd);
  if (w->inv) fftw_destroy_plan(w->inv);
  fftw_free(w->r);
  fftw_free(w->c);
  free(w->miss);
  free(w);
}

dl_lowpass *dl_lowpass_create(size_t n, dl_err *e) {
  if (n < 1 || n > ((size_t)1 << 30)) {
    dl_errf(e, DL_EUSAGE, "lowpass: series length %zu not supported", n);
    return NULL;
  }
  dl_lowpass *w = calloc(1, sizeof *w);
  if (w) {
    w->n = n;
    w->r = fftw_malloc(2 * n * sizeof(double));
    w->c = fftw_malloc((n + 1) * sizeof(fftw_complex));
    w->miss = malloc(n);
  }
  if (!w || !w->r || !w->c || !w->miss) {
    dl_errf(e, DL_ENOMEM, "lowpass: out of memory for %zu samples", n);
    dl_lowpass_free(w);
    return NULL;
  }
  w->fwd = fftw_plan_dft_r2c_1d((int)(2 * n), w->r, w->c, FFTW_ESTIMATE);
  w->inv = fftw_plan_dft_c2r_1d((int)(2 * n), w->c, w->r, FFTW_ESTIMATE);
  if (!w->fwd || !w->inv) {
    dl_errf(e, DL_ELIB, "lowpass: FFTW could not plan a transform of %zu points", 2 * n);
    dl_lowpass_free(w);
    return NULL;
  }
  return w;
}

int dl_lowpass_run(dl_lowpass *w, const double *x, double *y, size_t n,
                   double hz, double cutoff_hz, dl_err *e) {
  if (n != w->n)
    return dl_errf(e, DL_EUSAGE, "lowpass: planned for %zu samples, got %zu", w->n, n);
  if (!(hz > 0) || !(cutoff_hz > 0))
    return dl_errf(e, DL_EUSAGE, "lowpass: rate %g Hz and cutoff %g Hz must be positive",
                   hz, cutoff_hz);
  double *r = w->r;
  /* Bridge NAN gaps linearly (held flat at the ends) so they do not
   * poison the transform; remember them to restore. */
  size_t last = (size_t)-1, nvalid = 0;
  for (size_t i = 0; i < n; i++) {
    w->miss[i] = !isfinite(x[i]);
    if (w->miss[i]) continue;
    r[i] = x[i];
    if (last == (size_t)-1) {
      for (size_t k = 0; k < i; k++) r[k] = x[i];
    } else {
      for (size_t k = last + 1; k < i; k++)
        r[k] = x[last] + (x[i] - x[last]) * (double)(k - last) / (double)(i - last);
    }
    last = i;
    nvalid++;
  }
  if (nvalid == 0) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
    return DL_OK;
  }
  for (size_t k = last + 1; k < n; k++) r[k] = x[last];
  double mean = 0;
  for (size_t i = 0; i < n; i++) mean += r[i];
  mean /= (double)n;
  /* Even extension: the periodic series has no jump at either end. */
  for (size_t i = 0; i < n; i++) {
    r[i] -= mean;
    r[2 * n - 1 - i] = r[i];
  }
  fftw_execute_dft_r2c(w->fwd, r, w->c);
  double m = (double)(2 * n);
  for (size_t k = 0; k <= n; k++) {
    double q = ((double)k * hz / m) / cutoff_hz;
    double q2 = q * q, q4 = q2 * q2;
    double g = 1.0 / sqrt(1.0 + q4 * q4) / m; /* Butterworth-4 magnitude, no phase */
    w->c[k][0] *= g;
    w->c[k][1] *= g;
  }
  fftw_execute_dft_c2r(w->inv, w->c, r);
  for (size_t i = 0; i < n; i++) y[i] = w->miss[i] ? NAN : r[i] + mean;
  return DL_OK;
}
