/* dl_params.c: the parameter table (defaults from METHOD.md). */
#include "dl_params.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define D(n, def, lo, hi, unit, help) \
  {#n, DL_PT_DOUBLE, offsetof(dl_params, n), def, lo, hi, unit, help}
#define I(n, def, lo, hi, unit, help) \
  {#n, DL_PT_INT, offsetof(dl_params, n), def, lo, hi, unit, help}
#define B(n, def, help) {#n, DL_PT_BOOL, offsetof(dl_params, n), def, 0, 1, "", help}

const dl_param_def dl_param_table[] = {
    D(grid_hz, 1, 0.1, 100, "Hz", "common time grid rate"),
    D(max_gap_s, 5, 0, 3600, "s", "never interpolate across a gap longer than this"),
    D(max_lag_inlet_s, 10, 0, 120, "s", "search bound for the inlet delay"),
    D(max_lag_clock_s, 120, 0, 3600, "s", "search bound for an instrument clock offset"),
    D(lag_min_drive_s, 600, 0, 86400, "s", "valid driving needed before lags are refined"),
    D(lag_min_corr, 0.2, 0, 1, "", "weakest correlation peak accepted as a lag"),
    D(hampel_window_s, 7, 3, 600, "s", "Hampel despiking window"),
    D(hampel_nsigma, 4, 1, 100, "sigma", "Hampel threshold in robust sigmas"),
    B(lowpass, 0, "apply the zero-phase FFT low-pass (display, alarms)"),
    D(lowpass_hz, 0.2, 0.001, 50, "Hz", "low-pass cutoff"),
    D(v_ref_kmh, 30, 1, 200, "km/h", "reference speed of the v^n normalisation"),
    D(speed_exponent, 3, 0, 6, "", "exponent n of the speed normalisation"),
    D(speed_min_kmh, 15, 0, 200, "km/h", "slower samples are flagged SPEED_LOW"),
    D(speed_max_kmh, 70, 0, 300, "km/h", "faster samples are flagged SPEED_HIGH"),
    D(accel_max_ms2, 1.0, 0, 20, "m/s2", "larger |dv/dt| is flagged ACCEL"),
    D(turn_max_degs, 15, 0, 360, "deg/s", "larger |dcourse/dt| is flagged TURN"),
    D(hdop_max, 5, 0, 100, "", "larger HDOP is flagged GPS"),
    D(jump_max_kmh, 150, 1, 2000, "km/h", "implied jump speed flagged GPS"),
    D(bg_window_s, 60, 3, 3600, "s", "rolling median window of the background"),
    D(bg_nsigma, 5, 1, 100, "sigma", "background spike threshold"),
    D(negative_min_ugm3, -20, -1e6, 0, "ug/m3", "smaller excess is flagged NEGATIVE"),
    D(instrument_max_ugm3, 150000, 1, 1e9, "ug/m3", "instrument range: values at or above are flagged"),
    D(match_max_m, 30, 1, 1000, "m", "farther from the matched road is flagged UNMATCHED"),
    D(coverage_min_m, 200, 0, 1e5, "m", "valid coverage for a segment to count (or the fraction below)"),
    D(coverage_min_frac, 0.5, 0, 1, "", "fraction of a segment's length that suffices"),
    D(calib_a, 0.04, 1e-9, 1e6, "g/m2", "calibration factor a of sL = a * T^beta"),
    D(calib_beta, 0.366300366300366, 0.01, 10, "", "calibration exponent beta"),
    D(grade_excellent, 0.3, 0, 100, "g/m2", "loads below are graded 优 (excellent)"),
    D(grade_good, 0.6, 0, 100, "g/m2", "loads below are graded 良 (good)"),
    D(grade_fair, 1.0, 0, 100, "g/m2", "loads below are graded 中 (fair); above 差"),
    B(nmea_lenient, 0, "accept NMEA sentences without a checksum"),
    I(threads, 0, 0, 1024, "", "OpenMP threads (0: all cores)"),
};
const int dl_param_count = (int)(sizeof dl_param_table / sizeof dl_param_table[0]);

static double *dptr(dl_params *p, const dl_param_def *d) {
  return (double *)((char *)p + d->offset);
}
static int *iptr(dl_params *p, const dl_param_def *d) {
  return (int *)((char *)p + d->offset);
}

void dl_params_default(dl_params *p) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < dl_param_count; i++) {
    const dl_param_def *d = &dl_param_table[i];
    if (d->type == DL_PT_DOUBLE)
      *dptr(p, d) = d->def;
    else
      *iptr(p, d) = (int)d->def;
  }
}

