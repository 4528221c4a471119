//! The core of the contract: what is added and flushed comes back, what is done does not, `done`
//! of a missing job succeeds, `destroy` flushes, duplicates are handled in a documented way, a
//! replay stops when the host says so, and restarts neither lose nor duplicate jobs.

use super::{round_trip, verdict, Scope};
use crate::job::{diff, Job};
use crate::report::{CheckResult, Outcome};
use crate::session::Session;

fn three(scope: &Scope) -> Vec<Job> {
    let f = scope.function(b"f");
    vec![
        Job::new(&f, b"a", b"one"),
        Job::new(&f, b"b", b"two"),
        Job::new(&f, b"c", b"three"),
    ]
}

/// Three jobs added and flushed come back after a restart, and only they.
pub fn add_flush_replay(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let jobs = three(scope);
        s.add_all(&jobs)?;
        let got = s.observe(&scope.prefix)?;
        if let Some(d) = diff(&jobs, &got) {
            return Ok(Outcome::Fail(d));
        }
        let order = if got == jobs {
            "in the order they were added"
        } else {
            "in another order than added (allowed)"
        };
        Ok(Outcome::Pass(format!(
            "3 jobs added and flushed came back after a restart, {order}"
        )))
    };
    vec![verdict(scope.name, run())]
}

/// `done` removes exactly the named job.
pub fn done(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let jobs = three(scope);
        s.add_all(&jobs)?;
        s.done_all(&jobs[1..2])?;
        let got = s.observe(&scope.prefix)?;
        let expected = [jobs[0].clone(), jobs[2].clone()];
        Ok(match diff(&expected, &got) {
            Some(d) => Outcome::Fail(format!("after done of one of three jobs, {d}")),
            None => Outcome::Pass("done removed the named job and only it".into()),
        })
    };
    vec![verdict(scope.name, run())]
}

/// `done` of a job that is not stored (never added, or already done) succeeds and removes nothing.
pub fn done_missing(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let f = scope.function(b"f");
        let kept = Job::new(&f, b"kept", b"x");
        let gone = Job::new(&f, b"gone", b"y");
        s.add_all(&[kept.clone(), gone.clone()])?;
        s.done_all(std::slice::from_ref(&gone))?;
        if let Err(e) = s.done_all(&[gone.clone(), Job::new(&f, b"never-added", b"")]) {
            return Ok(Outcome::Fail(format!(
                "done of a job that is not stored must succeed: {e}"
            )));
        }
        let got = s.observe(&scope.prefix)?;
        Ok(match diff(&[kept], &got) {
            Some(d) => Outcome::Fail(format!("done of missing jobs changed the store: {d}")),
            None => Outcome::Pass("done of a never-added and of an already-done job is OK".into()),
        })
    };
    vec![verdict(scope.name, run())]
}

/// `destroy` flushes: an add and a done that were never flushed survive a restart.
pub fn destroy_flushes(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let jobs = three(scope);
        s.add_all(&jobs[..2])?;
        s.add(&jobs[2])?;
        s.done(&jobs[0])?;
        // No flush: observe() destroys the instance, which must flush what is pending.
        let got = s.observe(&scope.prefix)?;
        Ok(match diff(&jobs[1..], &got) {
            Some(d) => Outcome::Fail(format!("an unflushed add and done before destroy: {d}")),
            None => Outcome::Pass("destroy flushed a pending add and a pending done".into()),
        })
    };
    vec![verdict(scope.name, run())]
}

/// A second `add` of the same (unique, function) with a non-empty unique.
pub fn duplicate_add(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let f = scope.function(b"f");
    vec![verdict(scope.name, duplicate(s, scope, &f, b"dup"))]
}

/// The same with an empty unique: two distinct jobs the server never coalesces, so whatever the
/// backend does here decides whether one of them survives a restart.
pub fn duplicate_empty_unique(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let f = scope.function(b"f");
    vec![verdict(scope.name, duplicate(s, scope, &f, b""))]
}

