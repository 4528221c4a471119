//! Where a job lives in memcached and what its item holds.
//!
//! - **plain** — C gearmand's layout, used whenever it can express the job exactly (not an epoch
//!   job, no `-` in the function name, and a key memcached's text protocol accepts): key
//!   `<prefix><function>-<unique>`, value the raw data, flags the priority (0/1/2).
//! - **extended** — everything else: key `<m>gmx:<prefix>:<f>-<u>` where `<m>` is `#` (or `%`
//!   when the prefix starts with `#`) and `<f>`/`<u>` are the names with `%`, `-`, space and
//!   control bytes percent-encoded (so the key is unambiguous and valid); value
//!   `<function> NUL <unique> NUL <P><when> NUL <data>` (the tokyocabinet record layout), flags
//!   the priority. These keys do not start with the prefix, so C gearmand's replay ignores them.
//!
//! Memcached keys are at most 250 bytes without spaces or control characters; a job whose key
//! cannot be made to fit is refused with an error (C gearmand could not store it either).

use gearmand_plugin_api::Priority;

/// Memcached's key length limit.
pub const MAX_KEY: usize = 250;

/// Which form a job is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Plain,
    Extended,
}

/// Why a job cannot be stored or an item not read as a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// The key would exceed [`MAX_KEY`].
    KeyTooLong(usize),
    /// Function or unique contain NUL, which the extended value cannot hold.
    NulInName,
    /// An extended value that does not parse.
    BadValue(&'static str),
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutError::KeyTooLong(n) => {
                write!(
                    f,
                    "key of {n} bytes exceeds memcached's {MAX_KEY}-byte limit"
                )
            }
            LayoutError::NulInName => write!(f, "function or unique contains a NUL byte"),
            LayoutError::BadValue(why) => write!(f, "malformed extended value: {why}"),
        }
    }
}

/// A byte memcached's text protocol cannot carry in a key.
fn bad_key_byte(b: u8) -> bool {
    b <= b' ' || b == 0x7f
}

/// Whether memcached accepts `key` as it is.
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY && !key.iter().any(|&b| bad_key_byte(b))
}

fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if b == b'%' || b == b'-' || bad_key_byte(b) {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// A job as read back from an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub function: Vec<u8>,
    pub unique: Vec<u8>,
    pub data: Vec<u8>,
    pub priority: Priority,
    pub when: i64,
}

/// Builds and recognises keys for one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: Vec<u8>,
    extended_head: Vec<u8>,
}

impl Keys {
    pub fn new(prefix: &[u8]) -> Keys {
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
            prefix: prefix.to_vec(),
            extended_head,
        }
    }

    /// The plain key, if memcached accepts it.
    fn plain_key(&self, function: &[u8], unique: &[u8]) -> Option<Vec<u8>> {
        let mut key = self.prefix.clone();
        key.extend_from_slice(function);
        key.push(b'-');
        key.extend_from_slice(unique);
        valid_key(&key).then_some(key)
    }

    fn extended_key(&self, function: &[u8], unique: &[u8]) -> Result<Vec<u8>, LayoutError> {
        let mut key = self.extended_head.clone();
        escape(function, &mut key);
        key.push(b'-');
        escape(unique, &mut key);
        match key.len() {
            n if n > MAX_KEY => Err(LayoutError::KeyTooLong(n)),
            _ => Ok(key),
        }
    }

    /// The form a new job is stored in and its key.
    pub fn key_for(
        &self,
        function: &[u8],
        unique: &[u8],
        when: i64,
    ) -> Result<(Space, Vec<u8>), LayoutError> {
        if when == 0 && !function.contains(&b'-') {
            if let Some(key) = self.plain_key(function, unique) {
                return Ok((Space::Plain, key));
            }
        }
        Ok((Space::Extended, self.extended_key(function, unique)?))
    }

    /// Every key the job (function, unique) may be stored under, in either form, by us or by
    /// C gearmand; `done` deletes them all.
    pub fn all_keys(&self, function: &[u8], unique: &[u8]) -> Vec<Vec<u8>> {
        let plain = self.plain_key(function, unique);
        plain
            .into_iter()
            .chain(self.extended_key(function, unique).ok())
            .collect()
    }

    /// Which space a listed key belongs to, if it is ours at all.
    pub fn classify(&self, key: &[u8]) -> Option<Space> {
        if key.starts_with(&self.extended_head) {
            Some(Space::Extended)
        } else if key.starts_with(&self.prefix) {
            Some(Space::Plain)
        } else {
            None
        }
    }

    /// Reads an item back: plain items are split at the first `-` after the prefix, as C
    /// gearmand does; extended items carry their names in the value.
    pub fn decode(&self, key: &[u8], flags: u32, value: &[u8]) -> Result<Record, LayoutError> {
        match self.classify(key) {
            Some(Space::Extended) => decode_extended(value, flags),
            Some(Space::Plain) => {
                let rest = &key[self.prefix.len()..];
                let at = rest
                    .iter()
                    .position(|&b| b == b'-')
                    .ok_or(LayoutError::BadValue("plain key without '-'"))?;
                Ok(Record {
                    function: rest[..at].to_vec(),
                    unique: rest[at + 1..].to_vec(),
                    data: value.to_vec(),
                    priority: Priority::from_u32(flags),
                    when: 0,
                })
            }
            None => Err(LayoutError::BadValue("key outside this prefix")),
        }
    }
}

