//! Rendering the `/-/` endpoints: admin text and status packets turned into JSON (the
//! Prometheus text of `/-/metrics` is [`crate::prometheus`]'s).
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

/// The replies `/-/status` is made of, in the order the admin lines are sent.
#[derive(Debug, Clone, Copy)]
pub struct StatusParts<'a> {
    pub status: &'a [u8],
    pub priority: &'a [u8],
    pub workers: &'a [u8],
    /// The `metrics` reply: per-function `completed` and `failed` counters come from it.
    pub metrics: &'a [u8],
}

/// `/-/status`: functions and connections as one JSON object.
pub fn status_json(parts: StatusParts<'_>, out: &mut Vec<u8>) {
    let ended = crate::prometheus::ended_per_function(parts.metrics);
    let mut s = String::from("{\"functions\":[");
    for (i, f) in functions(parts.status, parts.priority).iter().enumerate() {
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
        if let Some(e) = ended.get(&f.name) {
            let _ = write!(s, ",\"completed\":{},\"failed\":{}", e.completed, e.failed);
        }
        s.push('}');
    }
    s.push_str("],\"workers\":[");
    for (i, w) in workers(parts.workers).iter().enumerate() {
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
