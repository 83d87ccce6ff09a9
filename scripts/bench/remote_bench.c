/* remote_bench.c - the remote inference path measured against its parts
 * (compiled and run by scripts/bench/remote.sh against BUILD/lib/libminihlt.so).
 *
 * usage: remote_bench URL MODEL MODEL_DIR ROWS REQUESTS CONC...
 *   For each concurrency C: REQUESTS infer requests of ROWS x 46 FP32
 *   through mh_client with C in flight at once (each completion submits the
 *   next), latency p50/p99 (submit -> callback) and requests/s. Baselines,
 *   timed in the same run: a raw loopback TCP round trip of the same request
 *   and response sizes (a thread that reads the request bytes and writes the
 *   response bytes back), and the in-process CPU forward pass of ROWS rows
 *   (mh_facile_forward on MODEL_DIR). Prints `key value` lines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ml/mh_facile.h"
#include "net/mh_client.h"

#define NFEAT 46

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted sample. */
static double pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    return v[k == 0 ? 0 : k - 1];
}

/* ---- the client at concurrency C ---- */

typedef struct bench {
    mh_client *c;
    const float *in;
    size_t rows;
    float *out; /* C x rows */
    size_t total, submitted, done, failed;
    double *lat;
    pthread_mutex_t lock;
    pthread_cond_t cv;
} bench;

typedef struct slot {
    bench *b;
    size_t i;
} slot;

static void submit(bench *b, slot *s);

static void on_done(void *user, const mh_client_result *r)
{
    slot *s = user;
    bench *b = s->b;
    pthread_mutex_lock(&b->lock);
    b->lat[b->done++] = r->latency_ms;
    if (r->status != MH_OK && b->failed++ == 0)
        fprintf(stderr, "remote_bench: %s\n", r->msg);
    int more = b->submitted < b->total;
    if (more)
        b->submitted++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->lock);
    if (more)
        submit(b, s);
}

static void submit(bench *b, slot *s)
{
    char err[256];
    if (mh_client_infer(b->c, b->in, b->rows, NFEAT, b->out + s->i * b->rows, b->rows, on_done,
                        s, err, sizeof err) != MH_OK) {
        fprintf(stderr, "remote_bench: %s\n", err);
        exit(1);
    }
}

static void run_client(mh_client *c, const float *in, size_t rows, size_t total, size_t conc,
                       int print)
{
    bench b = {.c = c, .in = in, .rows = rows, .total = total};
    b.out = malloc(conc * rows * sizeof *b.out);
    b.lat = malloc(total * sizeof *b.lat);
    slot *slots = calloc(conc, sizeof *slots);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cv, NULL);
    double t0 = now_ms();
    pthread_mutex_lock(&b.lock);
    b.submitted = conc < total ? conc : total;
    pthread_mutex_unlock(&b.lock);
    for (size_t i = 0; i < conc && i < total; i++) {
        slots[i] = (slot){&b, i};
        submit(&b, &slots[i]);
    }
    pthread_mutex_lock(&b.lock);
    while (b.done < total)
        pthread_cond_wait(&b.cv, &b.lock);
    pthread_mutex_unlock(&b.lock);
    double dt = now_ms() - t0;
    qsort(b.lat, total, sizeof *b.lat, cmp_double);
    if (print)
        printf("remote_c%zu_p50_ms %.3f\nremote_c%zu_p99_ms %.3f\nremote_c%zu_req_per_s %.1f\n"
           "remote_c%zu_failed %zu\n",
           conc, pct(b.lat, total, 50), conc, pct(b.lat, total, 99), conc,
           (double)total / (dt / 1e3), conc, b.failed);
    free(slots);
    free(b.lat);
    free(b.out);
}

/* ---- raw TCP round trip of the same sizes ---- */

typedef struct echo {
    int lfd;
    size_t req, resp, n;
} echo;

