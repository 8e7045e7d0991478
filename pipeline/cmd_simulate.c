/* cmd_simulate.c: `dustload simulate`: a synthetic monitoring run on a
 * compiled road network, written in the instruments' own formats, with a
 * manifest that `dustload run` reads and the truth beside it. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "dl_cli.h"
#include "dl_netio.h"
#include "dl_netopen.h"
#include "dl_params.h"
#include "dl_simulate.h"
#include "dl_simwrite.h"

#define TZ_OFFSET_S (8 * 3600) /* Beijing: the DustTraks log local time */
#define NOMINAL_INLET_S 2.0
#define BG_INLET_S 1.0

static const char *const HELP =
    "usage: dustload simulate --network NET -o DIR [--seed N] [--hours H] [options]\n\n"
    "Drives a simulated monitoring vehicle over the network and writes what its\n"
    "instruments would have logged, plus the truth, into DIR:\n"
    "  gps.nmea                 GPS at 1 Hz, $GPRMC + $GPGGA (UTC)\n"
    "  dusttrak_tyre.csv        DustTrak II 8530 TrakPro export, tyre inlet (UTC+08:00)\n"
    "  dusttrak_background.csv  the same for the background inlet\n"
    "  manifest.ini             the run, for `dustload run DIR/manifest.ini`; it gives\n"
    "                           nominal lags (inlet 2 s, clock offset 0) only\n"
    "  truth_points.csv         time_utc,segment,offset_m of every written fix\n"
    "  truth_segments.csv       segment,osm_way,dust_load_gm2 of every segment\n"
    "  truth_run.txt            the true inlet delay and clock offset, and a summary\n\n"
    "Route: shortest paths between random destinations, preferring roads not yet\n"
    "driven. Speed: class speeds capped by maxspeed, accelerating at <= 1.5 m/s2,\n"
    "braking at <= 2 m/s2, slowing for turns, stopping at some junctions. GPS:\n"
    "AR(1) noise, 1 % outliers, a few dropouts. Dust: a true load per segment by\n"
    "road class (0.1-2 g/m2), tyre excess (sL/a)^(1/beta) * (v/v_ref)^3 over a\n"
    "drifting background with truck spikes, sensor noise, an inlet delay of\n"
    "2-4 s and a tyre-instrument clock offset of 15-60 s. Same seed, same bytes.\n\n"
    "options:\n"
    "  --network NET        compiled network (dustload network import)\n"
    "  -o, --output DIR     output folder (created; must be empty unless --force)\n"
    "  --seed N             random seed (default 1)\n"
    "  --hours H            drive duration (default 1, at most 240)\n"
    "  --start TIME         UTC start, YYYY-MM-DDThh:mm:ssZ (default 2020-05-12T01:00:00Z)\n"
    "  --sigma M            GPS noise per axis in metres (default 5)\n"
    "  --rho R              GPS noise AR(1) coefficient per second (default 0.7)\n"
    "  --outliers F         share of fixes with a 40-150 m outlier (default 0.01)\n"
    "  --dropouts N         GPS dropouts (3-30 s) per hour (default 2)\n"
    "  --revisit-cost X     route cost factor of roads already driven (default 4; 1: none)\n"
    "  --inlet-delay S      true tyre inlet delay (default: drawn in 2-4 s)\n"
    "  --clock-offset S     true tyre clock offset, UTC = clock + S (default: drawn)\n"
    "  --force              write into a non-empty DIR, replacing these files\n"
    "  -q, --quiet          no progress on stderr\n\n"
    "exit status: 0 ok, 64 usage, 65 bad network file, 66 cannot open input,\n"
    "73 output exists or cannot be created, 74 I/O error.\n";

static int quiet;
#define progress(...) dl_cli_progress("simulate", quiet, __VA_ARGS__)

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !(v >= lo && v <= hi)) {
    dl_cli_usage("simulate", "%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, s);
    return -1;
  }
  *out = v;
  return 0;
}

/* "YYYY-MM-DDThh:mm:ss[Z]" (UTC) -> seconds since 1970. */
static int parse_start(const char *s, double *t) {
  int y, mo, d, h, mi, se, n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6) return -1;
  if (s[n] && strcmp(s + n, "Z")) return -1;
  if (y < 1980 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 ||
      h < 0 || mi < 0 || se < 0)
    return -1;
  *t = (double)dl_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600 + mi * 60 + se;
  return 0;
}

/* DIR exists and holds something besides "." and "..". */
static int dir_nonempty(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *de;
  int any = 0;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      any = 1;
      break;
    }
  closedir(d);
  return any;
}

