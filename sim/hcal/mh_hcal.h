/* mh_hcal.h - the CMS Run 3 HCAL barrel and endcap (HBHE) detector model:
 * geometry, QIE11 digitisation, SiPM pulse shape and time slew, conditions.
 *
 * This is the domain code shared by the generator (sim/gen), the HCAL
 * plugins and the inference server. Everything here is either a pure
 * function or reads tables built once (thread-safe, pthread_once); nothing
 * prints or exits.
 *
 * Geometry (Phase-1 depth segmentation, as in Run 3):
 *   HB |ieta| 1-15: depths 1-4, |ieta| 16: depths 1-3          (72 iphi)
 *   HE |ieta| 16: depth 4, 17: depths 2-3, 18: depths 1-5,
 *      19-20: depths 1-6                                       (72 iphi)
 *      21-25: depths 1-6, 26-28: depths 1-7, 29: depths 1-3    (36 iphi, odd)
 * both signs of ieta. That gives 9072 HB + 6768 HE = 15840 channels and
 * 3528 towers (ieta 16 is one tower shared by HB and HE). A cell is named
 * (ieta, iphi, depth) and this triple is unique across HB and HE.
 *
 * Dense channel index: HB first, then HE; inside a subdetector ieta
 * ascending (-29..-1, 1..29), then iphi ascending, then depth ascending.
 * Dense tower index: ieta ascending, then iphi ascending.
 */
#ifndef MH_HCAL_H
#define MH_HCAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"
#include "hcal/mh_mahi.h"
#include "io/mh_rawevent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- geometry --------------------------------------------------------- */

#define MH_HCAL_NCHANNELS 15840u
#define MH_HCAL_NCHANNELS_HB 9072u
#define MH_HCAL_NCHANNELS_HE 6768u
#define MH_HCAL_NTOWERS 3528u
#define MH_HCAL_MAX_IETA 29
#define MH_HCAL_MAX_IPHI 72
#define MH_HCAL_MAX_DEPTH 7
/* First |ieta| with 10-degree (odd iphi only) towers. */
#define MH_HCAL_DOUBLE_PHI_IETA 21

enum { MH_HCAL_HB = 1, MH_HCAL_HE = 2 };

typedef struct mh_hcal_cell {
    int8_t ieta;     /* -29..-1, 1..29 */
    uint8_t iphi;    /* 1..72 (odd only for |ieta| >= 21) */
    uint8_t depth;   /* 1..7 */
    uint8_t subdet;  /* MH_HCAL_HB or MH_HCAL_HE */
    uint16_t tower;  /* dense tower index */
} mh_hcal_cell;

typedef struct mh_hcal_tower {
    int8_t ieta;
    uint8_t iphi;
    uint8_t nchannels;   /* channels (all depths, HB and HE) in this tower */
    float eta;           /* centre in pseudorapidity (signed) */
    float phi;           /* centre in azimuth, (-pi, pi] */
    float eta_lo, eta_hi; /* |eta| edges of the ring */
    float dphi;          /* full width in phi (5 or 10 degrees, in radians) */
} mh_hcal_tower;

/* Depth range of (subdet, |ieta|): writes the first and last depth and
 * returns 1, or returns 0 if the subdetector has no cells at that |ieta|. */
int mh_hcal_depth_range(int subdet, int aieta, int *dmin, int *dmax);

/* Dense channel index of (ieta, iphi, depth), or -1 if no such cell. */
int32_t mh_hcal_channel_index(int ieta, int iphi, int depth);

/* The cell of dense channel ch, or NULL if ch >= MH_HCAL_NCHANNELS. The
 * pointer is into a static table (never freed). */
const mh_hcal_cell *mh_hcal_cell_at(uint32_t ch);

/* Dense tower index of (ieta, iphi), or -1 if no such tower. */
int32_t mh_hcal_tower_index(int ieta, int iphi);

/* The tower of dense index t, or NULL if t >= MH_HCAL_NTOWERS. Static. */
const mh_hcal_tower *mh_hcal_tower_at(uint32_t t);

/* Channels of tower t, depth ascending (HB ones before the HE one at
 * |ieta| 16): writes up to cap indices into out and returns the count
 * (0 for a bad t). */
uint32_t mh_hcal_tower_channels(uint32_t t, uint32_t *out, uint32_t cap);

/* Azimuth phi (radians, any value) wrapped into (-pi, pi]. */
float mh_hcal_wrap_phi(double phi);

/* |eta| edges of ring |ieta| = 1..29 (CMS HCAL tower boundaries); returns 0
 * for a bad ring. */
