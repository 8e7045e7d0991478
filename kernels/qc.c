/* qc.c: per-sample validity flags (METHOD §5), excess and speed normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_proc.h"

static const struct {
  const char *name, *desc;
} flag_info[32] = {
#define DL_X_FLAG(name, bit, desc) [bit] = {#name, desc},
    DL_FLAG_MAP(DL_X_FLAG)
#undef DL_X_FLAG
};

const char *dl_flag_name(int bit) {
  return bit >= 0 && bit < 32 ? flag_info[bit].name : NULL;
}

const char *dl_flag_desc(int bit) {
  return bit >= 0 && bit < 32 ? flag_info[bit].desc : NULL;
}

size_t dl_flags_format(uint32_t flags, char *buf, size_t len) {
  size_t used = 0;
  for (int b = 0; b < 32; b++) {
    if (!(flags & (1u << b))) continue;
    const char *nm = flag_info[b].name ? flag_info[b].name : "?";
    size_t k = strlen(nm) + (used ? 1 : 0);
    if (used + k < len) {
      if (used) buf[used] = '|';
      memcpy(buf + used + (used ? 1 : 0), nm, strlen(nm));
    }
    used += k;
  }
  if (len) buf[used < len ? used : len - 1] = '\0';
  return used;
}

void dl_excess(const double *const *tyre, int ntyre, const double *bg, size_t n,
               double *dc) {
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    int k = 0;
    for (int c = 0; c < ntyre && bg; c++)
      if (isfinite(tyre[c][i])) s += tyre[c][i], k++;
    dc[i] = (k && isfinite(bg[i])) ? s / k - bg[i] : NAN;
  }
}

void dl_tref(const double *dc, const double *v, size_t n, double v_ref,
             double exponent, double *tref) {
  for (size_t i = 0; i < n; i++) {
    double s = v[i];
    tref[i] = (s > 0 && isfinite(s)) ? dc[i] * pow(v_ref / s, exponent) : NAN;
  }
}

struct dl_qc {
  size_t nmax, window;
  double hz;
  dl_qc_params p;
  double *win; /* sorted window */
  double *med, *mad;
};

void dl_qc_free(dl_qc *w) {
  if (!w) return;
  free(w->win);
  free(w->med);
  free(w->mad);
  free(w);
}

dl_qc *dl_qc_create(size_t nmax, double hz, const dl_qc_params *p, dl_err *e) {
  if (!(hz > 0) || !(p->bg_window_s > 0)) {
    dl_errf(e, DL_EUSAGE, "qc: grid rate %g Hz and bg_window_s %g must be positive", hz,
            p->bg_window_s);
    return NULL;
  }
  dl_qc *w = calloc(1, sizeof *w);
  size_t n = nmax ? nmax : 1;
  if (w) {
    w->nmax = nmax;
    w->hz = hz;
    w->p = *p;
    w->window = dl_window_samples(p->bg_window_s, hz);
    if (w->window < 3) w->window = 3;
    w->win = malloc((w->window + 1) * sizeof(double));
    w->med = malloc(n * sizeof(double));
    w->mad = malloc(n * sizeof(double));
  }
  if (!w || !w->win || !w->med || !w->mad) {
    dl_errf(e, DL_ENOMEM, "qc: out of memory for %zu samples", nmax);
    dl_qc_free(w);
    return NULL;
  }
  return w;
}

/* Rate of change at i: central difference when both neighbours are
 * finite, else one-sided, else NAN. angle: differences wrapped to ±180. */
static double rate(const double *x, const double *t, size_t n, size_t i, int angle) {
  if (!isfinite(x[i])) return NAN;
  int lo = i > 0 && isfinite(x[i - 1]);
  int hi = i + 1 < n && isfinite(x[i + 1]);
  size_t a = lo ? i - 1 : i, b = hi ? i + 1 : i;
  if (a == b || !(t[b] > t[a])) return NAN;
  double d = x[b] - x[a];
  if (angle) {
    d = fmod(d, 360.0);
    if (d > 180) d -= 360;
    if (d <= -180) d += 360;
  }
  return d / (t[b] - t[a]);
}

