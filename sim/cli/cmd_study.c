/* cmd_study.c - `minihlt study`: the same menu and sample with each HCAL
 * reconstruction variant, then the savings summary, table and plots.
 *
 * Each run is a child `minihlt run` process (the same executable), so that
 * a variant that crashes or leaks cannot spoil the next one and every run
 * starts from the same cold state. Remote variants get a fresh local
 * `minihlt serve` on a free loopback port, stopped after the run once its
 * /metrics counters have been read for the farm estimate. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/mh_config.h"
#include "study/mh_study.h"

#define MH__MAX_SETS 32

typedef struct mh__study_opts {
    const char *config;
    const char *variants, *rtt, *scan_streams, *scan;
    const char *threads, *streams, *events, *input;
    const char *module, *model, *models, *server_model;
    const char *outdir;
    const char *farm_json;
    const char *sets[MH__MAX_SETS];
    size_t nsets;
    double l1_rate;
    double cpu_ms;
    unsigned instances;
    bool plots;
} mh__study_opts;

static void mh__study_help(FILE *out)
{
    fputs("usage: minihlt study CONFIG [options]\n"
          "\n"
          "Runs the menu CONFIG on the same sample once per HCAL reconstruction variant and\n"
          "writes DIR/summary.json, DIR/summary.txt, one report per run (DIR/NAME.json and\n"
          "its table DIR/NAME.txt) and PNG plots (scripts/plot_study.py).\n"
          "\n"
          "  --variants LIST     comma-separated, from mahi, facile, opencl, opencl_mahi, remote\n"
          "                      (default mahi,facile); the first mahi run is the baseline\n"
          "  --rtt LIST          emulated round-trip times in ms for remote (default 0);\n"
          "                      one remote run per value, named remote_rttN\n"
          "  --threads T, --streams S, --events N, --input FILE\n"
          "                      passed to every `minihlt run`\n"
          "  --scan-streams LIST throughput vs streams: rerun variants with each S\n"
          "  --scan LIST         which variants the streams scan reruns (default the baseline\n"
          "                      and the first remote run with an RTT > 0, else the next one)\n"
          "  --module LABEL      the HCAL reco module of the menu (default hbheReco)\n"
          "  --model DIR         FACILE model for facile/opencl/fallback (default data/models/facile)\n"
          "  --models DIR        model repository of the local server (default data/models)\n"
          "  --server-model NAME model name on the server (default facile)\n"
          "  --set KEY=VALUE     menu override passed to every run (repeatable)\n"
          "  --l1-rate HZ        L1 accept rate for the farm estimate (default 100000)\n"
          "  --cpu-ms-per-event MS  HLT CPU time per event of the farm for the estimate\n"
          "                      (default: the measured baseline's); the measured savings\n"
          "                      fraction is applied to it\n"
          "  --instances N       model instances per server for the estimate (default 1)\n"
          "  --farm FILE         scripts/farm.sh --json output: its measured saturation goes\n"
          "                      beside the estimate and into the farm_saturation plot\n"
          "  --no-plots          do not run scripts/plot_study.py\n"
          "  -o, --output DIR    output directory (default build/study)\n"
          "  -h, --help\n"
          "\n"
          "Exit status: 0 done, 1 a run failed (its name and table file are given), 2 usage.\n",
          out);
}

/* The path of this executable (to run `minihlt run` and `serve`). */
static int mh__self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Starts argv with stdout to out_path (NULL: inherited). Returns the pid
 * or -1 with errno. */
static pid_t mh__spawn(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (out_path) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(126);
    }
    execv(argv[0], argv);
    fprintf(stderr, "minihlt study: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int mh__wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* A free loopback TCP port (bound and released: a race with another
 * process is possible but harmless, the server then fails to bind and the
 * study says so). */
static int mh__free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

typedef struct mh__buf {
    char *p;
    size_t n;
} mh__buf;

static size_t mh__collect(char *data, size_t size, size_t nmemb, void *ctx)
{
    mh__buf *b = ctx;
    size_t n = size * nmemb;
    if (b->n + n > (8u << 20))
        return 0; /* a metrics page is small; refuse anything huge */
    char *p = realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, data, n);
    b->p = p;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

/* GET url; returns the HTTP status (0 on a transport error) and the body
 * in *body (caller frees). */
static long mh__http_get(const char *url, char **body)
{
    mh__buf b = {0};
    long code = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mh__collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (body)
        *body = b.p;
    else
        free(b.p);
    return code;
}

static void mh__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Stops a child: SIGTERM, up to 10 s for a clean exit, then SIGKILL. */
static int mh__stop(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        mh__sleep_ms(100);
    }
    kill(pid, SIGKILL);
    return mh__wait(pid);
}

