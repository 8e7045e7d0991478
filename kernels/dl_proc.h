/* dl_proc.h: the numeric kernels of one run: clock lag, common grid,
 * despiking and low-pass, excess and speed normalisation, validity flags,
 * segment/road/township/district aggregation, ranking, calibration fit.
 * Arrays in, arrays out; workspaces are created once and reused. */
#ifndef DL_PROC_H
#define DL_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

/* Odd window length in samples for a window of `seconds` at `hz`
 * (round(seconds*hz), raised to the next odd number, at least 1). */
size_t dl_window_samples(double seconds, double hz);

/* ---- §3.1 clock / inlet lag ------------------------------------------ */
/* Plans for one series length (FFTW planning is done here, once, and is not
 * thread-safe: create from one thread). `nslots` independent buffer sets let
 * up to nslots threads run at once, each with its own slot. */
typedef struct dl_xcorr dl_xcorr;

typedef struct dl_lag {
  double lag_s;   /* x(t) best matches y(t - lag_s): x lags y by lag_s */
  long lag;       /* the same, in samples */
  double peak;    /* Pearson-like coefficient at the lag, in [-1, 1] */
  int weak;       /* 1 when peak < min_corr (or no data): use the configured lag */
  size_t overlap; /* samples where both series were valid at that lag */
} dl_lag;

/* n: longest series to correlate; max_lag: search bound in samples. */
dl_xcorr *dl_xcorr_create(size_t n, size_t max_lag, int nslots, dl_err *e);
void dl_xcorr_free(dl_xcorr *w);
/* Cross-correlates x (e.g. the tyre excess) with y (e.g. v^3), both on the
 * same grid of rate hz, length n <= the planned n, NAN = missing. Lags are
 * searched within ±min(max_lag planned, max_lag_s*hz); lags whose overlap
 * is under half the valid samples are not considered. Returns DL_OK, or
 * DL_ENODATA (out->weak = 1) when too little data overlaps. */
int dl_xcorr_lag(dl_xcorr *w, int slot, const double *x, const double *y,
                 size_t n, double hz, double max_lag_s, double min_corr,
                 dl_lag *out, dl_err *e);
/* y[i] = v[i]^3 (the expected tyre signal at a fixed load); NAN stays NAN. */
void dl_speed_cube(const double *v, size_t n, double *y);

/* ---- §3.2 common grid ------------------------------------------------- */
enum { DL_INTERP_LINEAR = 0, DL_INTERP_STEFFEN = 1 };
/* Number of grid points t0 + k/hz covering [t0, t1]. */
size_t dl_grid_count(double t0, double t1, double hz);
/* Resamples (t[i], v[i]), i < n, t strictly increasing, onto
 * out[k] = value at t0 + k/hz, k < ng. NAN values are skipped; grid points
 * outside the data, or inside a gap longer than max_gap_s between two
 * finite samples, are NAN. angle != 0: v is in degrees, unwrapped before
 * and wrapped to [0, 360) after interpolating. Steffen falls back to linear
 * on pieces of fewer than 3 points. DL_EFORMAT when t is not increasing. */
int dl_grid_resample(const double *t, const double *v, size_t n, double t0,
                     double hz, size_t ng, int kind, int angle,
                     double max_gap_s, double *out, dl_err *e);

/* ---- §3.3 despiking and low-pass ------------------------------------- */
typedef struct dl_despike dl_despike;
/* nmax: longest series; window: odd number of samples (>= 3). */
dl_despike *dl_despike_create(size_t nmax, size_t window, dl_err *e);
void dl_despike_free(dl_despike *w);
/* Hampel filter (GSL impulse, MAD scale) over each run of non-NAN samples,
 * in place: an outlier (|x - median| > nsigma * 1.4826 MAD) is replaced by
 * its window median. outlier[i] (may be NULL) = 1 where replaced. */
int dl_despike_run(dl_despike *w, double *x, size_t n, double nsigma,
                   uint8_t *outlier, size_t *nreplaced, dl_err *e);

typedef struct dl_lowpass dl_lowpass;
/* Plans the zero-phase FFT low-pass for series of exactly n samples. */
dl_lowpass *dl_lowpass_create(size_t n, dl_err *e);
void dl_lowpass_free(dl_lowpass *w);
/* y = x low-passed with the zero-phase gain 1/sqrt(1 + (f/cutoff)^8)
 * applied to the spectrum of the mean-removed, mirrored series. NAN gaps
 * are bridged linearly for the transform and are NAN again in y. x and y
 * may alias. Not reentrant on one workspace. */
int dl_lowpass_run(dl_lowpass *w, const double *x, double *y, size_t n,
                   double hz, double cutoff_hz, dl_err *e);

/* ---- §3.4, §4 excess and speed normalisation -------------------------- */
/* dc[i] = mean of the finite tyre[k][i] - bg[i]; NAN when bg or every tyre
 * value is missing, or ntyre == 0 or bg == NULL. Negatives kept. */
