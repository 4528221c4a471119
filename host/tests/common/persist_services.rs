//! Services the persistence tests control (part of `persist.rs`): a [`Proxy`] between the
//! server and a database that can be cut and restored and a [`Memcached`] of the test's own that
//! can be killed and restarted (both the queue plugins' own, from `gearmand-queue-testkit`), and a
//! minimal RESP client that deletes a test's redis keys.
#![allow(dead_code)]

use super::REDIS_PORT;
pub use gearmand_queue_testkit::{Memcached, Proxy};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;
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
