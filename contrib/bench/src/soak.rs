//! The soak test: mixed load for a given time, then quiet; reports throughput, errors and the
//! server's RSS over time, and whether memory comes back once the queues have drained.
//!
//! Not part of the test run (it takes minutes by design): `gearmand-bench soak --minutes 10`.

use crate::proto::await_listening;
use crate::scenarios::{background, echo, foreground, Driver, Params};
use crate::stats::sample;
use std::time::{Duration, Instant};

/// One line of the report.
struct Tick {
    at: Duration,
    jobs: u64,
    errors: u64,
    rss: u64,
}

/// Runs rounds of foreground, background and echo load until `total` has passed, then waits
/// `settle` with no load, and prints a table and a verdict on memory.
pub fn run(addr: &str, pid: u32, total: Duration, settle: Duration) -> Result<(), String> {
    // The documented command starts the server in the background just before the soak, so the
    // first rounds would otherwise find nobody listening.
    await_listening(addr, Duration::from_secs(20), || None)?;
    let idle_rss = sample(pid).rss_bytes;
    let start = Instant::now();
    let mut ticks = Vec::new();
    let (mut jobs, mut errors, mut peak) = (0u64, 0u64, idle_rss);
    let base = Params {
        addr: addr.to_string(),
        pid,
        clients: 8,
        workers: 4,
        inflight: 8,
        payload: 512,
        jobs: 20_000,
        connections: 0,
        driver: Driver::Threads,
    };
    let mut round = 0u64;
    while start.elapsed() < total {
        round += 1;
        let p = match round % 3 {
            // Big foreground jobs, by each driver in turn.
            0 => Params {
                payload: 16 * 1024,
                jobs: 4_000,
                driver: [Driver::Threads, Driver::Loop][(round / 3 % 2) as usize],
                ..base.clone()
            },
            _ => base.clone(),
        };
        let run = match round % 3 {
            0 => foreground(&p),
            1 => background(&p),
            _ => echo(&Params {
                inflight: 32,
                ..p.clone()
            }),
        };
        match run {
            Ok(_) => jobs += p.jobs,
            Err(e) => {
                errors += 1;
                eprintln!("\nround {round}: {e}");
            }
        }
        let rss = sample(pid).rss_bytes;
        peak = peak.max(rss);
        ticks.push(Tick {
            at: start.elapsed(),
            jobs,
            errors,
            rss,
        });
        eprint!(
            "\r  soak {:>5.0}s: {jobs} jobs, {errors} errors, RSS {} MiB   ",
            start.elapsed().as_secs_f64(),
            rss >> 20
        );
    }
    std::thread::sleep(settle);
    let after = sample(pid).rss_bytes;
    eprintln!();
    println!("| time s | jobs | errors | server RSS MiB |\n|---|---|---|---|");
    let step = (ticks.len() / 20).max(1);
    for t in ticks.iter().step_by(step).chain(ticks.last()) {
        println!(
            "| {:.0} | {} | {} | {:.1} |",
            t.at.as_secs_f64(),
            t.jobs,
            t.errors,
            t.rss as f64 / 1048576.0
        );
    }
    let secs = start.elapsed().as_secs_f64() - settle.as_secs_f64();
    println!(
        "RESULT soak seconds={:.0} jobs={jobs} jobs_per_s={:.0} errors={errors} idle_rss={} peak_rss={} settled_rss={}",
        secs,
        jobs as f64 / secs,
        idle_rss,
        peak,
        after
    );
    if errors > 0 {
        return Err(format!("{errors} rounds failed"));
    }
    Ok(())
}