void dl_excess(const double *const *tyre, int ntyre, const double *bg, size_t n,
               double *dc);
/* tref[i] = dc[i] * (v_ref / v[i])^exponent (v and v_ref in the same
 * unit); NAN when v <= 0 or missing. */
void dl_tref(const double *dc, const double *v, size_t n, double v_ref,
             double exponent, double *tref);

/* ---- §5 validity flags ----------------------------------------------- */
#define DL_FLAG_MAP(X)                                                          \
  X(SPEED_LOW, 0, "slower than speed_min_kmh")                                  \
  X(SPEED_HIGH, 1, "faster than speed_max_kmh")                                 \
  X(ACCEL, 2, "|dv/dt| above accel_max_ms2")                                    \
  X(TURN, 3, "|dcourse/dt| above turn_max_degs")                                \
  X(GPS, 4, "no fix, HDOP above hdop_max, or implied jump above jump_max_kmh")  \
  X(BG_SPIKE, 5, "background above its rolling median by bg_nsigma robust sigmas") \
  X(NEGATIVE, 6, "excess below negative_min_ugm3")                              \
  X(INSTRUMENT, 7, "instrument value missing, in error, or at/above instrument_max_ugm3") \
  X(UNMATCHED, 8, "not map-matched, or farther than match_max_m from the road") \
  X(TAGGED, 9, "inside an operator-tagged interval")                            \
  X(NO_TYRE, 10, "run has no tyre channel")                                     \
  X(NO_BACKGROUND, 11, "run has no background channel")                         \
  X(NO_GPS, 12, "no position or speed for the sample")

enum {
#define DL_X_FLAG(name, bit, desc) DL_FLAG_##name = 1u << (bit),
  DL_FLAG_MAP(DL_X_FLAG)
#undef DL_X_FLAG
};
#define DL_FLAG_COUNT 13

/* Name ("SPEED_LOW") and description of bit b (0-based), NULL if unused. */
const char *dl_flag_name(int bit);
const char *dl_flag_desc(int bit);
/* Writes "SPEED_LOW|TURN" ("" for 0) into buf; returns the length needed. */
size_t dl_flags_format(uint32_t flags, char *buf, size_t len);

/* Thresholds, named and in the units of dl_params. */
typedef struct dl_qc_params {
  double speed_min_kmh, speed_max_kmh;
  double accel_max_ms2;
  double turn_max_degs;
  double hdop_max;
  double jump_max_kmh;
  double bg_window_s, bg_nsigma;
  double negative_min_ugm3;
  double instrument_max_ugm3;
  double match_max_m;
} dl_qc_params;

/* One run's per-sample inputs (length n). Any array may be NULL: absent
 * positions flag NO_GPS, an absent hdop/fix/inst_err is not checked, absent
 * tyre/background flag NO_TYRE/NO_BACKGROUND. Both match arrays NULL means
 * nothing was matched (all UNMATCHED). */
typedef struct dl_qc_input {
  size_t n;
  const double *t;               /* s, strictly increasing (required) */
  const double *lat, *lon;       /* degrees */
  const double *speed;           /* m/s */
  const double *course;          /* degrees */
  const double *hdop;
  const uint8_t *fix_ok;         /* 0 = no fix */
  const double *const *tyre;     /* ntyre channels, µg/m³ */
  int ntyre;
  const double *bg;              /* µg/m³ */
  const double *dc;              /* excess, µg/m³ */
  const uint8_t *inst_err;       /* instrument error flag, nonzero = error */
  const int32_t *segment;        /* matched segment, -1 = none */
  const double *match_dist;      /* m, NAN = not matched */
  const double *tag_begin, *tag_end; /* ntags closed intervals [begin, end], s */
  size_t ntags;
} dl_qc_input;

typedef struct dl_qc dl_qc;
/* Workspace for series up to nmax samples on a grid of rate hz. */
dl_qc *dl_qc_create(size_t nmax, double hz, const dl_qc_params *p, dl_err *e);
void dl_qc_free(dl_qc *w);
/* Rolling median and robust sigma (1.482602218505602 MAD) of finite
 * x[0..n) over a centred window of `window` samples (odd), truncated at the
 * ends: what gsl_movstat_mad(GSL_MOVSTAT_END_TRUNCATE) returns, in O(window)
 * per sample without a sort. work: window + 1 doubles. */
void dl_rolling_mad(const double *x, size_t n, size_t window, double *work, double *med,
                    double *mad);
/* flags[i] = OR of the DL_FLAG_* bits of sample i (overwritten). Rolling
 * background median/MAD are returned when bg_med/bg_sigma are not NULL
 * (bg_sigma is 1.4826 MAD). */
int dl_qc_flags(dl_qc *w, const dl_qc_input *in, uint32_t *flags,
                double *bg_med, double *bg_sigma, dl_err *e);