const dl_param_def *dl_param_find(const char *name) {
  for (int i = 0; i < dl_param_count; i++)
    if (strcmp(dl_param_table[i].name, name) == 0) return &dl_param_table[i];
  return NULL;
}

int dl_param_set(dl_params *p, const char *name, const char *value,
                 const char *origin, dl_err *e) {
  const dl_param_def *d = dl_param_find(name);
  if (!d)
    return dl_errf(e, DL_ECONFIG,
                   "%s: unknown parameter '%s' (dustload help params lists them)",
                   origin, name);
  double v;
  if (d->type == DL_PT_BOOL) {
    if (!strcasecmp(value, "1") || !strcasecmp(value, "true") ||
        !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
      v = 1;
    else if (!strcasecmp(value, "0") || !strcasecmp(value, "false") ||
             !strcasecmp(value, "no") || !strcasecmp(value, "off"))
      v = 0;
    else
      return dl_errf(e, DL_ECONFIG, "%s: parameter %s: expected true or false, got '%s'",
                     origin, name, value);
  } else {
    char *end;
    errno = 0;
    v = strtod(value, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == value || *end || errno || !isfinite(v))
      return dl_errf(e, DL_ECONFIG, "%s: parameter %s: expected a number in [%g, %g]%s%s, got '%s'",
                     origin, name, d->min, d->max, d->unit[0] ? " " : "", d->unit, value);
    if (d->type == DL_PT_INT && v != floor(v))
      return dl_errf(e, DL_ECONFIG, "%s: parameter %s: expected a whole number, got '%s'",
                     origin, name, value);
    if (v < d->min || v > d->max)
      return dl_errf(e, DL_ECONFIG, "%s: parameter %s = %s is outside [%g, %g]%s%s",
                     origin, name, value, d->min, d->max, d->unit[0] ? " " : "",
                     d->unit);
  }
  if (d->type == DL_PT_DOUBLE)
    *dptr(p, d) = v;
  else
    *iptr(p, d) = (int)v;
  return DL_OK;
}

int dl_param_assign(dl_params *p, const char *assignment, const char *origin,
                    dl_err *e) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return dl_errf(e, DL_EUSAGE, "%s: expected key=value, got '%s'", origin, assignment);
  char name[64];
  size_t n = (size_t)(eq - assignment);
  if (n >= sizeof name)
    return dl_errf(e, DL_EUSAGE, "%s: parameter name too long in '%s'", origin, assignment);
  memcpy(name, assignment, n);
  name[n] = '\0';
  return dl_param_set(p, name, eq + 1, origin, e);
}

void dl_params_help(FILE *out) {
  for (int i = 0; i < dl_param_count; i++) {
    const dl_param_def *d = &dl_param_table[i];
    char def[32];
    if (d->type == DL_PT_BOOL)
      snprintf(def, sizeof def, "%s", d->def ? "true" : "false");
    else
      snprintf(def, sizeof def, "%g", d->def);
    fprintf(out, "  %-20s %-8s %-6s %s", d->name, def, d->unit, d->help);
    if (d->type != DL_PT_BOOL) fprintf(out, " [%g, %g]", d->min, d->max);
    fputc('\n', out);
  }
}

size_t dl_params_dump(const dl_params *p, char *buf, size_t len) {
  size_t used = 0;
  for (int i = 0; i < dl_param_count; i++) {
    const dl_param_def *d = &dl_param_table[i];
    char line[128];
    int k;
    if (d->type == DL_PT_DOUBLE)
      k = snprintf(line, sizeof line, "%s = %.17g\n", d->name,
                   *dptr((dl_params *)p, d));
    else if (d->type == DL_PT_BOOL)
      k = snprintf(line, sizeof line, "%s = %s\n", d->name,
                   *iptr((dl_params *)p, d) ? "true" : "false");
    else
      k = snprintf(line, sizeof line, "%s = %d\n", d->name, *iptr((dl_params *)p, d));
    if (used + (size_t)k < len) memcpy(buf + used, line, (size_t)k);
    used += (size_t)k;
  }
  if (len) buf[used < len ? used : len - 1] = '\0';
  return used;
}
