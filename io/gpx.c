/* gpx.c: GPX 1.0 / 1.1 track points, streamed through expat in fixed
 * chunks so that a file with no line breaks costs no more than one chunk.
 * Only <trkpt> becomes a fix; <rtept> and <wpt> (planned routes, marked
 * places) are counted as unsupported. Record numbers are the XML line of the
 * <trkpt>, except when the first 64 KiB hold no line break (one-line exports
 * such as Garmin's): then the 1-based index of the point element. */
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_io.h"
#include "dl_time.h"
#include "gps_common.h"

#define GPX_CHUNK (64u * 1024u)
#define GPX_TEXT 128 /* longest leaf text kept (times, numbers) */

enum leaf { L_NONE, L_TIME, L_SPEED, L_COURSE, L_HDOP, L_SAT, L_FIX };

typedef struct gpx_state {
  XML_Parser xp;
  const char *path;
  dl_fixes *out;
  dl_rejects *rej;
  size_t first;      /* out->n when this file started */
  int depth;
  int pt_depth;      /* depth of the open trkpt, 0 when none */
  int one_line;      /* no line break in the first chunk: number points */
  uint64_t points;   /* trkpt/rtept/wpt elements seen */
  uint64_t rec;      /* record number of the open trkpt */
  int bad;           /* reject reason for the open trkpt, -1 none */
  double lat, lon, t, speed, course, hdop;
  int sat, fix;
  enum leaf leaf;
  char text[GPX_TEXT];
  size_t ntext;
  int overflow;
  int status;        /* DL_OK or the error that stopped the parser */
  char why[256];
} gpx_state;

/* Local part of a possibly prefixed name ("gpxtpx:speed" -> "speed"). */
static const char *local(const char *name) {
  const char *c = strrchr(name, ':');
  return c ? c + 1 : name;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  gpx_state *s = ud;
  const char *n = local(name);
  s->depth++;
  if (s->depth == 1 && strcmp(n, "gpx") != 0) {
    s->status = DL_EFORMAT;
    snprintf(s->why, sizeof s->why, "root element is <%.60s>, expected <gpx>", name);
    XML_StopParser(s->xp, XML_FALSE);
    return;
  }
  if (s->pt_depth) {
    s->leaf = L_NONE;
    if (!strcmp(n, "time") && s->depth == s->pt_depth + 1) s->leaf = L_TIME;
    else if (!strcmp(n, "speed")) s->leaf = L_SPEED;  /* GPX 1.0 or gpxtpx:speed */
    else if (!strcmp(n, "course") || !strcmp(n, "bearing")) s->leaf = L_COURSE;
    else if (!strcmp(n, "hdop")) s->leaf = L_HDOP;
    else if (!strcmp(n, "sat")) s->leaf = L_SAT;
    else if (!strcmp(n, "fix")) s->leaf = L_FIX;
    s->ntext = 0;
    s->overflow = 0;
    return;
  }
  int is_trk = !strcmp(n, "trkpt");
  if (!is_trk && strcmp(n, "rtept") && strcmp(n, "wpt")) return;
  s->points++;
  s->rec = s->one_line ? s->points : (uint64_t)XML_GetCurrentLineNumber(s->xp);
  s->rej->lines++;
  if (!is_trk) { /* planned routes and waypoints are not a driven track */
    dl_reject(s->rej, DL_REJ_UNSUPPORTED, s->rec);
    return;
  }
  s->pt_depth = s->depth;
  s->bad = -1;
  s->lat = s->lon = s->t = s->speed = s->course = s->hdop = NAN;
  s->sat = -1;
  s->fix = -1;
  int have_lat = 0, have_lon = 0;
  for (int i = 0; atts[i]; i += 2) {
    const char *a = local(atts[i]), *v = atts[i + 1];
    if (!strcmp(a, "lat")) {
      have_lat = 1;
      if (!gps_num(v, strlen(v), &s->lat)) s->bad = DL_REJ_SYNTAX;
    } else if (!strcmp(a, "lon")) {
      have_lon = 1;
      if (!gps_num(v, strlen(v), &s->lon)) s->bad = DL_REJ_SYNTAX;
    }
  }
  if (s->bad < 0 && (!have_lat || !have_lon)) s->bad = DL_REJ_MISSING;
}

static void on_text(void *ud, const XML_Char *txt, int len) {
  gpx_state *s = ud;
  if (!s->pt_depth || s->leaf == L_NONE) return;
  if (s->ntext + (size_t)len >= GPX_TEXT) {
    s->overflow = 1;
    return;
  }
  memcpy(s->text + s->ntext, txt, (size_t)len);
  s->ntext += (size_t)len;
}

