/* calibfile.c: calibration files (INI) and the run-file columns they are
 * fitted against (HDF5). */
#include "calibfile.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "dl_outfile.h"

typedef struct cctx {
  const char *path;
  dl_calib_file *c;
  dl_err *e;
  int failed;
  int seen[7];
  int lineno;  /* lines handed to inih so far */
  FILE *f;
} cctx;

/* fgets for inih, counting lines (this inih has no line numbers). */
static char *reader(char *str, int num, void *stream) {
  cctx *x = stream;
  char *r = fgets(str, num, x->f);
  if (r) x->lineno++;
  return r;
}

static const char *const keys[] = {"a", "beta", "n", "r2", "rms_log", "created", "vehicle"};

static int number(cctx *x, int line, const char *key, const char *v, double lo, double hi,
                  double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  while (*end == ' ' || *end == '\t') end++;
  if (end == v || *end || errno || !isfinite(d) || d < lo || d > hi) {
    dl_errf(x->e, DL_EFORMAT, "%s:%d: [calibration] %s: expected a number in [%g, %g], got '%s'",
            x->path, line, key, lo, hi, v);
    return 0;
  }
  *out = d;
  return 1;
}

static int on_line(void *user, const char *section, const char *name, const char *value) {
  cctx *x = user;
  int line = x->lineno;
  if (x->failed) return 0;
  if (strcasecmp(section, "calibration")) {
    dl_errf(x->e, DL_EFORMAT, "%s:%d: unexpected section [%s]: a calibration file has only "
            "[calibration]", x->path, line, section);
    return x->failed = 1, 0;
  }
  if (!name) return 1; /* section header */
  int k = -1;
  for (int i = 0; i < 7; i++)
    if (!strcasecmp(name, keys[i])) k = i;
  if (k < 0) {
    dl_errf(x->e, DL_EFORMAT, "%s:%d: [calibration] unknown key '%s' (expected a, beta, n, r2, "
            "rms_log, created, vehicle)", x->path, line, name);
    return x->failed = 1, 0;
  }
  if (x->seen[k]) {
    dl_errf(x->e, DL_EFORMAT, "%s:%d: [calibration] key '%s' given twice (first at line %d)",
            x->path, line, name, x->seen[k]);
    return x->failed = 1, 0;
  }
  x->seen[k] = line;
  double d;
  int ok = 1;
  switch (k) {
    case 0: ok = number(x, line, "a", value, 1e-12, 1e9, &x->c->a); break;
    case 1: ok = number(x, line, "beta", value, 1e-6, 100, &x->c->beta); break;
    case 2: ok = number(x, line, "n", value, 0, 1e9, &d) && d == floor(d); x->c->n = (long)d;
      if (!ok) dl_errf(x->e, DL_EFORMAT, "%s:%d: [calibration] n: expected a whole number, got '%s'",
                       x->path, line, value);
      break;
    case 3: ok = number(x, line, "r2", value, -1e9, 1, &x->c->r2); break;
    case 4: ok = number(x, line, "rms_log", value, 0, 1e9, &x->c->rms_log); break;
    case 5: snprintf(x->c->created, sizeof x->c->created, "%s", value); break;
    default: snprintf(x->c->vehicle, sizeof x->c->vehicle, "%s", value); break;
  }
  if (!ok) return x->failed = 1, 0;
  return 1;
}

int dl_calib_file_read(const char *path, dl_calib_file *c, dl_err *e) {
  memset(c, 0, sizeof *c);
  c->n = -1;
  c->r2 = c->rms_log = NAN;
  FILE *f = fopen(path, "r");
  if (!f) return dl_errf(e, DL_ENOINPUT, "%s: cannot open calibration file: %s", path, strerror(errno));
  cctx x = {path, c, e, 0, {0}, 0, f};
  int r = ini_parse_stream(reader, &x, on_line, &x);
  fclose(f);
  if (x.failed) return e ? e->code : DL_EFORMAT;
  if (r != 0)
    return dl_errf(e, DL_EFORMAT, "%s:%d: not a calibration file line (expected key = value "
                   "under [calibration])", path, r);
  if (!x.seen[0] || !x.seen[1])
    return dl_errf(e, DL_EFORMAT, "%s: a calibration file needs [calibration] a = and beta = "
                   "(missing %s)", path, !x.seen[0] ? "a" : "beta");
  return DL_OK;
}

