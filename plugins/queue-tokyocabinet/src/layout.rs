//! The record layout of C gearmand's libtokyocabinet queue, byte for byte.
//!
//! - key:   `<function>-<unique>` (no prefix)
//! - value: `<function> NUL <unique> NUL <P><when> NUL <data>`, where `P` is one ASCII digit
//!   (`0` high, `1` normal, `2` low) immediately followed by `when` in decimal (0 = run now).
//!
//! The value carries function and unique on its own, so replay never splits the key (a function
//! containing `-` is read back exactly). The key is only an address, and it is ambiguous when
//! function or unique contain `-` (`a-b`+`c` and `a`+`b-c` share `a-b-c`).
//!
//! Two key spaces, as in the redis and memcached plugins:
//!
//! - **plain** — C gearmand's key `<function>-<unique>`, used for every job whose plain key is
//!   free or already holds this very job (the common case: byte-identical to the original).
//! - **extended** — [`extended_key`]: `NUL "gmx" NUL <function> NUL <unique>`, used only for a job
//!   whose plain key is already held by a *different* job (e.g. `a`+`b-c` while `a-b`+`c` is
//!   stored). Gear names never contain NUL, so a plain key never does: the two spaces cannot
//!   meet, and the extended key is unambiguous. The value is the same record layout, so replay
//!   (ours and C gearmand's, which both read the value, not the key) returns the job exactly.
//!
//! `lib.rs` decides the space at `add` and looks in both at `done`.

use gearmand_plugin_api::Priority;

/// Why a stored value could not be read as a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutError {
    /// The value ends before the NUL after the function name.
    NoFunctionEnd,
    /// The value ends before the NUL after the unique.
    NoUniqueEnd,
    /// Nothing after the unique: no priority digit.
    NoPriority,
    /// The time is not a decimal number or does not fit 64 bits.
    BadWhen,
    /// Function or unique contain a NUL byte and cannot be stored in this layout.
    NulInName,
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            LayoutError::NoFunctionEnd => "value has no NUL after the function name",
            LayoutError::NoUniqueEnd => "value has no NUL after the unique",
            LayoutError::NoPriority => "value has no priority digit",
            LayoutError::BadWhen => "value has a malformed time",
            LayoutError::NulInName => "function or unique contains a NUL byte",
        };
        f.write_str(text)
    }
}

/// One job as read back from a value (borrowing the value's bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub function: &'a [u8],
    pub unique: &'a [u8],
    pub priority: Priority,
    pub when: i64,
    pub data: &'a [u8],
}

/// The key C gearmand uses: `<function>-<unique>`.
pub fn key(function: &[u8], unique: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(function.len() + 1 + unique.len());
    key.extend_from_slice(function);
    key.push(b'-');
    key.extend_from_slice(unique);
    key
}

/// The head of every extended key; no plain key starts with NUL (see the module comment).
pub const EXTENDED_HEAD: &[u8] = b"\0gmx\0";

/// The extended key of a job whose plain key is held by another job:
/// `NUL "gmx" NUL <function> NUL <unique>` (names are NUL-free, so this splits one way only).
pub fn extended_key(function: &[u8], unique: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(EXTENDED_HEAD.len() + function.len() + 1 + unique.len());
    key.extend_from_slice(EXTENDED_HEAD);
    key.extend_from_slice(function);
    key.push(0);
    key.extend_from_slice(unique);
    key
}

/// True when another (function, unique) pair can produce the same key: more than one `-`.
pub fn key_is_ambiguous(key: &[u8]) -> bool {
    key.iter().filter(|&&b| b == b'-').count() > 1
}

/// The value for a job, as C gearmand writes it.
pub fn encode(record: &Record<'_>) -> Result<Vec<u8>, LayoutError> {
    if record.function.contains(&0) || record.unique.contains(&0) {
        return Err(LayoutError::NulInName);
    }
    let when = record.when.to_string();
    let mut value = Vec::with_capacity(
        record.function.len() + record.unique.len() + when.len() + record.data.len() + 4,
    );
    value.extend_from_slice(record.function);
    value.push(0);
    value.extend_from_slice(record.unique);
    value.push(0);
    value.push(match record.priority {
        Priority::High => b'0',
        Priority::Normal => b'1',
        Priority::Low => b'2',
    });
    value.extend_from_slice(when.as_bytes());
    value.push(0);
    value.extend_from_slice(record.data);
    Ok(value)
}

