/* plt.c: Microsoft GeoLife PLT trajectories: six header lines, then
 * lat,lon,0,altitude_ft,days_since_1899-12-30,YYYY-MM-DD,hh:mm:ss (UTC). */
#include <stdio.h>
#include <string.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "dl_time.h"
#include "gps_common.h"

#define PLT_HEADER_LINES 6
#define PLT_DAY0 25569.0 /* 1970-01-01 in days since 1899-12-30 */

int dl_read_plt(const char *path, const dl_gps_opts *o, dl_fixes *out,
                dl_rejects *rej, dl_err *e) {
  (void)o;
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  size_t first = out->n;
  const char *line;
  size_t len;
  int too_long;
  while ((rc = dl_lines_next(&r, &line, &len, &too_long, e)) == 1) {
    uint64_t ln = r.lineno;
    rej->lines++;
    if (ln <= PLT_HEADER_LINES) {
      if (ln == 1 && (len < 7 || memcmp(line, "Geolife", 7) != 0)) {
        rc = dl_errf(e, DL_EFORMAT, "%s:1: expected 'Geolife trajectory', got '%.*s'", path,
                     (int)(len > 60 ? 60 : len), line);
        goto done;
      }
      dl_reject(rej, DL_REJ_HEADER, ln);
      continue;
    }
    if (gps_line_skip(rej, line, len, too_long, ln)) continue;
    /* fields: 0 lat, 1 lon, 2 zero, 3 alt ft, 4 days, 5 date, 6 time */
    const char *f[8];
    size_t fl[8];
    int k = 0;
    size_t i = 0;
    while (k < 8) {
      size_t j = i;
      while (j < len && line[j] != ',') j++;
      f[k] = line + i, fl[k] = j - i, k++;
      if (j >= len) break;
      i = j + 1;
    }
    double lat, lon, t, days;
    if (k != 7 || !gps_num(f[0], fl[0], &lat) || !gps_num(f[1], fl[1], &lon)) {
      dl_reject(rej, DL_REJ_SYNTAX, ln);
      continue;
    }
    /* date and time fields are authoritative; the day count is a fallback */
    char ts[48];
    if (fl[5] + fl[6] + 2 < sizeof ts) {
      snprintf(ts, sizeof ts, "%.*sT%.*sZ", (int)fl[5], f[5], (int)fl[6], f[6]);
      if (dl_parse_iso8601(ts, strlen(ts), &t) != DL_OK) t = NAN;
    } else {
      t = NAN;
    }
    if (!isfinite(t)) {
      if (!gps_num(f[4], fl[4], &days)) {
        dl_reject(rej, fl[5] || fl[4] ? DL_REJ_SYNTAX : DL_REJ_NO_TIME, ln);
        continue;
      }
      /* whole milliseconds: the day count carries about 10 us */
      t = round((days - PLT_DAY0) * 86400.0 * 1000.0) / 1000.0;
    }
    if (t < GPS_T_MIN || t >= GPS_T_MAX || !gps_latlon_ok(lat, lon)) {
      dl_reject(rej, DL_REJ_RANGE, ln);
      continue;
    }
    int why = gps_time_order(out, first, t);
    if (why >= 0) {
      dl_reject(rej, why, ln);
      continue;
    }
    long x = gps_push(out, rej, t, lat, lon, ln, path, e);
    if (x < 0) {
      rc = DL_ENOMEM;
      goto done;
    }
  }
  if (rc < 0) goto done;
  rc = r.lineno ? DL_OK : dl_errf(e, DL_ENODATA, "%s: empty file", path);
done:
  dl_lines_close(&r);
  return rc;
}
