/* test_batch_journal.c: the batch journal (append, read back, torn lines,
 * lock), run discovery and shards, and the rank period bounds. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_batch.h"
#include "dl_test.h"
#include "journal.h"

static void rec(dl_journal_rec *r, const char *id, int ok, char *manifest, char *msg) {
  memset(r, 0, sizeof *r);
  snprintf(r->run_id, sizeof r->run_id, "%s", id);
  r->ok = ok;
  memset(r->input_sha, 'a', 64);
  if (ok) {
    snprintf(r->output, sizeof r->output, "%s.h5", id);
    memset(r->output_sha, 'b', 64);
    r->output_bytes = 212653;
  } else {
    r->output_bytes = -1;
  }
  r->wall_s = 1.25;
  r->fixes = 28800;
  r->finished = 1589245200.0; /* 2020-05-12T01:00:00Z */
  r->manifest = manifest;
  r->message = msg;
}

static void journal_round_trips_records(void **st) {
  (void)st;
  char path[512];
  snprintf(path, sizeof path, "%s/journal.tsv", dl_tmpdir());
  dl_journal *j;
  dl_err e;
  assert_int_equal(dl_journal_open(path, &j, &e), 0);
  dl_journal_rec a, b;
  rec(&a, "run-1", 1, "runs/a/manifest.ini", "");
  rec(&b, "run-2", 0, "runs/b/manifest.ini", "gps.nmea:3: bad\tchecksum\nsecond line");
  assert_int_equal(dl_journal_append(j, &a, &e), 0);
  assert_int_equal(dl_journal_append(j, &b, &e), 0);
  dl_journal_close(j);
  dl_journal_recs rs = {0};
  assert_int_equal(dl_journal_read(path, &rs, &e), 0);
  assert_int_equal(rs.n, 2);
  assert_int_equal(rs.torn, 0);
  assert_string_equal(rs.v[0].run_id, "run-1");
  assert_int_equal(rs.v[0].ok, 1);
  assert_string_equal(rs.v[0].output, "run-1.h5");
  assert_int_equal(rs.v[0].output_bytes, 212653);
  assert_int_equal(rs.v[0].fixes, 28800);
  assert_true(fabs(rs.v[0].wall_s - 1.25) < 1e-9);
  assert_true(rs.v[0].finished == 1589245200.0);
  assert_int_equal(strlen(rs.v[0].input_sha), 64);
  assert_string_equal(rs.v[0].manifest, "runs/a/manifest.ini");
  assert_int_equal(rs.v[1].ok, 0);
  assert_string_equal(rs.v[1].output, "");
  assert_int_equal(rs.v[1].output_bytes, -1);
  /* tabs and newlines of a message never break the line */
  assert_string_equal(rs.v[1].message, "gps.nmea:3: bad checksum second line");
  dl_journal_recs_free(&rs);
}

static void journal_ignores_torn_and_damaged_lines(void **st) {
  (void)st;
  char path[512];
  snprintf(path, sizeof path, "%s/journal.tsv", dl_tmpdir());
  dl_journal *j;
  dl_err e;
  dl_journal_rec a;
  rec(&a, "run-1", 1, "m1.ini", "");
  assert_int_equal(dl_journal_open(path, &j, &e), 0);
  assert_int_equal(dl_journal_append(j, &a, &e), 0);
  dl_journal_close(j);
  /* a record whose run id was altered fails its check */
  FILE *f = fopen(path, "rb");
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  char *line2 = strchr(buf, '\n') + 1;
  size_t l2 = n - (size_t)(line2 - buf);
  f = fopen(path, "ab");
  line2[4] = 'X'; /* "run-1" -> "runX1" */
  fwrite(line2, 1, l2, f);
  /* and a record cut by a kill in the middle */
  line2[4] = '-';
  fwrite(line2, 1, l2 / 2, f);
  fclose(f);
  dl_journal_recs rs = {0};
  assert_int_equal(dl_journal_read(path, &rs, &e), 0);
  assert_int_equal(rs.n, 1);
  assert_int_equal(rs.torn, 2);
  dl_journal_recs_free(&rs);
  /* reopening ends the torn line, so the next record reads back */
  dl_journal_rec b;
  rec(&b, "run-2", 1, "m2.ini", "");
  assert_int_equal(dl_journal_open(path, &j, &e), 0);
  assert_int_equal(dl_journal_append(j, &b, &e), 0);
  dl_journal_close(j);
  assert_int_equal(dl_journal_read(path, &rs, &e), 0);
  assert_int_equal(rs.n, 2);
  assert_string_equal(rs.v[1].run_id, "run-2");
  dl_journal_recs_free(&rs);
}

