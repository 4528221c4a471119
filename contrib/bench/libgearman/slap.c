/*
 * slap: a second opinion on foreground throughput, from libgearman's own client and worker.
 *
 * gearmand-bench speaks the protocol itself and pipelines where the protocol allows; real
 * applications mostly go through libgearman, which writes each packet on its own and sleeps
 * its workers with PRE_SLEEP after every NO_JOB. This tool runs C client threads (each with
 * its own gearman_client_st, `--inflight` tasks per gearman_client_run_tasks batch) and W
 * worker threads (gearman_worker_work, echoing the workload) against one server, checks that
 * every task of a batch completes with the bytes it sent, and reports jobs/s, latency
 * percentiles (of a whole batch: one job with the default --inflight 1) and, with --pid, the
 * server's CPU per job from /proc. Exit status 1 if any task failed or came back wrong.
 * Build and use: contrib/bench/libgearman/compare.sh, contrib/bench/README.md.
 */
#include <libgearman-1.0/gearman.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FUNCTION "slap"

static const char *host = "127.0.0.1";
static in_port_t port = 4730;
static int clients = 4, workers = 4, inflight = 1, size = 100, pid = 0;
static double seconds = 5, warmup = 1;

static atomic_int stop;           /* clients: the measured window is over */
static atomic_int workers_stop;   /* workers: every client has finished its last batch */
static atomic_int failures;       /* wrong or missing results, errors */
static double window_start, window_end;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* utime + stime of a process, in seconds */
static double cpu_of(int p) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", p);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after the command: state is field 3, utime 14, stime 15 */
    if (s) sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void *echo(gearman_job_st *job, void *ctx, size_t *result_size, gearman_return_t *ret) {
    (void)ctx;
    size_t n = gearman_job_workload_size(job);
    void *copy = malloc(n ? n : 1);
    memcpy(copy, gearman_job_workload(job), n);
    *result_size = n;
    *ret = GEARMAN_SUCCESS;
    return copy;
}

static void *worker_main(void *arg) {
    (void)arg;
    gearman_worker_st *w = gearman_worker_create(NULL);
    gearman_worker_add_server(w, host, port);
    gearman_worker_add_function(w, FUNCTION, 0, echo, NULL);
    gearman_worker_set_timeout(w, 200);
    while (!atomic_load(&workers_stop)) {
        gearman_return_t ret = gearman_worker_work(w);
        if (ret != GEARMAN_SUCCESS && ret != GEARMAN_TIMEOUT && ret != GEARMAN_IO_WAIT &&
            ret != GEARMAN_NO_ACTIVE_FDS) {
            fprintf(stderr, "worker: %s\n", gearman_worker_error(w));
            atomic_fetch_add(&failures, 1);
            break;
        }
    }
    gearman_worker_free(w);
    return NULL;
}

struct client {
    pthread_t thread;
    char *payload;
    double *latency_us;           /* one per measured batch */
    size_t count, capacity, jobs;
    int completed;                /* results of the current batch that matched */
};

static gearman_return_t on_complete(gearman_task_st *task) {
    struct client *c = gearman_task_context(task);
    if (gearman_task_data_size(task) == (size_t)size &&
        memcmp(gearman_task_data(task), c->payload, size) == 0)
        c->completed++;
    return GEARMAN_SUCCESS;
}

static void record(struct client *c, double start, double end) {
    if (start < window_start || end > window_end) return;
    if (c->count == c->capacity) {
        c->capacity = c->capacity ? c->capacity * 2 : 65536;
        c->latency_us = realloc(c->latency_us, c->capacity * sizeof(double));
    }
    c->latency_us[c->count++] = (end - start) * 1e6;
    c->jobs += inflight;
}

