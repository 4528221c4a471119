//! Measurements: latency histograms, and the CPU time and memory of the server process and of
//! this load tool itself, from /proc.

use hdrhistogram::Histogram;
use std::time::Duration;

/// Latencies in microseconds, 1 µs .. 60 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Records one latency.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, 60_000_000);
    let _ = h.record(us);
}

/// CPU time and resident memory of a process, read from /proc.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// user + system CPU seconds since the process started.
    pub cpu_secs: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Samples process `pid`; zeros if /proc cannot be read (e.g. not Linux, or the process is gone).
pub fn sample(pid: u32) -> ProcSample {
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu_secs = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may contain spaces.
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / ticks)
        })
        .unwrap_or(0.0);
    let rss_bytes = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0);
    ProcSample {
        cpu_secs,
        rss_bytes,
    }
}

/// The server and this load tool, sampled together before and after a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Samples {
    pub server: ProcSample,
    /// This process: every client and worker thread of the load tool.
    pub client: ProcSample,
}

/// Samples server `pid` (zeros for 0: there is no /proc/0) and this process.
pub fn sample_both(pid: u32) -> Samples {
    Samples {
        server: sample(pid),
        client: sample(std::process::id()),
    }
}

/// How much the server's RSS grew from `before` to `after`, per item (None without a pid).
pub fn grown_per(pid: u32, before: &Samples, after: &Samples, items: u64) -> Option<f64> {
    let grown = after
        .server
        .rss_bytes
        .saturating_sub(before.server.rss_bytes);
    (pid != 0).then(|| grown as f64 / items as f64)
}

/// The outcome of one scenario run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub scenario: String,
    /// Operations per second (jobs, submits, echoes, connections).
    pub rate: f64,
    /// A second rate where the scenario has one (drain rate of background jobs).
    pub rate2: Option<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub server_cpu_secs: f64,
    pub server_rss_bytes: u64,
    /// Server CPU microseconds per operation (None without a server pid).
    pub server_us_per_op: Option<f64>,
    /// The load tool's own CPU microseconds per operation. On a machine whose cores the load
    /// tool shares with the server, this is what bounds any server's rate: even a server that
    /// cost nothing could not go faster than the cores left to the load tool allow.
    pub client_us_per_op: Option<f64>,
    /// Scenario-specific memory figure (bytes per queued job, per idle connection).
    pub bytes_per_item: Option<f64>,
}

impl Outcome {
    /// The CPU and memory fields for a run of `ops` operations between two samples.
    pub fn costs(pid: u32, before: &Samples, after: &Samples, ops: u64) -> Outcome {
        let per_op = |b: &ProcSample, a: &ProcSample| {
            (ops > 0).then(|| (a.cpu_secs - b.cpu_secs) * 1e6 / ops as f64)
        };
        Outcome {
            server_cpu_secs: after.server.cpu_secs - before.server.cpu_secs,
            server_rss_bytes: after.server.rss_bytes,
            server_us_per_op: per_op(&before.server, &after.server).filter(|_| pid != 0),
            client_us_per_op: per_op(&before.client, &after.client),
            ..Outcome::default()
        }
    }

    /// Fills the latency fields from a histogram.
    pub fn with_latency(mut self, h: &Histogram<u64>) -> Outcome {
        if !h.is_empty() {
            self.p50_ms = h.value_at_quantile(0.50) as f64 / 1000.0;
            self.p99_ms = h.value_at_quantile(0.99) as f64 / 1000.0;
            self.p999_ms = h.value_at_quantile(0.999) as f64 / 1000.0;
        }
        self
    }

    /// One machine-readable line: `RESULT key=value ...`.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT scenario={} rate={:.1} rate2={} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} server_cpu_s={:.2} server_rss={} bytes_per_item={} server_us_op={} client_us_op={}",
            self.scenario,
            self.rate,
            opt(self.rate2),
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.server_cpu_secs,
            self.server_rss_bytes,
            self.bytes_per_item.map(|b| format!("{b:.0}")).unwrap_or_else(|| "-".into()),
            opt(self.server_us_per_op),
            opt(self.client_us_per_op),
        )
    }
}

/// A figure with one decimal, or `-` when there is none.
fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}
