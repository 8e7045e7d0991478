/* dl_outfile.h: atomic output files: written to a temporary file beside
 * the target, fsync'ed, then moved into place; an existing file is never
 * replaced without force. Every text output of dustload goes through it. */
#ifndef DL_OUTFILE_H
#define DL_OUTFILE_H

#include <stdio.h>

#include "dl_base.h"

typedef struct dl_outfile {
  FILE *f;
  char *path, *tmp;
  int force;
} dl_outfile;

/* Opens a temporary file beside path for writing through o->f. With force
 * 0 an existing path is DL_EEXIST (checked again at commit). */
int dl_outfile_open(dl_outfile *o, const char *path, int force, dl_err *e);
/* Flushes, fsyncs, closes and moves the file into place (link() when
 * force is 0, so an existing file is never replaced; rename() otherwise),
 * then fsyncs the folder. On any failure the temporary file is removed.
 * o is released either way. */
int dl_outfile_commit(dl_outfile *o, dl_err *e);
/* Removes the temporary file and releases o (NULL members allowed). */
void dl_outfile_abort(dl_outfile *o);

#endif
