/* cmd_inspect.c: `dustload inspect`: what is in a GPS or instrument file. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "dl_cli.h"
#include "dl_io.h"
#include "manifest.h"

static const char *const HELP =
    "usage: dustload inspect [options] FILE...\n"
    "       dustload inspect --fixes [options] GPSFILE\n"
    "       dustload inspect --samples [--tz +08:00] [options] INSTFILE\n\n"
    "Detects each file's format and prints: records, accepted and rejected lines\n"
    "by reason (with the first rejected line numbers), UTC time span, sampling\n"
    "rate, gaps over 5 s (or 1.5 declared log intervals), bounding box and distance driven (GPS), channels and\n"
    "value ranges (instruments). A run manifest is validated and summarised.\n\n"
    "GPS formats: NMEA 0183, gpsd JSON (gpspipe -w), gpsd://HOST:PORT (live),\n"
    "GPX 1.0/1.1, GeoLife PLT, CSV (time,lat,lon[,speed,course]).\n"
    "Instrument formats: TSI TrakPro DustTrak export, CSV with a header.\n\n"
    "options:\n"
    "  --fixes            one CSV row per GPS fix:\n"
    "                     time_utc,lat,lon,speed_mps,course_deg,fix_quality,hdop,line\n"
    "  --samples          one CSV row per instrument reading:\n"
    "                     time_utc,channel,value_ugm3,line\n"
    "  --format NAME      skip detection (nmea, gpsd-json, gpx, plt, gps-csv,\n"
    "                     dusttrak, csv)\n"
    "  --tz ZONE          instrument local time zone, e.g. +08:00 (default UTC)\n"
    "  --clock-offset S   seconds added to instrument times after the zone\n"
    "  --channel NAME     keep only this instrument channel\n"
    "  --nmea-lenient     accept NMEA sentences without a checksum\n"
    "  --live-seconds S   live gpsd: stop after S seconds\n"
    "  --live-fixes N     live gpsd: stop after N fixes\n"
    "  -h, --help         this help\n\n"
    "exit status: 0 ok, 64 usage, 65 malformed input, 66 cannot open input.\n";

#define GAP_S 5.0

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median spacing of sorted-in-time values, ignoring non-finite ones. */
static double median_dt(const double *t, size_t n) {
  if (n < 2) return NAN;
  double *d = malloc((n - 1) * sizeof *d);
  if (!d) return NAN;
  size_t k = 0;
  for (size_t i = 1; i < n; i++)
    if (isfinite(t[i]) && isfinite(t[i - 1]) && t[i] > t[i - 1]) d[k++] = t[i] - t[i - 1];
  double m = NAN;
  if (k) {
    qsort(d, k, sizeof *d, cmp_double);
    m = d[k / 2];
  }
  free(d);
  return m;
}

static void print_rejects(const dl_rejects *r) {
  printf("  lines:      %llu\n", (unsigned long long)r->lines);
  printf("  accepted:   %llu\n", (unsigned long long)r->accepted);
  printf("  rejected:   %llu\n", (unsigned long long)dl_rejects_total(r));
  for (int i = 0; i < DL_REJ__N; i++) {
    if (!r->count[i]) continue;
    printf("    %-28s %8llu  lines", dl_reject_name(i), (unsigned long long)r->count[i]);
    uint64_t k = r->count[i] < DL_REJECT_KEEP_LINES ? r->count[i] : DL_REJECT_KEEP_LINES;
    for (uint64_t j = 0; j < k; j++)
      printf("%s%llu", j ? "," : " ", (unsigned long long)r->first_line[i][j]);
    if (r->count[i] > k) printf(",...");
    putchar('\n');
  }
}

static void print_span_and_gaps(const double *t, size_t n, const uint64_t *line,
                                double gap_s) {
  char a[40], b[40];
  double t0 = INFINITY, t1 = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (isfinite(t[i])) {
      if (t[i] < t0) t0 = t[i];
      if (t[i] > t1) t1 = t[i];
    }
  if (t0 > t1) {
    printf("  time span:  none\n");
    return;
  }
  printf("  time span:  %s .. %s (%.0f s)\n", dl_time_iso(t0, a, sizeof a),
         dl_time_iso(t1, b, sizeof b), t1 - t0);
  double dt = median_dt(t, n);
  if (isfinite(dt)) printf("  sampling:   %.3g Hz (median interval %.3f s)\n", 1.0 / dt, dt);
  size_t gaps = 0;
  double longest = 0;
  for (size_t i = 1; i < n; i++) {
    double g = t[i] - t[i - 1];
    if (g > gap_s) {
      if (gaps < 5)
        printf("  gap:        %.0f s after %s (line %llu)\n", g,
               dl_time_iso(t[i - 1], a, sizeof a), (unsigned long long)line[i - 1]);
      gaps++;
      if (g > longest) longest = g;
    }
  }
  printf("  gaps > %.0f s: %zu", gap_s, gaps);
  if (gaps) printf(" (longest %.0f s)", longest);
  putchar('\n');
}

