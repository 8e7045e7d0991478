/* dl_params.h: every tunable number of the method, declared once in a table
 * (name, type, default, bounds, unit, help). The same table fills defaults,
 * reads the [params] section of a manifest or config file, applies
 * command-line overrides (--set key=value), prints --help, and writes the
 * effective configuration into every output. */
#ifndef DL_PARAMS_H
#define DL_PARAMS_H

#include <stdio.h>

#include "dl_base.h"

typedef struct dl_params {
  /* §3 clocks and common grid */
  double grid_hz;
  double max_gap_s;
  double max_lag_inlet_s;
  double max_lag_clock_s;
  double lag_min_drive_s;
  double lag_min_corr;
  /* §3 despiking and filtering */
  double hampel_window_s;
  double hampel_nsigma;
  int lowpass;
  double lowpass_hz;
  /* §4 speed normalisation */
  double v_ref_kmh;
  double speed_exponent;
  /* §5 validity */
  double speed_min_kmh;
  double speed_max_kmh;
  double accel_max_ms2;
  double turn_max_degs;
  double hdop_max;
  double jump_max_kmh;
  double bg_window_s;
  double bg_nsigma;
  double negative_min_ugm3;
  double instrument_max_ugm3;
  double match_max_m;
  /* §6 aggregation and calibration */
  double coverage_min_m;
  double coverage_min_frac;
  double calib_a;
  double calib_beta;
  /* §7 grades (upper bounds of 优, 良, 中; above: 差) */
  double grade_excellent;
  double grade_good;
  double grade_fair;
  /* ingest */
  int nmea_lenient;
  /* execution */
  int threads;
} dl_params;

typedef enum { DL_PT_DOUBLE, DL_PT_INT, DL_PT_BOOL } dl_param_type;

typedef struct dl_param_def {
  const char *name;
  dl_param_type type;
  size_t offset;
  double def, min, max;
  const char *unit;
  const char *help;
} dl_param_def;

extern const dl_param_def dl_param_table[];
extern const int dl_param_count;

void dl_params_default(dl_params *p);
const dl_param_def *dl_param_find(const char *name);
/* Sets one parameter from text; the message names where it came from
 * (origin, e.g. "manifest.ini:12" or "--set"). */
int dl_param_set(dl_params *p, const char *name, const char *value,
                 const char *origin, dl_err *e);
/* "key=value" form of dl_param_set, for --set. */
int dl_param_assign(dl_params *p, const char *assignment, const char *origin,
                    dl_err *e);
/* Prints one line per parameter: name, default, unit, bounds, help. */
void dl_params_help(FILE *out);
/* Writes the effective configuration as "name = value" lines into buf
 * (NUL-terminated, truncated to len). Returns the length it needed. */
size_t dl_params_dump(const dl_params *p, char *buf, size_t len);

#endif
