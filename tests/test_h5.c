/* test_h5.c: HDF5 writer primitives and SHA-256, read back through the HDF5 C API.
 * `test_h5 --write PATH` writes the sample file for tests/test_h5_read.sh. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_h5.h"
#include "dl_hash.h"
#include "dl_test.h"

static const double tcol[] = {1555029596.0, 1555029597.0, NAN, -0.5};
static const int32_t seg[] = {-1, 0, 7, 2147483647};
static const uint32_t flg[] = {0, 1u << 9, 0xffffffffu, 5};
static const int64_t way[] = {-9007199254740993LL, 0, 123456789012LL, 1};
static const uint8_t u8[] = {0, 1, 255, 3};
static const char *const names[] = {"长安街", "Chang'an Avenue", "", "优"};

/* Writes the reference file; returns the status of the first failure. */
static int write_sample(const char *path, int force, dl_err *e) {
  dl_h5 *h;
  int rc = dl_h5_create(path, force, &h, e);
  if (rc) return rc;
  if (!rc) rc = dl_h5_attr_str(h, "/", "dustload_version", "0.1.0", e);
  if (!rc) rc = dl_h5_attr_str(h, "/", "configuration", "grid_hz = 1\nv_ref_kmh = 30\n", e);
  if (!rc) rc = dl_h5_attr_f64(h, "/", "calib_a", 0.04, e);
  double lags[] = {2.0, -3.0, 7.5};
  if (!rc) rc = dl_h5_attr_f64v(h, "/", "lags_s", lags, 3, e);
  if (!rc) rc = dl_h5_group(h, "/samples", e);
  if (!rc) rc = dl_h5_column(h, "/samples/time", DL_H5_F64, tcol, 4, "s",
                             "UTC seconds since 1970-01-01", e);
  if (!rc) rc = dl_h5_column(h, "/samples/segment", DL_H5_I32, seg, 4, "", "segment index", e);
  if (!rc) rc = dl_h5_column(h, "/samples/flags", DL_H5_U32, flg, 4, NULL, "validity flags", e);
  if (!rc) rc = dl_h5_column(h, "/segments/osm_way", DL_H5_I64, way, 4, NULL, NULL, e);
  if (!rc) rc = dl_h5_column(h, "/segments/grade", DL_H5_U8, u8, 4, NULL, "grade", e);
  if (!rc) rc = dl_h5_column_str(h, "/roads/name", names, 4, "road name", e);
  if (!rc) rc = dl_h5_column(h, "/match/points", DL_H5_F64, NULL, 0, "1", "empty column", e);
  if (!rc) rc = dl_h5_column_str(h, "/match/names", NULL, 0, "empty strings", e);
  if (!rc) rc = dl_h5_attr_str(h, "/samples/time", "units", "s", e); /* replace */
  if (!rc) rc = dl_h5_group(h, "/district", e);
  if (!rc) rc = dl_h5_attr_str(h, "/district", "note", "区", e);
  if (rc) {
    dl_h5_abort(h);
    return rc;
  }
  return dl_h5_commit(h, e);
}

static char *read_str_attr(hid_t f, const char *obj, const char *name) {
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(a >= 0);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  char *s = NULL;
  assert_true(H5Aread(a, t, &s) >= 0);
  char *copy = strdup(s);
  H5free_memory(s);
  H5Tclose(t);
  H5Aclose(a);
  return copy;
}

static hsize_t read_col(hid_t f, const char *path, hid_t mtype, void *buf) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  assert_true(d >= 0);
  hid_t sp = H5Dget_space(d);
  hsize_t n = 0;
  assert_int_equal(H5Sget_simple_extent_ndims(sp), 1);
  H5Sget_simple_extent_dims(sp, &n, NULL);
  if (n) assert_true(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  /* shuffle + deflate on a chunked layout */
  hid_t dcpl = H5Dget_create_plist(d);
  assert_int_equal(H5Pget_layout(dcpl), H5D_CHUNKED);
  assert_int_equal(H5Pget_nfilters(dcpl), 2);
  unsigned flags;
  size_t nelem = 1;
  unsigned level;
  assert_int_equal(H5Pget_filter2(dcpl, 0, &flags, &nelem, &level, 0, NULL, NULL),
                   H5Z_FILTER_SHUFFLE);
  nelem = 1;
  assert_int_equal(H5Pget_filter2(dcpl, 1, &flags, &nelem, &level, 0, NULL, NULL),
                   H5Z_FILTER_DEFLATE);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Dclose(d);
  return n;
}