static int prepare_dir(const char *dir, int force, dl_err *e) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return dl_errf(e, DL_ECANTCREAT, "%s: exists and is not a folder", dir);
    if (!force && dir_nonempty(dir))
      return dl_errf(e, DL_EEXIST, "%s: folder is not empty (use --force to write into it)", dir);
    return DL_OK;
  }
  if (mkdir(dir, 0777) != 0)
    return dl_errf(e, DL_ECANTCREAT, "%s: cannot create the folder: %s", dir, strerror(errno));
  return DL_OK;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* The GPS fixes actually written (dropouts left out), in WGS84. */
static int make_fixes(const dl_sim *s, int epsg, dl_fixes *fx, dl_err *e) {
  dl_proj *pj = NULL;
  int rc = dl_proj_create(epsg, &pj, e);
  if (rc) return rc;
  rc = dl_fixes_reserve(fx, s->n_fixes ? s->n_fixes : 1);
  if (rc) {
    dl_proj_free(pj);
    return dl_errf(e, rc, "simulate: out of memory");
  }
  double *x = malloc((s->n_fixes + 1) * sizeof *x), *y = malloc((s->n_fixes + 1) * sizeof *y);
  if (!x || !y) {
    free(x), free(y);
    dl_proj_free(pj);
    return dl_errf(e, DL_ENOMEM, "simulate: out of memory");
  }
  size_t k = 0;
  for (size_t j = 0; j < s->n_sec; j++) {
    if (!s->gps_ok[j]) continue;
    long i = dl_fixes_push(fx);
    fx->t[i] = s->t[j];
    fx->speed[i] = s->gps_speed[j];
    fx->course[i] = s->gps_course[j];
    fx->hdop[i] = s->gps_hdop[j];
    fx->quality[i] = 1;
    fx->nsat[i] = s->gps_nsat[j];
    fx->line[i] = 0;
    x[k] = s->gps_x[j], y[k] = s->gps_y[j];
    k++;
  }
  rc = dl_proj_inv(pj, x, y, k, fx->lat, fx->lon, e);
  free(x), free(y);
  dl_proj_free(pj);
  return rc;
}

static int write_truth_run(const char *path, const dl_sim_params *p, const dl_sim *s,
                           const char *net, int force, dl_err *e) {
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  char a[40], b[40];
  const dl_sim_inst *ty = &s->inst[DL_SIM_TYRE], *bg = &s->inst[DL_SIM_BG];
  fprintf(o.f,
          "; truth of a `dustload simulate` run: what the manifest's nominal values hide.\n"
          "; Offsets follow the manifest: UTC = instrument clock - tz + clock_offset_s;\n"
          "; an inlet's reading at UTC t is the air that entered it at t - inlet_delay_s;\n"
          "; tyre_intake_shift_s = clock_offset - inlet_delay: add it to the tyre clock (UTC)\n"
          "; to get the time the air entered (nominal: -2).\n"
          "[truth]\nseed = %llu\nhours = %.15g\nstart_utc = %s\nend_utc = %s\nnetwork = %s\n"
          "tz = +08:00\n"
          "tyre_inlet_delay_s = %.15g\ntyre_clock_offset_s = %.15g\n"
          "background_inlet_delay_s = %.15g\nbackground_clock_offset_s = %.15g\n"
          "nominal_tyre_inlet_delay_s = %.15g\nnominal_tyre_clock_offset_s = 0\n"
          "tyre_intake_shift_s = %.15g\n"
          "calib_a = %.15g\ncalib_beta = %.15g\nv_ref_kmh = %.15g\nspeed_exponent = %.15g\n"
          "gps_sigma_m = %.15g\ngps_rho = %.15g\ngps_fixes = %zu\ngps_outliers = %zu\n"
          "gps_dropouts = %zu\ngps_dropout_s = %zu\n"
          "distance_km = %.3f\nsegments_driven = %u\nlegs = %zu\nstops = %zu\n"
          "max_accel_ms2 = %.3f\nmax_brake_ms2 = %.3f\n",
          (unsigned long long)p->seed, p->hours, dl_time_iso(s->t[0], a, sizeof a),
          dl_time_iso(s->t[s->n_sec - 1], b, sizeof b), net, ty->delay_s, ty->clock_offset_s,
          bg->delay_s, bg->clock_offset_s, NOMINAL_INLET_S, ty->clock_offset_s - ty->delay_s,
          p->calib_a, p->calib_beta, p->v_ref_kmh, p->speed_exponent, p->gps_sigma_m, p->gps_rho,
          s->n_fixes, s->n_outliers, s->n_dropouts, s->dropout_s, s->distance_m / 1000.0,
          s->n_driven_segs, s->n_legs, s->n_stops, s->max_accel, s->max_brake);
  return dl_outfile_commit(&o, e);
}