/// The extended value for a job.
pub fn encode_extended(
    function: &[u8],
    unique: &[u8],
    data: &[u8],
    priority: Priority,
    when: i64,
) -> Result<Vec<u8>, LayoutError> {
    if function.contains(&0) || unique.contains(&0) {
        return Err(LayoutError::NulInName);
    }
    let when = when.to_string();
    let mut v = Vec::with_capacity(function.len() + unique.len() + when.len() + data.len() + 4);
    v.extend_from_slice(function);
    v.push(0);
    v.extend_from_slice(unique);
    v.push(0);
    v.push(b'0' + priority as u8);
    v.extend_from_slice(when.as_bytes());
    v.push(0);
    v.extend_from_slice(data);
    Ok(v)
}

fn split_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

fn decode_extended(value: &[u8], flags: u32) -> Result<Record, LayoutError> {
    let bad = LayoutError::BadValue;
    let (function, rest) = split_nul(value).ok_or(bad("no function"))?;
    let (unique, rest) = split_nul(rest).ok_or(bad("no unique"))?;
    let (&p, rest) = rest.split_first().ok_or(bad("no priority"))?;
    let (when, data) = split_nul(rest).ok_or(bad("no time"))?;
    let when = std::str::from_utf8(when)
        .ok()
        .and_then(|w| w.parse::<i64>().ok())
        .ok_or(bad("time is not a number"))?;
    let priority = match p {
        b'0'..=b'2' => Priority::from_u32(u32::from(p - b'0')),
        _ => Priority::from_u32(flags),
    };
    Ok(Record {
        function: function.to_vec(),
        unique: unique.to_vec(),
        data: data.to_vec(),
        priority,
        when,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_c_gearmands_layout() {
        let k = Keys::new(b"gear_");
        let (space, key) = k.key_for(b"fn", b"uniq-1", 0).unwrap();
        assert_eq!(
            (space, key.as_slice()),
            (Space::Plain, &b"gear_fn-uniq-1"[..])
        );
        let r = k.decode(b"gear_fn-x-uniq-1", 2, b"d\0ata").unwrap();
        assert_eq!(
            (r.function.as_slice(), r.unique.as_slice()),
            (&b"fn"[..], &b"x-uniq-1"[..])
        );
        assert_eq!(
            (r.priority, r.when, r.data.as_slice()),
            (Priority::Low, 0, &b"d\0ata"[..])
        );
    }

    #[test]
    fn extended_when_c_cannot_express_the_job() {
        let k = Keys::new(b"gear_");
        for (f, u, when, key) in [
            (&b"fn"[..], &b"u"[..], 5, &b"#gmx:gear_:fn-u"[..]),
            (b"f-n", b"u", 0, b"#gmx:gear_:f%2Dn-u"),
            (b"fn", b"sp ace", 0, b"#gmx:gear_:fn-sp%20ace"),
        ] {
            assert_eq!(
                k.key_for(f, u, when).unwrap(),
                (Space::Extended, key.to_vec())
            );
        }
        let v = encode_extended(b"f-n", b"", b"\0x", Priority::High, 9).unwrap();
        let r = k.decode(b"#gmx:gear_:f%2Dn-", 0, &v).unwrap();
        assert_eq!(
            r,
            Record {
                function: b"f-n".to_vec(),
                unique: vec![],
                data: b"\0x".to_vec(),
                priority: Priority::High,
                when: 9
            }
        );
        assert!(matches!(
            k.key_for(b"fn", &[b'u'; 300], 0),
            Err(LayoutError::KeyTooLong(_))
        ));
        assert_eq!(k.classify(b"other"), None);
        assert!(k.decode(b"#gmx:gear_:x", 0, b"junk").is_err());
    }
}
