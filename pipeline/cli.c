/* cli.c: error reporting shared by the subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>

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