static int write_manifest(const char *path, const dl_sim_params *p, const char *net, int force,
                          dl_err *e) {
  dl_manifest m;
  memset(&m, 0, sizeof m);
  char id[64], comment[512];
  snprintf(id, sizeof id, "sim-seed%llu", (unsigned long long)p->seed);
  m.run_id = id;
  m.vehicle = "simulated";
  m.network = (char *)net;
  m.tz_offset_s = TZ_OFFSET_S;
  m.have_tz = 1;
  m.ngps = 1;
  m.gps[0].path = "gps.nmea";
  m.gps[0].format = DL_FMT_NMEA;
  m.ninst = 2;
  snprintf(m.inst[0].name, sizeof m.inst[0].name, "tyre");
  m.inst[0].path = "dusttrak_tyre.csv";
  m.inst[0].format = DL_FMT_DUSTTRAK;
  m.inst[0].role = DL_ROLE_TYRE;
  m.inst[0].inlet_delay_s = NOMINAL_INLET_S;
  snprintf(m.inst[1].name, sizeof m.inst[1].name, "background");
  m.inst[1].path = "dusttrak_background.csv";
  m.inst[1].format = DL_FMT_DUSTTRAK;
  m.inst[1].role = DL_ROLE_BACKGROUND;
  m.inst[1].inlet_delay_s = BG_INLET_S;
  m.have_calib_a = m.have_calib_beta = 1;
  m.calib_a = p->calib_a;
  m.calib_beta = p->calib_beta;
  snprintf(comment, sizeof comment,
           "synthetic run written by dustload simulate %s (seed %llu, %.15g h, GPS sigma %.15g m).\n"
           "Lags below are nominal; the true ones are in truth_run.txt.",
           DL_VERSION, (unsigned long long)p->seed, p->hours, p->gps_sigma_m);
  return dl_manifest_write(path, &m, comment, force, e);
}

