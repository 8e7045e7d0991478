/* dl_lines.h: streaming line reader shared by every text format. Reads a
 * file opened read-only in fixed chunks (memory bounded by the chunk, not by
 * the file), hands out lines without their CR/LF, counts line numbers, skips
 * a UTF-8 byte-order mark, and reports over-long lines instead of failing. */
#ifndef DL_LINES_H
#define DL_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

#define DL_LINES_CHUNK (1u << 20) /* bytes read per call */
#define DL_LINES_MAXLINE (1u << 16) /* longer lines are cut and flagged */

typedef struct dl_lines {
  int fd;
  char *buf;
  size_t cap, pos, end;
  uint64_t lineno;   /* 1-based number of the line last returned */
  uint64_t bytes;    /* bytes consumed so far */
  int eof, first;
  char path[512];
} dl_lines;

/* Opens path read-only ("-" is standard input). */
int dl_lines_open(dl_lines *r, const char *path, dl_err *e);
/* Next line: 1 and (*line, *len) on success, 0 at end of file, negative
 * status on a read error. *too_long is set when the line was longer than
 * DL_LINES_MAXLINE; the rest of it is skipped. The pointer stays valid
 * until the next call. The line is not NUL-terminated. */
int dl_lines_next(dl_lines *r, const char **line, size_t *len, int *too_long,
                  dl_err *e);
void dl_lines_close(dl_lines *r);

#endif
