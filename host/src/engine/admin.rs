//! The text admin protocol (admin-protocol.md): one line in, one raw reply out, byte-exact.
//!
//! Listings use a stable order instead of the original's hash order (clients must not rely on
//! order): functions in creation order, jobs by handle number, connections by I/O thread and
//! descriptor. `shutdown` / `shutdown graceful` come back (they were removed in 1.1.15) but only
//! for loopback peers unless `remote_shutdown` is set; elsewhere they are unknown commands.
//! `metrics` is our extension (no such command in gearmand): the monitoring counters of
//! metrics.rs, one `name<TAB>labels<TAB>value` line per sample, then `.`.

use super::handles::parse_handle;
use super::num::atoi_i32;
use super::persist;
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{AdminRights, ConnId, Control};
use gearmand_plugin_api::gear::ptype;
use std::io::Write;

/// Tokens kept for inspection; more are only counted.
const MAX_TOKENS: usize = 8;

/// A command line split the original's way (see admin-protocol.md "Line parsing").
struct Tokens<'a> {
    toks: [&'a [u8]; MAX_TOKENS],
    /// How many tokens the line has (may exceed `MAX_TOKENS`).
    argc: usize,
}

impl<'a> Tokens<'a> {
    fn split(line: &'a [u8]) -> Tokens<'a> {
        let mut t = Tokens {
            toks: [b""; MAX_TOKENS],
            argc: 0,
        };
        let mut rest = line;
        loop {
            let end = rest.iter().position(|&b| b == b' ');
            t.push(&rest[..end.unwrap_or(rest.len())]);
            let Some(end) = end else { break };
            // The space ends the token; any further spaces are skipped.
            let next = rest[end..].iter().position(|&b| b != b' ');
            match next {
                Some(n) => rest = &rest[end + n..],
                None => {
                    t.push(b""); // trailing spaces make one empty token
                    break;
                }
            }
        }
        t
    }

    fn push(&mut self, tok: &'a [u8]) {
        if self.argc < MAX_TOKENS {
            self.toks[self.argc] = tok;
        }
        self.argc += 1;
    }

    fn get(&self, i: usize) -> &'a [u8] {
        if i < self.argc.min(MAX_TOKENS) {
            self.toks[i]
        } else {
            b""
        }
    }

    /// Whether token `i` is `word`, ignoring ASCII case.
    fn is(&self, i: usize, word: &str) -> bool {
        i < self.argc && self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

fn unknown_command(cmd: &[u8]) -> Vec<u8> {
    let mut r = b"ERR UNKNOWN_COMMAND Unknown+server+command".to_vec();
    r.extend_from_slice(cmd);
    r.extend_from_slice(b"\r\n");
    r
}

fn invalid_arguments(cmd: &[u8]) -> Vec<u8> {
    let mut r =
        b"ERR INVALID_ARGUMENTS An+incomplete+set+of+arguments+was+sent+to+this+command+".to_vec();
    r.extend_from_slice(cmd);
    r.extend_from_slice(b"\r\n");
    r
}

/// The reply to a command this connection may not use (`--admin-restrict`).
const PERMISSION_DENIED: &[u8] =
    b"ERR PERMISSION_DENIED Admin+command+not+allowed+for+this+connection\r\n";

/// The access class of an admin command (see config/admin.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdminClass {
    Read,
    Change,
    Shutdown,
}

fn admin_class(t: &Tokens<'_>) -> AdminClass {
    const CHANGES: [&str; 4] = ["cancel", "create", "drop", "maxqueue"];
    if t.is(0, "shutdown") {
        AdminClass::Shutdown
    } else if CHANGES.iter().any(|w| t.is(0, w)) {
        AdminClass::Change
    } else {
        AdminClass::Read
    }
}

impl Engine {
    /// One admin line (without its line end).
    pub(super) fn admin(&mut self, c: ConnId, line: &[u8], out: &mut Outbox) {
        let t = Tokens::split(line);
        let cmd = t.get(0);
        let reply = if let Some(denied) = self.admin_denied(c, &t) {
            denied
        } else if t.is(0, "workers") {
            self.admin_workers()
        } else if t.is(0, "status") {
            self.admin_status()
        } else if t.is(0, "prioritystatus") {
            self.admin_priority_status()
        } else if t.is(0, "metrics") {
            self.admin_metrics()
        } else if t.is(0, "cancel") && t.argc >= 3 {
            self.admin_cancel(&t, out)
        } else if t.is(0, "show") && t.argc >= 2 {
            self.admin_show(&t)
        } else if t.is(0, "create") {
            self.admin_create(&t)
        } else if t.is(0, "drop") {
            self.admin_drop(&t)
        } else if t.is(0, "maxqueue") {
            self.admin_maxqueue(&t)
        } else if t.is(0, "getpid") {
            format!("OK {}\n", self.cfg.pid).into_bytes()
        } else if t.is(0, "shutdown") && self.shutdown_allowed(c) {
            admin_shutdown(&t, out)
        } else if t.is(0, "verbose") {
            format!("OK {}\n", self.cfg.verbose_name).into_bytes()
        } else if t.is(0, "version") {
            format!("OK {}\n", self.cfg.version).into_bytes()
        } else {
            unknown_command(cmd)
        };
        out.raw(c, &reply);
    }

