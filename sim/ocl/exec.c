/* exec.c - the asynchronous execution engine of the OpenCL backends: per
 * slot an in-order queue, a kernel object (clSetKernelArg is not
 * thread-safe on a shared kernel), device buffers and mapped, page-locked
 * host buffers; per event non-blocking writes, the kernel, non-blocking
 * reads, clFlush, and a completion callback on the last command. See
 * exec_internal.h and sim/ocl/README.md. */
#include "ocl/exec_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MH__GROUP 64            /* global size is rounded up to this */
#define MH__DEFAULT_CAP 8192    /* channels per slot to start with */
#define MH__MAXEV (2 * MH__OCL_MAXIO + 1)

/* One array of the kernel: device buffer plus a host staging buffer
 * allocated by the driver (CL_MEM_ALLOC_HOST_PTR: page-locked on GPUs, so
 * that transfers are DMA without a bounce copy) and kept mapped. */
typedef struct mh__buf {
    cl_mem dev;
    cl_mem pin;
    void *host;
} mh__buf;

typedef struct mh__slot {
    mh__ocl_exec *x;
    unsigned index;
    cl_command_queue queue;
    cl_kernel kernel;
    size_t cap; /* channels the buffers hold */
    mh__buf in[MH__OCL_MAXIO], out[MH__OCL_MAXIO];
    atomic_bool busy;
    mh_ocl_done_fn done;
    void *user;
    cl_event ev[MH__MAXEV];
    const char *evcall[MH__MAXEV]; /* the call that enqueued ev[i], for messages */
    unsigned nev;
    mh_ocl_timing timing;
    bool warming; /* the warm-up event: no fault injection */
} mh__slot;

struct mh__ocl_exec {
    mh_ocl_device *dev;
    mh__ocl_spec spec;
    bool profiling;
    size_t local; /* work-group size, 0 = driver's choice */
    unsigned nslots;
    mh__slot *slots;
};

/* Every OpenCL call goes through the fault hook first (mh_ocl.h), except
 * during a slot's warm-up: injected faults count the calls of events. */
#define MH__FAULT(s, name) ((s)->warming ? CL_SUCCESS : mh_ocl_fault(name))
#define MH__CALL(rc, s, name, expr)          \
    do {                                     \
        (rc) = MH__FAULT(s, name);           \
        if ((rc) == CL_SUCCESS)              \
            (rc) = (expr);                   \
    } while (0)

static mh_status mh__slot_fail(const mh__slot *s, char *err, size_t errlen, const char *call,
                               cl_int rc)
{
    mh_ocl_fail(err, errlen, call, rc);
    return mh_fail_prefix(err, errlen, MH_DEVICE, "%s slot %u: ", s->x->spec.name, s->index);
}

/* ------------------------------------------------------------ buffers */

static void mh__buf_release(mh__slot *s, mh__buf *b)
{
    if (b->host)
        clEnqueueUnmapMemObject(s->queue, b->pin, b->host, 0, NULL, NULL);
    if (b->pin)
        clReleaseMemObject(b->pin);
    if (b->dev)
        clReleaseMemObject(b->dev);
    memset(b, 0, sizeof *b);
}

static mh_status mh__buf_alloc(mh__slot *s, mh__buf *b, size_t bytes, cl_mem_flags flags,
                               char *err, size_t errlen)
{
    cl_context ctx = mh_ocl_device_context(s->x->dev);
    if (bytes == 0)
        bytes = 4; /* an output of 0 bytes per channel still gets an object */
    cl_int rc = mh_ocl_fault("clCreateBuffer");
    if (rc == CL_SUCCESS)
        b->dev = clCreateBuffer(ctx, flags, bytes, NULL, &rc);
    if (rc != CL_SUCCESS)
        return mh__slot_fail(s, err, errlen, "clCreateBuffer", rc);
    b->pin = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &rc);
    if (rc != CL_SUCCESS)
        return mh__slot_fail(s, err, errlen, "clCreateBuffer(host)", rc);
    rc = mh_ocl_fault("clEnqueueMapBuffer");
    if (rc == CL_SUCCESS)
        b->host = clEnqueueMapBuffer(s->queue, b->pin, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                     bytes, 0, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        b->host = NULL;
        return mh__slot_fail(s, err, errlen, "clEnqueueMapBuffer", rc);
    }
    return MH_OK;
}

