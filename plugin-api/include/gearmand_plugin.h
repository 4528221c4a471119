/*
 * gearmand_plugin.h — the C ABI between the gearmand host and its plugins, version 1.4.
 *
 * 1.1 appended conn_deadline and conn_timeout to GmProtocolVtable (per-connection timers). A
 * plugin built against 1.0 (vtable_size = 7 pointers) still loads; its connections get no timer.
 * 1.2 appended add_batch to GmQueueVtable (many new jobs in one call). It may be NULL; a plugin
 * built against 1.0 or 1.1 (vtable_size = 6 pointers) still loads; the host then calls add once
 * per job. 1.3 appended max_level to GmHostApi (the host's current log level); plugins built
 * against 1.0-1.2 still load. 1.4 appended capabilities to GmQueueVtable (a queue instance says
 * whether it is durable and whether it stores jobs at shutdown, GM_QUEUE_*). It may be NULL; for
 * it, and for a queue plugin built against 1.0-1.3, the host assumes durable, storing at shutdown
 * when the option store-queue-on-shutdown is given (and not "false"/"0"). 1.4 also added the
 * request kind GM_KIND_QUERY and its answer GM_KIND_TABLE (the engine's tables as rows and
 * columns, instead of admin text to parse back); a plugin that sends QUERY is built for 1.4, so
 * only a 1.4 host loads it (no fallback to admin text is needed).
 *
 * This header mirrors plugin-api/src/abi/ (the source of truth) field for field; the test
 * plugin-api/tests/layout.rs compiles it and compares every size and offset with Rust's.
 *
 * Rules of the boundary:
 *  - A plugin exports one symbol, gearmand_plugin_entry, returning a pointer to a static
 *    GmPluginHeader. The host checks magic, abi_major (equal), abi_minor (the plugin's may not be
 *    newer than the host's), the kind (it must match the file name: libgearmand_queue_<name>.so or
 *    libgearmand_protocol_<name>.so) and vtable_size (at least the v1.0 vtable) before calling
 *    anything else.
 *  - Vtables are append-only: a new minor version may add fields at the end, never reorder or
 *    remove. The host reads only the fields covered by vtable_size.
 *  - Bytes are passed as borrowed GmSlices, valid only for the duration of the call.
 *  - Whoever allocates frees: errors are written into a host-owned GmErrorBuf (truncate to cap and
 *    set len), output bytes are appended through a host-owned GmWriter, requests are handed to a
 *    host-owned GmRequestSink (copied before it returns).
 *  - Every function returns a GmStatus; a plugin never lets an exception or a panic cross the
 *    boundary.
 *  - The host never unloads a plugin.
 *  - Threading: a queue instance is called by one thread at a time (not always the same one). A
 *    protocol instance's conn_open may be called from several I/O threads concurrently; a
 *    connection (conn) is used by one thread at a time.
 *
 * Every function pointer is tagged, as CLAP's headers are, with the thread that calls it:
 *  [main-thread]  the thread that runs main, at startup, before any connection is accepted;
 *  [io-thread]    the I/O thread that owns the connection's socket (with -t 0 the main thread);
 *  [queue-thread] the one thread that holds the queue instance at the time: the host's "queue"
 *                 thread (group commit) while the server runs and the queue writes at submit,
 *                 else the thread that runs the engine; at exit, the engine's thread;
 *  [any-thread]   any thread, several at once;
 *  [in-call]      a host callback: call it only during the plugin call it was passed to, on that
 *                 call's thread;
 * and says who owns what it is passed and returns, and for how long.
 */
#ifndef GEARMAND_PLUGIN_H
#define GEARMAND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the one exported symbol. */
#define GM_ENTRY_SYMBOL "gearmand_plugin_entry"
/* "GMPL" read as a big-endian u32. */
#define GM_PLUGIN_MAGIC 0x474D504Cu
#define GM_ABI_MAJOR 1
#define GM_ABI_MINOR 4

/* Result of every call across the boundary. */
typedef struct GmStatus {
    int32_t code;
} GmStatus;

#define GM_OK 0     /* success */
#define GM_ERROR 1  /* failure; the error buffer holds a message */
#define GM_PANIC 2  /* the plugin caught a panic/exception; the error buffer holds its message */
#define GM_CLOSE 3  /* protocol codecs: close the connection after flushing what was written */

/* What a plugin is. */
typedef struct GmPluginKind {
    uint32_t kind;
} GmPluginKind;

#define GM_KIND_QUEUE 1    /* a persistent queue backend (-q) */
#define GM_KIND_PROTOCOL 2 /* a wire protocol (-r) */

