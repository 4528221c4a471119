//! Model-based test of the engine: random sequences of every message it takes, each step
//! compared with a reference model ([`reference`], [`expect`]) and followed by
//! [`Engine::check_invariants`].
//!
//! Each step: the engine's messages must equal the model's, per connection (replies held behind
//! a pending store included); `status` and `prioritystatus` must match; the live jobs must be
//! the model's; and every acknowledged background job must have its row in the store the test
//! keeps. At the end every connection closes, every store is acknowledged, and one worker
//! drains everything: no job and no row may be left.
//!
//! Persistence runs with the test as the queue thread ([`ManualQueue`]): acknowledgements come
//! late, several at once, or as failures, as the model's `Ack` steps say.
//!
//! A bounded run is part of `cargo test`; `GEARMAND_MODEL_CASES=N` runs N cases (long runs).

mod check;
mod expect;
mod reference;

use super::{conn, H};
use crate::engine::persist::{ManualQueue, QueueOp};
use crate::engine::{Clock, Engine, Outbox};
use crate::frame::Frame;
use crate::msg::{ConnId, ConnInfo, ToEngine, ToIo};
use expect::Submit;
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype::*;
use proptest::prelude::*;
use reference::{handle, Model, ADMIN, CONNS, FUNCS};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

const UNIQUES: [&str; 4] = ["", "-", "u1", "u2"];
const DATA: [&str; 2] = ["a", "b"];
const SUBMITS: [u32; 9] = [
    SUBMIT_JOB,
    SUBMIT_JOB_BG,
    SUBMIT_JOB_HIGH,
    SUBMIT_JOB_HIGH_BG,
    SUBMIT_JOB_LOW,
    SUBMIT_JOB_LOW_BG,
    SUBMIT_JOB_EPOCH,
    SUBMIT_REDUCE_JOB,
    SUBMIT_REDUCE_JOB_BACKGROUND,
];
const WORK: [(u32, &str); 6] = [
    (WORK_STATUS, "WORK_STATUS"),
    (WORK_DATA, "WORK_DATA"),
    (WORK_WARNING, "WORK_WARNING"),
    (WORK_COMPLETE, "WORK_COMPLETE"),
    (WORK_FAIL, "WORK_FAIL"),
    (WORK_EXCEPTION, "WORK_EXCEPTION"),
];

/// One step of a scenario.
#[derive(Debug, Clone)]
enum Op {
    Submit {
        c: usize,
        t: usize,
        func: usize,
        unique: usize,
        data: usize,
        later: i64,
    },
    CanDo {
        c: usize,
        func: usize,
        timeout: Option<u64>,
    },
    CantDo {
        c: usize,
        func: usize,
    },
    Reset {
        c: usize,
    },
    Grab {
        c: usize,
        kind: u8,
    },
    Sleep {
        c: usize,
    },
    Work {
        c: usize,
        pick: usize,
        t: usize,
    },
    Status {
        c: usize,
        pick: usize,
    },
    StatusUnique {
        c: usize,
        unique: usize,
    },
    Exceptions {
        c: usize,
    },
    Cancel {
        pick: usize,
    },
    MaxQueue {
        func: usize,
        n: u32,
    },
    Create {
        func: usize,
    },
    Drop {
        func: usize,
    },
    Close {
        c: usize,
    },
    Tick {
        secs: u64,
    },
    Ack {
        n: usize,
        fail: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CONNS;
    let f = 0..FUNCS.len();
    prop_oneof![
        6 => (c.clone(), 0..SUBMITS.len(), f.clone(), 0..UNIQUES.len(), 0..DATA.len(), -1i64..3)
            .prop_map(|(c, t, func, unique, data, later)| Op::Submit { c, t, func, unique, data, later }),
        3 => (c.clone(), f.clone(), prop_oneof![Just(None), Just(Some(0)), Just(Some(500)), Just(Some(2000))])
            .prop_map(|(c, func, timeout)| Op::CanDo { c, func, timeout }),
        1 => (c.clone(), f.clone()).prop_map(|(c, func)| Op::CantDo { c, func }),
        1 => c.clone().prop_map(|c| Op::Reset { c }),
        5 => (c.clone(), 0u8..3).prop_map(|(c, kind)| Op::Grab { c, kind }),
        2 => c.clone().prop_map(|c| Op::Sleep { c }),
        6 => (c.clone(), 0usize..8, 0..WORK.len()).prop_map(|(c, pick, t)| Op::Work { c, pick, t }),
        1 => (c.clone(), 0usize..8).prop_map(|(c, pick)| Op::Status { c, pick }),
        1 => (c.clone(), 0..UNIQUES.len()).prop_map(|(c, unique)| Op::StatusUnique { c, unique }),
        1 => c.clone().prop_map(|c| Op::Exceptions { c }),
        2 => (0usize..8).prop_map(|pick| Op::Cancel { pick }),
        1 => (f.clone(), 0u32..3).prop_map(|(func, n)| Op::MaxQueue { func, n }),
        1 => f.clone().prop_map(|func| Op::Create { func }),
        1 => f.clone().prop_map(|func| Op::Drop { func }),
        2 => c.prop_map(|c| Op::Close { c }),
        2 => (0u64..3).prop_map(|secs| Op::Tick { secs }),
        4 => (1usize..4, any::<u8>()).prop_map(|(n, fail)| Op::Ack { n, fail }),
    ]
}

/// The engine, its test-driven queue thread, the store it writes to, and the model.
struct Run {
    eng: Engine,
    now: Clock,
    ids: [ConnId; CONNS],
    generation: u16,
    manual: Option<ManualQueue>,
    /// Operations sent to the queue thread and not yet carried out, in order.
    ops: VecDeque<QueueOp>,
    /// Rows in the store: (function, unique) → how many.
    rows: HashMap<(Vec<u8>, Vec<u8>), i32>,
    model: Model,
    /// Steps checked (the long-run report).
    steps: u64,
}

impl Run {
    fn new(retries: i32, persister: bool) -> Run {
        let base = H::with(|c| c.job_retries = retries);
        let mut eng = base.eng;
        let manual = persister.then(|| eng.start_manual_background());
        let max = (retries >= 0).then(|| retries.clamp(1, 255) as u32);
        let mut run = Run {
            eng,
            now: base.now,
            ids: [conn(0); CONNS],
            generation: 0,
            manual,
            ops: VecDeque::new(),
            rows: HashMap::new(),
            model: Model::new(max, persister, base.now.epoch),
            steps: 0,
        };
        for c in 0..CONNS {
            run.open(c);
        }
        run.open_id(conn(ADMIN as u32));
        run
    }