static void mh__slot_release_buffers(mh__slot *s)
{
    const mh__ocl_spec *sp = &s->x->spec;
    for (unsigned i = 0; i < sp->n_in; i++)
        mh__buf_release(s, &s->in[i]);
    for (unsigned i = 0; i < sp->n_out; i++)
        mh__buf_release(s, &s->out[i]);
    if (s->queue)
        clFinish(s->queue); /* the unmaps; never on an event's path */
    s->cap = 0;
}

/* Allocates n arrays of bytes[i] x cap bytes each. */
static mh_status mh__alloc_set(mh__slot *s, unsigned n, const size_t *bytes, mh__buf *bufs,
                               cl_mem_flags flags, size_t cap, char *err, size_t errlen)
{
    for (unsigned i = 0; i < n; i++) {
        if (bytes[i] > SIZE_MAX / cap)
            return mh_fail(err, errlen, MH_INVALID, "%s: %zu channels is too many",
                           s->x->spec.name, cap);
        mh_status st = mh__buf_alloc(s, &bufs[i], bytes[i] * cap, flags, err, errlen);
        if (st != MH_OK)
            return st;
    }
    return MH_OK;
}

/* (Re)allocates every array of the slot for cap channels. */
static mh_status mh__slot_alloc(mh__slot *s, size_t cap, char *err, size_t errlen)
{
    const mh__ocl_spec *sp = &s->x->spec;
    mh__slot_release_buffers(s);
    mh_status st = mh__alloc_set(s, sp->n_in, sp->in_bytes, s->in, CL_MEM_READ_ONLY, cap, err,
                                 errlen);
    if (st == MH_OK)
        st = mh__alloc_set(s, sp->n_out, sp->out_bytes, s->out, CL_MEM_WRITE_ONLY, cap, err,
                           errlen);
    if (st == MH_OK)
        s->cap = cap;
    return st;
}

/* ------------------------------------------------------ create / free */

mh_status mh__ocl_exec_create(mh_ocl_device *dev, cl_program prog, const mh__ocl_spec *spec,
                              const mh_ocl_run_opts *opts, mh__ocl_exec **out, char *err,
                              size_t errlen)
{
    *out = NULL;
    if (spec->n_in > MH__OCL_MAXIO || spec->n_out == 0 || spec->n_out > MH__OCL_MAXIO)
        return mh_fail(err, errlen, MH_INTERNAL, "%s: bad kernel description", spec->name);
    mh__ocl_exec *x = calloc(1, sizeof *x);
    if (!x)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", spec->name);
    x->dev = dev;
    x->spec = *spec;
    x->profiling = opts->profiling;
    /* A device whose work-groups are smaller than asked chooses itself. */
    x->local = spec->local <= mh_ocl_device_get_info(dev)->max_work_group ? spec->local : 0;
    x->nslots = opts->n_slots ? opts->n_slots : 1;
    size_t cap = opts->capacity ? opts->capacity : MH__DEFAULT_CAP;
    mh_status st = MH_OK;
    x->slots = calloc(x->nslots, sizeof *x->slots);
    if (!x->slots) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", spec->name);
        goto fail;
    }
    for (unsigned i = 0; i < x->nslots; i++) {
        mh__slot *s = &x->slots[i];
        s->x = x;
        s->index = i;
        atomic_init(&s->busy, false);
        if ((st = mh_ocl_queue_create(dev, opts->profiling, &s->queue, err, errlen)) != MH_OK ||
            (st = mh_ocl_kernel_create(prog, spec->kernel, &s->kernel, err, errlen)) != MH_OK) {
            mh_fail_prefix(err, errlen, st, "%s slot %u: ", spec->name, i);
            goto fail;
        }
        if ((st = mh__slot_alloc(s, cap, err, errlen)) != MH_OK)
            goto fail;
    }
    *out = x;
    return MH_OK;
fail:
    mh__ocl_exec_free(x);
    return st;
}

