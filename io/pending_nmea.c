/* pending: replaced by io/nmea.c */
#include "dl_io.h"
int dl_read_nmea(const char *path, const dl_gps_opts *o, dl_fixes *out, dl_rejects *rej, dl_err *e) {
  return dl_errf(e, DL_EINTERNAL, "%s: NMEA reader not built yet", path);
}
