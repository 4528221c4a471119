//! `metrics`: the counters behind `/-/metrics`, driven through real job lifecycles.

use super::*;
use std::collections::HashMap;

/// The `metrics` reply as `name{labels}` → value; checks the line format on the way.
fn metrics(h: &mut H, c: ConnId) -> HashMap<String, String> {
    let reply = h.admin_s(c, "metrics");
    assert!(reply.ends_with("\n.\n"), "{reply}");
    let mut samples = HashMap::new();
    for line in reply.lines().take_while(|l| *l != ".") {
        let (name, rest) = line.split_once('\t').expect("name<TAB>labels<TAB>value");
        let (labels, value) = rest.rsplit_once('\t').expect("name<TAB>labels<TAB>value");
        assert!(name.starts_with("gearmand_"), "{line}");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value of {line:?}"));
        let key = format!("{name}{{{labels}}}");
        assert!(
            samples.insert(key, value.to_string()).is_none(),
            "{line} twice"
        );
    }
    samples
}

/// The value of one sample; a missing sample fails the test.
fn get(m: &HashMap<String, String>, key: &str) -> String {
    m.get(key)
        .unwrap_or_else(|| panic!("no sample {key}; have {:?}", m.keys()))
        .clone()
}

fn fp(function: &str, priority: &str) -> String {
    format!("function=\"{function}\",priority=\"{priority}\"")
}

#[test]
fn a_job_life_is_counted_per_function_and_priority() {
    let mut h = H::new();
    let (c, w, a) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB_HIGH, "f", "u1", "x");
    h.submit(c, SUBMIT_JOB_HIGH, "f", "u1", "x"); // coalesces: no new job
    h.submit(c, SUBMIT_JOB_LOW_BG, "f", "u2", "y");
    h.can_do(w, "f");
    h.grab(w);
    h.req(w, WORK_COMPLETE, &[b"H:t:1", b"done"]);
    h.grab(w);
    h.req(w, WORK_FAIL, &[b"H:t:2"]);
    h.submit(c, SUBMIT_JOB, "f", "u3", "z");
    h.grab(w);
    h.req(w, WORK_EXCEPTION, &[b"H:t:3", b"boom"]);

    let m = metrics(&mut h, a);
    let counter = |name: &str, prio: &str| get(&m, &format!("{name}{{{}}}", fp("f", prio)));
    assert_eq!(counter("gearmand_jobs_submitted_total", "high"), "1");
    assert_eq!(counter("gearmand_jobs_submitted_total", "low"), "1");
    assert_eq!(counter("gearmand_jobs_submitted_total", "normal"), "1");
    assert_eq!(counter("gearmand_jobs_completed_total", "high"), "1");
    assert_eq!(counter("gearmand_jobs_completed_total", "low"), "0");
    let failed = |prio: &str, why: &str| {
        let key = format!(
            "gearmand_jobs_failed_total{{{},reason=\"{why}\"}}",
            fp("f", prio)
        );
        get(&m, &key)
    };
    assert_eq!(failed("low", "fail"), "1");
    assert_eq!(failed("normal", "exception"), "1");
    assert_eq!(failed("high", "fail"), "0");
    assert_eq!(failed("normal", "retries"), "0");
    assert_eq!(counter("gearmand_jobs_retried_total", "high"), "0");
    assert_eq!(get(&m, "gearmand_functions{}"), "1");
    assert_eq!(get(&m, "gearmand_jobs{function=\"f\"}"), "0");
    assert_eq!(get(&m, "gearmand_workers{function=\"f\"}"), "1");
}

#[test]
fn requeues_are_retries_and_running_out_of_them_is_a_failure() {
    let mut h = H::with(|c| c.job_retries = 2);
    let (c, a) = (h.open(1), h.open(3));
    h.submit(c, SUBMIT_JOB, "f", "", "x");
    // Two workers take the job and leave without an answer: one retry, then it is dropped.
    for n in [10, 11] {
        let w = h.open(n);
        h.can_do(w, "f");
        assert_eq!(h.grab(w).len(), 1);
        let m = metrics(&mut h, a);
        assert_eq!(get(&m, "gearmand_jobs_running{function=\"f\"}"), "1");
        h.close(w);
    }
    let m = metrics(&mut h, a);
    let key = |name: &str, extra: &str| format!("{name}{{{}{extra}}}", fp("f", "normal"));
    assert_eq!(get(&m, &key("gearmand_jobs_retried_total", "")), "1");
    assert_eq!(
        get(
            &m,
            &key("gearmand_jobs_failed_total", ",reason=\"retries\"")
        ),
        "1"
    );
    assert_eq!(get(&m, &key("gearmand_jobs_completed_total", "")), "0");
    assert_eq!(get(&m, "gearmand_jobs{function=\"f\"}"), "0");
}

