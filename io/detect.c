/* detect.c: format names, detection from the first bytes, and dispatch to
 * the right reader. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_io.h"

static const char *const names[DL_FMT__N] = {
    [DL_FMT_UNKNOWN] = "unknown",     [DL_FMT_NMEA] = "nmea",
    [DL_FMT_GPSD_JSON] = "gpsd-json", [DL_FMT_GPSD_LIVE] = "gpsd",
    [DL_FMT_GPX] = "gpx",             [DL_FMT_PLT] = "plt",
    [DL_FMT_GPS_CSV] = "gps-csv",     [DL_FMT_DUSTTRAK] = "dusttrak",
    [DL_FMT_INST_CSV] = "csv",        [DL_FMT_MANIFEST] = "manifest",
    [DL_FMT_OSM] = "osm",             [DL_FMT_NETWORK] = "network",
};

const char *dl_format_name(dl_format f) {
  return (f >= 0 && f < DL_FMT__N && names[f]) ? names[f] : "unknown";
}

dl_format dl_format_parse(const char *name) {
  for (int i = 1; i < DL_FMT__N; i++)
    if (names[i] && !strcasecmp(name, names[i])) return (dl_format)i;
  if (!strcasecmp(name, "json")) return DL_FMT_GPSD_JSON;
  if (!strcasecmp(name, "inst-csv")) return DL_FMT_INST_CSV;
  return DL_FMT_UNKNOWN;
}

static int has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && !strcasecmp(s + n - k, suf);
}

/* Finds needle in the first n bytes of hay. */
static int contains(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(hay + i, needle, k)) return 1;
  return 0;
}

