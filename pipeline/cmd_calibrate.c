/* cmd_calibrate.c: `dustload calibrate`: fit a and beta of sL = a*T^beta
 * from collocated vacuum samples against run results. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include "calibfile.h"
#include "dl_cli.h"
#include "dl_netio.h"
#include "dl_netopen.h"
#include "dl_proc.h"

static const char *const HELP =
    "usage: dustload calibrate --vacuum FILE.csv RUN.h5... -o CALIB.ini [options]\n\n"
    "Fits sL = a * T_ref_mean^beta (METHOD.md §6) by least squares of ln sL on\n"
    "ln T_ref_mean over segments with collocated vacuum samples, prints R² and the\n"
    "residual of every sample, and writes a calibration file that a manifest names\n"
    "with [calibration] file = CALIB.ini.\n\n"
    "The vacuum CSV has a header and either the columns lon,lat,dust_load_gm2 (each\n"
    "sample goes to the nearest segment counted in a run, within --radius) or\n"
    "segment,dust_load_gm2 (segment ids of the network). A segment's T_ref_mean is\n"
    "pooled over the runs, weighted by valid covered length.\n\n"
    "options:\n"
    "  --vacuum FILE      vacuum samples (required)\n"
    "  -o, --output FILE  calibration file to write (atomically; required)\n"
    "  --network NET      network for lon,lat samples (default: the run file's)\n"
    "  --radius M         search radius for lon,lat samples (default 30 m)\n"
    "  --force            overwrite an existing output\n"
    "  -h, --help         this help\n\n"
    "exit status: 0 ok, 64 usage, 65 malformed input or too few usable pairs,\n"
    "66 cannot open input, 73 output exists.\n";

typedef struct vac {
  size_t n, cap;
  double *lon, *lat, *sl;
  long *seg;
  long *line;
} vac;

static int vac_push(vac *v) {
  void **cols[] = {(void **)&v->lon, (void **)&v->lat, (void **)&v->sl, (void **)&v->seg, (void **)&v->line};
  const size_t sizes[] = {sizeof *v->lon, sizeof *v->lat, sizeof *v->sl, sizeof *v->seg, sizeof *v->line};
  if (dl_soa_grow(cols, sizes, 5, &v->cap, v->n + 1)) return -1;
  v->lon[v->n] = v->lat[v->n] = v->sl[v->n] = NAN;
  v->seg[v->n] = -1;
  v->n++;
  return 0;
}

static void vac_free(vac *v) {
  free(v->lon), free(v->lat), free(v->sl), free(v->seg), free(v->line);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) *--end = 0;
  return s;
}

static int num(const char *s, double *out) {
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || *trim(end) || errno || !isfinite(d)) return 0;
  *out = d;
  return 1;
}

/* Reads the vacuum CSV; *by_pos = 1 for lon,lat rows. */
static int read_vacuum(const char *path, vac *v, int *by_pos, dl_err *e) {
  FILE *f = fopen(path, "r");
  if (!f) return dl_errf(e, DL_ENOINPUT, "%s: cannot open vacuum samples: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    return dl_errf(e, DL_ENOINPUT, "%s: is a folder, expected the vacuum samples CSV", path);
  }
  char buf[1024];
  long line = 0;
  int col_lon = -1, col_lat = -1, col_seg = -1, col_sl = -1, ncol = 0, rc = DL_OK;
  while (fgets(buf, sizeof buf, f)) {
    line++;
    if (!strchr(buf, '\n') && !feof(f)) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%ld: line too long (over %zu bytes)", path, line, sizeof buf - 2);
      break;
    }
    char *s = buf;
    if (line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    s = trim(s);
    if (!*s || *s == '#') continue;
    char *fld[8];
    int nf = 0;
    for (char *p = s; nf < 8;) {
      char *c = strchr(p, ',');
      if (c) *c = 0;
      fld[nf++] = trim(p);
      if (!c) break;
      p = c + 1;
    }
    if (ncol == 0) { /* header */
      for (int i = 0; i < nf; i++) {
        if (!strcasecmp(fld[i], "lon")) col_lon = i;
        else if (!strcasecmp(fld[i], "lat")) col_lat = i;
        else if (!strcasecmp(fld[i], "segment")) col_seg = i;
        else if (!strcasecmp(fld[i], "dust_load_gm2")) col_sl = i;
      }
      if (col_sl < 0 || (col_seg < 0 && (col_lon < 0 || col_lat < 0)) ||
          (col_seg >= 0 && col_lon >= 0)) {
        rc = dl_errf(e, DL_EFORMAT, "%s:%ld: expected a header lon,lat,dust_load_gm2 or "
                     "segment,dust_load_gm2, got '%s'", path, line, s);
        break;
      }
      *by_pos = col_seg < 0;
      ncol = nf;
      continue;
    }
    if (nf != ncol) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%ld: expected %d fields like the header, got %d", path, line,
                   ncol, nf);
      break;
    }
    if (vac_push(v)) {
      rc = dl_errf(e, DL_ENOMEM, "out of memory");
      break;
    }
    size_t k = v->n - 1;
    v->line[k] = line;
    double d;
    if (!num(fld[col_sl], &v->sl[k]) || v->sl[k] <= 0) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%ld: dust_load_gm2: expected a positive number of g/m2, got '%s'",
                   path, line, fld[col_sl]);
      break;
    }
    if (*by_pos) {
      if (!num(fld[col_lon], &v->lon[k]) || fabs(v->lon[k]) > 180 || !num(fld[col_lat], &v->lat[k]) ||
          fabs(v->lat[k]) > 90) {
        rc = dl_errf(e, DL_EFORMAT, "%s:%ld: lon,lat: expected WGS84 degrees, got '%s','%s'", path,
                     line, fld[col_lon], fld[col_lat]);
        break;
      }
    } else if (!num(fld[col_seg], &d) || d < 0 || d != floor(d) || d > 4e9) {
      rc = dl_errf(e, DL_EFORMAT, "%s:%ld: segment: expected a segment id, got '%s'", path, line,
                   fld[col_seg]);
      break;
    } else {
      v->seg[k] = (long)d;
    }
  }
  if (!rc && ferror(f)) rc = dl_errf(e, DL_EIO, "%s: read error", path);
  if (!rc && ncol == 0) rc = dl_errf(e, DL_EFORMAT, "%s: empty: expected a header and samples", path);
  fclose(f);
  return rc;
}