/* A borrowed run of bytes; ptr may be NULL only when len is 0. */
typedef struct GmSlice {
    const uint8_t *ptr;
    size_t len;
} GmSlice;

/* A host-owned buffer the plugin writes an error message into (at most cap bytes; set len). */
typedef struct GmErrorBuf {
    uint8_t *buf;
    size_t cap;
    size_t len;
} GmErrorBuf;

/* One command-line / config option the plugin accepts, e.g. --libsqlite3-db. */
typedef struct GmOptionSpec {
    const char *name;          /* long name without dashes, NUL-terminated */
    const char *help;          /* one line of help */
    const char *default_value; /* passed when the option is absent; NULL = none */
    char short_name;           /* short option character, 0 = none */
    uint8_t takes_value;       /* 1: --x VALUE; 0: a switch, passed as "true" when given */
    const char *alias_of;      /* name of the option this one is another spelling of; NULL = none */
} GmOptionSpec;

/* An option value as resolved by the host (command line, then config file, then default). */
typedef struct GmOptionValue {
    const char *name; /* canonical name (never an alias), NUL-terminated */
    GmSlice value;
} GmOptionValue;

/* The static description a plugin returns from its entry point. */
typedef struct GmPluginHeader {
    uint32_t magic; /* GM_PLUGIN_MAGIC */
    uint16_t abi_major;
    uint16_t abi_minor;
    GmPluginKind kind;
    const char *name;          /* canonical lowercase name: "sqlite", "http" */
    const char *const *aliases; /* other names -q/-r accept, case-insensitively */
    size_t n_aliases;
    const char *version;
    const char *description; /* one line for --help */
    const GmOptionSpec *options;
    size_t n_options;
    const void *vtable; /* GmQueueVtable or GmProtocolVtable according to kind */
    size_t vtable_size; /* sizeof the vtable the plugin was built with */
} GmPluginHeader;

/* Log levels of GmHostApi.log (the Rust log crate's numbering). */
#define GM_LOG_ERROR 1
#define GM_LOG_WARN 2
#define GM_LOG_INFO 3
#define GM_LOG_DEBUG 4
#define GM_LOG_TRACE 5

/* [any-thread] Writes one record into the host's log, attributed to plugin (the plugin's name).
 * plugin and message are borrowed for the call. */
typedef void (*GmLogFn)(void *ctx, uint32_t level, GmSlice plugin, GmSlice message);
/* [any-thread] v1.3: the most detailed GM_LOG_* level the host's log keeps right now. */
typedef uint32_t (*GmMaxLevelFn)(void *ctx);

/* Services the host offers a plugin, handed to create. Host-owned; it and ctx are valid for the
 * life of the process, so a plugin may keep the pointer. */
typedef struct GmHostApi {
    size_t size; /* sizeof(GmHostApi) as the host knows it; append-only */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx;
    /* [any-thread] Writes one record into the host's log. */
    GmLogFn log;
    /* [any-thread] v1.3 (present when size covers it): the most detailed GM_LOG_* level the
     * host's log keeps right now (0: none); records above it are dropped, so skip formatting
     * them. The host sets it at startup from --verbose / -v (the admin verbose command only
     * reports it); ask each time rather than caching, so a host that changes it later is
     * followed. */
    GmMaxLevelFn max_level;
} GmHostApi;

/* [main-thread] Creates an instance from its resolved options, once per started plugin, at
 * startup; stores it in *instance (the plugin's until destroy). host lives for the process;
 * options and what they point to are borrowed for the call. */
typedef GmStatus (*GmCreateFn)(const GmHostApi *host, const GmOptionValue *options,
                               size_t n_options, void **instance, GmErrorBuf *err);
/* Releases an instance; called once, at exit (queue: [queue-thread]; protocol: [any-thread],
 * after the last conn_close). The instance is dead after it. */
typedef void (*GmDestroyFn)(void *instance);

/* ---- Queue plugins ------------------------------------------------------------------------ */

#define GM_PRIORITY_HIGH 0
#define GM_PRIORITY_NORMAL 1
#define GM_PRIORITY_LOW 2

/* One background job as a queue backend stores it. */
typedef struct GmQueueItem {
    GmSlice unique;
    GmSlice function;
    GmSlice data;
    uint32_t priority; /* GM_PRIORITY_* */
    int64_t when;      /* epoch seconds at which the job may run; 0 = now */
} GmQueueItem;

/* [in-call] Called by replay once per stored job; a non-OK status stops the replay. The item and
 * its bytes are the plugin's, borrowed for the callback (the host copies them). */
typedef GmStatus (*GmReplayFn)(void *ctx, const GmQueueItem *item);