int mh_hcal_ring_edges(int aieta, float *eta_lo, float *eta_hi);

/* ---- QIE11 ADC ---------------------------------------------------------
 * 8-bit code = range (bits 7-6) << 6 | mantissa (bits 5-0). Inside a range
 * the 64 mantissa bins are 1, 2, 4, 8 nominal units wide over 16, 20, 21
 * and 7 codes (196 units per range); range r has 8^r times the unit of
 * range 0, and the ranges follow each other without gap. The nominal unit
 * is MH_QIE11_UNIT_FC (SiPM QIE11), so the full scale is 114660 units,
 * about 355 pC. Charges are the bin centres. */

#define MH_QIE11_UNIT_FC 3.1f
#define MH_QIE11_NCODES 256

/* Charge (fC) at the centre of the bin of code adc. */
float mh_qie11_fc(uint8_t adc);
/* Width (fC) of the bin of code adc (MAHI's quantisation noise term). */
float mh_qie11_bin_width(uint8_t adc);
/* Lower edge (fC) of the bin of code adc. */
float mh_qie11_low_edge(uint8_t adc);
/* Code of the bin containing charge q (fC): q below 0 gives 0, q at or
 * above the full scale gives 255. */
uint8_t mh_qie11_adc(float q_fc);

/* The 257 bin edges in fC (edges[c] = lower edge of code c, edges[256] =
 * full scale); static, valid forever. For hot loops with
 * mh_qie11_adc_edges(), which mh_qie11_adc() is. */
const float *mh_qie11_edges(void);

/* mh_qie11_adc() inlined, given e = mh_qie11_edges(): an analytic guess
 * (ranges start at 196 (8^r - 1) / 7 units, segments inside a range at 0,
 * 16, 56, 140 units = codes 0, 16, 36, 57), then corrected against the edge
 * table so that code -> charge -> code is exact. */
static inline uint8_t mh_qie11_adc_edges(const float *e, float q_fc)
{
    if (!(q_fc >= e[1])) /* also NaN */
        return 0;
    if (q_fc >= e[MH_QIE11_NCODES - 1])
        return MH_QIE11_NCODES - 1;
    float u = q_fc * (1.0f / MH_QIE11_UNIT_FC);
    int r = u < 196.0f ? 0 : u < 1764.0f ? 1 : u < 14308.0f ? 2 : 3;
    static const float rstart[4] = {0.0f, 196.0f, 1764.0f, 14308.0f};
    static const float rinv[4] = {1.0f, 0.125f, 0.015625f, 0.001953125f};
    float x = (u - rstart[r]) * rinv[r];
    int m = x < 16.0f ? (int)x
          : x < 56.0f ? 16 + (int)((x - 16.0f) * 0.5f)
          : x < 140.0f ? 36 + (int)((x - 56.0f) * 0.25f)
                       : 57 + (int)((x - 140.0f) * 0.125f);
    if (m > 63)
        m = 63;
    int c = r * 64 + m;
    while (c < MH_QIE11_NCODES - 1 && q_fc >= e[c + 1])
        c++;
    while (c > 0 && q_fc < e[c])
        c--;
    return (uint8_t)c;
}

/* Capacitor id of time sample ts when sample 0 used capid0 (rotates 0..3). */
static inline uint8_t mh_qie11_capid(uint8_t capid0, int ts)
{
    return (uint8_t)((capid0 + ts) & 3);
}

/* ---- SiPM pulse shape and time slew -----------------------------------
 * The pulse is tabulated in MH_HCAL_PULSE_NBINS bins of 1 ns (fraction of
 * the charge in each ns after arrival; the table sums to 1). Between bin
 * edges the cumulative is linear, so fractions are exact integrals of the
 * table. "Arrival time t" is in ns after the start of the SOI sample
 * (MH_SOI = TS3); a sample is MH_HCAL_TS_NS = 25 ns. */

#define MH_HCAL_TS_NS 25.0f
#define MH_HCAL_PULSE_NBINS 250
/* CMS HBHE 2018 ("HBHE2018") QIE11 time slew: delay = t0 + slope*ln(Q/fC). */
#define MH_HCAL_SLEW_T0 11.977461f
#define MH_HCAL_SLEW_SLOPE (-1.5610227f)
#define MH_HCAL_SLEW_TMAX 10.0f

/* The 1-ns table (MH_HCAL_PULSE_NBINS floats, static). */
const float *mh_hcal_pulse_table(void);

