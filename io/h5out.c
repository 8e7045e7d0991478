/* h5out.c: HDF5 writer primitives: temp file, columns, attributes, atomic commit. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_h5.h"

#define DEFLATE_LEVEL 4  /* most of level 9's gain at a fraction of its time */
#define CHUNK_BYTES (1 << 18)

struct dl_h5 {
  hid_t file;
  int force;
  int failed;        /* status of the first failure, then no more work */
  char *path, *tmp;
  dl_err err;        /* the failure, repeated by commit */
};

/* Collects the outermost and innermost messages of HDF5's error stack. */
typedef struct h5msg {
  char outer[256], inner[256];
  int n;
} h5msg;

static herr_t walk_cb(unsigned n, const H5E_error2_t *d, void *data) {
  h5msg *m = data;
  const char *desc = d->desc && d->desc[0] ? d->desc : "(no description)";
  if (m->n == 0) snprintf(m->outer, sizeof m->outer, "%s: %s", d->func_name, desc);
  snprintf(m->inner, sizeof m->inner, "%s: %s", d->func_name, desc);
  m->n++;
  return 0;
}

/* Takes HDF5's error stack; must run right after the failing call, since
 * the next successful API call (even a close) clears it. */
static void grab(h5msg *m) {
  m->n = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, m);
  H5Eclear2(H5E_DEFAULT);
}

/* Records the failure with HDF5's explanation (taken now when got is
 * NULL), removes the temp file. */