static void *echo_main(void *arg)
{
    echo *e = arg;
    int fd = accept(e->lfd, NULL, NULL);
    char *buf = malloc(e->req > e->resp ? e->req : e->resp);
    memset(buf, 0, e->req > e->resp ? e->req : e->resp);
    for (size_t k = 0; k < e->n; k++) {
        size_t got = 0;
        while (got < e->req) {
            ssize_t r = read(fd, buf + got, e->req - got);
            if (r <= 0)
                goto out;
            got += (size_t)r;
        }
        for (size_t sent = 0; sent < e->resp;) {
            ssize_t w = write(fd, buf + sent, e->resp - sent);
            if (w <= 0)
                goto out;
            sent += (size_t)w;
        }
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static double raw_tcp_p50(size_t req, size_t resp, size_t n)
{
    echo e = {.req = req, .resp = resp, .n = n};
    e.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(e.lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(e.lfd, 1) != 0 ||
        getsockname(e.lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    pthread_t th;
    pthread_create(&th, NULL, echo_main, &e);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    char *buf = calloc(1, req > resp ? req : resp);
    double *lat = malloc(n * sizeof *lat);
    for (size_t k = 0; k < n; k++) {
        double t0 = now_ms();
        for (size_t sent = 0; sent < req;) {
            ssize_t w = write(fd, buf + sent, req - sent);
            if (w <= 0)
                return -1;
            sent += (size_t)w;
        }
        for (size_t got = 0; got < resp;) {
            ssize_t r = read(fd, buf + got, resp - got);
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        lat[k] = now_ms() - t0;
    }
    close(fd);
    pthread_join(th, NULL);
    close(e.lfd);
    qsort(lat, n, sizeof *lat, cmp_double);
    double p = pct(lat, n, 50);
    free(lat);
    free(buf);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: remote_bench URL MODEL MODEL_DIR ROWS REQUESTS CONC...\n");
        return 2;
    }
    const char *url = argv[1], *model = argv[2], *dir = argv[3];
    size_t rows = strtoul(argv[4], NULL, 10), total = strtoul(argv[5], NULL, 10);
    if (rows == 0 || total == 0) {
        fprintf(stderr, "remote_bench: ROWS and REQUESTS must be positive\n");
        return 2;
    }
    float *in = malloc(rows * NFEAT * sizeof *in), *out = malloc(rows * sizeof *out);
    srand(1);
    for (size_t i = 0; i < rows * NFEAT; i++)
        in[i] = (float)(rand() % 1000) * 0.01f;

    char err[256];
    mh_facile *m = NULL;
    if (mh_facile_load(dir, 1, &m, err, sizeof err) != MH_OK) {
        fprintf(stderr, "remote_bench: %s\n", err);
        return 1;
    }
    double *lat = malloc(total * sizeof *lat);
    void *work = malloc(mh_facile_workspace_size(m));
    for (size_t k = 0; k < total; k++) {
        double t0 = now_ms();
        mh_facile_forward(m, in, rows, out, work, mh_facile_workspace_size(m), NULL, 0);
        lat[k] = now_ms() - t0;
    }
    qsort(lat, total, sizeof *lat, cmp_double);
    printf("rows %zu\nrequest_bytes %zu\ncpu_forward_p50_ms %.4f\n", rows, rows * NFEAT * 4 + 200,
           pct(lat, total, 50));
    printf("raw_tcp_p50_ms %.4f\n", raw_tcp_p50(rows * NFEAT * 4 + 200, rows * 4 + 150, total));

    const char *servers[] = {url};
    mh_client_config cfg = {.servers = servers, .n_servers = 1, .model = model,
                            .timeout_ms = 30000};
    mh_client *c = NULL;
    if (mh_client_create(&cfg, &c, err, sizeof err) != MH_OK) {
        fprintf(stderr, "remote_bench: %s\n", err);
        return 1;
    }
    run_client(c, in, rows, total < 20 ? total : 20, 1, 0); /* warm-up: connection, caches */
    for (int a = 6; a < argc; a++)
        run_client(c, in, rows, total, strtoul(argv[a], NULL, 10), 1);
    mh_client_free(c);
    mh_facile_free(m);
    free(work);
    free(lat);
    free(in);
    free(out);
    return 0;
}
