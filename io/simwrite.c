/* simwrite.c: writers of NMEA 0183, TrakPro DustTrak exports, run
 * manifests and simulation truth files, each through an atomic output. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_simwrite.h"


/* ---- NMEA ------------------------------------------------------------- */
/* "ddmm.mmmmm,N" / "dddmm.mmmmm,E" from degrees, rounded once in integer
 * units of 1e-5 minute so a value never prints as 60 minutes. */
static int put_coord(char *b, size_t cap, double deg, int is_lat) {
  long long q = llround(fabs(deg) * 60.0 * 1e5);
  long long d = q / 6000000, r = q % 6000000;
  char hemi = is_lat ? (deg < 0 ? 'S' : 'N') : (deg < 0 ? 'W' : 'E');
  return snprintf(b, cap, is_lat ? "%02lld%02lld.%05lld,%c" : "%03lld%02lld.%05lld,%c", d, r / 100000,
                  r % 100000, hemi);
}

/* Writes "$body*HH\r\n". */
static void sentence(FILE *f, const char *body) {
  unsigned x = 0;
  for (const char *p = body; *p; p++) x ^= (unsigned char)*p;
  fprintf(f, "$%s*%02X\r\n", body, x & 0xFF);
}

int dl_nmea_write(const char *path, const dl_fixes *fx, double alt_m, int force, dl_err *e) {
  for (size_t i = 0; i < fx->n; i++)
    if (!isfinite(fx->t[i]) || !(fabs(fx->lat[i]) <= 90) || !(fabs(fx->lon[i]) <= 180))
      return dl_errf(e, DL_EINTERNAL, "%s: fix %zu has no valid time or position", path, i);
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  char body[256], lat[40], lon[40], spd[40], crs[40], hd[40], ns[16];
  for (size_t i = 0; i < fx->n; i++) {
    /* time in centiseconds, split into date and time of day */
    long long cs = llround(fx->t[i] * 100.0);
    long long day = cs >= 0 ? cs / 8640000 : -((-cs + 8639999) / 8640000);
    long long tod = cs - day * 8640000;
    int64_t y;
    unsigned mo, dd;
    dl_civil_from_days(day, &y, &mo, &dd);
    int hh = (int)(tod / 360000), mm = (int)(tod / 6000 % 60), ss = (int)(tod / 100 % 60),
        cc = (int)(tod % 100);
    put_coord(lat, sizeof lat, fx->lat[i], 1);
    put_coord(lon, sizeof lon, fx->lon[i], 0);
    double sp = fx->speed ? fx->speed[i] : NAN, co = fx->course ? fx->course[i] : NAN;
    double hdop = fx->hdop ? fx->hdop[i] : NAN;
    if (isfinite(sp)) snprintf(spd, sizeof spd, "%.3f", sp / (1852.0 / 3600.0));
    else spd[0] = 0;
    if (isfinite(co)) snprintf(crs, sizeof crs, "%.2f", co);
    else crs[0] = 0;
    if (isfinite(hdop)) snprintf(hd, sizeof hd, "%.1f", hdop);
    else hd[0] = 0;
    int q = fx->quality && fx->quality[i] >= 0 ? fx->quality[i] : 1;
    if (fx->nsat && fx->nsat[i] >= 0) snprintf(ns, sizeof ns, "%02d", fx->nsat[i]);
    else ns[0] = 0;
    snprintf(body, sizeof body, "GPRMC,%02d%02d%02d.%02d,A,%s,%s,%s,%s,%02u%02u%02u,,,%c", hh, mm, ss, cc,
             lat, lon, spd, crs, dd, mo, (unsigned)(((y % 100) + 100) % 100), q == 2 ? 'D' : 'A');
    sentence(o.f, body);
    snprintf(body, sizeof body, "GPGGA,%02d%02d%02d.%02d,%s,%s,%d,%s,%s,%.1f,M,-8.0,M,,", hh, mm, ss, cc,
             lat, lon, q, ns, hd, alt_m);
    sentence(o.f, body);
  }
  return dl_outfile_commit(&o, e);
}