/* Starts `minihlt serve` on a free port and waits until it is ready. */
static int mh__server_start(const char *exe, const mh__study_opts *o, const char *log_path,
                            pid_t *pid_out, char *url, size_t urllen)
{
    int port = mh__free_port();
    if (port < 0) {
        fprintf(stderr, "minihlt study: no free loopback port: %s\n", strerror(errno));
        return -1;
    }
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    char *argv[] = {(char *)exe, "serve", "--models", (char *)o->models, "--port", portbuf, NULL};
    pid_t pid = mh__spawn(argv, log_path);
    if (pid < 0) {
        fprintf(stderr, "minihlt study: cannot start the server: %s\n", strerror(errno));
        return -1;
    }
    snprintf(url, urllen, "http://127.0.0.1:%d", port);
    char ready[256];
    snprintf(ready, sizeof ready, "%s/v2/health/ready", url);
    for (int i = 0; i < 300; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "minihlt study: the server exited at start-up (see %s)\n", log_path);
            return -1;
        }
        if (mh__http_get(ready, NULL) == 200) {
            *pid_out = pid;
            return 0;
        }
        mh__sleep_ms(100);
    }
    fprintf(stderr, "minihlt study: the server at %s was not ready after 30 s (see %s)\n", url,
            log_path);
    mh__stop(pid);
    return -1;
}

/* Reads the server's counters for the farm estimate. */
static void mh__server_metrics(const char *url, const char *model, mh_study_run *run)
{
    char murl[256];
    char *text = NULL;
    snprintf(murl, sizeof murl, "%s/metrics", url);
    if (mh__http_get(murl, &text) == 200 && text) {
        run->have_server = true;
        run->server_requests = mh_study_metric_sum(text, "nv_inference_request_success", model);
        run->server_execs = mh_study_metric_sum(text, "nv_inference_exec_count", model);
        run->server_compute_us =
            mh_study_metric_sum(text, "nv_inference_compute_infer_duration_us", model);
        run->server_queue_us = mh_study_metric_sum(text, "nv_inference_queue_duration_us", model);
    }
    free(text);
}

static int mh__run_one(const char *exe, const mh__study_opts *o, mh_study_run *run)
{
    char url[128] = "";
    char log_path[PATH_MAX], txt_path[PATH_MAX], set_module[1024], modyaml[900];
    char streams[16];
    char err[512];
    pid_t server = -1;
    int rc = 1;

    snprintf(run->report, sizeof run->report, "%.3000s/%.63s.json", o->outdir, run->name);
    snprintf(txt_path, sizeof txt_path, "%.3000s/%.63s.txt", o->outdir, run->name);
    snprintf(log_path, sizeof log_path, "%.3000s/%.63s.server.log", o->outdir, run->name);
    if (run->kind == MH_STUDY_REMOTE &&
        mh__server_start(exe, o, log_path, &server, url, sizeof url) != 0)
        return 1;
    if (mh_study_module_yaml(run, url, o->model, modyaml, sizeof modyaml, err, sizeof err) !=
        MH_OK) {
        fprintf(stderr, "minihlt study: %s\n", err);
        goto out;
    }
    snprintf(set_module, sizeof set_module, "modules.%s=%s", o->module, modyaml);

    char *argv[16 + 2 * MH__MAX_SETS];
    size_t n = 0;
    argv[n++] = (char *)exe;
    argv[n++] = "run";
    argv[n++] = (char *)o->config;
    argv[n++] = "--report";
    argv[n++] = run->report;
    argv[n++] = "--set";
    argv[n++] = set_module;
    if (o->threads) {
        argv[n++] = "--threads";
        argv[n++] = (char *)o->threads;
    }
    if (run->streams) {
        snprintf(streams, sizeof streams, "%u", run->streams);
        argv[n++] = "--streams";
        argv[n++] = streams;
    } else if (o->streams) {
        argv[n++] = "--streams";
        argv[n++] = (char *)o->streams;
    }
    if (o->events) {
        argv[n++] = "--events";
        argv[n++] = (char *)o->events;
    }
    if (o->input) {
        argv[n++] = "--input";
        argv[n++] = (char *)o->input;
    }
    for (size_t i = 0; i < o->nsets; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)o->sets[i];
    }
    argv[n] = NULL;

    fprintf(stderr, "minihlt study: running %s\n", run->name);
    pid_t pid = mh__spawn(argv, txt_path);
    if (pid < 0) {
        fprintf(stderr, "minihlt study: cannot start a run: %s\n", strerror(errno));
        goto out;
    }
    int status = mh__wait(pid);
    if (status != 0) {
        fprintf(stderr, "minihlt study: variant %s: minihlt run exited with status %d (see %s)\n",
                run->name, status, txt_path);
        goto out;
    }
    if (server > 0)
        mh__server_metrics(url, o->server_model, run);
    rc = 0;
