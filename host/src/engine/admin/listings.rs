//! The admin listings: `workers`, `status`, `prioritystatus`, `show jobs`, `show unique jobs`.
//!
//! They use a stable order instead of the original's hash order (clients must not rely on
//! order): functions in creation order, jobs by handle number, connections by I/O thread and
//! descriptor.

use super::command::Show;
use super::Engine;
use std::io::Write;

impl Engine {
    /// `<fd> <ip> <client-id> : <function>...` per connection.
    pub(super) fn admin_workers(&self) -> Vec<u8> {
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
    pub(super) fn admin_status(&self) -> Vec<u8> {
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
    pub(super) fn admin_priority_status(&self) -> Vec<u8> {
        let mut r = Vec::new();
        for (id, f) in self.funcs.iter() {
            r.extend_from_slice(&f.name);
            let [h, n, l] = self.jobs.counts(id).waiting;
            let _ = writeln!(r, "\t{h}\t{n}\t{l}\t{}", f.workers());
        }
        r.extend_from_slice(b".\n");
        r
    }

    /// `show jobs` (`<handle>\t<retries>\t<ignored>\t<persisted>`) and `show unique jobs`.
    pub(super) fn admin_show(&self, what: Show) -> Vec<u8> {
        if what == Show::Other {
            return b"ERR UNKNOWN_SHOW_ARGUMENTS\r\n".to_vec();
        }
        let mut r = Vec::new();
        for h in self.jobs.handles_sorted() {
            let Some(job) = self.jobs.get(h) else {
                continue;
            };
            if what == Show::UniqueJobs {
                r.extend_from_slice(job.unique());
                r.push(b'\n');
            } else {
                r.extend_from_slice(self.handle_of(h).as_bytes());
                let (ignored, persisted) = (job.is_ignored() as u8, job.stored as u8);
                let _ = writeln!(r, "\t{}\t{ignored}\t{persisted}", job.retries);
            }
        }
        r.extend_from_slice(b".\n");
        r
    }
}
