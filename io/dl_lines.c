/* dl_lines.c: chunked line reader (see dl_lines.h). */
#include "dl_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Maps a large regular file, so that lines are read in place. The mapped
 * part ends just after the last '\n' that leaves DL_LINES_PAD bytes of the
 * file after it (wide loads past a line stay inside the file even when its
 * size is a multiple of the page size); the rest is read() into the buffer
 * as for a pipe. Any failure leaves the file to read(). */
static void try_map(dl_lines *r) {
  struct stat sb;
  if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)DL_LINES_MAPMIN ||
      (uint64_t)sb.st_size > (uint64_t)SIZE_MAX / 2)
    return;
  size_t len = (size_t)sb.st_size;
  void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, r->fd, 0);
  if (m == MAP_FAILED) return;
  (void)madvise(m, len, MADV_SEQUENTIAL);
  const char *p = m;
  size_t end = len - DL_LINES_PAD;
  const char *nl = p + end;
  while (nl > p && nl[-1] != '\n') nl--;
  nl = nl > p ? nl - 1 : NULL;
  size_t start = len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  if (!nl || (size_t)(nl - p) + 1 <= start ||
      lseek(r->fd, (off_t)(nl - p) + 1, SEEK_SET) < 0) {
    munmap(m, len);
    return;
  }
  r->map = p;
  r->map_len = len;
  r->mpos = start;
  r->bytes = start;
  r->mend = (size_t)(nl - p) + 1;
  r->first = 0; /* the byte-order mark is behind us */
}

int dl_lines_open(dl_lines *r, const char *path, dl_err *e) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  snprintf(r->path, sizeof r->path, "%s", path);
  if (strcmp(path, "-") == 0) {
    r->fd = 0;
  } else {
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
      return dl_errf(e, DL_ENOINPUT, "%s: cannot open: %s", path,
                     strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      close(r->fd);
      r->fd = -1;
      return dl_errf(e, DL_ENOINPUT, "%s: is a folder, expected a file", path);
    }
  }
  r->cap = DL_LINES_CHUNK + DL_LINES_MAXLINE;
  r->buf = calloc(1, r->cap + DL_LINES_PAD);
  if (!r->buf) {
    if (r->fd > 0) close(r->fd);
    r->fd = -1;
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  r->first = 1;
  if (r->fd > 0) try_map(r);
  return DL_OK;
}

/* Moves the unread tail to the front and reads more; 0 when nothing new. */
static int refill(dl_lines *r, dl_err *e) {
  if (r->eof) return 0;
  if (r->pos > 0) {
    memmove(r->buf, r->buf + r->pos, r->end - r->pos);
    r->end -= r->pos;
    r->pos = 0;
  }
  size_t room = r->cap - r->end;
  if (room == 0) return 0;
  ssize_t k;
  do {
    k = read(r->fd, r->buf + r->end, room < DL_LINES_CHUNK ? room : DL_LINES_CHUNK);
  } while (k < 0 && errno == EINTR);
  if (k < 0)
    return dl_errf(e, DL_EIO, "%s: read error after line %llu: %s", r->path,
                   (unsigned long long)r->lineno, strerror(errno));
  if (k == 0) {
    r->eof = 1;
    return 0;
  }
  r->end += (size_t)k;
  memset(r->buf + r->end, 0, DL_LINES_PAD); /* defined bytes for wide loads */
  if (r->first && r->end >= 3) {
    r->first = 0;
    if (memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) r->pos = 3, r->bytes += 3;
  }
  return 1;
}