#[test]
fn gauges_follow_status_and_prioritystatus() {
    let mut h = H::new();
    let (c, w, a) = (h.open(1), h.open(2), h.open(3));
    h.submit(c, SUBMIT_JOB_HIGH_BG, "g", "a", "1");
    h.submit(c, SUBMIT_JOB_BG, "g", "b", "2");
    h.submit(c, SUBMIT_JOB_BG, "g", "c", "3");
    h.can_do(w, "g");
    h.grab(w);
    let m = metrics(&mut h, a);
    assert_eq!(get(&m, "gearmand_jobs{function=\"g\"}"), "3");
    assert_eq!(get(&m, "gearmand_jobs_running{function=\"g\"}"), "1");
    let queued = |p: &str| get(&m, &format!("gearmand_jobs_queued{{{}}}", fp("g", p)));
    assert_eq!(
        (queued("high"), queued("normal"), queued("low")),
        ("0".into(), "2".into(), "0".into())
    );
}

#[test]
fn connections_open_and_accepted_per_protocol() {
    let mut h = H::new();
    let a = h.open(1);
    let b = h.open(2);
    h.open(3);
    h.close(b);
    let m = metrics(&mut h, a);
    assert_eq!(get(&m, "gearmand_connections{protocol=\"gear\"}"), "2");
    assert_eq!(
        get(&m, "gearmand_connections_accepted_total{protocol=\"gear\"}"),
        "3"
    );
}

#[test]
fn function_names_are_escaped_as_prometheus_label_values() {
    let mut h = H::new();
    let (c, a) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "we\"ird\\name\nwith\ttab", "u", "d");
    let m = metrics(&mut h, a);
    assert_eq!(
        get(
            &m,
            "gearmand_jobs{function=\"we\\\"ird\\\\name\\nwith\ttab\"}"
        ),
        "1"
    );
}

#[test]
fn uptime_follows_the_clock() {
    let mut h = H::new();
    let a = h.open(1);
    h.advance(Duration::from_millis(5250));
    let m = metrics(&mut h, a);
    let uptime: f64 = get(&m, "gearmand_uptime_seconds{}").parse().unwrap();
    assert!((5.25..6.0).contains(&uptime), "{uptime}");
}

#[test]
fn queue_groups_and_errors_are_counted() {
    let mut h = H::new();
    let (c, a) = (h.open(1), h.open(2));
    h.submit(c, SUBMIT_JOB_BG, "f", "u1", "d"); // add + flush in place: one group
    h.q.state().fail_add = Some("duplicate key".into());
    h.submit(c, SUBMIT_JOB_BG, "f", "u2", "d"); // add fails, no flush
    h.q.state().fail_add = None;
    h.q.state().fail_flush = Some("disk full".into());
    h.submit(c, SUBMIT_JOB_BG, "f", "u3", "d"); // add, failed flush: a second group
    let m = metrics(&mut h, a);
    let op = |name: &str, op: &str| get(&m, &format!("gearmand_queue_{name}_total{{op=\"{op}\"}}"));
    assert_eq!(op("operations", "add"), "3");
    assert_eq!(op("operations", "flush"), "2");
    assert_eq!(op("errors", "add"), "1");
    assert_eq!(op("errors", "flush"), "1");
    assert_eq!(op("errors", "done"), "0");
    assert_eq!(get(&m, "gearmand_queue_group_seconds_count{}"), "2");
    assert_eq!(
        get(&m, "gearmand_queue_group_seconds_bucket{le=\"+Inf\"}"),
        "2"
    );
    let sum: f64 = get(&m, "gearmand_queue_group_seconds_sum{}")
        .parse()
        .unwrap();
    assert!(sum >= 0.0);
    // Buckets are cumulative.
    let small: u64 = get(&m, "gearmand_queue_group_seconds_bucket{le=\"0.0005\"}")
        .parse()
        .unwrap();
    let five: u64 = get(&m, "gearmand_queue_group_seconds_bucket{le=\"5\"}")
        .parse()
        .unwrap();
    assert!(small <= five && five <= 2, "{small} {five}");
}

#[test]
fn replayed_jobs_are_counted_apart_from_submitted_ones() {
    let q = TestQueue::default();
    q.state().rows = vec![Row {
        unique: b"r".to_vec(),
        function: b"f".to_vec(),
        data: b"x".to_vec(),
        priority: 1,
        when: 0,
    }];
    let mut h = H::with_queue(config(), q);
    let now = h.now;
    assert_eq!(h.eng.replay(now), Ok(1));
    let a = h.open(1);
    let m = metrics(&mut h, a);
    assert_eq!(get(&m, "gearmand_jobs_replayed_total{}"), "1");
    assert_eq!(
        get(
            &m,
            &format!("gearmand_jobs_submitted_total{{{}}}", fp("f", "normal"))
        ),
        "0"
    );
    assert_eq!(get(&m, "gearmand_jobs{function=\"f\"}"), "1");
}

#[test]
fn metrics_ignores_case_and_extra_tokens() {
    let mut h = H::new();
    let a = h.open_from(1, "10.0.0.1:5000");
    assert!(h.admin_s(a, "METRICS extra").ends_with("\n.\n"));
}
