//! The text admin protocol (docs/admin-protocol.md): one line in, one raw reply out, byte-exact.
//!
//! A line is parsed once into a typed command ([`command`]); its trust class is checked against
//! the connection's rights, then one small handler per command answers. The listings are in
//! [`listings`], the state-changing commands here.
//!
//! `shutdown` / `shutdown graceful` come back (they were removed in 1.1.15) but only for
//! loopback peers unless `remote_shutdown` is set; elsewhere they are unknown commands.
//! `metrics` is our extension (no such command in gearmand): the monitoring counters of
//! metrics.rs, one `name<TAB>labels<TAB>value` line per sample, then `.`.

mod command;
mod listings;

use super::handles::{parse_handle, HandleBuf};
use super::persist;
use super::{Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{AdminRights, ConnId, Control};
use command::{AdminClass, AdminLine, Cancel, Command, MaxQueue};
use gearmand_plugin_api::gear::ptype;

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

const OK: &[u8] = b"OK\r\n";

impl Engine {
    /// One admin line (without its line end).
    pub(super) fn admin(&mut self, c: ConnId, line: &[u8], out: &mut Outbox) {
        let line = AdminLine::parse(line);
        let reply = match self.refusal(c, &line) {
            Some(refused) => refused,
            None => self.run_admin(line, out),
        };
        out.raw(c, &reply);
    }

    /// The reply for a command whose trust class this connection lacks. A refused `shutdown`
    /// stays an unknown command, as it always was for remote peers.
    fn refusal(&self, c: ConnId, line: &AdminLine<'_>) -> Option<Vec<u8>> {
        let rights = self.conns.get(c).map_or(AdminRights::ALL, |x| x.admin);
        match line.command.class() {
            AdminClass::Read => (!rights.read).then(|| PERMISSION_DENIED.to_vec()),
            AdminClass::Change => (!rights.change).then(|| PERMISSION_DENIED.to_vec()),
            AdminClass::Shutdown => (!self.shutdown_allowed(c)).then(|| unknown_command(line.name)),
        }
    }

    fn shutdown_allowed(&self, c: ConnId) -> bool {
        self.cfg.remote_shutdown || self.conns.get(c).is_some_and(|x| x.admin.shutdown)
    }

    /// One handler per command.
    fn run_admin(&mut self, line: AdminLine<'_>, out: &mut Outbox) -> Vec<u8> {
        match line.command {
            Command::Workers => self.admin_workers(),
            Command::Status => self.admin_status(),
            Command::PriorityStatus => self.admin_priority_status(),
            Command::Metrics => self.admin_metrics(),
            Command::Show(what) => self.admin_show(what),
            Command::GetPid => format!("OK {}\n", self.cfg.pid).into_bytes(),
            Command::Verbose => format!("OK {}\n", self.cfg.verbose_name).into_bytes(),
            Command::Version => format!("OK {}\n", self.cfg.version).into_bytes(),
            Command::Cancel(Cancel::Job(handle)) => self.admin_cancel(handle, out),
            Command::Cancel(Cancel::Malformed) => b"ERR UNKNOWN_ERROR\r\n".to_vec(),
            Command::Create(Some(name)) => self.admin_create(name),
            Command::Drop(Some(name)) => self.admin_drop(name),
            Command::MaxQueue(Some(mq)) => self.admin_maxqueue(mq),
            Command::Shutdown(Some(control)) => admin_shutdown(control, out),
            Command::Create(None)
            | Command::Drop(None)
            | Command::MaxQueue(None)
            | Command::Shutdown(None) => invalid_arguments(line.name),
            Command::Cancel(Cancel::TooShort) | Command::Unknown => unknown_command(line.name),
        }
    }

    /// `cancel job <handle>` (docs/gear-protocol.md §11).
    fn admin_cancel(&mut self, handle: &[u8], out: &mut Outbox) -> Vec<u8> {
        let found = parse_handle(&self.prefix, handle).filter(|&h| self.jobs.contains(h));
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
        let handle = HandleBuf::new(&self.prefix, h);
        for &cl in job.clients().iter().rev() {
            out.send(cl, Frame::with_args(ptype::WORK_FAIL, &[handle.as_bytes()]));
        }
        self.jobs.ignore(h);
        OK.to_vec()
    }

    /// `create function <name>`.
    fn admin_create(&mut self, name: &[u8]) -> Vec<u8> {
        self.funcs.get_or_create(name);
        OK.to_vec()
    }

    /// `drop function <name>`: refused while workers are registered or any job exists.
    fn admin_drop(&mut self, name: &[u8]) -> Vec<u8> {
        let Some(id) = self.funcs.find_ignore_case(name) else {
            return b"ERR function not found\r\n".to_vec();
        };
        if self.funcs.get(id).workers() > 0 || self.jobs.counts(id).total() > 0 {
            return b"ERR there are still connected workers or executing clients\r\n".to_vec();
        }
        self.funcs.remove(id);
        OK.to_vec()
    }

    /// `maxqueue`: unknown functions are left alone.
    fn admin_maxqueue(&mut self, mq: MaxQueue<'_>) -> Vec<u8> {
        if let Some(id) = self.funcs.find(mq.function) {
            self.funcs.get_mut(id).maxqueue = mq.limits;
        }
        OK.to_vec()
    }
}

/// `shutdown` / `shutdown graceful` from an allowed peer.
fn admin_shutdown(control: Control, out: &mut Outbox) -> Vec<u8> {
    // An immediate shutdown already asked for is not downgraded to a graceful one.
    if out.control != Some(Control::Shutdown) {
        out.control = Some(control);
    }
    OK.to_vec()
}