int dl_lines_next(dl_lines *r, const char **line, size_t *len, int *too_long,
                  dl_err *e) {
  *too_long = 0;
  if (r->mpos < r->mend) { /* mapped: every line there ends in '\n' */
    const char *s = r->map + r->mpos;
    const char *nl = memchr(s, '\n', r->mend - r->mpos);
    size_t n = (size_t)(nl - s);
    r->mpos += n + 1;
    r->bytes += n + 1;
    r->lineno++;
    if (n >= DL_LINES_MAXLINE) {
      *too_long = 1;
      *line = "";
      *len = 0;
      return 1;
    }
    if (n && s[n - 1] == '\r') n--;
    *line = s;
    *len = n;
    return 1;
  }
  for (;;) {
    char *s = r->buf + r->pos;
    size_t avail = r->end - r->pos;
    char *nl = avail ? memchr(s, '\n', avail) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - s);
      r->pos += n + 1;
      r->bytes += n + 1;
      r->lineno++;
      if (n >= DL_LINES_MAXLINE) { /* as when its end was not yet read */
        *too_long = 1;
        *line = "";
        *len = 0;
        return 1;
      }
      if (n && s[n - 1] == '\r') n--;
      *line = s;
      *len = n;
      return 1;
    }
    if (avail >= DL_LINES_MAXLINE) {
      /* over-long line: hand out its start, then skip to its end */
      *too_long = 1;
      r->lineno++;
      *line = s;
      *len = DL_LINES_MAXLINE;
      r->pos = r->end;
      r->bytes += avail;
      for (;;) {
        int k = refill(r, e);
        if (k < 0) return k;
        if (k == 0) break;
        char *p = memchr(r->buf, '\n', r->end);
        if (p) {
          r->bytes += (size_t)(p - r->buf) + 1;
          r->pos = (size_t)(p - r->buf) + 1;
          break;
        }
        r->bytes += r->end;
        r->pos = r->end;
      }
      /* the copy at *line may have been overwritten: return the kept prefix */
      *line = "";
      *len = 0;
      return 1;
    }
    int k = refill(r, e);
    if (k < 0) return k;
    if (k == 0) {
      if (r->pos < r->end) { /* last line without a newline */
        size_t n = r->end - r->pos;
        s = r->buf + r->pos;
        r->pos = r->end;
        r->bytes += n;
        if (n && s[n - 1] == '\r') n--;
        r->lineno++;
        *line = s;
        *len = n;
        return 1;
      }
      return 0;
    }
  }
}

/* Skips the rest of an over-long line whose first part is [pos, end). */
static int skip_long(dl_lines *r, dl_err *e) {
  size_t avail = r->end - r->pos;
  r->pos = r->end;
  r->bytes += avail;
  for (;;) {
    int k = refill(r, e);
    if (k < 0) return k;
    if (k == 0) return 0;
    char *p = memchr(r->buf, '\n', r->end);
    if (p) {
      r->bytes += (size_t)(p - r->buf) + 1;
      r->pos = (size_t)(p - r->buf) + 1;
      return 0;
    }
    r->bytes += r->end;
    r->pos = r->end;
  }
}

int dl_lines_block(dl_lines *r, const char **p, size_t *n, int *too_long,
                   dl_err *e) {
  *too_long = 0;
  if (r->mpos < r->mend) { /* the whole mapped part at once */
    *p = r->map + r->mpos;
    *n = r->mend - r->mpos;
    r->bytes += *n;
    r->mpos = r->mend;
    return 1;
  }
  for (;;) {
    char *s = r->buf + r->pos;
    size_t avail = r->end - r->pos;
    char *nl = s + avail; /* last '\n': usually within a line of the end */
    while (nl > s && nl[-1] != '\n') nl--;
    if (nl > s) {
      nl--;
      size_t m = (size_t)(nl - s) + 1;
      r->pos += m;
      r->bytes += m;
      *p = s;
      *n = m;
      return 1;
    }
    if (avail >= DL_LINES_MAXLINE) { /* as in dl_lines_next */
      *too_long = 1;
      *p = "";
      *n = 0;
      int k = skip_long(r, e);
      return k < 0 ? k : 1;
    }
    int k = refill(r, e);
    if (k < 0) return k;
    if (k == 0) {
      if (r->pos == r->end) return 0;
      *p = r->buf + r->pos; /* last line without a newline */
      *n = r->end - r->pos;
      r->bytes += *n;
      r->pos = r->end;
      return 1;
    }
  }
}

void dl_lines_close(dl_lines *r) {
  if (r->map) munmap((void *)(uintptr_t)r->map, r->map_len);
  r->map = NULL;
  if (r->fd > 0) close(r->fd);
  r->fd = -1;
  free(r->buf);
  r->buf = NULL;
}
