/* cmd_run.c: `dustload run`: one manifest to HDF5, tables, GeoJSON and a
 * summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "dl_cli.h"
#include "dl_run.h"

static const char *const HELP =
    "usage: dustload run MANIFEST -o RUN.h5 [options]\n\n"
    "Processes one monitoring run: reads the manifest's GPS and instrument files\n"
    "(time zones and clock offsets applied), refines each inlet's lag by the\n"
    "cross-correlation of the tyre excess with v^3 (stage 1), resamples every\n"
    "stream onto a common UTC grid (stage 2), despikes, computes the excess, T_ref\n"
    "and every validity flag (stage 3), map-matches to the road network (stage 4)\n"
    "and aggregates segments, roads, townships and the district, ranked and graded.\n"
    "Without a network (neither the manifest nor --network names one) samples are\n"
    "written unmatched and no segment values are computed.\n\n"
    "options:\n"
    "  -o, --output FILE   HDF5 run file to write (atomically; required)\n"
    "  --network NET       compiled road network (overrides the manifest's)\n"
    "  --tables DIR        ranking tables as CSV + Markdown into DIR\n"
    "  --geojson FILE      segments with load, grade, road, township (RFC 7946)\n"
    "  --set NAME=VALUE    override a method parameter (dustload help params)\n"
    "  --threads N         OpenMP threads (default: the threads parameter, 0 = all)\n"
    "  --force             overwrite existing outputs\n"
    "  -q, --quiet         no progress on stderr\n"
    "  -h, --help          this help\n\n"
    "The HDF5 file holds /samples, /segments, /roads, /townships, /district and\n"
    "/match (one dataset per column, units and long_name attributes) and the\n"
    "provenance as root attributes: version, created, run id, vehicle, effective\n"
    "configuration, SHA-256 of every input, calibration, lags found.\n\n"
    "exit status: 0 ok, 64 usage, 65 malformed input or no valid samples,\n"
    "66 cannot open input, 73 output exists or cannot be created, 78 bad manifest.\n";

#define MAX_SETS 256

/* Removes what this invocation created when a later output fails. */
static void undo(char **made, int n) {
  for (int i = 0; i < n; i++) {
    if (made[i]) unlink(made[i]);
    free(made[i]);
  }
}

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* The input of r that path names (same file, by device and inode), or NULL:
 * an output must never replace an input, not even with --force. */
static const dl_run_file *input_at(const dl_run *r, const char *path) {
  for (int i = 0; path && i < r->nfiles; i++)
    if (dl_cli_same_file(path, r->files[i].path)) return &r->files[i];
  return NULL;
}

int dl_cmd_run(int argc, char **argv) {
  enum { O_NET = 1000, O_TABLES, O_GEOJSON, O_SET, O_THREADS, O_FORCE };
  static const struct option lo[] = {
      {"output", required_argument, 0, 'o'},   {"network", required_argument, 0, O_NET},
      {"tables", required_argument, 0, O_TABLES}, {"geojson", required_argument, 0, O_GEOJSON},
      {"set", required_argument, 0, O_SET},      {"threads", required_argument, 0, O_THREADS},
      {"force", no_argument, 0, O_FORCE},        {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  const char *out = NULL, *tables = NULL, *geojson = NULL;
  const char *sets[MAX_SETS];
  dl_run_opts o = {0};
  int force = 0, c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
    switch (c) {
      case 'o': out = optarg; break;
      case O_NET: o.network = optarg; break;
      case O_TABLES: tables = optarg; break;
      case O_GEOJSON: geojson = optarg; break;
      case O_SET:
        if (o.nsets >= MAX_SETS) return dl_cli_usage("run", "too many --set options (at most %d)", MAX_SETS);
        sets[o.nsets++] = optarg;
        break;
      case O_THREADS: {
        char *end;
        long t = strtol(optarg, &end, 10);
        if (*end || t < 1 || t > 1024)
          return dl_cli_usage("run", "--threads: expected 1 to 1024, got '%s'", optarg);
        o.threads = (int)t;
        break;
      }
      case O_FORCE: force = 1; break;
      case 'q': o.quiet = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("run", "unknown option");
    }
  }
  if (optind >= argc) return dl_cli_usage("run", "a MANIFEST is required");
  if (optind + 1 < argc) return dl_cli_usage("run", "one MANIFEST only, got also '%s'", argv[optind + 1]);
  if (!out || !*out) return dl_cli_usage("run", "-o RUN.h5 is required");
  o.manifest = argv[optind];
  o.sets = sets;
  dl_err e;
  dl_err_clear(&e);
  /* refuse early, before any work, when an output is in the way */
  if (!force) {
    const char *clash = exists(out) ? out : geojson && exists(geojson) ? geojson : NULL;
    if (clash) {
      dl_errf(&e, DL_EEXIST, "%s exists (use --force to overwrite)", clash);
      return dl_cli_fail("run", &e);
    }
  }
  dl_run r;
  dl_run_init(&r);
  int rc = dl_run_execute(&r, &o, &e);
  char *made[3] = {0};
  int nmade = 0;
  for (int i = 0; !rc && i < 2; i++) {
    const char *p = i ? geojson : out;
    const dl_run_file *in = input_at(&r, p);
    if (in)
      rc = dl_errf(&e, DL_ECANTCREAT, "%s: is the %s input of this run; an output never replaces an input",
                   p, in->what);
  }
  if (!rc) {
    int was = exists(out);
    rc = dl_run_write_h5(&r, out, force, &e);
    if (!rc && !was) made[nmade++] = strdup(out);
  }
  if (!rc && geojson) {
    int was = exists(geojson);
    rc = dl_run_write_geojson(&r, geojson, force, &e);
    if (!rc && !was) made[nmade++] = strdup(geojson);
  }
  if (!rc && tables) rc = dl_run_write_tables(&r, tables, force, &e);
  if (rc) {
    undo(made, nmade);
    dl_run_free(&r);
    return dl_cli_fail("run", &e);
  }
  for (int i = 0; i < nmade; i++) free(made[i]);
  dl_run_progress(&r, "wrote %s%s%s%s%s", out, geojson ? ", " : "", geojson ? geojson : "",
                  tables ? ", tables in " : "", tables ? tables : "");
  dl_run_summary(&r, stdout);
  if (!r.can_load)
    fprintf(stderr,
            "dustload run: note: no dust load for this run: a dust load needs a tyre inlet and a "
            "background inlet (and GPS speed); every sample is flagged with the reason "
            "(NO_TYRE, NO_BACKGROUND, NO_GPS, ...) and loads are NaN, not 0.\n");
  dl_run_free(&r);
  return 0;
}