int dl_calib_file_write(const char *path, const dl_calib_file *c, const char *comment, int force,
                        dl_err *e) {
  dl_outfile a;
  int rc = dl_outfile_open(&a, path, force, e);
  if (rc) return rc;
  FILE *f = a.f;
  fprintf(f, "; dustload calibration: sL = a * max(T_ref_mean, 0)^beta (sL in g/m2, T_ref_mean "
             "in ug/m3)\n; name it in a run manifest: [calibration] file = %s\n[calibration]\n",
          path);
  fprintf(f, "a = %.10g\nbeta = %.10g\n", c->a, c->beta);
  if (c->n >= 0) fprintf(f, "n = %ld\n", c->n);
  if (isfinite(c->r2)) fprintf(f, "r2 = %.6f\n", c->r2);
  if (isfinite(c->rms_log)) fprintf(f, "rms_log = %.6f\n", c->rms_log);
  if (c->created[0]) fprintf(f, "created = %s\n", c->created);
  if (c->vehicle[0]) fprintf(f, "vehicle = %s\n", c->vehicle);
  if (comment) {
    const char *p = comment;
    while (*p) {
      const char *nl = strchr(p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen(p);
      fprintf(f, "; %.*s\n", (int)len, p);
      p += len + (nl != NULL);
    }
  }
  return dl_outfile_commit(&a, e);
}

/* ---- run file columns -------------------------------------------------- */

/* A string attribute of the root as a malloc'ed copy; *out NULL when absent. */
static int read_attr_dup(hid_t file, const char *name, char **out) {
  *out = NULL;
  if (H5Aexists(file, name) <= 0) return 0;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return -1;
  hid_t t = H5Aget_type(a);
  int rc = -1;
  if (H5Tget_class(t) == H5T_STRING) {
    if (H5Tis_variable_str(t) > 0) {
      char *s = NULL;
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, H5T_VARIABLE);
      H5Tset_cset(mt, H5T_CSET_UTF8);
      if (H5Aread(a, mt, &s) >= 0 && s) {
        *out = strdup(s);
        H5free_memory(s);
        rc = *out ? 0 : -1;
      }
      H5Tclose(mt);
    } else {
      size_t sz = H5Tget_size(t);
      char *s = calloc(sz + 1, 1);
      if (s && H5Aread(a, t, s) >= 0) *out = s, s = NULL, rc = 0;
      free(s);
    }
  }
  H5Tclose(t);
  H5Aclose(a);
  return rc;
}

static int read_attr_str(hid_t file, const char *name, char *out, size_t len) {
  char *s;
  int rc = read_attr_dup(file, name, &s);
  snprintf(out, len, "%s", s ? s : "");
  free(s);
  return rc;
}

