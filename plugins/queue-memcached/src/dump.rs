//! Listing every key of a memcached server, which replay needs (memcached has no key scan).
//!
//! First choice: `lru_crawler metadump all` (memcached ≥ 1.4.31), which walks every LRU and
//! streams one line per item, `key=<url-encoded key> exp=... la=... ...`, then `END`. If the
//! LRU crawler is disabled (`-o no_lru_crawler`), it is enabled for the dump and disabled again.
//! Last resort, what C gearmand uses through libmemcached: `stats items` for the slab classes
//! and `stats cachedump <class> 0` for each. That one is incomplete on memcached ≥ 1.5, whose
//! segmented LRU keeps fresh items in HOT/WARM where cachedump does not look, and is capped at
//! 2 MB of output per class; it is only used when the server knows no better.

use crate::client::{Conn, McError};
use std::time::{Duration, Instant};

/// How long to keep retrying while another LRU crawl is running (`BUSY`).
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// Which listing served the keys (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Metadump,
    Cachedump,
}

/// Errors: memcached's, or the consumer's own.
#[derive(Debug)]
pub enum DumpError<E> {
    Mc(McError),
    Consumer(E),
}

impl<E> From<McError> for DumpError<E> {
    fn from(e: McError) -> Self {
        DumpError::Mc(e)
    }
}

/// What a metadump attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metadump {
    Listed,
    CrawlerDisabled,
    Unsupported,
}

/// Streams every key on `conn` into `each`, by the best method the server offers.
pub fn list_keys<E>(
    conn: &mut Conn,
    each: &mut dyn FnMut(Vec<u8>) -> Result<(), E>,
) -> Result<Method, DumpError<E>> {
    match metadump(conn, each)? {
        Metadump::Listed => return Ok(Method::Metadump),
        Metadump::CrawlerDisabled if enable_crawler(conn)? => {
            let outcome = metadump(conn, each);
            restore_disabled_crawler(conn)?;
            if outcome? == Metadump::Listed {
                return Ok(Method::Metadump);
            }
        }
        _ => {}
    }
    list_keys_by(conn, Method::Cachedump, each)
}

/// Streams every key with one given method (tests use it to exercise the fallback).
pub fn list_keys_by<E>(
    conn: &mut Conn,
    method: Method,
    each: &mut dyn FnMut(Vec<u8>) -> Result<(), E>,
) -> Result<Method, DumpError<E>> {
    match method {
        Method::Metadump => match metadump(conn, each)? {
            Metadump::Listed => Ok(method),
            other => Err(McError::Protocol(format!("metadump: {other:?}")).into()),
        },
        Method::Cachedump => cachedump(conn, each).map(|()| method),
    }
}

/// Turns the crawler on for a dump; memcached refuses for a moment after a recent disable
/// ("ERROR failed to start lru crawler thread"), so this polls for a while.
fn enable_crawler<E>(conn: &mut Conn) -> Result<bool, DumpError<E>> {
    let deadline = Instant::now() + BUSY_WAIT;
    while !crawler(conn, "enable")? {
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(true)
}

/// Turns the crawler off again. Right after a dump memcached may refuse ("ERROR an unknown
/// error happened") or answer OK and stay enabled while its crawler thread winds down, so this
/// repeats until `stats settings` shows it off, for a while.
fn restore_disabled_crawler<E>(conn: &mut Conn) -> Result<(), DumpError<E>> {
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        if crawler(conn, "disable")? && !crawler_enabled(conn)? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            log::warn!("memcached: could not disable the LRU crawler again after replay");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `STAT lru_crawler yes|no` of `stats settings`.
pub fn crawler_enabled(conn: &mut Conn) -> Result<bool, McError> {
    conn.send(b"stats settings\r\n")?;
    let mut enabled = false;
    loop {
        let line = conn.reply()?;
        if line == b"END" {
            return Ok(enabled);
        }
        if line == b"STAT lru_crawler yes" {
            enabled = true;
        }
    }
}

/// `lru_crawler enable|disable`; false when refused.
fn crawler<E>(conn: &mut Conn, verb: &str) -> Result<bool, DumpError<E>> {
    conn.send(format!("lru_crawler {verb}\r\n").as_bytes())
        .map_err(McError::Io)?;
    match conn.reply() {
        Ok(line) => Ok(line == b"OK"),
        Err(McError::Server(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// One `lru_crawler metadump all`, streaming keys into `each`.
fn metadump<E>(
    conn: &mut Conn,
    each: &mut dyn FnMut(Vec<u8>) -> Result<(), E>,
) -> Result<Metadump, DumpError<E>> {
    let deadline = Instant::now() + BUSY_WAIT;
    let mut line = loop {
        conn.send(b"lru_crawler metadump all\r\n")
            .map_err(McError::Io)?;
        match conn.reply() {
            Ok(l) if l.starts_with(b"BUSY") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100)); // a crawl is running; poll
            }
            Ok(l) if l.starts_with(b"BUSY") => {
                return Err(McError::Server(String::from_utf8_lossy(&l).into_owned()).into())
            }
            Ok(l) => break l,
            Err(McError::Server(l)) if l.contains("disabled") => {
                return Ok(Metadump::CrawlerDisabled)
            }
            Err(McError::Server(_)) => return Ok(Metadump::Unsupported),
            Err(e) => return Err(e.into()),
        }
    };
    loop {
        if line == b"END" {
            return Ok(Metadump::Listed);
        }
        let field = line.split(|&b| b == b' ').next().unwrap_or_default();
        match field.strip_prefix(b"key=") {
            Some(encoded) => each(url_decode(encoded)).map_err(DumpError::Consumer)?,
            None => {
                let text = String::from_utf8_lossy(&line).into_owned();
                return Err(McError::Protocol(format!("metadump line {text:?}")).into());
            }
        }
        line = conn.reply()?;
    }
}

fn cachedump<E>(
    conn: &mut Conn,
    each: &mut dyn FnMut(Vec<u8>) -> Result<(), E>,
) -> Result<(), DumpError<E>> {
    conn.send(b"stats items\r\n").map_err(McError::Io)?;
    let mut classes = Vec::new();
    loop {
        let line = conn.reply()?;
        if line == b"END" {
            break;
        }
        // STAT items:<class>:number <n>
        let text = String::from_utf8_lossy(&line);
        if let Some(rest) = text.strip_prefix("STAT items:") {
            if let Some((class, field)) = rest.split_once(':') {
                if field.starts_with("number ") {
                    classes.push(class.to_string());
                }
            }
        }
    }
    for class in classes {
        conn.send(format!("stats cachedump {class} 0\r\n").as_bytes())
            .map_err(McError::Io)?;
        loop {
            let line = conn.reply()?;
            if line == b"END" {
                break;
            }
            // ITEM <key> [<bytes> b; <time> s]
            if let Some(rest) = line.strip_prefix(b"ITEM ") {
                let key = rest.split(|&b| b == b' ').next().unwrap_or_default();
                each(key.to_vec()).map_err(DumpError::Consumer)?;
            }
        }
    }
    Ok(())
}

/// Undoes memcached's URI encoding of metadump keys (`%XX`).
pub fn url_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn decodes_metadump_keys() {
        assert_eq!(url_decode(b"gear_fn-u%C3%A9%25x"), b"gear_fn-u\xc3\xa9%x");
        assert_eq!(url_decode(b"%23gmx%3Ag%3Aa%252Db-c"), b"#gmx:g:a%2Db-c");
        assert_eq!(url_decode(b"tail%2"), b"tail%2");
        assert_eq!(url_decode(b"%zz%41"), b"%zzA");
    }
}