void mh__ocl_exec_free(mh__ocl_exec *x)
{
    if (!x)
        return;
    for (unsigned i = 0; x->slots && i < x->nslots; i++) {
        mh__slot *s = &x->slots[i];
        mh__slot_release_buffers(s);
        if (s->kernel)
            clReleaseKernel(s->kernel);
        if (s->queue)
            clReleaseCommandQueue(s->queue);
    }
    free(x->slots);
    free(x);
}

unsigned mh__ocl_exec_slots(const mh__ocl_exec *x)
{
    return x->nslots;
}

mh_status mh__ocl_exec_set_arg(mh__ocl_exec *x, cl_uint index, size_t size, const void *value,
                               char *err, size_t errlen)
{
    for (unsigned i = 0; i < x->nslots; i++) {
        cl_int rc = mh_ocl_fault("clSetKernelArg");
        if (rc == CL_SUCCESS)
            rc = clSetKernelArg(x->slots[i].kernel, index, size, value);
        if (rc != CL_SUCCESS)
            return mh_ocl_failf(err, errlen, "clSetKernelArg", rc, "%s argument %u",
                                x->spec.kernel, (unsigned)index);
    }
    return MH_OK;
}

/* ------------------------------------------------------------- events */

static mh__slot *mh__slot_get(mh__ocl_exec *x, unsigned slot, char *err, size_t errlen)
{
    if (slot >= x->nslots) {
        mh_fail(err, errlen, MH_INVALID, "%s: slot %u, have %u", x->spec.name, slot, x->nslots);
        return NULL;
    }
    return &x->slots[slot];
}

mh_status mh__ocl_exec_inputs(mh__ocl_exec *x, unsigned slot, size_t n, void **in, char *err,
                              size_t errlen)
{
    mh__slot *s = mh__slot_get(x, slot, err, errlen);
    if (!s)
        return MH_INVALID;
    if (atomic_load(&s->busy))
        return mh_fail(err, errlen, MH_INVALID, "%s slot %u: an event is still in flight",
                       x->spec.name, slot);
    if (n > s->cap) {
        size_t cap = s->cap * 2 > n ? s->cap * 2 : n;
        mh_status st = mh__slot_alloc(s, cap, err, errlen);
        if (st != MH_OK)
            return st;
    }
    for (unsigned i = 0; i < x->spec.n_in; i++)
        in[i] = s->in[i].host;
    return MH_OK;
}

static uint64_t mh__prof(cl_event ev, cl_profiling_info what)
{
    cl_ulong t = 0;
    if (clGetEventProfilingInfo(ev, what, sizeof t, &t, NULL) != CL_SUCCESS)
        return 0;
    return t;
}

static void mh__collect_timing(mh__slot *s)
{
    mh_ocl_timing t = {0, 0, 0, 0};
    uint64_t first = 0, last = 0;
    for (unsigned i = 0; i < s->nev; i++) {
        uint64_t q = mh__prof(s->ev[i], CL_PROFILING_COMMAND_QUEUED);
        uint64_t a = mh__prof(s->ev[i], CL_PROFILING_COMMAND_START);
        uint64_t b = mh__prof(s->ev[i], CL_PROFILING_COMMAND_END);
        uint64_t d = b > a ? b - a : 0;
        const char *c = s->evcall[i];
        if (!strcmp(c, "clEnqueueWriteBuffer"))
            t.write_ns += d;
        else if (!strcmp(c, "clEnqueueReadBuffer"))
            t.read_ns += d;
        else if (!strcmp(c, "clEnqueueNDRangeKernel"))
            t.kernel_ns += d;
        if (i == 0 || (q && q < first))
            first = q;
        if (b > last)
            last = b;
    }
    t.total_ns = last > first ? last - first : 0;
    s->timing = t;
}

