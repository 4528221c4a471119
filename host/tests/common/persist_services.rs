//! Services the persistence tests control (part of `persist.rs`): a [`Proxy`] between the
//! server and a database that can be cut and restored, a [`Memcached`] of the test's own that can
//! be killed and restarted, and a minimal RESP client that deletes a test's redis keys.
#![allow(dead_code)]

use super::{port_open, REDIS_PORT};
use crate::common::server::free_port;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
// ---------------------------------------------------------------------------------------------
// Redis clean-up: a minimal RESP client (SCAN + DEL), so no redis-cli is needed
// ---------------------------------------------------------------------------------------------

/// A RESP reply, reduced to what SCAN and DEL return.
enum Resp {
    Bulk(Vec<u8>),
    Array(Vec<Resp>),
    Other,
}

fn resp_send(s: &mut TcpStream, args: &[&[u8]]) -> std::io::Result<()> {
    let mut buf = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
    s.write_all(&buf)
}

fn resp_read(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    let head = String::from_utf8_lossy(&line[1..line.len().saturating_sub(2)]).into_owned();
    let n: i64 = head.parse().unwrap_or(-1);
    match line.first() {
        Some(b'$') if n >= 0 => {
            let mut body = vec![0u8; n as usize + 2];
            std::io::Read::read_exact(r, &mut body)?;
            body.truncate(n as usize);
            Ok(Resp::Bulk(body))
        }
        Some(b'*') if n >= 0 => (0..n)
            .map(|_| resp_read(r))
            .collect::<Result<_, _>>()
            .map(Resp::Array),
        _ => Ok(Resp::Other),
    }
}

/// Deletes every key of both redis key spaces of `prefix` (the plugin's plain `<p>-...` and
/// extended `#gmx:<p>:...` keys). Best effort.
pub fn redis_delete_prefix(prefix: &str) {
    let result = (|| -> std::io::Result<usize> {
        let mut s = TcpStream::connect(("127.0.0.1", REDIS_PORT))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut r = BufReader::new(s.try_clone()?);
        let mut deleted = 0;
        for pattern in [format!("{prefix}-*"), format!("#gmx:{prefix}:*")] {
            let mut cursor = b"0".to_vec();
            loop {
                let args: [&[u8]; 6] = [
                    b"SCAN",
                    &cursor,
                    b"MATCH",
                    pattern.as_bytes(),
                    b"COUNT",
                    b"1000",
                ];
                resp_send(&mut s, &args)?;
                let Resp::Array(mut parts) = resp_read(&mut r)? else {
                    break;
                };
                let keys = match parts.pop() {
                    Some(Resp::Array(k)) => k,
                    _ => break,
                };
                for k in keys {
                    if let Resp::Bulk(k) = k {
                        resp_send(&mut s, &[b"DEL", &k])?;
                        resp_read(&mut r)?;
                        deleted += 1;
                    }
                }
                match parts.pop() {
                    Some(Resp::Bulk(c)) if c != b"0" => cursor = c,
                    _ => break,
                }
            }
        }
        Ok(deleted)
    })();
    if let Err(e) = result {
        eprintln!("redis clean-up of prefix {prefix} failed: {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// A proxy that takes a database down and brings it back on the same port
// ---------------------------------------------------------------------------------------------

/// Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream` while up.
pub struct Proxy {
    pub port: u16,
    upstream: u16,
    running: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        let mut p = Proxy {
            port: 0,
            upstream,
            running: Arc::new(AtomicBool::new(false)),
            streams: Arc::default(),
            acceptor: None,
        };
        p.up();
        p
    }

    /// Listens again (on the same port after the first time).
    pub fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("proxy bind");
        self.port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        self.running.store(true, Ordering::SeqCst);
        let (running, streams, upstream) =
            (self.running.clone(), self.streams.clone(), self.upstream);
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        let mut held = streams.lock().unwrap();
                        held.push(client.try_clone().unwrap());
                        held.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    // Nothing to accept: look again shortly (this is a poll, not a wait for a
                    // condition of the test).
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// Stops listening and cuts every forwarded connection: the database is "down".
    pub fn down(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            t.join().unwrap();
        }
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

// ---------------------------------------------------------------------------------------------
// A memcached of the test's own
// ---------------------------------------------------------------------------------------------

/// `memcached -u root -l 127.0.0.1 -p <port> -U 0`, killed on drop.
pub struct Memcached {
    pub port: u16,
    child: Option<Child>,
}

impl Memcached {
    pub fn start() -> Memcached {
        let mut m = Memcached {
            port: free_port(),
            child: None,
        };
        m.restart();
        m
    }

    /// Starts (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "memcached is already running");
        let child = Command::new("memcached")
            .args([
                "-u",
                "root",
                "-l",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn memcached");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !port_open(self.port) {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("memcached on port {} exited at start: {st}", self.port);
            }
            assert!(Instant::now() < deadline, "memcached did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (everything it held is gone, as with a real memcached restart).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        self.stop();
    }
}