/* [in-call] Called by add_batch for each job of the batch refused on its own (a duplicate, say):
 * index is its position in the batch, message a one-line reason borrowed for the call. At most once
 * per index. */
typedef void (*GmAddFailFn)(void *ctx, size_t index, GmSlice message);

/* [queue-thread] Stores a new background job; item and its bytes are borrowed for the call. */
typedef GmStatus (*GmAddFn)(void *instance, const GmQueueItem *item, GmErrorBuf *err);
/* [queue-thread] Makes every add and done so far durable. */
typedef GmStatus (*GmFlushFn)(void *instance, GmErrorBuf *err);
/* [queue-thread] Removes a job; the slices are borrowed for the call. */
typedef GmStatus (*GmDoneFn)(void *instance, GmSlice unique, GmSlice function, GmErrorBuf *err);
/* [main-thread] Replays every stored job, once, at startup; callback and ctx are valid only
 * during the call. */
typedef GmStatus (*GmQueueReplayFn)(void *instance, GmReplayFn callback, void *ctx,
                                    GmErrorBuf *err);
/* [queue-thread] v1.2: many new jobs at once; items are borrowed, report and ctx valid only
 * during the call. */
typedef GmStatus (*GmAddBatchFn)(void *instance, const GmQueueItem *items, size_t n,
                                 GmAddFailFn report, void *ctx, GmErrorBuf *err);
/* [main-thread] v1.4: the GM_QUEUE_* bits that hold for this instance, asked once after
 * create. */
typedef uint32_t (*GmQueueCapsFn)(void *instance);

/* The bits of GmQueueVtable.capabilities (v1.4). */
#define GM_QUEUE_DURABLE 1u           /* jobs survive a restart (else treated like builtin) */
#define GM_QUEUE_STORE_ON_SHUTDOWN 2u /* jobs are stored at shutdown instead of at submit */

/* The queue contract. */
typedef struct GmQueueVtable {
    GmCreateFn create; /* [main-thread] */
    /* [queue-thread] Stores a new background job; durable after the next successful flush. */
    GmAddFn add;
    /* [queue-thread] Makes every add and done so far durable. */
    GmFlushFn flush;
    /* [queue-thread] Removes the job (unique, function); a missing job is not an error. */
    GmDoneFn done;
    /* [main-thread] Calls callback for every stored job, at startup. */
    GmQueueReplayFn replay;
    /* [queue-thread] Shutdown: flush what is left and release the instance. */
    GmDestroyFn destroy;
    /* ---- v1.2 (the host reads it only when vtable_size covers it) ---- */
    /* [queue-thread] Optional: NULL means the host calls add once per job. Stores the n new jobs of
     * items as n calls of add in that order would, each durable after the next successful flush,
     * with fewer round trips. A job refused on its own is reported with report(ctx, index, message)
     * and not stored; the others are unaffected. Returns GM_OK when every job not reported is
     * stored; any other status fails the whole batch (message in err): the host refuses all its
     * jobs, so none of them may become durable. */
    GmAddBatchFn add_batch;
    /* ---- v1.4 (the host reads it only when vtable_size covers it) ---- */
    /* [main-thread] Optional: NULL means the host assumes what it did before 1.4 (see the top of
     * this file). The GM_QUEUE_* bits of this instance, asked once after create; an instance may
     * answer from its options (sqlite's --store-queue-on-shutdown). */
    GmQueueCapsFn capabilities;
} GmQueueVtable;

/* ---- Protocol plugins --------------------------------------------------------------------- */

/* Request and response kinds are gear packet types (1..42) plus these. */
#define GM_KIND_ADMIN_LINE 0x10000u /* request: one admin text line without "\r\n" */
#define GM_KIND_RAW 0x10001u        /* response: raw bytes to send as they are */
/* v1.4. Request: a structured query; args[0] names it ("functions", "workers", "abilities"),
 * further args are reserved. Answered by one GM_KIND_TABLE, or by ERROR UNKNOWN_QUERY or
 * PERMISSION_DENIED, in request order like every immediate reply. */
#define GM_KIND_QUERY 0x10002u
/* v1.4. Response: a table in two args: the column names, then the cells row by row. Each arg is
 * a run of cells, every cell a 4-byte little-endian length and that many bytes (any byte may
 * occur; numbers are decimal text). */
#define GM_KIND_TABLE 0x10003u

/* A request decoded from the wire: a kind and its arguments, trailing data last. */
typedef struct GmRequest {
    uint32_t kind;
    const GmSlice *args;
    size_t n_args;
} GmRequest;

