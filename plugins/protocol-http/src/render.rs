//! Rendering the `/-/` endpoints: admin text and status packets turned into JSON and into the
//! Prometheus text exposition format.
//!
//! The engine answers admin lines with the exact bytes of the admin protocol (`name\t1\t0\t2\n`,
//! lists ending with `.\n`). Function names may contain tabs and spaces, so numeric columns are
//! taken from the right. Lines that do not parse (an `ERR` reply, say) are skipped rather than
//! failing the whole answer. Output is sorted by function name so that it is stable.

use std::fmt::Write as _;

/// One row of `status` merged with its `prioritystatus` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRow {
    pub name: String,
    pub total: u64,
    pub running: u64,
    pub workers: u64,
    /// Queued jobs per priority (high, normal, low), when `prioritystatus` listed the function.
    pub queued: Option<[u64; 3]>,
}

/// One row of `workers`: one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRow {
    pub fd: String,
    pub ip: String,
    pub client_id: String,
    pub functions: Vec<String>,
}

/// The lines of an admin list reply, without the closing `.`.
fn list_lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    raw.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| *l != b".")
        .filter(|l| !l.is_empty())
}

/// `name\tn1\tn2...`: the name and exactly `N` numbers, split from the right.
fn columns<const N: usize>(line: &[u8]) -> Option<(String, [u64; N])> {
    let mut nums = [0u64; N];
    let mut rest = line;
    for slot in nums.iter_mut().rev() {
        let tab = rest.iter().rposition(|&b| b == b'\t')?;
        *slot = std::str::from_utf8(&rest[tab + 1..]).ok()?.parse().ok()?;
        rest = &rest[..tab];
    }
    Some((String::from_utf8_lossy(rest).into_owned(), nums))
}