static void h5_writes_columns_and_attrs_read_back(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/run.h5", dl_tmpdir());
  dl_err e;
  assert_int_equal(write_sample(path, 0, &e), DL_OK);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  double t[4];
  assert_int_equal(read_col(f, "/samples/time", H5T_NATIVE_DOUBLE, t), 4);
  assert_true(t[0] == tcol[0] && t[1] == tcol[1] && isnan(t[2]) && t[3] == -0.5);
  int32_t s[4];
  assert_int_equal(read_col(f, "/samples/segment", H5T_NATIVE_INT32, s), 4);
  assert_memory_equal(s, seg, sizeof seg);
  uint32_t fl[4];
  read_col(f, "/samples/flags", H5T_NATIVE_UINT32, fl);
  assert_memory_equal(fl, flg, sizeof flg);
  int64_t w[4];
  read_col(f, "/segments/osm_way", H5T_NATIVE_INT64, w);
  assert_memory_equal(w, way, sizeof way);
  uint8_t g[4];
  read_col(f, "/segments/grade", H5T_NATIVE_UINT8, g);
  assert_memory_equal(g, u8, sizeof u8);
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, H5T_VARIABLE);
  H5Tset_cset(st, H5T_CSET_UTF8);
  char *rn[4];
  assert_int_equal(read_col(f, "/roads/name", st, rn), 4);
  for (int i = 0; i < 4; i++) {
    assert_string_equal(rn[i], names[i]);
    H5free_memory(rn[i]);
  }
  double empty[1];
  assert_int_equal(read_col(f, "/match/points", H5T_NATIVE_DOUBLE, empty), 0);
  assert_int_equal(read_col(f, "/match/names", st, empty), 0);
  H5Tclose(st);
  char *a = read_str_attr(f, "/samples/time", "units");
  assert_string_equal(a, "s");
  free(a);
  a = read_str_attr(f, "/samples/time", "long_name");
  assert_string_equal(a, "UTC seconds since 1970-01-01");
  free(a);
  a = read_str_attr(f, "/", "configuration");
  assert_string_equal(a, "grid_hz = 1\nv_ref_kmh = 30\n");
  free(a);
  a = read_str_attr(f, "/district", "note");
  assert_string_equal(a, "区");
  free(a);
  assert_int_equal(H5Aexists_by_name(f, "/samples/flags", "units", H5P_DEFAULT), 0);
  double ca, lags[3];
  hid_t at = H5Aopen_by_name(f, "/", "calib_a", H5P_DEFAULT, H5P_DEFAULT);
  H5Aread(at, H5T_NATIVE_DOUBLE, &ca);
  H5Aclose(at);
  assert_true(ca == 0.04);
  at = H5Aopen_by_name(f, "/", "lags_s", H5P_DEFAULT, H5P_DEFAULT);
  H5Aread(at, H5T_NATIVE_DOUBLE, lags);
  H5Aclose(at);
  assert_true(lags[0] == 2 && lags[1] == -3 && lags[2] == 7.5);
  H5Fclose(f);
}