/* ---- DustTrak (TrakPro export) ----------------------------------------- */
static void put_date_time(int64_t t, char *date, size_t dcap, char *tod, size_t tcap) {
  int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t s = t - day * 86400, y;
  unsigned m, d;
  dl_civil_from_days(day, &y, &m, &d);
  snprintf(date, dcap, "%02u/%02u/%04" PRId64, m, d, y);
  snprintf(tod, tcap, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

static void put_mg(FILE *f, int64_t ug) { fprintf(f, "%" PRId64 ".%03" PRId64, ug / 1000, ug % 1000); }

int dl_dusttrak_write(const char *path, const dl_dusttrak_info *in, int64_t local0,
                      const int32_t *ugm3, size_t n, int force, dl_err *e) {
  if (!n) return dl_errf(e, DL_ENODATA, "%s: no readings to write", path);
  size_t imin = 0, imax = 0;
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    if (ugm3[i] < 0) return dl_errf(e, DL_EINTERNAL, "%s: reading %zu is negative", path, i);
    sum += ugm3[i];
    if (ugm3[i] < ugm3[imin]) imin = i;
    if (ugm3[i] > ugm3[imax]) imax = i;
  }
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  FILE *f = o.f;
  char date[24], tod[16];
  const char *ch = in->channel ? in->channel : "AEROSOL";
  put_date_time(local0 - 1, date, sizeof date, tod, sizeof tod);
  int64_t dur = (int64_t)n;
  fprintf(f,
          "TrakPro Version 4.70 ASCII Data File\n\n"
          "Model:,%s\nModel Number:,%s\nSerial Number:,%s\nTest ID:,%s\n"
          "Test Abbreviation:,MANUAL_%s\nStart Date:,%s\nStart Time:,%s\n"
          "Duration (dd:hh:mm:ss):,%d:%02d:%02d:%02d\nLog Interval (mm:ss):,00:01\n"
          "Number of points:,%zu\nNotes:,\n\n"
          "Statistics,Channel:,%s\n,Units:,mg/m^3\n,Average:,",
          in->model, in->model_number, in->serial, in->test_id, in->test_id, date, tod,
          (int)(dur / 86400), (int)(dur / 3600 % 24), (int)(dur / 60 % 60), (int)(dur % 60), n, ch);
  put_mg(f, (sum + (int64_t)n / 2) / (int64_t)n);
  fputs("\n,Minimum:,", f);
  put_mg(f, ugm3[imin]);
  put_date_time(local0 + (int64_t)imin, date, sizeof date, tod, sizeof tod);
  fprintf(f, "\n,Time of Minimum:,%s\n,Date of Minimum:,%s\n,Maximum:,", tod, date);
  put_mg(f, ugm3[imax]);
  put_date_time(local0 + (int64_t)imax, date, sizeof date, tod, sizeof tod);
  fprintf(f, "\n,Time of Maximum:,%s\n,Date of Maximum:,%s\n\n", tod, date);
  fprintf(f, "Calibration,Sensor:,%s\n,Cal. date,%s\n\nDate,Time,%s\nMM/dd/yyyy,hh:mm:ss,mg/m^3\n", ch,
          in->cal_date, ch);
  /* rows: the date text changes once a day, the time every second */
  int64_t day_of = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    int64_t t = local0 + (int64_t)i;
    int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    if (day != day_of) {
      put_date_time(t, date, sizeof date, tod, sizeof tod);
      day_of = day;
    }
    int64_t s = t - day * 86400;
    fprintf(f, "%s,%02d:%02d:%02d,", date, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    put_mg(f, ugm3[i]);
    fputc('\n', f);
  }
  return dl_outfile_commit(&o, e);
}

/* ---- manifest --------------------------------------------------------- */
/* The shortest of %.15g / %.17g that reads back as the same double. */
static const char *num(char *b, size_t cap, double v) {
  snprintf(b, cap, "%.15g", v);
  if (strtod(b, NULL) != v) snprintf(b, cap, "%.17g", v);
  return b;
}

static void put_tz(FILE *f, const char *key, double off) {
  long m = lround(off / 60.0);
  char sign = m < 0 ? '-' : '+';
  if (m < 0) m = -m;
  fprintf(f, "%s = %c%02ld:%02ld\n", key, sign, m / 60, m % 60);
}

/* A value the INI reader takes back unchanged: one line, no leading or
 * trailing blank, no " ;" comment start. */
static int ini_safe(const char *v) {
  size_t n = strlen(v);
  if (!n || v[0] == ' ' || v[n - 1] == ' ' || strpbrk(v, "\r\n") || strstr(v, " ;") || strstr(v, "\t;"))
    return 0;
  return n < 180;
}

int dl_manifest_write(const char *path, const dl_manifest *m, const char *comment, int force,
                      dl_err *e) {
#define SAFE(v, what) \
  if ((v) && !ini_safe(v)) return dl_errf(e, DL_EUSAGE, "%s: %s '%s' cannot be written in a manifest", path, what, v)
  SAFE(m->run_id, "run id");
  SAFE(m->network, "network path");
  SAFE(m->tags, "tags path");
  for (int i = 0; i < m->ngps; i++) SAFE(m->gps[i].path, "GPS path");
  for (int i = 0; i < m->ninst; i++) SAFE(m->inst[i].path, "instrument path");
#undef SAFE
  if (!m->run_id) return dl_errf(e, DL_EUSAGE, "%s: a manifest needs a run id", path);
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  FILE *f = o.f;
  for (const char *p = comment; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(f, "; %.*s\n", (int)len, p);
    p += len + (nl != NULL);
  }
  fprintf(f, "\n[run]\nid = %s\n", m->run_id);
  if (m->vehicle && *m->vehicle) fprintf(f, "vehicle = %s\n", m->vehicle);
  if (m->network) fprintf(f, "network = %s\n", m->network);
  if (m->tags) fprintf(f, "tags = %s\n", m->tags);
  if (m->have_tz) put_tz(f, "tz", m->tz_offset_s);
  for (int i = 0; i < m->ngps; i++) {
    const dl_manifest_gps *g = &m->gps[i];
    fprintf(f, g->name[0] ? "\n[gps %s]\n" : "\n[gps]\n", g->name);
    fprintf(f, "file = %s\n", g->path);
    if (g->format != DL_FMT_UNKNOWN) fprintf(f, "format = %s\n", dl_format_name(g->format));
  }
  for (int i = 0; i < m->ninst; i++) {
    const dl_manifest_inst *in = &m->inst[i];
    fprintf(f, "\n[instrument %s]\nfile = %s\n", in->name, in->path);
    if (in->format != DL_FMT_UNKNOWN) fprintf(f, "format = %s\n", dl_format_name(in->format));
    fprintf(f, "role = %s\n", dl_role_name(in->role));
    if (in->channel) fprintf(f, "channel = %s\n", in->channel);
    if (in->opts.have_tz && (!m->have_tz || in->opts.tz_offset_s != m->tz_offset_s))
      put_tz(f, "tz", in->opts.tz_offset_s);
    char b1[40], b2[40];
    fprintf(f, "clock_offset_s = %s\ninlet_delay_s = %s\n", num(b1, sizeof b1, in->opts.clock_offset_s),
            num(b2, sizeof b2, in->inlet_delay_s));
  }
  if (m->calib_file || m->have_calib_a || m->have_calib_beta) {
    fputs("\n[calibration]\n", f);
    if (m->calib_file) fprintf(f, "file = %s\n", m->calib_file);
    char b[40];
    if (m->have_calib_a) fprintf(f, "a = %s\n", num(b, sizeof b, m->calib_a));
    if (m->have_calib_beta) fprintf(f, "beta = %s\n", num(b, sizeof b, m->calib_beta));
  }
  if (m->nparams) {
    fputs("\n[params]\n", f);
    for (int i = 0; i < m->nparams; i++) fprintf(f, "%s = %s\n", m->params[i].key, m->params[i].value);
  }
  return dl_outfile_commit(&o, e);
}

/* ---- truth files ------------------------------------------------------- */
int dl_truth_points_write(const char *path, size_t n, const double *t, const uint32_t *seg,
                          const double *offset, const uint8_t *keep, int force, dl_err *e) {
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  char tb[40];
  fputs("time_utc,segment,offset_m\n", o.f);
  for (size_t i = 0; i < n; i++)
    if (!keep || keep[i]) fprintf(o.f, "%s,%" PRIu32 ",%.2f\n", dl_time_iso(t[i], tb, sizeof tb), seg[i], offset[i]);
  return dl_outfile_commit(&o, e);
}

int dl_truth_segments_write(const char *path, uint32_t nseg, const int64_t *way,
                            const double *load, int force, dl_err *e) {
  dl_outfile o;
  int rc = dl_outfile_open(&o, path, force, e);
  if (rc) return rc;
  fputs("segment,osm_way,dust_load_gm2\n", o.f);
  for (uint32_t i = 0; i < nseg; i++) fprintf(o.f, "%" PRIu32 ",%" PRId64 ",%.4f\n", i, way[i], load[i]);
  return dl_outfile_commit(&o, e);
}
