/* cmd_rank.c: `dustload rank`: the monthly ranking of a batch folder. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_batch.h"
#include "dl_cli.h"

static const char *const HELP =
    "usage: dustload rank OUTDIR --period YYYY-MM -o RANKDIR [options]\n\n"
    "Ranks a period from the run files (*.h5) of a batch folder: every valid\n"
    "sample of the period's runs is pooled per segment, so a road driven twice\n"
    "counts the coverage of both passes and its mean T_ref is distance-weighted\n"
    "over all of them; then the coverage rule, calibration, roads, townships and\n"
    "the district exactly as `dustload run` does for one run, competition ranking\n"
    "on 2-decimal loads (1, 2, 2, 4) and grades.\n\n"
    "Period: YYYY-MM with start day D names the month it starts in: from D of\n"
    "that month 00:00 to D of the next month 00:00 (exclusive), local time of\n"
    "--tz (Beijing, +8 h, by default). 2024-07 with --start-day 20 is\n"
    "20 July - 19 August 2024; start day 1 is the calendar month. Samples are\n"
    "selected by their own time, so a run crossing the boundary gives each\n"
    "period its own samples.\n\n"
    "Runs must share one road network (same file content), one calibration\n"
    "(a, beta) and the same method parameters: the combination most runs of\n"
    "the period have is used, the others are excluded with the reason.\n\n"
    "options:\n"
    "  --period YYYY-MM     the period's label (required)\n"
    "  --start-day D        first day of the period, 1 to 28 (default 1)\n"
    "  --tz HOURS           local zone of the period's bounds, east of UTC (default 8)\n"
    "  -o, --output RANKDIR folder for the results (created)\n"
    "  --network NET        the network file, when it moved since the runs\n"
    "  --force              replace existing results\n"
    "  -q, --quiet          no summary on stdout\n"
    "  -h, --help           this help\n\n"
    "RANKDIR gets ranking.h5 (/segments, /roads, /townships, /district as in a run\n"
    "file, /runs: every run file with used, reason, samples in the period,\n"
    "SHA-256), ranking.md (tables and the runs used and excluded), district.csv,\n"
    "townships.csv, townships_best30.csv, townships_worst10.csv, roads.csv,\n"
    "roads_worst3.csv and runs.csv.\n\n"
    "exit status: 0 ok, 64 usage, 65 no usable run in the period, 66 OUTDIR\n"
    "unreadable, 73 results exist (without --force) or cannot be written,\n"
    "78 the network file differs from the runs'.\n";

int dl_cmd_rank(int argc, char **argv) {
  enum { O_PERIOD = 1000, O_START, O_TZ, O_NET, O_FORCE };
  static const struct option lo[] = {
      {"period", required_argument, 0, O_PERIOD}, {"start-day", required_argument, 0, O_START},
      {"tz", required_argument, 0, O_TZ},         {"output", required_argument, 0, 'o'},
      {"network", required_argument, 0, O_NET},   {"force", no_argument, 0, O_FORCE},
      {"quiet", no_argument, 0, 'q'},             {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  dl_rank_opts o = {0};
  o.start_day = 1, o.tz_hours = 8;
  int c, year = 0, month = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
    switch (c) {
      case O_PERIOD: {
        int k = 0;
        if (sscanf(optarg, "%4d-%2d%n", &year, &month, &k) != 2 || optarg[k] || k != 7 ||
            month < 1 || month > 12 || year < 1970 || year > 9999)
          return dl_cli_usage("rank", "--period: expected YYYY-MM, got '%s'", optarg);
        o.label = optarg;
        break;
      }
      case O_START: {
        char *end;
        long d = strtol(optarg, &end, 10);
        if (*end || d < 1 || d > 28)
          return dl_cli_usage("rank", "--start-day: expected 1 to 28, got '%s'", optarg);
        o.start_day = (int)d;
        break;
      }
      case O_TZ: {
        char *end;
        double h = strtod(optarg, &end);
        if (*end || end == optarg || !(h >= -14 && h <= 14))
          return dl_cli_usage("rank", "--tz: expected hours in [-14, 14], got '%s'", optarg);
        o.tz_hours = h;
        break;
      }
      case 'o': o.rankdir = optarg; break;
      case O_NET: o.network = optarg; break;
      case O_FORCE: o.force = 1; break;
      case 'q': o.quiet = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("rank", "unknown option");
    }
  }
  if (optind >= argc) return dl_cli_usage("rank", "the batch folder OUTDIR is required");
  if (optind + 1 < argc) return dl_cli_usage("rank", "one OUTDIR only, got also '%s'", argv[optind + 1]);
  if (!o.label) return dl_cli_usage("rank", "--period YYYY-MM is required");
  if (!o.rankdir || !*o.rankdir) return dl_cli_usage("rank", "-o RANKDIR is required");
  o.outdir = argv[optind];
  dl_rank_period(year, month, o.start_day, o.tz_hours, &o.t0, &o.t1);
  dl_err e;
  dl_err_clear(&e);
  FILE *out = o.quiet ? fopen("/dev/null", "w") : stdout;
  int rc = dl_rank_main(&o, out ? out : stdout, &e);
  if (out && out != stdout) fclose(out);
  return rc ? dl_cli_fail("rank", &e) : 0;
}
