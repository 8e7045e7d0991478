/* main.c: the dustload binary: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "dl_cli.h"
#include "dl_params.h"
#include "dl_proc.h"

const dl_command dl_commands[] = {
    {"inspect", dl_cmd_inspect, "summarise GPS and instrument files; list fixes or samples"},
    {"network", dl_cmd_network, "compile OSM + boundaries into a road network file; show its summary"},
    {"match", dl_cmd_match, "place every GPS fix on the road segment it was driven on"},
    {"simulate", dl_cmd_simulate, "write a synthetic run (GPS, DustTraks, manifest) with known truth"},
    {"run", dl_cmd_run, "one monitoring run (manifest) -> HDF5, ranking tables, GeoJSON"},
    {"calibrate", dl_cmd_calibrate, "fit the calibration (a, beta) from collocated vacuum samples"},
    {"batch", dl_cmd_batch, "many runs -> one HDF5 each; resumable journal; OpenMP, MPI or shards"},
    {"rank", dl_cmd_rank, "pool a period's runs per segment -> district/township/road rankings"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out) {
  fprintf(out,
          "dustload %s: vehicle-mounted road dust-load monitoring\n\n"
          "usage: dustload COMMAND [options] [args]\n"
          "       dustload help [COMMAND | params]\n"
          "       dustload --version\n\n"
          "commands:\n",
          DL_VERSION);
  for (const dl_command *c = dl_commands; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out,
          "\n'dustload COMMAND --help' explains a command; "
          "'dustload help params' lists the method parameters.\n");
}

static const dl_command *find(const char *name) {
  for (const dl_command *c = dl_commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

int main(int argc, char **argv) {
  dl_kernels_init();
  if (argc < 2) {
    usage(stderr);
    return EX_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("dustload %s\n", DL_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    if (argc >= 3 && !strcmp(argv[2], "params")) {
      printf("method parameters (set with --set NAME=VALUE or in a manifest's [params]):\n");
      dl_params_help(stdout);
      return 0;
    }
    if (argc >= 3) {
      const dl_command *c = find(argv[2]);
      if (!c) {
        fprintf(stderr, "dustload: unknown command '%s'\n", argv[2]);
        return EX_USAGE;
      }
      char *hargv[] = {(char *)c->name, "--help", NULL};
      return c->fn(2, hargv);
    }
    usage(stdout);
    return 0;
  }
  const dl_command *c = find(cmd);
  if (!c) {
    fprintf(stderr, "dustload: unknown command '%s' (dustload help lists them)\n", cmd);
    return EX_USAGE;
  }
  return c->fn(argc - 1, argv + 1);
}
