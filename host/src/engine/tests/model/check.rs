//! The model test's queue thread, its comparisons after each step, the final drain, and the
//! proptest runner.

use super::reference::{Done, FUNCS};
use super::{op, rendered, Op, Run};
use crate::engine::persist::QueueOp;
use crate::engine::Outbox;
use crate::msg::ToIo;
use gearmand_plugin_api::abi::kind;
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

impl Run {
    /// Carries out the removals at the front of the queue (a real thread would reach them
    /// without waiting for anything).
    fn apply_leading_dones(&mut self) {
        while let Some(QueueOp::Done { .. }) = self.ops.front() {
            let op = self.ops.pop_front().expect("front");
            self.apply_done(&op);
        }
    }

    fn apply_done(&mut self, op: &QueueOp) {
        if let QueueOp::Done { function, unique } = op {
            let row = self
                .rows
                .entry((function.clone(), unique.clone()))
                .or_default();
            *row = (*row - 1).max(0);
        }
    }

    /// Acknowledges the next `n` adds as one group (bit i of `fail` fails the i-th), carrying
    /// out the removals queued between them.
    pub(super) fn ack(&mut self, n: usize, fail: u8) -> Vec<ToIo> {
        let mut group = Vec::new();
        while group.len() < n {
            let Some(op) = self.ops.pop_front() else {
                break;
            };
            match op {
                QueueOp::Add {
                    handle,
                    function,
                    unique,
                } => {
                    let ok = fail & (1 << group.len()) == 0;
                    if ok {
                        *self.rows.entry((function, unique)).or_default() += 1;
                    }
                    group.push((handle, ok));
                }
                done => self.apply_done(&done),
            }
        }
        if group.is_empty() {
            return Vec::new();
        }
        for &(h, ok) in &group {
            self.model.acked(h, ok);
        }
        for c in 0..super::CONNS {
            self.model.release(c);
        }
        let results = group
            .into_iter()
            .map(|(h, ok)| (h, if ok { Ok(()) } else { Err("boom".to_string()) }))
            .collect();
        self.manual.as_ref().expect("persister").ack(results);
        let mut out = Outbox::default();
        self.eng.poll_background(self.now, &mut out);
        out.msgs
    }

