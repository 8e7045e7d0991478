/* despike.c: Hampel despiking (GSL impulse filter) over runs of valid samples. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_filter.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_proc.h"

struct dl_despike {
  size_t nmax, window;
  gsl_filter_impulse_workspace *imp;
  double *y, *med, *sig;
  int *out;
};

void dl_despike_free(dl_despike *w) {
  if (!w) return;
  if (w->imp) gsl_filter_impulse_free(w->imp);
  free(w->y);
  free(w->med);
  free(w->sig);
  free(w->out);
  free(w);
}

dl_despike *dl_despike_create(size_t nmax, size_t window, dl_err *e) {
  if (window < 3 || window % 2 == 0) {
    dl_errf(e, DL_EUSAGE, "despike: window must be odd and >= 3 samples, got %zu", window);
    return NULL;
  }
  dl_despike *w = calloc(1, sizeof *w);
  size_t n = nmax ? nmax : 1;
  if (w) {
    w->nmax = nmax;
    w->window = window;
    w->imp = gsl_filter_impulse_alloc(window);
    w->y = malloc(n * sizeof(double));
    w->med = malloc(n * sizeof(double));
    w->sig = malloc(n * sizeof(double));
    w->out = malloc(n * sizeof(int));
  }
  if (!w || !w->imp || !w->y || !w->med || !w->sig || !w->out) {
    dl_errf(e, DL_ENOMEM, "despike: out of memory for %zu samples", nmax);
    dl_despike_free(w);
    return NULL;
  }
  return w;
}

int dl_despike_run(dl_despike *w, double *x, size_t n, double nsigma,
                   uint8_t *outlier, size_t *nreplaced, dl_err *e) {
  size_t total = 0;
  if (nreplaced) *nreplaced = 0;
  if (n > w->nmax)
    return dl_errf(e, DL_EUSAGE, "despike: %zu samples exceed the workspace's %zu", n, w->nmax);
  if (!(nsigma > 0))
    return dl_errf(e, DL_EUSAGE, "despike: threshold %g sigmas is not positive", nsigma);
  if (outlier) memset(outlier, 0, n);
  size_t i = 0;
  while (i < n) {
    while (i < n && !isfinite(x[i])) i++;
    size_t a = i;
    while (i < n && isfinite(x[i])) i++;
    size_t len = i - a;
    /* Fewer than 3 points leave nothing to judge a spike against. */
    if (len < 3) continue;
    gsl_vector_view xv = gsl_vector_view_array(x + a, len);
    gsl_vector_view yv = gsl_vector_view_array(w->y, len);
    gsl_vector_view mv = gsl_vector_view_array(w->med, len);
    gsl_vector_view sv = gsl_vector_view_array(w->sig, len);
    gsl_vector_int_view ov = gsl_vector_int_view_array(w->out, len);
    size_t nout = 0;
    int rc = gsl_filter_impulse(GSL_FILTER_END_TRUNCATE, GSL_FILTER_SCALE_MAD, nsigma,
                                &xv.vector, &yv.vector, &mv.vector, &sv.vector, &nout,
                                &ov.vector, w->imp);
    if (rc)
      return dl_errf(e, DL_ELIB, "despike: GSL impulse filter failed on samples %zu-%zu: %s",
                     a, i - 1, gsl_strerror(rc));
    memcpy(x + a, w->y, len * sizeof(double));
    if (outlier)
      for (size_t k = 0; k < len; k++) outlier[a + k] = w->out[k] != 0;
    total += nout;
  }
  if (nreplaced) *nreplaced = total;
  return DL_OK;
}