/// Joins the `status` and `prioritystatus` replies by function name.
pub fn functions(status: &[u8], priority: &[u8]) -> Vec<FunctionRow> {
    let queued: Vec<(String, [u64; 4])> = list_lines(priority).filter_map(columns::<4>).collect();
    let mut rows: Vec<FunctionRow> = list_lines(status)
        .filter_map(columns::<3>)
        .map(|(name, [total, running, workers])| {
            let q = queued.iter().find(|(n, _)| *n == name).map(|(_, c)| c);
            FunctionRow {
                queued: q.map(|c| [c[0], c[1], c[2]]),
                name,
                total,
                running,
                workers,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// Parses `workers` lines: `<fd> <ip> <client-id> : <function>...`.
pub fn workers(raw: &[u8]) -> Vec<WorkerRow> {
    list_lines(raw)
        .filter_map(|line| {
            let line = String::from_utf8_lossy(line);
            let (fd, rest) = line.split_once(' ')?;
            let (ip, rest) = rest.split_once(' ')?;
            let (client_id, functions) = match rest.split_once(" :") {
                Some((id, f)) => (id, f),
                None => (rest.strip_suffix(':')?.trim_end(), ""),
            };
            Some(WorkerRow {
                fd: fd.to_string(),
                ip: ip.to_string(),
                client_id: client_id.to_string(),
                functions: functions.split_whitespace().map(str::to_string).collect(),
            })
        })
        .collect()
}

/// `/-/status`: functions and connections as one JSON object.
pub fn status_json(status: &[u8], priority: &[u8], workers_raw: &[u8], out: &mut Vec<u8>) {
    let mut s = String::from("{\"functions\":[");
    for (i, f) in functions(status, priority).iter().enumerate() {
        sep(&mut s, i);
        s.push_str("{\"name\":");
        json_str(&mut s, &f.name);
        let _ = write!(
            s,
            ",\"total\":{},\"running\":{},\"workers\":{}",
            f.total, f.running, f.workers
        );
        if let Some([h, n, l]) = f.queued {
            let _ = write!(s, ",\"queued\":{{\"high\":{h},\"normal\":{n},\"low\":{l}}}");
        }
        s.push('}');
    }
    s.push_str("],\"workers\":[");
    for (i, w) in workers(workers_raw).iter().enumerate() {
        sep(&mut s, i);
        s.push_str("{\"fd\":");
        json_str(&mut s, &w.fd);
        s.push_str(",\"ip\":");
        json_str(&mut s, &w.ip);
        s.push_str(",\"client_id\":");
        json_str(&mut s, &w.client_id);
        s.push_str(",\"functions\":[");
        for (j, f) in w.functions.iter().enumerate() {
            sep(&mut s, j);
            json_str(&mut s, f);
        }
        s.push_str("]}");
    }
    s.push_str("]}\n");
    out.extend_from_slice(s.as_bytes());
}

/// `/-/metrics`: gauges from `status`, `prioritystatus` and `workers`.
pub fn metrics(status: &[u8], priority: &[u8], workers_raw: &[u8], out: &mut Vec<u8>) {
    let rows = functions(status, priority);
    let mut s = String::new();
    gauge(&mut s, "gearmand_functions", "Functions the server knows.");
    let _ = writeln!(s, "gearmand_functions {}", rows.len());
    gauge(
        &mut s,
        "gearmand_connections",
        "Open connections, every protocol.",
    );
    let _ = writeln!(s, "gearmand_connections {}", workers(workers_raw).len());
    per_function(
        &mut s,
        &rows,
        "gearmand_jobs",
        "Jobs queued or running.",
        |f| f.total,
    );
    per_function(
        &mut s,
        &rows,
        "gearmand_jobs_running",
        "Jobs being worked on.",
        |f| f.running,
    );
    per_function(
        &mut s,
        &rows,
        "gearmand_workers",
        "Worker registrations.",
        |f| f.workers,
    );
    gauge(
        &mut s,
        "gearmand_jobs_queued",
        "Jobs waiting for a worker, per priority.",
    );
    for f in &rows {
        let Some(q) = f.queued else { continue };
        for (prio, n) in ["high", "normal", "low"].iter().zip(q) {
            s.push_str("gearmand_jobs_queued{function=\"");
            label(&mut s, &f.name);
            let _ = writeln!(s, "\",priority=\"{prio}\"}} {n}");
        }
    }
    out.extend_from_slice(s.as_bytes());
}

fn per_function(
    s: &mut String,
    rows: &[FunctionRow],
    name: &str,
    help: &str,
    value: impl Fn(&FunctionRow) -> u64,
) {
    gauge(s, name, help);
    for f in rows {
        let _ = write!(s, "{name}{{function=\"");
        label(s, &f.name);
        let _ = writeln!(s, "\"}} {}", value(f));
    }
}

fn gauge(s: &mut String, name: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// STATUS_RES `[handle, known, running, numerator, denominator]` as JSON; returns whether the job
/// is known.
pub fn job_status_json(args: &[&[u8]], out: &mut Vec<u8>) -> bool {
    status_json_fields(args, "handle", out)
}

/// STATUS_RES_UNIQUE `[unique, known, running, numerator, denominator, clients]` as JSON.
pub fn unique_status_json(args: &[&[u8]], out: &mut Vec<u8>) -> bool {
    status_json_fields(args, "unique", out)
}

fn status_json_fields(args: &[&[u8]], key: &str, out: &mut Vec<u8>) -> bool {
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| a.parse().ok())
            .unwrap_or(0)
    };
    let known = num(1) != 0;
    let mut s = format!("{{\"{key}\":");
    json_str(
        &mut s,
        &String::from_utf8_lossy(args.first().copied().unwrap_or(b"")),
    );
    let _ = write!(
        s,
        ",\"known\":{known},\"running\":{},\"numerator\":{},\"denominator\":{}",
        num(2) != 0,
        num(3),
        num(4)
    );
    if args.len() > 5 {
        let _ = write!(s, ",\"clients\":{}", num(5));
    }
    s.push_str("}\n");
    out.extend_from_slice(s.as_bytes());
    known
}

/// A JSON document for a `/-/job` or `/-/unique` query that never reached the engine (a value the
/// engine would not answer, e.g. 64 bytes or longer): the job is unknown.
pub fn unknown_json(key: &str, value: &[u8], out: &mut Vec<u8>) {
    let n: &[u8] = b"0";
    let mut args: Vec<&[u8]> = vec![value, n, n, n, n];
    if key == "unique" {
        args.push(n);
    }
    status_json_fields(&args, key, out);
}

fn sep(s: &mut String, i: usize) {
    if i > 0 {
        s.push(',');
    }
}

/// A JSON string literal.
pub fn json_str(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

/// A Prometheus label value (without quotes).
fn label(s: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
}
