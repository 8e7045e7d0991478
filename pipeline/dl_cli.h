/* dl_cli.h: the subcommands of the dustload binary and small helpers they
 * share (error reporting with sysexits codes, progress on stderr). */
#ifndef DL_CLI_H
#define DL_CLI_H

#include "dl_base.h"

typedef int (*dl_cmd_fn)(int argc, char **argv);

typedef struct dl_command {
  const char *name;
  dl_cmd_fn fn;
  const char *summary;
} dl_command;

extern const dl_command dl_commands[];

int dl_cmd_inspect(int argc, char **argv);
int dl_cmd_network(int argc, char **argv);
int dl_cmd_run(int argc, char **argv);
int dl_cmd_calibrate(int argc, char **argv);
int dl_cmd_simulate(int argc, char **argv);
int dl_cmd_match(int argc, char **argv);
int dl_cmd_batch(int argc, char **argv);
int dl_cmd_rank(int argc, char **argv);

/* Prints "dustload CMD: message" for e and returns its sysexits code. */
int dl_cli_fail(const char *cmd, const dl_err *e);
/* Prints a usage error and returns EX_USAGE. */
int dl_cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when a and b name the same existing file (device and inode), else 0:
 * an output must never replace one of the command's inputs, even with --force. */
int dl_cli_same_file(const char *a, const char *b);

/* Seconds on a monotonic clock, for timings in progress messages. */
double dl_cli_now(void);
/* "dustload CMD: message" on stderr unless quiet. */
void dl_cli_progress(const char *cmd, int quiet, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