    fn open(&mut self, c: usize) {
        self.generation += 1;
        self.ids[c] = ConnId::new(0, c as u32, self.generation);
        self.open_id(self.ids[c]);
    }

    fn open_id(&mut self, id: ConnId) {
        let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("address");
        let info = ConnInfo {
            peer,
            fd: 30 + id.slot() as i32,
            protocol: "gear",
            admin: crate::msg::AdminRights::compatible(peer.ip()),
        };
        self.deliver(ToEngine::Opened(id, info));
    }

    /// Hands one message to the engine; returns what it sent.
    fn deliver(&mut self, msg: ToEngine) -> Vec<ToIo> {
        let mut out = Outbox::default();
        self.eng.handle(msg, self.now, &mut out);
        out.msgs
    }

    fn request(&mut self, c: usize, t: u32, args: &[&[u8]]) -> Vec<ToIo> {
        let id = if c == ADMIN {
            conn(ADMIN as u32)
        } else {
            self.ids[c]
        };
        self.deliver(ToEngine::Request(id, Frame::with_args(t, args)))
    }

    fn admin(&mut self, line: &str) -> Vec<ToIo> {
        self.request(ADMIN, kind::ADMIN_LINE, &[line.as_bytes()])
    }

    /// A job handle for a step that names one: among the live jobs, else an unknown one.
    fn pick_job(&self, pick: usize) -> u32 {
        let live: Vec<u32> = self.model.jobs.iter().map(|j| j.h).collect();
        match live.get(pick) {
            Some(&h) => h,
            None => self.model.next_handle + pick as u32,
        }
    }
}

/// Renders the engine's messages like the model's: `c<slot> TYPE [arg]...`, sorted per step.
fn rendered(msgs: &[ToIo]) -> Vec<String> {
    let mut v: Vec<String> = msgs.iter().map(super::render).collect();
    v.sort();
    v
}

impl Run {
    /// Applies one step to the engine and to the model; returns the engine's messages.
    fn step(&mut self, op: &Op) -> Vec<ToIo> {
        match *op {
            Op::Submit {
                c,
                t,
                func,
                unique,
                data,
                later,
            } => self.submit(c, SUBMITS[t], func, unique, data, later),
            Op::CanDo { c, func, timeout } => {
                let name = FUNCS[func].as_bytes();
                let ms = timeout.map(|ms| ms.to_string());
                let out = match &ms {
                    None => self.request(c, CAN_DO, &[name]),
                    Some(ms) => self.request(c, CAN_DO_TIMEOUT, &[name, ms.as_bytes()]),
                };
                let timeout = timeout.filter(|&ms| ms > 0).map(|ms| ms.max(1000));
                self.model.can_do(c, func, timeout);
                out
            }
            Op::CantDo { c, func } => {
                self.model.cant_do(c, func);
                self.request(c, CANT_DO, &[FUNCS[func].as_bytes()])
            }
            Op::Reset { c } => {
                self.model.reset(c);
                self.request(c, RESET_ABILITIES, &[])
            }
            Op::Grab { c, kind } => {
                self.model.grab(c, kind);
                self.request(
                    c,
                    [GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL][kind as usize],
                    &[],
                )
            }
            Op::Sleep { c } => {
                self.model.pre_sleep(c);
                self.request(c, PRE_SLEEP, &[])
            }
            Op::Work { c, pick, t } => self.work(c, pick, t),
            Op::Status { c, pick } => {
                let h = self.pick_job(pick);
                self.model.get_status(c, h);
                self.request(c, GET_STATUS, &[handle(h).as_bytes()])
            }
            Op::StatusUnique { c, unique } => {
                self.model.get_status_unique(c, UNIQUES[unique]);
                self.request(c, GET_STATUS_UNIQUE, &[UNIQUES[unique].as_bytes()])
            }
            Op::Exceptions { c } => {
                self.model.conns[c].exceptions = true;
                self.model.send(c, "OPTION_RES [exceptions]".into());
                self.request(c, OPTION_REQ, &[b"exceptions"])
            }
            Op::Cancel { pick } => {
                let h = self.pick_job(pick);
                self.model.cancel(h);
                self.admin(&format!("cancel job {}", handle(h)))
            }
            Op::MaxQueue { func, n } => {
                if let Some(f) = self.model.func_mut(func) {
                    f.maxqueue = [n; 3];
                }
                self.model.send(ADMIN, "RAW [OK\\r\\n]".into());
                self.admin(&format!("maxqueue {} {n}", FUNCS[func]))
            }
            Op::Create { func } => {
                self.model.touch(func);
                self.model.send(ADMIN, "RAW [OK\\r\\n]".into());
                self.admin(&format!("create function {}", FUNCS[func]))
            }
            Op::Drop { func } => {
                self.model.drop_function(func);
                self.admin(&format!("drop function {}", FUNCS[func]))
            }
            Op::Close { c } => {
                self.model.close(c);
                let out = self.deliver(ToEngine::Closed(self.ids[c]));
                self.open(c);
                out
            }
            Op::Tick { secs } => {
                self.model.tick(secs);
                self.now.instant += Duration::from_secs(secs);
                self.now.epoch += secs as i64;
                let mut out = Outbox::default();
                self.eng.on_timers(self.now, &mut out);
                out.msgs
            }
            Op::Ack { n, fail } => self.ack(n, fail),
        }
    }

