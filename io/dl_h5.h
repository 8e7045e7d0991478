/* dl_h5.h: HDF5 writer primitives for the run output (DESIGN.md layout):
 * one file written at a temporary name beside the target, column datasets
 * (chunked, shuffle + deflate, units and long_name), attributes, then
 * close, fsync and rename. A failure removes the temporary file. */
#ifndef DL_H5_H
#define DL_H5_H

#include <stddef.h>

#include "dl_base.h"

typedef struct dl_h5 dl_h5;

typedef enum dl_h5_type {
  DL_H5_F64,
  DL_H5_I32,
  DL_H5_U32,
  DL_H5_I64,
  DL_H5_U8
} dl_h5_type;

/* Opens "DIR/.NAME.tmp.PID" for the target path. DL_EEXIST when path exists
 * and !force; DL_ECANTCREAT when the temporary file cannot be created. */
int dl_h5_create(const char *path, int force, dl_h5 **out, dl_err *e);
/* Creates a group ("/samples"); parents are created as needed. */
int dl_h5_group(dl_h5 *h, const char *path, dl_err *e);
/* Writes a 1-D column of n values (n may be 0) at path ("/samples/time"),
 * creating missing parent groups. units and long_name (UTF-8) become
 * attributes when not NULL. */
int dl_h5_column(dl_h5 *h, const char *path, dl_h5_type type, const void *data, size_t n,
                 const char *units, const char *long_name, dl_err *e);
/* Same for UTF-8 variable-length strings; no entry may be NULL. */
int dl_h5_column_str(dl_h5 *h, const char *path, const char *const *s, size_t n,
                     const char *long_name, dl_err *e);
/* Scalar attributes on a group or dataset ("/" is the root); an existing
 * attribute of that name is replaced. */
int dl_h5_attr_str(dl_h5 *h, const char *obj, const char *name, const char *value,
                   dl_err *e);
int dl_h5_attr_f64(dl_h5 *h, const char *obj, const char *name, double value, dl_err *e);
/* 1-D float64 attribute of n values (n >= 1). */
int dl_h5_attr_f64v(dl_h5 *h, const char *obj, const char *name, const double *v,
                    size_t n, dl_err *e);
/* Closes, fsyncs and moves the file to its final name (never replacing an
 * existing file unless force was given; the check is atomic). Frees h in
 * every case; on failure the temporary file is removed. A failure of any
 * earlier call is returned again here. */
int dl_h5_commit(dl_h5 *h, dl_err *e);
/* Closes and removes the temporary file, frees h. NULL is allowed. */
void dl_h5_abort(dl_h5 *h);
/* The temporary file's path (for messages and tests). */
const char *dl_h5_tmp_path(const dl_h5 *h);

#endif