out:
    if (server > 0) {
        int st = mh__stop(server);
        if (st != 0 && rc == 0)
            fprintf(stderr, "minihlt study: note: the server of %s exited with status %d\n",
                    run->name, st);
    }
    return rc;
}

/* scripts/plot_study.py of the checkout the program was built in: the nearest parent of the
 * program's directory that has it (BUILD/bin/minihlt -> ../../scripts, and
 * build/asan/bin/minihlt -> ../../../scripts for the sanitizer builds). */
static void mh__plots(const char *exe, const char *outdir, const char *farm_json)
{
    char dir[PATH_MAX];
    char script[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", exe);
    script[0] = '\0';
    for (int up = 0; up < 5 && !script[0]; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
        if (up < 2)
            continue; /* BUILD/bin: no scripts/ there */
        char cand[PATH_MAX];
        int n = snprintf(cand, sizeof cand, "%.4000s/scripts/plot_study.py", dir);
        if (n > 0 && (size_t)n < sizeof cand && access(cand, R_OK) == 0)
            snprintf(script, sizeof script, "%s", cand);
    }
    if (!script[0]) {
        fprintf(stderr, "minihlt study: plots skipped: no scripts/plot_study.py above %s\n", exe);
        return;
    }
    char *argv[] = {"/usr/bin/python3", script, (char *)outdir, NULL, NULL, NULL};
    if (farm_json) {
        argv[3] = "--farm";
        argv[4] = (char *)farm_json;
    }
    pid_t pid = mh__spawn(argv, NULL);
    int st = pid < 0 ? -1 : mh__wait(pid);
    if (st != 0)
        fprintf(stderr, "minihlt study: plots not written (plot_study.py exited with %d); the "
                        "summary is complete\n",
                st);
}

static int mh__mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int mh_cmd_study(int argc, char **argv)
{
    mh__study_opts o = {.variants = "mahi,facile",
                        .rtt = "0",
                        .module = "hbheReco",
                        .model = "data/models/facile",
                        .models = "data/models",
                        .server_model = "facile",
                        .outdir = "build/study",
                        .l1_rate = 100e3,
                        .instances = 1,
                        .plots = true};
    enum { O_VARIANTS = 256, O_RTT, O_THREADS, O_STREAMS, O_EVENTS, O_INPUT, O_SCANS, O_SCAN,
           O_MODULE, O_MODEL, O_MODELS, O_SMODEL, O_SET, O_L1, O_INST, O_NOPLOTS, O_FARM, O_CPUMS };
    static const struct option longopts[] = {
        {"variants", required_argument, 0, O_VARIANTS}, {"rtt", required_argument, 0, O_RTT},
        {"threads", required_argument, 0, O_THREADS},   {"streams", required_argument, 0, O_STREAMS},
        {"events", required_argument, 0, O_EVENTS},     {"input", required_argument, 0, O_INPUT},
        {"scan-streams", required_argument, 0, O_SCANS}, {"scan", required_argument, 0, O_SCAN},
        {"module", required_argument, 0, O_MODULE},     {"model", required_argument, 0, O_MODEL},
        {"models", required_argument, 0, O_MODELS},     {"server-model", required_argument, 0, O_SMODEL},
        {"set", required_argument, 0, O_SET},           {"l1-rate", required_argument, 0, O_L1},
        {"instances", required_argument, 0, O_INST},    {"no-plots", no_argument, 0, O_NOPLOTS},
        {"farm", required_argument, 0, O_FARM}, {"cpu-ms-per-event", required_argument, 0, O_CPUMS},
        {"output", required_argument, 0, 'o'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    int64_t tmp;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_VARIANTS: o.variants = optarg; break;
        case O_RTT: o.rtt = optarg; break;
        case O_THREADS:
            if (!mh_cli_parse_i64("study", "--threads", optarg, 1, 1024, &tmp))
                return 2;
            o.threads = optarg;
            break;
        case O_STREAMS:
            if (!mh_cli_parse_i64("study", "--streams", optarg, 1, 1024, &tmp))
                return 2;
            o.streams = optarg;
            break;
        case O_EVENTS:
            if (!mh_cli_parse_i64("study", "--events", optarg, 1, INT64_MAX, &tmp))
                return 2;
            o.events = optarg;
            break;
        case O_INPUT: o.input = optarg; break;
        case O_SCANS: o.scan_streams = optarg; break;
        case O_SCAN: o.scan = optarg; break;
        case O_MODULE: o.module = optarg; break;
        case O_MODEL: o.model = optarg; break;
        case O_MODELS: o.models = optarg; break;
        case O_SMODEL: o.server_model = optarg; break;
        case O_SET:
            if (o.nsets == MH__MAX_SETS)
                return mh_cli_usage_error("study", "at most %d --set options", MH__MAX_SETS);
            o.sets[o.nsets++] = optarg;
            break;
        case O_L1:
            if (!mh_cli_parse_double("study", "--l1-rate", optarg, 1, 1e9, &o.l1_rate))
                return 2;
            break;
        case O_CPUMS:
            if (!mh_cli_parse_double("study", "--cpu-ms-per-event", optarg, 1e-6, 1e9, &o.cpu_ms))
                return 2;
            break;
        case O_INST:
            if (!mh_cli_parse_i64("study", "--instances", optarg, 1, 1024, &tmp))
                return 2;
            o.instances = (unsigned)tmp;
            break;
        case O_NOPLOTS: o.plots = false; break;
        case O_FARM: o.farm_json = optarg; break;
        case 'o': o.outdir = optarg; break;
        case 'h': mh__study_help(stdout); return 0;
        default: return mh_cli_usage_error("study", "unknown option");
        }
    }
    if (optind != argc - 1)
        return mh_cli_usage_error("study", "expected one menu file (CONFIG)");
    o.config = argv[optind];
    if (strlen(o.outdir) > 3000)
        return mh_cli_usage_error("study", "--output: path too long");
    if (access(o.config, R_OK) != 0)
        return mh_cli_usage_error("study", "%s: %s", o.config, strerror(errno));
    if (o.farm_json && access(o.farm_json, R_OK) != 0)
        return mh_cli_usage_error("study", "--farm %s: %s", o.farm_json, strerror(errno));

    char err[512];
    mh_study_run runs[MH_STUDY_MAX_RUNS];
    size_t nruns = 0;
    if (mh_study_plan(o.variants, o.rtt, o.scan_streams, o.scan, runs, MH_STUDY_MAX_RUNS, &nruns,
                      err, sizeof err) != MH_OK)
        return mh_cli_usage_error("study", "%s", err);
    /* The effective time scale (menu + --set), for the summary; loading the
     * menu here also names a bad --set before any run starts. */
    mh_menu *menu = NULL;
    mh_status lst = mh_menu_load(o.config, o.sets, o.nsets, &menu, err, sizeof err);
    if (lst != MH_OK) {
        mh_cli_fail(lst, err);
        return 2; /* a start-up error, as in `run` */
    }
    double time_scale = menu->time_scale;
    mh_menu_free(menu);
    char exe[PATH_MAX];
    if (mh__self_exe(exe, sizeof exe) != 0)
        return mh_cli_fail(MH_IO, "cannot find the minihlt executable (/proc/self/exe)");
    if (mh__mkdirs(o.outdir) != 0) {
        snprintf(err, sizeof err, "%.300s: cannot create the directory: %s", o.outdir,
                 strerror(errno));
        return mh_cli_fail(MH_IO, err);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0;
    for (size_t i = 0; i < nruns && rc == 0; i++)
        rc = mh__run_one(exe, &o, &runs[i]);
    if (rc != 0) {
        curl_global_cleanup();
        return 1;
    }

    char summary[PATH_MAX], table[PATH_MAX];
    snprintf(summary, sizeof summary, "%.3000s/summary.json", o.outdir);
    snprintf(table, sizeof table, "%.3000s/summary.txt", o.outdir);
    FILE *tf = fopen(table, "w");
    if (!tf) {
        curl_global_cleanup();
        snprintf(err, sizeof err, "%.300s: %s", table, strerror(errno));
        return mh_cli_fail(MH_IO, err);
    }
    mh_study_farm_opts farm = {
        .l1_rate_hz = o.l1_rate, .server_instances = o.instances, .farm_json = o.farm_json,
        .cpu_ms_per_event = o.cpu_ms};
    mh_study_meta meta = {
        .config = o.config, .time_scale = time_scale, .sets = o.sets, .nsets = o.nsets};
    mh_status st = mh_study_summarize(runs, nruns, &meta, &farm, summary, tf, err, sizeof err);
    fclose(tf);
    curl_global_cleanup();
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    /* The table once more on stdout. */
    FILE *in = fopen(table, "r");
    if (in) {
        char line[512];
        while (fgets(line, sizeof line, in))
            fputs(line, stdout);
        fclose(in);
    }
    printf("summary: %s\n", summary);
    fflush(stdout);
    if (o.plots)
        mh__plots(exe, o.outdir, o.farm_json);
    return 0;
}