    fn submit(
        &mut self,
        c: usize,
        t: u32,
        func: usize,
        unique: usize,
        data: usize,
        later: i64,
    ) -> Vec<ToIo> {
        let (f, u, d) = (FUNCS[func], UNIQUES[unique], DATA[data]);
        let when = self.now.epoch + later;
        let prio = match t {
            SUBMIT_JOB_HIGH | SUBMIT_JOB_HIGH_BG => 0,
            SUBMIT_JOB_LOW | SUBMIT_JOB_LOW_BG => 2,
            _ => 1,
        };
        let background = matches!(
            t,
            SUBMIT_JOB_BG
                | SUBMIT_JOB_HIGH_BG
                | SUBMIT_JOB_LOW_BG
                | SUBMIT_JOB_EPOCH
                | SUBMIT_REDUCE_JOB_BACKGROUND
        );
        let reducer = matches!(t, SUBMIT_REDUCE_JOB | SUBMIT_REDUCE_JOB_BACKGROUND);
        let epoch = t == SUBMIT_JOB_EPOCH;
        self.model.submit(Submit {
            c,
            func,
            prio,
            background,
            unique: u,
            data: d,
            reducer,
            when: if epoch { when } else { 0 },
        });
        let when = when.to_string();
        let (f, u, d) = (f.as_bytes(), u.as_bytes(), d.as_bytes());
        match t {
            SUBMIT_JOB_EPOCH => self.request(c, t, &[f, u, when.as_bytes(), d]),
            _ if reducer => self.request(c, t, &[f, u, b"r", b"", d]),
            _ => self.request(c, t, &[f, u, d]),
        }
    }

    fn work(&mut self, c: usize, pick: usize, t: usize) -> Vec<ToIo> {
        let running = &self.model.conns[c].running;
        let h = match running.get(pick % running.len().max(1)) {
            Some(&h) if pick < 6 => h,
            _ => self.pick_job(pick),
        };
        let (t, name) = WORK[t];
        let hd = handle(h);
        let args: Vec<&[u8]> = match t {
            WORK_STATUS => vec![hd.as_bytes(), b"1", b"2"],
            WORK_FAIL => vec![hd.as_bytes()],
            _ => vec![hd.as_bytes(), b"out"],
        };
        let shown: Vec<String> = args
            .iter()
            .map(|a| format!("[{}]", a.escape_ascii()))
            .collect();
        self.model
            .work(c, h, name, format!("{name} {}", shown.join(" ")));
        self.request(c, t, &args)
    }
}
