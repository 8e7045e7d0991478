/* cli.c: error reporting shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "dl_cli.h"

int dl_cli_fail(const char *cmd, const dl_err *e) {
  fprintf(stderr, "dustload %s: %s\n", cmd,
          e->msg[0] ? e->msg : dl_strerror(e->code));
  return dl_status_exit(e->code);
}

int dl_cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "dustload %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (dustload %s --help)\n", cmd);
  return EX_USAGE;
}

double dl_cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void dl_cli_progress(const char *cmd, int quiet, const char *fmt, ...) {
  if (quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dustload %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int dl_cli_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}
