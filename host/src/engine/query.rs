//! Structured queries (ABI 1.4 `kind::QUERY`): the engine's own tables answered as a
//! `kind::TABLE` (column names, then the cells, each length-prefixed), for protocol plugins that
//! show the server's state.
//!
//! Admin text (`status`, `workers`) is for people and for the original's clients; a function name
//! holding a tab or a newline makes it ambiguous to parse back. A table carries each name as its
//! own length-prefixed cell instead. The queries, their columns and the encoding are defined once
//! in `gearmand_plugin_api::table`; this file only fills the rows. A query is a read, so it needs
//! the same admin read right as `status`.

use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{AdminRights, ConnId};
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::table::{query, TableBuilder};

impl Engine {
    /// One QUERY request: its first argument names the table wanted.
    pub(super) fn query(&self, c: ConnId, name: &[u8], out: &mut Outbox) {
        let rights = self
            .conns
            .get(c)
            .map_or(AdminRights::ALL, |conn| conn.admin);
        if !rights.read {
            let text = b"Query not allowed for this connection";
            return out.error(c, b"PERMISSION_DENIED", text);
        }
        let table = match name {
            n if n == query::FUNCTIONS.as_bytes() => self.functions_table(),
            n if n == query::WORKERS.as_bytes() => self.workers_table(),
            n if n == query::ABILITIES.as_bytes() => self.abilities_table(),
            _ => return out.error(c, b"UNKNOWN_QUERY", b"Server does not know this query"),
        };
        out.send(c, Frame::with_args(kind::TABLE, &table.args()));
    }

    /// Per function: what `status` and `prioritystatus` show, and its jobs ended so far.
    fn functions_table(&self) -> TableBuilder {
        let mut t = TableBuilder::new(&query::FUNCTIONS_COLUMNS);
        for (id, f) in self.funcs.iter() {
            let jobs = self.jobs.counts(id);
            let [high, normal, low] = jobs.waiting;
            t.text(&f.name).num(jobs.total()).num(jobs.running);
            t.num(f.workers()).num(high).num(normal).num(low);
            t.num(f.stats.completed_total()).num(f.stats.failed_total());
        }
        t
    }

    /// Per connection, in the order of the `workers` listing.
    fn workers_table(&self) -> TableBuilder {
        let mut t = TableBuilder::new(&query::WORKERS_COLUMNS);
        for (id, conn) in self.conns.sorted() {
            t.num(id.0).text(conn.fd.to_string().as_bytes());
            t.text(conn.peer.ip().to_string().as_bytes());
            t.text(conn.client_id()).text(conn.protocol.as_bytes());
        }
        t
    }

    /// Per CAN_DO registration, connections in the order of the `workers` listing.
    fn abilities_table(&self) -> TableBuilder {
        let mut t = TableBuilder::new(&query::ABILITIES_COLUMNS);
        for (id, conn) in self.conns.sorted() {
            for a in &conn.abilities {
                t.num(id.0).text(&self.funcs.get(a.func).name);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::*;
    use crate::frame::Frame;
    use crate::msg::{ConnId, ToEngine, ToIo};
    use gearmand_plugin_api::abi::kind;
    use gearmand_plugin_api::table::Table;

    /// Runs one query and returns its table as rows of text cells, the column names first.
    fn query(h: &mut H, c: ConnId, name: &str) -> Vec<Vec<String>> {
        let mut out = crate::engine::Outbox::default();
        let f = Frame::with_args(kind::QUERY, &[name.as_bytes()]);
        h.eng.handle(ToEngine::Request(c, f), h.now, &mut out);
        let [ToIo::Send(to, f)] = &out.msgs[..] else {
            panic!("one reply expected: {:?}", out.msgs);
        };
        assert_eq!((*to, f.kind()), (c, kind::TABLE), "{:?}", out.msgs);
        let args: Vec<&[u8]> = f.args().collect();
        let t = Table::parse(&args).unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let width = t.columns().len();
        let mut rows = vec![t.columns().iter().map(|c| text(c)).collect::<Vec<_>>()];
        rows.extend(
            t.rows()
                .map(|r| (0..width).map(|i| text(r.get(Some(i)))).collect()),
        );
        rows
    }

    fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn functions_table_holds_counts_and_names_as_they_are() {
        let mut h = H::new();
        let (c, w, a) = (h.open(1), h.open(2), h.open(3));
        let odd = "tab\there\nnewline";
        h.submit(c, SUBMIT_JOB_HIGH, odd, "u1", "x");
        h.submit(c, SUBMIT_JOB_LOW_BG, odd, "u2", "y");
        h.submit(c, SUBMIT_JOB_BG, "plain", "u3", "z");
        h.can_do(w, odd);
        h.grab(w);
        h.req(w, WORK_COMPLETE, &[b"H:t:1", b"done"]);
        h.grab(w);
        h.req(w, WORK_FAIL, &[b"H:t:2"]);
        h.submit(c, SUBMIT_JOB, odd, "u4", "q");
        h.grab(w);
        let want: &[&[&str]] = &[
            &[
                "name",
                "total",
                "running",
                "workers",
                "queued_high",
                "queued_normal",
                "queued_low",
                "completed",
                "failed",
            ],
            &[odd, "1", "1", "1", "0", "0", "0", "1", "1"],
            &["plain", "1", "0", "0", "0", "1", "0", "0", "0"],
        ];
        assert_eq!(query(&mut h, a, "functions"), strs(want));
    }

    #[test]
    fn workers_and_abilities_tables_join_on_the_connection() {
        let mut h = H::new();
        let (c, w) = (h.open(1), h.open(2));
        h.req(w, SET_CLIENT_ID, &[b"id\twith tab"]);
        h.can_do(w, "f\nnl");
        h.can_do(w, "g");
        let (c1, c2) = (c.0.to_string(), w.0.to_string());
        let workers: &[&[&str]] = &[
            &["conn", "fd", "ip", "client_id", "protocol"],
            &[&c1, "31", "127.0.0.1", "-", "gear"],
            &[&c2, "32", "127.0.0.1", "id\twith tab", "gear"],
        ];
        assert_eq!(query(&mut h, c, "workers"), strs(workers));
        let abilities: &[&[&str]] = &[&["conn", "function"], &[&c2, "g"], &[&c2, "f\nnl"]];
        assert_eq!(query(&mut h, c, "abilities"), strs(abilities));
    }

    #[test]
    fn unknown_queries_and_unprivileged_connections_get_errors() {
        let mut h = H::new();
        let c = h.open(1);
        assert_eq!(
            h.req(c, kind::QUERY, &[b"nonsense"]),
            ["c1 ERROR [UNKNOWN_QUERY] [Server does not know this query]"]
        );
        if let Some(conn) = h.eng.conns.get_mut(c) {
            conn.admin.read = false;
        }
        assert_eq!(
            h.req(c, kind::QUERY, &[b"functions"]),
            ["c1 ERROR [PERMISSION_DENIED] [Query not allowed for this connection]"]
        );
    }
}
