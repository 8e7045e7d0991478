/* dl_base.c: status table, error context, SoA containers, civil time. */
#include "dl_base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *dl_strerror(int status) {
  switch (status) {
#define DL_X_CASE(name, val, msg, ex) \
  case val:                           \
    return msg;
    DL_STATUS_MAP(DL_X_CASE)
#undef DL_X_CASE
  }
  return "unknown status";
}

const char *dl_status_name(int status) {
  switch (status) {
#define DL_X_CASE(name, val, msg, ex) \
  case val:                           \
    return #name;
    DL_STATUS_MAP(DL_X_CASE)
#undef DL_X_CASE
  }
  return "DL_E?";
}

int dl_status_exit(int status) {
  switch (status) {
#define DL_X_CASE(name, val, msg, ex) \
  case val:                           \
    return ex;
    DL_STATUS_MAP(DL_X_CASE)
#undef DL_X_CASE
  }
  return 70;
}

int dl_errf(dl_err *e, int code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
  }
  return code;
}

void dl_err_clear(dl_err *e) {
  if (e) {
    e->code = 0;
    e->msg[0] = '\0';
  }
}

static const char *const reject_names[DL_REJ__N] = {
#define DL_X_NAME(name, msg) msg,
    DL_REJECT_MAP(DL_X_NAME)
#undef DL_X_NAME
};

const char *dl_reject_name(int reason) {
  return (reason >= 0 && reason < DL_REJ__N) ? reject_names[reason] : "?";
}

void dl_reject(dl_rejects *r, int reason, uint64_t line) {
  if (!r || reason < 0 || reason >= DL_REJ__N) return;
  uint64_t k = r->count[reason]++;
  if (k < DL_REJECT_KEEP_LINES) r->first_line[reason][k] = line;
}

uint64_t dl_rejects_total(const dl_rejects *r) {
  uint64_t s = 0;
  for (int i = 0; i < DL_REJ__N; i++) s += r->count[i];
  return s;
}

int dl_soa_grow(void **cols[], const size_t sizes[], int ncols, size_t *capp, size_t cap) {
  if (cap <= *capp) return DL_OK;
  size_t nc = *capp ? *capp : 1024;
  while (nc < cap) nc *= 2;
  for (int i = 0; i < ncols; i++) {
    void *p = realloc(*cols[i], nc * sizes[i]);
    if (!p) return DL_ENOMEM;
    *cols[i] = p;
  }
  *capp = nc;
  return DL_OK;
}

void dl_fixes_init(dl_fixes *f) { memset(f, 0, sizeof *f); }

void dl_fixes_free(dl_fixes *f) {
  if (!f) return;
  free(f->t);
  free(f->lat);
  free(f->lon);
  free(f->speed);
  free(f->course);
  free(f->hdop);
  free(f->quality);
  free(f->nsat);
  free(f->line);
  memset(f, 0, sizeof *f);
}

int dl_fixes_reserve(dl_fixes *f, size_t cap) {
  void **cols[] = {(void **)&f->t,      (void **)&f->lat,    (void **)&f->lon,
                   (void **)&f->speed,  (void **)&f->course, (void **)&f->hdop,
                   (void **)&f->quality, (void **)&f->nsat,  (void **)&f->line};
  const size_t sizes[] = {8, 8, 8, 8, 8, 8, 1, 1, 8};
  return dl_soa_grow(cols, sizes, 9, &f->cap, cap);
}

long dl_fixes_push(dl_fixes *f) {
  if (f->n == f->cap && dl_fixes_reserve(f, f->n + 1) != DL_OK) return -1;
  size_t i = f->n++;
  f->t[i] = f->lat[i] = f->lon[i] = NAN;
  f->speed[i] = f->course[i] = f->hdop[i] = NAN;
  f->quality[i] = -1;
  f->nsat[i] = -1;
  f->line[i] = 0;
  return (long)i;
}

void dl_samples_init(dl_samples *s) {
  memset(s, 0, sizeof *s);
  s->interval_s = NAN;
}

void dl_samples_free(dl_samples *s) {
  if (!s) return;
  free(s->t);
  free(s->value);
  free(s->channel);
  free(s->line);
  dl_samples_init(s);
}

int dl_samples_reserve(dl_samples *s, size_t cap) {
  void **cols[] = {(void **)&s->t, (void **)&s->value, (void **)&s->channel,
                   (void **)&s->line};
  const size_t sizes[] = {8, 8, 1, 8};
  return dl_soa_grow(cols, sizes, 4, &s->cap, cap);
}

long dl_samples_push(dl_samples *s) {
  if (s->n == s->cap && dl_samples_reserve(s, s->n + 1) != DL_OK) return -1;
  size_t i = s->n++;
  s->t[i] = NAN;
  s->value[i] = NAN;
  s->channel[i] = 0;
  s->line[i] = 0;
  return (long)i;
}

/* Howard Hinnant's days_from_civil / civil_from_days algorithms. */
int64_t dl_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void dl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *dl_time_iso(double t, char *buf, size_t len) {
  if (!isfinite(t)) {
    snprintf(buf, len, "%s", "");
    return buf;
  }
  int64_t ms = (int64_t)llround(t * 1000.0);
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  int msr = (int)(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int sod = (int)(secs - days * 86400);
  int64_t y;
  unsigned m, d;
  dl_civil_from_days(days, &y, &m, &d);
  snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
           sod / 3600, sod / 60 % 60, sod % 60, msr);
  return buf;
}

double dl_haversine_m(double lat1, double lon1, double lat2, double lon2) {
  const double r = 6371008.8, k = M_PI / 180.0;
  double dlat = (lat2 - lat1) * k, dlon = (lon2 - lon1) * k;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * k) * cos(lat2 * k) * sin(dlon / 2) * sin(dlon / 2);
  return 2 * r * asin(fmin(1.0, sqrt(a)));
}
