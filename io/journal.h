/* journal.h: the append-only batch journal: one TSV record per finished run,
 * each written with a single write() and fsync, so a killed batch leaves at
 * worst a torn last line, which the reader ignores.
 *
 * File: a header line "# dustload batch journal v1", then records of 12
 * tab-separated fields and a newline:
 *   run_id status input_sha256 output output_bytes output_sha256 wall_s
 *   fixes finished_utc manifest message check
 * status is "ok" or "failed"; output is the file name inside the journal's
 * folder ("-" when failed); check is the first 16 hex digits of the SHA-256
 * of the line up to the tab before it. A line that is not newline-terminated
 * or whose check does not match is torn and skipped. */
#ifndef DL_JOURNAL_H
#define DL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"
#include "dl_hash.h"

typedef struct dl_journal_rec {
  char run_id[128];
  int ok;                        /* 1 ok, 0 failed */
  char input_sha[DL_SHA256_HEX]; /* "" when the inputs could not be hashed */
  char output[160];              /* file name in the journal's folder, "" when failed */
  int64_t output_bytes;          /* -1 when failed */
  char output_sha[DL_SHA256_HEX];
  double wall_s;
  int64_t fixes;
  double finished;               /* UTC seconds since 1970 */
  char *manifest;                /* owned by a read journal; borrowed when appending */
  char *message;                 /* "" when none; tabs and newlines become spaces */
} dl_journal_rec;

typedef struct dl_journal dl_journal;

/* Opens (creating) path for appending and takes an exclusive flock on it:
 * DL_EUNAVAIL when another process holds it. A torn last line is closed
 * with a newline so the next record starts on its own line. */
int dl_journal_open(const char *path, dl_journal **out, dl_err *e);
/* Appends one record with one write() and fsync(). */
int dl_journal_append(dl_journal *j, const dl_journal_rec *r, dl_err *e);
void dl_journal_close(dl_journal *j);

typedef struct dl_journal_recs {
  size_t n, cap;
  dl_journal_rec *v;
  size_t torn;                   /* lines skipped as torn or malformed */
} dl_journal_recs;

/* Appends every intact record of path to out (file order). A missing file
 * is not an error (nothing appended). DL_EFORMAT when the header is not a
 * dustload journal's. */
int dl_journal_read(const char *path, dl_journal_recs *out, dl_err *e);
void dl_journal_recs_free(dl_journal_recs *r);

#endif
