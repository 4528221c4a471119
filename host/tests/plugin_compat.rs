//! ABI compatibility of the loader: a protocol plugin built for ABI 1.0 (before connection
//! deadlines were appended to the vtable) still loads and works, and an SDK plugin that sets no
//! timers answers "no deadline"; a queue plugin built for ABI 1.1 (before `add_batch`), or one
//! whose `add_batch` is null, gets batches job by job through `add`, and a 1.2 plugin's
//! `add_batch` gets the whole batch and reports refusals per job; a queue plugin built for ABI 1.3
//! (before capabilities) keeps what the host always assumed, and a 1.4 plugin's declared
//! capabilities win over its options. The failure cases are in `plugin_loader.rs`.
//!
//! Needs the gear plugin built first (the README's test command builds the workspace).

#[path = "common/loader.rs"]
mod loader;

use gearmand::config::Kind;
use gearmand::frame::Frame;
use gearmand::plugin::Registry;
use gearmand::queue::{QueueStore, StoredJob};
use gearmand::runtime::wire::{Next, WireProtocol};
use loader::{install_built, opts, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A protocol plugin built against ABI 1.0: its header says minor 0 and its vtable has the seven
/// v1.0 functions only (declared here as the 1.0 header declared them). Every whole line it
/// receives is an admin line; responses are written as their first argument.
const OLD_PROTOCOL: &str = r#"
#include "gearmand_plugin.h"
typedef struct {
    GmCreateFn create;
    GmSlice (*listen_port)(void *instance);
    void *(*conn_open)(void *instance, GmSlice peer);
    GmStatus (*conn_decode)(void *conn, GmSlice input, size_t *consumed,
                            const GmRequestSink *sink, const GmWriter *out);
    GmStatus (*conn_encode)(void *conn, const GmResponse *response, const GmWriter *out);
    void (*conn_close)(void *conn);
    GmDestroyFn destroy;
} VtableV1_0;
static int instance_token, conn_token;
static GmStatus ok(void) { GmStatus s = { GM_OK }; return s; }
static GmStatus create(const GmHostApi *h, const GmOptionValue *o, size_t n, void **inst,
                       GmErrorBuf *e) {
    (void)h; (void)o; (void)n; (void)e;
    *inst = &instance_token;
    return ok();
}
static GmSlice port(void *i) { (void)i; GmSlice s = { (const uint8_t *)"0", 1 }; return s; }
static void *conn_open(void *i, GmSlice p) { (void)i; (void)p; return &conn_token; }
static GmStatus decode(void *c, GmSlice in, size_t *consumed, const GmRequestSink *sink,
                       const GmWriter *out) {
    (void)c; (void)out;
    size_t start = 0;
    for (size_t i = 0; i < in.len; i++) {
        if (in.ptr[i] == '\n') {
            GmSlice line = { in.ptr + start, i - start };
            GmRequest r = { GM_KIND_ADMIN_LINE, &line, 1 };
            sink->request(sink->ctx, &r);
            start = i + 1;
        }
    }
    *consumed = start;
    return ok();
}
static GmStatus encode(void *c, const GmResponse *r, const GmWriter *out) {
    (void)c;
    if (r->n_args > 0) out->write(out->ctx, r->args[0]);
    return ok();
}
static void conn_close(void *c) { (void)c; }
static void destroy(void *i) { (void)i; }
static const VtableV1_0 vt = { create, port, conn_open, decode, encode, conn_close, destroy };
static const GmPluginHeader header = {
    GM_PLUGIN_MAGIC, GM_ABI_MAJOR, 0, { GM_KIND_PROTOCOL }, "oldproto", NULL, 0, "1.0",
    "a protocol built for ABI 1.0", NULL, 0, &vt, sizeof(VtableV1_0)
};
const GmPluginHeader *gearmand_plugin_entry(void) { return &header; }
"#;

/// Builds `libgearmand_protocol_oldproto.so` in `dir` from [`OLD_PROTOCOL`].
pub fn build_old_protocol(dir: &Path) -> PathBuf {
    let out = dir.join(Kind::Protocol.file_name("oldproto"));
    build_c(dir, "oldproto", OLD_PROTOCOL, &[], &out);
    out
}

/// Compiles `source` into the shared object `out` against the ABI header, with `-D` `defines`.
fn build_c(dir: &Path, name: &str, source: &str, defines: &[&str], out: &Path) {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api/include");
    let mut cc = Command::new("cc");
    cc.args(["-shared", "-fPIC", "-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .args(defines.iter().map(|d| format!("-D{d}")));
    let result = cc
        .arg(&src)
        .arg("-o")
        .arg(out)
        .output()
        .expect("`cc` must be installed");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn a_protocol_plugin_built_for_abi_1_0_still_loads_and_has_no_timers() {
    assert_eq!(gearmand::plugin::PROTOCOL_VTABLE_V1_0, 56);
    assert_eq!(gearmand::plugin::PROTOCOL_VTABLE_V1_1, 72);
    let dir = TempDir::new("oldproto");
    build_old_protocol(dir.path());
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    assert!(reg.failures().is_empty(), "{:?}", reg.failures());
    let meta = reg.find(Kind::Protocol, "oldproto").unwrap();
    assert_eq!(meta.info.version, "1.0");
    let proto = meta.create_protocol(&[]).unwrap();
    let mut codec = proto.open("127.0.0.1:1").unwrap();
    assert_eq!(codec.deadline(), None, "a 1.0 plugin sets no deadline");
    let mut frames = Vec::new();
    let (used, d) = codec.decode(b"status\nsta", &mut |f| frames.push(f), &mut Vec::new());
    assert_eq!((used, d), (7, Next::Continue));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].arg(0), b"status");
    let mut out = Vec::new();
    let raw = Frame::with_args(gearmand_plugin_api::abi::kind::RAW, &[b".\n"]);
    assert_eq!(codec.encode(&raw, &mut out), Next::Continue);
    assert_eq!(out, b".\n");
    assert_eq!(codec.deadline(), None);
    // The host never calls a timeout it has no function for; if asked, nothing happens.
    assert_eq!(codec.timeout(&mut out), Next::Continue);
    assert_eq!(out, b".\n");
}

#[test]
fn an_sdk_plugin_without_timers_answers_no_deadline() {
    let dir = TempDir::new("geartimers");
    install_built(dir.path(), "libgearmand_protocol_gear.so");
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let proto = reg
        .find(Kind::Protocol, "gear")
        .unwrap()
        .create_protocol(&opts(&[("port", "0")]))
        .unwrap();
    let mut codec = proto.open("127.0.0.1:1").unwrap();
    assert_eq!(codec.deadline(), None);
    codec.decode(b"\0REQ\0\0", &mut |_| {}, &mut Vec::new());
    assert_eq!(codec.deadline(), None, "gear connections never time out");
}

/// A queue plugin in C whose `add` refuses jobs with data `dup` ("refused by add"). Built with
/// `-DOLD` it is an ABI 1.1 plugin (minor 1, the six v1.0 functions as the 1.1 header declared
/// them); with `-DBATCH` a 1.2 one with an `add_batch` that refuses `dup` jobs through the report
/// callback ("refused by add_batch", their unique appended) and fails a batch holding a `fail`
/// job whole; with `-DOLD13` a 1.3 one (the seven functions before `capabilities`); with
/// `-DCAPS=bits` a 1.4 one whose `capabilities` answers `bits`; with none of them, a 1.1 source
/// rebuilt against the newest header (`add_batch` and `capabilities` left out of the
/// initialiser, so null).
const QUEUE: &str = r#"
#include <string.h>
#include "gearmand_plugin.h"
static int token;
static GmStatus status(int code) { GmStatus s = { code }; return s; }
static GmStatus fail_with(GmErrorBuf *e, const char *msg) {
    size_t len = strlen(msg);
    if (len > e->cap) len = e->cap;
    memcpy(e->buf, msg, len);
    e->len = len;
    return status(GM_ERROR);
}
static int is(GmSlice s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}
static GmStatus create(const GmHostApi *h, const GmOptionValue *o, size_t n, void **inst,
                       GmErrorBuf *e) {
    (void)h; (void)o; (void)n; (void)e;
    *inst = &token;
    return status(GM_OK);
}
static GmStatus add(void *i, const GmQueueItem *it, GmErrorBuf *e) {
    (void)i;
    return is(it->data, "dup") ? fail_with(e, "refused by add") : status(GM_OK);
}
static GmStatus flush(void *i, GmErrorBuf *e) { (void)i; (void)e; return status(GM_OK); }
static GmStatus done(void *i, GmSlice u, GmSlice f, GmErrorBuf *e) {
    (void)i; (void)u; (void)f; (void)e;
    return status(GM_OK);
}
static GmStatus replay(void *i, GmReplayFn cb, void *c, GmErrorBuf *e) {
    (void)i; (void)cb; (void)c; (void)e;
    return status(GM_OK);
}
static void destroy(void *i) { (void)i; }
#ifdef OLD
typedef struct {
    GmCreateFn create;
    GmStatus (*add)(void *instance, const GmQueueItem *item, GmErrorBuf *err);
    GmStatus (*flush)(void *instance, GmErrorBuf *err);
    GmStatus (*done)(void *instance, GmSlice unique, GmSlice function, GmErrorBuf *err);
    GmStatus (*replay)(void *instance, GmReplayFn callback, void *ctx, GmErrorBuf *err);
    GmDestroyFn destroy;
} VtableV1_1;
static const VtableV1_1 vt = { create, add, flush, done, replay, destroy };
#define MINOR 1
#elif defined(BATCH)
static GmStatus add_batch(void *i, const GmQueueItem *items, size_t n, GmAddFailFn report,
                          void *ctx, GmErrorBuf *e) {
    (void)i;
    for (size_t k = 0; k < n; k++)
        if (is(items[k].data, "fail")) return fail_with(e, "the whole batch failed");
    for (size_t k = 0; k < n; k++) {
        if (!is(items[k].data, "dup")) continue;
        char msg[64] = "refused by add_batch ";
        size_t len = strlen(msg);
        if (items[k].unique.len < sizeof msg - len) {
            memcpy(msg + len, items[k].unique.ptr, items[k].unique.len);
            len += items[k].unique.len;
        }
        GmSlice m = { (const uint8_t *)msg, len };
        report(ctx, k, m);
    }
    return status(GM_OK);
}
static const GmQueueVtable vt = { create, add, flush, done, replay, destroy, add_batch };
#define MINOR GM_ABI_MINOR
#elif defined(OLD13)
typedef struct {
    GmCreateFn create;
    GmAddFn add;
    GmFlushFn flush;
    GmDoneFn done;
    GmQueueReplayFn replay;
    GmDestroyFn destroy;
    GmAddBatchFn add_batch;
} VtableV1_3;
static const VtableV1_3 vt = { create, add, flush, done, replay, destroy, NULL };
#define MINOR 3
#elif defined(CAPS)
static uint32_t capabilities(void *i) { (void)i; return CAPS; }
static const GmQueueVtable vt = { create, add, flush, done, replay, destroy, NULL, capabilities };
#define MINOR GM_ABI_MINOR
#else
/* A 1.1 source rebuilt against the 1.2 header: add_batch is left out, so it is NULL. */
static const GmQueueVtable vt = { create, add, flush, done, replay, destroy };
#define MINOR GM_ABI_MINOR
#endif
static const GmPluginHeader header = {
    GM_PLUGIN_MAGIC, GM_ABI_MAJOR, MINOR, { GM_KIND_QUEUE }, NAME, NULL, 0, "1.x",
    "a queue for add_batch compatibility", NULL, 0, &vt, sizeof vt
};
const GmPluginHeader *gearmand_plugin_entry(void) { return &header; }
"#;

/// Builds the [`QUEUE`] plugin `name` with `defines` and finds it.
fn build_queue(dir: &Path, name: &str, defines: &[&str]) -> Registry {
    let mut defines = defines.to_vec();
    let name_define = format!("NAME=\"{name}\"");
    defines.push(&name_define);
    let out = dir.join(Kind::Queue.file_name(name));
    build_c(dir, name, QUEUE, &defines, &out);
    let reg = Registry::discover(&[dir.to_path_buf()]);
    assert!(reg.failures().is_empty(), "{:?}", reg.failures());
    reg
}

/// Builds the [`QUEUE`] plugin `name` with `defines` and creates an instance of it.
fn queue(dir: &Path, name: &str, defines: &[&str]) -> Box<dyn QueueStore> {
    let reg = build_queue(dir, name, defines);
    reg.find(Kind::Queue, name)
        .unwrap()
        .create_queue(&[])
        .unwrap()
}

/// (durable, stores on shutdown) of an instance of `name` in `reg` created with `options`.
fn capabilities(reg: &Registry, name: &str, options: &[(&str, &str)]) -> (bool, bool) {
    let q = reg
        .find(Kind::Queue, name)
        .unwrap()
        .create_queue(&opts(options))
        .unwrap();
    (q.durable(), q.store_on_shutdown())
}

/// `add_batch` of jobs with these datas: the per-job results, errors as their messages.
fn add_batch(queue: &mut dyn QueueStore, datas: &[&str]) -> Vec<Result<(), String>> {
    let uniques: Vec<String> = (0..datas.len()).map(|i| format!("u{i}")).collect();
    let jobs: Vec<StoredJob<'_>> = datas
        .iter()
        .zip(&uniques)
        .map(|(data, unique)| StoredJob {
            unique: unique.as_bytes(),
            function: b"f",
            data: data.as_bytes(),
            priority: 1,
            when: 0,
        })
        .collect();
    queue.add_batch(&jobs)
}

#[test]
fn a_queue_plugin_built_for_abi_1_1_gets_batches_job_by_job() {
    assert_eq!(gearmand::plugin::QUEUE_VTABLE_V1_0, 48);
    assert_eq!(gearmand::plugin::QUEUE_VTABLE_V1_2, 56);
    let dir = TempDir::new("oldqueue");
    let mut q = queue(dir.path(), "oldqueue", &["OLD"]);
    let results = add_batch(q.as_mut(), &["a", "dup", "b"]);
    assert_eq!(results, [Ok(()), Err("refused by add".into()), Ok(())]);
    assert_eq!(add_batch(q.as_mut(), &[]), []);
    q.flush().unwrap();
    q.shutdown();
}

#[test]
fn a_null_add_batch_means_job_by_job() {
    let dir = TempDir::new("nullbatch");
    let mut q = queue(dir.path(), "nullbatch", &[]);
    let results = add_batch(q.as_mut(), &["dup", "a"]);
    assert_eq!(results, [Err("refused by add".into()), Ok(())]);
}

#[test]
fn add_batch_gets_the_whole_batch_and_refusals_per_job() {
    let dir = TempDir::new("newqueue");
    let mut q = queue(dir.path(), "newqueue", &["BATCH"]);
    let results = add_batch(q.as_mut(), &["a", "dup", "b", "dup"]);
    let refused = |u: &str| Err(format!("refused by add_batch {u}"));
    assert_eq!(results, [Ok(()), refused("u1"), Ok(()), refused("u3")]);
    // A failed batch refuses every job with the plugin's message.
    let results = add_batch(q.as_mut(), &["a", "fail"]);
    let failed = Err("the whole batch failed".to_string());
    assert_eq!(results, [failed.clone(), failed]);
    // One job alone still goes through add_batch (its message says so).
    assert_eq!(add_batch(q.as_mut(), &["dup"]), [refused("u0")]);
}

#[test]
fn a_queue_plugin_built_for_abi_1_3_keeps_the_assumed_capabilities() {
    assert_eq!(gearmand::plugin::QUEUE_VTABLE_V1_4, 64);
    let dir = TempDir::new("queue13");
    let reg = build_queue(dir.path(), "queue13", &["OLD13"]);
    assert_eq!(capabilities(&reg, "queue13", &[]), (true, false));
    let on = [("store-queue-on-shutdown", "true")];
    assert_eq!(capabilities(&reg, "queue13", &on), (true, true));
    let off = [("store-queue-on-shutdown", "false")];
    assert_eq!(capabilities(&reg, "queue13", &off), (true, false));
    // A 1.4 plugin that leaves `capabilities` null is treated the same way.
    let dir = TempDir::new("nullcaps");
    let reg = build_queue(dir.path(), "nullcaps", &[]);
    assert_eq!(capabilities(&reg, "nullcaps", &on), (true, true));
}

#[test]
fn declared_capabilities_win_over_the_options() {
    let on = [("store-queue-on-shutdown", "true")];
    let dir = TempDir::new("capsdurable");
    let reg = build_queue(dir.path(), "capsdurable", &["CAPS=GM_QUEUE_DURABLE"]);
    assert_eq!(capabilities(&reg, "capsdurable", &on), (true, false));
    let dir = TempDir::new("capsvolatile");
    let reg = build_queue(
        dir.path(),
        "capsvolatile",
        &["CAPS=GM_QUEUE_STORE_ON_SHUTDOWN"],
    );
    assert_eq!(capabilities(&reg, "capsvolatile", &[]), (false, true));
}
