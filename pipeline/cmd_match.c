/* cmd_match.c: `dustload match`: GPS fixes -> road segments, one CSV row per fix. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "dl_cli.h"
#include "dl_io.h"
#include "dl_match.h"
#include "dl_netio.h"
#include "dl_netopen.h"

static const char *const HELP =
    "usage: dustload match --network NET GPSFILE -o OUT.csv [options]\n\n"
    "Places every GPS fix on the road segment the vehicle was on (hidden Markov\n"
    "model over directed candidates, Viterbi, route distances by bounded Dijkstra),\n"
    "then smooths positions along the matched route so a stopped vehicle stays\n"
    "put. A trace is never dropped: it is split at gaps over 60 s, jumps over\n"
    "2 km or steps with no possible route, and matching resumes after the break.\n"
    "GPSFILE is any format `dustload inspect` reads (detected).\n\n"
    "output, one row per fix:\n"
    "  time_utc,lat,lon,segment,offset_m,matched_lat,matched_lon,distance_m,status\n"
    "  segment: id as in `network info --segments` (empty without a position);\n"
    "  offset_m: metres from the segment's first vertex; status: matched,\n"
    "  interpolated (an outlier or a fix with no road within 200 m, placed on the\n"
    "  route by time), outlier (not inside a matched stretch), unmatched.\n"
    "A summary per trace goes to stderr: points, matched, breaks, median distance,\n"
    "the GPS error estimated, and with the receiver's course (NMEA RMC) the\n"
    "course error and bias measured against the roads (the heading term's width).\n\n"
    "options:\n"
    "  --network NET      compiled network (dustload network import)\n"
    "  -o, --output FILE  CSV to write (atomically)\n"
    "  --force            overwrite an existing output\n"
    "  --threads N        OpenMP threads (default: all; results do not depend on it)\n"
    "  --sigma S          GPS error in metres (default: estimated per trace,\n"
    "                     1.4826 x median distance to the road, clamped to 4..25)\n"
    "  --beta B           transition scale in metres (default: estimated per trace)\n"
    "  --candidates K     directed candidates per fix, 1..16 (default 8)\n"
    "  --smooth-q Q       acceleration noise of the along-route smoother, m^2/s^3 (default 0.3)\n"
    "  --turn T           log-likelihood cost per radian turned between roads (default 3):\n"
    "                     vehicles keep to their road; a switch to a parallel road\n"
    "                     needs correlated evidence over a long stretch\n"
    "  --rho R            AR(1) correlation of the GPS error from one second to the\n"
    "                     next (default: estimated per trace; 0 estimates)\n"
    "  --format NAME      GPS format, skipping detection (nmea, gpsd-json, gpx, plt, gps-csv)\n"
    "  --nmea-lenient     accept NMEA sentences without a checksum\n"
    "  -q, --quiet        no summary on stderr\n"
    "  -h, --help         this help\n\n"
    "exit status: 0 ok, 64 usage, 65 malformed input, 66 cannot open input,\n"
    "73 output exists or cannot be created, 74 I/O error.\n";

/* Writes the rows to a temp file beside path, then fsync and rename (or
 * link, which refuses an existing target, without force). */
static int write_csv(const char *path, int force, const dl_fixes *f, const dl_match_out *m, dl_err *e) {
  size_t L = strlen(path);
  char *tmp = malloc(L + 16);
  if (!tmp) return dl_errf(e, DL_ENOMEM, "out of memory");
  snprintf(tmp, L + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    free(tmp);
    return rc;
  }
  FILE *o = fdopen(fd, "w");
  if (!o) {
    close(fd);
    unlink(tmp);
    free(tmp);
    return dl_errf(e, DL_EIO, "%s: fdopen failed", path);
  }
  static char buf[1 << 16];
  setvbuf(o, buf, _IOFBF, sizeof buf);
  fputs("time_utc,lat,lon,segment,offset_m,matched_lat,matched_lon,distance_m,status\n", o);
  char tb[40];
  for (size_t i = 0; i < f->n; i++) {
    fprintf(o, "%s,%.9f,%.9f,", dl_time_iso(f->t[i], tb, sizeof tb), f->lat[i], f->lon[i]);
    if (m->seg[i] != DL_NET_NONE)
      fprintf(o, "%u,%.3f,%.9f,%.9f,%.3f,", m->seg[i], m->offset[i], m->mlat[i], m->mlon[i], m->dist[i]);
    else
      fputs(",,,,,", o);
    fputs(dl_match_status_name(m->status[i]), o);
    fputc('\n', o);
  }
  int rc = DL_OK;
  if (fflush(o) || ferror(o) || fsync(fd)) rc = dl_errf(e, DL_EIO, "%s: write failed: %s", tmp, strerror(errno));
  if (fclose(o) && !rc) rc = dl_errf(e, DL_EIO, "%s: close failed: %s", tmp, strerror(errno));
  if (!rc) {
    if (force) {
      if (rename(tmp, path)) rc = dl_errf(e, DL_ECANTCREAT, "%s: rename failed: %s", path, strerror(errno));
    } else if (link(tmp, path)) {
      rc = errno == EEXIST ? dl_errf(e, DL_EEXIST, "%s exists (use --force to overwrite)", path)
                           : dl_errf(e, DL_ECANTCREAT, "%s: cannot create: %s", path, strerror(errno));
    }
  }
  unlink(tmp); /* after rename it is gone already; after link it is the extra name */
  free(tmp);
  return rc;
}

