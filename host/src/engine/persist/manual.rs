//! The test's end of the queue thread: a [`Persister`] with no thread, whose operations a test
//! reads and whose acknowledgements it sends when it likes (late, in groups, failing).

use super::{Ack, Op, Persister};
use crate::engine::Engine;
use std::sync::mpsc::{channel, Receiver, Sender};

impl Persister {
    /// A persister without a thread: the test plays the queue thread through [`ManualQueue`].
    fn manual() -> (Persister, ManualQueue) {
        let (tx, ops) = channel();
        let (acks_tx, acks) = channel();
        let p = Persister {
            tx: Some(tx),
            acks,
            join: None,
        };
        (p, ManualQueue { ops, acks: acks_tx })
    }
}

/// The queue thread's end of a [`Persister::manual`], driven by a test.
pub(in crate::engine) struct ManualQueue {
    ops: Receiver<Op>,
    acks: Sender<Vec<Ack>>,
}

/// What the engine asked the queue thread to do, as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::engine) enum QueueOp {
    Add {
        handle: u32,
        function: Vec<u8>,
        unique: Vec<u8>,
    },
    Done {
        function: Vec<u8>,
        unique: Vec<u8>,
    },
}

impl ManualQueue {
    /// The operations sent since the last call, in order.
    pub(in crate::engine) fn take_ops(&self) -> Vec<QueueOp> {
        self.ops
            .try_iter()
            .map(|op| match op {
                Op::Add(handle, j) => QueueOp::Add {
                    handle,
                    function: j.function.into(),
                    unique: j.unique.into(),
                },
                Op::Done(unique, function) => QueueOp::Done {
                    function: function.into(),
                    unique: unique.into(),
                },
            })
            .collect()
    }

    /// Acknowledges adds as one group: each handle with its outcome.
    pub(in crate::engine) fn ack(&self, group: Vec<(u32, Result<(), String>)>) {
        let group = group
            .into_iter()
            .map(|(handle, result)| Ack { handle, result })
            .collect();
        let _ = self.acks.send(group);
    }
}

impl Engine {
    /// Like [`Engine::start_background`], with the test as the queue thread.
    pub(in crate::engine) fn start_manual_background(&mut self) -> ManualQueue {
        let (p, manual) = Persister::manual();
        self.queue_name = "manual".into();
        self.persister = Some(p);
        manual
    }
}
