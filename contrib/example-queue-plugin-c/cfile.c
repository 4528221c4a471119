/*
 * cfile.c — an example gearmand queue plugin written in C against gearmand_plugin.h alone.
 *
 * `-q cfile --cfile-path FILE` keeps the queued background jobs in memory (a hash table for
 * lookups, a list for insertion order) and writes them all to FILE as a snapshot on every flush
 * that follows a change: written to FILE.tmp, synced, renamed over FILE, directory synced. A
 * crash therefore leaves either the old or the new snapshot, never a torn one. Rewriting the
 * whole file costs O(queued jobs) per flush: fine for an example and for small queues, not for a
 * million jobs (the Rust example, appendfile, appends instead).
 *
 * What it shows (the contract as plugin-api/README.md describes it):
 *  - a static GmPluginHeader, option table and GmQueueVtable, returned by gearmand_plugin_entry;
 *  - options arrive as (name, byte slice) pairs, not NUL-terminated;
 *  - errors go into the host's GmErrorBuf, truncated to cap, with len set;
 *  - log records go through GmHostApi.log, attributed to the plugin's name;
 *  - add of a stored (unique, function) replaces it; done of a missing job succeeds;
 *  - replay stops as soon as the host's callback returns non-OK, and reports it;
 *  - destroy flushes and frees everything.
 * Threading: the host calls one instance from one thread at a time, so there is no locking.
 *
 * File format: "GMCF1\n", then per job: priority u32, when i64, then unique, function and data,
 * each as a u32 length and its bytes. Numbers are little-endian.
 */
#define _POSIX_C_SOURCE 200809L

#include "gearmand_plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define PLUGIN_NAME "cfile"
#define MAGIC "GMCF1\n"
#define MAGIC_LEN 6

/* ---- The instance ------------------------------------------------------------------------- */

typedef struct Job {
    struct Job *chain;       /* next job in the same hash bucket */
    struct Job *prev, *next; /* insertion order, for replay */
    uint8_t *bytes;          /* unique, function and data, back to back */
    size_t unique_len, function_len, data_len;
    uint32_t priority;
    int64_t when;
} Job;

typedef struct Queue {
    const GmHostApi *host;
    char *path;
    char *tmp_path;
    int sync;      /* fsync snapshots (off with --cfile-no-sync) */
    int dirty;     /* changed since the last snapshot */
    Job **buckets; /* chained hash table keyed by (unique, function) */
    size_t n_buckets;
    size_t count;
    Job *head, *tail;
} Queue;

/* ---- Errors and logging ------------------------------------------------------------------- */

/* Formats a message into the host's error buffer: at most cap bytes, len set, no NUL needed. */
static void set_error(GmErrorBuf *err, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err == NULL || err->buf == NULL || n < 0)
        return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    if (len > err->cap)
        len = err->cap;
    memcpy(err->buf, msg, len);
    err->len = len;
}

static void logf_(const Queue *q, uint32_t level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (q->host == NULL || n < 0)
        return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    GmSlice plugin = {(const uint8_t *)PLUGIN_NAME, strlen(PLUGIN_NAME)};
    GmSlice message = {(const uint8_t *)msg, len};
    q->host->log(q->host->ctx, level, plugin, message);
}

static GmStatus status(int32_t code) {
    GmStatus s = {code};
    return s;
}

/* ---- The table ---------------------------------------------------------------------------- */

static const uint8_t *bytes_of(GmSlice s) { return s.len ? s.ptr : (const uint8_t *)""; }

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The bucket of (unique, function); the lengths go in too, so ("a-b","c") != ("a","b-c"). */
static size_t bucket_of(const Queue *q, GmSlice unique, GmSlice function) {
    uint64_t h = 14695981039346656037ull;
    h = fnv1a(h, (const uint8_t *)&unique.len, sizeof unique.len);
    h = fnv1a(h, bytes_of(unique), unique.len);
    h = fnv1a(h, bytes_of(function), function.len);
    return (size_t)(h % q->n_buckets);
}

static int same_key(const Job *j, GmSlice unique, GmSlice function) {
    return j->unique_len == unique.len && j->function_len == function.len &&
           memcmp(j->bytes, bytes_of(unique), unique.len) == 0 &&
           memcmp(j->bytes + j->unique_len, bytes_of(function), function.len) == 0;
}

