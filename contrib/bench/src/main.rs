//! gearmand-bench: a Gearman load generator that checks every reply, and a side-by-side
//! comparison of two servers (ours and C gearmand).
//!
//! `gearmand-bench run --addr 127.0.0.1:4730 --scenario fg-small` runs one scenario against a
//! server you started; `gearmand-bench compare` starts both servers itself and prints the table.

mod chart;
mod compare;
mod evloop;
mod proto;
mod scenarios;
mod soak;
mod stats;
mod workers;

use clap::{Parser, Subcommand};
use scenarios::{Driver, Params};
use stats::Outcome;

/// A named scenario: its load, the server options it needs, and what to clean up after it.
pub struct Scenario {
    pub name: &'static str,
    pub params: Params,
    pub run: fn(&Params) -> Result<Outcome, String>,
    /// Extra server arguments; the flag says whether the server is C gearmand.
    pub server_args: fn(bool) -> Vec<String>,
    pub cleanup: fn(),
}

impl Scenario {
    /// The parameters with job and connection counts multiplied by `scale` (for quick runs).
    pub fn scaled(&self, scale: f64) -> Params {
        let mut p = self.params.clone();
        p.jobs = ((p.jobs as f64 * scale) as u64).max(p.clients as u64 * 10);
        p.connections = ((p.connections as f64 * scale) as usize).max(10);
        p
    }
}

fn params(clients: usize, workers: usize, inflight: usize, payload: usize, jobs: u64) -> Params {
    Params {
        addr: String::new(),
        pid: 0,
        clients,
        workers,
        inflight,
        payload,
        jobs,
        connections: 0,
        driver: Driver::Threads,
    }
}

fn none(_: bool) -> Vec<String> {
    Vec::new()
}

fn nothing() {}

const SQLITE_DB: &str = "/tmp/gearmand-bench-queue.sqlite";
const PG_TABLE: &str = "gearmand_bench_queue";

