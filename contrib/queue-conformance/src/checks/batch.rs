//! `add_batch` (ABI 1.2, or the host's job-by-job fallback for older plugins): a batch must store
//! what one `add` per job, in order, would store. One batch holds fresh jobs, a job whose key is
//! already stored, and a key twice; each job's result must agree with the store afterwards, in
//! one of the documented duplicate behaviours, key by key.

use super::{verdict, Scope};
use crate::job::Job;
use crate::report::{CheckResult, Outcome};
use crate::session::Session;

/// One batch with duplicates in it and before it.
pub fn batch_add(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let f = scope.function(b"f");
        let first = Job::new(&f, b"k1", b"stored before the batch");
        s.add_all(std::slice::from_ref(&first))?;
        let batch = [
            Job::new(&f, b"k2", b"fresh").priority(0),
            Job::new(&f, b"k1", b"key already stored"),
            Job::new(&f, b"k3", b"first of a key twice in the batch"),
            Job::new(&f, b"k3", b"second of a key twice in the batch").priority(2),
            Job::new(&f, b"k4", b"fresh, after the duplicates").when(2_000_000_000),
        ];
        let results = s.add_batch(&batch)?;
        for i in [0, 2, 4] {
            if let Err(e) = &results[i] {
                return Ok(Outcome::Fail(format!(
                    "add_batch refused {} although its key was new: {e}",
                    batch[i]
                )));
            }
        }
        s.flush()?;
        let got = s.observe(&scope.prefix)?;
        let accepted: Vec<&Job> = std::iter::once(&first)
            .chain(
                batch
                    .iter()
                    .zip(&results)
                    .filter(|(_, r)| r.is_ok())
                    .map(|(j, _)| j),
            )
            .collect();
        if let Some(why) = [&b"k1"[..], b"k2", b"k3", b"k4"]
            .iter()
            .find_map(|k| key_disagrees(k, &accepted, &got))
        {
            return Ok(Outcome::Fail(why));
        }
        s.done_all(&[first, batch[0].clone(), batch[2].clone(), batch[4].clone()])?;
        let refused: Vec<usize> = (0..batch.len()).filter(|&i| results[i].is_err()).collect();
        Ok(Outcome::Pass(match refused.is_empty() {
            true => "5 jobs in one batch, 2 of them duplicates: all accepted and stored".into(),
            false => format!(
                "5 jobs in one batch, 2 of them duplicates: refused job(s) {refused:?}, the \
                 others stored"
            ),
        }))
    };
    vec![verdict(scope.name, run())]
}

/// Whether what is stored under `unique` agrees with the jobs accepted for it (in order): all of
/// them (keep both) or the last one (replace); a refused job is never stored. `None` if it does.
fn key_disagrees(unique: &[u8], accepted: &[&Job], got: &[Job]) -> Option<String> {
    let mut want: Vec<&Job> = accepted
        .iter()
        .copied()
        .filter(|j| j.unique == unique)
        .collect();
    let mut stored: Vec<&Job> = got.iter().filter(|j| j.unique == unique).collect();
    let last = want.last().copied();
    want.sort();
    stored.sort();
    if stored == want || stored == last.into_iter().collect::<Vec<_>>() {
        return None;
    }
    let stored: Vec<String> = stored.iter().map(|j| j.to_string()).collect();
    let want: Vec<String> = want.iter().map(|j| j.to_string()).collect();
    Some(format!(
        "after add_batch, key {} holds [{}] but the jobs accepted for it were [{}] (a backend \
         keeps them all or the last one)",
        String::from_utf8_lossy(unique),
        stored.join(", "),
        want.join(", ")
    ))
}
