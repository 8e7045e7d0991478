/* cmd_batch.c: `dustload batch`: many runs to one folder of HDF5 files,
 * resumable, over OpenMP threads, MPI ranks or shards. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_batch.h"
#include "dl_cli.h"

static const char *const HELP =
    "usage: dustload batch RUNS... -o OUTDIR [options]\n"
    "       mpirun -np N dustload batch RUNS... -o OUTDIR [options]\n\n"
    "Processes many monitoring runs, each exactly as `dustload run` does, into\n"
    "OUTDIR/<run id>.h5 (written atomically). RUNS are manifests, or folders\n"
    "searched recursively for manifests (*.ini files with a [run] section).\n"
    "Run ids must be unique.\n\n"
    "Journal: OUTDIR/journal.tsv (journal.shard-I-of-N.tsv for a shard) gets one\n"
    "line per finished run (run id, ok/failed, SHA-256 over the manifest and\n"
    "every input file, output file, its size and SHA-256, wall time, fixes,\n"
    "finish time, manifest, error), each written with one write() and fsync:\n"
    "a killed batch leaves at worst a torn last line, which is ignored. A\n"
    "failed run is journaled with its error and the batch goes on.\n\n"
    "With --resume a run is skipped when any journal in OUTDIR records it ok\n"
    "with the same input hash (inputs, network, dustload version) and its output\n"
    "is present with the recorded size and SHA-256; failed and changed runs\n"
    "(and runs whose output was damaged since) are redone.\n"
    "Temporary files left by a killed batch are removed.\n\n"
    "MPI: under mpirun with N > 1 ranks, rank 0 only dispatches (it sleeps\n"
    "between messages) and writes the journal and summary: it hands the largest\n"
    "remaining run to whichever of the N-1 workers is free. Each worker runs\n"
    "with OpenMP inside and writes its own files. Give -np workers+1 and\n"
    "--bind-to none (or --map-by with PE=threads) so OpenMP threads are not\n"
    "pinned to one core. Without mpirun everything runs in this process.\n\n"
    "options:\n"
    "  -o, --output OUTDIR  output folder (created)\n"
    "  --resume             skip runs journaled ok whose inputs are unchanged\n"
    "  --force              redo every run, replacing its output\n"
    "  --shard I/N          only shard I of N (0 <= I < N): runs whose run-id hash\n"
    "                       is I mod N; shards share OUTDIR, each its own journal\n"
    "  --threads N          OpenMP threads per run (default: the threads parameter)\n"
    "  --network NET        compiled road network for every run\n"
    "  -q, --quiet          no progress on stderr\n"
    "  -h, --help           this help\n\n"
    "Progress on stderr: runs done/total, fixes/s, ETA (by input bytes left).\n"
    "Summary on stdout: succeeded, failed (with reasons), skipped.\n\n"
    "exit status: 0 every run succeeded or was skipped, 1 some run failed (see\n"
    "the summary and the journal; --resume retries it), 64 usage, 65 two\n"
    "manifests share a run id, 66 a RUNS argument does not exist or no manifest\n"
    "found, 69 the journal is in use by another batch, 73 OUTDIR cannot be\n"
    "created or outputs exist (without --resume/--force), 74 journal I/O error.\n";

int dl_cmd_batch(int argc, char **argv) {
  enum { O_RESUME = 1000, O_FORCE, O_SHARD, O_THREADS, O_NET };
  static const struct option lo[] = {
      {"output", required_argument, 0, 'o'}, {"resume", no_argument, 0, O_RESUME},
      {"force", no_argument, 0, O_FORCE},    {"shard", required_argument, 0, O_SHARD},
      {"threads", required_argument, 0, O_THREADS}, {"network", required_argument, 0, O_NET},
      {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  dl_batch_opts o = {0};
  int c;
  optind = 0;
  while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
    switch (c) {
      case 'o': o.outdir = optarg; break;
      case O_RESUME: o.resume = 1; break;
      case O_FORCE: o.force = 1; break;
      case O_SHARD: {
        int i, n, k = 0;
        if (sscanf(optarg, "%d/%d%n", &i, &n, &k) != 2 || optarg[k] || n < 1 || n > 1000000 ||
            i < 0 || i >= n)
          return dl_cli_usage("batch", "--shard: expected I/N with 0 <= I < N, got '%s'", optarg);
        o.shard_i = i, o.shard_n = n;
        break;
      }
      case O_THREADS: {
        char *end;
        long t = strtol(optarg, &end, 10);
        if (*end || t < 1 || t > 1024)
          return dl_cli_usage("batch", "--threads: expected 1 to 1024, got '%s'", optarg);
        o.threads = (int)t;
        break;
      }
      case O_NET: o.network = optarg; break;
      case 'q': o.quiet = 1; break;
      case 'h': fputs(HELP, stdout); return 0;
      default: return dl_cli_usage("batch", "unknown option");
    }
  }
  if (optind >= argc) return dl_cli_usage("batch", "at least one manifest or folder is required");
  if (!o.outdir || !*o.outdir) return dl_cli_usage("batch", "-o OUTDIR is required");
  if (o.resume && o.force) return dl_cli_usage("batch", "--resume and --force exclude each other");
  return dl_batch_main((const char *const *)argv + optind, argc - optind, &o);
}