static void summarise_fixes(const dl_fixes *f) {
  double la0 = INFINITY, la1 = -INFINITY, lo0 = INFINITY, lo1 = -INFINITY, dist = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (f->lat[i] < la0) la0 = f->lat[i];
    if (f->lat[i] > la1) la1 = f->lat[i];
    if (f->lon[i] < lo0) lo0 = f->lon[i];
    if (f->lon[i] > lo1) lo1 = f->lon[i];
    if (i) dist += dl_haversine_m(f->lat[i - 1], f->lon[i - 1], f->lat[i], f->lon[i]);
  }
  printf("  fixes:      %zu\n", f->n);
  print_span_and_gaps(f->t, f->n, f->line, GAP_S);
  if (f->n) {
    printf("  bbox:       %.7f,%.7f,%.7f,%.7f (lon,lat min, lon,lat max)\n", lo0, la0, lo1, la1);
    printf("  distance:   %.3f km\n", dist / 1000.0);
  }
}

static void summarise_samples(const dl_samples *s) {
  printf("  readings:   %zu\n", s->n);
  if (s->model[0]) printf("  instrument: %s%s%s\n", s->model, s->serial[0] ? " serial " : "", s->serial);
  for (int c = 0; c < s->nchan; c++) {
    size_t k = 0, miss = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    for (size_t i = 0; i < s->n; i++) {
      if (s->channel[i] != c) continue;
      if (!isfinite(s->value[i])) {
        miss++;
        continue;
      }
      k++;
      sum += s->value[i];
      if (s->value[i] < lo) lo = s->value[i];
      if (s->value[i] > hi) hi = s->value[i];
    }
    printf("  channel %-10s %zu readings", s->chan_name[c], k);
    if (k) printf(", %.1f .. %.1f ug/m3, mean %.1f", lo, hi, sum / (double)k);
    if (miss) printf(", %zu missing", miss);
    putchar('\n');
  }
  /* time span over the distinct instants (one per row of the export) */
  double *t = malloc((s->n ? s->n : 1) * sizeof *t);
  uint64_t *ln = malloc((s->n ? s->n : 1) * sizeof *ln);
  size_t k = 0;
  if (t && ln)
    for (size_t i = 0; i < s->n; i++)
      if (k == 0 || s->line[i] != ln[k - 1]) t[k] = s->t[i], ln[k++] = s->line[i];
  /* a 1-minute log is not a run of 60 s gaps */
  double gap = GAP_S;
  if (isfinite(s->interval_s) && 1.5 * s->interval_s > gap) gap = 1.5 * s->interval_s;
  if (s->model[0] && isfinite(s->interval_s)) printf("  log interval: %g s\n", s->interval_s);
  if (t && ln) print_span_and_gaps(t, k, ln, gap);
  free(t);
  free(ln);
}