static void CL_CALLBACK mh__on_complete(cl_event ev, cl_int status, void *arg)
{
    (void)ev;
    mh__slot *s = arg;
    const char *call = "command completion";
    /* The fault hook's pseudo-call "completion" turns a finished event into
     * a failed one, as a device that dies mid-run would. */
    cl_int inj = MH__FAULT(s, "completion");
    if (status >= 0 && inj != CL_SUCCESS)
        status = inj;
    /* A failed command earlier in the queue is the one to name. */
    for (unsigned i = 0; i < s->nev && status >= 0; i++) {
        cl_int es = CL_COMPLETE;
        if (clGetEventInfo(s->ev[i], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof es, &es, NULL) ==
                CL_SUCCESS &&
            es < 0) {
            status = es;
            call = s->evcall[i];
        }
    }
    if (s->x->profiling && status >= 0)
        mh__collect_timing(s);
    for (unsigned i = 0; i < s->nev; i++)
        clReleaseEvent(s->ev[i]);
    s->nev = 0;
    char msg[512] = "";
    mh_status st = MH_OK;
    if (status < 0) {
        char what[96];
        snprintf(what, sizeof what, "%s (execution)", call);
        st = mh__slot_fail(s, msg, sizeof msg, what, status);
    }
    mh_ocl_done_fn done = s->done;
    void *user = s->user;
    atomic_store(&s->busy, false);
    done(user, st, msg);
}

mh_status mh__ocl_exec_enqueue(mh__ocl_exec *x, unsigned slot, size_t n, mh_ocl_done_fn done,
                               void *user, char *err, size_t errlen)
{
    mh__slot *s = mh__slot_get(x, slot, err, errlen);
    if (!s)
        return MH_INVALID;
    if (!done)
        return mh_fail(err, errlen, MH_INVALID, "%s: no completion callback", x->spec.name);
    if (n > s->cap)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s slot %u: %zu channels but room for %zu (call inputs first)",
                       x->spec.name, slot, n, s->cap);
    if (n > UINT32_MAX - MH__GROUP)
        return mh_fail(err, errlen, MH_INVALID, "%s: %zu channels is too many", x->spec.name, n);
    if (atomic_exchange(&s->busy, true))
        return mh_fail(err, errlen, MH_INVALID, "%s slot %u: an event is still in flight",
                       x->spec.name, slot);
    const mh__ocl_spec *sp = &x->spec;
    cl_int rc = CL_SUCCESS;
    const char *call = "";
    s->nev = 0;
    s->done = done;
    s->user = user;
    memset(&s->timing, 0, sizeof s->timing);

    if (n > 0) {
        for (unsigned i = 0; i < sp->n_in; i++) {
            call = "clEnqueueWriteBuffer";
            MH__CALL(rc, s, call,
                     clEnqueueWriteBuffer(s->queue, s->in[i].dev, CL_FALSE, 0, sp->in_bytes[i] * n,
                                          s->in[i].host, 0, NULL, &s->ev[s->nev]));
            if (rc != CL_SUCCESS)
                goto fail;
            s->evcall[s->nev++] = call;
        }
        cl_uint nn = (cl_uint)n, arg = 0;
        call = "clSetKernelArg";
        MH__CALL(rc, s, call, clSetKernelArg(s->kernel, arg++, sizeof nn, &nn));
        for (unsigned i = 0; i < sp->n_in && rc == CL_SUCCESS; i++)
            rc = clSetKernelArg(s->kernel, arg++, sizeof(cl_mem), &s->in[i].dev);
        for (unsigned i = 0; i < sp->n_out && rc == CL_SUCCESS; i++)
            rc = clSetKernelArg(s->kernel, arg++, sizeof(cl_mem), &s->out[i].dev);
        if (rc != CL_SUCCESS)
            goto fail;
        size_t per = sp->per_item ? sp->per_item : 1, items = (n + per - 1) / per;
        size_t global = (items + MH__GROUP - 1) / MH__GROUP * MH__GROUP;
        call = "clEnqueueNDRangeKernel";
        MH__CALL(rc, s, call,
                 clEnqueueNDRangeKernel(s->queue, s->kernel, 1, NULL, &global,
                                        x->local ? &x->local : NULL, 0, NULL, &s->ev[s->nev]));
        if (rc != CL_SUCCESS)
            goto fail;
        s->evcall[s->nev++] = call;
        for (unsigned i = 0; i < sp->n_out; i++) {
            if (sp->out_bytes[i] == 0)
                continue;
            call = "clEnqueueReadBuffer";
            MH__CALL(rc, s, call,
                     clEnqueueReadBuffer(s->queue, s->out[i].dev, CL_FALSE, 0,
                                         sp->out_bytes[i] * n, s->out[i].host, 0, NULL,
                                         &s->ev[s->nev]));
            if (rc != CL_SUCCESS)
                goto fail;
            s->evcall[s->nev++] = call;
        }
    } else {
        /* No channels: still complete through the driver's thread, so that
         * the caller sees one behaviour. */
        call = "clEnqueueMarkerWithWaitList";
        MH__CALL(rc, s, call, clEnqueueMarkerWithWaitList(s->queue, 0, NULL, &s->ev[s->nev]));
        if (rc != CL_SUCCESS)
            goto fail;
        s->evcall[s->nev++] = call;
    }
    call = "clFlush";
    MH__CALL(rc, s, call, clFlush(s->queue));
    if (rc != CL_SUCCESS)
        goto fail;
    /* Last: from here on the callback owns the slot (it may even run
     * before clSetEventCallback returns). */
    call = "clSetEventCallback";
    MH__CALL(rc, s, call, clSetEventCallback(s->ev[s->nev - 1], CL_COMPLETE, mh__on_complete, s));
    if (rc != CL_SUCCESS)
        goto fail;
    return MH_OK;

