/* dl_run.h: one monitoring run, from its manifest to ranked g/m²: the run
 * context (inputs, common grid, per-sample columns, match, aggregation) and
 * the stages that fill it, in order. cmd_run.c drives them and writes the
 * outputs; bench/bench_run.c times them. */
#ifndef DL_RUN_H
#define DL_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "dl_base.h"
#include "dl_hash.h"
#include "dl_io.h"
#include "dl_match.h"
#include "dl_netopen.h"
#include "dl_network.h"
#include "dl_params.h"
#include "dl_proc.h"
#include "manifest.h"

struct dl_h5;


typedef struct dl_run_opts {
  const char *manifest;
  const char *network;        /* --network: overrides the manifest's; NULL: use it */
  const char *const *sets;    /* --set key=value, applied last */
  int nsets;
  int threads;                /* --threads (> 0), 0: the params' value */
  int quiet;                  /* no progress on stderr */
} dl_run_opts;

/* One input file, hashed for provenance. */
typedef struct dl_run_file {
  char what[80];              /* "gps", "instrument left (tyre_left)", "tags", ... */
  char *path;
  char sha256[DL_SHA256_HEX];
} dl_run_file;

/* What stage 1 found for one instrument. */
typedef struct dl_run_lag {
  char name[64];
  int role;
  double declared_clock_s;    /* clock_offset_s of the manifest (already applied) */
  double declared_delay_s;    /* inlet_delay_s of the manifest (already applied) */
  double found_s;             /* correction found (0 when not refined): t_utc = t - found */
  double peak;                /* correlation at the lag, NAN when not computed */
  char how[96];               /* "refined", "weak peak ...", "too little driving ..." */
} dl_run_lag;

#define DL_RUN_MAX_FILES (DL_MANIFEST_MAX_GPS + DL_MANIFEST_MAX_INST + 4)
#define DL_RUN_STAGES 8

typedef struct dl_run {
  dl_run_opts opts;
  dl_manifest m;
  dl_params p;
  char calib_source[320];     /* where a and beta came from */
  char *config_text;          /* effective configuration dump */
  char network_path[4096];    /* "" when the run has no network */
  dl_run_file files[DL_RUN_MAX_FILES];
  int nfiles;

  /* raw streams (UTC after zone, clock offset and inlet delay) */
  dl_fixes fixes;
  int ninst;
  double *inst_t[DL_MANIFEST_MAX_INST], *inst_v[DL_MANIFEST_MAX_INST];
  size_t inst_n[DL_MANIFEST_MAX_INST];
  double inst_gap[DL_MANIFEST_MAX_INST]; /* max gap bridged for this instrument */
  double inst_shift[DL_MANIFEST_MAX_INST]; /* stage 1 correction, s */
  dl_run_lag lag[DL_MANIFEST_MAX_INST];
  int tyre_idx[DL_MANIFEST_MAX_INST], ntyre;
  int bg_idx, amb_idx;        /* -1 when absent */

  /* common grid (n samples at t0 + k/hz) */
  size_t n;
  double t0, hz;
  double *t, *lat, *lon, *speed, *course, *hdop;
  double *tyre[DL_MANIFEST_MAX_INST]; /* ntyre columns */
  double *c_tyre;             /* mean of the tyre inlets (NULL without) */
  double *bg, *ambient;       /* NULL when absent */
  double *delta_c, *delta_c_lp, *t_ref; /* delta_c_lp only with lowpass */
  uint32_t *flags;
  size_t despiked[DL_MANIFEST_MAX_INST];

  /* stage 4: map matching */
  int have_net;
  dl_net net;
  dl_netfile *netf;
  int32_t *segment;
  double *offset, *match_dist;
  uint8_t *match_status;      /* enum dl_match_status */
  char match_method[64];
  size_t match_points, match_matched, match_breaks;
  double match_mean_dist;

  /* aggregation (have_net only) */
  dl_agg_output agg;
  int32_t *seg_nmatched;      /* samples matched to each segment, valid or not */
  int32_t *road_rank, *town_rank;
  int32_t *road_town;         /* township holding most of a road's counted length, -1 */
  int district_grade;

  /* summary */
  double km_driven, km_valid;
  size_t n_valid;
  size_t flag_count[32];
  int can_load;               /* the run has tyre + background + GPS */

  /* set by `dustload rank` for a period's pooled samples (NULL/0 for a run) */
  double *dt;                 /* seconds per sample; NULL: 1/hz for all */
  const char *title;          /* tables heading and district row, instead of "run <id>" */
  const char *md_extra;       /* Markdown appended to ranking.md */
  int summary_only;           /* HDF5 without /samples and /match */
  int (*h5_extra)(struct dl_h5 *h, const void *ctx, dl_err *e); /* more HDF5 content */
  const void *h5_extra_ctx;

  double stage_s[DL_RUN_STAGES];
  const char *stage_name[DL_RUN_STAGES];
  int nstage;
} dl_run;

void dl_run_init(dl_run *r);
void dl_run_free(dl_run *r);

/* The stages, in this order; each fails with a precise message. */
int dl_run_load(dl_run *r, const dl_run_opts *o, dl_err *e);  /* manifest, params, reads */
int dl_run_clocks(dl_run *r, dl_err *e);  /* stage 1 (needs the grid of stage 2 first) */
int dl_run_grid(dl_run *r, dl_err *e);    /* stage 2: (re)builds every grid column */
int dl_run_process(dl_run *r, dl_err *e); /* stage 3: despike, ΔC, T_ref, flags */
int dl_run_match(dl_run *r, dl_err *e);   /* stage 4: per-sample segment, offset, distance */
int dl_run_flags(dl_run *r, dl_err *e);   /* stage 3 flags (UNMATCHED needs stage 4) */
int dl_run_aggregate(dl_run *r, dl_err *e); /* segments .. district, ranks, summary */
/* All of the above with progress and timings on stderr. */
int dl_run_execute(dl_run *r, const dl_run_opts *o, dl_err *e);

/* Outputs. */
int dl_run_write_h5(const dl_run *r, const char *path, int force, dl_err *e);
int dl_run_write_tables(const dl_run *r, const char *dir, int force, dl_err *e);
int dl_run_write_geojson(const dl_run *r, const char *path, int force, dl_err *e);
void dl_run_summary(const dl_run *r, FILE *out);

/* Internal: progress line on stderr unless quiet. */
void dl_run_progress(const dl_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
