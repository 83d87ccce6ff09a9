/* cmd_serve.c - `minihlt serve`: the KServe v2 / Triton-protocol inference
 * server (sim/net/mh_server.h) until SIGINT or SIGTERM.
 *
 * The signal handlers are installed before anything else (a SIGTERM that
 * arrives while models load must still mean "stop cleanly, exit 0", not the
 * default action's exit 143) and only write a byte to a self-pipe; the main
 * thread sleeps in poll() on that pipe and does the shutdown itself. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/mh_server.h"

#define MH__DRAIN_MS 10000

static int mh__sigpipe_fds[2] = {-1, -1};
static volatile sig_atomic_t mh__signo;

static void mh__on_signal(int sig)
{
    int saved = errno;
    mh__signo = sig;
    if (mh__sigpipe_fds[1] >= 0) {
        char b = 1;
        ssize_t w = write(mh__sigpipe_fds[1], &b, 1);
        (void)w; /* pipe full: a wake-up is already pending */
    }
    errno = saved;
}

static int mh__install_signals(void)
{
    if (pipe(mh__sigpipe_fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(mh__sigpipe_fds[i], F_GETFL);
        fcntl(mh__sigpipe_fds[i], F_SETFL, fl | O_NONBLOCK);
        fcntl(mh__sigpipe_fds[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mh__on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void mh__usage(FILE *f)
{
    fprintf(f,
            "usage: minihlt serve [--models DIR] [--port P] [--host H] [--threads T]\n"
            "                     [--max-body BYTES] [--max-connections N] [--max-queue N]\n"
            "                     [--backend NAME] [--quiet]\n"
            "\n"
            "Serves the models of a Triton-style repository over HTTP/1.1 with the KServe v2\n"
            "(Open Inference Protocol) REST API and Triton's binary tensor data, statistics\n"
            "and model configuration extensions, with dynamic batching and Prometheus\n"
            "metrics at /metrics. Stops cleanly (in-flight requests answered) on SIGINT or\n"
            "SIGTERM.\n"
            "\n"
            "options:\n"
            "  --models DIR         model repository (default data/models): DIR/NAME/config.yaml\n"
            "                       and DIR/NAME/<version>/weights.bin per model\n"
            "  --port P             TCP port (default 8000; 0 picks a free port)\n"
            "  --host H             address to bind (default 127.0.0.1; 0.0.0.0 for all)\n"
            "  --threads T          HTTP threads (default 2)\n"
            "  --max-body BYTES     largest request body (default 67108864); beyond: 413\n"
            "  --max-connections N  open connections at most (default 256)\n"
            "  --max-queue N        pending requests per model (default 1024); beyond: 503\n"
            "  --backend NAME       run every model on this backend (default: the model's\n"
            "                       instance_group kind: KIND_CPU cpu, KIND_GPU opencl;\n"
            "                       built in: cpu, opencl; the OpenCL device comes from\n"
            "                       MINIHLT_OCL_DEVICE, e.g. type=gpu)\n"
            "  --quiet              print only the 'listening on' line and errors\n"
            "\n"
            "endpoints: GET /v2, /v2/health/live, /v2/health/ready, /v2/models/M[/versions/V]\n"
            "[/ready|/config|/stats], /v2/models/stats, /metrics; POST .../infer,\n"
            "/v2/repository/index. Details: sim/net/README.md.\n");
}

int mh_cmd_serve(int argc, char **argv)
{
    static const char *cmd = "serve";
    /* First thing: from here on SIGINT/SIGTERM only request a clean stop. */
    if (mh__install_signals() != 0)
        return mh_cli_fail(MH_INTERNAL, "serve: cannot install signal handlers");
    mh_server_opts o;
    mh_server_opts_default(&o);
    bool quiet = false;
    enum { O_MODELS = 256, O_PORT, O_HOST, O_THREADS, O_BODY, O_CONN, O_QUEUE, O_BACKEND,
           O_QUIET, O_HELP };
    static const struct option longopts[] = {
        {"models", required_argument, NULL, O_MODELS},
        {"port", required_argument, NULL, O_PORT},
        {"host", required_argument, NULL, O_HOST},
        {"threads", required_argument, NULL, O_THREADS},
        {"max-body", required_argument, NULL, O_BODY},
        {"max-connections", required_argument, NULL, O_CONN},
        {"max-queue", required_argument, NULL, O_QUEUE},
        {"backend", required_argument, NULL, O_BACKEND},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int c;
    int64_t v = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_MODELS: o.models_dir = optarg; break;
        case O_HOST: o.host = optarg; break;
        case O_BACKEND: o.backend = optarg; break;
        case O_QUIET: quiet = true; break;
        case 'h':
        case O_HELP: mh__usage(stdout); return 0;
        case O_PORT:
            if (!mh_cli_parse_i64(cmd, "--port", optarg, 0, 65535, &v))
                return 2;
            o.port = (unsigned)v;
            break;
        case O_THREADS:
            if (!mh_cli_parse_i64(cmd, "--threads", optarg, 1, 256, &v))
                return 2;
            o.threads = (unsigned)v;
            break;
        case O_BODY:
            if (!mh_cli_parse_i64(cmd, "--max-body", optarg, 1024, (int64_t)1 << 32, &v))
                return 2;
            o.max_body = (size_t)v;
            break;
        case O_CONN:
            if (!mh_cli_parse_i64(cmd, "--max-connections", optarg, 1, 100000, &v))
                return 2;
            o.max_connections = (unsigned)v;
            break;
        case O_QUEUE:
            if (!mh_cli_parse_i64(cmd, "--max-queue", optarg, 1, 1000000, &v))
                return 2;
            o.max_queue = (size_t)v;
            break;
        default:
            return mh_cli_usage_error(cmd, "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return mh_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

    char err[1024] = "";
    mh_server *srv = NULL;
    mh_status st = mh_server_create(&o, &srv, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    if (!quiet) {
        for (size_t i = 0; i < mh_server_num_models(srv); i++)
            printf("model %s: ready\n", mh_server_model_name(srv, i));
    }
    /* Always printed: scripts wait for this line to know the port. */
    printf("listening on http://%s:%u\n", o.host, mh_server_port(srv));
    fflush(stdout);

    struct pollfd pfd = {.fd = mh__sigpipe_fds[0], .events = POLLIN};
    while (!mh__signo) {
        int n = poll(&pfd, 1, -1);
        if (n < 0 && errno != EINTR)
            break;
    }
    if (!quiet) {
        printf("%s: draining in-flight requests\n", mh__signo == SIGINT ? "SIGINT" : "SIGTERM");
        fflush(stdout);
    }
    st = mh_server_shutdown(srv, MH__DRAIN_MS);
    if (st != MH_OK)
        fprintf(stderr, "minihlt: serve: requests still in flight after %d ms were dropped\n",
                MH__DRAIN_MS);
    for (size_t i = 0; !quiet && i < mh_server_num_models(srv); i++) {
        mh_server_model_counts mc;
        if (mh_server_model_counts_get(srv, i, &mc) != MH_OK)
            continue;
        printf("model %s: %llu requests (%llu failed), %llu rows in %llu executions (%.1f "
               "requests per execution)\n",
               mh_server_model_name(srv, i), mc.requests_ok + mc.requests_failed,
               mc.requests_failed, mc.rows, mc.executions,
               mc.executions ? (double)mc.requests_ok / (double)mc.executions : 0.0);
    }
    mh_server_free(srv);
    if (!quiet)
        printf("stopped\n");
    return 0;
}
