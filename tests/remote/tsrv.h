/* tsrv.h - a tiny KServe v2 inference server for the tests of tests/remote,
 * on libmicrohttpd: answers an infer request correctly (output row i = the
 * sum of the features of row i, binary or JSON as asked), with garbage,
 * with HTTP 404/503, with a binary part one float short, or by closing the
 * connection. Also a listening socket that never accepts (a hung server)
 * and a port nobody listens on (a dead server). Header-only (static
 * functions): each test program is one .c file. */
#ifndef TESTS_REMOTE_TSRV_H
#define TESTS_REMOTE_TSRV_H

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum mode { M_OK, M_GARBAGE, M_CLOSE, M_404, M_503, M_SHORT };

typedef struct tsrv {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    _Atomic int mode;
    _Atomic int hits;
    _Atomic int connections;
    pthread_mutex_t lock;
    char last_header[2048]; /* JSON header of the last request */
    char last_path[256];
} tsrv;

typedef struct upload {
    char *buf;
    size_t len, cap;
} upload;

static void on_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                    enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    tsrv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *body,
                             size_t len, long long json_len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (json_len >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%lld", json_len);
        MHD_add_response_header(r, "Inference-Header-Content-Length", v);
        MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    } else {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* The model: output row i = sum of the features of row i. */
static enum MHD_Result infer(tsrv *s, struct MHD_Connection *conn, upload *u)
{
    const char *hl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Inference-Header-Content-Length");
    size_t jl = hl ? (size_t)strtoul(hl, NULL, 10) : u->len;
    if (jl > u->len)
        return reply(conn, 400, "{\"error\":\"header length\"}", 25, -1);
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_header, sizeof s->last_header, "%.*s", (int)jl, u->buf);
    pthread_mutex_unlock(&s->lock);
    json_t *root = json_loadb(u->buf, jl, 0, NULL);
    json_t *in = json_array_get(json_object_get(root, "inputs"), 0);
    json_t *shape = json_object_get(in, "shape");
    size_t n = (size_t)json_integer_value(json_array_get(shape, 0));
    size_t k = (size_t)json_integer_value(json_array_get(shape, 1));
    size_t bsz = (size_t)json_integer_value(
        json_object_get(json_object_get(in, "parameters"), "binary_data_size"));
    json_t *o = json_array_get(json_object_get(root, "outputs"), 0);
    int binary = json_is_true(json_object_get(json_object_get(o, "parameters"), "binary_data"));
    char oname[64];
    snprintf(oname, sizeof oname, "%s", json_string_value(json_object_get(o, "name")));
    json_decref(root);
    if (n == 0 || k == 0 || bsz != n * k * 4 || jl + bsz != u->len)
        return reply(conn, 400, "{\"error\":\"sizes\"}", 17, -1);
    /* The binary part follows the JSON at any alignment: copy it out. */
    float *x = malloc(bsz);
    memcpy(x, u->buf + jl, bsz);
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        for (size_t j = 0; j < k; j++)
            acc += x[i * k + j];
        y[i] = (float)acc;
    }
    free(x);
    json_t *out = json_pack("{s:s, s:[I,I], s:s}", "name", oname, "shape", (json_int_t)n,
                    (json_int_t)1, "datatype", "FP32");
    if (binary) {
        json_object_set_new(out, "parameters",
                            json_pack("{s:I}", "binary_data_size", (json_int_t)(n * 4)));
    } else {
        json_t *data = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(data, json_real(y[i]));
        json_object_set_new(out, "data", data);
    }
    json_t *resp = json_pack("{s:s, s:[o]}", "model_name", "facile", "outputs", out);
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    size_t tl = strlen(text);
    enum MHD_Result ret;
    int mode = atomic_load(&s->mode);
    if (binary) {
        size_t total = tl + n * 4;
        char *body = malloc(total);
        memcpy(body, text, tl);
        memcpy(body + tl, y, n * 4);
        /* M_SHORT: one float missing from the binary part. */
        ret = reply(conn, 200, body, mode == M_SHORT ? total - 4 : total, (long long)tl);
        free(body);
    } else {
        ret = reply(conn, 200, text, tl, -1);
    }
    free(text);
    free(y);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    (void)version;
    tsrv *s = cls;
    upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->len + *data_size > u->cap) {
            u->cap = (u->len + *data_size) * 2;
            u->buf = realloc(u->buf, u->cap);
        }
        memcpy(u->buf + u->len, data, *data_size);
        u->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->hits, 1);
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_path, sizeof s->last_path, "%s %s", method, url);
    pthread_mutex_unlock(&s->lock);
    switch (atomic_load(&s->mode)) {
    case M_GARBAGE:
        return reply(conn, 200, "\x01\x02garbage{{", 11, -1);
    case M_CLOSE:
        return MHD_NO; /* drops the connection without an answer */
    case M_404:
        return reply(conn, 404, "{\"error\":\"unknown model 'nope'\"}", 32, -1);
    case M_503:
        return reply(conn, 503, "{\"error\":\"queue full\"}", 22, -1);
    default:
        return infer(s, conn, u);
    }
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

static tsrv *tsrv_start(int mode)
{
    tsrv *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    atomic_store(&s->mode, mode);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &a,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_conn, s, MHD_OPTION_END);
    ck_assert_msg(s->d != NULL, "MHD_start_daemon failed");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di->port;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return s;
}

static void tsrv_stop(tsrv *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A port that accepts TCP connections (the kernel's backlog) but whose
 * owner never reads nor answers: the hung server. */
static int hung_socket(char *url, size_t urlsz)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    ck_assert(listen(fd, 16) == 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    snprintf(url, urlsz, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* A port nobody listens on: the dead server. */
static void dead_url(char *url, size_t urlsz)
{
    int fd = hung_socket(url, urlsz);
    close(fd);
}

#endif