fn sqlite_args(is_c: bool) -> Vec<String> {
    let _ = std::fs::remove_file(SQLITE_DB);
    let module = if is_c { "libsqlite3" } else { "sqlite" };
    ["-q", module, "--libsqlite3-db", SQLITE_DB]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn postgres_args(_: bool) -> Vec<String> {
    drop_pg_table();
    let conninfo = "host=127.0.0.1 user=postgres dbname=test";
    [
        "-q",
        "postgres",
        "--libpq-conninfo",
        conninfo,
        "--libpq-table",
        PG_TABLE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn drop_pg_table() {
    let _ = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
        .arg(format!("DROP TABLE IF EXISTS {PG_TABLE}"))
        .output();
}

fn cleanup_sqlite() {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{SQLITE_DB}{suffix}"));
    }
}

/// Every scenario, in the order (plus fg-1x1).
fn all_scenarios() -> Vec<Scenario> {
    let mut idle = params(1, 0, 1, 8, 0);
    idle.connections = 5000;
    let s = |name, params, run, server_args: fn(bool) -> Vec<String>, cleanup: fn()| Scenario {
        name,
        params,
        run,
        server_args,
        cleanup,
    };
    vec![
        s(
            "fg-4x4",
            params(4, 4, 1, 100, 40_000),
            scenarios::foreground,
            none,
            nothing,
        ),
        s(
            "fg-16x8x8",
            params(16, 8, 8, 100, 160_000),
            scenarios::foreground,
            none,
            nothing,
        ),
        s(
            "fg-64k",
            params(4, 4, 1, 65536, 10_000),
            scenarios::foreground,
            none,
            nothing,
        ),
        // Not one of the issue's: light load, where the round trip is all there is.
        s(
            "fg-1x1",
            params(1, 1, 1, 100, 10_000),
            scenarios::foreground,
            none,
            nothing,
        ),
        s(
            "bg-200k",
            params(4, 4, 64, 100, 200_000),
            scenarios::background,
            none,
            nothing,
        ),
        s(
            "deep-1m",
            params(4, 0, 64, 100, 1_000_000),
            scenarios::deep,
            none,
            nothing,
        ),
        s(
            "echo",
            params(4, 0, 64, 100, 200_000),
            scenarios::echo,
            none,
            nothing,
        ),
        s("idle-5k", idle, scenarios::idle, none, nothing),
        s(
            "bg-sqlite",
            params(4, 4, 64, 100, 20_000),
            scenarios::background,
            sqlite_args,
            cleanup_sqlite,
        ),
        s(
            "bg-postgres",
            params(4, 4, 64, 100, 20_000),
            scenarios::background,
            postgres_args,
            drop_pg_table,
        ),
    ]
}

#[derive(Parser)]
#[command(
    name = "gearmand-bench",
    about = "Gearman load generator and server comparison"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one scenario against a running server.
    Run {
        #[arg(long, default_value = "127.0.0.1:4730")]
        addr: String,
        /// Server pid, for CPU and memory figures from /proc.
        #[arg(long, default_value_t = 0)]
        pid: u32,
        #[arg(long)]
        scenario: String,
        /// Multiply job and connection counts (0.1 for a quick run).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// How the load tool drives foreground and echo connections: a thread per connection,
        /// as libgearman does, or one thread for all of them (the tool takes less CPU).
        #[arg(long, value_enum, default_value_t = Driver::Threads)]
        driver: Driver,
    },
    /// Start both servers and compare them, scenario by scenario, alternating runs.
    Compare {
        #[arg(long, default_value = "target/release/gearmand")]
        ours: String,
        #[arg(long, default_value = "/usr/sbin/gearmand")]
        theirs: String,
        /// `-t` for our server: 1 (one I/O thread running the engine inline, the listener on the
        /// main thread) was best on 2 cores — no cross-thread hop per request. A list (`0,1`)
        /// tries each, and each scenario is reported at the one with the best median rate.
        #[arg(long, value_delimiter = ',', default_value = "1")]
        ours_threads: Vec<u32>,
        /// `-t` for C gearmand: 0 (one thread does everything) was its best on 2 cores; a list
        /// as for `--ours-threads`.
        #[arg(long, value_delimiter = ',', default_value = "0")]
        theirs_threads: Vec<u32>,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Comma-separated scenario names (default: all).
        #[arg(long)]
        scenarios: Option<String>,
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Where to write the SVG chart.
        #[arg(long)]
        svg: Option<String>,
        /// How the load tool drives foreground and echo connections: a thread per connection,
        /// as libgearman does, or one thread for all of them (the tool takes less CPU).
        #[arg(long, value_enum, default_value_t = Driver::Threads)]
        driver: Driver,
    },
    /// Mixed load for a long time against a running server; reports RSS over time.
    Soak {
        #[arg(long, default_value = "127.0.0.1:4730")]
        addr: String,
        /// Server pid, for RSS from /proc.
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// Quiet time after the load before the last RSS reading.
        #[arg(long, default_value_t = 30)]
        settle_seconds: u64,
    },
    /// Redraw the SVG chart from a table `compare` printed (saved to a file).
    Chart {
        /// The saved output of `compare` (only its table rows are read).
        #[arg(long)]
        table: String,
        #[arg(long)]
        svg: String,
    },
    /// List the scenarios.
    List,
}

const CHART_TITLE: &str = "gearmand-rs vs C gearmand 1.1.20";

fn raise_fd_limit() {
    let lim = libc::rlimit {
        rlim_cur: 65536,
        rlim_max: 65536,
    };
    // SAFETY: setrlimit reads a valid rlimit struct; failure just leaves the old limit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
}

fn select(names: Option<&str>) -> Result<Vec<Scenario>, String> {
    let all = all_scenarios();
    let Some(names) = names else { return Ok(all) };
    let wanted: Vec<&str> = names.split(',').collect();
    if let Some(bad) = wanted.iter().find(|w| !all.iter().any(|s| s.name == **w)) {
        return Err(format!("unknown scenario {bad}; see `gearmand-bench list`"));
    }
    Ok(all
        .into_iter()
        .filter(|s| wanted.contains(&s.name))
        .collect())
}

fn main() {
    raise_fd_limit();
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::List => {
            for s in all_scenarios() {
                println!("{:12} {:?}", s.name, s.params);
            }
            Ok(())
        }
        Cmd::Soak {
            addr,
            pid,
            minutes,
            settle_seconds,
        } => soak::run(
            &addr,
            pid,
            std::time::Duration::from_secs_f64(minutes * 60.0),
            std::time::Duration::from_secs(settle_seconds),
        ),
        Cmd::Run {
            addr,
            pid,
            scenario,
            scale,
            driver,
        } => select(Some(&scenario)).and_then(|sc| {
            let params = Params {
                addr,
                pid,
                driver,
                ..sc[0].scaled(scale)
            };
            let mut o = (sc[0].run)(&params)?;
            o.scenario = scenario;
            println!("{}", o.result_line());
            Ok(())
        }),
        Cmd::Compare {
            ours,
            theirs,
            ours_threads,
            theirs_threads,
            rounds,
            scenarios,
            scale,
            svg,
            driver,
        } => select(scenarios.as_deref()).and_then(|scs| {
            let servers = [
                compare::ServerSpec {
                    label: "ours".into(),
                    path: ours,
                    threads: ours_threads,
                    is_c: false,
                },
                compare::ServerSpec {
                    label: "C gearmand".into(),
                    path: theirs,
                    threads: theirs_threads,
                    is_c: true,
                },
            ];
            let results = compare::run(&servers, &scs, rounds, (scale, driver));
            let rows = compare::rows(&scs, &compare::at_best(&results));
            println!("{}", compare::table(&servers, &rows));
            print!("{}", compare::chosen(&servers, &scs, &results));
            match svg {
                Some(path) => chart::draw(&path, CHART_TITLE, &chart::Bar::from_rows(&rows)),
                None => Ok(()),
            }
        }),
        Cmd::Chart { table, svg } => std::fs::read_to_string(&table)
            .map_err(|e| format!("{table}: {e}"))
            .and_then(|text| chart::parse_table(&text))
            .and_then(|bars| chart::draw(&svg, CHART_TITLE, &bars)),
    };
    if let Err(e) = result {
        eprintln!("gearmand-bench: {e}");
        std::process::exit(1);
    }
}
