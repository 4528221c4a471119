//! ABI compatibility of the loader: a protocol plugin built for ABI 1.0 (before connection
//! deadlines were appended to the vtable) still loads and works, and an SDK plugin that sets no
//! timers answers "no deadline". The failure cases are in `plugin_loader.rs`.
//!
//! Needs the gear plugin built first (the README's test command builds the workspace).

#[path = "common/loader.rs"]
mod loader;

use gearmand::frame::Frame;
use gearmand::plugin::{Decoded, PluginKind, Registry};
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
    let src = dir.join("oldproto.c");
    std::fs::write(&src, OLD_PROTOCOL).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api/include");
    let out = dir.join(PluginKind::Protocol.file_name("oldproto"));
    let result = Command::new("cc")
        .args(["-shared", "-fPIC", "-std=c11", "-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("`cc` must be installed");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

#[test]
fn a_protocol_plugin_built_for_abi_1_0_still_loads_and_has_no_timers() {
    assert_eq!(gearmand::plugin::PROTOCOL_VTABLE_V1_0, 56);
    assert_eq!(gearmand::plugin::PROTOCOL_VTABLE_V1_1, 72);
    let dir = TempDir::new("oldproto");
    build_old_protocol(dir.path());
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    assert!(reg.failures().is_empty(), "{:?}", reg.failures());
    let meta = reg.find(PluginKind::Protocol, "oldproto").unwrap();
    assert_eq!(meta.version, "1.0");
    let proto = meta.create_protocol(&[]).unwrap();
    let mut codec = proto.open("127.0.0.1:1").unwrap();
    assert_eq!(codec.deadline(), None, "a 1.0 plugin sets no deadline");
    let mut frames = Vec::new();
    let (used, d) = codec.decode(b"status\nsta", &mut |f| frames.push(f), &mut Vec::new());
    assert_eq!((used, d), (7, Decoded::Continue));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].arg(0), b"status");
    let mut out = Vec::new();
    let raw = Frame::with_args(gearmand_plugin_api::abi::kind::RAW, &[b".\n"]);
    assert_eq!(codec.encode(&raw, &mut out), Decoded::Continue);
    assert_eq!(out, b".\n");
    assert_eq!(codec.deadline(), None);
    // The host never calls a timeout it has no function for; if asked, nothing happens.
    assert_eq!(codec.timeout(&mut out), Decoded::Continue);
    assert_eq!(out, b".\n");
}

#[test]
fn an_sdk_plugin_without_timers_answers_no_deadline() {
    let dir = TempDir::new("geartimers");
    install_built(dir.path(), "libgearmand_protocol_gear.so");
    let reg = Registry::discover(&[dir.path().to_path_buf()]);
    let proto = reg
        .find(PluginKind::Protocol, "gear")
        .unwrap()
        .create_protocol(&opts(&[("port", "0")]))
        .unwrap();
    let mut codec = proto.open("127.0.0.1:1").unwrap();
    assert_eq!(codec.deadline(), None);
    codec.decode(b"\0REQ\0\0", &mut |_| {}, &mut Vec::new());
    assert_eq!(codec.deadline(), None, "gear connections never time out");
}
