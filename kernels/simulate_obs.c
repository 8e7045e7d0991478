/* simulate_obs.c: what the instruments of a simulated run record: true
 * dust loads per segment, GPS fixes (AR(1) noise, outliers, dropouts), and
 * the tyre and background inlets (drifting background with truck spikes,
 * tyre excess T_ref·(v/v_ref)^n from the load, sensor noise, inlet delay,
 * clock offset, 1 µg/m³ resolution). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* A standard normal that depends only on (seed, stream, id): loads do not
 * depend on the order segments are visited in. */
static double hash_normal(uint64_t seed, uint64_t stream, uint64_t id) {
  dl_rng r;
  dl_rng_seed(&r, seed ^ (id * 0x9E3779B97F4A7C15ull), stream);
  return dl_rng_normal(&r);
}

void dl_sim__loads(const dl_net *n, const dl_sim_params *p, dl_sim *s) {
  for (uint32_t k = 0; k < n->n_segs; k++) {
    /* a road-wide factor (a road is swept, or not, as a whole) and a
     * per-segment one, lognormal around the class median */
    double zr = hash_normal(p->seed, SIM_STREAM_LOAD, 2ull * n->seg_road[k]);
    double zs = hash_normal(p->seed, SIM_STREAM_LOAD, 2ull * k + 1);
    double load = dl_sim_class_load_gm2(n->seg_class[k]) * exp(0.30 * zr + 0.25 * zs);
    load = fmin(fmax(load, p->load_min_gm2), p->load_max_gm2);
    s->seg_load[k] = load;
    s->seg_tref[k] = pow(load / p->calib_a, 1.0 / p->calib_beta); /* METHOD §6 inverted */
  }
}

void dl_sim__gps(const dl_sim_params *p, dl_sim *s) {
  dl_rng r, rd;
  dl_rng_seed(&r, p->seed, SIM_STREAM_GPS);
  dl_rng_seed(&rd, p->seed, SIM_STREAM_DROP);
  size_t ns = s->n_sec;
  memset(s->gps_ok, 1, ns);
  /* dropouts: a fixed count for the duration ("a few"), at random places */
  size_t nd = (size_t)llround(p->dropouts_per_hour * (double)ns / 3600.0);
  for (size_t i = 0; i < nd && ns > 240; i++) {
    size_t len = (size_t)llround(p->dropout_min_s + (p->dropout_max_s - p->dropout_min_s) * dl_rng_uniform(&rd));
    size_t at = 60 + (size_t)(dl_rng_uniform(&rd) * (double)(ns - 120));
    for (size_t j = at; j < at + len && j < ns - 60; j++) s->gps_ok[j] = 0;
  }
  s->n_dropouts = 0;
  for (size_t j = 0; j < ns; j++) s->n_dropouts += !s->gps_ok[j] && (j == 0 || s->gps_ok[j - 1]);
  const double sig = p->gps_sigma_m, rho = p->gps_rho, inn = sqrt(1.0 - rho * rho) * sig;
  double ex = sig * dl_rng_normal(&r), ey = sig * dl_rng_normal(&r); /* stationary start */
  double hd = 0.9, course = s->heading[0];
  int nsat = 10;
  s->n_fixes = s->n_outliers = s->dropout_s = 0;
  for (size_t j = 0; j < ns; j++) {
    if (j) {
      ex = rho * ex + inn * dl_rng_normal(&r);
      ey = rho * ey + inn * dl_rng_normal(&r);
    }
    /* every draw is made each second, so a dropout does not shift the
     * stream of the fixes after it */
    double u_out = dl_rng_uniform(&r), r_out = dl_rng_uniform(&r), a_out = dl_rng_uniform(&r);
    double zv = dl_rng_normal(&r), zc = dl_rng_normal(&r), zh = dl_rng_normal(&r);
    double u_sat = dl_rng_uniform(&r);
    hd = fmin(1.6, fmax(0.7, hd + 0.02 * zh));
    if (u_sat < 0.03 && nsat < 14) nsat++;
    else if (u_sat > 0.97 && nsat > 7) nsat--;
    double x = s->x[j] + ex, y = s->y[j] + ey;
    int out = u_out < p->outlier_frac;
    if (out) {
      double rr = p->outlier_min_m + (p->outlier_max_m - p->outlier_min_m) * r_out;
      x += rr * cos(2 * M_PI * a_out);
      y += rr * sin(2 * M_PI * a_out);
    }
    double v = s->speed[j];
    if (v > 0.5) {
      course = s->heading[j] + p->course_sigma_deg * zc; /* receivers hold the course when stopped */
      course = fmod(course, 360.0);
      if (course < 0) course += 360.0;
    }
    s->gps_x[j] = x, s->gps_y[j] = y;
    s->gps_speed[j] = fabs(v + p->speed_sigma_ms * zv);
    s->gps_course[j] = course;
    s->gps_hdop[j] = fmax(0.5, hd * fmax(1.0, sig / 5.0));
    s->gps_nsat[j] = (int8_t)nsat;
    s->gps_outlier[j] = (uint8_t)(out && s->gps_ok[j]);
    if (s->gps_ok[j]) s->n_fixes++, s->n_outliers += s->gps_outlier[j];
    else s->dropout_s++;
  }
}