dl_format dl_format_detect(const char *path, dl_err *e) {
  if (!strncmp(path, "gpsd://", 7)) return DL_FMT_GPSD_LIVE;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    dl_errf(e, DL_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
    return DL_FMT_UNKNOWN;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    dl_errf(e, DL_ENOINPUT, "%s: is a folder, expected a file", path);
    return DL_FMT_UNKNOWN;
  }
  char buf[8192];
  ssize_t k = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (k < 0) {
    dl_errf(e, DL_EIO, "%s: read error: %s", path, strerror(errno));
    return DL_FMT_UNKNOWN;
  }
  size_t n = (size_t)k;
  buf[n] = '\0';
  if (n >= 8 && !memcmp(buf, "DLNET", 5)) return DL_FMT_NETWORK;
  if (has_suffix(path, ".osm.pbf") || has_suffix(path, ".pbf")) return DL_FMT_OSM;
  /* an INI manifest may mention instruments in its comments: decide it first */
  if (has_suffix(path, ".ini") || contains(buf, n, "\n[run]") || !strncmp(buf, "[run]", 5))
    return DL_FMT_MANIFEST;
  if (contains(buf, n, "TrakPro") || contains(buf, n, "DustTrak")) return DL_FMT_DUSTTRAK;
  if (contains(buf, n, "<gpx")) return DL_FMT_GPX;
  if (contains(buf, n, "<osm")) return DL_FMT_OSM;
  if (contains(buf, n, "Geolife trajectory") || has_suffix(path, ".plt")) return DL_FMT_PLT;
  /* NMEA: a '$' or '!' followed by a talker and a sentence name. Tried
   * before gpsd JSON: gpsd's own NMEA logs quote its JSON in '#' lines. */
  for (size_t i = 0; i + 6 < n; i++)
    if (buf[i] == '$' && isupper((unsigned char)buf[i + 1]) &&
        isupper((unsigned char)buf[i + 2]) && (i == 0 || buf[i - 1] == '\n' || buf[i - 1] == '$'))
      return DL_FMT_NMEA;
  if (contains(buf, n, "\"class\":\"TPV\"") || contains(buf, n, "\"class\": \"TPV\"") ||
      contains(buf, n, "\"class\":\"VERSION\""))
    return DL_FMT_GPSD_JSON;
  /* CSV: a header line naming time and lat/lon is GPS; otherwise an
   * instrument table. */
  const char *p = buf;
  if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  while (*p == '#') { /* skip comment lines */
    const char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  const char *nl = strchr(p, '\n');
  size_t hl = nl ? (size_t)(nl - p) : strlen(p);
  char head[512];
  if (hl >= sizeof head) hl = sizeof head - 1;
  for (size_t i = 0; i < hl; i++) head[i] = (char)tolower((unsigned char)p[i]);
  head[hl] = '\0';
  if (strchr(head, ',')) {
    if (strstr(head, "lat") && strstr(head, "lon")) return DL_FMT_GPS_CSV;
    return DL_FMT_INST_CSV;
  }
  dl_errf(e, DL_EFORMAT,
          "%s: unrecognised format (expected NMEA, gpsd JSON, GPX, PLT, CSV, "
          "DustTrak export, manifest or OSM)",
          path);
  return DL_FMT_UNKNOWN;
}

void dl_gps_opts_default(dl_gps_opts *o) {
  memset(o, 0, sizeof *o);
  o->live_retries = 5;
}

void dl_inst_opts_default(dl_inst_opts *o) { memset(o, 0, sizeof *o); }

int dl_parse_tz(const char *s, double *offset_s) {
  while (*s == ' ') s++;
  if (!strcasecmp(s, "UTC") || !strcasecmp(s, "Z") || !strcasecmp(s, "GMT")) {
    *offset_s = 0;
    return DL_OK;
  }
  if (!strncasecmp(s, "UTC", 3)) s += 3;
  int sign;
  if (*s == '+')
    sign = 1;
  else if (*s == '-')
    sign = -1;
  else
    return DL_EFORMAT;
  s++;
  int hh = 0, mm = 0, nd = 0;
  while (isdigit((unsigned char)*s) && nd < 2) hh = hh * 10 + (*s++ - '0'), nd++;
  if (nd == 0) return DL_EFORMAT;
  if (*s == ':') s++;
  nd = 0;
  while (isdigit((unsigned char)*s) && nd < 2) mm = mm * 10 + (*s++ - '0'), nd++;
  if (*s || hh > 14 || mm > 59 || (nd != 0 && nd != 2)) return DL_EFORMAT;
  *offset_s = sign * (hh * 3600.0 + mm * 60.0);
  return DL_OK;
}

int dl_read_gps(const char *path, dl_format fmt, const dl_gps_opts *o,
                dl_fixes *out, dl_rejects *rej, dl_err *e) {
  if (fmt == DL_FMT_UNKNOWN) {
    fmt = dl_format_detect(path, e);
    if (fmt == DL_FMT_UNKNOWN) return e ? e->code : DL_EFORMAT;
  }
  switch (fmt) {
    case DL_FMT_NMEA: return dl_read_nmea(path, o, out, rej, e);
    case DL_FMT_GPSD_JSON: return dl_read_gpsd_json(path, o, out, rej, e);
    case DL_FMT_GPSD_LIVE: return dl_read_gpsd_live(path, o, out, rej, e);
    case DL_FMT_GPX: return dl_read_gpx(path, o, out, rej, e);
    case DL_FMT_PLT: return dl_read_plt(path, o, out, rej, e);
    case DL_FMT_GPS_CSV: return dl_read_gps_csv(path, o, out, rej, e);
    default:
      return dl_errf(e, DL_EFORMAT, "%s: is %s, not a GPS file", path,
                     dl_format_name(fmt));
  }
}

int dl_read_instrument(const char *path, dl_format fmt, const dl_inst_opts *o,
                       dl_samples *out, dl_rejects *rej, dl_err *e) {
  if (fmt == DL_FMT_UNKNOWN) {
    fmt = dl_format_detect(path, e);
    if (fmt == DL_FMT_UNKNOWN) return e ? e->code : DL_EFORMAT;
  }
  switch (fmt) {
    case DL_FMT_DUSTTRAK: return dl_read_dusttrak(path, o, out, rej, e);
    case DL_FMT_INST_CSV: return dl_read_inst_csv(path, o, out, rej, e);
    default:
      return dl_errf(e, DL_EFORMAT, "%s: is %s, not an instrument file", path,
                     dl_format_name(fmt));
  }
}
