//! The reference model's handling of each request: what the engine must answer and how the
//! model's state moves.

use super::reference::{handle, key_of, Done, Held, MJob, Model, St, ADMIN, FUNCS};

/// A submit as the harness sends it.
#[derive(Debug, Clone, Copy)]
pub struct Submit {
    pub c: usize,
    pub func: usize,
    pub prio: usize,
    pub background: bool,
    pub unique: &'static str,
    pub data: &'static str,
    pub reducer: bool,
    pub when: i64,
}

impl Model {
    pub fn submit(&mut self, s: Submit) {
        self.touch(s.func);
        let key = key_of(s.unique, s.data);
        let existing = self
            .jobs
            .iter()
            .filter(|j| j.func == s.func && !j.ignored && key.is_some() && j.key() == key)
            .map(|j| j.h)
            .max();
        let h = match existing {
            Some(h) => h,
            None => {
                let limit = self.func_mut(s.func).map_or(0, |f| f.maxqueue[s.prio]);
                if limit > 0 && self.total(s.func) >= limit {
                    let c = s.c;
                    return self.send(c, "ERROR [QUEUE_ERROR] [Job queue is full]".into());
                }
                self.create(s)
            }
        };
        if !s.background {
            self.job_mut(h).expect("job").clients.push(s.c);
            self.conns[s.c].waiting.push(h);
        }
        if self.job(h).is_some_and(|j| j.state == St::Storing) {
            self.conns[s.c].holds.push_back(Held::Waiting(h));
        } else {
            self.send(s.c, format!("JOB_CREATED [{}]", handle(h)));
        }
    }

    fn create(&mut self, s: Submit) -> u32 {
        let h = self.next_handle;
        self.next_handle += 1;
        self.jobs.push(MJob {
            h,
            func: s.func,
            prio: s.prio,
            foreground: !s.background,
            unique: s.unique,
            data: s.data,
            reducer: s.reducer,
            when: s.when,
            state: St::Storing,
            ignored: false,
            stored: s.background,
            clients: Vec::new(),
            retries: 0,
            progress: (0, 0),
        });
        if s.background && self.persister {
            self.adds.push(h);
        } else {
            self.make_runnable(h);
        }
        h
    }

    /// The queue thread answered the add of job `h`.
    pub fn acked(&mut self, h: u32, ok: bool) {
        let reply = if ok {
            let ignored = self.job(h).map(|j| (j.state, j.ignored));
            match ignored {
                Some((St::Storing, true)) => drop(self.free(h)),
                Some((St::Storing, false)) => self.make_runnable(h),
                _ => {}
            }
            format!("JOB_CREATED [{}]", handle(h))
        } else {
            self.free(h);
            "ERROR [QUEUE_ERROR] [boom]".to_string()
        };
        for conn in &mut self.conns {
            for slot in conn.holds.iter_mut() {
                if matches!(slot, Held::Waiting(w) if *w == h) {
                    *slot = Held::Ready(reply.clone());
                }
            }
        }
    }

    pub fn can_do(&mut self, c: usize, func: usize, timeout_ms: Option<u64>) {
        self.touch(func);
        self.conns[c].abilities.insert(0, (func, timeout_ms));
    }

    pub fn cant_do(&mut self, c: usize, func: usize) {
        if !self.func_exists(func) {
            return;
        }
        self.conns[c].abilities.retain(|a| a.0 != func);
        let running = self.conns[c].running.clone();
        for h in running {
            if self.job(h).is_some_and(|j| j.func == func) {
                self.requeue(h);
            }
        }
    }

    pub fn reset(&mut self, c: usize) {
        self.conns[c].abilities.clear();
        for h in self.conns[c].running.clone() {
            self.requeue(h);
        }
    }

    pub fn pre_sleep(&mut self, c: usize) {
        let funcs: Vec<usize> = self.conns[c].abilities.iter().map(|a| a.0).collect();
        if funcs.iter().any(|&f| self.has_ready(f)) {
            return self.send(c, "NOOP".into());
        }
        self.conns[c].sleeping = true;
        self.conns[c].noop_sent = false;
    }

    /// GRAB_JOB (`kind` 0), GRAB_JOB_UNIQ (1) or GRAB_JOB_ALL (2).
    pub fn grab(&mut self, c: usize, kind: u8) {
        self.conns[c].sleeping = false;
        self.conns[c].noop_sent = false;
        while let Some((slot, p)) = self.pick(c) {
            let (func, timeout) = self.conns[c].abilities[slot];
            let h = self.lists[func][p]
                .pop_front()
                .expect("a ready job is listed");
            if self.job(h).is_some_and(|j| j.ignored) {
                self.free(h);
                continue;
            }
            return self.assign(c, h, slot, timeout, kind);
        }
        let funcs: Vec<usize> = self.conns[c].abilities.iter().map(|a| a.0).collect();
        for func in funcs {
            if !self.has_ready(func) {
                let ignored: Vec<u32> = self.lists[func].iter().flatten().copied().collect();
                ignored.into_iter().for_each(|h| drop(self.free(h)));
            }
        }
        self.send(c, "NO_JOB".into());
    }

    /// The registration and priority a grab takes from: priority first, then list order.
    fn pick(&self, c: usize) -> Option<(usize, usize)> {
        let abilities = &self.conns[c].abilities;
        (0..3).find_map(|p| {
            let slot = abilities.iter().position(|a| self.ready(a.0, p))?;
            Some((slot, p))
        })
    }

