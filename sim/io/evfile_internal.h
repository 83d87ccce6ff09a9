/* evfile_internal.h - internals of the .mhe format shared by the writer,
 * the reader and the tests (not part of the public API).
 *
 * The constants mirror sim/io/FORMAT.md; change both together.
 */
#ifndef MH_EVFILE_INTERNAL_H
#define MH_EVFILE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "core/mh_status.h"
#include "io/mh_rawevent.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sim/io assumes a little-endian host (the .mhe format is little-endian)"
#endif

#define MH__EV_MAGIC 0x1A45484Du        /* "MHE\x1a" */
#define MH__EV_FOOTER_MAGIC 0x4645484Du /* "MHEF" */
#define MH__EV_VERSION_MAJOR 1
#define MH__EV_VERSION_MINOR 0

#define MH__EV_HEADER_SIZE 32u
#define MH__EV_HEADER_MAX 4096u
#define MH__EV_FOOTER_SIZE 56u
#define MH__EV_INDEX_ENTRY 32u
#define MH__EV_INDEX_ENTRY_MAX 256u
#define MH__EV_RECORD_FIXED 48u
#define MH__EV_DIGI_BYTES 27u   /* channel 4 + adc 10 + cs 1 + truth 12 */
#define MH__EV_GENJET_BYTES 16u
#define MH__EV_EXC_BYTES 24u    /* u32 index + capid[10] + soi[10] */
#define MH__EV_CS_NOSOI 10u

#define MH__EV_MAX_DIGIS 20000u
#define MH__EV_MAX_GENJETS 1024u
#define MH__EV_MAX_CLUSTER_EVENTS 65536u
#define MH__EV_MAX_RAW (128u << 20)
#define MH__EV_FLUSH_RAW (64u << 20)
#define MH__EV_MAX_META (1u << 20)
#define MH__EV_MAX_KEY 255u
#define MH__EV_MAX_VALUE 65535u
#define MH__EV_META_STRING 1u

/* Little-endian loads and stores (the host is little-endian, see above;
 * memcpy keeps them alignment-safe). */
static inline uint16_t mh__ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t mh__ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t mh__ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void mh__st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void mh__st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void mh__st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* CRC32C (Castagnoli) of n bytes, continuing from crc (start with 0). */
uint32_t mh__crc32c(uint32_t crc, const void *data, size_t n);
/* The same without the SSE4.2 instruction (for tests). */
uint32_t mh__crc32c_portable(uint32_t crc, const void *data, size_t n);

/* Upper bound of the size of ev's record (0 if ev exceeds the format
 * limits of digis or generator jets). */
size_t mh__ev_record_bound(const mh_rawevent *ev);

/* Writes ev's record at dst, which must hold mh__ev_record_bound(ev)
 * bytes. Returns the number of bytes written (the record size). */
size_t mh__ev_record_encode(const mh_rawevent *ev, uint8_t *dst);

/* Where errors happen: file, cluster number and frame offset, for
 * messages "FILE: cluster C at byte B: ...". */
typedef struct mh__evloc {
    const char *file;
    uint32_t cluster;
    uint64_t offset;
} mh__evloc;

/* Checks a cluster payload of n bytes holding nevents records without
 * copying anything; fills rec_off[0..nevents) with record offsets.
 * Returns MH_OK or MH_CORRUPT with a message naming loc. */
mh_status mh__ev_payload_scan(const uint8_t *p, size_t n, uint32_t nevents,
                              uint32_t *rec_off, const mh__evloc *loc,
                              char *err, size_t errlen);

/* Decodes one record that mh__ev_payload_scan() accepted into ev.
 * Returns MH_OK or MH_NOMEM. */
mh_status mh__ev_record_decode(const uint8_t *rec, mh_rawevent *ev);

/* Checks and decompresses one cluster frame into dst (raw_size bytes):
 * frame CRC32C, zstd frame size and content size, zstd content checksum.
 * dctx may be NULL (a temporary context is used). */
struct ZSTD_DCtx_s;
mh_status mh__ev_frame_decompress(struct ZSTD_DCtx_s *dctx, const void *frame,
                                  size_t size, uint32_t crc, void *dst,
                                  size_t raw_size, const mh__evloc *loc,
                                  char *err, size_t errlen);

#endif