/* The link that points at the job with this key (or at the NULL ending its bucket). */
static Job **find(Queue *q, GmSlice unique, GmSlice function) {
    Job **link = &q->buckets[bucket_of(q, unique, function)];
    while (*link != NULL && !same_key(*link, unique, function))
        link = &(*link)->chain;
    return link;
}

static GmSlice slice(const uint8_t *p, size_t n) {
    GmSlice s = {p, n};
    return s;
}

/* Doubles the table when it holds more than two jobs per bucket. */
static int grow(Queue *q) {
    if (q->count < q->n_buckets * 2)
        return 0;
    size_t n = q->n_buckets * 2;
    Job **buckets = calloc(n, sizeof *buckets);
    if (buckets == NULL)
        return -1;
    free(q->buckets);
    q->buckets = buckets;
    q->n_buckets = n;
    for (Job *j = q->head; j != NULL; j = j->next) {
        size_t b = bucket_of(q, slice(j->bytes, j->unique_len),
                             slice(j->bytes + j->unique_len, j->function_len));
        j->chain = q->buckets[b];
        q->buckets[b] = j;
    }
    return 0;
}

/* Copies the item's bytes into *job (replacing what it held). */
static int fill(Job *job, const GmQueueItem *item) {
    size_t total = item->unique.len + item->function.len + item->data.len;
    uint8_t *bytes = malloc(total ? total : 1);
    if (bytes == NULL)
        return -1;
    memcpy(bytes, bytes_of(item->unique), item->unique.len);
    memcpy(bytes + item->unique.len, bytes_of(item->function), item->function.len);
    memcpy(bytes + item->unique.len + item->function.len, bytes_of(item->data), item->data.len);
    free(job->bytes);
    job->bytes = bytes;
    job->unique_len = item->unique.len;
    job->function_len = item->function.len;
    job->data_len = item->data.len;
    job->priority = item->priority;
    job->when = item->when;
    return 0;
}

/* Stores a job; an existing (unique, function) is replaced in place. */
static int put(Queue *q, const GmQueueItem *item) {
    Job **link = find(q, item->unique, item->function);
    if (*link != NULL)
        return fill(*link, item);
    Job *job = calloc(1, sizeof *job);
    if (job == NULL || fill(job, item) != 0) {
        free(job);
        return -1;
    }
    *link = job;
    job->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->count++;
    return grow(q);
}

/* Removes a job; returns 1 if it was there. */
static int take(Queue *q, GmSlice unique, GmSlice function) {
    Job **link = find(q, unique, function);
    Job *job = *link;
    if (job == NULL)
        return 0;
    *link = job->chain;
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        q->head = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    else
        q->tail = job->prev;
    free(job->bytes);
    free(job);
    q->count--;
    return 1;
}

/* ---- The snapshot file -------------------------------------------------------------------- */

static void put_le(uint8_t *out, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *in, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)in[i] << (8 * i);
    return v;
}

static int write_job(FILE *f, const Job *j) {
    uint8_t head[24];
    put_le(head, j->priority, 4);
    put_le(head + 4, (uint64_t)j->when, 8);
    put_le(head + 12, j->unique_len, 4);
    put_le(head + 16, j->function_len, 4);
    put_le(head + 20, j->data_len, 4);
    size_t total = j->unique_len + j->function_len + j->data_len;
    return fwrite(head, 1, sizeof head, f) == sizeof head &&
                   fwrite(j->bytes, 1, total, f) == total
               ? 0
               : -1;
}