    fn assign(&mut self, c: usize, h: u32, slot: usize, timeout: Option<u64>, kind: u8) {
        let deadline = timeout.map(|ms| self.now_ms + ms);
        let ability = self.conns[c].abilities.remove(slot);
        self.conns[c].abilities.push(ability);
        self.conns[c].running.push(h);
        let j = self.job_mut(h).expect("job");
        j.state = St::Running {
            worker: c,
            deadline,
        };
        let (f, u, d) = (FUNCS[j.func], j.unique, j.data);
        let hd = handle(h);
        let msg = match kind {
            0 => format!("JOB_ASSIGN [{hd}] [{f}] [{d}]"),
            2 if j.reducer => format!("JOB_ASSIGN_ALL [{hd}] [{f}] [{u}] [r] [{d}]"),
            _ => format!("JOB_ASSIGN_UNIQ [{hd}] [{f}] [{u}] [{d}]"),
        };
        self.send(c, msg);
    }

    /// A WORK_* packet from `c` about job `h`; `msg` is how the engine forwards it.
    pub fn work(&mut self, c: usize, h: u32, kind: &str, msg: String) {
        let mine = self
            .job(h)
            .is_some_and(|j| matches!(j.state, St::Running { worker, .. } if worker == c));
        if !mine {
            let text = match kind {
                "WORK_DATA" | "WORK_WARNING" => "Job does not exist on server",
                "WORK_EXCEPTION" => "An exception was received for a job that does not exist",
                _ => "Job given in work result not found",
            };
            return self.send(c, format!("ERROR [JOB_NOT_FOUND] [{text}]"));
        }
        let clients = self.job(h).expect("job").clients.clone();
        for &cl in clients.iter().rev() {
            let m = if kind == "WORK_EXCEPTION" && !self.conns[cl].exceptions {
                format!("WORK_FAIL [{}]", handle(h))
            } else {
                msg.clone()
            };
            self.send(cl, m);
        }
        match kind {
            "WORK_STATUS" => self.job_mut(h).expect("job").progress = (1, 2),
            "WORK_DATA" | "WORK_WARNING" => {}
            _ => self.finish(h),
        }
    }

    fn finish(&mut self, h: u32) {
        let job = self.free(h).expect("job");
        if job.stored {
            self.dones.push(Done {
                func: job.func,
                unique: job.unique,
            });
        }
    }

    pub fn get_status(&mut self, c: usize, h: u32) {
        let hd = handle(h);
        let msg = match self.job(h) {
            None => format!("STATUS_RES [{hd}] [0] [0] [0] [0]"),
            Some(j) => {
                let running = matches!(j.state, St::Running { .. }) as u8;
                let (n, d) = j.progress;
                format!("STATUS_RES [{hd}] [1] [{running}] [{n}] [{d}]")
            }
        };
        self.send(c, msg);
    }

    pub fn get_status_unique(&mut self, c: usize, unique: &'static str) {
        let newest = self
            .jobs
            .iter()
            .filter(|j| key_of(j.unique, j.data) == Some((true, unique)))
            .max_by_key(|j| j.h);
        let msg = match newest {
            None => format!("STATUS_RES_UNIQUE [{unique}] [0] [0] [0] [0] [0]"),
            Some(j) => {
                let running = matches!(j.state, St::Running { .. }) as u8;
                let ((n, d), k) = (j.progress, j.clients.len());
                format!("STATUS_RES_UNIQUE [{unique}] [1] [{running}] [{n}] [{d}] [{k}]")
            }
        };
        self.send(c, msg);
    }

    /// `cancel job <handle>`.
    pub fn cancel(&mut self, h: u32) {
        let Some(j) = self.job_mut(h) else {
            return self.send(ADMIN, "RAW [ERR UNKNOWN_JOB\\r\\n]".into());
        };
        let was_stored = std::mem::replace(&mut j.stored, false);
        j.ignored = true;
        let (func, unique, clients) = (j.func, j.unique, j.clients.clone());
        if was_stored {
            self.dones.push(Done { func, unique });
        }
        for &cl in clients.iter().rev() {
            self.send(cl, format!("WORK_FAIL [{}]", handle(h)));
        }
        self.send(ADMIN, "RAW [OK\\r\\n]".into());
    }

    /// `drop function <name>`.
    pub fn drop_function(&mut self, func: usize) {
        let reply = if !self.func_exists(func) {
            "ERR function not found\\r\\n"
        } else if self.workers(func) > 0 || self.total(func) > 0 {
            "ERR there are still connected workers or executing clients\\r\\n"
        } else {
            self.drop_func(func);
            "OK\\r\\n"
        };
        self.send(ADMIN, format!("RAW [{reply}]"));
    }

    /// The clock moved: due epoch jobs join their lists, then due deadlines requeue.
    pub fn tick(&mut self, secs: u64) {
        self.now_ms += secs * 1000;
        self.epoch += secs as i64;
        let mut due: Vec<(i64, u32)> = self
            .jobs
            .iter()
            .filter(|j| j.state == St::Scheduled && j.when <= self.epoch)
            .map(|j| (j.when, j.h))
            .collect();
        due.sort_unstable();
        for (_, h) in due {
            let j = self.job(h).expect("job");
            let (func, ignored) = (j.func, j.ignored);
            self.enqueue(h);
            if !ignored {
                self.wake(func);
            }
        }
        let mut late: Vec<(u64, u32)> = self
            .jobs
            .iter()
            .filter_map(|j| match j.state {
                St::Running {
                    deadline: Some(at), ..
                } if at <= self.now_ms => Some((at, j.h)),
                _ => None,
            })
            .collect();
        late.sort_unstable();
        late.into_iter().for_each(|(_, h)| self.requeue(h));
    }
}
