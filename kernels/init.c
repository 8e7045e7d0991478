/* init.c: process-wide set-up of the numeric libraries. */
#include <gsl/gsl_errno.h>

#include "dl_proc.h"

void dl_kernels_init(void) {
  /* GSL's default handler aborts the process; kernels check every GSL
   * status and turn it into a dustload error instead. */
  gsl_set_error_handler_off();
}
