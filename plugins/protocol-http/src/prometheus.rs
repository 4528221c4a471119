//! `/-/metrics`: the engine's `metrics` admin reply turned into the Prometheus text exposition
//! format (version 0.0.4).
//!
//! The engine answers `metrics` (our admin extension) with one sample per line,
//! `name<TAB>labels<TAB>value`, labels already in Prometheus syntax, then `.`. Names and values
//! hold no tab, so a line splits at its first and last tab and label values may contain tabs.
//! This file adds what the text format wants around the samples: one `# HELP` and `# TYPE` per
//! family, from `FAMILIES`; a name it does not know is passed on as `untyped`, so a newer engine
//! never breaks an older plugin. This stays admin text rather than a structured query because the
//! format is already unambiguous: labels arrive escaped as the exposition format wants them.

use std::fmt::Write as _;

/// What a metric family is.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const fn family(name: &'static str, kind: &'static str, help: &'static str) -> Family {
    Family { name, kind, help }
}

/// Every family the engine reports.
const FAMILIES: &[Family] = &[
    family(
        "gearmand_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    ),
    family(
        "gearmand_connections",
        "gauge",
        "Open connections, per protocol.",
    ),
    family(
        "gearmand_connections_accepted_total",
        "counter",
        "Connections accepted since the start, per protocol.",
    ),
    family(
        "gearmand_jobs_replayed_total",
        "counter",
        "Jobs read back from the persistent queue at startup.",
    ),
    family("gearmand_functions", "gauge", "Functions the server knows."),
    family("gearmand_jobs", "gauge", "Jobs queued or running."),
    family("gearmand_jobs_running", "gauge", "Jobs being worked on."),
    family(
        "gearmand_jobs_queued",
        "gauge",
        "Jobs waiting for a worker, per priority.",
    ),
    family("gearmand_workers", "gauge", "Worker registrations."),
    family(
        "gearmand_jobs_submitted_total",
        "counter",
        "New jobs from clients (a submit that coalesces with an existing job is not one).",
    ),
    family(
        "gearmand_jobs_completed_total",
        "counter",
        "Jobs ended by WORK_COMPLETE.",
    ),
    family(
        "gearmand_jobs_failed_total",
        "counter",
        "Jobs ended by WORK_FAIL, WORK_EXCEPTION, or dropped after too many retries (reason).",
    ),
    family(
        "gearmand_jobs_retried_total",
        "counter",
        "Running jobs put back in their queue (worker gone, CANT_DO, timeout).",
    ),
    family(
        "gearmand_queue_operations_total",
        "counter",
        "Calls into the persistent queue plugin, per operation.",
    ),
    family(
        "gearmand_queue_errors_total",
        "counter",
        "Failed calls into the persistent queue plugin, per operation.",
    ),
    family(
        "gearmand_queue_group_seconds",
        "histogram",
        "Persistent queue group commits: first add or done through the flush.",
    ),
];

/// Suffixes of the samples of a histogram family.
const HISTOGRAM_PARTS: [&str; 3] = ["_bucket", "_sum", "_count"];

/// The family a sample belongs to.
fn family_of(sample: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| {
        sample == f.name
            || (f.kind == "histogram"
                && HISTOGRAM_PARTS
                    .iter()
                    .any(|p| sample.strip_suffix(p) == Some(f.name)))
    })
}

/// One sample line of the engine's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    pub name: &'a str,
    /// Prometheus label pairs without braces (may be empty).
    pub labels: &'a str,
    pub value: &'a str,
}

/// The sample lines of a `metrics` reply; anything else (an `ERR` line, the final `.`) is skipped.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines().filter_map(|line| {
        let (name, rest) = line.split_once('\t')?;
        let (labels, value) = rest.rsplit_once('\t')?;
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
        let value_ok = value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN");
        (name_ok && value_ok).then_some(Sample {
            name,
            labels,
            value,
        })
    })
}

/// `/-/metrics`: the reply to `metrics` in the text exposition format, families in the order the
/// engine reported them, each with its HELP and TYPE once.
pub fn render(raw: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    // Group by family, keeping first-seen order, so a family's samples are contiguous.
    let mut groups: Vec<(String, Option<&'static Family>, Vec<Sample<'_>>)> = Vec::new();
    for s in samples(&text) {
        let fam = family_of(s.name);
        let key = fam.map_or(s.name, |f| f.name);
        match groups.iter_mut().find(|(k, _, _)| k == key) {
            Some((_, _, list)) => list.push(s),
            None => groups.push((key.to_string(), fam, vec![s])),
        }
    }
    let mut o = String::new();
    for (name, fam, list) in &groups {
        let (kind, help) = fam.map_or(("untyped", "Reported by the server."), |f| (f.kind, f.help));
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in list {
            match s.labels {
                "" => {
                    let _ = writeln!(o, "{} {}", s.name, s.value);
                }
                l => {
                    let _ = writeln!(o, "{}{{{l}}} {}", s.name, s.value);
                }
            }
        }
    }
    out.extend_from_slice(o.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_untyped_and_garbage_is_skipped() {
        let mut out = Vec::new();
        render(
            b"gearmand_new_thing\t\t4\nnot a sample\nbad name\t\t1\nx\t\tnotanumber\n.\n",
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("# TYPE gearmand_new_thing untyped\ngearmand_new_thing 4\n"));
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn histogram_parts_form_one_family() {
        let mut out = Vec::new();
        let raw = b"gearmand_queue_group_seconds_bucket\tle=\"0.001\"\t1\n\
                    gearmand_queue_group_seconds_bucket\tle=\"+Inf\"\t2\n\
                    gearmand_queue_group_seconds_sum\t\t0.5\n\
                    gearmand_queue_group_seconds_count\t\t2\n.\n";
        render(raw, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("# TYPE").count(), 1, "{text}");
        assert!(text.contains("# TYPE gearmand_queue_group_seconds histogram\n"));
        assert!(text.contains("gearmand_queue_group_seconds_bucket{le=\"+Inf\"} 2\n"));
    }
}
