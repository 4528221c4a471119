//! The group transaction of the SQL server queues (mysql, postgres): `add` and `done` run inside
//! one open transaction that `flush` commits, so a group of them costs one commit. If the
//! transaction dies after some adds succeeded, none of them is stored, and the next `flush` says
//! so.
//!
//! Both plugins keep the same states and rules, so they live here, next to the reconnect rule
//! they build on. What differs is the driver: how a statement runs and which failures end the
//! transaction ([`Link`]).

use crate::reconnect::{with_reconnect, Reconnect};
use std::fmt::{self, Display};

/// A plugin's connection slot, as [`Group`] sees it beyond [`Reconnect`].
pub trait Link: Reconnect<Error: Display> {
    /// The plugin's name in log lines ("mysql", "postgres").
    const NAME: &'static str;
    /// The connection if there is one; never connects (a transaction cannot move to a new one).
    fn current(&mut self) -> Option<&mut Self::Conn>;
    /// Runs a statement without parameters or result (`BEGIN`, `COMMIT`).
    fn execute(conn: &mut Self::Conn, sql: &'static str) -> Result<(), Self::Fault>;
    /// A statement inside the transaction failed with `fault`: ends the transaction on the
    /// server (forgetting the connection if that fails or it is gone), and says whether it
    /// ended; `false` means only the statement was refused and the transaction goes on.
    fn end_failed(&mut self, fault: &Self::Fault) -> bool;
    /// The error for a `flush` (or later statement) after the transaction died with adds in it.
    fn lost(lost: Lost) -> Self::Error;
    /// Whether `err`, from work on `conn` outside the transaction, means the connection is gone.
    fn breaks(conn: &Self::Conn, err: &Self::Error) -> bool;
}

/// The transaction died with adds in it, which are not stored; `.0` is why it died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost(pub String);

impl Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction lost, jobs not stored: {}", self.0)
    }
}

impl std::error::Error for Lost {}

/// The state of the group transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tx {
    Idle,
    /// `BEGIN` done; `pending` adds succeeded in it.
    Open {
        pending: usize,
    },
    /// It died with adds in it; the next `flush` reports this.
    Lost(String),
}

/// A connection and its group transaction.
pub struct Group<L> {
    link: L,
    tx: Tx,
}

impl<L: Link> Group<L> {
    pub fn new(link: L) -> Group<L> {
        Group { link, tx: Tx::Idle }
    }

    /// The connection slot, for what the plugin keeps there.
    pub fn link(&self) -> &L {
        &self.link
    }

    /// Fails if the transaction died with adds in it (until `flush` reports it).
    pub fn check(&self) -> Result<(), L::Error> {
        match &self.tx {
            Tx::Lost(why) => Err(L::lost(Lost(why.clone()))),
            _ => Ok(()),
        }
    }

    /// Runs `op` inside the group transaction, begun first if none is open. A failure that ends
    /// the transaction takes its adds with it ([`Group::flush`] then reports them lost).
    pub fn run<T>(
        &mut self,
        what: &'static str,
        op: impl FnOnce(&mut L::Conn) -> Result<T, L::Fault>,
    ) -> Result<T, L::Error> {
        self.check()?;
        if self.tx == Tx::Idle {
            with_reconnect(&mut self.link, "BEGIN", |conn| L::execute(conn, "BEGIN"))?;
            self.tx = Tx::Open { pending: 0 };
        }
        let conn = self.link.current().expect("begin leaves a connection");
        let result = op(conn);
        result.map_err(|fault| self.fail(what, fault))
    }

    /// Counts `n` adds that succeeded in the open transaction.
    pub fn added(&mut self, n: usize) {
        if let Tx::Open { pending } = &mut self.tx {
            *pending += n;
        }
    }

    /// Commits the group transaction, or reports that it was lost.
    pub fn flush(&mut self) -> Result<(), L::Error> {
        match std::mem::replace(&mut self.tx, Tx::Idle) {
            Tx::Idle => Ok(()),
            Tx::Lost(why) => Err(L::lost(Lost(why))),
            Tx::Open { .. } => {
                let conn = self
                    .link
                    .current()
                    .expect("an open transaction has a connection");
                let result = L::execute(conn, "COMMIT");
                result.map_err(|fault| {
                    // Whatever happened, this connection's transaction is over or unknown.
                    self.link.forget();
                    L::failed("COMMIT", fault)
                })
            }
        }
    }

