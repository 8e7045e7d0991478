/* pending: replaced by io/dusttrak.c and io/inst_csv.c */
#include "dl_io.h"
#define PENDING(fn) \
  int fn(const char *path, const dl_inst_opts *o, dl_samples *out, dl_rejects *rej, dl_err *e) { \
    return dl_errf(e, DL_EINTERNAL, "%s: reader not built yet", path); }
PENDING(dl_read_dusttrak)
PENDING(dl_read_inst_csv)
