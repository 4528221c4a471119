//! Side by side: start each server fresh for every run, alternate A, B, A, B, ... per scenario,
//! then print medians, spread and ratios, and draw the ratios as an SVG chart.

use crate::proto::await_listening;
use crate::scenarios::{Driver, Params};
use crate::stats::Outcome;
use crate::Scenario;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One server under test.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub label: String,
    pub path: String,
    pub threads: u32,
    /// `true` for C gearmand (module names differ: libsqlite3 rather than sqlite).
    pub is_c: bool,
}

struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn start(spec: &ServerSpec, extra: &[String]) -> Result<Running, String> {
    let port = free_port();
    let mut cmd = Command::new(&spec.path);
    cmd.args([
        "-p",
        &port.to_string(),
        "-L",
        "127.0.0.1",
        "-l",
        "none",
        "-f",
        "20000",
    ])
    .args(["-t", &spec.threads.to_string()])
    .args(extra)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", spec.path))?;
    let mut running = Running {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    let child = &mut running.child;
    let exited = || match child.try_wait() {
        Ok(Some(status)) => Some(format!("exited at startup: {status}")),
        _ => None,
    };
    await_listening(&running.addr, Duration::from_secs(20), exited)
        .map_err(|e| format!("{}: {e}", spec.label))?;
    Ok(running)
}

/// Runs every scenario `rounds` times per server, alternating, and returns outcomes per
/// (scenario, server).
pub fn run(
    servers: &[ServerSpec],
    scenarios: &[Scenario],
    rounds: usize,
    (scale, driver): (f64, Driver),
) -> Vec<Vec<Vec<Outcome>>> {
    let mut results = vec![vec![Vec::new(); servers.len()]; scenarios.len()];
    for (si, sc) in scenarios.iter().enumerate() {
        for round in 0..rounds {
            for (vi, spec) in servers.iter().enumerate() {
                eprintln!("{} round {} on {}", sc.name, round + 1, spec.label);
                let extra = (sc.server_args)(spec.is_c);
                match start(spec, &extra).and_then(|srv| {
                    let params = Params {
                        addr: srv.addr.clone(),
                        pid: srv.child.id(),
                        driver,
                        ..sc.scaled(scale)
                    };
                    let out = (sc.run)(&params);
                    drop(srv);
                    (sc.cleanup)();
                    out
                }) {
                    Ok(mut o) => {
                        o.scenario = sc.name.to_string();
                        eprintln!("\r  {}", o.result_line());
                        results[si][vi].push(o);
                    }
                    Err(e) => eprintln!("\r  FAILED: {e}"),
                }
            }
        }
    }
    results
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// The figures one table row compares: (label, extractor, higher is better).
type Metric = (&'static str, fn(&Outcome) -> Option<f64>, bool);

const METRICS: &[Metric] = &[
    ("rate/s", |o| Some(o.rate), true),
    ("rate2/s", |o| o.rate2, true),
    ("p99 ms", |o| (o.p99_ms > 0.0).then_some(o.p99_ms), false),
    ("bytes/item", |o| o.bytes_per_item, false),
    ("server µs/op", |o| o.server_us_per_op, false),
    // The load tool's own CPU per operation: what is left of the machine for the server, and
    // so the ceiling of any ratio where both share the cores (contrib/bench/README.md).
    ("client µs/op", |o| o.client_us_per_op, false),
];

/// One row of the comparison: scenario, metric, medians per server, spread, and B/A... ratio.
pub struct Row {
    pub scenario: String,
    pub metric: &'static str,
    pub medians: Vec<f64>,
    pub spreads: Vec<(f64, f64)>,
    /// servers[0] ÷ servers[1] for "higher is better" metrics, servers[1] ÷ servers[0] otherwise,
    /// so that > 1 always means servers[0] is better.
    pub ratio: f64,
}

pub fn rows(scenarios: &[Scenario], results: &[Vec<Vec<Outcome>>]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (si, sc) in scenarios.iter().enumerate() {
        for (name, get, higher) in METRICS {
            let per_server: Vec<Vec<f64>> = results[si]
                .iter()
                .map(|runs| runs.iter().filter_map(get).collect())
                .collect();
            let medians: Option<Vec<f64>> = per_server.iter().cloned().map(median).collect();
            let Some(medians) = medians else { continue };
            let spreads = per_server
                .iter()
                .map(|v| {
                    (
                        v.iter().cloned().fold(f64::MAX, f64::min),
                        v.iter().cloned().fold(0.0, f64::max),
                    )
                })
                .collect();
            let ratio = if medians.len() < 2 {
                1.0
            } else if *higher {
                medians[0] / medians[1]
            } else {
                medians[1] / medians[0]
            };
            rows.push(Row {
                scenario: sc.name.to_string(),
                metric: name,
                medians,
                spreads,
                ratio,
            });
        }
    }
    rows
}

/// A Markdown table (for the terminal and the README).
pub fn table(servers: &[ServerSpec], rows: &[Row]) -> String {
    let mut s = String::from("| scenario | metric |");
    for sv in servers {
        s += &format!(" {} (median, min–max) |", sv.label);
    }
    s += " ratio |\n|---|---|";
    for _ in servers {
        s += "---|";
    }
    s += "---|\n";
    for r in rows {
        s += &format!("| {} | {} |", r.scenario, r.metric);
        for (m, (lo, hi)) in r.medians.iter().zip(&r.spreads) {
            s += &format!(" {} ({}–{}) |", fmt(*m), fmt(*lo), fmt(*hi));
        }
        s += &format!(" {:.2}× |\n", r.ratio);
    }
    s
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
