//! From `--libpq-conninfo` to a connection configuration, filling in what libpq itself would:
//! the `PG*` environment variables and the local socket when no host is given, so that the
//! original's default (an empty string) means the same thing here.
//!
//! Timeouts are added when the string does not set them, so a dead server costs a bounded time:
//! `connect_timeout` (10 s), TCP keepalives (idle 30 s) and `tcp_user_timeout` (30 s: unacknowledged
//! data on a vanished peer). A slow server is bounded by `statement_timeout` (set after connecting,
//! see [`STATEMENT_TIMEOUT_MS`]).

use postgres::Config;
use std::fmt;
use std::time::Duration;

/// Milliseconds a statement may run before the server cancels it.
pub const STATEMENT_TIMEOUT_MS: u32 = 30_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TCP_TIMEOUT: Duration = Duration::from_secs(30);
/// Where Debian's PostgreSQL puts its socket (libpq's compiled-in default on Debian).
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// The conninfo string could not be understood.
#[derive(Debug)]
pub struct BadConninfo(String);

impl fmt::Display for BadConninfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid --libpq-conninfo: {}", self.0)
    }
}

/// Parses `info` (empty, `key=value ...` or a URL) and applies libpq's defaults.
pub fn config(info: &str) -> Result<Config, BadConninfo> {
    let mut c = if info.trim().is_empty() {
        Config::new()
    } else {
        info.parse::<Config>()
            .map_err(|e| BadConninfo(e.to_string()))?
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if c.get_hosts().is_empty() && c.get_hostaddrs().is_empty() {
        c.host(&env("PGHOST").unwrap_or_else(|| DEFAULT_SOCKET_DIR.to_string()));
    }
    if c.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            c.port(port);
        }
    }
    if c.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or("postgres".into());
        c.user(&user);
    }
    if c.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            c.dbname(&db);
        }
    }
    if c.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD") {
            c.password(pw);
        }
    }
    if c.get_connect_timeout().is_none() {
        c.connect_timeout(CONNECT_TIMEOUT);
    }
    if c.get_tcp_user_timeout().is_none() {
        c.tcp_user_timeout(TCP_TIMEOUT);
    }
    if !info.contains("keepalives_idle") {
        c.keepalives(true).keepalives_idle(TCP_TIMEOUT);
    }
    if c.get_application_name().is_none() {
        c.application_name("gearmand");
    }
    Ok(c)
}

/// A short description of where `c` points, for error messages (never the password).
pub fn describe(c: &Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}:{} user={} dbname={}",
        hosts.join(","),
        port,
        c.get_user().unwrap_or(""),
        c.get_dbname().or(c.get_user()).unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_forms() {
        let c = config("host=127.0.0.1 user=postgres dbname=test").unwrap();
        assert_eq!(c.get_user(), Some("postgres"));
        assert_eq!(c.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let c = config("postgresql://u@127.0.0.1:5433/db?connect_timeout=3").unwrap();
        assert_eq!(c.get_ports(), &[5433]);
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert!(!config("").unwrap().get_hosts().is_empty());
        assert!(config("host=").is_ok() || config("nonsense").is_err());
        assert!(config("nonsense").is_err());
    }
}
