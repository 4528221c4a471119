//! The generated man page and completions name every long option `gearmand --help` prints.
//!
//! The help text is produced exactly as the server produces it (`gearmand::config::parse` with
//! `--help`, the server's own registry over the same plugin directory), so this test fails the
//! moment an option is added to the server and the docs would be missing it. The plugins are the
//! ones `cargo build --workspace` put beside the docgen binary (target/debug).

use gearmand::config::{parse, Outcome, Prescan};
use gearmand::plugin::Registry;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !(v.is_empty() || v == "false" || v == "0"))
}

/// target/debug (or wherever cargo put this test's binaries): the workspace's plugins live there.
fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_gearmand-docgen"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
}

/// The workspace's plugins are built by `cargo build --workspace`, not by `cargo test -p
/// gearmand-docgen`; without them, skip loudly (fail under CI).
fn plugins_built(dir: &Path) -> bool {
    let built = dir.join("libgearmand_protocol_gear.so").exists()
        && dir.join("libgearmand_queue_sqlite.so").exists();
    if !built {
        let msg = format!(
            "plugins are not built in {} (run `cargo build --workspace` first)",
            dir.display()
        );
        assert!(!in_ci(), "{msg}");
        eprintln!("\n******** SKIP: {msg} ********\n");
    }
    built
}

/// What `gearmand --plugin-dir DIR --help` prints.
fn server_help(dir: &Path) -> String {
    let args: Vec<OsString> = ["gearmand", "--help"].iter().map(OsString::from).collect();
    let pre = Prescan {
        plugin_dir: Some(dir.to_path_buf()),
        file: None,
    };
    let registry = Registry::discover(&[dir.to_path_buf()]);
    match parse(&args, &pre, &registry).expect("--help parses") {
        Outcome::Print(text) => text,
        other => panic!("--help gave {other:?}"),
    }
}

/// Every `--long-name` in `text`, in order, without duplicates.
fn long_options(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at + 2;
        let len = text[start..]
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            .count();
        let before_ok = i + at == 0 || !bytes[i + at - 1].is_ascii_alphanumeric();
        let name = &text[start..start + len];
        if before_ok && len > 1 && !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
        i = start + len.max(1);
        if i >= text.len() {
            break;
        }
    }
    found
}

/// Whether `text` names `--opt` as a whole word (not as the start of `--opt-more`).
fn mentions(text: &str, opt: &str) -> bool {
    long_options(text).iter().any(|o| o == opt)
}

/// roff source with literal hyphens (`\-`) as `-` and font changes (`\fB`...) removed.
fn plain_roff(roff: &str) -> String {
    let mut text = roff.replace("\\-", "-");
    for font in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        text = text.replace(font, "");
    }
    text
}

