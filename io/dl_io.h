/* dl_io.h: readers of every GPS and instrument format, and format
 * detection. Readers stream their file, fill structure-of-arrays containers
 * with the source line of each record, and count every rejected line by
 * reason. None aborts on any input. */
#ifndef DL_IO_H
#define DL_IO_H

#include "dl_base.h"

typedef enum dl_format {
  DL_FMT_UNKNOWN = 0,
  DL_FMT_NMEA,      /* NMEA 0183 log */
  DL_FMT_GPSD_JSON, /* gpspipe -w output (TPV objects) */
  DL_FMT_GPSD_LIVE, /* gpsd://HOST:PORT through libgps */
  DL_FMT_GPX,       /* GPX 1.0 / 1.1 */
  DL_FMT_PLT,       /* GeoLife PLT */
  DL_FMT_GPS_CSV,   /* time,lat,lon[,speed,course] */
  DL_FMT_DUSTTRAK,  /* TSI TrakPro export */
  DL_FMT_INST_CSV,  /* generic instrument CSV */
  DL_FMT_MANIFEST,  /* run manifest (INI) */
  DL_FMT_OSM,       /* OpenStreetMap XML or PBF */
  DL_FMT_NETWORK,   /* compiled dustload network */
  DL_FMT__N
} dl_format;

const char *dl_format_name(dl_format f);
/* Parses a format name as used on the command line and in manifests
 * ("nmea", "gpsd-json", "gpx", "plt", "csv", "dusttrak", ...). */
dl_format dl_format_parse(const char *name);
/* Guesses the format from the name and the first bytes of the file. */
dl_format dl_format_detect(const char *path, dl_err *e);
static inline int dl_format_is_gps(dl_format f) {
  return f >= DL_FMT_NMEA && f <= DL_FMT_GPS_CSV;
}
static inline int dl_format_is_instrument(dl_format f) {
  return f == DL_FMT_DUSTTRAK || f == DL_FMT_INST_CSV;
}

/* ---- GPS ------------------------------------------------------------- */
typedef struct dl_gps_opts {
  int nmea_lenient;      /* accept NMEA sentences without a checksum */
  double live_seconds;   /* live gpsd: stop after this long (0: until EOF) */
  long live_max_fixes;   /* live gpsd: stop after this many fixes (0: no cap) */
  int live_retries;      /* live gpsd: reconnect attempts before giving up */
} dl_gps_opts;

void dl_gps_opts_default(dl_gps_opts *o);

int dl_read_nmea(const char *path, const dl_gps_opts *o, dl_fixes *out,
                 dl_rejects *rej, dl_err *e);
/* dl_read_nmea through a chosen implementation, for tests and benchmarks;
 * all give identical results. DL_NMEA_BEST is what dl_read_nmea uses (AVX2
 * when the CPU has it, else SSE2 where the build has it), DL_NMEA_SCALAR the
 * same fast path with portable 8-byte word scans, DL_NMEA_SSE2 with 16-byte
 * scans, DL_NMEA_REFERENCE the general parser one line at a time (the fast
 * paths fall back to it for any unusual sentence). */
enum { DL_NMEA_BEST, DL_NMEA_SCALAR, DL_NMEA_SSE2, DL_NMEA_REFERENCE };
int dl_read_nmea_impl(const char *path, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e, int impl);
int dl_read_gpsd_json(const char *path, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e);
int dl_read_gpsd_live(const char *url, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e);
int dl_read_gpx(const char *path, const dl_gps_opts *o, dl_fixes *out,
                dl_rejects *rej, dl_err *e);
int dl_read_plt(const char *path, const dl_gps_opts *o, dl_fixes *out,
                dl_rejects *rej, dl_err *e);
int dl_read_gps_csv(const char *path, const dl_gps_opts *o, dl_fixes *out,
                    dl_rejects *rej, dl_err *e);
/* Reads any GPS format; DL_FMT_UNKNOWN detects it. */
int dl_read_gps(const char *path, dl_format fmt, const dl_gps_opts *o,
                dl_fixes *out, dl_rejects *rej, dl_err *e);

/* ---- instruments ----------------------------------------------------- */
typedef struct dl_inst_opts {
  double tz_offset_s;    /* local time = UTC + tz_offset_s */
  int have_tz;           /* 0: no zone given (reader then assumes UTC and warns) */
  double clock_offset_s; /* added after the zone: instrument clock error */
  const char *channel;   /* keep only this channel name (NULL: all) */
} dl_inst_opts;

void dl_inst_opts_default(dl_inst_opts *o);
/* "+08:00", "-05:30", "UTC", "Z", "+0530" -> seconds east of UTC. */
int dl_parse_tz(const char *s, double *offset_s);

int dl_read_dusttrak(const char *path, const dl_inst_opts *o, dl_samples *out,
                     dl_rejects *rej, dl_err *e);
int dl_read_inst_csv(const char *path, const dl_inst_opts *o, dl_samples *out,
                     dl_rejects *rej, dl_err *e);
int dl_read_instrument(const char *path, dl_format fmt, const dl_inst_opts *o,
                       dl_samples *out, dl_rejects *rej, dl_err *e);

#endif