/* Linear interpolation in a series sampled every dt from t0; 0 outside. */
static inline double interp(const double *v, size_t n, double t0, double dt, double t) {
  double f = (t - t0) / dt;
  if (!(f >= 0) || f > (double)(n - 1)) return 0.0;
  size_t i = (size_t)f;
  if (i >= n - 1) return v[n - 1];
  double w = f - (double)i;
  return v[i] + w * (v[i + 1] - v[i]);
}

int dl_sim__instruments(const dl_sim_params *p, const double *e10, size_t n10, dl_sim *s,
                        dl_err *e) {
  dl_rng ra, ri, rl;
  dl_rng_seed(&ra, p->seed, SIM_STREAM_AMBIENT);
  dl_rng_seed(&ri, p->seed, SIM_STREAM_INST);
  dl_rng_seed(&rl, p->seed, SIM_STREAM_LAGS);
  /* the true lags: drawn even when given, so the other draws do not move */
  double dly = 2.0 + 2.0 * dl_rng_uniform(&rl);
  double off = (15.0 + 45.0 * dl_rng_uniform(&rl)) * (dl_rng_uniform(&rl) < 0.5 ? -1.0 : 1.0);
  off = round(off * 10.0) / 10.0;
  dly = round(dly * 10.0) / 10.0;
  s->inst[DL_SIM_TYRE].delay_s = isnan(p->tyre_delay_s) ? dly : p->tyre_delay_s;
  s->inst[DL_SIM_TYRE].clock_offset_s = isnan(p->tyre_clock_offset_s) ? off : p->tyre_clock_offset_s;
  s->inst[DL_SIM_BG].delay_s = p->bg_delay_s;
  s->inst[DL_SIM_BG].clock_offset_s = 0.0;

  /* ambient air at 1 s, covering the instruments' whole log with margin */
  double margin = 3600.0 + 700.0 + 10.0;
  double ta0 = p->t0 - p->inst_pre_s - margin;
  size_t na = (size_t)(s->n_sec + p->inst_pre_s + p->inst_post_s + 2 * margin);
  double *amb = malloc(na * sizeof *amb);
  if (!amb) return dl_errf(e, DL_ENOMEM, "simulate: out of memory");
  /* drift: an AR(1) in a logistic space between bg_min and bg_max (20 min
   * memory), so the level wanders through the range and never leaves it */
  const double phi = exp(-1.0 / 1200.0), zsd = 1.0;
  double z = -0.6 + zsd * dl_rng_normal(&ra);
  for (size_t k = 0; k < na; k++) {
    if (k) z = -0.6 + phi * (z + 0.6) + zsd * sqrt(1.0 - phi * phi) * dl_rng_normal(&ra);
    amb[k] = p->bg_min_ugm3 + (p->bg_max_ugm3 - p->bg_min_ugm3) / (1.0 + exp(-z));
  }
  /* spikes: passing trucks, 200-3000 µg/m³, 2 s rise, 3-10 s decay */
  double rate = p->spikes_per_hour / 3600.0;
  for (size_t k = 0; k < na; k++) {
    if (dl_rng_uniform(&ra) >= rate) continue;
    double amp = exp(log(200.0) + (log(3000.0) - log(200.0)) * dl_rng_uniform(&ra));
    double tau = 3.0 + 7.0 * dl_rng_uniform(&ra);
    for (size_t j = 0; j < (size_t)(2 + 8 * tau) && k + j < na; j++)
      amb[k + j] += j < 2 ? amp * (double)(j + 1) / 2.0 : amp * exp(-((double)j - 1.0) / tau);
  }

  for (int i = 0; i < DL_SIM_NINST; i++) {
    dl_sim_inst *in = &s->inst[i];
    /* the instrument clock reads UTC - clock_offset; logging starts
     * inst_pre_s before the drive, first reading one interval after */
    in->clock0 = (int64_t)floor(p->t0 - p->inst_pre_s - in->clock_offset_s) + 1;
    in->n = (size_t)(s->n_sec + p->inst_pre_s + p->inst_post_s);
    in->ugm3 = malloc((in->n ? in->n : 1) * sizeof *in->ugm3);
    if (!in->ugm3) {
      free(amb);
      return dl_errf(e, DL_ENOMEM, "simulate: out of memory");
    }
    for (size_t k = 0; k < in->n; k++) {
      double t = (double)(in->clock0 + (int64_t)k) + in->clock_offset_s - in->delay_s; /* air intake */
      double a = interp(amb, na, ta0, 1.0, t);
      double z1 = dl_rng_normal(&ri), z2 = dl_rng_normal(&ri), z3 = dl_rng_normal(&ri);
      double c = a * (1.0 + p->noise_frac * z1) + p->noise_ugm3 * z3;
      if (i == DL_SIM_TYRE) c += interp(e10, n10, p->t0, 0.1, t) * fmax(0.0, 1.0 + p->plume_cv * z2);
      c = fmin(fmax(c, 1.0), p->inst_max_ugm3);
      in->ugm3[k] = (int32_t)lround(c);
    }
  }
  free(amb);
  return DL_OK;
}