static void journal_refuses_a_second_writer(void **st) {
  (void)st;
  char path[512];
  snprintf(path, sizeof path, "%s/journal.tsv", dl_tmpdir());
  dl_journal *j, *k = NULL;
  dl_err e;
  assert_int_equal(dl_journal_open(path, &j, &e), 0);
  assert_int_equal(dl_journal_open(path, &k, &e), DL_EUNAVAIL);
  assert_null(k);
  assert_non_null(strstr(e.msg, "in use by another batch"));
  dl_journal_close(j);
  assert_int_equal(dl_journal_open(path, &k, &e), 0);
  dl_journal_close(k);
}

static void journal_rejects_a_foreign_file(void **st) {
  (void)st;
  char path[512];
  snprintf(path, sizeof path, "%s/journal.tsv", dl_tmpdir());
  FILE *f = fopen(path, "w");
  fputs("run_id,status\n", f);
  fclose(f);
  dl_journal_recs rs = {0};
  dl_err e;
  assert_int_equal(dl_journal_read(path, &rs, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, ":1: not a dustload batch journal"));
  dl_journal_recs_free(&rs);
  snprintf(path, sizeof path, "%s/none.tsv", dl_tmpdir());
  assert_int_equal(dl_journal_read(path, &rs, &e), 0); /* missing: nothing yet */
  assert_int_equal(rs.n, 0);
}

static void write_manifest(const char *dir, const char *sub, const char *id) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, sub);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/%s/gps.nmea", dir, sub);
  FILE *f = fopen(p, "w");
  fputs("$GPRMC,010000.00,A,3959.00000,N,11620.00000,E,10.0,90.0,120520,,,A*6B\r\n", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/%s/manifest.ini", dir, sub);
  f = fopen(p, "w");
  fprintf(f, "[run]\nid = %s\ntz = +08:00\n\n[gps]\nfile = gps.nmea\n\n"
          "[instrument tyre]\nfile = gps.nmea\nrole = tyre\n\n"
          "[instrument bg]\nfile = gps.nmea\nrole = background\n", id);
  fclose(f);
}

static void batch_finds_manifests_and_refuses_duplicate_ids(void **st) {
  (void)st;
  const char *d = dl_tmpdir();
  write_manifest(d, "b", "run-b");
  write_manifest(d, "a", "run-a");
  char p[600];
  /* a calibration file is INI too, but has no [run] section */
  snprintf(p, sizeof p, "%s/a/calib.ini", d);
  FILE *f = fopen(p, "w");
  fputs("[calibration]\na = 0.04\nbeta = 0.37\n", f);
  fclose(f);
  const char *args[] = {d};
  dl_batch_list l;
  dl_err e;
  assert_int_equal(dl_batch_find(args, 1, &l, &e), 0);
  assert_int_equal(l.n, 2);
  assert_non_null(strstr(l.v[0].manifest, "/a/manifest.ini"));
  assert_string_equal(l.v[0].run_id, "run-a");
  assert_string_equal(l.v[1].run_id, "run-b");
  /* shards partition the runs */
  size_t total = 0;
  for (int i = 0; i < 3; i++) {
    dl_batch_list s;
    assert_int_equal(dl_batch_find(args, 1, &s, &e), 0);
    dl_batch_shard(&s, i, 3);
    total += s.n;
    dl_batch_list_free(&s);
  }
  assert_int_equal(total, 2);
  dl_batch_list_free(&l);
  write_manifest(d, "c", "run-a");
  assert_int_equal(dl_batch_find(args, 1, &l, &e), DL_EFORMAT);
  assert_non_null(strstr(e.msg, "run id 'run-a' is used by two manifests"));
  assert_non_null(strstr(e.msg, "/a/manifest.ini"));
  assert_non_null(strstr(e.msg, "/c/manifest.ini"));
}

static void rank_period_names_the_month_it_starts_in(void **st) {
  (void)st;
  double t0, t1;
  char a[40], b[40];
  assert_int_equal(dl_rank_period(2024, 7, 20, 8, &t0, &t1), 0);
  assert_string_equal(dl_time_iso(t0, a, sizeof a), "2024-07-19T16:00:00.000Z");
  assert_string_equal(dl_time_iso(t1, b, sizeof b), "2024-08-19T16:00:00.000Z");
  assert_int_equal(dl_rank_period(2020, 12, 1, 0, &t0, &t1), 0);
  assert_string_equal(dl_time_iso(t0, a, sizeof a), "2020-12-01T00:00:00.000Z");
  assert_string_equal(dl_time_iso(t1, b, sizeof b), "2021-01-01T00:00:00.000Z");
  assert_int_equal(dl_rank_period(2020, 5, 29, 8, &t0, &t1), DL_EUSAGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(journal_round_trips_records),
      cmocka_unit_test(journal_ignores_torn_and_damaged_lines),
      cmocka_unit_test(journal_refuses_a_second_writer),
      cmocka_unit_test(journal_rejects_a_foreign_file),
      cmocka_unit_test(batch_finds_manifests_and_refuses_duplicate_ids),
      cmocka_unit_test(rank_period_names_the_month_it_starts_in),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