    fn shutdown_allowed(&self, c: ConnId) -> bool {
        self.cfg.remote_shutdown || self.conns.get(c).is_some_and(|x| x.admin.shutdown)
    }

    /// The reply for a read or state-changing command this connection may not use. (A refused
    /// `shutdown` stays an unknown command, as it always was for remote peers.)
    fn admin_denied(&self, c: ConnId, t: &Tokens<'_>) -> Option<Vec<u8>> {
        let rights = self.conns.get(c).map_or(AdminRights::ALL, |x| x.admin);
        let allowed = match admin_class(t) {
            AdminClass::Read => rights.read,
            AdminClass::Change => rights.change,
            AdminClass::Shutdown => return None,
        };
        (!allowed).then(|| PERMISSION_DENIED.to_vec())
    }

    /// `<fd> <ip> <client-id> : <function>...` per connection.
    fn admin_workers(&self) -> Vec<u8> {
        let mut r = Vec::new();
        for (_, conn) in self.conns.sorted() {
            let _ = write!(r, "{} {} ", conn.fd, conn.peer.ip());
            r.extend_from_slice(conn.client_id());
            r.extend_from_slice(b" :");
            for a in &conn.abilities {
                r.push(b' ');
                r.extend_from_slice(&self.funcs.get(a.func).name);
            }
            r.push(b'\n');
        }
        r.extend_from_slice(b".\n");
        r
    }

    /// `<name>\t<total>\t<running>\t<workers>` per function.
    fn admin_status(&self) -> Vec<u8> {
        let mut r = Vec::new();
        for (id, f) in self.funcs.iter() {
            let jobs = self.jobs.counts(id);
            r.extend_from_slice(&f.name);
            let (total, running) = (jobs.total(), jobs.running);
            let _ = writeln!(r, "\t{total}\t{running}\t{}", f.workers());
        }
        r.extend_from_slice(b".\n");
        r
    }

    /// `<name>\t<high>\t<normal>\t<low>\t<workers>` per function (jobs not running).
    fn admin_priority_status(&self) -> Vec<u8> {
        let mut r = Vec::new();
        for (id, f) in self.funcs.iter() {
            r.extend_from_slice(&f.name);
            let [h, n, l] = self.jobs.counts(id).waiting;
            let _ = writeln!(r, "\t{h}\t{n}\t{l}\t{}", f.workers());
        }
        r.extend_from_slice(b".\n");
        r
    }

    /// `show jobs` and `show unique jobs`.
    fn admin_show(&self, t: &Tokens<'_>) -> Vec<u8> {
        let unique = t.argc == 3 && t.is(1, "unique") && t.is(2, "jobs");
        let jobs = t.argc == 2 && t.is(1, "jobs");
        if !unique && !jobs {
            return b"ERR UNKNOWN_SHOW_ARGUMENTS\r\n".to_vec();
        }
        let mut r = Vec::new();
        for h in self.jobs.handles_sorted() {
            let Some(job) = self.jobs.get(h) else {
                continue;
            };
            if unique {
                r.extend_from_slice(job.unique());
                r.push(b'\n');
            } else {
                r.extend_from_slice(self.handle_of(h).as_bytes());
                let (ig, q) = (job.is_ignored() as u8, job.stored as u8);
                let _ = writeln!(r, "\t{}\t{ig}\t{q}", job.retries);
            }
        }
        r.extend_from_slice(b".\n");
        r
    }

