/* pending: replaced by io/gpx.c, io/plt.c, io/gps_csv.c, io/gpsd.c */
#include "dl_io.h"
#define PENDING(fn) \
  int fn(const char *path, const dl_gps_opts *o, dl_fixes *out, dl_rejects *rej, dl_err *e) { \
    return dl_errf(e, DL_EINTERNAL, "%s: reader not built yet", path); }
PENDING(dl_read_gpsd_json)
PENDING(dl_read_gpsd_live)
PENDING(dl_read_gpx)
PENDING(dl_read_plt)
PENDING(dl_read_gps_csv)
