/* cmd_inspect.c - `minihlt inspect FILE [--verify] [--skip-bad] [--dump N]`:
 * shows an .mhe file's identity, metadata, layout and per-event channel
 * counts, and with --verify decompresses and checks every cluster.
 *
 * Exit status: 0 if the file is intact, 1 on any damage or error (one line
 * on stderr naming file, cluster and byte offset), 2 on a usage error.
 * With --skip-bad, damaged clusters are reported and counted and the rest
 * of the file is still checked, but the exit status is 1 whenever
 * anything was damaged: a script must not mistake a damaged file for a
 * good one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/mh_evfile.h"

/* Without --verify only the first clusters are decoded for the channel
 * counts, so that inspecting a large file stays instant. */
#define MH__INSPECT_SAMPLE_CLUSTERS 8
#define MH__INSPECT_DUMP_DIGIS 3

static void mh__inspect_usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt inspect FILE [--verify] [--skip-bad] [--dump N]\n"
            "\n"
            "Shows an .mhe event file: UUID, format version, metadata, number of events\n"
            "and clusters, file layout, compression ratio and the number of HBHE channels\n"
            "(digis) per event.\n"
            "\n"
            "options:\n"
            "  --verify     read and decompress every cluster and check every checksum\n"
            "               (without it, channel counts come from the first %d clusters)\n"
            "  --skip-bad   go on past damaged clusters, report each and count them\n"
            "  --dump N     print the first N events: identity, pileup, first digis\n"
            "  -h, --help   show this help\n"
            "\n"
            "exit status: 0 file intact, 1 damaged or unreadable (also with --skip-bad,\n"
            "after the accounting), 2 usage error.\n",
            MH__INSPECT_SAMPLE_CLUSTERS);
}

typedef struct mh__inspect_stats {
    uint64_t events;
    uint32_t min, max;
    uint64_t sum;
    uint32_t bad_clusters;
    uint64_t bad_events;
} mh__inspect_stats;

static void mh__dump_event(uint64_t n, const mh_rawevent *ev)
{
    printf("event %" PRIu64 ": run %u lumi %u event %" PRIu64 " bx %u pileup %.2f "
           "(in-time %u) digis %u genjets %u met %.2f GeV phi %.3f\n",
           n, ev->run, ev->lumi, ev->event, ev->bx, (double)ev->pileup_true,
           ev->pileup_intime, ev->ndigis, ev->ngenjets, (double)ev->gen_met,
           (double)ev->gen_met_phi);
    for (uint32_t i = 0; i < ev->ndigis && i < MH__INSPECT_DUMP_DIGIS; i++) {
        const uint8_t *adc = ev->adc + (size_t)i * MH_NSAMPLES;
        const uint8_t *soi = ev->soi + (size_t)i * MH_NSAMPLES;
        printf("  digi %u: channel %u adc", i, ev->channel[i]);
        for (int k = 0; k < MH_NSAMPLES; k++)
            printf(" %u", adc[k]);
        printf(" capid0 %u soi", ev->capid[(size_t)i * MH_NSAMPLES]);
        int any = 0;
        for (int k = 0; k < MH_NSAMPLES; k++)
            if (soi[k]) {
                printf("%c%d", any ? ',' : ' ', k);
                any = 1;
            }
        if (!any)
            printf(" -");
        printf(" true GeV hard %.3f in-time %.3f oot %.3f\n", (double)ev->true_e_hard[i],
               (double)ev->true_e_intime[i], (double)ev->true_e_oot[i]);
    }
    if (ev->ndigis > MH__INSPECT_DUMP_DIGIS)
        printf("  ... %u more digis\n", ev->ndigis - MH__INSPECT_DUMP_DIGIS);
}

/* Reads and decodes clusters [0, nscan) with the cluster API, collecting
 * channel counts and dumping the first ndump events. Returns MH_OK, or the
 * first damage (then err holds its message) unless skip_bad. */
static mh_status mh__inspect_scan(mh_evreader *r, uint32_t nscan, int64_t ndump, int skip_bad,
                                  mh__inspect_stats *s, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    mh_rawevent **evs = NULL;
    uint32_t nevs = 0;
    s->min = UINT32_MAX;
    for (uint32_t ci = 0; ci < nscan; ci++) {
        mh_evcluster *c = NULL;
        st = mh_evreader_read_cluster(r, ci, &c, err, errlen);
        if (st == MH_OK && c->nevents > nevs) {
            mh_rawevent **e2 = realloc(evs, c->nevents * sizeof *e2);
            if (!e2) {
                st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
            } else {
                evs = e2;
                for (; nevs < c->nevents; nevs++)
                    if (!(evs[nevs] = mh_rawevent_create()))
                        break;
                if (nevs < c->nevents)
                    st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
            }
        }
        if (st == MH_OK)
            st = mh_evcluster_decode(c, evs, err, errlen);
        if (st != MH_OK) {
            int damage = st == MH_CHECKSUM || st == MH_CORRUPT || st == MH_TRUNCATED ||
                         st == MH_IO;
            if (!skip_bad || !damage) {
                mh_evcluster_free(c);
                goto done;
            }
            fprintf(stderr, "minihlt: %s (skipped)\n", err);
            uint32_t nev = 0;
            mh_evreader_cluster_at(r, ci, NULL, NULL, &nev, NULL);
            s->bad_clusters++;
            s->bad_events += nev;
            mh_evcluster_free(c);
            st = MH_OK;
            continue;
        }
        for (uint32_t i = 0; i < c->nevents; i++) {
            const mh_rawevent *ev = evs[i];
            if ((int64_t)(c->first_event + i) < ndump)
                mh__dump_event(c->first_event + i, ev);
            s->events++;
            s->sum += ev->ndigis;
            if (ev->ndigis < s->min)
                s->min = ev->ndigis;
            if (ev->ndigis > s->max)
                s->max = ev->ndigis;
        }
        mh_evcluster_free(c);
    }
done:
    for (uint32_t i = 0; i < nevs; i++)
        mh_rawevent_free(evs[i]);
    free(evs);
    return st;
}

