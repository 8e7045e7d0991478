/* dl_batch.h: many runs into one output folder: finding the manifests,
 * shards, the journal that makes a batch resumable, one run as a task, and
 * the loop that hands tasks out (in one process, or from MPI rank 0 to the
 * other ranks). cmd_batch.c is the command; bench/bench_batch.c times it. */
#ifndef DL_BATCH_H
#define DL_BATCH_H

#include <stdint.h>
#include <stdio.h>

#include "dl_base.h"
#include "dl_hash.h"

/* One run found on the command line. */
typedef struct dl_batch_run {
  char *manifest;      /* path as found */
  char *run_id;        /* NULL when the manifest could not be read */
  char *load_error;    /* why not (the run fails with it), else NULL */
  uint64_t input_bytes; /* GPS + instrument files: the longest-first key */
} dl_batch_run;

typedef struct dl_batch_list {
  size_t n, cap;
  dl_batch_run *v;     /* sorted by manifest path */
} dl_batch_list;

/* Every manifest named by args: a file is a manifest; a folder is searched
 * recursively for *.ini files holding a [run] section (calibration files
 * and other INI files are left alone), in byte order of their paths.
 * Duplicate paths count once. DL_EFORMAT naming both manifests when two
 * share a run id; DL_ENOINPUT when an argument does not exist. A manifest
 * that does not read is kept with load_error (its run fails, the batch
 * goes on). */
int dl_batch_find(const char *const *args, int nargs, dl_batch_list *l, dl_err *e);
void dl_batch_list_free(dl_batch_list *l);
/* Keeps the runs of shard i of n: those whose FNV-1a hash of the run id
 * (of the manifest path when unreadable) is i modulo n, so a run stays in
 * its shard when others are added. */
void dl_batch_shard(dl_batch_list *l, int i, int n);
/* Indices of l in dispatch order: largest input first, ties by path. */
int dl_batch_order(const dl_batch_list *l, size_t **order, dl_err *e);

typedef struct dl_batch_opts {
  const char *outdir;
  const char *network; /* --network override, NULL: each manifest's */
  int threads;         /* OpenMP threads per run, 0: the params' value */
  int resume, force, quiet;
  int shard_i, shard_n; /* shard_n 0: no shard */
} dl_batch_opts;

/* A run handed to a worker (plain bytes: it travels as one MPI message). */
typedef struct dl_batch_task {
  int32_t index;                 /* into the list; -1: no more work */
  int32_t may_skip;              /* a journal ok record exists for it */
  char prev_sha[DL_SHA256_HEX];  /* its input hash */
  char prev_output[160];
  int64_t prev_bytes;
  char prev_out_sha[DL_SHA256_HEX]; /* its output's hash */
  char manifest[4096];
  char run_id[128];              /* "" when the manifest did not read */
  char load_error[1024];
} dl_batch_task;

enum { DL_BATCH_OK = 0, DL_BATCH_FAILED = 1, DL_BATCH_SKIPPED = 2 };

typedef struct dl_batch_result {
  int32_t index;                 /* -1: a worker saying it is ready */
  int32_t status;                /* DL_BATCH_* */
  char input_sha[DL_SHA256_HEX];
  char output[160];
  char output_sha[DL_SHA256_HEX];
  int64_t output_bytes;
  int64_t fixes;
  double wall_s;
  char message[1024];
} dl_batch_result;

/* Does one task: removes stale temporary files of its output, hashes its
 * inputs (manifest, network, GPS, instruments, tags, calibration file, the
 * dustload version and the --network override), skips it when may_skip
 * and the input hash, output size and output hash match the journal (an
 * output damaged since is redone), else runs it into
 * OUTDIR/<run id>.h5 (atomically) and hashes the output. Never fails as a
 * call: the outcome is in res. */
void dl_batch_do(const dl_batch_opts *o, const dl_batch_task *t, dl_batch_result *res);

/* The whole batch: lists, journal, dispatch (MPI when launched by mpirun
 * with more than one rank, else in this process), summary on stdout.
 * Returns 0 when every run succeeded or was skipped, 1 when any failed,
 * or a sysexits code when the batch could not start. */
int dl_batch_main(const char *const *args, int nargs, const dl_batch_opts *o);

/* ---- dustload rank ---- */
/* The period labelled year-month with a start day (1..28) in a zone
 * tz_hours east of UTC: [start_day of month, start_day of the next month)
 * at local midnight, as UTC seconds. Period 2024-07 with start day 20 is
 * 20 July 00:00 to 20 August 00:00 (exclusive): 20 July - 19 August. */
int dl_rank_period(int year, int month, int start_day, double tz_hours, double *t0, double *t1);

typedef struct dl_rank_opts {
  const char *outdir;          /* batch folder of run files */
  const char *rankdir;
  const char *network;         /* override of the runs' network path */
  const char *label;           /* "2020-05" */
  int start_day;
  double tz_hours;
  double t0, t1;               /* from dl_rank_period */
  int force, quiet;
} dl_rank_opts;

/* Reads every run file (*.h5) of outdir, pools the samples inside
 * [t0, t1) of the compatible ones (same network file content, calibration
 * and parameters as most of them), aggregates, ranks and grades, writes
 * CSV, Markdown, HDF5 and runs.csv into rankdir, a summary on out. */
int dl_rank_main(const dl_rank_opts *o, FILE *out, dl_err *e);

/* ---- internal: shared by batch.c and batch_mpi.c ---- */
typedef struct dl_batch_state dl_batch_state;
/* Next task in dispatch order into t; 0 when none is left. */
int dl_batch_next(dl_batch_state *s, dl_batch_task *t);
/* Journals and reports one result (rank 0 / the single process). */
int dl_batch_record(dl_batch_state *s, const dl_batch_result *r, dl_err *e);
#if DL_HAVE_MPI
/* 1 when this process was started by an MPI launcher (mpirun, srun). */
int dl_batch_mpi_launched(void);
/* Initialises MPI; *rank and *size of MPI_COMM_WORLD. */
int dl_batch_mpi_init(int *rank, int *size, dl_err *e);
void dl_batch_mpi_finalize(void);
/* Rank 0: hands out every task to ranks 1..size-1 as they report free and
 * records their results; then tells them to stop. */
int dl_batch_mpi_dispatch(dl_batch_state *s, int size, dl_err *e);
/* Ranks > 0: asks for tasks and does them until told to stop. */
int dl_batch_mpi_work(const dl_batch_opts *o, dl_err *e);
/* Rank 0, when the batch cannot start: stops every worker. */
void dl_batch_mpi_stop_all(int size);
#endif

#endif
