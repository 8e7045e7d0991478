/* gpsd_live.c: fixes from a running gpsd (gpsd://HOST:PORT) through libgps,
 * reconnecting with backoff when gpsd goes away. */
#include <errno.h>
#include <gps.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dl_io.h"
#include "gps_common.h"

#define BACKOFF_FIRST_S 0.5
#define BACKOFF_MAX_S 8.0
#define WAIT_SLICE_S 0.5 /* longest single wait, so deadlines are kept */
#define MSG_MAX 16384    /* longest gpsd report kept (SKY with many satellites) */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Splits gpsd://HOST[:PORT] (HOST may be [v6]); the port defaults to 2947. */
static int parse_url(const char *url, char *host, size_t hn, char *port, size_t pn) {
  if (strncmp(url, "gpsd://", 7) != 0) return 0;
  const char *h = url + 7, *p = NULL, *hend;
  if (*h == '[') {
    const char *rb = strchr(h, ']');
    if (!rb) return 0;
    hend = rb;
    h++;
    if (rb[1] == ':') p = rb + 2;
    else if (rb[1]) return 0;
  } else {
    const char *c = strrchr(h, ':');
    hend = c ? c : h + strlen(h);
    if (c) p = c + 1;
  }
  size_t n = (size_t)(hend - h);
  if (n == 0 || n >= hn) return 0;
  memcpy(host, h, n);
  host[n] = '\0';
  if (host[n - 1] == '/') host[--n] = '\0';
  const char *pe = p ? p + strcspn(p, "/") : NULL;
  if (!p || pe == p) {
    snprintf(port, pn, "%s", DEFAULT_GPSD_PORT);
  } else {
    if ((size_t)(pe - p) >= pn) return 0;
    for (const char *q = p; q < pe; q++)
      if (*q < '0' || *q > '9') return 0;
    memcpy(port, p, (size_t)(pe - p));
    port[pe - p] = '\0';
  }
  return n > 0;
}

int dl_read_gpsd_live(const char *url, const dl_gps_opts *o, dl_fixes *out,
                      dl_rejects *rej, dl_err *e) {
  char host[256], port[16];
  if (!parse_url(url, host, sizeof host, port, sizeof port))
    return dl_errf(e, DL_EUSAGE, "%s: expected gpsd://HOST[:PORT]", url);
  dl_gps_opts def;
  if (!o) {
    dl_gps_opts_default(&def);
    o = &def;
  }
  /* a gpsd that dies while we write must not kill the process */
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);

  /* gps_data_t is 24 KB: kept off the stack */
  struct gps_data_t *gdp = malloc(sizeof *gdp);
  char *msg = malloc(MSG_MAX);
  if (!gdp || !msg) {
    free(gdp);
    free(msg);
    sigaction(SIGPIPE, &old, NULL);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", url);
  }