/* ---- §6 aggregation -------------------------------------------------- */
enum { DL_DISTRICT_SEGMENTS = 0, DL_DISTRICT_ROADS = 1, DL_DISTRICT_TOWNSHIPS = 2 };

typedef struct dl_agg_params {
  double coverage_min_m, coverage_min_frac;
  double calib_a, calib_beta;
  int district_mode; /* DL_DISTRICT_* */
} dl_agg_params;

typedef struct dl_agg_input {
  size_t n;                  /* samples */
  const int32_t *segment;    /* -1 = not on a segment */
  const uint32_t *flags;     /* 0 = valid */
  const double *t_ref;       /* µg/m³ */
  const double *speed;       /* m/s */
  const double *dt;          /* s per sample; NULL: dt_const for all */
  double dt_const;
  size_t nseg;
  const double *seg_length;  /* m */
  const int32_t *seg_road;   /* road id, -1 = none */
  const int32_t *seg_township; /* township id, -1 = none */
  size_t nroad, ntown;
} dl_agg_input;

typedef struct dl_agg_output {
  /* per segment (nseg) */
  double *seg_covered;   /* m, Σ v·Δt of valid samples */
  int32_t *seg_nvalid;   /* valid samples */
  double *seg_tref_mean; /* µg/m³, NAN without valid samples */
  uint8_t *seg_counted;  /* coverage rule met */
  double *seg_load;      /* g/m², NAN unless counted */
  /* per road (nroad) and township (ntown): counted segments only */
  double *road_load, *road_length, *road_covered;
  int32_t *road_nseg;
  double *town_load, *town_length, *town_covered;
  int32_t *town_nseg;
  /* district */
  double district_load, district_length, district_covered;
  int32_t district_nseg;
} dl_agg_output;

/* Fills every array of out (allocated by the caller, sizes above). Serial
 * sums in sample order: bit-identical results whatever the thread count.
 * DL_EFORMAT when a segment, road or township id is out of range. */
int dl_aggregate(const dl_agg_input *in, const dl_agg_params *p,
                 dl_agg_output *out, dl_err *e);
/* sL = a * max(t_ref_mean, 0)^beta; NAN stays NAN. */
double dl_calibrate(double t_ref_mean, double a, double beta);

/* ---- §7 ranking and grades ------------------------------------------- */
/* v rounded to 2 decimals as an integer number of hundredths. */
long dl_round_cents(double v);
/* Competition ranking ascending on values rounded to 2 decimals
 * (0.32, 0.36, 0.36, 0.39 -> 1, 2, 2, 4). NAN values get rank 0 and sort
 * last. order (may be NULL) receives the indices in rank order (ties by
 * index). */
int dl_rank(const double *v, size_t n, int32_t *rank, int32_t *order,
            dl_err *e);

enum { DL_GRADE_NONE = -1, DL_GRADE_EXCELLENT = 0, DL_GRADE_GOOD = 1,
       DL_GRADE_FAIR = 2, DL_GRADE_POOR = 3 };
typedef struct dl_grade_params {
  double excellent, good, fair; /* upper bounds (exclusive) of 优, 良, 中 */
} dl_grade_params;
/* Grade of a load, judged on its value rounded to 2 decimals (what the
 * tables show); DL_GRADE_NONE for NAN. */
int dl_grade(double load, const dl_grade_params *g);
/* "优", "良", "中", "差" (UTF-8), "" for none; dl_grade_name_en: excellent... */
const char *dl_grade_name(int grade);
const char *dl_grade_name_en(int grade);

/* ---- calibration fit ------------------------------------------------- */
enum { DL_CALIB_USED = 0, DL_CALIB_REJ_NONFINITE = 1, DL_CALIB_REJ_TREF = 2,
       DL_CALIB_REJ_SL = 3 };
typedef struct dl_calib_fit {
  double a, beta;            /* sL = a * T^beta */
  double c0, c1;             /* ln sL = c0 + c1 ln T */
  double cov00, cov01, cov11;
  double r2;                 /* in log-log space */
  double rms;                /* RMS of the log residuals */
  size_t n_used, n_rejected;
} dl_calib_fit;
/* Least squares of ln(sl_vacuum) on ln(t_ref_mean) (gsl_fit_linear).
 * reject[i] (may be NULL) = DL_CALIB_* reason; resid[i] (may be NULL) =
 * ln sL - fitted, NAN when rejected. DL_ENODATA with fewer than 3 usable
 * pairs or no spread in T. */
int dl_calib_fit_loglog(const double *t_ref_mean, const double *sl_vacuum,
                        size_t n, uint8_t *reject, double *resid,
                        dl_calib_fit *out, dl_err *e);
const char *dl_calib_reject_name(int reason);

/* Once per process, before any kernel: switches GSL's aborting error
 * handler off (every GSL status is checked and translated). */
void dl_kernels_init(void);

#endif
