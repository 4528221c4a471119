//! `--libmemcached-servers` parsing and key placement across several servers.
//!
//! The list uses libmemcached's syntax: entries separated by `,` or spaces, each `host`,
//! `host:port` or `[v6addr]:port` (default port 11211). With more than one server a key goes to
//! the server libmemcached's default distribution picks (one-at-a-time hash, modulo the server
//! count, servers in the given order), so C gearmand finds what we store and the other way round.

use std::fmt;

/// memcached's default port.
pub const DEFAULT_PORT: u16 = 11211;

/// Why a server list was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerListError {
    /// Nothing but separators.
    Empty,
    /// This entry is not `host`, `host:port` or `[v6addr]:port`.
    Entry(String),
}

impl fmt::Display for ServerListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerListError::Empty => f.write_str("--libmemcached-servers lists no server"),
            ServerListError::Entry(entry) => write!(
                f,
                "--libmemcached-servers: cannot parse {entry:?} (want host:port)"
            ),
        }
    }
}

impl std::error::Error for ServerListError {}

/// Parses the server list into `host:port` addresses.
pub fn parse(list: &str) -> Result<Vec<String>, ServerListError> {
    let mut out = Vec::new();
    for entry in list
        .split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        out.push(parse_one(entry)?);
    }
    if out.is_empty() {
        return Err(ServerListError::Empty);
    }
    Ok(out)
}

fn parse_one(entry: &str) -> Result<String, ServerListError> {
    let bad = || ServerListError::Entry(entry.to_string());
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        (format!("[{host}]"), tail.strip_prefix(':'))
    } else {
        match entry.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return Err(bad()),
            None => (entry.to_string(), None),
        }
    };
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
    };
    if host.is_empty() || host == "[]" {
        return Err(bad());
    }
    Ok(format!("{host}:{port}"))
}

/// libhashkit's `hashkit_one_at_a_time`, including its sign extension of `char` bytes.
pub fn one_at_a_time(key: &[u8]) -> u32 {
    let mut value: u32 = 0;
    for &b in key {
        value = value.wrapping_add(b as i8 as i32 as u32);
        value = value.wrapping_add(value << 10);
        value ^= value >> 6;
    }
    value = value.wrapping_add(value << 3);
    value ^= value >> 11;
    value.wrapping_add(value << 15)
}

/// Index of the server that holds `key` among `count` servers.
pub fn pick(key: &[u8], count: usize) -> usize {
    match count {
        0 | 1 => 0,
        n => (one_at_a_time(key) as usize) % n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libmemcached_lists() {
        assert_eq!(
            parse("127.0.0.1:11311, localhost,[::1]:5 h2:7").unwrap(),
            vec!["127.0.0.1:11311", "localhost:11211", "[::1]:5", "h2:7"]
        );
        assert!(parse("").is_err());
        assert!(parse("host:notaport").is_err());
        assert!(parse("::1").is_err());
    }

    #[test]
    fn placement_is_stable() {
        // Reference values of libhashkit's one-at-a-time (Bob Jenkins' function).
        assert_eq!(one_at_a_time(b"a"), 0xca2e_9442);
        assert_eq!(pick(b"anything", 1), 0);
        let n = pick(b"gear_fn-u", 3);
        assert!(n < 3);
        assert_eq!(n, pick(b"gear_fn-u", 3));
    }
}
