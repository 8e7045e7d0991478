/* calibfile.h: the calibration file a manifest's [calibration] file= names
 * (written by `dustload calibrate`), and the segment columns of a run's
 * HDF5 file that a calibration is fitted against.
 *
 * Format (INI, '#' or ';' comments):
 *   [calibration]
 *   a = 0.0123          ; sL = a * max(T_ref_mean, 0)^beta, g/m2 with T in ug/m3
 *   beta = 0.41
 *   n = 12              ; optional fit statistics, checked when present
 *   r2 = 0.93
 *   rms_log = 0.11
 *   created = 2024-05-01T08:00:00Z
 *   vehicle = KAN-van-1 */
#ifndef DL_CALIBFILE_H
#define DL_CALIBFILE_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

typedef struct dl_calib_file {
  double a, beta;
  long n;            /* -1 when absent */
  double r2, rms_log; /* NAN when absent */
  char created[40], vehicle[128];
} dl_calib_file;

/* Reads and checks a calibration file: a > 0 and 0 < beta <= 100 are
 * required; unknown sections or keys, repeated keys and malformed numbers
 * are errors naming file, line and key. */
int dl_calib_file_read(const char *path, dl_calib_file *c, dl_err *e);
/* Writes it atomically, with the comment text (lines, may be NULL) after
 * the values, each line prefixed with "; ". */
int dl_calib_file_write(const char *path, const dl_calib_file *c, const char *comment, int force,
                        dl_err *e);

/* The segment columns of a run file (/segments) and its root attributes
 * that calibration needs. */
typedef struct dl_run_segments {
  size_t n;
  int32_t *id;
  double *t_ref_mean, *covered_length, *length, *dust_load;
  char run_id[128], vehicle[128], network[4096];
} dl_run_segments;

int dl_run_segments_read(const char *path, dl_run_segments *s, dl_err *e);
void dl_run_segments_free(dl_run_segments *s);

/* The per-sample columns of a run file that pooling over runs needs
 * (/samples time, speed, t_ref, flags, segment) and its root attributes. */
typedef struct dl_run_samples {
  size_t n;
  double *time, *speed, *t_ref;
  uint32_t *flags;
  int32_t *segment;
  double calib_a, calib_beta;  /* NAN when absent */
  char run_id[128], network[4096];
  char *input_files;           /* "sha256  what  path" lines; NULL when absent */
  char *configuration;         /* the effective parameters; NULL when absent */
} dl_run_samples;

/* DL_ENOINPUT / DL_EFORMAT naming the file and the missing dataset. */
int dl_run_samples_read(const char *path, dl_run_samples *s, dl_err *e);
void dl_run_samples_free(dl_run_samples *s);

#endif
