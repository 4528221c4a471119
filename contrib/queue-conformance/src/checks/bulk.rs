//! Many jobs (10,000 by default): added in batches (one `add_batch` and a flush per batch), as
//! the server's group commit does, replayed after a restart, all marked done, and gone after
//! another restart. The result line gives the time of each phase, a rough idea of the backend's
//! cost.

use super::{verdict, Scope};
use crate::job::{diff, Job};
use crate::report::{CheckResult, Outcome};
use crate::session::Session;
use std::time::Instant;

/// Jobs per `add_batch` and flush, like a busy server's group commit.
const BATCH: usize = 100;

fn jobs(scope: &Scope) -> Vec<Job> {
    let f = scope.function(b"f");
    (0..scope.jobs)
        .map(|i| {
            let job = Job::new(
                &f,
                format!("u{i}").as_bytes(),
                format!("data {i}").as_bytes(),
            )
            .priority((i % 3) as u32);
            // Every tenth job is an epoch job, so `when` is exercised at volume too.
            match i % 10 {
                0 => job.when(4_102_444_800 + i as i64),
                _ => job,
            }
        })
        .collect()
}

/// Adds, replays and removes `scope.jobs` jobs.
pub fn many_jobs(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let jobs = jobs(scope);
        let started = Instant::now();
        for batch in jobs.chunks(BATCH) {
            s.add_all_batched(batch)?;
        }
        let added = started.elapsed();
        let started = Instant::now();
        let got = s.observe(&scope.prefix)?;
        let replayed = started.elapsed();
        if let Some(d) = diff(&jobs, &got) {
            return Ok(Outcome::Fail(d));
        }
        let started = Instant::now();
        for batch in jobs.chunks(BATCH) {
            s.done_all(batch)?;
        }
        let done = started.elapsed();
        let left = s.observe(&scope.prefix)?;
        if let Some(j) = left.first() {
            return Ok(Outcome::Fail(format!(
                "{} of {} jobs left after done, e.g. {j}",
                left.len(),
                jobs.len()
            )));
        }
        Ok(Outcome::Pass(format!(
            "{} jobs: add_batch+flush {:.2}s, restart+replay {:.2}s, done+flush {:.2}s",
            jobs.len(),
            added.as_secs_f64(),
            replayed.as_secs_f64(),
            done.as_secs_f64()
        )))
    };
    vec![verdict(scope.name, run())]
}
