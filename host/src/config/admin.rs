//! Who may use which admin commands (`--admin-restrict`, `--admin-allow`).
//!
//! Admin commands fall in three classes: reading (`status`, `workers`, `show`, `version`, ...),
//! changing state (`cancel`, `create`, `drop`, `maxqueue`) and `shutdown`; `verbose` only reports
//! the log level, so it is a read.
//! `--admin-restrict` says which classes only trusted connections may use:
//! - `shutdown` (default): only `shutdown`, which keeps the original's rule;
//! - `changes`: `shutdown` and the state-changing commands;
//! - `all`: every admin command.
//!
//! A connection is trusted when it matches one `--admin-allow` entry (repeatable; default
//! `loopback`): `loopback`, `any`, an address (`10.1.2.3`, `::1`), a network (`10.0.0.0/8`,
//! `fd00::/8`), or `subject:<DN>`, the subject of a verified TLS client certificate written as
//! `CN=ops,O=Example` in certificate order (spaces around `=` and `,` are ignored, so openssl's
//! `CN = ops, O = Example` works too).

use super::ConfigError;
use crate::msg::AdminRights;
use std::net::IpAddr;

/// Which admin command classes need a trusted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restrict {
    Shutdown,
    Changes,
    All,
}

/// One `--admin-allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    Loopback,
    Any,
    /// An address and the prefix length that must match (32/128 for a single address).
    Net(IpAddr, u8),
    /// A normalised certificate subject.
    Subject(String),
}

/// The admin access policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPolicy {
    pub restrict: Restrict,
    pub allow: Vec<Allow>,
}

impl Default for AdminPolicy {
    /// The original's behaviour: everything, but `shutdown` only from loopback.
    fn default() -> Self {
        AdminPolicy {
            restrict: Restrict::Shutdown,
            allow: vec![Allow::Loopback],
        }
    }
}

/// Default `--admin-restrict`: the original's rule.
pub const DEFAULT_RESTRICT: &str = "shutdown";

impl AdminPolicy {
    /// Parses `--admin-restrict` and the `--admin-allow` entries.
    pub fn parse(restrict: Option<&str>, allow: &[String]) -> Result<AdminPolicy, ConfigError> {
        let restrict = match restrict.unwrap_or(DEFAULT_RESTRICT) {
            "shutdown" => Restrict::Shutdown,
            "changes" => Restrict::Changes,
            "all" => Restrict::All,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "--admin-restrict '{other}': use shutdown, changes or all"
                )))
            }
        };
        let allow = match allow.is_empty() {
            true => vec![Allow::Loopback],
            false => allow
                .iter()
                .map(|a| parse_allow(a))
                .collect::<Result<_, _>>()?,
        };
        Ok(AdminPolicy { restrict, allow })
    }

    /// What a connection from `ip` (with this verified certificate subject) may do.
    pub fn rights(&self, ip: IpAddr, subject: Option<&str>) -> AdminRights {
        if self.allow.iter().any(|a| a.matches(ip, subject)) {
            return AdminRights::ALL;
        }
        AdminRights {
            read: self.restrict != Restrict::All,
            change: self.restrict == Restrict::Shutdown,
            shutdown: false,
        }
    }
}

impl Allow {
    fn matches(&self, ip: IpAddr, subject: Option<&str>) -> bool {
        match self {
            Allow::Any => true,
            Allow::Loopback => AdminRights::is_loopback(ip),
            Allow::Net(net, bits) => in_network(ip, *net, *bits),
            Allow::Subject(want) => subject.is_some_and(|s| normalise_dn(s) == *want),
        }
    }
}

fn parse_allow(text: &str) -> Result<Allow, ConfigError> {
    let bad = || {
        ConfigError::Invalid(format!(
            "--admin-allow '{text}': use loopback, any, an address, a network (a.b.c.d/n) or subject:<DN>"
        ))
    };
    if let Some(dn) = text.strip_prefix("subject:") {
        return match normalise_dn(dn) {
            d if d.is_empty() => Err(bad()),
            d => Ok(Allow::Subject(d)),
        };
    }
    match text {
        "loopback" => return Ok(Allow::Loopback),
        "any" => return Ok(Allow::Any),
        _ => {}
    }
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits.unwrap_or(max) {
        b if b > max => Err(bad()),
        b => Ok(Allow::Net(ip, b)),
    }
}

/// True if `ip` is in `net/bits` (IPv4-mapped IPv6 peers count as IPv4).
fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (a >> shift) == (b >> shift)
}

/// `CN = ops, O = Example` → `CN=ops,O=Example`: attribute names upper-cased, spaces around
/// `=` and the separators dropped; escaped commas (`\,`) stay inside their value.
pub fn normalise_dn(dn: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = dn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                cur.extend(chars.next());
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim().to_ascii_uppercase(), v.trim()),
            None => p.trim().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(restrict: &str, allow: &[&str]) -> AdminPolicy {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        AdminPolicy::parse(Some(restrict), &allow).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_is_the_originals_rule() {
        let p = AdminPolicy::parse(None, &[]).unwrap();
        assert_eq!(p, AdminPolicy::default());
        assert_eq!(p.rights(ip("127.0.0.1"), None), AdminRights::ALL);
        assert_eq!(p.rights(ip("::1"), None), AdminRights::ALL);
        let remote = p.rights(ip("192.0.2.7"), None);
        assert!(remote.read && remote.change && !remote.shutdown);
    }

    #[test]
    fn changes_and_all_restrict_more() {
        let remote = policy("changes", &["loopback"]).rights(ip("192.0.2.7"), None);
        assert!(remote.read && !remote.change && !remote.shutdown);
        let remote = policy("all", &["loopback"]).rights(ip("192.0.2.7"), None);
        assert!(!remote.read && !remote.change && !remote.shutdown);
    }

    #[test]
    fn addresses_networks_and_subjects() {
        let p = policy(
            "all",
            &["10.0.0.0/8", "2001:db8::1", "subject:CN = ops, O = Ex"],
        );
        assert_eq!(p.rights(ip("10.9.8.7"), None), AdminRights::ALL);
        assert_eq!(p.rights(ip("::ffff:10.1.1.1"), None), AdminRights::ALL);
        assert_eq!(p.rights(ip("2001:db8::1"), None), AdminRights::ALL);
        assert!(!p.rights(ip("2001:db8::2"), None).read);
        assert!(!p.rights(ip("11.0.0.1"), None).read);
        // Loopback is not trusted unless listed.
        assert!(!p.rights(ip("127.0.0.1"), None).read);
        assert_eq!(
            p.rights(ip("11.0.0.1"), Some("CN=ops,O=Ex")),
            AdminRights::ALL
        );
        assert!(!p.rights(ip("11.0.0.1"), Some("CN=ops2,O=Ex")).read);
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in ["10.0.0.0/33", "nothing", "::1/129", "subject:", "1.2.3.4/x"] {
            assert!(
                AdminPolicy::parse(None, &[bad.to_string()]).is_err(),
                "{bad}"
            );
        }
        assert!(AdminPolicy::parse(Some("some"), &[]).is_err());
    }

    #[test]
    fn dn_normalisation() {
        assert_eq!(normalise_dn("cn = a, o = b\\, c"), "CN=a,O=b\\, c");
        assert_eq!(normalise_dn("CN=a,O=b"), "CN=a,O=b");
    }
}