#define MAD_SCALE 1.482602218505602 /* 1 / Phi^-1(3/4), as GSL scales its MAD */

/* Inserts v into the sorted window s[0..*cnt). */
static void win_insert(double *s, size_t *cnt, double v) {
  size_t lo = 0, hi = *cnt;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  memmove(s + lo + 1, s + lo, (*cnt - lo) * sizeof *s);
  s[lo] = v;
  (*cnt)++;
}

/* Removes one copy of v (present) from the sorted window. */
static void win_remove(double *s, size_t *cnt, double v) {
  size_t lo = 0, hi = *cnt;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  memmove(s + lo, s + lo + 1, (*cnt - lo - 1) * sizeof *s);
  (*cnt)--;
}

/* Rolling median and 1.4826-scaled MAD of finite x[0..n), centred window
 * of 2h+1 samples truncated at the ends: the values gsl_movstat_mad gives
 * (checked by a test), in O(window) per sample instead of a sort. */
static void rolling_mad(const double *x, size_t n, size_t h, double *s, double *med,
                        double *mad) {
  size_t cnt = 0, lo = 0, hi = 0;
  for (size_t i = 0; i < n; i++) {
    size_t want_hi = i + h + 1 < n ? i + h + 1 : n, want_lo = i > h ? i - h : 0;
    while (hi < want_hi) win_insert(s, &cnt, x[hi++]);
    while (lo < want_lo) win_remove(s, &cnt, x[lo++]);
    double m = cnt % 2 ? s[cnt / 2] : (s[cnt / 2 - 1] + s[cnt / 2]) / 2.0;
    /* Deviations below and above m form two ascending lists; walk their
     * merge up to the middle rank(s). */
    size_t p = 0, q = cnt;
    while (p < q) {
      size_t mid = p + (q - p) / 2;
      if (s[mid] < m) p = mid + 1;
      else q = mid;
    }
    size_t l = p, r = p; /* next below: s[l-1]; next above: s[r] */
    size_t want = cnt / 2;  /* 0-based rank of the upper middle */
    double prev = 0, cur = 0;
    for (size_t k = 0; k <= want; k++) {
      double dl = l > 0 ? m - s[l - 1] : INFINITY, dr = r < cnt ? s[r] - m : INFINITY;
      prev = cur;
      if (dl <= dr) cur = dl, l--;
      else cur = dr, r++;
    }
    double madv = cnt % 2 ? cur : (prev + cur) / 2.0;
    med[i] = m;
    mad[i] = MAD_SCALE * madv;
  }
}

/* Rolling median and robust sigma of bg over each run of finite values;
 * NAN elsewhere. */
static void bg_stats(dl_qc *w, const double *bg, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && !isfinite(bg[i])) w->med[i] = w->mad[i] = NAN, i++;
    size_t a = i;
    while (i < n && isfinite(bg[i])) i++;
    if (i > a) rolling_mad(bg + a, i - a, w->window / 2, w->win, w->med + a, w->mad + a);
  }
}

void dl_rolling_mad(const double *x, size_t n, size_t window, double *work, double *med,
                    double *mad) {
  rolling_mad(x, n, window / 2, work, med, mad);
}