static void *client_main(void *arg) {
    struct client *c = arg;
    gearman_client_st *g = gearman_client_create(NULL);
    gearman_client_add_server(g, host, port);
    gearman_client_set_complete_fn(g, on_complete);
    while (!atomic_load(&stop)) {
        double start = now();
        gearman_return_t ret = GEARMAN_SUCCESS;
        c->completed = 0;
        for (int i = 0; i < inflight && ret == GEARMAN_SUCCESS; i++)
            gearman_client_add_task(g, NULL, c, FUNCTION, NULL, c->payload, size, &ret);
        if (ret == GEARMAN_SUCCESS) ret = gearman_client_run_tasks(g);
        gearman_client_task_free_all(g);
        if (ret != GEARMAN_SUCCESS || c->completed != inflight) {
            fprintf(stderr, "client: %s (%d of %d results right)\n",
                    gearman_client_error(g), c->completed, inflight);
            atomic_fetch_add(&failures, 1);
            break;
        }
        record(c, start, now());
    }
    gearman_client_free(g);
    return NULL;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double p) {
    return n ? v[(size_t)((n - 1) * p)] : 0;
}

static void usage(void) {
    fprintf(stderr, "usage: slap [--host H] [--port P] [--clients C] [--workers W] "
                    "[--inflight N] [--size BYTES] [--seconds S] [--pid SERVER_PID]\n");
    exit(2);
}

static void parse(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--host")) host = v;
        else if (!strcmp(k, "--port")) port = (in_port_t)atoi(v);
        else if (!strcmp(k, "--clients")) clients = atoi(v);
        else if (!strcmp(k, "--workers")) workers = atoi(v);
        else if (!strcmp(k, "--inflight")) inflight = atoi(v);
        else if (!strcmp(k, "--size")) size = atoi(v);
        else if (!strcmp(k, "--seconds")) seconds = atof(v);
        else if (!strcmp(k, "--pid")) pid = atoi(v);
        else usage();
    }
    if (clients < 1 || workers < 1 || inflight < 1 || size < 1 || seconds <= 0) usage();
}

int main(int argc, char **argv) {
    parse(argc, argv);
    pthread_t ws[workers];
    struct client *cs = calloc(clients, sizeof *cs);
    window_start = now() + warmup;
    window_end = window_start + seconds;
    for (int i = 0; i < workers; i++) pthread_create(&ws[i], NULL, worker_main, NULL);
    for (int i = 0; i < clients; i++) {
        cs[i].payload = malloc(size);
        for (int j = 0; j < size; j++) cs[i].payload[j] = (char)('a' + (i + j) % 26);
        pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
    }
    usleep((useconds_t)(warmup * 1e6));
    double server0 = pid ? cpu_of(pid) : 0, self0 = cpu_of(getpid());
    usleep((useconds_t)(seconds * 1e6));
    double server1 = pid ? cpu_of(pid) : 0, self1 = cpu_of(getpid());
    atomic_store(&stop, 1);
    size_t n = 0, jobs = 0;
    for (int i = 0; i < clients; i++) pthread_join(cs[i].thread, NULL), n += cs[i].count;
    atomic_store(&workers_stop, 1);
    for (int i = 0; i < workers; i++) pthread_join(ws[i], NULL);
    double *all = malloc((n ? n : 1) * sizeof(double));
    for (int i = 0, k = 0; i < clients; k += cs[i].count, i++) {
        memcpy(all + k, cs[i].latency_us, cs[i].count * sizeof(double));
        jobs += cs[i].jobs;
    }
    qsort(all, n, sizeof(double), by_value);
    printf("RESULT clients=%d workers=%d inflight=%d size=%d jobs=%zu rate=%.0f "
           "p50_ms=%.3f p99_ms=%.3f server_us_job=%.2f client_us_job=%.2f failures=%d\n",
           clients, workers, inflight, size, jobs, jobs / seconds,
           percentile(all, n, 0.5) / 1e3, percentile(all, n, 0.99) / 1e3,
           jobs ? (server1 - server0) * 1e6 / jobs : 0, jobs ? (self1 - self0) * 1e6 / jobs : 0,
           atomic_load(&failures));
    return atomic_load(&failures) ? 1 : 0;
}