    /// `cancel job <handle>` (gear-protocol.md §11).
    fn admin_cancel(&mut self, t: &Tokens<'_>, out: &mut Outbox) -> Vec<u8> {
        if t.argc != 3 || !t.is(1, "job") {
            return b"ERR UNKNOWN_ERROR\r\n".to_vec();
        }
        let found = parse_handle(&self.prefix, t.get(2)).filter(|&h| self.jobs.contains(h));
        let Some(h) = found else {
            return b"ERR UNKNOWN_JOB\r\n".to_vec();
        };
        let Some(job) = self.jobs.get_mut(h) else {
            return b"ERR UNKNOWN_JOB\r\n".to_vec();
        };
        if job.stored {
            let name = &self.funcs.get(job.func()).name;
            if let Err(e) =
                persist::store_done(&self.persister, self.queue.as_mut(), job.unique(), name)
            {
                log::error!("cancel: removing job {h} from the persistent queue failed: {e}");
                return b"ERR UNKNOWN_ERROR\r\n".to_vec();
            }
            job.stored = false;
        }
        let handle = super::handles::HandleBuf::new(&self.prefix, h);
        for &cl in job.clients().iter().rev() {
            out.send(cl, Frame::with_args(ptype::WORK_FAIL, &[handle.as_bytes()]));
        }
        self.jobs.ignore(h);
        b"OK\r\n".to_vec()
    }

    /// `create function <name>` (the real token: the 2.0 fix of the CRLF length bug).
    fn admin_create(&mut self, t: &Tokens<'_>) -> Vec<u8> {
        if t.argc != 3 || !t.is(1, "function") {
            return invalid_arguments(t.get(0));
        }
        self.funcs.get_or_create(t.get(2));
        b"OK\r\n".to_vec()
    }

    /// `drop function <name>`: refused while workers are registered or any job exists.
    fn admin_drop(&mut self, t: &Tokens<'_>) -> Vec<u8> {
        if t.argc != 3 || !t.is(1, "function") {
            return invalid_arguments(t.get(0));
        }
        let Some(id) = self.funcs.find_ignore_case(t.get(2)) else {
            return b"ERR function not found\r\n".to_vec();
        };
        if self.funcs.get(id).workers() > 0 || self.jobs.counts(id).total() > 0 {
            return b"ERR there are still connected workers or executing clients\r\n".to_vec();
        }
        self.funcs.remove(id);
        b"OK\r\n".to_vec()
    }

    /// `maxqueue <func> [high [normal [low]]]`; unknown functions are left alone.
    fn admin_maxqueue(&mut self, t: &Tokens<'_>) -> Vec<u8> {
        if t.argc == 1 {
            return invalid_arguments(t.get(0));
        }
        let mut limits = [0u32; 3];
        for (p, limit) in limits.iter_mut().enumerate() {
            if t.argc > p + 2 {
                *limit = atoi_i32(t.get(p + 2)).max(0) as u32;
            }
        }
        if t.argc <= 3 {
            limits = [limits[0]; 3];
        }
        if let Some(id) = self.funcs.find(t.get(1)) {
            self.funcs.get_mut(id).maxqueue = limits;
        }
        b"OK\r\n".to_vec()
    }
}

/// `shutdown` / `shutdown graceful` from an allowed peer.
fn admin_shutdown(t: &Tokens<'_>, out: &mut Outbox) -> Vec<u8> {
    let control = if t.argc == 1 {
        Control::Shutdown
    } else if t.argc == 2 && t.is(1, "graceful") {
        Control::GracefulShutdown
    } else {
        return invalid_arguments(t.get(0));
    };
    // An immediate shutdown already asked for is not downgraded to a graceful one.
    if out.control != Some(Control::Shutdown) {
        out.control = Some(control);
    }
    b"OK\r\n".to_vec()
}

#[cfg(test)]
mod tests {
    use super::Tokens;

    fn toks(line: &[u8]) -> Vec<Vec<u8>> {
        let t = Tokens::split(line);
        (0..t.argc).map(|i| t.get(i).to_vec()).collect()
    }

    #[test]
    fn splits_like_the_original() {
        assert_eq!(toks(b"status"), vec![b"status".to_vec()]);
        assert_eq!(toks(b""), vec![b"".to_vec()]);
        assert_eq!(toks(b" status"), vec![b"".to_vec(), b"status".to_vec()]);
        assert_eq!(toks(b"a   b"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            toks(b"a b  "),
            vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec()]
        );
        assert_eq!(toks(b"a\tb"), vec![b"a\tb".to_vec()]);
    }
}
