//! Keys and payloads that break naive backends: NUL bytes, empty fields, quotes, backslashes,
//! spaces, separators, non-UTF-8 bytes, a 64-byte unique (the protocol's maximum), 100 KB of data;
//! keys that differ only in where a separator falls; every priority; epoch `when` values.

use super::{round_trip, verdict, Scope};
use crate::job::{diff, Job};
use crate::report::{CheckResult, Outcome};
use crate::session::{now, Session};

/// One odd job: its name in the results, its unique, the tail of its function name, its data.
struct Case {
    name: &'static str,
    unique: Vec<u8>,
    function_tail: &'static [u8],
    data: Vec<u8>,
}

fn case(name: &'static str, unique: &[u8], function_tail: &'static [u8], data: &[u8]) -> Case {
    Case {
        name,
        unique: unique.to_vec(),
        function_tail,
        data: data.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let all_bytes: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    vec![
        case("data-nul", b"u", b"", b"\0bin\0ary\xff\0"),
        case("data-empty", b"u", b"", b""),
        case("data-100k", b"u", b"", &all_bytes),
        case("unique-empty", b"", b"", b"empty unique"),
        case("unique-dash", b"a-b-c", b"", b"d"),
        case("unique-quote", b"it's", b"", b"d"),
        case("unique-backslash", b"back\\slash\\", b"", b"d"),
        case("unique-space", b" lead mid trail ", b"", b"d"),
        case("unique-non-utf8", b"\xff\xfe\x80u\xc3", b"", b"d"),
        case(
            "unique-sql",
            b"x'); DROP TABLE gearman_queue; --",
            b"",
            b"d",
        ),
        case("unique-64-bytes", &[b'u'; 64], b"", b"d"),
        case("function-dash", b"u", b"-fn-x-", b"d"),
        case("function-quote", b"u", b"fn'x", b"d"),
        case("function-backslash", b"u", b"fn\\x\\", b"d"),
        case("function-space", b"u", b"fn x ", b"d"),
        case("function-non-utf8", b"u", b"fn\xff\xfe\x80", b"d"),
    ]
}

/// Every odd case is added, flushed and replayed after a restart; one result line per case, and
/// a last one for `done` of all of them.
pub fn odd_keys(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let cases = cases();
    let jobs: Vec<Job> = cases
        .iter()
        .map(|c| {
            // Each case has a function of its own, so the empty unique collides with nothing.
            let mut tail = c.name.as_bytes().to_vec();
            tail.extend_from_slice(c.function_tail);
            Job::new(&scope.function(&tail), &c.unique, &c.data)
        })
        .collect();
    let name = |c: &Case| format!("{}/{}", scope.name, c.name);
    let mut results = Vec::new();
    let mut added = Vec::new();
    for (c, job) in cases.iter().zip(&jobs) {
        match s.add(job) {
            Ok(()) => added.push(job.clone()),
            Err(e) => results.push(CheckResult::new(name(c), Outcome::Fail(e))),
        }
    }
    let got = s.flush().and_then(|()| s.observe(&scope.prefix));
    let got = match got {
        Ok(got) => got,
        Err(e) => {
            results.push(CheckResult::new(scope.name, Outcome::Fail(e)));
            return results;
        }
    };
    for (c, job) in cases.iter().zip(&jobs) {
        if added.contains(job) {
            results.push(CheckResult::new(name(c), compare_one(job, &got)));
        }
    }
    results.push(verdict(
        &format!("{}/done-all", scope.name),
        done_all(s, scope, &added),
    ));
    results
}

/// Whether `job` came back exactly once and unchanged.
fn compare_one(job: &Job, got: &[Job]) -> Outcome {
    let same_key: Vec<&Job> = got.iter().filter(|g| g.key() == job.key()).collect();
    match same_key.as_slice() {
        [] => Outcome::Fail(format!("{job} was not replayed")),
        [one] if *one == job => Outcome::Pass("round-trips".into()),
        [one] => Outcome::Fail(format!("{job} came back as {one}")),
        many => Outcome::Fail(format!("{job} came back {} times", many.len())),
    }
}

fn done_all(s: &mut Session, scope: &Scope, jobs: &[Job]) -> Result<Outcome, String> {
    s.done_all(jobs)?;
    let left = s.observe(&scope.prefix)?;
    Ok(match left.first() {
        None => Outcome::Pass(format!("done removed all {} odd jobs", jobs.len())),
        Some(j) => Outcome::Fail(format!("{} jobs left after done, e.g. {j}", left.len())),
    })
}

/// Keys that only differ in where a `-`, `:` or space falls (a backend that stores
/// `function-unique` as one string must still keep them apart); `done` of one leaves the others.
pub fn distinct_keys(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let mut jobs = Vec::new();
        for sep in [b'-', b':', b' '] {
            let f = |tail: &[u8]| scope.function(tail);
            jobs.push(Job::new(&f(&[b'a', sep, b'b']), b"c", &[sep, b'1']));
            jobs.push(Job::new(&f(b"a"), &[b'b', sep, b'c'], &[sep, b'2']));
        }
        if let Some(d) = round_trip(s, scope, &jobs)? {
            return Ok(Outcome::Fail(d));
        }
        let gone = jobs.remove(0);
        s.done_all(std::slice::from_ref(&gone))?;
        let got = s.observe(&scope.prefix)?;
        Ok(match diff(&jobs, &got) {
            Some(d) => Outcome::Fail(format!("after done of {gone}: {d}")),
            None => Outcome::Pass(
                "(a-b, c) and (a, b-c) style keys stay apart through add, replay and done".into(),
            ),
        })
    };
    vec![verdict(scope.name, run())]
}

/// Priorities 0, 1 and 2 round-trip.
pub fn priorities(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let f = scope.function(b"f");
        let jobs: Vec<Job> = (0..3u32)
            .map(|p| Job::new(&f, format!("p{p}").as_bytes(), b"d").priority(p))
            .collect();
        Ok(match round_trip(s, scope, &jobs)? {
            Some(d) => Outcome::Fail(d),
            None => Outcome::Pass("priorities 0 (high), 1 (normal), 2 (low) round-trip".into()),
        })
    };
    vec![verdict(scope.name, run())]
}

/// Epoch jobs keep their `when`: long past, in an hour, after 2038, with a high priority.
pub fn epoch_when(s: &mut Session, scope: &Scope) -> Vec<CheckResult> {
    let mut run = || -> Result<Outcome, String> {
        let f = scope.function(b"f");
        let in_an_hour = now() + 3600;
        let jobs = vec![
            Job::new(&f, b"now", b"d"),
            Job::new(&f, b"past", b"d").when(1),
            Job::new(&f, b"hour", b"d").when(in_an_hour),
            Job::new(&f, b"y2100", b"d").when(4_102_444_800),
            Job::new(&f, b"high", b"d").when(in_an_hour).priority(0),
        ];
        Ok(match round_trip(s, scope, &jobs)? {
            Some(d) => Outcome::Fail(d),
            None => Outcome::Pass(format!(
                "when 0, 1, {in_an_hour} and 4102444800 (after 2038) round-trip, with priority"
            )),
        })
    };
    vec![verdict(scope.name, run())]
}