int dl_cmd_match(int argc, char **argv) {
  enum { O_NET = 256, O_FORCE, O_THREADS, O_SIGMA, O_FORMAT, O_LENIENT, O_BETA, O_K, O_Q, O_TURN, O_RHO };
  static const struct option opts[] = {
      {"network", required_argument, 0, O_NET}, {"output", required_argument, 0, 'o'},
      {"force", no_argument, 0, O_FORCE},       {"threads", required_argument, 0, O_THREADS},
      {"sigma", required_argument, 0, O_SIGMA}, {"format", required_argument, 0, O_FORMAT},
      {"nmea-lenient", no_argument, 0, O_LENIENT}, {"quiet", no_argument, 0, 'q'},
      {"beta", required_argument, 0, O_BETA},   {"candidates", required_argument, 0, O_K},
      {"smooth-q", required_argument, 0, O_Q},  {"turn", required_argument, 0, O_TURN},
      {"rho", required_argument, 0, O_RHO},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  const char *net = NULL, *outp = NULL;
  int force = 0, quiet = 0, c;
  char *end;
  dl_format fmt = DL_FMT_UNKNOWN;
  dl_gps_opts go;
  dl_gps_opts_default(&go);
  dl_match_opts mo;
  dl_match_opts_default(&mo);
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
    switch (c) {
      case O_NET: net = optarg; break;
      case 'o': outp = optarg; break;
      case O_FORCE: force = 1; break;
      case 'q': quiet = 1; break;
      case O_THREADS: {
        long v = strtol(optarg, &end, 10);
        if (end == optarg || *end || v < 1 || v > 1024)
          return dl_cli_usage("match", "--threads: expected 1 to 1024, got '%s'", optarg);
        mo.threads = (int)v;
        break;
      }
      case O_SIGMA:
        mo.sigma = strtod(optarg, &end);
        if (end == optarg || *end || !(mo.sigma >= 1 && mo.sigma <= 100))
          return dl_cli_usage("match", "--sigma: expected 1 to 100 metres, got '%s'", optarg);
        break;
      case O_BETA:
        mo.beta = strtod(optarg, &end);
        if (end == optarg || *end || !(mo.beta >= 0.1 && mo.beta <= 1000))
          return dl_cli_usage("match", "--beta: expected 0.1 to 1000 metres, got '%s'", optarg);
        break;
      case O_K: {
        long v = strtol(optarg, &end, 10);
        if (end == optarg || *end || v < 1 || v > 16)
          return dl_cli_usage("match", "--candidates: expected 1 to 16, got '%s'", optarg);
        mo.k = (int)v;
        break;
      }
      case O_Q:
        mo.smooth_q = strtod(optarg, &end);
        if (end == optarg || *end || !(mo.smooth_q > 0 && mo.smooth_q <= 100))
          return dl_cli_usage("match", "--smooth-q: expected 0 to 100 m^2/s^3, got '%s'", optarg);
        break;
      case O_TURN:
        mo.turn = strtod(optarg, &end);
        if (end == optarg || *end || !(mo.turn >= 0 && mo.turn <= 100))
          return dl_cli_usage("match", "--turn: expected 0 to 100 per radian, got '%s'", optarg);
        break;
      case O_RHO:
        mo.rho = strtod(optarg, &end);
        if (end == optarg || *end || !(mo.rho >= 0 && mo.rho <= 0.99))
          return dl_cli_usage("match", "--rho: expected 0 to 0.99, got '%s'", optarg);
        break;
      case O_FORMAT:
        fmt = dl_format_parse(optarg);
        if (!dl_format_is_gps(fmt)) return dl_cli_usage("match", "--format: not a GPS format: '%s'", optarg);
        break;
      case O_LENIENT: go.nmea_lenient = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("match", "unknown option or missing value '%s'", argv[optind - 1]);
    }
  }
  if (argc - optind != 1) return dl_cli_usage("match", "expected one GPS file");
  if (!net) return dl_cli_usage("match", "--network NET is required");
  if (!outp) return dl_cli_usage("match", "-o OUT.csv is required");
  const char *gps = argv[optind];
  dl_err e;
  dl_err_clear(&e);
  if (!force && access(outp, F_OK) == 0) {
    dl_errf(&e, DL_EEXIST, "%s exists (use --force to overwrite)", outp);
    return dl_cli_fail("match", &e);
  }
  double t0 = dl_cli_now();
  dl_net n;
  dl_netfile *h = NULL;
  dl_proj *pj = NULL;
  dl_fixes f;
  dl_fixes_init(&f);
  double *x = NULL, *y = NULL;
  void *mem[7] = {0};
  int rc = dl_network_open(net, &n, &h, &e);
  if (rc) return dl_cli_fail("match", &e);
  if (fmt == DL_FMT_UNKNOWN) {
    fmt = dl_format_detect(gps, &e);
    if (fmt == DL_FMT_UNKNOWN) {
      rc = e.code ? e.code : DL_EFORMAT;
      goto out;
    }
    if (!dl_format_is_gps(fmt)) {
      rc = dl_errf(&e, DL_EFORMAT, "%s: a %s file, not GPS fixes", gps, dl_format_name(fmt));
      goto out;
    }
  }
  dl_rejects rej;
  memset(&rej, 0, sizeof rej);
  if ((rc = dl_read_gps(gps, fmt, &go, &f, &rej, &e))) goto out;
  size_t N = f.n, nn = N ? N : 1;
  x = malloc(nn * sizeof *x), y = malloc(nn * sizeof *y);
  dl_match_out mo_out;
  mo_out.dir = NULL;
  mem[0] = mo_out.seg = malloc(nn * sizeof *mo_out.seg);
  mem[1] = mo_out.offset = malloc(nn * sizeof(double));
  mem[2] = mo_out.mx = malloc(nn * sizeof(double));
  mem[3] = mo_out.my = malloc(nn * sizeof(double));
  mem[4] = mo_out.mlat = malloc(nn * sizeof(double));
  mem[5] = mo_out.mlon = malloc(nn * sizeof(double));
  mem[6] = mo_out.dist = malloc(nn * sizeof(double));
  uint8_t *st = mo_out.status = malloc(nn);
  if (!x || !y || !st) {
    rc = dl_errf(&e, DL_ENOMEM, "out of memory");
    goto out_st;
  }
  for (int k = 0; k < 7; k++)
    if (!mem[k]) {
      rc = dl_errf(&e, DL_ENOMEM, "out of memory");
      goto out_st;
    }
  if ((rc = dl_proj_create(n.epsg, &pj, &e))) goto out_st;
  if (N && (rc = dl_proj_fwd(pj, f.lat, f.lon, N, x, y, &e))) goto out_st;
  double t1 = dl_cli_now();
  size_t tr[2] = {0, N};
  dl_match_summary sum;
  if ((rc = dl_match(&n, &mo, 1, tr, f.t, x, y, f.speed, f.course, &mo_out, &sum, &e))) goto out_st;
  double t2 = dl_cli_now();
  if ((rc = write_csv(outp, force, &f, &mo_out, &e))) goto out_st;
  char cs[64] = "";
  if (isfinite(sum.course_sigma))
    snprintf(cs, sizeof cs, ", course error %.1f deg (bias %+.1f deg)", sum.course_sigma, sum.course_bias);
  if (!quiet)
    fprintf(stderr,
            "dustload match: %s: %zu points, %zu matched, %zu interpolated, %zu outliers, %zu unmatched; "
            "%zu breaks; median distance %.2f m; sigma %.1f m, beta %.1f m, error correlation %.2f%s; %llu lines rejected by the reader\n"
            "dustload match: wrote %s (%.3f s, matching %.3f s)\n",
            gps, sum.points, sum.matched, sum.interpolated, sum.outliers, sum.unmatched, sum.breaks,
            sum.median_dist, sum.sigma, sum.beta, sum.rho, cs, (unsigned long long)dl_rejects_total(&rej), outp, dl_cli_now() - t0,
            t2 - t1);
out_st:
  free(st);
out:
  for (int k = 0; k < 7; k++) free(mem[k]);
  free(x), free(y);
  dl_proj_free(pj);
  dl_fixes_free(&f);
  dl_network_close(h);
  return rc ? dl_cli_fail("match", &e) : 0;
}