/* A scalar float64 root attribute, NAN when absent or of another shape. */
static double read_attr_f64(hid_t file, const char *name) {
  double v = NAN;
  if (H5Aexists(file, name) <= 0) return v;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return v;
  hid_t sp = H5Aget_space(a);
  if (sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
    v = NAN;
  if (sp >= 0) H5Sclose(sp);
  H5Aclose(a);
  return v;
}

static int read_group_col(hid_t file, const char *path, const char *group, const char *name,
                          hid_t mtype, size_t esz, void **out, size_t *n, dl_err *e) {
  char full[64];
  snprintf(full, sizeof full, "%s/%s", group, name);
  if (H5Lexists(file, group, H5P_DEFAULT) <= 0 || H5Lexists(file, full, H5P_DEFAULT) <= 0)
    return dl_errf(e, DL_EFORMAT, "%s: no dataset %s: not a dustload run file", path, full);
  hid_t d = H5Dopen2(file, full, H5P_DEFAULT);
  hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
  hsize_t dims[1] = {0};
  int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
           H5Sget_simple_extent_dims(sp, dims, NULL) == 1;
  if (ok && *n != (size_t)-1 && dims[0] != *n) ok = 0;
  void *buf = ok ? malloc(dims[0] ? dims[0] * esz : 1) : NULL;
  if (ok && buf && dims[0] && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) ok = 0;
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  if (!ok || !buf) {
    free(buf);
    return dl_errf(e, DL_EFORMAT, "%s: dataset %s cannot be read as a column of %s rows", path,
                   full, *n == (size_t)-1 ? "any number of" : "the same number of");
  }
  *n = (size_t)dims[0];
  *out = buf;
  return DL_OK;
}

static int read_col(hid_t file, const char *path, const char *name, hid_t mtype, size_t esz,
                    void **out, size_t *n, dl_err *e) {
  return read_group_col(file, path, "/segments", name, mtype, esz, out, n, e);
}

/* Opens a run file read-only with HDF5's error printing off (restored by
 * h5_close_quiet); a precise error when it is missing or not HDF5. */
static int h5_open_quiet(const char *path, hid_t *f, H5E_auto2_t *fn, void **data, dl_err *e) {
  H5Eget_auto2(H5E_DEFAULT, fn, data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  *f = -1;
  FILE *probe = fopen(path, "rb");
  if (!probe) return dl_errf(e, DL_ENOINPUT, "%s: cannot open run file: %s", path, strerror(errno));
  fclose(probe);
  if (H5Fis_hdf5(path) <= 0)
    return dl_errf(e, DL_EFORMAT, "%s: not an HDF5 file (expected a run file from dustload run)", path);
  if ((*f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
    return dl_errf(e, DL_EFORMAT, "%s: cannot open as HDF5", path);
  return DL_OK;
}

int dl_run_samples_read(const char *path, dl_run_samples *s, dl_err *e) {
  memset(s, 0, sizeof *s);
  H5E_auto2_t fn;
  void *data;
  hid_t f;
  int rc = h5_open_quiet(path, &f, &fn, &data, e);
  size_t n = (size_t)-1;
  void *p;
#define COL(name, type, size, field) \
  if (!rc && !(rc = read_group_col(f, path, "/samples", name, type, size, &p, &n, e))) s->field = p
  COL("time", H5T_NATIVE_DOUBLE, 8, time);
  COL("speed", H5T_NATIVE_DOUBLE, 8, speed);
  COL("t_ref", H5T_NATIVE_DOUBLE, 8, t_ref);
  COL("flags", H5T_NATIVE_UINT32, 4, flags);
  COL("segment", H5T_NATIVE_INT32, 4, segment);
#undef COL
  if (!rc) {
    s->n = n;
    read_attr_str(f, "run_id", s->run_id, sizeof s->run_id);
    read_attr_str(f, "network", s->network, sizeof s->network);
    s->calib_a = read_attr_f64(f, "calib_a");
    s->calib_beta = read_attr_f64(f, "calib_beta");
    if (read_attr_dup(f, "input_files", &s->input_files) || read_attr_dup(f, "configuration", &s->configuration))
      rc = dl_errf(e, DL_EFORMAT, "%s: cannot read the input_files or configuration attribute", path);
  }
  if (f >= 0) H5Fclose(f);
  H5Eset_auto2(H5E_DEFAULT, fn, data);
  if (rc) dl_run_samples_free(s);
  return rc;
}

void dl_run_samples_free(dl_run_samples *s) {
  if (!s) return;
  free(s->time), free(s->speed), free(s->t_ref), free(s->flags), free(s->segment);
  free(s->input_files), free(s->configuration);
  memset(s, 0, sizeof *s);
}

int dl_run_segments_read(const char *path, dl_run_segments *s, dl_err *e) {
  memset(s, 0, sizeof *s);
  H5E_auto2_t fn;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &fn, &data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int rc = DL_OK;
  FILE *probe = fopen(path, "rb");
  if (!probe) {
    rc = dl_errf(e, DL_ENOINPUT, "%s: cannot open run file: %s", path, strerror(errno));
    goto out;
  }
  fclose(probe);
  if (H5Fis_hdf5(path) <= 0) {
    rc = dl_errf(e, DL_EFORMAT, "%s: not an HDF5 file (expected a run file from dustload run)", path);
    goto out;
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    rc = dl_errf(e, DL_EFORMAT, "%s: cannot open as HDF5", path);
    goto out;
  }
  size_t n = (size_t)-1;
  void *p;
  if (!(rc = read_col(f, path, "id", H5T_NATIVE_INT32, 4, &p, &n, e))) s->id = p;
  if (!rc && !(rc = read_col(f, path, "t_ref_mean", H5T_NATIVE_DOUBLE, 8, &p, &n, e))) s->t_ref_mean = p;
  if (!rc && !(rc = read_col(f, path, "covered_length", H5T_NATIVE_DOUBLE, 8, &p, &n, e)))
    s->covered_length = p;
  if (!rc && !(rc = read_col(f, path, "length", H5T_NATIVE_DOUBLE, 8, &p, &n, e))) s->length = p;
  if (!rc && !(rc = read_col(f, path, "dust_load", H5T_NATIVE_DOUBLE, 8, &p, &n, e))) s->dust_load = p;
  if (!rc) {
    s->n = n;
    read_attr_str(f, "run_id", s->run_id, sizeof s->run_id);
    read_attr_str(f, "vehicle", s->vehicle, sizeof s->vehicle);
    read_attr_str(f, "network", s->network, sizeof s->network);
  }
  H5Fclose(f);
out:
  H5Eset_auto2(H5E_DEFAULT, fn, data);
  if (rc) dl_run_segments_free(s);
  return rc;
}

void dl_run_segments_free(dl_run_segments *s) {
  if (!s) return;
  free(s->id), free(s->t_ref_mean), free(s->covered_length), free(s->length), free(s->dust_load);
  memset(s, 0, sizeof *s);
}
