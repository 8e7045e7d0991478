/* dl_base.h: the few basics every layer shares: status codes, the error
 * context, and the structure-of-arrays containers that io/ fills and
 * kernels/ and pipeline/ read. Nothing here touches a file or a library. */
#ifndef DL_BASE_H
#define DL_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define DL_VERSION "0.1.0"

/* Status codes: 0 ok, negative error. One table drives the name, the
 * message and the sysexits.h exit code (EX_* values written as numbers so
 * that this header needs no system header). */
#define DL_STATUS_MAP(X)                                              \
  X(DL_OK, 0, "ok", 0)                                                \
  X(DL_ENOMEM, -1, "out of memory", 71 /* EX_OSERR */)                \
  X(DL_EIO, -2, "input/output error", 74 /* EX_IOERR */)              \
  X(DL_ENOINPUT, -3, "cannot open input", 66 /* EX_NOINPUT */)        \
  X(DL_EFORMAT, -4, "malformed input", 65 /* EX_DATAERR */)           \
  X(DL_EUSAGE, -5, "bad usage", 64 /* EX_USAGE */)                    \
  X(DL_ECONFIG, -6, "bad configuration", 78 /* EX_CONFIG */)          \
  X(DL_EEXIST, -7, "output exists", 73 /* EX_CANTCREAT */)            \
  X(DL_ECANTCREAT, -8, "cannot create output", 73 /* EX_CANTCREAT */) \
  X(DL_ENODATA, -9, "no usable data", 65 /* EX_DATAERR */)            \
  X(DL_ELIB, -10, "library failure", 70 /* EX_SOFTWARE */)            \
  X(DL_EUNAVAIL, -11, "service unavailable", 69 /* EX_UNAVAILABLE */) \
  X(DL_EINTERNAL, -12, "internal error", 70 /* EX_SOFTWARE */)

enum dl_status {
#define DL_X_ENUM(name, val, msg, ex) name = val,
  DL_STATUS_MAP(DL_X_ENUM)
#undef DL_X_ENUM
};

const char *dl_strerror(int status);
const char *dl_status_name(int status);
int dl_status_exit(int status); /* sysexits.h code for a status */

/* Error context: the status and a readable message naming file, line,
 * field and what was expected. Functions that fail fill it and return the
 * status. A NULL context is allowed and ignored. */
typedef struct dl_err {
  int code;
  char msg[1024];
} dl_err;

int dl_errf(dl_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dl_err_clear(dl_err *e);

/* ---- rejected input records, counted by reason ---------------------- */
#define DL_REJECT_MAP(X)                                            \
  X(DL_REJ_CHECKSUM, "bad checksum")                                \
  X(DL_REJ_NO_CHECKSUM, "missing checksum")                         \
  X(DL_REJ_SYNTAX, "malformed field")                               \
  X(DL_REJ_UNSUPPORTED, "unsupported sentence or record")           \
  X(DL_REJ_NO_FIX, "no fix")                                        \
  X(DL_REJ_NO_TIME, "no time")                                      \
  X(DL_REJ_NO_DATE, "no date yet")                                  \
  X(DL_REJ_RANGE, "value out of range")                             \
  X(DL_REJ_BINARY, "binary or non-text data")                       \
  X(DL_REJ_TOO_LONG, "line too long")                               \
  X(DL_REJ_DUPLICATE, "duplicate time")                             \
  X(DL_REJ_BACKWARDS, "time goes backwards")                        \
  X(DL_REJ_MISSING, "missing value")                                \
  X(DL_REJ_HEADER, "header or comment")

enum dl_reject_reason {
#define DL_X_ENUM(name, msg) name,
  DL_REJECT_MAP(DL_X_ENUM)
#undef DL_X_ENUM
  DL_REJ__N
};

#define DL_REJECT_KEEP_LINES 5
typedef struct dl_rejects {
  uint64_t lines;                   /* physical lines (or records) seen */
  uint64_t accepted;                /* records turned into output rows */
  uint64_t count[DL_REJ__N];        /* rejected, by reason */
  uint64_t first_line[DL_REJ__N][DL_REJECT_KEEP_LINES]; /* 1-based */
} dl_rejects;

const char *dl_reject_name(int reason);
void dl_reject(dl_rejects *r, int reason, uint64_t line);
uint64_t dl_rejects_total(const dl_rejects *r);

/* Grows every column of a structure of arrays to at least cap rows
 * (capacity doubling from 1024): cols[i] points at the column pointer,
 * sizes[i] is its element size. On failure the columns that did grow keep
 * their new size and *capp is unchanged: DL_ENOMEM. */
int dl_soa_grow(void **cols[], const size_t sizes[], int ncols, size_t *capp, size_t cap);

/* ---- GPS fixes: one row per epoch ------------------------------------ */
/* Unknown values are NAN (doubles) or -1 (small ints). */
typedef struct dl_fixes {
  size_t n, cap;
  double *t;         /* UTC, seconds since 1970-01-01 */
  double *lat, *lon; /* WGS84 degrees */
  double *speed;     /* m/s over ground */
  double *course;    /* degrees true, [0, 360) */
  double *hdop;
  int8_t *quality;   /* GGA fix quality: 0 none, 1 GPS, 2 DGPS, 4/5 RTK, 6 DR; -1 unknown */
  int8_t *nsat;      /* satellites used; -1 unknown */
  uint64_t *line;    /* 1-based source line (or record number) */
} dl_fixes;

void dl_fixes_init(dl_fixes *f);
void dl_fixes_free(dl_fixes *f);
int dl_fixes_reserve(dl_fixes *f, size_t cap);
/* Appends one row with every field unknown; returns its index or -1 when
 * memory runs out. */
long dl_fixes_push(dl_fixes *f);

/* ---- instrument readings: one row per (time, channel) --------------- */
#define DL_MAX_CHANNELS 16
typedef struct dl_samples {
  size_t n, cap;
  double *t;        /* UTC, seconds since 1970 (after zone and offset) */
  double *value;    /* µg/m³; NAN when missing */
  uint8_t *channel; /* index into chan_name */
  uint64_t *line;   /* 1-based source line */
  int nchan;
  char chan_name[DL_MAX_CHANNELS][32];
  char model[64];   /* instrument model, if the file says */
  char serial[64];
  double interval_s; /* declared log interval, NAN if unknown */
} dl_samples;

void dl_samples_init(dl_samples *s);
void dl_samples_free(dl_samples *s);
int dl_samples_reserve(dl_samples *s, size_t cap);
long dl_samples_push(dl_samples *s);

/* ---- time ------------------------------------------------------------ */
/* Days since 1970-01-01 of a proleptic Gregorian date (any year). */
int64_t dl_days_from_civil(int64_t y, unsigned m, unsigned d);
void dl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* ISO-8601 UTC with milliseconds: 2019-04-12T00:39:56.000Z (needs 32 bytes). */
char *dl_time_iso(double t, char *buf, size_t len);

/* Great-circle distance in metres (spherical Earth, R = 6371008.8 m). */
double dl_haversine_m(double lat1, double lon1, double lat2, double lon2);

#endif