fail:
    /* Error path only: drain what was enqueued (it reads and writes the
     * slot's host arrays) before the slot is reused. */
    clFinish(s->queue);
    for (unsigned i = 0; i < s->nev; i++)
        clReleaseEvent(s->ev[i]);
    s->nev = 0;
    atomic_store(&s->busy, false);
    return mh__slot_fail(s, err, errlen, call, rc);
}

/* ----------------------------------------------------- blocking run */

typedef struct mh__waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
    mh_status st;
    char msg[512];
} mh__waiter;

static void mh__wake(void *user, mh_status st, const char *msg)
{
    mh__waiter *w = user;
    pthread_mutex_lock(&w->mu);
    w->st = st;
    snprintf(w->msg, sizeof w->msg, "%s", msg ? msg : "");
    w->finished = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

mh_status mh__ocl_exec_run(mh__ocl_exec *x, unsigned slot, size_t n, char *err, size_t errlen)
{
    mh__waiter w = {.finished = 0, .st = MH_OK};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    mh_status st = mh__ocl_exec_enqueue(x, slot, n, mh__wake, &w, err, errlen);
    if (st == MH_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.finished)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        st = w.st;
        if (st != MH_OK)
            mh_fail(err, errlen, st, "%s", w.msg);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return st;
}

mh_status mh__ocl_exec_warmup(mh__ocl_exec *x, char *err, size_t errlen)
{
    void *in[MH__OCL_MAXIO];
    mh_status st = mh__ocl_exec_inputs(x, 0, 1, in, err, errlen);
    if (st != MH_OK)
        return st;
    for (unsigned i = 0; i < x->spec.n_in; i++)
        memset(in[i], 0, x->spec.in_bytes[i]);
    x->slots[0].warming = true;
    st = mh__ocl_exec_run(x, 0, 1, err, errlen);
    x->slots[0].warming = false;
    if (st != MH_OK)
        mh_fail_prefix(err, errlen, st, "warm-up: ");
    return st;
}

const void *mh__ocl_exec_output(const mh__ocl_exec *x, unsigned slot, unsigned i)
{
    if (slot >= x->nslots || i >= x->spec.n_out)
        return NULL;
    return x->slots[slot].out[i].host;
}

mh_ocl_timing mh__ocl_exec_timing(const mh__ocl_exec *x, unsigned slot)
{
    mh_ocl_timing zero = {0, 0, 0, 0};
    return slot < x->nslots ? x->slots[slot].timing : zero;
}

mh_status mh__ocl_exec_program(mh_ocl_device *dev, const char *name, const mh_ocl_run_opts *opts,
                               cl_program *prog, mh_ocl_build_info *info, char *err,
                               size_t errlen)
{
    const char *src = mh_ocl_kernel_source(name);
    if (!src && !opts->binary_path)
        return mh_fail(err, errlen, MH_INTERNAL, "no embedded program '%s'", name);
    mh_ocl_build_opts b = {
        .name = name,
        .source = src,
        .options = opts->options,
        .binary_path = opts->binary_path,
        .cache_dir = opts->cache_dir,
        .no_cache = opts->no_cache,
    };
    return mh_ocl_program_build(dev, &b, prog, info, err, errlen);
}