static int count_tmp_files(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

static void h5_refuses_overwrite_unless_forced(void **state) {
  (void)state;
  const char *dir = dl_tmpdir();
  char path[1024];
  snprintf(path, sizeof path, "%s/run.h5", dir);
  FILE *fp = fopen(path, "w");
  fputs("precious", fp);
  fclose(fp);
  dl_err e;
  dl_h5 *h = NULL;
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_EEXIST);
  assert_null(h);
  assert_non_null(strstr(e.msg, "run.h5: exists"));
  /* a file appearing while we write is not replaced either */
  unlink(path);
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_OK);
  assert_int_equal(dl_h5_column(h, "/x", DL_H5_F64, tcol, 4, "s", NULL, &e), DL_OK);
  fp = fopen(path, "w");
  fputs("precious", fp);
  fclose(fp);
  assert_int_equal(dl_h5_commit(h, &e), DL_EEXIST);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 8);
  assert_int_equal(count_tmp_files(dir), 0);
  /* forced: replaced by a valid HDF5 file */
  assert_int_equal(write_sample(path, 1, &e), DL_OK);
  assert_true(H5Fis_hdf5(path) > 0);
  assert_int_equal(count_tmp_files(dir), 0);
}

static void h5_failure_removes_temp_and_says_why(void **state) {
  (void)state;
  const char *dir = dl_tmpdir();
  char path[1024];
  snprintf(path, sizeof path, "%s/run.h5", dir);
  dl_err e;
  dl_h5 *h;
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_OK);
  assert_int_equal(access(dl_h5_tmp_path(h), F_OK), 0);
  assert_int_equal(dl_h5_column(h, "/a/b", DL_H5_F64, tcol, 4, NULL, NULL, &e), DL_OK);
  /* the same dataset twice: HDF5 refuses, its reason is kept */
  assert_int_equal(dl_h5_column(h, "/a/b", DL_H5_F64, tcol, 4, NULL, NULL, &e), DL_EIO);
  assert_non_null(strstr(e.msg, "cannot create dataset /a/b"));
  print_message("%s\n", e.msg);
  assert_non_null(strstr(e.msg, "H5Dcreate2"));
  assert_int_equal(count_tmp_files(dir), 0);
  /* later calls and the commit repeat the failure */
  assert_int_equal(dl_h5_group(h, "/c", &e), DL_EIO);
  assert_int_equal(dl_h5_commit(h, &e), DL_EIO);
  assert_int_equal(access(path, F_OK), -1);
  /* attribute on a missing object */
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_OK);
  assert_int_equal(dl_h5_attr_str(h, "/nowhere", "x", "y", &e), DL_EIO);
  assert_non_null(strstr(e.msg, "/nowhere"));
  dl_h5_abort(h);
  assert_int_equal(count_tmp_files(dir), 0);
  /* abort of a healthy file removes it too */
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_OK);
  dl_h5_abort(h);
  dl_h5_abort(NULL);
  assert_int_equal(count_tmp_files(dir), 0);
  assert_int_equal(access(path, F_OK), -1);
  /* a folder that does not exist */
  snprintf(path, sizeof path, "%s/no/such/dir/run.h5", dir);
  assert_int_equal(dl_h5_create(path, 0, &h, &e), DL_ECANTCREAT);
  assert_non_null(strstr(e.msg, "cannot create temporary file"));
}

static void sha256_matches_known_digests(void **state) {
  (void)state;
  char hex[DL_SHA256_HEX];
  dl_err e;
  assert_int_equal(dl_sha256_mem("abc", 3, hex, &e), DL_OK);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(dl_sha256_mem("", 0, hex, &e), DL_OK);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  /* a file larger than the read buffer: 1,000,000 x 'a' (FIPS 180-2 vector) */
  char path[1024];
  snprintf(path, sizeof path, "%s/a.bin", dl_tmpdir());
  FILE *f = fopen(path, "wb");
  for (int i = 0; i < 1000000; i++) fputc('a', f);
  fclose(f);
  assert_int_equal(dl_sha256_file(path, hex, &e), DL_OK);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  assert_int_equal(dl_sha256_file("/nonexistent/x", hex, &e), DL_ENOINPUT);
  assert_string_equal(hex, "");
  assert_non_null(strstr(e.msg, "/nonexistent/x"));
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write") == 0) {
    dl_err e;
    int rc = write_sample(argv[2], 1, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    return rc ? 1 : 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(h5_writes_columns_and_attrs_read_back),
      cmocka_unit_test(h5_refuses_overwrite_unless_forced),
      cmocka_unit_test(h5_failure_removes_temp_and_says_why),
      cmocka_unit_test(sha256_matches_known_digests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