static void mh__print_summary(const char *file, mh_evreader *r)
{
    const mh_evfile_info *in = mh_evreader_info(r);
    printf("file            %s\n", file);
    printf("format          %u.%u\n", in->version_major, in->version_minor);
    printf("uuid            %s\n", in->uuid);
    printf("size            %" PRIu64 " bytes (%.2f MB)\n", in->file_bytes,
           (double)in->file_bytes / 1e6);
    printf("events          %" PRIu64 "\n", in->nevents);
    printf("clusters        %u", in->nclusters);
    if (in->nclusters)
        printf(" (%.1f events each on average)", (double)in->nevents / in->nclusters);
    printf("\n");
    printf("payload         %.2f MB raw, %.2f MB compressed, ratio %.2f\n",
           (double)in->raw_bytes / 1e6, (double)in->compressed_bytes / 1e6,
           in->compressed_bytes ? (double)in->raw_bytes / (double)in->compressed_bytes : 0.0);
    uint64_t c0 = 0;
    if (mh_evreader_cluster_at(r, 0, &c0, NULL, NULL, NULL) == MH_OK)
        printf("layout          clusters at bytes %" PRIu64 "..%" PRIu64
               ", metadata, index and footer to %" PRIu64 "\n",
               c0, c0 + in->compressed_bytes, in->file_bytes);
    size_t nm = mh_evmeta_count(in->meta);
    printf("metadata        %zu entries\n", nm);
    for (size_t i = 0; i < nm; i++) {
        const char *k, *v;
        mh_evmeta_at(in->meta, i, &k, &v);
        printf("  %-22s %s\n", k, v);
    }
}

int mh_cmd_inspect(int argc, char **argv)
{
    const char *file = NULL;
    int verify = 0, skip_bad = 0;
    int64_t ndump = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            mh__inspect_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--verify")) {
            verify = 1;
        } else if (!strcmp(a, "--skip-bad")) {
            skip_bad = 1;
        } else if (!strcmp(a, "--dump") || !strncmp(a, "--dump=", 7)) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                return mh_cli_usage_error("inspect", "--dump needs a number of events");
            if (!mh_cli_parse_i64("inspect", "--dump", v, 0, INT64_MAX, &ndump))
                return 2;
        } else if (a[0] == '-' && a[1]) {
            return mh_cli_usage_error("inspect", "unknown option '%s'", a);
        } else if (file) {
            return mh_cli_usage_error("inspect", "more than one FILE ('%s', '%s')", file, a);
        } else {
            file = a;
        }
    }
    if (!file)
        return mh_cli_usage_error("inspect", "missing FILE");

    char err[1024] = "";
    mh_evreader *r = NULL;
    mh_status st = mh_evreader_open(file, 0, &r, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    const mh_evfile_info *in = mh_evreader_info(r);
    mh__print_summary(file, r);
    fflush(stdout);

    uint32_t nscan = in->nclusters;
    if (!verify && nscan > MH__INSPECT_SAMPLE_CLUSTERS)
        nscan = MH__INSPECT_SAMPLE_CLUSTERS;
    /* --dump N may need more clusters than the sample. */
    uint64_t first = 0;
    while (nscan < in->nclusters &&
           mh_evreader_cluster_at(r, nscan, NULL, NULL, NULL, &first) == MH_OK &&
           (int64_t)first < ndump)
        nscan++;
    mh__inspect_stats s = {0};
    st = mh__inspect_scan(r, nscan, ndump, skip_bad, &s, err, sizeof err);
    if (st != MH_OK) {
        mh_evreader_close(r);
        return mh_cli_fail(st, err);
    }
    if (s.events)
        printf("channels/event  min %u mean %.1f max %u (%s%" PRIu64 " events)\n", s.min,
               (double)s.sum / (double)s.events, s.max,
               nscan < in->nclusters ? "first " : "", s.events);
    else
        printf("channels/event  - (no events read)\n");
    int rc = 0;
    if (s.bad_clusters) {
        printf("damaged         %u of %u clusters skipped (%" PRIu64 " of %" PRIu64
               " events)\n",
               s.bad_clusters, nscan, s.bad_events, in->nevents);
        snprintf(err, sizeof err, "%s: %u damaged cluster%s skipped (%" PRIu64 " of %" PRIu64
                 " events)", file, s.bad_clusters, s.bad_clusters == 1 ? "" : "s", s.bad_events,
                 in->nevents);
        fflush(stdout);
        rc = mh_cli_fail(MH_CORRUPT, err);
    } else if (verify) {
        printf("verify          OK: %u clusters, %" PRIu64 " events, all checksums match\n",
               in->nclusters, s.events);
    }
    mh_evreader_close(r);
    return rc;
}