#define gd (*gdp)
  const double t0 = now_s();
  const double deadline = o->live_seconds > 0 ? t0 + o->live_seconds : INFINITY;
  size_t first = out->n;
  uint64_t nmsg = 0;
  double backoff = BACKOFF_FIRST_S, sky_hdop = NAN;
  int sky_used = -1, failures = 0, connected = 0, rc = DL_OK;
  char last_err[512] = "";
  for (;;) {
    if (o->live_max_fixes > 0 && (long)(out->n - first) >= o->live_max_fixes) break;
    if (now_s() >= deadline) break;
    if (!connected) {
      memset(&gd, 0, sizeof gd);
      if (gps_open(host, port, &gd) != 0) {
        snprintf(last_err, sizeof last_err, "cannot connect to gpsd at %.200s:%s: %s", host, port,
                 gps_errstr(errno));
      } else if (gps_stream(&gd, WATCH_ENABLE | WATCH_JSON, NULL) < 0) {
        snprintf(last_err, sizeof last_err, "gpsd at %.200s:%s refused WATCH: %s", host, port,
                 strerror(errno));
        gps_close(&gd);
      } else {
        connected = 1;
        continue;
      }
      /* live_retries attempts after the first, 0.5 s apart doubling to 8 s */
      if (++failures > o->live_retries) break;
      double left = deadline - now_s();
      sleep_s(backoff < left ? backoff : left);
      backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
      continue;
    }
    double left = deadline - now_s(), slice = left < WAIT_SLICE_S ? left : WAIT_SLICE_S;
    errno = 0;
    if (!gps_waiting(&gd, (int)(slice * 1e6))) {
      if (errno == 0 || errno == EINTR) continue; /* quiet: keep waiting */
      snprintf(last_err, sizeof last_err, "gpsd at %.200s:%s: %s", host, port, strerror(errno));
      gps_close(&gd);
      connected = 0;
      continue;
    }
    msg[0] = '\0';
    int k = gps_read(&gd, msg, MSG_MAX);
    if (k < 0) { /* the stream ended: gpsd went away */
      snprintf(last_err, sizeof last_err, "gpsd at %.200s:%s closed the connection", host, port);
      gps_close(&gd);
      connected = 0;
      continue; /* reconnect at once; backoff applies if that fails */
    }
    if (k == 0 || !msg[0]) continue;
    nmsg++;
    rej->lines++;
    if (strstr(msg, "\"class\":\"SKY\"")) {
      if (gd.dop.hdop >= 0 && isfinite(gd.dop.hdop)) sky_hdop = gd.dop.hdop;
      if (gd.satellites_used >= 0 && gd.satellites_used <= 127) sky_used = gd.satellites_used;
      dl_reject(rej, DL_REJ_UNSUPPORTED, nmsg);
      continue;
    }
    if (strncmp(msg, "{\"class\":\"TPV\"", 14) != 0) {
      dl_reject(rej, DL_REJ_UNSUPPORTED, nmsg);
      continue;
    }
    const struct gps_fix_t *fx = &gd.fix;
    double t = (double)fx->time.tv_sec + fx->time.tv_nsec * 1e-9;
    int why = -1;
    if (!(gd.set & MODE_SET) || fx->mode < MODE_2D)
      why = DL_REJ_NO_FIX;
    else if (!(gd.set & TIME_SET) || fx->time.tv_sec == 0)
      why = DL_REJ_NO_TIME;
    else if (!isfinite(fx->latitude) || !isfinite(fx->longitude))
      why = DL_REJ_MISSING;
    else if (t < GPS_T_MIN || t >= GPS_T_MAX || !gps_latlon_ok(fx->latitude, fx->longitude))
      why = DL_REJ_RANGE;
    else
      why = gps_time_order(out, first, t);
    if (why >= 0) {
      dl_reject(rej, why, nmsg);
      continue;
    }
    long i = dl_fixes_push(out);
    if (i < 0) {
      rc = dl_errf(e, DL_ENOMEM, "%s: out of memory after %zu fixes", url, out->n - first);
      break;
    }
    out->t[i] = t;
    out->lat[i] = fx->latitude;
    out->lon[i] = fx->longitude;
    out->speed[i] = isfinite(fx->speed) && fx->speed >= 0 ? fx->speed : NAN;
    out->course[i] = isfinite(fx->track) && fx->track >= 0 && fx->track <= 360
                         ? fmod(fx->track, 360.0) : NAN;
    out->hdop[i] = sky_hdop;
    out->nsat[i] = (int8_t)sky_used;
    out->quality[i] = (int8_t)gps_quality_from_gpsd(fx->mode, fx->status);
    out->line[i] = nmsg;
    rej->accepted++;
    failures = 0; /* a fix proves the link: later outages get fresh retries */
    backoff = BACKOFF_FIRST_S;
  }
  if (connected) {
    gps_stream(&gd, WATCH_DISABLE, NULL);
    gps_close(&gd);
  }
#undef gd
  free(gdp);
  free(msg);
  sigaction(SIGPIPE, &old, NULL);
  if (rc != DL_OK) return rc;
  if (out->n > first) return DL_OK;
  return dl_errf(e, DL_EUNAVAIL, "%s: no fix received in %.1f s (%llu messages)%s%s", url,
                 now_s() - t0, (unsigned long long)nmsg, last_err[0] ? ": " : "", last_err);
}