/// Splits `bytes` at the first NUL: (before, after).
fn split_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// Reads a value written by C gearmand or by us.
///
/// Like the original, an absent time (priority digit directly followed by NUL) is 0 and any
/// priority character other than `0`/`2` is normal. Unlike it, a value cut short is an error
/// instead of a read past the end.
pub fn decode(value: &[u8]) -> Result<Record<'_>, LayoutError> {
    let (function, rest) = split_nul(value).ok_or(LayoutError::NoFunctionEnd)?;
    let (unique, rest) = split_nul(rest).ok_or(LayoutError::NoUniqueEnd)?;
    let (&p, rest) = rest.split_first().ok_or(LayoutError::NoPriority)?;
    let priority = match p {
        b'0' => Priority::High,
        b'2' => Priority::Low,
        _ => Priority::Normal,
    };
    let digits = rest
        .iter()
        .take_while(|&&b| b.is_ascii_digit() || b == b'-')
        .count();
    let when = match digits {
        0 => 0,
        _ => std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or(LayoutError::BadWhen)?,
    };
    // The NUL after the time; a value ending right after the time has empty data.
    let data = match rest.get(digits) {
        Some(0) => &rest[digits + 1..],
        None => &[][..],
        Some(_) => return Err(LayoutError::BadWhen),
    };
    Ok(Record {
        function,
        unique,
        priority,
        when,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_c_gearmand() {
        let rec = Record {
            function: b"fn",
            unique: b"u1",
            priority: Priority::Normal,
            when: 0,
            data: b"payload",
        };
        assert_eq!(encode(&rec).unwrap(), b"fn\0u1\x0010\0payload");
        assert_eq!(key(b"fn", b"u1"), b"fn-u1");
    }

    #[test]
    fn round_trips_odd_bytes() {
        let rec = Record {
            function: b"f-n\xff",
            unique: b"",
            priority: Priority::Low,
            when: 1_900_000_000,
            data: b"\0bin\0\xfe",
        };
        let value = encode(&rec).unwrap();
        assert_eq!(decode(&value).unwrap(), rec);
    }

    #[test]
    fn reads_legacy_and_rejects_truncated() {
        // Priority digit without a time: when 0, like strtoul on no digits.
        let r = decode(b"fn\0u\x002\0data").unwrap();
        assert_eq!(
            (r.priority, r.when, r.data),
            (Priority::Low, 0, &b"data"[..])
        );
        assert_eq!(decode(b"fn"), Err(LayoutError::NoFunctionEnd));
        assert_eq!(decode(b"fn\0u"), Err(LayoutError::NoUniqueEnd));
        assert_eq!(decode(b"fn\0u\0"), Err(LayoutError::NoPriority));
        assert_eq!(decode(b"fn\0u\x001x\0"), Err(LayoutError::BadWhen));
        assert!(key_is_ambiguous(b"a-b-c"));
        assert!(!key_is_ambiguous(b"ab-c"));
    }

    #[test]
    fn extended_keys_are_unambiguous_and_never_plain() {
        let a = extended_key(b"a-b", b"c");
        let b = extended_key(b"a", b"b-c");
        assert_ne!(a, b);
        assert_eq!(b, b"\0gmx\0a\0b-c");
        assert!(a.starts_with(EXTENDED_HEAD));
        // A plain key is made of NUL-free names, so it can never start with NUL.
        assert!(!key(b"gmx", b"a").starts_with(b"\0"));
    }

    #[test]
    fn refuses_nul_in_names() {
        let rec = Record {
            function: b"f\0",
            unique: b"u",
            priority: Priority::High,
            when: 0,
            data: b"",
        };
        assert_eq!(encode(&rec), Err(LayoutError::NulInName));
    }
}
