/* gpsd_json.c: gpsd JSON reports as written by `gpspipe -w`: one object a
 * line; TPV objects with a 2D/3D fix become fixes, SKY objects supply the
 * HDOP and satellite count carried to the TPVs that follow (gpsd 3.22's SKY
 * has no time, so it cannot be matched to its epoch). Decoded with jansson,
 * not libgps: libgps_json_unpack() is exported but in no installed header,
 * and it accepts truncated objects and bad times without an error. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "dl_io.h"
#include "dl_lines.h"
#include "dl_time.h"
#include "gps_common.h"

/* Number member, NAN when absent or null; *bad set when it is not a number. */
static double num_member(json_t *o, const char *key, int *bad) {
  json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return NAN;
  if (!json_is_number(v)) {
    *bad = 1;
    return NAN;
  }
  double x = json_number_value(v);
  if (!isfinite(x)) *bad = 1;
  return x;
}

int dl_read_gpsd_json(const char *path, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e) {
  (void)o;
  dl_lines r;
  int rc = dl_lines_open(&r, path, e);
  if (rc != DL_OK) return rc;
  size_t first = out->n;
  double sky_hdop = NAN; /* from the last SKY report */
  int sky_used = -1;
  uint64_t reports = 0; /* lines that were gpsd reports (objects with a class) */
  const char *line;
  size_t len;
  int too_long;
  while ((rc = dl_lines_next(&r, &line, &len, &too_long, e)) == 1) {
    uint64_t ln = r.lineno;
    rej->lines++;
    if (gps_line_skip(rej, line, len, too_long, ln)) continue;
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj || !json_is_object(obj)) {
      json_decref(obj);
      dl_reject(rej, DL_REJ_SYNTAX, ln);
      continue;
    }
    const char *cls = json_string_value(json_object_get(obj, "class"));
    int why = -1, bad = 0;
    if (cls) reports++;
    if (!cls) {
      why = DL_REJ_SYNTAX;
    } else if (!strcmp(cls, "SKY")) {
      double h = num_member(obj, "hdop", &bad);
      double u = num_member(obj, "uSat", &bad);
      if (bad) {
        why = DL_REJ_SYNTAX;
      } else {
        if (isfinite(h) && h >= 0) sky_hdop = h;
        if (isfinite(u) && u >= 0 && u <= 127) sky_used = (int)u;
        why = DL_REJ_UNSUPPORTED; /* not a fix, though it was used */
      }
    } else if (strcmp(cls, "TPV") != 0) {
      why = DL_REJ_UNSUPPORTED; /* VERSION, DEVICES, WATCH, DEVICE, PPS, ... */
    }
    double t = NAN, lat = NAN, lon = NAN, speed = NAN, track = NAN, mode = NAN, status = NAN;
    if (why < 0) {
      mode = num_member(obj, "mode", &bad);
      status = num_member(obj, "status", &bad);
      lat = num_member(obj, "lat", &bad);
      lon = num_member(obj, "lon", &bad);
      speed = num_member(obj, "speed", &bad);
      track = num_member(obj, "track", &bad);
      json_t *tv = json_object_get(obj, "time");
      if (bad || (tv && !json_is_string(tv)))
        why = DL_REJ_SYNTAX;
      else if (!(mode >= 2))
        why = DL_REJ_NO_FIX;
      else if (!tv)
        why = DL_REJ_NO_TIME;
      else if (dl_parse_iso8601(json_string_value(tv), json_string_length(tv), &t) != DL_OK)
        why = DL_REJ_SYNTAX;
      else if (!isfinite(lat) || !isfinite(lon))
        why = DL_REJ_MISSING;
      else if (t < GPS_T_MIN || t >= GPS_T_MAX || !gps_latlon_ok(lat, lon))
        why = DL_REJ_RANGE;
      else
        why = gps_time_order(out, first, t);
    }
    json_decref(obj);
    if (why >= 0) {
      dl_reject(rej, why, ln);
      continue;
    }
    long i = gps_push(out, rej, t, lat, lon, ln, path, e);
    if (i < 0) {
      rc = DL_ENOMEM;
      goto done;
    }
    out->speed[i] = speed >= 0 ? speed : NAN;
    out->course[i] = track >= 0 && track <= 360 ? fmod(track, 360.0) : NAN;
    out->hdop[i] = sky_hdop;
    out->nsat[i] = (int8_t)sky_used;
    out->quality[i] = (int8_t)gps_quality_from_gpsd((int)mode, isfinite(status) ? (int)status : 1);
  }
  if (rc < 0) goto done;
  if (!r.lineno)
    rc = dl_errf(e, DL_ENODATA, "%s: empty file", path);
  else if (!reports)
    rc = dl_errf(e, DL_EFORMAT,
                 "%s: no gpsd report in %llu lines (expected JSON objects with a \"class\" "
                 "member, as written by gpspipe -w)",
                 path, (unsigned long long)r.lineno);
  else
    rc = DL_OK;
done:
  dl_lines_close(&r);
  return rc;
}
