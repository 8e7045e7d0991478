/* dl_simwrite.h: writers of the raw formats a monitoring run produces
 * (NMEA 0183, TSI TrakPro DustTrak export, run manifest) and of the truth
 * files of a simulated run. Every file is written to a temporary file in
 * its folder, fsync'ed and renamed into place. */
#ifndef DL_SIMWRITE_H
#define DL_SIMWRITE_H

#include <stdint.h>
#include <stdio.h>

#include "dl_base.h"
#include "dl_outfile.h"
#include "manifest.h"

/* ---- NMEA 0183 ----------------------------------------------------------- */
/* One $GPRMC and one $GPGGA sentence per row of f (UTC time to 1/100 s,
 * ddmm.mmmmm positions, speed in knots, course, date; fix quality,
 * satellites, HDOP, altitude alt_m and geoid separation), CRLF line ends,
 * valid checksums. Rows need finite t, lat, lon; NAN speed/course/hdop are
 * written as empty fields, quality < 0 as 1 and nsat < 0 as empty. */
int dl_nmea_write(const char *path, const dl_fixes *f, double alt_m, int force, dl_err *e);

/* ---- TSI TrakPro export of a DustTrak ----------------------------------- */
typedef struct dl_dusttrak_info {
  const char *model;        /* "DustTrak II" */
  const char *model_number; /* "8530" */
  const char *serial;
  const char *test_id;      /* "001" */
  const char *cal_date;     /* "MM/dd/yyyy" */
  const char *channel;      /* "AEROSOL" */
} dl_dusttrak_info;

/* The TrakPro 4.70 ASCII export of a single-channel DustTrak II logged at
 * 1 s: header with start date/time, duration, number of points and
 * statistics, then "MM/dd/yyyy,hh:mm:ss,value" rows in mg/m³ with 3
 * decimals. local0: the local clock time of reading 0 as seconds since
 * 1970 (the start time written is one interval before it); ugm3: n
 * readings in whole µg/m³ (>= 0). */
int dl_dusttrak_write(const char *path, const dl_dusttrak_info *info, int64_t local0,
                      const int32_t *ugm3, size_t n, int force, dl_err *e);

/* ---- run manifest ---------------------------------------------------------- */
/* Writes m as an INI manifest that dl_manifest_read accepts: [run] (id,
 * vehicle, network, tags, tz), one [gps NAME] / [gps] and [instrument NAME]
 * section each (file, format, role, channel, tz when it differs from the
 * run's, clock_offset_s, inlet_delay_s), [calibration] when set, [params].
 * Paths are written as they are in m (absolute, or relative to the
 * manifest's folder). comment (may be NULL) goes first, each line as a
 * '; ' comment. */
int dl_manifest_write(const char *path, const dl_manifest *m, const char *comment, int force,
                      dl_err *e);

/* ---- truth of a simulated run -------------------------------------------- */
/* "time_utc,segment,offset_m": rows i < n with keep[i] != 0 (keep NULL:
 * all); time as dl_time_iso, offset to 1 cm. */
int dl_truth_points_write(const char *path, size_t n, const double *t, const uint32_t *seg,
                          const double *offset, const uint8_t *keep, int force, dl_err *e);
/* "segment,osm_way,dust_load_gm2": one row per segment 0..nseg-1, load to
 * 1e-4 g/m². */
int dl_truth_segments_write(const char *path, uint32_t nseg, const int64_t *way,
                            const double *load, int force, dl_err *e);

#endif