/* Pooled T_ref_mean of a segment over the runs, and whether any run counts it. */
typedef struct pooled { double sumw, sumwt; int counted; } pooled;

int dl_cmd_calibrate(int argc, char **argv) {
  enum { O_VAC = 1000, O_NET, O_RADIUS, O_FORCE };
  static const struct option lo[] = {
      {"vacuum", required_argument, 0, O_VAC}, {"output", required_argument, 0, 'o'},
      {"network", required_argument, 0, O_NET}, {"radius", required_argument, 0, O_RADIUS},
      {"force", no_argument, 0, O_FORCE},       {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *vpath = NULL, *out = NULL, *netp = NULL;
  double radius = 30;
  int force = 0, c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
    switch (c) {
      case O_VAC: vpath = optarg; break;
      case 'o': out = optarg; break;
      case O_NET: netp = optarg; break;
      case O_RADIUS:
        if (!num(optarg, &radius) || radius <= 0 || radius > 1000)
          return dl_cli_usage("calibrate", "--radius: expected 0 to 1000 m, got '%s'", optarg);
        break;
      case O_FORCE: force = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("calibrate", "unknown option");
    }
  }
  if (!vpath) return dl_cli_usage("calibrate", "--vacuum FILE.csv is required");
  if (!out || !*out) return dl_cli_usage("calibrate", "-o CALIB.ini is required");
  if (optind >= argc) return dl_cli_usage("calibrate", "at least one RUN.h5 is required");
  dl_err e;
  dl_err_clear(&e);
  FILE *probe = fopen(out, "r");
  if (probe && !force) {
    fclose(probe);
    dl_errf(&e, DL_EEXIST, "%s exists (use --force to overwrite)", out);
    return dl_cli_fail("calibrate", &e);
  }
  if (probe) fclose(probe);
  /* an output never replaces an input, not even with --force */
  for (int i = optind - 2; i < argc; i++) {
    const char *in = i == optind - 2 ? vpath : i == optind - 1 ? netp : argv[i];
    if (in && dl_cli_same_file(out, in)) {
      dl_errf(&e, DL_ECANTCREAT, "%s: is an input (%s); an output never replaces an input", out,
              i == optind - 2 ? "--vacuum" : i == optind - 1 ? "--network" : "a run file");
      return dl_cli_fail("calibrate", &e);
    }
  }

  vac v = {0};
  int by_pos = 0, rc = read_vacuum(vpath, &v, &by_pos, &e);
  int nruns = argc - optind;
  dl_run_segments *runs = calloc((size_t)nruns, sizeof *runs);
  if (!rc && !runs) rc = dl_errf(&e, DL_ENOMEM, "out of memory");
  uint32_t maxseg = 0;
  for (int i = 0; !rc && i < nruns; i++) {
    rc = dl_run_segments_read(argv[optind + i], &runs[i], &e);
    for (size_t k = 0; !rc && k < runs[i].n; k++) {
      if (runs[i].id[k] < 0)
        rc = dl_errf(&e, DL_EFORMAT, "%s: /segments/id row %zu is negative", argv[optind + i], k);
      else if ((uint32_t)runs[i].id[k] + 1 > maxseg)
        maxseg = (uint32_t)runs[i].id[k] + 1;
    }
  }
  pooled *pool = NULL;
  if (!rc && !(pool = calloc(maxseg ? maxseg : 1, sizeof *pool))) rc = dl_errf(&e, DL_ENOMEM, "out of memory");
  for (int i = 0; !rc && i < nruns; i++)
    for (size_t k = 0; k < runs[i].n; k++) {
      pooled *p = &pool[runs[i].id[k]];
      double w = runs[i].covered_length[k], t = runs[i].t_ref_mean[k];
      if (isfinite(w) && w > 0 && isfinite(t)) p->sumw += w, p->sumwt += w * t;
      p->counted |= isfinite(runs[i].dust_load[k]);
    }
  /* positions -> nearest counted segment */
  dl_net net;
  dl_netfile *nf = NULL;
  dl_proj *pj = NULL;
  dl_net_query q = {0};
  if (!rc && by_pos) {
    const char *np = netp ? netp : runs[0].network;
    if (!np[0])
      rc = dl_errf(&e, DL_EUSAGE, "%s has lon,lat samples but %s names no network: give --network",
                   vpath, argv[optind]);
    if (!rc) rc = dl_network_open(np, &net, &nf, &e);
    if (!rc) rc = dl_proj_create(net.epsg, &pj, &e);
    if (!rc && dl_net_query_init(&q, 32)) rc = dl_errf(&e, DL_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < v.n; i++) {
      double x, y;
      if (dl_proj_fwd(pj, &v.lat[i], &v.lon[i], 1, &x, &y, &e)) {
        rc = dl_errf(&e, DL_EFORMAT, "%s:%ld: cannot project %.7f,%.7f", vpath, v.line[i], v.lon[i], v.lat[i]);
        break;
      }
      dl_net_nearest(&net, &q, x, y, 16, radius, DL_NETQ_PER_SEGMENT | DL_NETQ_SORT);
      for (size_t h = 0; h < q.n; h++) {
        uint32_t s = q.hit[h].seg;
        if (s < maxseg && pool[s].counted) {
          v.seg[i] = (long)s;
          break;
        }
      }
    }
  }
  double *tref = NULL, *resid = NULL;
  uint8_t *rej = NULL;
  dl_calib_fit fit;
  if (!rc) {
    tref = malloc((v.n ? v.n : 1) * sizeof *tref);
    resid = malloc((v.n ? v.n : 1) * sizeof *resid);
    rej = malloc(v.n ? v.n : 1);
    if (!tref || !resid || !rej) rc = dl_errf(&e, DL_ENOMEM, "out of memory");
  }
  for (size_t i = 0; !rc && i < v.n; i++) {
    long s = v.seg[i];
    tref[i] = s >= 0 && (uint32_t)s < maxseg && pool[s].counted && pool[s].sumw > 0
                  ? pool[s].sumwt / pool[s].sumw
                  : NAN;
  }
  if (!rc) {
    rc = dl_calib_fit_loglog(tref, v.sl, v.n, rej, resid, &fit, &e);
    if (rc == DL_ENODATA) {
      size_t usable = 0;
      for (size_t i = 0; i < v.n; i++) usable += isfinite(tref[i]);
      dl_errf(&e, DL_ENODATA, "%s: %zu of %zu vacuum samples lie on a segment counted in the runs "
              "(within %g m for lon,lat); at least 3 with a spread of T_ref_mean are needed",
              vpath, usable, v.n, radius);
    }
  }
  if (!rc) {
    printf("calibration fit: sL = a * T_ref_mean^beta over %zu pairs (%zu rejected)\n",
           fit.n_used, fit.n_rejected);
    printf("  a = %.6g g/m2, beta = %.6g, R2 (log-log) = %.4f, RMS log residual = %.4f\n", fit.a,
           fit.beta, fit.r2, fit.rms);
    printf("line,segment,t_ref_mean_ugm3,sl_vacuum_gm2,sl_fitted_gm2,log_residual,status\n");
    for (size_t i = 0; i < v.n; i++) {
      double fitted = isfinite(tref[i]) && tref[i] > 0 ? fit.a * pow(tref[i], fit.beta) : NAN;
      printf("%ld,%ld,%.3f,%.4f,%.4f,%.4f,%s\n", v.line[i], v.seg[i], tref[i], v.sl[i], fitted,
             resid[i], rej[i] == DL_CALIB_USED ? "used"
                       : v.seg[i] < 0 ? "no counted segment"
                                      : dl_calib_reject_name(rej[i]));
    }
    dl_calib_file cf;
    memset(&cf, 0, sizeof cf);
    cf.a = fit.a, cf.beta = fit.beta, cf.n = (long)fit.n_used, cf.r2 = fit.r2, cf.rms_log = fit.rms;
    dl_time_iso((double)time(NULL), cf.created, sizeof cf.created);
    snprintf(cf.vehicle, sizeof cf.vehicle, "%s", runs[0].vehicle);
    char comment[8192];
    size_t used = (size_t)snprintf(comment, sizeof comment, "fitted from %s against", vpath);
    for (int i = 0; i < nruns && used < sizeof comment; i++)
      used += (size_t)snprintf(comment + used, sizeof comment - used, " %s", argv[optind + i]);
    rc = dl_calib_file_write(out, &cf, comment, force, &e);
    if (!rc) fprintf(stderr, "dustload calibrate: wrote %s\n", out);
  }
  free(tref), free(resid), free(rej), free(pool);
  dl_net_query_free(&q);
  dl_proj_free(pj);
  if (nf) dl_network_close(nf);
  for (int i = 0; runs && i < nruns; i++) dl_run_segments_free(&runs[i]);
  free(runs);
  vac_free(&v);
  return rc ? dl_cli_fail("calibrate", &e) : 0;
}
