//! Where a job lives in Redis and how its hash looks.
//!
//! Two key spaces:
//!
//! - **plain** — C gearmand's layout, used whenever it can express the job exactly (not an epoch
//!   job and no `-` in the function name): key `<prefix>-<function>-<unique>`, a hash with
//!   exactly the fields `data` and `priority` (written in that order). C gearmand replays these.
//! - **extended** — everything else (epoch jobs, which C gearmand refuses, and functions
//!   containing `-`, which C gearmand splits wrongly): key `<m>gmx:<prefix>:<f>-<u>` where `<m>`
//!   is `#` (or `%` when the prefix itself starts with `#`) and `<f>`/`<u>` are the names with
//!   `%`, `-`, control bytes and space percent-encoded, so the key is unambiguous. The hash has
//!   `data`, `priority`, `when`, `function` and `unique`. These keys do not start with the prefix,
//!   so C gearmand's `KEYS <prefix>*` replay never sees them (a hash with more than two fields
//!   can make C gearmand's replay abort, depending on Redis' field order).
//!
//! Legacy values (gearmand ≤ 1.1.15) are plain strings under plain keys: the data, priority normal.

/// Builds and parses keys for one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    /// `<prefix>-`: the start of every plain key.
    plain_head: Vec<u8>,
    /// `<m>gmx:<prefix>:`: the start of every extended key.
    extended_head: Vec<u8>,
}

/// Which key space a job belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Plain,
    Extended,
}

/// Field names of the hash.
pub const F_DATA: &str = "data";
pub const F_PRIORITY: &str = "priority";
pub const F_WHEN: &str = "when";
pub const F_FUNCTION: &str = "function";
pub const F_UNIQUE: &str = "unique";

/// Picks the key space: plain only when C gearmand's layout says everything about the job.
pub fn space_for(function: &[u8], when: i64) -> Space {
    if when != 0 || function.contains(&b'-') {
        Space::Extended
    } else {
        Space::Plain
    }
}

/// Percent-encodes what would make an extended key ambiguous or awkward to read.
fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if b == b'%' || b == b'-' || b <= b' ' || b == 0x7f {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// Escapes the glob characters of a `SCAN ... MATCH` pattern.
fn glob_escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\' | b'^') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

impl Keys {
    pub fn new(prefix: &[u8]) -> Keys {
        let mut plain_head = prefix.to_vec();
        plain_head.push(b'-');
        let marker = if prefix.first() == Some(&b'#') {
            b'%'
        } else {
            b'#'
        };
        let mut extended_head = vec![marker];
        extended_head.extend_from_slice(b"gmx:");
        extended_head.extend_from_slice(prefix);
        extended_head.push(b':');
        Keys {
            plain_head,
            extended_head,
        }
    }

    /// The key of a job in `space`.
    pub fn key(&self, space: Space, function: &[u8], unique: &[u8]) -> Vec<u8> {
        match space {
            Space::Plain => {
                let mut key = self.plain_head.clone();
                key.extend_from_slice(function);
                key.push(b'-');
                key.extend_from_slice(unique);
                key
            }
            Space::Extended => {
                let mut key = self.extended_head.clone();
                escape(function, &mut key);
                key.push(b'-');
                escape(unique, &mut key);
                key
            }
        }
    }

    /// The `SCAN` pattern matching every key of `space`.
    pub fn pattern(&self, space: Space) -> Vec<u8> {
        let head = match space {
            Space::Plain => &self.plain_head,
            Space::Extended => &self.extended_head,
        };
        let mut pattern = Vec::with_capacity(head.len() + 4);
        glob_escape(head, &mut pattern);
        pattern.push(b'*');
        pattern
    }

    /// (function, unique) of a plain key, split at the first `-` after the prefix as C gearmand
    /// does (right for every key we write; a C-written function containing `-` comes back cut).
    pub fn split_plain<'k>(&self, key: &'k [u8]) -> Option<(&'k [u8], &'k [u8])> {
        let rest = key.strip_prefix(self.plain_head.as_slice())?;
        let at = rest.iter().position(|&b| b == b'-')?;
        Some((&rest[..at], &rest[at + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_are_c_gearmands() {
        let k = Keys::new(b"_gear_");
        assert_eq!(k.key(Space::Plain, b"fn", b"uniq-1"), b"_gear_-fn-uniq-1");
        assert_eq!(k.key(Space::Plain, b"fn3", b""), b"_gear_-fn3-");
        assert_eq!(
            k.split_plain(b"_gear_-fn-uniq-1"),
            Some((&b"fn"[..], &b"uniq-1"[..]))
        );
        assert_eq!(k.split_plain(b"_gear_-nodash"), None);
        assert_eq!(k.split_plain(b"other-fn-u"), None);
        assert_eq!(k.pattern(Space::Plain), b"_gear_-*");
    }

    #[test]
    fn extended_keys_are_unambiguous_and_outside_the_prefix() {
        let k = Keys::new(b"_gear_");
        let a = k.key(Space::Extended, b"a-b", b"c");
        let b = k.key(Space::Extended, b"a", b"b-c");
        assert_ne!(a, b);
        assert_eq!(a, b"#gmx:_gear_:a%2Db-c");
        assert_eq!(
            k.key(Space::Extended, b"f n", b"%\n"),
            b"#gmx:_gear_:f%20n-%25%0A"
        );
        assert!(!a.starts_with(b"_gear_"));
        let hash = Keys::new(b"#p*");
        assert_eq!(hash.key(Space::Extended, b"f", b"u"), b"%gmx:#p*:f-u");
        assert_eq!(hash.pattern(Space::Plain), b"#p\\*-*");
    }

    #[test]
    fn space_choice() {
        assert_eq!(space_for(b"fn", 0), Space::Plain);
        assert_eq!(space_for(b"fn", 5), Space::Extended);
        assert_eq!(space_for(b"f-n", 0), Space::Extended);
    }
}
