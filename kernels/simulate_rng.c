/* simulate_rng.c: the simulator's own PRNG (xoshiro256** seeded by
 * splitmix64): same seed, same numbers, on every platform and libc. */
#include <math.h>

#include "dl_simulate.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void dl_rng_seed(dl_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* the one forbidden state */
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dl_rng_next(dl_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

double dl_rng_uniform(dl_rng *r) { return (double)(dl_rng_next(r) >> 11) * 0x1.0p-53; }

double dl_rng_normal(dl_rng *r) {
  /* Marsaglia's polar method, one value per call (the second is dropped so
   * that the stream position does not depend on earlier calls' parity) */
  for (;;) {
    double u = 2.0 * dl_rng_uniform(r) - 1.0, v = 2.0 * dl_rng_uniform(r) - 1.0;
    double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * log(s) / s);
  }
}