    /// One step, then every comparison.
    fn check_step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.steps += 1;
        self.model.out.clear();
        let got = self.step(op);
        let mut want: Vec<String> = self.model.out.drain(..).map(|(_, m)| m).collect();
        want.sort();
        prop_assert_eq!(rendered(&got), want, "messages after {:?}", op);
        self.check_queue(op)?;
        self.check_tables(op)
    }

    /// The queue got exactly the adds and removals the model expects, in order.
    fn check_queue(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let adds: Vec<u32> = self.model.adds.drain(..).collect();
        let dones: Vec<Done> = self.model.dones.drain(..).collect();
        let Some(manual) = &self.manual else {
            return Ok(());
        };
        let new = manual.take_ops();
        let got_adds: Vec<u32> = new
            .iter()
            .filter_map(|o| match o {
                QueueOp::Add { handle, .. } => Some(*handle),
                QueueOp::Done { .. } => None,
            })
            .collect();
        prop_assert_eq!(got_adds, adds, "adds after {:?}", op);
        let got_dones: Vec<(Vec<u8>, Vec<u8>)> = new
            .iter()
            .filter_map(|o| match o {
                QueueOp::Done { function, unique } => Some((function.clone(), unique.clone())),
                QueueOp::Add { .. } => None,
            })
            .collect();
        let want_dones: Vec<(Vec<u8>, Vec<u8>)> = dones
            .iter()
            .map(|d| {
                (
                    FUNCS[d.func].as_bytes().to_vec(),
                    d.unique.as_bytes().to_vec(),
                )
            })
            .collect();
        prop_assert_eq!(got_dones, want_dones, "removals after {:?}", op);
        self.ops.extend(new);
        self.apply_leading_dones();
        Ok(())
    }

    /// Listings, live jobs, rows and the engine's own invariants.
    fn check_tables(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let status = self.admin_text("status");
        prop_assert_eq!(status, self.model.status(), "status after {:?}", op);
        let prio = self.admin_text("prioritystatus");
        prop_assert_eq!(
            prio,
            self.model.priority_status(),
            "prioritystatus after {:?}",
            op
        );
        let mut live: Vec<u32> = self.model.jobs.iter().map(|j| j.h).collect();
        live.sort_unstable();
        prop_assert_eq!(self.eng.jobs.handles_sorted(), live, "jobs after {:?}", op);
        if let Err(e) = self.eng.check_invariants() {
            return Err(TestCaseError::fail(format!("invariant after {op:?}: {e}")));
        }
        self.check_rows(op)
    }

    /// Every acknowledged, stored job has its row (nothing lost). Jobs with the unique `` or
    /// `-` are left out: rows are keyed by function and unique, so such jobs share one row and
    /// the removal of one takes the other's (as in C gearmand; docs/queues.md says to give
    /// background jobs a unique).
    fn check_rows(&self, op: &Op) -> Result<(), TestCaseError> {
        if self.manual.is_none() {
            return Ok(());
        }
        for j in &self.model.jobs {
            let acked = !matches!(j.state, super::reference::St::Storing);
            let own_row = !matches!(j.unique, "" | "-");
            if j.stored && acked && own_row {
                let key = (
                    FUNCS[j.func].as_bytes().to_vec(),
                    j.unique.as_bytes().to_vec(),
                );
                let n = self.rows.get(&key).copied().unwrap_or(0);
                prop_assert!(n > 0, "job {} lost its row after {:?}", j.h, op);
            }
        }
        Ok(())
    }

    fn admin_text(&mut self, line: &str) -> String {
        let out = self.admin(line);
        match out.as_slice() {
            [ToIo::Send(_, f)] if f.kind() == kind::RAW => String::from_utf8_lossy(f.arg(0)).into(),
            other => format!("unexpected {other:?}"),
        }
    }

    /// Everyone leaves, every store is answered, one worker takes every job: nothing may be
    /// left in the engine or in the store.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        let mut steps: Vec<Op> = (0..super::CONNS).map(|c| Op::Close { c }).collect();
        steps.extend((0..super::FUNCS.len()).map(|func| Op::CanDo {
            c: 0,
            func,
            timeout: None,
        }));
        for op in &steps {
            self.check_step(op)?;
        }
        for _ in 0..10_000 {
            if self.model.jobs.is_empty() && self.ops.is_empty() {
                break;
            }
            let next = if self.ops.iter().any(|o| matches!(o, QueueOp::Add { .. })) {
                Op::Ack { n: 3, fail: 0 }
            } else if self.model.conns[0].running.is_empty() {
                if self
                    .model
                    .jobs
                    .iter()
                    .all(|j| !matches!(j.state, super::reference::St::InRunList))
                {
                    Op::Tick { secs: 2 }
                } else {
                    Op::Grab { c: 0, kind: 1 }
                }
            } else {
                Op::Work {
                    c: 0,
                    pick: 0,
                    t: 3,
                }
            };
            self.check_step(&next)?;
        }
        prop_assert!(
            self.model.jobs.is_empty(),
            "jobs left: {:?}",
            self.model.jobs
        );
        prop_assert_eq!(self.eng.job_count(), 0);
        if self.manual.is_some() {
            let rows: Vec<_> = self.rows.iter().filter(|(_, &n)| n > 0).collect();
            prop_assert!(rows.is_empty(), "rows left in the store: {:?}", rows);
        }
        Ok(())
    }
}

/// Cases per run: a bounded number in `cargo test`, more with `GEARMAND_MODEL_CASES`.
fn cases() -> u32 {
    std::env::var("GEARMAND_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Sequences and steps run so far, for the long-run report.
static SEQUENCES: AtomicU64 = AtomicU64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);

fn scenario(retries: i32, persister: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut run = Run::new(retries, persister);
    for op in ops {
        run.check_step(op)?;
    }
    run.drain()?;
    let n = SEQUENCES.fetch_add(1, Ordering::Relaxed) + 1;
    let steps = STEPS.fetch_add(run.steps, Ordering::Relaxed) + run.steps;
    if std::env::var_os("GEARMAND_MODEL_CASES").is_some() && n.is_multiple_of(1000) {
        eprintln!("model: {n} sequences, {steps} steps, all passed");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Failures are reported with their minimal input; nothing is written to the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_engine_follows_the_model(
        retries in prop_oneof![Just(-1), Just(0), Just(1), Just(2)],
        persister in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        scenario(retries, persister, &ops)?;
    }
}

/// SUBMIT_JOB_BG of `f0` with unique `u1` from connection 0.
fn background_submit() -> Op {
    Op::Submit {
        c: 0,
        t: 1,
        func: 0,
        unique: 2,
        data: 0,
        later: 0,
    }
}

#[test]
fn a_job_cancelled_while_being_stored_does_not_run_and_leaves_no_row() {
    let ops = [
        Op::CanDo {
            c: 1,
            func: 0,
            timeout: None,
        },
        background_submit(),
        Op::Cancel { pick: 0 },
        Op::Ack { n: 1, fail: 0 },
        Op::Grab { c: 1, kind: 0 },
    ];
    scenario(-1, true, &ops).expect("scenario");
}

#[test]
fn held_replies_are_released_when_a_cancelled_job_is_acknowledged() {
    let ops = [
        background_submit(),
        Op::Cancel { pick: 0 },
        Op::Submit {
            c: 0,
            t: 0,
            func: 1,
            unique: 0,
            data: 0,
            later: 0,
        },
        Op::Ack { n: 1, fail: 0 },
    ];
    scenario(-1, true, &ops).expect("scenario");
}