int dl_cmd_inspect(int argc, char **argv) {
  enum { O_FORMAT = 256, O_TZ, O_CLOCK, O_CHANNEL, O_LENIENT, O_LSEC, O_LFIX };
  static const struct option opts[] = {
      {"fixes", no_argument, 0, 'f'},         {"samples", no_argument, 0, 's'},
      {"format", required_argument, 0, O_FORMAT}, {"tz", required_argument, 0, O_TZ},
      {"clock-offset", required_argument, 0, O_CLOCK},
      {"channel", required_argument, 0, O_CHANNEL},
      {"nmea-lenient", no_argument, 0, O_LENIENT},
      {"live-seconds", required_argument, 0, O_LSEC},
      {"live-fixes", required_argument, 0, O_LFIX}, {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int mode = 0; /* 0 summary, 'f' fixes, 's' samples */
  dl_format fmt = DL_FMT_UNKNOWN;
  dl_gps_opts go;
  dl_inst_opts io;
  dl_gps_opts_default(&go);
  dl_inst_opts_default(&io);
  optind = 0;
  opterr = 0;
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "fsh", opts, NULL)) != -1) { /* options after FILE too */
    switch (c) {
      case 'f': case 's': mode = c; break;
      case 'h': fputs(HELP, stdout); return 0;
      case O_FORMAT:
        fmt = dl_format_parse(optarg);
        if (fmt == DL_FMT_UNKNOWN) return dl_cli_usage("inspect", "unknown format '%s'", optarg);
        break;
      case O_TZ:
        if (dl_parse_tz(optarg, &io.tz_offset_s) != DL_OK)
          return dl_cli_usage("inspect", "--tz: expected an offset like +08:00, got '%s'", optarg);
        io.have_tz = 1;
        break;
      case O_CLOCK:
        io.clock_offset_s = strtod(optarg, &end);
        if (end == optarg || *end)
          return dl_cli_usage("inspect", "--clock-offset: expected seconds, got '%s'", optarg);
        break;
      case O_CHANNEL: io.channel = optarg; break;
      case O_LENIENT: go.nmea_lenient = 1; break;
      case O_LSEC:
        go.live_seconds = strtod(optarg, &end);
        if (end == optarg || *end || go.live_seconds < 0)
          return dl_cli_usage("inspect", "--live-seconds: expected seconds, got '%s'", optarg);
        break;
      case O_LFIX:
        go.live_max_fixes = strtol(optarg, &end, 10);
        if (end == optarg || *end || go.live_max_fixes < 0)
          return dl_cli_usage("inspect", "--live-fixes: expected a count, got '%s'", optarg);
        break;
      default:
        return dl_cli_usage("inspect", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind >= argc) return dl_cli_usage("inspect", "no input file");
  if (mode && argc - optind != 1)
    return dl_cli_usage("inspect", "--fixes and --samples take exactly one file");

  int worst = 0;
  for (int a = optind; a < argc; a++) {
    const char *path = argv[a];
    dl_err e;
    dl_err_clear(&e);
    dl_format f = fmt != DL_FMT_UNKNOWN ? fmt : dl_format_detect(path, &e);
    if (f == DL_FMT_UNKNOWN) {
      int ex = dl_cli_fail("inspect", &e);
      if (!worst) worst = ex;
      continue;
    }
    dl_rejects rej;
    memset(&rej, 0, sizeof rej);
    if (dl_format_is_gps(f) && mode != 's') {
      dl_fixes fx;
      dl_fixes_init(&fx);
      int rc = dl_read_gps(path, f, &go, &fx, &rej, &e);
      if (rc != DL_OK) {
        int ex = dl_cli_fail("inspect", &e);
        if (!worst) worst = ex;
      } else if (mode == 'f') {
        printf("time_utc,lat,lon,speed_mps,course_deg,fix_quality,hdop,line\n");
        char tb[40];
        for (size_t i = 0; i < fx.n; i++) {
          printf("%s,%.9f,%.9f,", dl_time_iso(fx.t[i], tb, sizeof tb), fx.lat[i], fx.lon[i]);
          if (isfinite(fx.speed[i])) printf("%.3f", fx.speed[i]);
          putchar(',');
          if (isfinite(fx.course[i])) printf("%.3f", fx.course[i]);
          putchar(',');
          if (fx.quality[i] >= 0) printf("%d", fx.quality[i]);
          putchar(',');
          if (isfinite(fx.hdop[i])) printf("%.2f", fx.hdop[i]);
          printf(",%llu\n", (unsigned long long)fx.line[i]);
        }
      } else {
        printf("%s\n  format:     %s\n", path, dl_format_name(f));
        print_rejects(&rej);
        summarise_fixes(&fx);
      }
      dl_fixes_free(&fx);
    } else if (dl_format_is_instrument(f) && mode != 'f') {
      dl_samples sm;
      dl_samples_init(&sm);
      int rc = dl_read_instrument(path, f, &io, &sm, &rej, &e);
      if (rc != DL_OK) {
        int ex = dl_cli_fail("inspect", &e);
        if (!worst) worst = ex;
      } else if (mode == 's') {
        printf("time_utc,channel,value_ugm3,line\n");
        char tb[40];
        for (size_t i = 0; i < sm.n; i++) {
          printf("%s,%s,", dl_time_iso(sm.t[i], tb, sizeof tb), sm.chan_name[sm.channel[i]]);
          if (isfinite(sm.value[i])) printf("%.3f", sm.value[i]);
          printf(",%llu\n", (unsigned long long)sm.line[i]);
        }
      } else {
        printf("%s\n  format:     %s\n", path, dl_format_name(f));
        if (!io.have_tz) printf("  time zone:  none given (--tz): local times read as UTC\n");
        print_rejects(&rej);
        summarise_samples(&sm);
      }
      dl_samples_free(&sm);
    } else if (mode) {
      fprintf(stderr, "dustload inspect: %s: is %s; %s needs a %s file\n", path,
              dl_format_name(f), mode == 'f' ? "--fixes" : "--samples",
              mode == 'f' ? "GPS" : "instrument");
      if (!worst) worst = EX_DATAERR;
    } else if (f == DL_FMT_MANIFEST && !mode) {
      dl_manifest m;
      if (dl_manifest_read(path, &m, &e) != DL_OK) {
        int ex = dl_cli_fail("inspect", &e);
        if (!worst) worst = ex;
        continue;
      }
      printf("%s\n  format:     manifest (valid)\n  run:        %s%s%s\n", path, m.run_id,
             m.vehicle[0] ? ", vehicle " : "", m.vehicle);
      printf("  network:    %s\n", m.network ? m.network : "(none: run skips matching unless --network)");
      for (int g = 0; g < m.ngps; g++)
        printf("  gps:        %s (%s)\n", m.gps[g].path,
               m.gps[g].format ? dl_format_name(m.gps[g].format) : "detect");
      for (int k = 0; k < m.ninst; k++)
        printf("  instrument: %-10s %-10s %s%s%s\n", m.inst[k].name, dl_role_name(m.inst[k].role),
               m.inst[k].path, m.inst[k].channel ? " channel " : "",
               m.inst[k].channel ? m.inst[k].channel : "");
      if (m.tags) printf("  tags:       %s\n", m.tags);
      dl_manifest_free(&m);
    } else {
      printf("%s\n  format:     %s (no summary for this kind of file)\n", path, dl_format_name(f));
    }
  }
  return worst;
}
