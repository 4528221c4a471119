//! The server's log: a `log::Log` writing one line per record to the `-l` file, stderr or
//! nowhere, optionally also to syslog (`--syslog`), reopened on SIGHUP for logrotate.
//!
//! Line format: `LEVEL YYYY-MM-DD HH:MM:SS.uuuuuu [thread] target: message`, the level right-
//! aligned in 7 columns like the original's. `--verbose` picks the level: FATAL, ALERT, CRITICAL
//! and ERROR log errors; WARNING warnings; NOTICE and INFO information; DEBUG everything.
//! Plugins log through the host, so their records carry the plugin's name as the target.

use crate::config::{LogTarget, Verbose};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Where records are written.
enum Sink {
    File(File),
    Stderr,
    Off,
}

struct HostLogger {
    /// The file path to reopen on SIGHUP, if logging to a file.
    path: Option<PathBuf>,
    sink: Mutex<Sink>,
    syslog: bool,
}

static LOGGER: OnceLock<HostLogger> = OnceLock::new();

/// Installs the logger. Opening the file may fail: then, like the original, logs go to stderr
/// and the returned message says why (the caller prints it).
pub fn init(target: &LogTarget, verbose: Verbose, syslog: bool) -> Option<String> {
    let (sink, path, warning) = match target {
        LogTarget::Off => (Sink::Off, None, None),
        LogTarget::Stderr => (Sink::Stderr, None, None),
        LogTarget::File(p) => match open(p) {
            Ok(f) => (Sink::File(f), Some(p.clone()), None),
            Err(_) => {
                let cwd = std::env::current_dir().unwrap_or_default();
                let msg = format!(
                    "Could not open log file \"{}\", from \"{}\", switching to stderr.",
                    p.display(),
                    cwd.display()
                );
                (Sink::Stderr, None, Some(msg))
            }
        },
    };
    if syslog {
        // openlog keeps the ident pointer: it must live for the whole process.
        static IDENT: &[u8] = b"gearmand\0";
        // SAFETY: IDENT is a static NUL-terminated string.
        unsafe { libc::openlog(IDENT.as_ptr().cast(), libc::LOG_PID, libc::LOG_USER) };
    }
    let logger = HostLogger {
        path,
        sink: Mutex::new(sink),
        syslog,
    };
    if LOGGER.set(logger).is_ok() {
        let _ = log::set_logger(LOGGER.get().unwrap());
    }
    log::set_max_level(verbose.level_filter());
    warning
}

/// True once the logger is installed and writes somewhere other than stderr.
pub fn is_installed_elsewhere() -> bool {
    LOGGER
        .get()
        .is_some_and(|l| !matches!(*lock(&l.sink), Sink::Stderr))
}

fn open(p: &std::path::Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(p)
}

/// SIGHUP: note it in the current log, then reopen the file (after logrotate moved it).
pub fn reopen() {
    log::info!("SIGHUP, reopening log file");
    let Some(logger) = LOGGER.get() else { return };
    let Some(path) = &logger.path else { return };
    match open(path) {
        Ok(f) => *lock(&logger.sink) = Sink::File(f),
        Err(e) => log::error!("cannot reopen log file {}: {e}", path.display()),
    }
}

fn lock(m: &Mutex<Sink>) -> std::sync::MutexGuard<'_, Sink> {
    // A panic while holding the lock leaves the sink usable; logging must go on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if self.syslog {
            to_syslog(record);
        }
        let mut sink = lock(&self.sink);
        if matches!(*sink, Sink::Off) {
            return;
        }
        let line = format_line(record);
        let _ = match &mut *sink {
            Sink::File(f) => f.write_all(line.as_bytes()),
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Sink::Off => Ok(()),
        };
    }

    fn flush(&self) {
        if let Sink::File(f) = &mut *lock(&self.sink) {
            let _ = f.flush();
        }
    }
}

fn level_name(l: log::Level) -> &'static str {
    match l {
        log::Level::Error => "ERROR",
        log::Level::Warn => "WARNING",
        log::Level::Info => "INFO",
        log::Level::Debug => "DEBUG",
        log::Level::Trace => "TRACE",
    }
}

/// One log line, newline included.
fn format_line(record: &log::Record<'_>) -> String {
    let thread = std::thread::current();
    format!(
        "{:>7} {} [{}] {}: {}\n",
        level_name(record.level()),
        timestamp(),
        thread.name().unwrap_or("?"),
        record.target(),
        record.args()
    )
}

/// Local time `YYYY-MM-DD HH:MM:SS.uuuuuu`.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into the zeroed tm we pass.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_micros()
    )
}

fn to_syslog(record: &log::Record<'_>) {
    let priority = match record.level() {
        log::Level::Error => libc::LOG_ERR,
        log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_INFO,
        log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
    };
    let text = format!("{}: {}", record.target(), record.args()).replace('\0', " ");
    if let Ok(msg) = CString::new(text) {
        // SAFETY: a constant "%s" format with one valid C string argument.
        unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_format() {
        let line = format_line(
            &log::Record::builder()
                .level(log::Level::Info)
                .target("gearmand::runtime")
                .args(format_args!("listening on 127.0.0.1:1 (gear)"))
                .build(),
        );
        // `   INFO 2026-01-02 03:04:05.123456 [name] target: message\n`
        assert!(line.starts_with("   INFO 20"), "{line}");
        assert_eq!(&line[34..35], " ");
        assert!(line[8..34].contains('.'));
        assert!(line.ends_with("] gearmand::runtime: listening on 127.0.0.1:1 (gear)\n"));
        let w = format_line(
            &log::Record::builder()
                .level(log::Level::Warn)
                .args(format_args!("x"))
                .build(),
        );
        assert!(w.starts_with("WARNING "));
    }
}
