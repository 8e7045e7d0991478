/* dl_match.h: map matching of GPS fixes to the road network: a hidden
 * Markov model (Newson & Krumm) over directed candidates, Viterbi in log
 * space with exact pruning, bounded one-to-many Dijkstra for route
 * distances, breaks instead of failures, and an along-route smoother.
 * Works on arrays (projected x/y, time, speed, course); no file, no library. */
#ifndef DL_MATCH_H
#define DL_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dl_network.h"

/* Per-fix status, in output order of severity. */
enum dl_match_status {
  DL_MATCH_MATCHED = 0,      /* on the matched path (an HMM observation, or a slow/stationary fix projected onto it) */
  DL_MATCH_INTERPOLATED = 1, /* no usable observation (outlier or no road within 200 m) inside a sub-match:
                                placed on the path by time */
  DL_MATCH_OUTLIER = 2,      /* implausible jump, not inside a sub-match: no position */
  DL_MATCH_UNMATCHED = 3     /* no road within the widest radius, or no sub-match to place it on */
};
/* "matched", "interpolated", "outlier", "unmatched" */
const char *dl_match_status_name(int status);

typedef struct dl_match_opts {
  double sigma;       /* GPS sigma in metres; 0 = estimate per trace (1.4826 x median distance, clamped [4,25]) */
  double beta;        /* transition scale in metres; 0 = estimate per trace */
  int k;              /* directed candidates per fix (default 8) */
  double radius_max;  /* widest candidate radius before a fix is unmatched (default 200 m) */
  double gap_s;       /* break the match at a time gap above this (default 60 s) */
  double jump_m;      /* break at a jump above this (default 2000 m) */
  double still_m;     /* fixes within this of the last kept one are not HMM observations (default 10 m) */
  double uturn;       /* log-likelihood penalty of a U-turn (default 8) */
  double turn;        /* log-likelihood cost per radian of turning between edges on a route (default 3) */
  double heading_kappa; /* heading term when speed > 3 m/s: its concentration when the course error cannot be
                           measured (default 2, about 40 degrees; 0 = no heading term); with a course, the
                           concentration and bias are estimated per trace (1 / sigma^2, sigma clamped to
                           [2, 30] degrees) and a moving fix with a course sharper than 10 degrees is never
                           thinned as standing jitter */
  double rho;         /* AR(1) coefficient per second of the GPS error; 0 = estimate per trace */
  double smooth_q;    /* along-route smoother acceleration noise, m^2/s^3 (default 0.3) */
  int threads;        /* OpenMP threads; 0 = the OpenMP default */
  size_t chunk;       /* fixes per parallel piece of a long trace (default 2400; results do not depend on threads) */
} dl_match_opts;

void dl_match_opts_default(dl_match_opts *o);

/* Per-trace summary. */
typedef struct dl_match_summary {
  size_t points, matched, interpolated, outliers, unmatched;
  size_t breaks;       /* sub-match starts after the first (gap, jump or no transition) */
  double median_dist;  /* median distance_m over matched fixes (NAN when none) */
  double sigma, beta;  /* the values used */
  double rho;          /* the GPS error AR(1) coefficient used */
  double course_sigma; /* degrees: the course error used (clamped), NAN when the course was not measured */
  double course_bias;  /* degrees: the course's bias against the roads, subtracted; NAN as course_sigma */
} dl_match_summary;

/* Output arrays, one entry per fix, allocated by the caller (n each). */
typedef struct dl_match_out {
  uint32_t *seg;       /* segment id, DL_NET_NONE when no position */
  double *offset;      /* metres along the segment from its first vertex */
  double *mx, *my;     /* matched position, projected */
  double *mlat, *mlon; /* matched position, WGS84 (interpolated on the segment's vertices) */
  double *dist;        /* metres from the fix to the matched position */
  uint8_t *status;     /* enum dl_match_status */
  uint8_t *dir;        /* may be NULL: 0 travelling along the segment's geometry, 1 against */
} dl_match_out;

/* Matches n_tr traces: trace r is fixes tr_start[r] .. tr_start[r+1]-1 of
 * the arrays t (s, increasing within a trace), x, y (projected, the view's
 * CRS), speed (m/s) and course (degrees, clockwise from north); speed and
 * course may be NULL or hold NAN. Fills out for every fix and sum[r] for
 * every trace (sum may be NULL). Results are identical for any thread
 * count. Returns DL_OK, DL_EUSAGE (bad options or times not increasing:
 * e names the fix) or DL_ENOMEM. Never fails on a hard trace: it breaks. */
int dl_match(const dl_net *n, const dl_match_opts *o, size_t n_tr, const size_t *tr_start, const double *t,
             const double *x, const double *y, const double *speed, const double *course, dl_match_out *out,
             dl_match_summary *sum, dl_err *e);

/* Position at offset off (clamped) along segment s: projected x/y and WGS84. */
void dl_match_seg_point(const dl_net *n, uint32_t s, double off, double *x, double *y, double *lat, double *lon);

#endif
