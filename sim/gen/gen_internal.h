/* gen_internal.h - internals of sim/gen shared by its files (not public).
 *
 * The random number generator: xoshiro256** (Blackman & Vigna), seeded
 * through splitmix64 from (seed, stream). Every event uses its own stream
 * (the event number), every conditions channel its own, so results never
 * depend on which thread made them or in which order.
 */
#ifndef MH_GEN_INTERNAL_H
#define MH_GEN_INTERNAL_H

#include <math.h>
#include <stdint.h>

typedef struct mh__rng {
    uint64_t s[4];
} mh__rng;

static inline uint64_t mh__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void mh__rng_seed(mh__rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    uint64_t y = mh__splitmix64(&x) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = mh__splitmix64(&y);
}

static inline uint64_t mh__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t mh__rng_u64(mh__rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = mh__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = mh__rotl(s[3], 45);
    return out;
}

/* Uniform in (0, 1): never 0, so log() is safe. */
static inline double mh__rng_uniform(mh__rng *r)
{
    return ((double)(mh__rng_u64(r) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal, exact (Box-Muller, one value per call). */
static inline double mh__rng_gauss(mh__rng *r)
{
    double u = mh__rng_uniform(r), v = mh__rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Exponential with the given mean. */
static inline double mh__rng_exp(mh__rng *r, double mean)
{
    return -mean * log(mh__rng_uniform(r));
}

/* Poisson: inversion by sequential search below mean 30 (one uniform and
 * one exp per draw), rounded normal above (the photo-statistics of large
 * pulses, where the difference is invisible). */
static inline uint32_t mh__rng_poisson(mh__rng *r, double mean)
{
    if (!(mean > 0.0))
        return 0;
    if (mean < 30.0) {
        double u = mh__rng_uniform(r), p = exp(-mean), f = p;
        uint32_t k = 0;
        while (u > f && k < 200) {
            k++;
            p *= mean / k;
            f += p;
        }
        return k;
    }
    double x = floor(mean + sqrt(mean) * mh__rng_gauss(r) + 0.5);
    return x < 0.0 ? 0u : (uint32_t)x;
}

#endif