/* Fraction of the pulse collected within t_ns after arrival (0 for t <= 0,
 * 1 beyond the table). */
float mh_hcal_pulse_cdf(float t_ns);

/* Fraction of a unit pulse arriving at t_ns in each sample TS0..TS9. */
void mh_hcal_pulse_fractions(float t_ns, float out[MH_NSAMPLES]);

/* Fraction of a pulse arriving at t_ns that falls inside TS0..TS9 (the sum
 * of mh_hcal_pulse_fractions). */
float mh_hcal_pulse_containment(float t_ns);

/* d(fraction)/d(t_ns) for each sample (per ns), from the table: what MAHI's
 * pulse-shape covariance term needs when the arrival time moves. */
void mh_hcal_pulse_derivative(float t_ns, float out[MH_NSAMPLES]);

/* mh_mahi_pulse_fn adapter (ctx unused): the fractions for a pulse arriving
 * t_ns after the start of TS MH_SOI. Use with soi = MH_SOI. */
void mh_hcal_pulse_mahi_fn(void *ctx, float t_ns, float *frac);

/* Builds MAHI's table from this pulse shape: soi MH_SOI, [-10, 40] ns in
 * 0.25 ns steps. The caller owns *pulse (about 20 KiB: heap it). */
mh_status mh_hcal_pulse_mahi_table(mh_mahi_pulse *pulse, char *err, size_t errlen);

/* Time slew (ns) of a pulse whose SOI charge is q_fc: t0 + slope*ln(q),
 * q clamped below at 1 fC, result clamped to [0, 10] ns. */
float mh_hcal_time_slew(float q_fc);

/* ---- conditions --------------------------------------------------------
 * Per-channel calibration constants, indexed by dense channel. The text
 * format is documented in data/conditions/README.md:
 *
 *   # comments and blank lines anywhere
 *   format minihlt-hbhe-conditions 1
 *   tag MH_HBHE_Run3_v1
 *   channels 15840
 *   ieta iphi depth pedestal_fC pedestal_width_fC gain_GeV_per_fC fC_per_pe
 *   ... one line per channel, every channel exactly once, any order
 */

#define MH_HCAL_COND_FORMAT "minihlt-hbhe-conditions"
#define MH_HCAL_COND_VERSION 1
#define MH_HCAL_COND_TAG_MAX 64

typedef struct mh_hcal_conditions {
    char tag[MH_HCAL_COND_TAG_MAX];
    uint32_t n;          /* MH_HCAL_NCHANNELS */
    float *pedestal;     /* fC, per channel */
    float *ped_width;    /* fC */
    float *gain;         /* GeV per fC */
    float *fc_per_pe;    /* fC per photo-electron */
} mh_hcal_conditions;

/* Allocates conditions for all channels, values zero, tag set (truncated
 * to MH_HCAL_COND_TAG_MAX-1). Returns NULL on allocation failure or an
 * empty/space-containing tag. Free with mh_hcal_conditions_free. */
mh_hcal_conditions *mh_hcal_conditions_create(const char *tag);

/* Frees; accepts NULL. */
void mh_hcal_conditions_free(mh_hcal_conditions *c);

/* Checks every value (finite, positive, inside sane ranges). Returns
 * MH_INVALID naming the first bad channel as (ieta,iphi,depth). */
mh_status mh_hcal_conditions_check(const mh_hcal_conditions *c, char *err, size_t errlen);

/* Parses conditions text (len bytes, need not be NUL-terminated); name is
 * used in messages "NAME:LINE: ...". Every channel must appear exactly
 * once. On success *out is owned by the caller. MH_FORMAT for syntax,
 * MH_INVALID for bad values, MH_NOMEM. */
mh_status mh_hcal_conditions_parse(const char *text, size_t len, const char *name,
                                   mh_hcal_conditions **out, char *err, size_t errlen);

/* Reads and parses the file path (at most 16 MiB). */
mh_status mh_hcal_conditions_load(const char *path, mh_hcal_conditions **out, char *err,
                                  size_t errlen);

/* Formats c as text (the exact bytes a file would hold). *out is a
 * malloc'ed NUL-terminated string owned by the caller, *len its length.
 * The values are printed with the precision a reload reproduces exactly
 * (format -> parse -> format is the identity). */
mh_status mh_hcal_conditions_format(const mh_hcal_conditions *c, char **out, size_t *len,
                                    char *err, size_t errlen);

/* Writes c to path (through a temporary file renamed on success). */
mh_status mh_hcal_conditions_write(const mh_hcal_conditions *c, const char *path, char *err,
                                   size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
