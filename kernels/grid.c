/* grid.c: resampling of irregular series onto the common time grid. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_interp.h>
#include <math.h>
#include <stdlib.h>

#include "dl_proc.h"

size_t dl_grid_count(double t0, double t1, double hz) {
  if (!isfinite(t0) || !isfinite(t1) || !(hz > 0) || t1 < t0) return 0;
  /* Tolerate the round-off of t1 - t0 landing just under a whole step. */
  double k = floor((t1 - t0) * hz + 1e-9);
  return k > 4e9 ? 0 : (size_t)k + 1;
}

/* Grid index of the first point at or after time t (clamped to [0, ng]). */
static size_t first_at_or_after(double t, double t0, double hz, size_t ng) {
  double k = ceil((t - t0) * hz - 1e-9);
  if (k <= 0) return 0;
  if (k >= (double)ng) return ng;
  size_t i = (size_t)k;
  /* ceil of a rounded product can be one off: settle on the exact grid time. */
  while (i > 0 && t0 + (double)(i - 1) / hz >= t) i--;
  while (i < ng && t0 + (double)i / hz < t) i++;
  return i;
}

static double wrap360(double a) {
  double r = fmod(a, 360.0);
  if (r < 0) r += 360.0;
  return r >= 360.0 ? 0.0 : r;
}

/* Interpolates one gap-free piece xs/ys[0..m) onto the grid points inside
 * [xs[0], xs[m-1]]. */
static int piece(const double *xs, const double *ys, size_t m, double t0,
                 double hz, size_t ng, int kind, int angle, double *out,
                 dl_err *e) {
  size_t a = first_at_or_after(xs[0], t0, hz, ng);
  if (m == 1) {
    if (a < ng && t0 + (double)a / hz == xs[0]) out[a] = angle ? wrap360(ys[0]) : ys[0];
    return DL_OK;
  }
  const gsl_interp_type *type =
      (kind == DL_INTERP_STEFFEN && m >= 3) ? gsl_interp_steffen : gsl_interp_linear;
  /* One allocation per gap-free piece (GSL sizes its state to the piece). */
  gsl_interp *ip = gsl_interp_alloc(type, m);
  gsl_interp_accel *acc = gsl_interp_accel_alloc();
  if (!ip || !acc) {
    gsl_interp_free(ip);
    gsl_interp_accel_free(acc);
    return dl_errf(e, DL_ENOMEM, "grid: out of memory interpolating %zu points", m);
  }
  int rc = gsl_interp_init(ip, xs, ys, m);
  if (rc) {
    gsl_interp_free(ip);
    gsl_interp_accel_free(acc);
    return dl_errf(e, DL_ELIB, "grid: GSL interpolation setup failed: %s", gsl_strerror(rc));
  }
  for (size_t k = a; k < ng; k++) {
    double tk = t0 + (double)k / hz;
    if (tk > xs[m - 1]) break;
    double v;
    if (gsl_interp_eval_e(ip, xs, ys, tk, acc, &v)) continue;
    out[k] = angle ? wrap360(v) : v;
  }
  gsl_interp_free(ip);
  gsl_interp_accel_free(acc);
  return DL_OK;
}

int dl_grid_resample(const double *t, const double *v, size_t n, double t0,
                     double hz, size_t ng, int kind, int angle,
                     double max_gap_s, double *out, dl_err *e) {
  for (size_t k = 0; k < ng; k++) out[k] = NAN;
  if (!(hz > 0) || !isfinite(t0))
    return dl_errf(e, DL_EUSAGE, "grid: rate %g Hz or start %g is not usable", hz, t0);
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(t[i]))
      return dl_errf(e, DL_EFORMAT, "grid: sample %zu has no time", i);
    if (i && !(t[i] > t[i - 1]))
      return dl_errf(e, DL_EFORMAT, "grid: time does not increase at sample %zu "
                     "(%.3f after %.3f)", i, t[i], t[i - 1]);
  }
  double *xs = malloc((n ? n : 1) * sizeof *xs);
  double *ys = malloc((n ? n : 1) * sizeof *ys);
  if (!xs || !ys) {
    free(xs);
    free(ys);
    return dl_errf(e, DL_ENOMEM, "grid: out of memory for %zu samples", n);
  }
  int rc = DL_OK;
  size_t m = 0;
  for (size_t i = 0; i <= n && rc == DL_OK; i++) {
    int have = i < n && isfinite(v[i]);
    /* A gap (or the end) closes the current piece. */
    if (m && (i == n || (have && t[i] - xs[m - 1] > max_gap_s))) {
      rc = piece(xs, ys, m, t0, hz, ng, kind, angle, out, e);
      m = 0;
    }
    if (!have) continue;
    double y = v[i];
    if (angle && m) {
      /* Unwrap: step to the nearest equivalent of the previous angle. */
      double d = fmod(y - ys[m - 1], 360.0);
      if (d > 180) d -= 360;
      if (d <= -180) d += 360;
      y = ys[m - 1] + d;
    }
    xs[m] = t[i];
    ys[m] = y;
    m++;
  }
  free(xs);
  free(ys);
  return rc;
}
