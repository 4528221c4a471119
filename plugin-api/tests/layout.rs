//! Frozen-layout test: `include/gearmand_plugin.h` must describe exactly the structs of `abi/`.
//!
//! A small C program (compiled with the system `cc`) prints the size, alignment and every field
//! offset of every struct, plus the constants; the same facts are computed in Rust and the two
//! lists must be equal. The v1.0 sizes are also asserted as literal numbers, so that appending to
//! a vtable (a new minor version) is a conscious act that updates this file.

use gearmand_plugin_api::abi::*;
use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

/// For each struct: (C source lines printing its layout, the same facts from Rust).
macro_rules! layouts {
    ($($t:ident { $($f:tt),* $(,)? })*) => {{
        let mut c = String::new();
        let mut rust: Vec<(String, usize)> = Vec::new();
        $(
            let t = stringify!($t);
            c += &format!("printf(\"{t} size %zu\\n\", sizeof({t}));\n");
            c += &format!("printf(\"{t} align %zu\\n\", _Alignof({t}));\n");
            rust.push((format!("{t} size"), size_of::<$t>()));
            rust.push((format!("{t} align"), align_of::<$t>()));
            $(
                let f = stringify!($f);
                c += &format!("printf(\"{t}.{f} %zu\\n\", offsetof({t}, {f}));\n");
                rust.push((format!("{t}.{f}"), offset_of!($t, $f)));
            )*
        )*
        (c, rust)
    }};
}

fn c_and_rust_facts() -> (String, Vec<(String, usize)>) {
    let (mut c, mut rust) = layouts! {
        GmStatus { 0 }
        GmPluginKind { 0 }
        GmSlice { ptr, len }
        GmErrorBuf { buf, cap, len }
        GmOptionSpec { name, help, default_value, short_name, takes_value, alias_of }
        GmOptionValue { name, value }
        GmPluginHeader {
            magic, abi_major, abi_minor, kind, name, aliases, n_aliases, version, description,
            options, n_options, vtable, vtable_size
        }
        GmHostApi { size, abi_major, abi_minor, ctx, log, max_level }
        GmQueueItem { unique, function, data, priority, when }
        GmQueueVtable { create, add, flush, done, replay, destroy, add_batch, capabilities }
        GmRequest { kind, args, n_args }
        GmRequestSink { ctx, request }
        GmWriter { ctx, write }
        GmProtocolVtable {
            create, listen_port, conn_open, conn_decode, conn_encode, conn_close, destroy,
            conn_deadline, conn_timeout
        }
    };
    // The tuple-struct field `0` is `code` / `kind` in C.
    c = c
        .replace("offsetof(GmStatus, 0)", "offsetof(GmStatus, code)")
        .replace("offsetof(GmPluginKind, 0)", "offsetof(GmPluginKind, kind)");
    let constants: [(&str, usize); 25] = [
        ("GM_PLUGIN_MAGIC", PLUGIN_MAGIC as usize),
        ("GM_ABI_MAJOR", ABI_MAJOR as usize),
        ("GM_ABI_MINOR", ABI_MINOR as usize),
        ("GM_OK", GmStatus::OK.0 as usize),
        ("GM_ERROR", GmStatus::ERROR.0 as usize),
        ("GM_PANIC", GmStatus::PANIC.0 as usize),
        ("GM_CLOSE", GmStatus::CLOSE.0 as usize),
        ("GM_KIND_QUEUE", GmPluginKind::QUEUE.0 as usize),
        ("GM_KIND_PROTOCOL", GmPluginKind::PROTOCOL.0 as usize),
        ("GM_LOG_ERROR", level::ERROR as usize),
        ("GM_LOG_WARN", level::WARN as usize),
        ("GM_LOG_INFO", level::INFO as usize),
        ("GM_LOG_DEBUG", level::DEBUG as usize),
        ("GM_LOG_TRACE", level::TRACE as usize),
        ("GM_PRIORITY_HIGH", priority::HIGH as usize),
        ("GM_PRIORITY_NORMAL", priority::NORMAL as usize),
        ("GM_PRIORITY_LOW", priority::LOW as usize),
        ("GM_QUEUE_DURABLE", queue_caps::DURABLE as usize),
        (
            "GM_QUEUE_STORE_ON_SHUTDOWN",
            queue_caps::STORE_ON_SHUTDOWN as usize,
        ),
        ("GM_KIND_ADMIN_LINE", kind::ADMIN_LINE as usize),
        ("GM_KIND_RAW", kind::RAW as usize),
        ("GM_KIND_QUERY", kind::QUERY as usize),
        ("GM_KIND_TABLE", kind::TABLE as usize),
        ("GM_MAX_REQUEST_BYTES", MAX_REQUEST_BYTES),
        ("sizeof(GM_ENTRY_SYMBOL)", ENTRY_SYMBOL.len()),
    ];
    for (name, value) in constants {
        c += &format!("printf(\"const {name} %zu\\n\", (size_t)({name}));\n");
        rust.push((format!("const {name}"), value));
    }
    (c, rust)
}

