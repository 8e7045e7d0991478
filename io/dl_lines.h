/* dl_lines.h: streaming line reader shared by every text format. Maps a
 * large regular file read-only (no copy through read()), or reads pipes,
 * standard input, small files and a mapped file's last few bytes in fixed
 * chunks (memory bounded by the chunk, not by the file); hands out lines
 * without their CR/LF, counts line numbers, skips a UTF-8 byte-order mark,
 * and reports over-long lines instead of failing. A mapped file must not be
 * truncated while it is read (the system would stop the process). */
#ifndef DL_LINES_H
#define DL_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

#define DL_LINES_CHUNK (1u << 20) /* bytes read per call */
#define DL_LINES_MAXLINE (1u << 16) /* longer lines are cut and flagged */
#define DL_LINES_PAD 64u /* readable zero bytes after the data (wide loads) */
#define DL_LINES_MAPMIN (1u << 20) /* regular files at least this big are mapped */

typedef struct dl_lines {
  int fd;
  char *buf;
  size_t cap, pos, end;
  uint64_t lineno;   /* 1-based number of the line last returned */
  uint64_t bytes;    /* bytes consumed so far */
  int eof, first;
  const char *map;   /* the mapped file, or NULL */
  size_t map_len;    /* its size */
  size_t mpos, mend; /* next byte served from the map; end of that part
                      * (just after a '\n', DL_LINES_PAD or more bytes
                      * before the end of the file); the rest is read() */
  char path[512];
} dl_lines;

/* Opens path read-only ("-" is standard input). */
int dl_lines_open(dl_lines *r, const char *path, dl_err *e);
/* Next line: 1 and (*line, *len) on success, 0 at end of file, negative
 * status on a read error. *too_long is set when the line (with any CR) was
 * DL_LINES_MAXLINE bytes or longer; it is skipped and (*line, *len) is
 * ("", 0). The pointer stays valid
 * until the next call. The line is not NUL-terminated. */
int dl_lines_next(dl_lines *r, const char **line, size_t *len, int *too_long,
                  dl_err *e);
/* Next run of whole lines, for callers that split lines themselves (one
 * call per chunk instead of one per line): 1 and [*p, *p + *n) ending just
 * after a '\n' (or the file's last line, without one); 0 at end of file;
 * negative status on a read error. Lines come out exactly as
 * dl_lines_next would cut them; when *too_long is set, *n is 0 and the call
 * stands for one over-long line, already skipped. Other over-long lines
 * may be inside the run: the caller treats a line of DL_LINES_MAXLINE bytes
 * or more before its '\n' as dl_lines_next does. The run is followed by at
 * least DL_LINES_PAD readable bytes, so loads up to that far past any byte
 * of the run stay in bounds. r->lineno is left to the caller; the pointer
 * stays valid until the next call. */
int dl_lines_block(dl_lines *r, const char **p, size_t *n, int *too_long,
                   dl_err *e);
void dl_lines_close(dl_lines *r);

#endif
