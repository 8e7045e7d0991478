/* calibfit.c: fit of sL = a * T^beta by least squares in log-log space. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_proc.h"

const char *dl_calib_reject_name(int reason) {
  switch (reason) {
    case DL_CALIB_USED: return "used";
    case DL_CALIB_REJ_NONFINITE: return "not a number";
    case DL_CALIB_REJ_TREF: return "T_ref mean not positive";
    case DL_CALIB_REJ_SL: return "vacuum dust load not positive";
    default: return "?";
  }
}

int dl_calib_fit_loglog(const double *t_ref_mean, const double *sl_vacuum,
                        size_t n, uint8_t *reject, double *resid,
                        dl_calib_fit *out, dl_err *e) {
  memset(out, 0, sizeof *out);
  out->a = out->beta = out->r2 = out->rms = NAN;
  double *lx = malloc((n ? n : 1) * sizeof *lx);
  double *ly = malloc((n ? n : 1) * sizeof *ly);
  if (!lx || !ly) {
    free(lx);
    free(ly);
    return dl_errf(e, DL_ENOMEM, "calibrate: out of memory for %zu pairs", n);
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    double t = t_ref_mean[i], s = sl_vacuum[i];
    int why = !isfinite(t) || !isfinite(s) ? DL_CALIB_REJ_NONFINITE
              : !(t > 0)                    ? DL_CALIB_REJ_TREF
              : !(s > 0)                    ? DL_CALIB_REJ_SL
                                            : DL_CALIB_USED;
    if (reject) reject[i] = (uint8_t)why;
    if (resid) resid[i] = NAN;
    if (why) continue;
    lx[m] = log(t);
    ly[m] = log(s);
    m++;
  }
  out->n_used = m;
  out->n_rejected = n - m;
  double mx = 0, my = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < m; i++) mx += lx[i], my += ly[i];
  if (m) mx /= (double)m, my /= (double)m;
  for (size_t i = 0; i < m; i++)
    sxx += (lx[i] - mx) * (lx[i] - mx), syy += (ly[i] - my) * (ly[i] - my);
  int rc = DL_OK;
  if (m < 3 || !(sxx > 0)) {
    rc = dl_errf(e, DL_ENODATA, "calibrate: %zu usable pairs of %zu (need 3 with different "
                 "T_ref means)", m, n);
  } else {
    double sumsq;
    int g = gsl_fit_linear(lx, 1, ly, 1, m, &out->c0, &out->c1, &out->cov00, &out->cov01,
                           &out->cov11, &sumsq);
    if (g) {
      rc = dl_errf(e, DL_ELIB, "calibrate: GSL linear fit failed: %s", gsl_strerror(g));
    } else {
      out->a = exp(out->c0);
      out->beta = out->c1;
      out->r2 = syy > 0 ? 1.0 - sumsq / syy : NAN;
      out->rms = sqrt(sumsq / (double)m);
      if (resid)
        for (size_t i = 0; i < n; i++)
          if (!reject || reject[i] == DL_CALIB_USED)
            if (t_ref_mean[i] > 0 && sl_vacuum[i] > 0 && isfinite(t_ref_mean[i]) &&
                isfinite(sl_vacuum[i]))
              resid[i] = log(sl_vacuum[i]) - (out->c0 + out->c1 * log(t_ref_mean[i]));
    }
  }
  free(lx);
  free(ly);
  return rc;
}
