//! A TCP proxy that can take a database "down" and bring it back on the same port, and tell
//! which server connections came through it (so a test can kill exactly those).

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Forwards 127.0.0.1:`port` to `upstream` while up.
pub struct Proxy {
    pub port: u16,
    upstream: String,
    running: Arc<AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    /// Local ports of the connections to the upstream (how the server sees each client).
    upstream_ports: Arc<Mutex<Vec<u16>>>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let mut p = Proxy {
            port: 0,
            upstream: upstream.to_string(),
            running: Arc::new(AtomicBool::new(false)),
            streams: Arc::default(),
            upstream_ports: Arc::default(),
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
        let (running, streams, upstream) = (
            self.running.clone(),
            self.streams.clone(),
            self.upstream.clone(),
        );
        let ports = self.upstream_ports.clone();
        self.acceptor = Some(std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(&upstream) else {
                            continue;
                        };
                        ports
                            .lock()
                            .unwrap()
                            .push(server.local_addr().unwrap().port());
                        let mut held = streams.lock().unwrap();
                        held.push(client.try_clone().unwrap());
                        held.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }));
    }

    /// The local ports of every upstream connection made so far.
    pub fn upstream_ports(&self) -> Vec<u16> {
        self.upstream_ports.lock().unwrap().clone()
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