static int fail(dl_h5 *h, int code, dl_err *e, const h5msg *got, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(dl_h5 *h, int code, dl_err *e, const h5msg *got, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  h5msg m;
  if (got)
    m = *got;
  else
    grab(&m);
  if (m.n > 1)
    dl_errf(&h->err, code, "%s: %s: %s (%s)", h->path, what, m.outer, m.inner);
  else if (m.n == 1)
    dl_errf(&h->err, code, "%s: %s: %s", h->path, what, m.outer);
  else
    dl_errf(&h->err, code, "%s: %s", h->path, what);
  if (e) *e = h->err;
  if (!h->failed) {
    h->failed = code;
    if (h->file >= 0) H5Fclose(h->file);
    h->file = -1;
    unlink(h->tmp);
  }
  return code;
}

/* Repeats an earlier failure instead of working on a closed file. */
static int check(dl_h5 *h, dl_err *e) {
  if (!h) return dl_errf(e, DL_EUSAGE, "HDF5 writer: no file");
  if (h->failed) {
    if (e) *e = h->err;
    return h->failed;
  }
  return DL_OK;
}

const char *dl_h5_tmp_path(const dl_h5 *h) { return h ? h->tmp : NULL; }

static void h5_free(dl_h5 *h) {
  free(h->path);
  free(h->tmp);
  free(h);
}

int dl_h5_create(const char *path, int force, dl_h5 **out, dl_err *e) {
  *out = NULL;
  /* HDF5 would print its error stack to stderr; we report it instead. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  struct stat st;
  if (!force && stat(path, &st) == 0)
    return dl_errf(e, DL_EEXIST, "%s: exists (use --force to replace it)", path);
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = slash ? slash + 1 : path;
  if (!*base) return dl_errf(e, DL_EUSAGE, "%s: output path names a directory", path);
  dl_h5 *h = calloc(1, sizeof *h);
  size_t tlen = strlen(path) + 48;
  if (h) {
    h->file = -1;
    h->force = force;
    h->path = strdup(path);
    h->tmp = malloc(tlen);
  }
  if (!h || !h->path || !h->tmp) {
    if (h) h5_free(h);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  snprintf(h->tmp, tlen, "%.*s.%s.tmp.%ld", (int)dirlen, path, base, (long)getpid());
  h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (h->file < 0) {
    fail(h, DL_ECANTCREAT, e, NULL, "cannot create temporary file %s", h->tmp);
    h5_free(h);
    return DL_ECANTCREAT;
  }
  *out = h;
  return DL_OK;
}

/* Link creation property list that creates missing parent groups. */
static hid_t parents_lcpl(void) {
  hid_t l = H5Pcreate(H5P_LINK_CREATE);
  if (l >= 0 && H5Pset_create_intermediate_group(l, 1) < 0) {
    H5Pclose(l);
    return -1;
  }
  return l;
}

int dl_h5_group(dl_h5 *h, const char *path, dl_err *e) {
  int rc = check(h, e);
  if (rc) return rc;
  if (strcmp(path, "/") == 0) return DL_OK;
  htri_t ex = H5Lexists(h->file, path, H5P_DEFAULT);
  if (ex > 0) return DL_OK;
  hid_t l = parents_lcpl();
  hid_t g = l >= 0 ? H5Gcreate2(h->file, path, l, H5P_DEFAULT, H5P_DEFAULT) : -1;
  h5msg m;
  if (g < 0) grab(&m);
  if (l >= 0) H5Pclose(l);
  if (g < 0) return fail(h, DL_EIO, e, &m, "cannot create group %s", path);
  H5Gclose(g);
  return DL_OK;
}

static hid_t utf8_vlen(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return -1;
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

/* Writes (replacing) a scalar or 1-D attribute on obj. */
static int put_attr(dl_h5 *h, const char *obj, const char *name, hid_t type, const void *buf,
                    size_t n, dl_err *e) {
  hid_t o = H5Oopen(h->file, obj, H5P_DEFAULT);
  if (o < 0) return fail(h, DL_EIO, e, NULL, "cannot open %s for attribute %s", obj, name);
  if (H5Aexists(o, name) > 0) H5Adelete(o, name);
  hsize_t dim = n;
  hid_t sp = n ? H5Screate_simple(1, &dim, NULL) : H5Screate(H5S_SCALAR);
  hid_t a = sp >= 0 ? H5Acreate2(o, name, type, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
  herr_t w = a >= 0 ? H5Awrite(a, type, buf) : -1;
  h5msg m;
  if (w < 0) grab(&m);
  if (a >= 0) H5Aclose(a);
  if (sp >= 0) H5Sclose(sp);
  H5Oclose(o);
  if (w < 0) return fail(h, DL_EIO, e, &m, "cannot write attribute %s of %s", name, obj);
  return DL_OK;
}

int dl_h5_attr_str(dl_h5 *h, const char *obj, const char *name, const char *value,
                   dl_err *e) {
  int rc = check(h, e);
  if (rc) return rc;
  hid_t t = utf8_vlen();
  if (t < 0) return fail(h, DL_ELIB, e, NULL, "cannot make a UTF-8 string type");
  const char *v = value ? value : "";
  rc = put_attr(h, obj, name, t, &v, 0, e);
  H5Tclose(t);
  return rc;
}

int dl_h5_attr_f64(dl_h5 *h, const char *obj, const char *name, double value, dl_err *e) {
  int rc = check(h, e);
  return rc ? rc : put_attr(h, obj, name, H5T_NATIVE_DOUBLE, &value, 0, e);
}

int dl_h5_attr_f64v(dl_h5 *h, const char *obj, const char *name, const double *v,
                    size_t n, dl_err *e) {
  int rc = check(h, e);
  if (rc) return rc;
  if (n == 0) return dl_errf(e, DL_EUSAGE, "%s: attribute %s of %s has no values", h->path,
                             name, obj);
  return put_attr(h, obj, name, H5T_NATIVE_DOUBLE, v, n, e);
}

/* Creates and fills one chunked, compressed 1-D dataset. */
static int column(dl_h5 *h, const char *path, hid_t ftype, hid_t mtype, size_t elsize,
                  const void *data, size_t n, const char *units, const char *long_name,
                  dl_err *e) {
  hsize_t dim = n, maxdim = H5S_UNLIMITED;
  /* Chunks of about 256 KiB, never empty: a zero-length column needs a
   * chunk of at least one element. */
  hsize_t chunk = CHUNK_BYTES / elsize;
  if (chunk > n) chunk = n;
  if (chunk < 1) chunk = 1;
  hid_t sp = H5Screate_simple(1, &dim, &maxdim);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t lcpl = parents_lcpl();
  hid_t d = -1;
  herr_t w = -1;
  h5msg m = {.n = 0};
  if (sp >= 0 && dcpl >= 0 && lcpl >= 0 && H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
      H5Pset_shuffle(dcpl) >= 0 && H5Pset_deflate(dcpl, DEFLATE_LEVEL) >= 0) {
    d = H5Dcreate2(h->file, path, ftype, sp, lcpl, dcpl, H5P_DEFAULT);
    if (d >= 0) w = n ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
  }
  if (d < 0 || w < 0) grab(&m);
  if (d >= 0) H5Dclose(d);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (sp >= 0) H5Sclose(sp);
  if (d < 0) return fail(h, DL_EIO, e, &m, "cannot create dataset %s (%zu values)", path, n);
  if (w < 0) return fail(h, DL_EIO, e, &m, "cannot write dataset %s (%zu values)", path, n);
  int rc = DL_OK;
  if (units) rc = dl_h5_attr_str(h, path, "units", units, e);
  if (!rc && long_name) rc = dl_h5_attr_str(h, path, "long_name", long_name, e);
  return rc;
}

int dl_h5_column(dl_h5 *h, const char *path, dl_h5_type type, const void *data, size_t n,
                 const char *units, const char *long_name, dl_err *e) {
  int rc = check(h, e);
  if (rc) return rc;
  hid_t ft, mt;
  size_t sz;
  switch (type) {
    case DL_H5_F64: ft = H5T_IEEE_F64LE, mt = H5T_NATIVE_DOUBLE, sz = 8; break;
    case DL_H5_I32: ft = H5T_STD_I32LE, mt = H5T_NATIVE_INT32, sz = 4; break;
    case DL_H5_U32: ft = H5T_STD_U32LE, mt = H5T_NATIVE_UINT32, sz = 4; break;
    case DL_H5_I64: ft = H5T_STD_I64LE, mt = H5T_NATIVE_INT64, sz = 8; break;
    case DL_H5_U8: ft = H5T_STD_U8LE, mt = H5T_NATIVE_UINT8, sz = 1; break;
    default: return dl_errf(e, DL_EUSAGE, "%s: dataset %s: unknown column type %d", h->path,
                            path, (int)type);
  }
  if (n && !data)
    return dl_errf(e, DL_EUSAGE, "%s: dataset %s: no data for %zu values", h->path, path, n);
  return column(h, path, ft, mt, sz, data, n, units, long_name, e);
}

int dl_h5_column_str(dl_h5 *h, const char *path, const char *const *s, size_t n,
                     const char *long_name, dl_err *e) {
  int rc = check(h, e);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++)
    if (!s[i])
      return dl_errf(e, DL_EUSAGE, "%s: dataset %s: string %zu is NULL", h->path, path, i);
  hid_t t = utf8_vlen();
  if (t < 0) return fail(h, DL_ELIB, e, NULL, "cannot make a UTF-8 string type");
  rc = column(h, path, t, t, sizeof(char *), s, n, NULL, long_name, e);
  H5Tclose(t);
  return rc;
}

void dl_h5_abort(dl_h5 *h) {
  if (!h) return;
  if (h->file >= 0) H5Fclose(h->file);
  if (!h->failed) unlink(h->tmp);
  h5_free(h);
}

/* fsync of a path's contents (file or directory). */
static int sync_path(const char *p) {
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = fsync(fd);
  int en = errno;
  close(fd);
  errno = en;
  return r;
}

int dl_h5_commit(dl_h5 *h, dl_err *e) {
  int rc = check(h, e);
  if (rc) {
    dl_h5_abort(h);
    return rc;
  }
  herr_t c = H5Fclose(h->file);
  h->file = -1;
  if (c < 0) {
    rc = fail(h, DL_EIO, e, NULL, "closing the temporary file %s failed", h->tmp);
    h5_free(h);
    return rc;
  }
  if (sync_path(h->tmp) != 0) {
    rc = dl_errf(e, DL_EIO, "%s: fsync of %s failed: %s", h->path, h->tmp, strerror(errno));
    goto bad;
  }
  if (h->force) {
    if (rename(h->tmp, h->path) != 0) {
      rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot rename %s into place: %s", h->path, h->tmp,
                   strerror(errno));
      goto bad;
    }
  } else if (link(h->tmp, h->path) == 0) {
    /* link() refuses an existing target atomically, unlike rename(). */
    unlink(h->tmp);
  } else if (errno == EEXIST) {
    rc = dl_errf(e, DL_EEXIST, "%s: appeared while writing; not replaced (use --force)",
                 h->path);
    goto bad;
  } else {
    /* No hard links on this file system: check, then rename. */
    struct stat st;
    if (stat(h->path, &st) == 0) {
      rc = dl_errf(e, DL_EEXIST, "%s: exists; not replaced (use --force)", h->path);
      goto bad;
    }
    if (rename(h->tmp, h->path) != 0) {
      rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot rename %s into place: %s", h->path, h->tmp,
                   strerror(errno));
      goto bad;
    }
  }
  /* Make the new directory entry durable too. */
  {
    const char *slash = strrchr(h->path, '/');
    char dir[4096];
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else if (slash == h->path)
      snprintf(dir, sizeof dir, "/");
    else
      snprintf(dir, sizeof dir, "%.*s", (int)(slash - h->path), h->path);
    sync_path(dir); /* best effort: some file systems refuse directory fsync */
  }
  h5_free(h);
  return DL_OK;
bad:
  unlink(h->tmp);
  h5_free(h);
  return rc;
}