/* The most bytes the arguments of one request may add up to (4095 MiB): the host keeps argument
 * offsets as uint32_t and leaves 1 MiB of room for a job handle added in a reply. The host drops
 * a bigger request and closes its connection; keep a codec's size limits within it. */
#define GM_MAX_REQUEST_BYTES ((size_t)4095 << 20)

/* A response for the wire, shaped like a request. */
typedef GmRequest GmResponse;

/* [in-call] (of conn_decode) Hands one request to the host; the request and its bytes are the
 * plugin's, borrowed for the callback (the host copies them before it returns). */
typedef void (*GmRequestFn)(void *ctx, const GmRequest *request);
/* [in-call] (of conn_decode, conn_encode, conn_timeout) Appends bytes to the host's output;
 * bytes are borrowed for the callback (the host copies or sends them before it returns). */
typedef void (*GmWriteFn)(void *ctx, GmSlice bytes);

/* Where a codec delivers what it decoded. Host-owned, valid only during the conn_decode call it
 * is passed to. */
typedef struct GmRequestSink {
    void *ctx;
    GmRequestFn request;
} GmRequestSink;

/* A host-owned output buffer a codec appends wire bytes to, in as many write calls as it likes
 * (bytes land in call order): a header from a small buffer, then a large payload straight from
 * the response's own argument, saves copying it. Valid only during the call it is passed to. */
typedef struct GmWriter {
    void *ctx;
    GmWriteFn write;
} GmWriter;

/* [main-thread] The port to listen on, at startup; borrowed from the instance until destroy. */
typedef GmSlice (*GmListenPortFn)(void *instance);
/* [io-thread] of the new connection, concurrently with other I/O threads. peer is borrowed for
 * the call; the returned state is the plugin's until conn_close. */
typedef void *(*GmConnOpenFn)(void *instance, GmSlice peer);
/* [io-thread] input, consumed, sink and out are the host's, valid only during the call. */
typedef GmStatus (*GmConnDecodeFn)(void *conn, GmSlice input, size_t *consumed,
                                   const GmRequestSink *sink, const GmWriter *out);
/* [io-thread] response (and its bytes) and out are the host's, valid only during the call. */
typedef GmStatus (*GmConnEncodeFn)(void *conn, const GmResponse *response, const GmWriter *out);
/* [io-thread] once per connection (at exit too, for those still open); conn is dead after it. */
typedef void (*GmConnCloseFn)(void *conn);
/* [io-thread] v1.1. */
typedef int64_t (*GmConnDeadlineFn)(void *conn);
/* [io-thread] v1.1; out is valid only during the call. */
typedef GmStatus (*GmConnTimeoutFn)(void *conn, const GmWriter *out);

/* The protocol contract: a port and, per connection, a codec. The plugin never does I/O. */
typedef struct GmProtocolVtable {
    GmCreateFn create; /* [main-thread] */
    /* [main-thread] The port (number or service name) to listen on, borrowed from the instance;
     * "0" = any. */
    GmListenPortFn listen_port;
    /* [io-thread] A new connection from peer (textual address); returns the codec state, NULL on
     * failure. */
    GmConnOpenFn conn_open;
    /* [io-thread] Decodes whole requests from input into sink, immediate replies onto out; sets
     * *consumed. Returns GM_OK (unconsumed bytes are offered again with more) or GM_CLOSE. */
    GmConnDecodeFn conn_decode;
    /* [io-thread] Encodes one response onto out. Returns GM_OK, or GM_CLOSE to close after
     * flushing. */
    GmConnEncodeFn conn_encode;
    /* [io-thread] The connection is gone; free the codec state. */
    GmConnCloseFn conn_close;
    /* [any-thread] Releases the instance at exit, after every connection's conn_close. */
    GmDestroyFn destroy;
    /* ---- v1.1 (the host reads these only when vtable_size covers them) ---- */
    /* [io-thread] Milliseconds from now until the host should call conn_timeout, or -1 for no
     * deadline. Asked after conn_open and after every conn_decode, conn_encode and conn_timeout;
     * the latest answer wins. Round up: 0 means due now. */
    GmConnDeadlineFn conn_deadline;
    /* [io-thread] The deadline passed (if it is not due yet, return GM_OK and a new deadline). May
     * write last bytes to out. Returns GM_OK to keep the connection or GM_CLOSE to close after
     * flushing. */
    GmConnTimeoutFn conn_timeout;
} GmProtocolVtable;

/* The one symbol every plugin exports: [main-thread] once per file, at startup. Returns a header
 * the plugin owns, valid and unchanged for the life of the process, as is all it points to. */
typedef const GmPluginHeader *(*GmEntryFn)(void);
const GmPluginHeader *gearmand_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* GEARMAND_PLUGIN_H */
