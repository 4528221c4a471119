//! Rendering the JSON `/-/` endpoints with serde_json (the Prometheus text of `/-/metrics` is
//! [`crate::prometheus`]'s).
//!
//! `/-/status` is made of the engine's `functions`, `workers` and `abilities` tables (ABI 1.4
//! structured queries, one cell per value, so names holding tabs or newlines arrive intact);
//! `/-/job` and `/-/unique` of STATUS_RES packets. The documents are serde structs, so their key
//! order is the field order below. A table that is missing or malformed (an ERROR in its place)
//! renders as empty rather than failing the whole answer, and a column the engine does not send
//! leaves its keys out. Functions are sorted by name so that the output is stable.

use gearmand_plugin_api::table::{query, Row, Table};
use serde::Serialize;

/// Jobs waiting per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Queued {
    pub high: u64,
    pub normal: u64,
    pub low: u64,
}

/// One function of `/-/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionRow {
    pub name: String,
    pub total: u64,
    pub running: u64,
    pub workers: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
}

/// One connection of `/-/status`, with the functions it registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerRow {
    pub fd: String,
    pub ip: String,
    pub client_id: String,
    pub functions: Vec<String>,
}

/// The whole `/-/status` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct StatusDoc {
    functions: Vec<FunctionRow>,
    workers: Vec<WorkerRow>,
}

/// The replies `/-/status` is made of: the arguments of each TABLE, in the order the queries
/// are sent ([`STATUS_QUERIES`]).
#[derive(Debug, Clone, Copy)]
pub struct StatusParts<'a> {
    pub functions: &'a [&'a [u8]],
    pub workers: &'a [&'a [u8]],
    pub abilities: &'a [&'a [u8]],
}

/// The queries `/-/status` sends, in order.
pub const STATUS_QUERIES: [&str; 3] = [query::FUNCTIONS, query::WORKERS, query::ABILITIES];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A TABLE's rows, or none when the reply is not a table.
fn table<'a>(args: &'a [&'a [u8]]) -> Option<Table<'a>> {
    Table::parse(args)
        .map_err(|e| log::debug!("http: status table dropped: {e}"))
        .ok()
}

/// The `functions` table as rows, sorted by name.
pub fn functions(args: &[&[u8]]) -> Vec<FunctionRow> {
    let Some(t) = table(args) else {
        return Vec::new();
    };
    let col = |name: &str| t.column(name);
    let (name, total, running, workers) =
        (col("name"), col("total"), col("running"), col("workers"));
    let queued = [col("queued_high"), col("queued_normal"), col("queued_low")];
    let (completed, failed) = (col("completed"), col("failed"));
    let num = |r: &Row<'_, '_>, c| r.num(c).unwrap_or(0);
    let mut rows: Vec<FunctionRow> = t
        .rows()
        .map(|r| FunctionRow {
            name: text(r.get(name)),
            total: num(&r, total),
            running: num(&r, running),
            workers: num(&r, workers),
            queued: queued.iter().all(Option::is_some).then(|| Queued {
                high: num(&r, queued[0]),
                normal: num(&r, queued[1]),
                low: num(&r, queued[2]),
            }),
            completed: completed.map(|c| num(&r, Some(c))),
            failed: failed.map(|c| num(&r, Some(c))),
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// The `workers` table joined with `abilities` on the connection.
pub fn workers(workers: &[&[u8]], abilities: &[&[u8]]) -> Vec<WorkerRow> {
    let Some(w) = table(workers) else {
        return Vec::new();
    };
    let registered: Vec<(&[u8], &[u8])> = table(abilities).map_or_else(Vec::new, |a| {
        let (conn, function) = (a.column("conn"), a.column("function"));
        a.rows().map(|r| (r.get(conn), r.get(function))).collect()
    });
    let col = |name: &str| w.column(name);
    let (conn, fd, ip, client_id) = (col("conn"), col("fd"), col("ip"), col("client_id"));
    w.rows()
        .map(|r| WorkerRow {
            fd: text(r.get(fd)),
            ip: text(r.get(ip)),
            client_id: text(r.get(client_id)),
            functions: registered
                .iter()
                .filter(|(c, _)| *c == r.get(conn))
                .map(|(_, f)| text(f))
                .collect(),
        })
        .collect()
}

/// Appends `doc` as one line of JSON.
fn write_json(doc: &impl Serialize, out: &mut Vec<u8>) {
    // Serialising plain structs of strings and integers into a Vec cannot fail.
    if let Err(e) = serde_json::to_writer(&mut *out, doc) {
        log::error!("http: JSON rendering failed: {e}");
    }
    out.push(b'\n');
}

/// `/-/status`: functions and connections as one JSON object.
pub fn status_json(parts: StatusParts<'_>, out: &mut Vec<u8>) {
    let doc = StatusDoc {
        functions: functions(parts.functions),
        workers: workers(parts.workers, parts.abilities),
    };
    write_json(&doc, out);
}

/// The `/-/job` or `/-/unique` document: the key the job was asked by, first.
#[derive(Debug, Serialize)]
struct JobDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unique: Option<String>,
    known: bool,
    running: bool,
    numerator: u64,
    denominator: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    clients: Option<u64>,
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
    let value = Some(text(args.first().copied().unwrap_or(b"")));
    let by_unique = key == "unique";
    let doc = JobDoc {
        handle: if by_unique { None } else { value.clone() },
        unique: if by_unique { value } else { None },
        known: num(1) != 0,
        running: num(2) != 0,
        numerator: num(3),
        denominator: num(4),
        clients: (args.len() > 5).then(|| num(5)),
    };
    write_json(&doc, out);
    doc.known
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