int dl_qc_flags(dl_qc *w, const dl_qc_input *in, uint32_t *flags,
                double *bg_med, double *bg_sigma, dl_err *e) {
  size_t n = in->n;
  const dl_qc_params *p = &w->p;
  if (n > w->nmax)
    return dl_errf(e, DL_EUSAGE, "qc: %zu samples exceed the workspace's %zu", n, w->nmax);
  if (!in->t && n) return dl_errf(e, DL_EUSAGE, "qc: sample times are required");
  for (size_t k = 0; k < in->ntags; k++)
    if (!(in->tag_begin[k] <= in->tag_end[k]))
      return dl_errf(e, DL_EUSAGE, "qc: tag %zu: interval [%g, %g] is empty or not a number",
                     k, in->tag_begin[k], in->tag_end[k]);
  if (in->bg) bg_stats(w, in->bg, n);
  const double vmin = p->speed_min_kmh / 3.6, vmax = p->speed_max_kmh / 3.6;
  const double jmax = p->jump_max_kmh / 3.6;
  const int has_tyre = in->ntyre > 0 && in->tyre;
  const int matched_any = in->segment || in->match_dist;
  for (size_t i = 0; i < n; i++) {
    uint32_t f = 0;
    const double *t = in->t;
    /* position and speed */
    int pos = in->lat && in->lon && isfinite(in->lat[i]) && isfinite(in->lon[i]);
    double v = in->speed ? in->speed[i] : NAN;
    if (!pos || !isfinite(v)) f |= DL_FLAG_NO_GPS;
    if (isfinite(v)) {
      if (v < vmin) f |= DL_FLAG_SPEED_LOW;
      if (v > vmax) f |= DL_FLAG_SPEED_HIGH;
      double a = rate(in->speed, t, n, i, 0);
      if (fabs(a) > p->accel_max_ms2) f |= DL_FLAG_ACCEL;
    }
    if (in->course) {
      double r = rate(in->course, t, n, i, 1);
      if (fabs(r) > p->turn_max_degs) f |= DL_FLAG_TURN;
    }
    if (in->fix_ok && !in->fix_ok[i]) f |= DL_FLAG_GPS;
    if (in->hdop && in->hdop[i] > p->hdop_max) f |= DL_FLAG_GPS;
    if (pos && i > 0 && isfinite(in->lat[i - 1]) && isfinite(in->lon[i - 1]) &&
        t[i] > t[i - 1]) {
      double d = dl_haversine_m(in->lat[i - 1], in->lon[i - 1], in->lat[i], in->lon[i]);
      if (d / (t[i] - t[i - 1]) > jmax) f |= DL_FLAG_GPS;
    }
    /* instruments */
    if (!has_tyre) f |= DL_FLAG_NO_TYRE;
    if (!in->bg) f |= DL_FLAG_NO_BACKGROUND;
    for (int c = 0; has_tyre && c < in->ntyre; c++) {
      double x = in->tyre[c][i];
      if (!isfinite(x) || x >= p->instrument_max_ugm3) f |= DL_FLAG_INSTRUMENT;
    }
    if (in->bg) {
      double b = in->bg[i];
      if (!isfinite(b) || b >= p->instrument_max_ugm3) f |= DL_FLAG_INSTRUMENT;
      else if (b > w->med[i] + p->bg_nsigma * w->mad[i]) f |= DL_FLAG_BG_SPIKE;
    }
    if (in->inst_err && in->inst_err[i]) f |= DL_FLAG_INSTRUMENT;
    if (in->dc && in->dc[i] < p->negative_min_ugm3) f |= DL_FLAG_NEGATIVE;
    /* map matching */
    if (!matched_any) f |= DL_FLAG_UNMATCHED;
    if (in->segment && in->segment[i] < 0) f |= DL_FLAG_UNMATCHED;
    if (in->match_dist && !(in->match_dist[i] <= p->match_max_m)) f |= DL_FLAG_UNMATCHED;
    flags[i] = f;
  }
  /* operator tags: binary search each interval's first sample */
  for (size_t k = 0; k < in->ntags; k++) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (in->t[mid] < in->tag_begin[k]) lo = mid + 1;
      else hi = mid;
    }
    for (size_t i = lo; i < n && in->t[i] <= in->tag_end[k]; i++) flags[i] |= DL_FLAG_TAGGED;
  }
  if (bg_med)
    for (size_t i = 0; i < n; i++) bg_med[i] = in->bg ? w->med[i] : NAN;
  if (bg_sigma)
    for (size_t i = 0; i < n; i++) bg_sigma[i] = in->bg ? w->mad[i] : NAN;
  return DL_OK;
}