int dl_cmd_simulate(int argc, char **argv) {
  enum { O_NET = 256, O_SEED, O_HOURS, O_START, O_SIGMA, O_RHO, O_OUTL, O_DROP, O_REVISIT, O_INLET,
         O_CLOCK, O_FORCE };
  static const struct option opts[] = {
      {"network", required_argument, 0, O_NET},      {"output", required_argument, 0, 'o'},
      {"seed", required_argument, 0, O_SEED},        {"hours", required_argument, 0, O_HOURS},
      {"start", required_argument, 0, O_START},      {"sigma", required_argument, 0, O_SIGMA},
      {"rho", required_argument, 0, O_RHO},          {"outliers", required_argument, 0, O_OUTL},
      {"dropouts", required_argument, 0, O_DROP},    {"revisit-cost", required_argument, 0, O_REVISIT},
      {"inlet-delay", required_argument, 0, O_INLET}, {"clock-offset", required_argument, 0, O_CLOCK},
      {"force", no_argument, 0, O_FORCE},            {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},                 {0, 0, 0, 0}};
  const char *netp = NULL, *dir = NULL;
  int force = 0, c;
  dl_sim_params sp;
  dl_sim_params_default(&sp);
  dl_params dp;
  dl_params_default(&dp);
  sp.v_ref_kmh = dp.v_ref_kmh, sp.speed_exponent = dp.speed_exponent;
  sp.calib_a = dp.calib_a, sp.calib_beta = dp.calib_beta;
  sp.bg_delay_s = BG_INLET_S;
  quiet = 0;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
    double v;
    switch (c) {
      case O_NET: netp = optarg; break;
      case 'o': dir = optarg; break;
      case O_SEED: {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(optarg, &end, 10);
        if (end == optarg || *end || errno || optarg[0] == '-')
          return dl_cli_usage("simulate", "--seed: expected a non-negative integer, got '%s'", optarg);
        sp.seed = s;
        break;
      }
      case O_HOURS:
        if (parse_num("--hours", optarg, 1.0 / 60.0, 240, &sp.hours)) return EX_USAGE;
        break;
      case O_START:
        if (parse_start(optarg, &sp.t0))
          return dl_cli_usage("simulate", "--start: expected YYYY-MM-DDThh:mm:ssZ, got '%s'", optarg);
        break;
      case O_SIGMA:
        if (parse_num("--sigma", optarg, 0, 100, &sp.gps_sigma_m)) return EX_USAGE;
        break;
      case O_RHO:
        if (parse_num("--rho", optarg, 0, 0.999, &sp.gps_rho)) return EX_USAGE;
        break;
      case O_OUTL:
        if (parse_num("--outliers", optarg, 0, 0.5, &sp.outlier_frac)) return EX_USAGE;
        break;
      case O_DROP:
        if (parse_num("--dropouts", optarg, 0, 60, &sp.dropouts_per_hour)) return EX_USAGE;
        break;
      case O_REVISIT:
        if (parse_num("--revisit-cost", optarg, 1, 1000, &sp.revisit_cost)) return EX_USAGE;
        break;
      case O_INLET:
        if (parse_num("--inlet-delay", optarg, 0, 60, &v)) return EX_USAGE;
        sp.tyre_delay_s = v;
        break;
      case O_CLOCK:
        if (parse_num("--clock-offset", optarg, -3600, 3600, &v)) return EX_USAGE;
        sp.tyre_clock_offset_s = v;
        break;
      case O_FORCE: force = 1; break;
      case 'q': quiet = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default:
        return dl_cli_usage("simulate", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return dl_cli_usage("simulate", "unexpected argument '%s'", argv[optind]);
  if (!netp) return dl_cli_usage("simulate", "--network NET is required");
  if (!dir || !*dir) return dl_cli_usage("simulate", "-o DIR is required");

  double t_start = dl_cli_now();
  dl_err e;
  dl_err_clear(&e);
  dl_net n;
  dl_netfile *nf = NULL;
  dl_sim s;
  memset(&s, 0, sizeof s);
  dl_fixes fx;
  dl_fixes_init(&fx);
  char *paths[7] = {0};
  char net_abs[PATH_MAX];
  int rc = dl_network_open(netp, &n, &nf, &e);
  if (rc) goto done;
  if (!realpath(netp, net_abs)) {
    rc = dl_errf(&e, DL_ENOINPUT, "%s: cannot resolve the path: %s", netp, strerror(errno));
    goto done;
  }
  rc = prepare_dir(dir, force, &e);
  if (rc) goto done;
  static const char *const names[7] = {"gps.nmea", "dusttrak_tyre.csv", "dusttrak_background.csv",
                                       "truth_points.csv", "truth_segments.csv", "truth_run.txt",
                                       "manifest.ini"};
  for (int i = 0; i < 7; i++)
    if (!(paths[i] = join(dir, names[i]))) {
      rc = dl_errf(&e, DL_ENOMEM, "simulate: out of memory");
      goto done;
    } else if (dl_cli_same_file(paths[i], netp)) { /* never replace the input, even with --force */
      rc = dl_errf(&e, DL_ECANTCREAT, "%s: is the --network input; an output never replaces an input",
                   paths[i]);
      goto done;
    }
  double t1 = dl_cli_now();
  rc = dl_simulate(&n, &sp, &s, &e);
  if (rc) goto done;
  double t2 = dl_cli_now();
  progress("%s: %.2f h, %.1f km, %u segments driven, %zu legs, %zu stops (%.0f ms)", netp, sp.hours,
           s.distance_m / 1000, s.n_driven_segs, s.n_legs, s.n_stops, 1000 * (t2 - t1));
  rc = make_fixes(&s, n.epsg, &fx, &e);
  if (rc) goto done;
  rc = dl_nmea_write(paths[0], &fx, 52.0, force, &e);
  if (rc) goto done;
  char serial[2][16];
  snprintf(serial[0], sizeof serial[0], "8530%06llu", (unsigned long long)(sp.seed * 2 % 1000000));
  snprintf(serial[1], sizeof serial[1], "8530%06llu", (unsigned long long)((sp.seed * 2 + 1) % 1000000));
  for (int i = 0; i < DL_SIM_NINST; i++) {
    dl_dusttrak_info info = {"DustTrak II", "8530", serial[i], i ? "002" : "001", "03/02/2020",
                             "AEROSOL"};
    rc = dl_dusttrak_write(paths[1 + i], &info, s.inst[i].clock0 + TZ_OFFSET_S, s.inst[i].ugm3,
                           s.inst[i].n, force, &e);
    if (rc) goto done;
  }
  rc = dl_truth_points_write(paths[3], s.n_sec, s.t, s.seg, s.offset, s.gps_ok, force, &e);
  if (!rc) rc = dl_truth_segments_write(paths[4], n.n_segs, n.seg_way, s.seg_load, force, &e);
  if (!rc) rc = write_truth_run(paths[5], &sp, &s, net_abs, force, &e);
  if (!rc) rc = write_manifest(paths[6], &sp, net_abs, force, &e); /* last: the run is complete */
  if (rc) goto done;
  progress("wrote %s: %zu fixes (%zu outliers, %zu dropouts, %zu s), 2 x %zu DustTrak readings; "
           "tyre inlet %.1f s, clock offset %+.1f s (truth_run.txt); %.0f ms in all",
           dir, s.n_fixes, s.n_outliers, s.n_dropouts, s.dropout_s, s.inst[0].n, s.inst[0].delay_s,
           s.inst[0].clock_offset_s, 1000 * (dl_cli_now() - t_start));
done:
  for (int i = 0; i < 7; i++) free(paths[i]);
  dl_fixes_free(&fx);
  dl_sim_free(&s);
  dl_network_close(nf);
  if (rc) return dl_cli_fail("simulate", &e);
  return 0;
}
