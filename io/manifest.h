/* manifest.h: the run manifest (INI) that names one vehicle-day's files,
 * their roles, clocks and calibration, and the operator tags file of
 * intervals to exclude or annotate. */
#ifndef DL_MANIFEST_H
#define DL_MANIFEST_H

#include <stdint.h>

#include "dl_base.h"
#include "dl_io.h"

/* Where an instrument inlet sits. */
#define DL_ROLE_MAP(X)                      \
  X(DL_ROLE_TYRE, "tyre")                   \
  X(DL_ROLE_TYRE_LEFT, "tyre_left")         \
  X(DL_ROLE_TYRE_RIGHT, "tyre_right")       \
  X(DL_ROLE_BACKGROUND, "background")       \
  X(DL_ROLE_AMBIENT, "ambient")

typedef enum dl_role {
#define DL_X_ENUM(name, str) name,
  DL_ROLE_MAP(DL_X_ENUM)
#undef DL_X_ENUM
  DL_ROLE__N
} dl_role;

const char *dl_role_name(dl_role r);
/* -1 when the name is not a role. */
int dl_role_parse(const char *name);

#define DL_MANIFEST_MAX_GPS 4
#define DL_MANIFEST_MAX_INST 8

typedef struct dl_manifest_gps {
  char name[64];          /* "" for a plain [gps] section */
  char *path;             /* resolved against the manifest's folder; gpsd:// kept */
  dl_format format;       /* DL_FMT_UNKNOWN: detect */
  int line;               /* line of the section header */
} dl_manifest_gps;

typedef struct dl_manifest_inst {
  char name[64];          /* from [instrument NAME] */
  char *path;
  dl_format format;       /* DL_FMT_UNKNOWN: detect */
  dl_role role;
  char *channel;          /* NULL: the file's only channel (or all) */
  dl_inst_opts opts;      /* zone (own tz, else [run] tz), clock offset, channel */
  double inlet_delay_s;   /* tubing delay, subtracted from the inlet's times */
  int line;
} dl_manifest_inst;

/* One [params] line, kept raw for the pipeline's parameter table. */
typedef struct dl_manifest_param {
  char *key, *value;
  int line;
} dl_manifest_param;

typedef struct dl_manifest {
  char *path;             /* the manifest itself */
  char *dir;              /* its folder: base of relative paths */
  char *run_id;
  char *vehicle;          /* "" when not given */
  char *network;          /* resolved; NULL when not given */
  int network_line;
  char *tags;             /* operator tags file; NULL when not given */
  double tz_offset_s;     /* [run] tz */
  int have_tz;
  int ngps;
  dl_manifest_gps gps[DL_MANIFEST_MAX_GPS];
  int ninst;
  dl_manifest_inst inst[DL_MANIFEST_MAX_INST];
  int role_inst[DL_ROLE__N]; /* index into inst by role, -1 absent */
  /* calibration: inline a/β, or a file (never both) */
  int have_calib_a, have_calib_beta;
  double calib_a, calib_beta;
  char *calib_file;
  int nparams;
  dl_manifest_param *params;
} dl_manifest;

/* Reads and checks a run manifest. Every error names the file, the line,
 * the section and key, what was expected and what was found. Every input
 * file must be readable (access R_OK) except the network, whose check is
 * left to dl_manifest_network() because --network may override it. On
 * failure m is left freed. */
int dl_manifest_read(const char *path, dl_manifest *m, dl_err *e);
void dl_manifest_free(dl_manifest *m);
/* The network to use: override (a --network option) when not NULL, else
 * the manifest's. Fails with a precise message when neither is given or
 * the file is unreadable. */
int dl_manifest_network(const dl_manifest *m, const char *override, const char **path,
                        dl_err *e);

/* ---- operator tags: intervals the operator flagged during the run ---- */
#define DL_TAG_MAP(X)                     \
  X(DL_TAG_WET_ROAD, "wet_road")          \
  X(DL_TAG_SPRINKLING, "sprinkling")      \
  X(DL_TAG_SANDING, "sanding")            \
  X(DL_TAG_FOLLOWING, "following")        \
  X(DL_TAG_CONSTRUCTION, "construction")  \
  X(DL_TAG_OTHER, "other")

typedef enum dl_tag_reason {
#define DL_X_ENUM(name, str) name,
  DL_TAG_MAP(DL_X_ENUM)
#undef DL_X_ENUM
  DL_TAG__N
} dl_tag_reason;

const char *dl_tag_name(dl_tag_reason r);
int dl_tag_parse(const char *name); /* -1 when unknown */

/* [start, end) intervals in UTC seconds, in file order; overlaps allowed. */
typedef struct dl_tags {
  size_t n, cap;
  double *start, *end;
  uint8_t *reason;   /* dl_tag_reason */
  uint64_t *line;    /* 1-based line in the tags file */
  char **note;       /* "" when none */
} dl_tags;

void dl_tags_init(dl_tags *t);
void dl_tags_free(dl_tags *t);
/* Reads "start,end,reason[,note]" lines (an optional header line naming
 * those columns, '#' comments and blank lines allowed). Times are ISO-8601;
 * a time without a zone is local time in zone tz_offset_s, and an error
 * when have_tz is 0. Stops at the first bad line with its number. */
int dl_tags_read(const char *path, double tz_offset_s, int have_tz, dl_tags *out,
                 dl_err *e);

#endif