    /// Flushes, then runs `op` outside any transaction (replay), connecting if need be; a
    /// failure that shows the connection gone forgets it.
    pub fn outside<T>(
        &mut self,
        op: impl FnOnce(&mut L::Conn) -> Result<T, L::Error>,
    ) -> Result<T, L::Error> {
        self.flush()?;
        let conn = self.link.conn()?;
        let result = op(conn);
        if let Err(e) = &result {
            if L::breaks(conn, e) {
                self.link.forget();
            }
        }
        result
    }

    /// The last flush, when the plugin stops; its failure can only be logged.
    pub fn shutdown(&mut self) {
        if let Err(e) = self.flush() {
            log::error!("{} queue: last flush failed: {e}", L::NAME);
        }
    }

    /// A statement failed inside the transaction; remembers the loss if it ended with adds.
    fn fail(&mut self, what: &'static str, fault: L::Fault) -> L::Error {
        let ended = self.link.end_failed(&fault);
        let err = L::failed(what, fault);
        if !ended {
            return err;
        }
        log::error!("{err}");
        let pending = match self.tx {
            Tx::Open { pending } => pending,
            _ => 0,
        };
        self.tx = if pending > 0 {
            Tx::Lost(err.to_string())
        } else {
            Tx::Idle
        };
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Fake;

    fn group(ends: bool) -> Group<Fake> {
        Group::new(Fake {
            ends,
            ..Fake::default()
        })
    }

    /// A group whose open transaction holds one add.
    fn with_one_add(ends: bool) -> Group<Fake> {
        let mut g = group(ends);
        assert_eq!(g.run("INSERT", |_| Ok::<_, &str>(())), Ok(()));
        g.added(1);
        g
    }

    #[test]
    fn adds_then_flush_commit() {
        let mut g = with_one_add(true);
        assert_eq!(g.tx, Tx::Open { pending: 1 });
        assert_eq!(g.flush(), Ok(()));
        assert_eq!(g.tx, Tx::Idle);
        assert_eq!(g.flush(), Ok(()), "nothing open: nothing to do");
    }

    #[test]
    fn a_refused_statement_keeps_the_transaction() {
        let mut g = with_one_add(false);
        assert_eq!(
            g.run("INSERT", |_| Err::<(), _>("dup")),
            Err("INSERT: dup".into())
        );
        assert_eq!(g.tx, Tx::Open { pending: 1 });
        assert_eq!(g.link.log, ["end"]);
    }

    #[test]
    fn a_dead_transaction_with_adds_is_reported_once() {
        let mut g = with_one_add(true);
        assert_eq!(
            g.run("DELETE", |_| Err::<(), _>("deadlock")),
            Err("DELETE: deadlock".into())
        );
        let lost = Err("transaction lost, jobs not stored: DELETE: deadlock".to_string());
        assert_eq!(g.check(), lost);
        assert_eq!(g.run("INSERT", |_| Ok::<_, &str>(())), lost, "not run");
        assert_eq!(g.flush(), lost);
        assert_eq!(g.flush(), Ok(()));
    }

    #[test]
    fn a_dead_transaction_without_adds_is_forgotten() {
        let mut g = group(true);
        assert!(g.run("DELETE", |_| Err::<(), _>("deadlock")).is_err());
        assert_eq!(g.tx, Tx::Idle);
        assert_eq!(g.flush(), Ok(()));
    }

    #[test]
    fn outside_forgets_a_broken_connection() {
        let mut g = group(true);
        assert_eq!(g.outside(|c| Ok::<_, String>(*c)), Ok(1));
        assert_eq!(
            g.outside(|_| Err::<(), _>("SELECT: refused".to_string()))
                .ok(),
            None
        );
        assert_eq!(g.link.conn, Some(1), "a refused statement keeps it");
        assert!(g
            .outside(|_| Err::<(), _>("SELECT: gone".to_string()))
            .is_err());
        assert_eq!(g.link.conn, None);
        assert_eq!(g.outside(|c| Ok::<_, String>(*c)), Ok(2));
    }
}
