//! The thread model (docs/cli.md §5, as the man page describes it):
//! - `-t 0`: one thread accepts, does all I/O and runs the engine;
//! - `-t 1`: the main thread accepts and handles signals; one I/O thread also runs the engine;
//! - `-t N≥2`: the main thread, N I/O threads, and one processing thread that owns the engine
//!   and no socket.
//!
//! The main thread hands accepted sockets to I/O threads round-robin. Shutdown (SIGTERM/SIGINT,
//! admin `shutdown`, or the end of a graceful shutdown) goes: processing thread stops after
//! routing its last answers and flushing the queue → each I/O thread writes out what is queued
//! and closes → the process exits 0.

use super::acceptor::{AcceptEvent, Acceptor, SignalAction, WAKER};
use super::io::{EngineSide, IoThread, NetSetup};
use super::processor::{run_thread, EngineMsg, Processor};
use super::threads::{IoHandle, IoMsg, Mailbox, MainMsg};
use super::wire::Core;
use crate::config::Keepalive;
use crate::msg::Control;
use mio::{Events, Poll, Waker};
use signal_hook_mio::v1_0::Signals;
use std::fmt;
use std::io;
use std::net::TcpListener;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The bound listening sockets, each with the index of its protocol, and the keepalive settings
/// for the connections they accept.
pub struct Listening {
    sockets: Vec<(TcpListener, usize)>,
    keepalive: Keepalive,
}

impl Listening {
    pub fn new(keepalive: Keepalive) -> Listening {
        Listening {
            sockets: Vec::new(),
            keepalive,
        }
    }

    pub fn push(&mut self, l: TcpListener, protocol: usize) {
        self.sockets.push((l, protocol));
    }
}

/// Why the server could not run its threads.
#[derive(Debug)]
pub enum ServeError {
    /// `-t` over what the thread numbering holds.
    TooManyThreads(u32),
    /// A system call the thread model needs failed; `what` names it.
    Io {
        what: &'static str,
        source: io::Error,
    },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::TooManyThreads(n) => write!(f, "--threads {n} is more than {}", u16::MAX),
            ServeError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Runs the server until shutdown.
pub fn serve(
    threads: u32,
    core: Box<dyn Core>,
    net: NetSetup,
    listening: Listening,
    signals: Signals,
) -> Result<(), ServeError> {
    if threads > u16::MAX as u32 {
        return Err(ServeError::TooManyThreads(threads));
    }
    let protocols = Arc::new(net);
    let acceptor = Acceptor::new(listening.sockets, signals, listening.keepalive);
    let processor = Processor::new(core);
    match threads {
        0 => single(processor, protocols, acceptor),
        n => multi(n as u16, processor, protocols, acceptor),
    }
}

fn err(what: &'static str) -> impl Fn(io::Error) -> ServeError {
    move |source| ServeError::Io { what, source }
}

/// `-t 0`: this thread does everything.
fn single(
    mut processor: Processor,
    protocols: Arc<NetSetup>,
    acceptor: Acceptor,
) -> Result<(), ServeError> {
    let poll = Poll::new().map_err(err("poll"))?;
    // The queue thread wakes this poll when a group commit is done.
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(err("waker"))?);
    processor.start_background(Arc::new(move || {
        let _ = waker.wake();
    }));
    // Nobody sends to this thread's mailbox; the receiver just reads as empty.
    let (_, rx) = channel();
    let io = IoThread::new(
        0,
        poll,
        rx,
        protocols,
        EngineSide::Inline(processor),
        None,
        Some(acceptor),
    );
    io.run();
    Ok(())
}

/// Who takes a graceful-shutdown request and must be stopped first.
enum EngineRef {
    /// The processing thread.
    Thread(Sender<EngineMsg>, JoinHandle<()>),
    /// The engine runs inside I/O thread 0.
    Inline(IoHandle),
}

