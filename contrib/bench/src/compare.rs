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
    /// The `-t` values to try; each scenario is reported at the one with the best median rate.
    pub threads: Vec<u32>,
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

fn start(spec: &ServerSpec, threads: u32, extra: &[String]) -> Result<Running, String> {
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
    .args(["-t", &threads.to_string()])
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

/// Outcomes of one scenario: per server, per `-t` tried (in the order of `ServerSpec::threads`),
/// one per round.
pub type Runs = Vec<Vec<Vec<Outcome>>>;

/// Runs every scenario `rounds` times per server and `-t`, alternating (A, B, A, B, ... and, with
/// several `-t`, every server at one `-t` before the next), and returns the runs per scenario.
pub fn run(
    servers: &[ServerSpec],
    scenarios: &[Scenario],
    rounds: usize,
    (scale, driver): (f64, Driver),
) -> Vec<Runs> {
    // (server, index of its -t, -t) in the order they run within a round.
    let most = servers.iter().map(|s| s.threads.len()).max().unwrap_or(0);
    let order: Vec<(usize, usize, u32)> = (0..most)
        .flat_map(|ti| {
            servers
                .iter()
                .enumerate()
                .filter_map(move |(vi, s)| Some((vi, ti, *s.threads.get(ti)?)))
        })
        .collect();
    let mut results = Vec::new();
    for sc in scenarios {
        let mut runs: Runs = servers
            .iter()
            .map(|s| vec![Vec::new(); s.threads.len()])
            .collect();
        for round in 0..rounds {
            for &(vi, ti, threads) in &order {
                let label = &servers[vi].label;
                eprintln!("{} round {} on {label} -t {threads}", sc.name, round + 1);
                match run_once(&servers[vi], threads, sc, (scale, driver)) {
                    Ok(o) => {
                        eprintln!("\r  {}", o.result_line());
                        runs[vi][ti].push(o);
                    }
                    Err(e) => eprintln!("\r  FAILED: {e}"),
                }
            }
        }
        results.push(runs);
    }
    results
}

/// One run of a scenario on a fresh server.
fn run_once(
    spec: &ServerSpec,
    threads: u32,
    sc: &Scenario,
    (scale, driver): (f64, Driver),
) -> Result<Outcome, String> {
    let extra = (sc.server_args)(spec.is_c);
    let out = start(spec, threads, &extra).and_then(|srv| {
        let params = Params {
            addr: srv.addr.clone(),
            pid: srv.child.id(),
            driver,
            ..sc.scaled(scale)
        };
        let out = (sc.run)(&params);
        drop(srv); // stopped before the cleanup removes its database or files
        out
    });
    (sc.cleanup)();
    let mut o = out?;
    o.scenario = sc.name.to_string();
    Ok(o)
}

/// Per server, the `-t` (index into its `threads`) whose runs have the best median rate.
pub fn best(runs: &Runs) -> Vec<usize> {
    runs.iter()
        .map(|per_t| {
            let rate = |i: &usize| median(per_t[*i].iter().map(|o| o.rate).collect());
            (0..per_t.len())
                .max_by(|a, b| rate(a).unwrap_or(0.0).total_cmp(&rate(b).unwrap_or(0.0)))
                .unwrap_or(0)
        })
        .collect()
}

/// The runs of each server at its best `-t`, per scenario (what the table and chart compare).
pub fn at_best(results: &[Runs]) -> Vec<Vec<Vec<Outcome>>> {
    results
        .iter()
        .map(|runs| {
            let pick = best(runs);
            runs.iter()
                .zip(pick)
                .map(|(per_t, i)| per_t.get(i).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// Which `-t` each server was reported at, a line per scenario, where any server tried several.
pub fn chosen(servers: &[ServerSpec], scenarios: &[Scenario], results: &[Runs]) -> String {
    if servers.iter().all(|s| s.threads.len() < 2) {
        return String::new();
    }
    let mut s = String::from("Best -t per scenario (by median rate):\n");
    for (sc, runs) in scenarios.iter().zip(results) {
        let picks: Vec<String> = servers
            .iter()
            .zip(best(runs))
            .map(|(spec, i)| format!("{} -t {}", spec.label, spec.threads[i]))
            .collect();
        s += &format!("- {}: {}\n", sc.name, picks.join(", "));
    }
    s
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
    /// `servers[0] ÷ servers[1]` for "higher is better" metrics, `servers[1] ÷ servers[0]`
    /// otherwise, so that > 1 always means `servers[0]` is better.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(rs: &[f64]) -> Vec<Outcome> {
        rs.iter()
            .map(|&rate| Outcome {
                rate,
                ..Outcome::default()
            })
            .collect()
    }

    #[test]
    fn each_server_is_reported_at_the_threads_with_the_best_median_rate() {
        // Server 0 tried two -t: the second has the better median (one fast outlier in the
        // first does not count). Server 1 tried one; one of server 2's -t failed every run.
        let runs: Runs = vec![
            vec![rates(&[10.0, 11.0, 90.0]), rates(&[20.0, 21.0, 22.0])],
            vec![rates(&[5.0])],
            vec![Vec::new(), rates(&[1.0])],
        ];
        assert_eq!(best(&runs), vec![1, 0, 1]);
        let picked = at_best(std::slice::from_ref(&runs));
        let medians: Vec<f64> = picked[0].iter().map(|v| v[v.len() / 2].rate).collect();
        assert_eq!(medians, vec![21.0, 5.0, 1.0]);
    }

    #[test]
    fn the_chosen_threads_are_listed_only_when_there_was_a_choice() {
        let spec = |label: &str, threads: Vec<u32>| ServerSpec {
            label: label.into(),
            path: String::new(),
            threads,
            is_c: false,
        };
        let scenarios: Vec<Scenario> = crate::all_scenarios().into_iter().take(1).collect();
        let runs: Runs = vec![vec![rates(&[1.0]), rates(&[2.0])], vec![rates(&[3.0])]];
        let servers = [spec("ours", vec![0, 1]), spec("C", vec![0])];
        let text = chosen(&servers, &scenarios, std::slice::from_ref(&runs));
        assert!(text.contains("- fg-4x4: ours -t 1, C -t 0"), "{text}");
        let one_each = [spec("ours", vec![1]), spec("C", vec![0])];
        assert_eq!(chosen(&one_each, &scenarios, &[runs]), "");
    }
}
