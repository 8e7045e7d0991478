/* dl_simulate.h: a synthetic monitoring run on a real road network with
 * known truth: the route, the speed profile, the true position each
 * second, GPS fixes with correlated noise, outliers and dropouts, a true
 * dust load per segment, and the readings of a tyre and a background
 * inlet (METHOD.md §2-§8 run backwards). Arrays only; deterministic for a
 * seed (own PRNG). Writing the files is io/dl_simwrite.h's job. */
#ifndef DL_SIMULATE_H
#define DL_SIMULATE_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"
#include "dl_network.h"

/* ---- PRNG: xoshiro256** seeded by splitmix64 --------------------------- */
typedef struct dl_rng {
  uint64_t s[4];
} dl_rng;

/* Stream `stream` of seed: independent streams for independent parts, so
 * that changing the GPS noise leaves the route and the dust unchanged. */
void dl_rng_seed(dl_rng *r, uint64_t seed, uint64_t stream);
uint64_t dl_rng_next(dl_rng *r);
double dl_rng_uniform(dl_rng *r);  /* [0, 1) with 53 random bits */
double dl_rng_normal(dl_rng *r);   /* standard normal (polar method) */

/* ---- parameters -------------------------------------------------------- */
typedef struct dl_sim_params {
  uint64_t seed;
  double hours;            /* drive duration */
  double t0;               /* UTC of the first truth second, s since 1970 (integral) */
  /* route */
  double revisit_cost;     /* cost multiplier of segments already driven (1: no preference) */
  double leg_min_m, leg_max_m; /* straight distance to the next destination */
  /* speed profile */
  double accel_ms2;        /* largest acceleration */
  double brake_ms2;        /* planned braking */
  double brake_max_ms2;    /* hard bound on braking */
  double lat_accel_ms2;    /* lateral acceleration in turns */
  double stop_prob;        /* chance of a stop at a junction of 3+ segments */
  double stop_min_s, stop_max_s;
  /* GPS */
  double gps_sigma_m;      /* per axis */
  double gps_rho;          /* AR(1) coefficient from one second to the next */
  double outlier_frac;
  double outlier_min_m, outlier_max_m;
  double dropouts_per_hour;
  double dropout_min_s, dropout_max_s;
  double speed_sigma_ms, course_sigma_deg;
  /* dust (METHOD §4, §6 inverted) */
  double v_ref_kmh, speed_exponent, calib_a, calib_beta;
  double load_min_gm2, load_max_gm2;
  double tyre_delay_s;        /* NAN: drawn in [2, 4] s */
  double tyre_clock_offset_s; /* manifest convention (UTC = clock + offset); NAN: ±[15, 60] s */
  double bg_delay_s;          /* background inlet delay (true = nominal) */
  double plume_cv;            /* multiplicative fluctuation of the tyre excess */
  double noise_ugm3, noise_frac; /* sensor noise: additive, and relative to the reading */
  double bg_min_ugm3, bg_max_ugm3;
  double spikes_per_hour;     /* passing trucks */
  double inst_pre_s, inst_post_s; /* instruments log this long before and after the drive */
  double inst_max_ugm3;       /* instrument range (readings clip there) */
} dl_sim_params;

void dl_sim_params_default(dl_sim_params *p);

/* Typical urban cruising speed (km/h) of a class: the cap beside maxspeed
 * (Beijing's maxspeed tags are mostly per-class defaults). */
double dl_sim_class_speed_kmh(int cls);
/* Median true dust load (g/m²) of a class: lower on expressways, higher on
 * branch roads (METHOD §8). */
double dl_sim_class_load_gm2(int cls);

enum { DL_SIM_TYRE = 0, DL_SIM_BG = 1, DL_SIM_NINST = 2 };

typedef struct dl_sim_inst {
  int64_t clock0;       /* instrument clock of reading 0, UTC-equivalent whole seconds
                           (local display = clock + tz); reading k at clock0 + k */
  size_t n;
  int32_t *ugm3;        /* readings, whole µg/m³ (the export's 1 µg/m³ resolution) */
  double delay_s;       /* true inlet delay */
  double clock_offset_s; /* true offset: UTC = clock + clock_offset_s */
} dl_sim_inst;

typedef struct dl_sim {
  /* truth, one row per second: t[k] = t0 + k */
  size_t n_sec;
  double *t;
  uint32_t *seg;        /* segment the vehicle is on */
  double *offset;       /* metres from the segment's first vertex */
  uint32_t *edge;       /* directed edge */
  double *x, *y;        /* true position, projected metres */
  double *speed;        /* m/s */
  double *heading;      /* degrees clockwise from grid north */
  double *excess;       /* noiseless tyre excess at the wheel, µg/m³ */
  /* GPS, one entry per second */
  uint8_t *gps_ok;      /* 1: a fix is written; 0: dropout */
  uint8_t *gps_outlier; /* 1: this fix carries an outlier error */
  double *gps_x, *gps_y; /* reported position, projected metres */
  double *gps_speed, *gps_course, *gps_hdop;
  int8_t *gps_nsat;
  /* instruments */
  dl_sim_inst inst[DL_SIM_NINST];
  /* segments [n_segs] */
  uint32_t n_segs;
  double *seg_load;     /* true dust load, g/m² */
  double *seg_tref;     /* T_ref giving that load under the calibration, µg/m³ */
  double *seg_driven_m; /* metres driven on the segment */
  /* summary */
  double distance_m;
  uint32_t n_driven_segs;
  size_t n_fixes, n_outliers, n_dropouts, dropout_s, n_stops, n_legs;
  double max_accel, max_brake; /* at 1 Hz, m/s² */
} dl_sim;

/* Simulates p->hours of driving on n. The route is confined to the
 * largest strongly connected part of the graph, so it never gets stuck.
 * Fails with DL_ENODATA when the network has no drivable cycle,
 * DL_EUSAGE for parameters out of range, DL_ENOMEM. On failure out is
 * left freed. */
int dl_simulate(const dl_net *n, const dl_sim_params *p, dl_sim *out, dl_err *e);
void dl_sim_free(dl_sim *s);

#endif
