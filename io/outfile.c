/* outfile.c: atomic output files (see dl_outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_outfile.h"

/* ---- atomic output ---------------------------------------------------- */
static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static void release(dl_outfile *o) {
  free(o->path), free(o->tmp);
  o->path = o->tmp = NULL;
  o->f = NULL;
}

void dl_outfile_abort(dl_outfile *o) {
  if (!o) return;
  if (o->f) fclose(o->f);
  if (o->tmp) unlink(o->tmp);
  release(o);
}

int dl_outfile_open(dl_outfile *o, const char *path, int force, dl_err *e) {
  memset(o, 0, sizeof *o);
  o->force = force;
  if (!force && access(path, F_OK) == 0)
    return dl_errf(e, DL_EEXIST, "%s: exists (use --force to replace it)", path);
  size_t n = strlen(path);
  o->path = dupstr(path);
  o->tmp = malloc(n + 16);
  if (!o->path || !o->tmp) {
    release(o);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  /* ".name.XXXXXX" beside the target, so rename stays in one file system */
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  memcpy(o->tmp, path, dirlen);
  snprintf(o->tmp + dirlen, n + 16 - dirlen, ".%s.XXXXXX", path + dirlen);
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    int err = errno;
    free(o->tmp);
    o->tmp = NULL;
    release(o);
    return dl_errf(e, DL_ECANTCREAT, "%s: cannot create a temporary file beside it: %s", path,
                   strerror(err));
  }
  /* mkstemp makes the file private; give it the mode a plain create would */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  o->f = fdopen(fd, "w");
  if (!o->f) {
    close(fd);
    unlink(o->tmp);
    release(o);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  setvbuf(o->f, NULL, _IOFBF, 1 << 16);
  return DL_OK;
}

int dl_outfile_commit(dl_outfile *o, dl_err *e) {
  int rc = DL_OK;
  FILE *f = o->f;
  o->f = NULL;
  if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
    rc = dl_errf(e, DL_EIO, "%s: write failed: %s", o->path, strerror(errno));
    fclose(f);
  } else if (fclose(f) != 0) {
    rc = dl_errf(e, DL_EIO, "%s: close failed: %s", o->path, strerror(errno));
  }
  if (rc == DL_OK) {
    if (o->force) {
      if (rename(o->tmp, o->path) != 0)
        rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot move the temporary file into place: %s", o->path,
                     strerror(errno));
    } else if (link(o->tmp, o->path) != 0) { /* refuses an existing target atomically */
      int err = errno;
      if (err == EEXIST) {
        rc = dl_errf(e, DL_EEXIST, "%s: exists (use --force to replace it)", o->path);
      } else if (access(o->path, F_OK) != 0 && rename(o->tmp, o->path) == 0) {
        /* no hard links on this file system: checked, then renamed */
      } else {
        rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot move the temporary file into place: %s",
                     o->path, strerror(err));
      }
    }
  }
  unlink(o->tmp); /* the link's second name, or the failed output */
  if (rc == DL_OK) {
    const char *slash = strrchr(o->path, '/');
    char *dir = slash ? strndup(o->path, (size_t)(slash - o->path) + 1) : dupstr(".");
    if (dir) {
      int dfd = open(dir, O_RDONLY | O_DIRECTORY);
      if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: make the rename durable */
        close(dfd);
      }
      free(dir);
    }
  }
  release(o);
  return rc;
}
