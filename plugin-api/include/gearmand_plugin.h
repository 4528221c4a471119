/*
 * gearmand_plugin.h — the C ABI between the gearmand host and its plugins, version 1.4.
 *
 * 1.1 appended conn_deadline and conn_timeout to GmProtocolVtable (per-connection timers). A
 * plugin built against 1.0 (vtable_size = 7 pointers) still loads; its connections get no timer.
 * 1.2 appended add_batch to GmQueueVtable (many new jobs in one call). It may be NULL; a plugin
 * built against 1.0 or 1.1 (vtable_size = 6 pointers) still loads; the host then calls add once
 * per job. 1.3 appended max_level to GmHostApi (the host's current log level); plugins built
 * against 1.0-1.2 still load. 1.4 added the request kind GM_KIND_QUERY and its answer
 * GM_KIND_TABLE (the engine's tables as rows and columns, instead of admin text to parse back);
 * no vtable changed, plugins built against 1.0-1.3 still load, and a plugin that sends QUERY is
 * built for 1.4, so only a 1.4 host loads it (no fallback to admin text is needed).
 *
 * This header mirrors plugin-api/src/abi.rs (the source of truth) field for field; the test
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
 *    protocol instance's listen_port and conn_open may be called from any thread concurrently; a
 *    connection (conn) is used by one thread at a time.
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

/* Services the host offers a plugin, handed to create. Valid for the life of the process. */
typedef struct GmHostApi {
    size_t size; /* sizeof(GmHostApi) as the host knows it; append-only */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx;
    /* Writes one record into the host's log, attributed to plugin (the plugin's name). */
    void (*log)(void *ctx, uint32_t level, GmSlice plugin, GmSlice message);
    /* v1.3 (present when size covers it): the most detailed GM_LOG_* level the host's log keeps
     * right now (0: none); records above it are dropped, so skip formatting them. The host sets
     * it at startup from --verbose / -v (the admin verbose command only reports it); ask each
     * time rather than caching, so a host that changes it later is followed. */
    uint32_t (*max_level)(void *ctx);
} GmHostApi;

/* Creates an instance from its resolved options; stores it in *instance. */
typedef GmStatus (*GmCreateFn)(const GmHostApi *host, const GmOptionValue *options,
                               size_t n_options, void **instance, GmErrorBuf *err);
/* Releases an instance; called once, at exit. */
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

/* Called by replay once per stored job; a non-OK status stops the replay. */
typedef GmStatus (*GmReplayFn)(void *ctx, const GmQueueItem *item);

/* Called by add_batch for each job of the batch refused on its own (a duplicate, say): index is
 * its position in the batch, message a one-line reason borrowed for the call. At most once per
 * index. */
typedef void (*GmAddFailFn)(void *ctx, size_t index, GmSlice message);

/* The queue contract. */
typedef struct GmQueueVtable {
    GmCreateFn create;
    /* Stores a new background job; durable after the next successful flush. */
    GmStatus (*add)(void *instance, const GmQueueItem *item, GmErrorBuf *err);
    /* Makes every add and done so far durable. */
    GmStatus (*flush)(void *instance, GmErrorBuf *err);
    /* Removes the job (unique, function); a missing job is not an error. */
    GmStatus (*done)(void *instance, GmSlice unique, GmSlice function, GmErrorBuf *err);
    /* Calls callback for every stored job, at startup. */
    GmStatus (*replay)(void *instance, GmReplayFn callback, void *ctx, GmErrorBuf *err);
    /* Shutdown: flush what is left and release the instance. */
    GmDestroyFn destroy;
    /* ---- v1.2 (the host reads it only when vtable_size covers it) ---- */
    /* Optional: NULL means the host calls add once per job. Stores the n new jobs of items as n
     * calls of add in that order would, each durable after the next successful flush, with fewer
     * round trips. A job refused on its own is reported with report(ctx, index, message) and not
     * stored; the others are unaffected. Returns GM_OK when every job not reported is stored;
     * any other status fails the whole batch (message in err): the host refuses all its jobs, so
     * none of them may become durable. */
    GmStatus (*add_batch)(void *instance, const GmQueueItem *items, size_t n, GmAddFailFn report,
                          void *ctx, GmErrorBuf *err);
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

/* Where a codec delivers what it decoded. */
typedef struct GmRequestSink {
    void *ctx;
    void (*request)(void *ctx, const GmRequest *request);
} GmRequestSink;

/* A host-owned output buffer a codec appends wire bytes to, in as many write calls as it likes
 * (bytes land in call order): a header from a small buffer, then a large payload straight from
 * the response's own argument, saves copying it. */
typedef struct GmWriter {
    void *ctx;
    void (*write)(void *ctx, GmSlice bytes);
} GmWriter;

/* The protocol contract: a port and, per connection, a codec. The plugin never does I/O. */
typedef struct GmProtocolVtable {
    GmCreateFn create;
    /* The port (number or service name) to listen on, borrowed from the instance; "0" = any. */
    GmSlice (*listen_port)(void *instance);
    /* A new connection from peer (textual address); returns the codec state, NULL on failure. */
    void *(*conn_open)(void *instance, GmSlice peer);
    /* Decodes whole requests from input into sink, immediate replies onto out; sets *consumed.
     * Returns GM_OK (unconsumed bytes are offered again with more) or GM_CLOSE. */
    GmStatus (*conn_decode)(void *conn, GmSlice input, size_t *consumed,
                            const GmRequestSink *sink, const GmWriter *out);
    /* Encodes one response onto out. Returns GM_OK, or GM_CLOSE to close after flushing. */
    GmStatus (*conn_encode)(void *conn, const GmResponse *response, const GmWriter *out);
    /* The connection is gone; free the codec state. */
    void (*conn_close)(void *conn);
    GmDestroyFn destroy;
    /* ---- v1.1 (the host reads these only when vtable_size covers them) ---- */
    /* Milliseconds from now until the host should call conn_timeout, or -1 for no deadline.
     * Asked after conn_open and after every conn_decode, conn_encode and conn_timeout; the latest
     * answer wins. Round up: 0 means due now. */
    int64_t (*conn_deadline)(void *conn);
    /* The deadline passed (if it is not due yet, return GM_OK and a new deadline). May write last
     * bytes to out. Returns GM_OK to keep the connection or GM_CLOSE to close after flushing. */
    GmStatus (*conn_timeout)(void *conn, const GmWriter *out);
} GmProtocolVtable;

/* The one symbol every plugin exports. */
typedef const GmPluginHeader *(*GmEntryFn)(void);
const GmPluginHeader *gearmand_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* GEARMAND_PLUGIN_H */
