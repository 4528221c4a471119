//! The mailboxes between threads: a channel plus a `mio::Waker` for threads that sit in `poll`.
//!
//! I/O threads and the main (listener) thread block in `mio::Poll`, so a message to them is a
//! channel send followed by a wake-up of their poll. The processing thread blocks on its channel
//! and needs no waker.

use crate::msg::{Control, ToIo};
use mio::net::TcpStream;
use mio::Waker;
use std::net::SocketAddr;
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// What an I/O thread receives.
pub enum IoMsg {
    /// A new connection from the listener, for the protocol at this index.
    Accepted {
        stream: TcpStream,
        peer: SocketAddr,
        protocol: usize,
    },
    /// Answers from the engine for this thread's connections.
    Batch(Vec<ToIo>),
    /// Graceful shutdown (only for the I/O thread that runs the engine inline).
    Graceful,
    /// Flush what is buffered, close every connection, end the thread.
    Stop,
}

/// What the main thread receives.
pub enum MainMsg {
    /// The engine asked for a shutdown (admin `shutdown`).
    Control(Control),
    /// Graceful shutdown finished: no job is left.
    Drained,
}

/// A channel and the waker of the poll that reads it.
pub struct Mailbox<T> {
    tx: Sender<T>,
    waker: Arc<Waker>,
}

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox {
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        }
    }
}

impl<T> Mailbox<T> {
    pub fn new(tx: Sender<T>, waker: Arc<Waker>) -> Mailbox<T> {
        Mailbox { tx, waker }
    }

    /// Sends and wakes. A receiver that is gone (thread ended during shutdown) is ignored.
    pub fn send(&self, msg: T) {
        if self.tx.send(msg).is_ok() {
            if let Err(e) = self.waker.wake() {
                log::error!("waking a thread failed: {e}");
            }
        }
    }
}

pub type IoHandle = Mailbox<IoMsg>;
pub type MainHandle = Mailbox<MainMsg>;
