//! The one retry rule of the SQL server queues (mysql, postgres): a statement run outside a
//! transaction that finds its connection dead (the server restarted, or killed the connection
//! while it was idle) reconnects and runs once more.
//!
//! It lives here, in the crate both of those plugins already share, rather than in the plugin
//! SDK: only plugins that talk to a database server over a connection need it, and the SDK keeps
//! to what every plugin needs. Each plugin says what its connection is and which failures break
//! it ([`Reconnect`]); [`with_reconnect`] is the loop.

/// A plugin's connection slot, as [`with_reconnect`] sees it.
pub trait Reconnect {
    /// The live connection (with whatever the plugin prepared on it).
    type Conn;
    /// The driver's error for one statement.
    type Fault;
    /// The plugin's own error.
    type Error;
    /// The connection, connecting first if there is none.
    fn conn(&mut self) -> Result<&mut Self::Conn, Self::Error>;
    /// Forgets the connection, so that the next [`Reconnect::conn`] connects anew.
    fn forget(&mut self);
    /// Whether `fault` means the connection is gone (not just this statement refused).
    fn broken(conn: &Self::Conn, fault: &Self::Fault) -> bool;
    /// The error for statement `what` failing with `fault`.
    fn failed(what: &'static str, fault: Self::Fault) -> Self::Error;
    /// Called before the second attempt: the place to log the loss.
    fn reconnecting(&self, fault: &Self::Fault);
}

/// Runs `op` on `link`'s connection; if the connection turns out dead, forgets it, reconnects and
/// runs `op` once more. Only for statements that are harmless to repeat. A connection found dead
/// on the second attempt is forgotten too, so the next call starts with a fresh one.
pub fn with_reconnect<R: Reconnect>(
    link: &mut R,
    what: &'static str,
    mut op: impl FnMut(&mut R::Conn) -> Result<(), R::Fault>,
) -> Result<(), R::Error> {
    let mut attempt = 0;
    loop {
        let conn = link.conn()?;
        let fault = match op(conn) {
            Ok(()) => return Ok(()),
            Err(fault) => fault,
        };
        let broken = R::broken(conn, &fault);
        if broken {
            link.forget();
        }
        attempt += 1;
        if !broken || attempt == 2 {
            return Err(R::failed(what, fault));
        }
        link.reconnecting(&fault);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Fake;

    /// Runs one op that answers `faults` in turn (`None`: success); returns the link, the
    /// result and the connection each attempt ran on.
    fn run(faults: &[Option<&'static str>]) -> (Fake, Result<(), String>, Vec<u32>) {
        let mut fake = Fake::default();
        let mut faults = faults.iter().rev().copied().collect::<Vec<_>>();
        let mut seen = Vec::new();
        let result = with_reconnect(&mut fake, "BEGIN", |c| {
            seen.push(*c);
            faults.pop().flatten().map_or(Ok(()), Err)
        });
        (fake, result, seen)
    }

    #[test]
    fn a_dead_connection_is_replaced_once() {
        let (fake, result, seen) = run(&[Some("gone"), None]);
        assert_eq!(result, Ok(()));
        assert_eq!(seen, [1, 2]);
        assert_eq!(fake.conn, Some(2));
    }

    #[test]
    fn a_refused_statement_is_not_repeated() {
        let (fake, result, seen) = run(&[Some("refused"), None]);
        assert_eq!(result, Err("BEGIN: refused".to_string()));
        assert_eq!(seen, [1]);
        assert_eq!(fake.conn, Some(1), "the connection stays");
    }

    #[test]
    fn dead_twice_fails_and_forgets_the_connection() {
        let (fake, result, seen) = run(&[Some("gone"), Some("gone"), None]);
        assert_eq!(result, Err("BEGIN: gone".to_string()));
        assert_eq!(seen, [1, 2]);
        assert_eq!(fake.conn, None);
    }
}