/* Syncs the directory holding path, so a rename in it is durable. */
static int sync_dir(const char *path) {
    char *dir = strdup(path);
    if (dir == NULL)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes every job to path.tmp, syncs it and renames it over path. */
static int save(Queue *q, GmErrorBuf *err) {
    FILE *f = fopen(q->tmp_path, "wb");
    if (f == NULL) {
        set_error(err, "cfile: cannot create %s: %s", q->tmp_path, strerror(errno));
        return -1;
    }
    int ok = fwrite(MAGIC, 1, MAGIC_LEN, f) == MAGIC_LEN;
    for (const Job *j = q->head; ok && j != NULL; j = j->next)
        ok = write_job(f, j) == 0;
    ok = ok && fflush(f) == 0 && (!q->sync || fsync(fileno(f)) == 0);
    int saved_errno = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        set_error(err, "cfile: cannot write %s: %s", q->tmp_path, strerror(saved_errno));
        unlink(q->tmp_path);
        return -1;
    }
    if (rename(q->tmp_path, q->path) != 0 || (q->sync && sync_dir(q->path) != 0)) {
        set_error(err, "cfile: cannot replace %s: %s", q->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads the snapshot at q->path into the table; a missing file is an empty queue. */
static int load(Queue *q, GmErrorBuf *err) {
    FILE *f = fopen(q->path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        set_error(err, "cfile: cannot open %s: %s", q->path, strerror(errno));
        return -1;
    }
    struct stat st;
    char magic[MAGIC_LEN];
    int ok = fstat(fileno(f), &st) == 0 && fread(magic, 1, MAGIC_LEN, f) == MAGIC_LEN &&
             memcmp(magic, MAGIC, MAGIC_LEN) == 0;
    uint8_t head[24];
    uint8_t *buf = NULL;
    size_t got = 0;
    while (ok && (got = fread(head, 1, sizeof head, f)) == sizeof head) {
        size_t u = get_le(head + 12, 4), fn = get_le(head + 16, 4), d = get_le(head + 20, 4);
        /* Lengths from a corrupt file must not make us allocate more than the file holds. */
        if (u + fn + d > (size_t)st.st_size) {
            ok = 0;
            break;
        }
        uint8_t *grown = realloc(buf, u + fn + d + 1);
        ok = grown != NULL && fread(grown, 1, u + fn + d, f) == u + fn + d;
        buf = grown ? grown : buf;
        if (!ok)
            break;
        GmQueueItem item = {slice(buf, u), slice(buf + u, fn), slice(buf + u + fn, d),
                            (uint32_t)get_le(head, 4), (int64_t)get_le(head + 4, 8)};
        ok = put(q, &item) == 0;
    }
    /* A clean end is end of file exactly between two jobs. */
    ok = ok && got == 0 && !ferror(f) && feof(f);
    free(buf);
    fclose(f);
    if (!ok) {
        set_error(err, "cfile: %s is not a cfile queue or is corrupt", q->path);
        return -1;
    }
    return 0;
}

/* ---- The vtable --------------------------------------------------------------------------- */

static void free_queue(Queue *q) {
    if (q == NULL)
        return;
    for (Job *j = q->head, *next; j != NULL; j = next) {
        next = j->next;
        free(j->bytes);
        free(j);
    }
    free(q->buckets);
    free(q->path);
    free(q->tmp_path);
    free(q);
}

/* An option's value as a NUL-terminated copy (option values are byte slices). */
static char *option(const GmOptionValue *options, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++) {
        if (options[i].name != NULL && strcmp(options[i].name, name) == 0) {
            char *v = malloc(options[i].value.len + 1);
            if (v != NULL) {
                memcpy(v, bytes_of(options[i].value), options[i].value.len);
                v[options[i].value.len] = '\0';
            }
            return v;
        }
    }
    return NULL;
}

static GmStatus q_create(const GmHostApi *host, const GmOptionValue *options, size_t n_options,
                         void **instance, GmErrorBuf *err) {
    if (host == NULL || host->abi_major != GM_ABI_MAJOR || host->size < sizeof(GmHostApi)) {
        set_error(err, "cfile: the host's plugin ABI does not match %d.%d", GM_ABI_MAJOR,
                  GM_ABI_MINOR);
        return status(GM_ERROR);
    }
    Queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        set_error(err, "cfile: out of memory");
        return status(GM_ERROR);
    }
    q->host = host;
    q->n_buckets = 64;
    q->buckets = calloc(q->n_buckets, sizeof *q->buckets);
    q->path = option(options, n_options, "cfile-path");
    char *no_sync = option(options, n_options, "cfile-no-sync");
    q->sync = no_sync == NULL || strcmp(no_sync, "false") == 0 || strcmp(no_sync, "0") == 0;
    free(no_sync);
    if (q->path == NULL || q->path[0] == '\0') {
        set_error(err, "cfile: option --cfile-path is required");
        free_queue(q);
        return status(GM_ERROR);
    }
    q->tmp_path = malloc(strlen(q->path) + 5);
    if (q->buckets == NULL || q->tmp_path == NULL) {
        set_error(err, "cfile: out of memory");
        free_queue(q);
        return status(GM_ERROR);
    }
    sprintf(q->tmp_path, "%s.tmp", q->path);
    if (load(q, err) != 0) {
        free_queue(q);
        return status(GM_ERROR);
    }
    logf_(q, GM_LOG_INFO, "cfile queue at %s: %zu jobs", q->path, q->count);
    *instance = q;
    return status(GM_OK);
}

static GmStatus q_add(void *instance, const GmQueueItem *item, GmErrorBuf *err) {
    Queue *q = instance;
    if (q == NULL || item == NULL) {
        set_error(err, "cfile: add without an instance or a job");
        return status(GM_ERROR);
    }
    if (put(q, item) != 0) {
        set_error(err, "cfile: out of memory");
        return status(GM_ERROR);
    }
    q->dirty = 1;
    return status(GM_OK);
}

static GmStatus q_flush(void *instance, GmErrorBuf *err) {
    Queue *q = instance;
    if (q == NULL || !q->dirty)
        return status(GM_OK);
    if (save(q, err) != 0) {
        logf_(q, GM_LOG_ERROR, "cfile: flush of %s failed", q->path);
        return status(GM_ERROR);
    }
    q->dirty = 0;
    return status(GM_OK);
}

static GmStatus q_done(void *instance, GmSlice unique, GmSlice function, GmErrorBuf *err) {
    Queue *q = instance;
    if (q == NULL) {
        set_error(err, "cfile: done without an instance");
        return status(GM_ERROR);
    }
    if (take(q, unique, function))
        q->dirty = 1;
    return status(GM_OK);
}

static GmStatus q_replay(void *instance, GmReplayFn callback, void *ctx, GmErrorBuf *err) {
    Queue *q = instance;
    if (q == NULL || callback == NULL) {
        set_error(err, "cfile: replay without an instance or a callback");
        return status(GM_ERROR);
    }
    for (const Job *j = q->head; j != NULL; j = j->next) {
        GmQueueItem item = {slice(j->bytes, j->unique_len),
                            slice(j->bytes + j->unique_len, j->function_len),
                            slice(j->bytes + j->unique_len + j->function_len, j->data_len),
                            j->priority, j->when};
        GmStatus s = callback(ctx, &item);
        if (s.code != GM_OK) {
            set_error(err, "cfile: the host stopped the replay (status %d)", (int)s.code);
            return status(GM_ERROR);
        }
    }
    return status(GM_OK);
}

static void q_destroy(void *instance) {
    Queue *q = instance;
    if (q == NULL)
        return;
    uint8_t buf[256];
    GmErrorBuf err = {buf, sizeof buf, 0};
    if (q_flush(q, &err).code != GM_OK)
        logf_(q, GM_LOG_ERROR, "last flush failed: %.*s", (int)err.len, (const char *)buf);
    free_queue(q);
}

/* ---- The header --------------------------------------------------------------------------- */

static const GmOptionSpec OPTIONS[] = {
    {"cfile-path", "File holding the queue snapshot (required)", NULL, 0, 1, NULL},
    {"cfile-no-sync", "Do not fsync snapshots (faster, not crash-safe)", NULL, 0, 0, NULL},
};

static const char *const ALIASES[] = {"libcfile"};

/* add_batch (ABI 1.2) and capabilities (1.4) are optional: NULL, so the host calls q_add once
 * per job and takes the queue as durable, storing jobs at submit. */
static const GmQueueVtable VTABLE = {
    q_create, q_add, q_flush, q_done, q_replay, q_destroy, NULL, NULL,
};

static const GmPluginHeader HEADER = {
    GM_PLUGIN_MAGIC,
    GM_ABI_MAJOR,
    GM_ABI_MINOR,
    {GM_KIND_QUEUE},
    PLUGIN_NAME,
    ALIASES,
    sizeof ALIASES / sizeof ALIASES[0],
    "0.1.0",
    "Example C queue: in memory, snapshot to a file on flush",
    OPTIONS,
    sizeof OPTIONS / sizeof OPTIONS[0],
    &VTABLE,
    sizeof VTABLE,
};

EXPORT const GmPluginHeader *gearmand_plugin_entry(void) { return &HEADER; }