/* Stores the text of the leaf element that just closed. */
static void end_leaf(gpx_state *s) {
  const char *x = s->text;
  size_t n = s->ntext;
  while (n && (*x == ' ' || *x == '\n' || *x == '\r' || *x == '\t')) x++, n--;
  while (n && (x[n - 1] == ' ' || x[n - 1] == '\n' || x[n - 1] == '\r' || x[n - 1] == '\t')) n--;
  double v;
  if (s->leaf == L_TIME) {
    if (s->overflow || dl_parse_iso8601(x, n, &s->t) != DL_OK) {
      s->t = NAN;
      if (s->bad < 0) s->bad = DL_REJ_SYNTAX;
    }
    return;
  }
  if (s->leaf == L_FIX) {
    static const char *const fx[] = {"none", "2d", "3d", "dgps", "pps"};
    static const int q[] = {0, 1, 1, 2, 3};
    for (int i = 0; i < 5; i++)
      if (n == strlen(fx[i]) && !memcmp(x, fx[i], n)) s->fix = q[i];
    return;
  }
  /* optional numbers: a bad one is left unknown rather than losing the fix */
  if (s->overflow || !gps_num(x, n, &v)) return;
  switch (s->leaf) {
    case L_SPEED: if (v >= 0) s->speed = v; break;
    case L_COURSE: if (v >= 0 && v <= 360) s->course = v == 360 ? 0 : v; break;
    case L_HDOP: if (v >= 0) s->hdop = v; break;
    case L_SAT: if (v >= 0 && v <= 127) s->sat = (int)v; break;
    default: break;
  }
}

static void end_point(gpx_state *s) {
  int why = s->bad;
  if (why < 0 && !isfinite(s->t)) why = DL_REJ_NO_TIME;
  if (why < 0 && (s->t < GPS_T_MIN || s->t >= GPS_T_MAX || !gps_latlon_ok(s->lat, s->lon)))
    why = DL_REJ_RANGE;
  if (why < 0) why = gps_time_order(s->out, s->first, s->t);
  if (why >= 0) {
    dl_reject(s->rej, why, s->rec);
    return;
  }
  long i = dl_fixes_push(s->out);
  if (i < 0) {
    s->status = DL_ENOMEM;
    snprintf(s->why, sizeof s->why, "out of memory");
    XML_StopParser(s->xp, XML_FALSE);
    return;
  }
  dl_fixes *f = s->out;
  f->t[i] = s->t;
  f->lat[i] = s->lat;
  f->lon[i] = s->lon;
  f->speed[i] = s->speed;
  f->course[i] = s->course;
  f->hdop[i] = s->hdop;
  f->quality[i] = (int8_t)s->fix;
  f->nsat[i] = (int8_t)s->sat;
  f->line[i] = s->rec;
  s->rej->accepted++;
}

static void on_end(void *ud, const XML_Char *name) {
  gpx_state *s = ud;
  (void)name;
  if (s->pt_depth) {
    if (s->depth == s->pt_depth) {
      end_point(s);
      s->pt_depth = 0;
    } else if (s->leaf != L_NONE) {
      end_leaf(s);
      s->leaf = L_NONE;
    }
  }
  s->depth--;
}

int dl_read_gpx(const char *path, const dl_gps_opts *o, dl_fixes *out,
                dl_rejects *rej, dl_err *e) {
  (void)o;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return dl_errf(e, DL_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return dl_errf(e, DL_ENOINPUT, "%s: is a folder, expected a file", path);
  }
  gpx_state s;
  memset(&s, 0, sizeof s);
  s.path = path;
  s.out = out;
  s.rej = rej;
  s.first = out->n;
  s.xp = XML_ParserCreate(NULL);
  char *buf = malloc(GPX_CHUNK);
  int rc = DL_OK;
  if (!s.xp || !buf) {
    rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  XML_SetUserData(s.xp, &s);
  XML_SetElementHandler(s.xp, on_start, on_end);
  XML_SetCharacterDataHandler(s.xp, on_text);
  uint64_t total = 0;
  for (;;) {
    ssize_t k;
    do k = read(fd, buf, GPX_CHUNK);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
      rc = dl_errf(e, DL_EIO, "%s: read error after byte %llu: %s", path,
                   (unsigned long long)total, strerror(errno));
      goto done;
    }
    if (total == 0 && k == 0) {
      rc = dl_errf(e, DL_ENODATA, "%s: empty file", path);
      goto done;
    }
    if (total == 0) s.one_line = memchr(buf, '\n', (size_t)k) == NULL;
    total += (uint64_t)k;
    if (XML_Parse(s.xp, buf, (int)k, k == 0) == XML_STATUS_ERROR) {
      unsigned long ln = XML_GetCurrentLineNumber(s.xp), col = XML_GetCurrentColumnNumber(s.xp);
      if (s.status != DL_OK)
        rc = dl_errf(e, s.status, "%s:%lu:%lu: %s", path, ln, col + 1, s.why);
      else
        rc = dl_errf(e, DL_EFORMAT, "%s:%lu:%lu: malformed XML: %s", path, ln, col + 1,
                     XML_ErrorString(XML_GetErrorCode(s.xp)));
      goto done;
    }
    if (k == 0) break;
  }
done:
  if (s.xp) XML_ParserFree(s.xp);
  free(buf);
  close(fd);
  return rc;
}