/// `-t N≥1`: main thread here, N I/O threads, and a processing thread when N ≥ 2.
fn multi(
    n: u16,
    mut processor: Processor,
    protocols: Arc<NetSetup>,
    acceptor: Acceptor,
) -> Result<(), ServeError> {
    let main_poll = Poll::new().map_err(err("poll"))?;
    let (main_tx, main_rx) = channel();
    let main_waker = Arc::new(Waker::new(main_poll.registry(), WAKER).map_err(err("waker"))?);
    let main = Mailbox::new(main_tx, main_waker);

    let mut polls = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..n {
        let poll = Poll::new().map_err(err("poll"))?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(err("waker"))?);
        let (tx, rx) = channel();
        handles.push(Mailbox::new(tx, waker));
        polls.push((poll, rx));
    }

    let (engine, mut inline) = if n == 1 {
        let io0 = handles[0].clone();
        processor.start_background(Arc::new(move || io0.send(IoMsg::Batch(Vec::new()))));
        (EngineRef::Inline(handles[0].clone()), Some(processor))
    } else {
        let (tx, rx) = channel();
        let wake_tx = tx.clone();
        processor.start_background(Arc::new(move || {
            let _ = wake_tx.send(EngineMsg::Batch(Vec::new()));
        }));
        let (io, m, spin) = (handles.clone(), main.clone(), protocols.spin);
        let join = spawn("proc", move || run_thread(processor, rx, io, m, spin))?;
        (EngineRef::Thread(tx, join), None)
    };

    let mut joins = Vec::new();
    for (i, (poll, rx)) in polls.into_iter().enumerate() {
        let side = match (&engine, inline.take()) {
            (_, Some(p)) => EngineSide::Inline(p),
            (EngineRef::Thread(tx, _), None) => EngineSide::Remote(tx.clone()),
            (EngineRef::Inline(_), None) => unreachable!("one I/O thread with -t 1"),
        };
        let main_for_io = (n == 1).then(|| main.clone());
        let t = IoThread::new(
            i as u16,
            poll,
            rx,
            protocols.clone(),
            side,
            main_for_io,
            None,
        );
        joins.push(spawn(&format!("{}", i + 1), move || t.run())?);
    }

    main_loop(main_poll, acceptor, main_rx, &handles, &engine)?;
    stop(engine, &handles, joins);
    Ok(())
}

/// Spawns a named thread; a panic in it ends the process with status 1 rather than leaving the
/// server half-alive.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, ServeError> {
    let label = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
                log::error!("thread {label} panicked; exiting");
                std::process::exit(1);
            }
        })
        .map_err(err("cannot start a thread"))
}

/// Accepts and dispatches connections, handles signals and engine control, until stopping.
fn main_loop(
    mut poll: Poll,
    mut acceptor: Acceptor,
    rx: Receiver<MainMsg>,
    io: &[IoHandle],
    engine: &EngineRef,
) -> Result<(), ServeError> {
    acceptor
        .register(poll.registry())
        .map_err(err("cannot poll the listening sockets"))?;
    let mut next = 0usize;
    let mut events = Events::with_capacity(256);
    loop {
        let timeout = acceptor
            .retry_at()
            .map(|t| t.saturating_duration_since(std::time::Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err("poll")(e));
        }
        if acceptor
            .retry_at()
            .is_some_and(|t| t <= std::time::Instant::now())
        {
            for (stream, peer, protocol) in acceptor.retry() {
                io[next].send(IoMsg::Accepted {
                    stream,
                    peer,
                    protocol,
                });
                next = (next + 1) % io.len();
            }
        }
        for ev in events.iter() {
            match acceptor.on_event(ev.token()) {
                AcceptEvent::NotMine => {}
                AcceptEvent::Accepted(list) => {
                    for (stream, peer, protocol) in list {
                        io[next].send(IoMsg::Accepted {
                            stream,
                            peer,
                            protocol,
                        });
                        next = (next + 1) % io.len();
                    }
                }
                AcceptEvent::Signals(list) => {
                    for s in list {
                        log::info!("signal: {s:?}");
                        match s {
                            SignalAction::Stop => return Ok(()),
                            SignalAction::Graceful => graceful(&mut acceptor, &poll, engine),
                            SignalAction::ReopenLog => crate::logging::reopen(),
                        }
                    }
                }
            }
        }
        while let Ok(m) = rx.try_recv() {
            match m {
                MainMsg::Control(Control::Shutdown) | MainMsg::Drained => return Ok(()),
                MainMsg::Control(Control::GracefulShutdown) => {
                    graceful(&mut acceptor, &poll, engine)
                }
            }
        }
    }
}

fn graceful(acceptor: &mut Acceptor, poll: &Poll, engine: &EngineRef) {
    acceptor.stop_listening(poll.registry());
    match engine {
        EngineRef::Thread(tx, _) => {
            let _ = tx.send(EngineMsg::Graceful);
        }
        EngineRef::Inline(io0) => io0.send(IoMsg::Graceful),
    }
}

/// Stops the processing thread first (its last answers reach the I/O mailboxes before their
/// Stop), then every I/O thread.
fn stop(engine: EngineRef, io: &[IoHandle], joins: Vec<JoinHandle<()>>) {
    if let EngineRef::Thread(tx, join) = engine {
        let _ = tx.send(EngineMsg::Stop);
        let _ = join.join();
    }
    for h in io {
        h.send(IoMsg::Stop);
    }
    for j in joins {
        let _ = j.join();
    }
}
