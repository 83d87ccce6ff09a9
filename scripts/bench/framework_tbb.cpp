// framework_tbb.cpp - the raw oneTBB baseline of scripts/bench/framework.sh:
// the same graph as the benchmark menu, with empty tasks and nothing else.
//
//   framework_tbb EVENTS STREAMS THREADS PATHS MODULES MODE
//
// STREAMS events are in flight; an event runs PATHS paths concurrently; a
// path is a chain of MODULES empty module calls. MODE "task": every module
// call is its own oneTBB task (the next one spawned by the previous, as a
// task-per-module framework does); MODE "inline": one task per path calling
// the modules in turn (what minihlt does when no module has to wait). When
// an event's last path ends, its stream starts the next event. Prints
// "events wall_s events_per_s ns_per_module_call".
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

namespace {

long g_events, g_paths, g_modules;
bool g_task_mode;
std::atomic<long> g_next{0};
tbb::task_group *g_tg;

struct stream {
    std::atomic<long> paths_left{0};
};

void start_event(stream *s);

// An empty module: the compiler may not drop the call.
__attribute__((noinline)) void module_call(stream *s, long p, long m)
{
    asm volatile("" : : "r"(s), "r"(p), "r"(m) : "memory");
}

void path_done(stream *s)
{
    if (s->paths_left.fetch_sub(1, std::memory_order_acq_rel) == 1)
        start_event(s);
}

void module_task(stream *s, long p, long m)
{
    module_call(s, p, m);
    if (m + 1 < g_modules)
        g_tg->run([=] { module_task(s, p, m + 1); });
    else
        path_done(s);
}

void path_inline(stream *s, long p)
{
    for (long m = 0; m < g_modules; m++)
        module_call(s, p, m);
    path_done(s);
}

void start_event(stream *s)
{
    if (g_next.fetch_add(1, std::memory_order_relaxed) >= g_events)
        return;
    s->paths_left.store(g_paths, std::memory_order_relaxed);
    for (long p = 0; p < g_paths; p++) {
        if (g_task_mode)
            g_tg->run([=] { module_task(s, p, 0); });
        else
            g_tg->run([=] { path_inline(s, p); });
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: framework_tbb EVENTS STREAMS THREADS PATHS MODULES task|inline\n");
        return 2;
    }
    g_events = std::atol(argv[1]);
    long streams = std::atol(argv[2]);
    int threads = std::atoi(argv[3]);
    g_paths = std::atol(argv[4]);
    g_modules = std::atol(argv[5]);
    g_task_mode = !std::strcmp(argv[6], "task");
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    tbb::task_arena arena(threads, 1);
    tbb::task_group tg;
    g_tg = &tg;
    std::vector<stream> ss(streams);
    auto t0 = std::chrono::steady_clock::now();
    arena.execute([&] {
        for (auto &s : ss)
            tg.run([&s] { start_event(&s); });
        tg.wait();
    });
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%ld %.6f %.1f %.1f\n", g_events, wall, g_events / wall,
                wall * 1e9 * threads / (double)(g_events * g_paths * g_modules));
    return 0;
}