struct Generated {
    _dir: TempDir,
    man: String,
    bash: String,
    zsh: String,
    fish: String,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the docgen binary over `plugins` into a fresh directory.
fn generate(plugins: &Path) -> Generated {
    // Tests run in parallel threads of one process: one directory per call.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let out = std::env::temp_dir().join(format!("gearmand-docgen-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_gearmand-docgen"))
        .arg("--plugin-dir")
        .arg(plugins)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run gearmand-docgen");
    assert!(
        run.status.success(),
        "gearmand-docgen failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let read = |rel: &str| std::fs::read_to_string(out.join(rel)).expect(rel);
    Generated {
        man: plain_roff(&read("man/gearmand.8")),
        bash: read("bash/gearmand"),
        zsh: read("zsh/_gearmand"),
        fish: read("fish/gearmand.fish"),
        _dir: TempDir(out),
    }
}

#[test]
fn man_page_and_completions_cover_every_option_of_help() {
    let dir = plugin_dir();
    if !plugins_built(&dir) {
        return;
    }
    let help = server_help(&dir);
    let options = long_options(&help);
    // Sanity: the host's, a plugin's and an alias are all in the help we compare against.
    for expected in [
        "backlog",
        "port",
        "libsqlite3-db",
        "libdrizzle-host",
        "http-port",
    ] {
        assert!(
            options.iter().any(|o| o == expected),
            "--{expected} missing from --help:\n{help}"
        );
    }
    let docs = generate(&dir);
    let missing = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        options.iter().filter(|o| !pred(o)).cloned().collect()
    };
    let man_missing = missing(&|o| mentions(&docs.man, o));
    assert!(man_missing.is_empty(), "man page lacks {man_missing:?}");
    let bash_missing = missing(&|o| mentions(&docs.bash, o));
    assert!(
        bash_missing.is_empty(),
        "bash completion lacks {bash_missing:?}"
    );
    let zsh_missing = missing(&|o| mentions(&docs.zsh, o));
    assert!(
        zsh_missing.is_empty(),
        "zsh completion lacks {zsh_missing:?}"
    );
    // fish names long options without dashes: `complete -c gearmand -l backlog ...`.
    let fish_missing = missing(&|o| {
        docs.fish.contains(&format!(" -l {o} ")) || docs.fish.contains(&format!(" -l {o}\n"))
    });
    assert!(
        fish_missing.is_empty(),
        "fish completion lacks {fish_missing:?}"
    );
}

/// Every short option `--help` lists (`-b, --backlog`, `-v...`), as its letter.
fn short_options(help: &str) -> Vec<char> {
    help.lines()
        .filter_map(|l| {
            let mut c = l.trim_start().strip_prefix('-')?.chars();
            let letter = c.next().filter(char::is_ascii_alphanumeric)?;
            matches!(c.next(), Some(',' | '.' | ' ')).then_some(letter)
        })
        .collect()
}

#[test]
fn man_page_and_completions_cover_every_short_option_of_help() {
    let dir = plugin_dir();
    if !plugins_built(&dir) {
        return;
    }
    let help = server_help(&dir);
    let shorts = short_options(&help);
    // -v has no long name (the 1.0 man page's "Increase verbosity level by one"); --check-args
    // was hidden in 1.1.20.
    assert!(shorts.contains(&'v') && shorts.contains(&'p'), "{shorts:?}");
    assert!(
        mentions(&help, "check-args"),
        "--check-args missing:\n{help}"
    );
    let docs = generate(&dir);
    for c in shorts {
        let man = docs.man.lines().any(|l| {
            l.strip_prefix(&format!("-{c}"))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(", "))
        });
        assert!(man, "man page lacks -{c}");
        let bash = docs.bash.split([' ', '"']).any(|w| w == format!("-{c}"));
        assert!(bash, "bash lacks -{c}");
        let zsh = docs.zsh.contains(&format!("-{c}[")) || docs.zsh.contains(&format!("-{c}+["));
        assert!(zsh, "zsh lacks -{c}");
        assert!(docs.fish.contains(&format!(" -s {c} ")), "fish lacks -{c}");
    }
}

#[test]
fn man_page_is_valid_roff_for_section_8() {
    let dir = plugin_dir();
    if !plugins_built(&dir) {
        return;
    }
    let docs = generate(&dir);
    assert!(docs.man.starts_with(".ie"), "not roff: {}", &docs.man[..80]);
    assert!(
        docs.man.contains(".TH gearmand 8 "),
        "no section-8 title line"
    );
    for section in [
        "SYNOPSIS",
        "DESCRIPTION",
        "INSTALLED PLUGINS",
        "SIGNALS",
        "ENVIRONMENT",
    ] {
        assert!(
            docs.man.contains(&format!(".SH \"{section}\""))
                || docs.man.contains(&format!(".SH {section}")),
            "no {section} section"
        );
    }
    // Plugin headings carry nothing case-sensitive (clap_mangen upper-cases them).
    assert!(
        !docs.man.contains("-R GEAR"),
        "upper-cased selector in a heading"
    );
    // groff, where installed, must render it without warnings.
    let Ok(run) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::fs::File::open(docs._dir.0.join("man/gearmand.8")).unwrap())
        .output()
    else {
        eprintln!("groff not installed; rendering not checked");
        return;
    };
    assert!(run.status.success(), "groff failed");
    let warnings = String::from_utf8_lossy(&run.stderr);
    assert!(warnings.trim().is_empty(), "groff warnings:\n{warnings}");
}

#[test]
fn bash_completion_is_valid_shell() {
    let dir = plugin_dir();
    if !plugins_built(&dir) {
        return;
    }
    let docs = generate(&dir);
    let path = docs._dir.0.join("bash/gearmand");
    let run = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash");
    assert!(
        run.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(docs.zsh.starts_with("#compdef gearmand"), "zsh header");
}

#[test]
fn short_options_reads_the_help_columns() {
    let help = "  -b, --backlog <arg>  x\n  -v...  more -x\n      --ssl  y\n  -p <arg>  z\n";
    assert_eq!(short_options(help), ['b', 'v', 'p']);
}

#[test]
fn long_options_finds_whole_names_only() {
    let text = "  -p, --port <arg>  see --ssl-key and --ssl; not a--b; [alias: --libdrizzle-host]";
    assert_eq!(
        long_options(text),
        ["port", "ssl-key", "ssl", "libdrizzle-host"]
    );
    assert!(mentions(text, "ssl"));
    assert!(!mentions("--ssl-key", "ssl"));
}