/// What a backend may do with a second add of a stored key: replace it, refuse it with an error,
/// or keep both rows; then `done` must remove every row of the key. Silently ignoring the second
/// add (reporting success but keeping the first job) is a failure: the client was told its job
/// was stored.
fn duplicate(
    s: &mut Session,
    scope: &Scope,
    function: &[u8],
    unique: &[u8],
) -> Result<Outcome, String> {
    let first = Job::new(function, unique, b"first");
    let second = Job::new(function, unique, b"second").priority(0);
    s.add_all(std::slice::from_ref(&first))?;
    let behaviour = match s.add(&second) {
        Err(e) => {
            let got = s.observe(&scope.prefix)?;
            if let Some(d) = diff(std::slice::from_ref(&first), &got) {
                return Ok(Outcome::Fail(format!("after a refused second add, {d}")));
            }
            format!("refuses: the second add failed ({e}) and the first job is kept")
        }
        Ok(()) => {
            s.flush()?;
            let got = s.observe(&scope.prefix)?;
            if diff(std::slice::from_ref(&second), &got).is_none() {
                "replaces: the second add overwrote the first job".to_string()
            } else if diff(&[first.clone(), second.clone()], &got).is_none() {
                "keeps both: replay returns both jobs (neither replace nor refuse)".to_string()
            } else if diff(std::slice::from_ref(&first), &got).is_none() {
                return Ok(Outcome::Fail(
                    "the second add succeeded but was silently dropped (the first job is still stored)"
                        .into(),
                ));
            } else {
                let d = diff(std::slice::from_ref(&second), &got).unwrap_or_default();
                return Ok(Outcome::Fail(format!("after a second add, {d}")));
            }
        }
    };
    s.done_all(std::slice::from_ref(&first))?;
    let left = s.observe(&scope.prefix)?;
    if !left.is_empty() {
        return Ok(Outcome::Fail(format!(
            "{behaviour}; but done of the key left {} job(s), e.g. {}",
            left.len(),
            left[0]
        )));
    }
    Ok(Outcome::Pass(format!("{behaviour}; done removes the key")))
}

/// The replay callback's error stops the replay, the plugin reports it, and nothing is lost.
pub fn replay_stop(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let jobs = three(scope);
        s.add_all(&jobs)?;
        s.restart()?;
        let mut calls = 0usize;
        let result = s.replay_with(&mut |_| {
            calls += 1;
            Err("conformance: the host stops the replay".to_string())
        });
        if result.is_ok() {
            return Ok(Outcome::Fail(
                "replay returned OK although the callback failed".into(),
            ));
        }
        if calls != 1 {
            return Ok(Outcome::Fail(format!(
                "replay went on after the callback failed ({calls} calls)"
            )));
        }
        let got = s.observe(&scope.prefix)?;
        Ok(match diff(&jobs, &got) {
            Some(d) => Outcome::Fail(format!("after a stopped replay, {d}")),
            None => Outcome::Pass(
                "a failing callback stopped the replay with an error; nothing was lost".into(),
            ),
        })
    };
    vec![verdict(scope.name, run())]
}

/// Restarting twice returns the same jobs (replay consumes nothing, duplicates nothing), and a job
/// added after a replay joins them.
pub fn restart_stable(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let mut jobs = three(scope);
        if let Some(d) = round_trip(s, scope, &jobs[..2])? {
            return Ok(Outcome::Fail(d));
        }
        let again = s.observe(&scope.prefix)?;
        if let Some(d) = diff(&jobs[..2], &again) {
            return Ok(Outcome::Fail(format!("on the second restart, {d}")));
        }
        // The instance was just replayed, as at server startup: add to it and restart again.
        s.add_all(&jobs[2..])?;
        let third = s.observe(&scope.prefix)?;
        jobs.truncate(3);
        Ok(match diff(&jobs, &third) {
            Some(d) => Outcome::Fail(format!("after adding to a replayed instance, {d}")),
            None => Outcome::Pass(
                "three restarts in a row: same jobs each time, plus one added after a replay"
                    .into(),
            ),
        })
    };
    vec![verdict(scope.name, run())]
}
