//! Byte strings in text columns: how a unique or function name that is not valid UTF-8 (or holds
//! a NUL byte) is kept in a `VARCHAR` column, which PostgreSQL and MySQL/MariaDB only accept as
//! valid UTF-8 without NUL.
//!
//! The rule keeps every value C gearmand can write unchanged, so rows replay in both directions:
//! - A value that is valid UTF-8 is stored as it is, except for two kinds of character: NUL and
//!   the private-use characters U+F700..=U+F7FF (the escape range).
//! - Every byte of such a character, and every byte that is not part of valid UTF-8, is stored as
//!   the single character U+F700 + byte.
//!
//! Reading maps each character of the escape range back to its byte. The mapping is one to one,
//! and a stored value never has more characters than the original has bytes, so the 64-character
//! `unique_key` column still holds any 64-byte unique. C gearmand replaying an escaped row sees
//! the escape characters themselves (it could not have stored such a key at all).
//!
//! Which values those columns refuse (too wide, `when` out of range): [`Limits::check`].
//!
//! The crate is the code the SQL server queues (mysql, postgres) share; besides the keys, that is
//! their reconnect rule ([`reconnect`]), their group transaction ([`group`]) and how a replayed
//! row becomes a job ([`StoredRow`]).

#[cfg(test)]
mod fake;
pub mod group;
mod limits;
pub mod reconnect;
mod row;

pub use limits::{LimitError, Limits};
pub use row::StoredRow;
use std::borrow::Cow;
use std::fmt;

/// First character of the escape range; `ESCAPE_BASE + b` stands for byte `b`.
const ESCAPE_BASE: u32 = 0xF700;

/// Whether a valid character must still be escaped byte by byte.
fn needs_escape(c: char) -> bool {
    c == '\0' || (ESCAPE_BASE..=ESCAPE_BASE + 0xFF).contains(&(c as u32))
}

/// The character that stands for byte `b`.
fn escape_char(b: u8) -> char {
    char::from_u32(ESCAPE_BASE + u32::from(b)).expect("U+F700..U+F7FF are valid characters")
}

/// The text stored for `bytes` (borrowed when nothing needs escaping, the common case).
pub fn encode(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.chars().any(needs_escape) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() * 3);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_escape(c) {
                let mut buf = [0u8; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(escape_char));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(escape_char));
    }
    Cow::Owned(out)
}

/// The bytes a stored text stands for (borrowed when it holds no escape character).
pub fn decode(text: &[u8]) -> Cow<'_, [u8]> {
    let Ok(s) = std::str::from_utf8(text) else {
        // Not written by us (e.g. a latin1 column): hand the bytes over as they are.
        return Cow::Borrowed(text);
    };
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len());
    for c in s.chars() {
        let code = c as u32;
        if (ESCAPE_BASE..=ESCAPE_BASE + 0xFF).contains(&code) {
            out.push((code - ESCAPE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// A table name the plugins refuse, with the option that named it (`mysql-table`, `libpq-table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTable {
    pub option: &'static str,
    pub name: String,
}

impl fmt::Display for BadTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let BadTable { option, name } = self;
        write!(
            f,
            "invalid --{option} {name:?}: use letters, digits and _ only"
        )
    }
}

impl std::error::Error for BadTable {}

/// Refuses a table name that is not a plain identifier (the name goes into SQL text); `option`
/// is the option it came from, for the message.
pub fn check_table_name(option: &'static str, name: &str) -> Result<(), BadTable> {
    if valid_table_name(name) {
        return Ok(());
    }
    Err(BadTable {
        option,
        name: name.to_string(),
    })
}

/// A table name is used in SQL text, so it must be a plain identifier: a letter or `_`, then
/// letters, digits or `_`, at most 63 characters (PostgreSQL's limit; MySQL allows 64).
fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok && name.len() <= 63 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) {
        let text = encode(bytes);
        assert!(!text.contains('\0'));
        assert!(text.chars().count() <= bytes.len());
        assert_eq!(decode(text.as_bytes()).as_ref(), bytes, "via {text:?}");
    }

    #[test]
    fn plain_text_is_stored_unchanged() {
        for s in ["", "uniq-1", "it's", "back\\slash", "ünïcödé", "日本"] {
            assert!(matches!(encode(s.as_bytes()), Cow::Borrowed(t) if t == s));
            assert!(matches!(decode(s.as_bytes()), Cow::Borrowed(t) if t == s.as_bytes()));
        }
    }

    #[test]
    fn odd_bytes_round_trip() {
        round_trip(b"nul\0byte");
        round_trip(b"\xff\xfe\x80 latin1 \xe9t\xe9");
        round_trip("escape range \u{f700}\u{f7ff} literal".as_bytes());
        round_trip(&[0xef, 0x9c]); // a cut-off escape-range character
        let all: Vec<u8> = (0..=255u8).collect();
        round_trip(&all);
    }

    #[test]
    fn table_names() {
        assert!(valid_table_name("gearman_queue"));
        assert!(valid_table_name("_q2"));
        for bad in [
            "",
            "2q",
            "q;drop",
            "q q",
            "q'",
            "schema.q",
            "q-x",
            &"x".repeat(64),
        ] {
            assert!(!valid_table_name(bad), "{bad}");
        }
        assert_eq!(check_table_name("mysql-table", "q"), Ok(()));
        let err = check_table_name("libpq-table", "q;x").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid --libpq-table "q;x": use letters, digits and _ only"#
        );
    }
}
