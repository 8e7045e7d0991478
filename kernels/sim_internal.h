/* sim_internal.h: the steps of dl_simulate shared between its files (not
 * a public header). */
#ifndef DL_SIM_INTERNAL_H
#define DL_SIM_INTERNAL_H

#include "dl_simulate.h"

/* PRNG streams, one per independent part of the simulation. */
enum { SIM_STREAM_START = 1, SIM_STREAM_ROUTE, SIM_STREAM_SPEED, SIM_STREAM_GPS, SIM_STREAM_DROP,
       SIM_STREAM_AMBIENT, SIM_STREAM_INST, SIM_STREAM_LOAD, SIM_STREAM_LAGS };

/* Fills seg_load and seg_tref (already allocated). */
void dl_sim__loads(const dl_net *n, const dl_sim_params *p, dl_sim *s);
/* GPS fixes from the truth (arrays allocated). */
void dl_sim__gps(const dl_sim_params *p, dl_sim *s);
/* Instrument readings from the 10 Hz excess e10 (n10 values from t0 at
 * 0.1 s). Allocates the reading arrays. */
int dl_sim__instruments(const dl_sim_params *p, const double *e10, size_t n10, dl_sim *s,
                        dl_err *e);

#endif