fn header_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// Compiles and runs the C side; returns its "name value" lines as a map.
fn run_c(body: &str) -> BTreeMap<String, usize> {
    let dir = std::env::temp_dir().join(format!("gm-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    let program = format!(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"gearmand_plugin.h\"\n\
         int main(void) {{\n{body}return 0;\n}}\n"
    );
    std::fs::write(&src, program).unwrap();
    let cc = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(header_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("the C compiler `cc` must be installed for the layout test");
    assert!(
        cc.status.success(),
        "compiling the layout program failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn c_header_matches_rust_abi() {
    let (c_src, rust) = c_and_rust_facts();
    let c = run_c(&c_src);
    let rust: BTreeMap<String, usize> = rust.into_iter().collect();
    let mismatches: Vec<String> = rust
        .iter()
        .filter(|(k, v)| c.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: rust {v}, C {:?}", c.get(k)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "C header differs from abi/:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(c.len(), rust.len());
}

#[test]
fn the_header_compiles_as_cplusplus_too() {
    let dir = std::env::temp_dir().join(format!("gm-layout-cxx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("t.c");
    std::fs::write(
        &src,
        "#include \"gearmand_plugin.h\"\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let Ok(out) = Command::new("c++")
        .args(["-x", "c++", "-Wall", "-Werror", "-fsyntax-only", "-I"])
        .arg(header_dir())
        .arg(&src)
        .output()
    else {
        eprintln!("no c++ compiler; skipped");
        return;
    };
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The v1.4 layout, frozen. Appending to a struct is a new minor version: update these numbers
/// and `ABI_MINOR` together, consciously. (1.1 appended two pointers to `GmProtocolVtable`, 1.2
/// one to `GmQueueVtable`, 1.3 one to `GmHostApi`, 1.4 one to `GmQueueVtable`.)
#[cfg(target_pointer_width = "64")]
#[test]
fn v1_4_sizes_are_frozen() {
    assert_eq!(
        size_of::<GmQueueVtable>(),
        64,
        "GmQueueVtable v1.4: the 6 function pointers of v1.0, then add_batch, then capabilities"
    );
    // Append-only: the v1.0 fields keep their offsets and add_batch starts where v1.0 ended.
    assert_eq!(offset_of!(GmQueueVtable, destroy), 40);
    assert_eq!(offset_of!(GmQueueVtable, add_batch), 48);
    assert_eq!(offset_of!(GmQueueVtable, capabilities), 56);
    // Null means "absent" (C plugins that leave it out of their initialiser get null).
    assert_eq!(size_of::<Option<GmAddBatchFn>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<GmQueueCapsFn>>(), size_of::<usize>());
    assert_eq!(
        size_of::<GmProtocolVtable>(),
        72,
        "GmProtocolVtable v1.1: the 7 function pointers of v1.0, then conn_deadline, conn_timeout"
    );
    assert_eq!(offset_of!(GmProtocolVtable, destroy), 48);
    assert_eq!(offset_of!(GmProtocolVtable, conn_deadline), 56);
    assert_eq!(offset_of!(GmProtocolVtable, conn_timeout), 64);
    assert_eq!(size_of::<GmPluginHeader>(), 88);
    assert_eq!(
        size_of::<GmHostApi>(),
        40,
        "GmHostApi v1.3: size, versions, ctx, log, then max_level"
    );
    assert_eq!(offset_of!(GmHostApi, log), 24);
    assert_eq!(offset_of!(GmHostApi, max_level), 32);
    assert_eq!(size_of::<GmOptionSpec>(), 40);
    assert_eq!(size_of::<GmOptionValue>(), 24);
    assert_eq!(size_of::<GmQueueItem>(), 64);
    assert_eq!(size_of::<GmSlice>(), 16);
    assert_eq!(size_of::<GmErrorBuf>(), 24);
    assert_eq!(size_of::<GmRequest>(), 24);
    assert_eq!(size_of::<GmRequestSink>(), 16);
    assert_eq!(size_of::<GmWriter>(), 16);
    assert_eq!((ABI_MAJOR, ABI_MINOR), (1, 4));
}
