//! Byte sizes as operators write them (`65536`, `64K`, `16m`, `2MiB`, `1GB`): the one parser
//! behind every size option, the host's and the plugins', so that one spelling works everywhere.
//!
//! A size is a plain count of bytes, optionally followed by a binary multiplier: `K`, `M` or `G`
//! (1024, 1024², 1024³), in any case, optionally followed by `B` or `iB`; a lone `B` means bytes.
//! Blanks around the value are ignored, blanks inside it are not. What a size may be (at least
//! 1, at most a request's bound) is the option's to check, not the parser's.

use std::fmt;

/// Why a text is not a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeError {
    /// Nothing but blanks.
    Empty,
    /// The text does not start with a digit (`x`, `-1`, `K`).
    NoNumber,
    /// Digits followed by something that is not a multiplier (`12X`, `4 K`, `1T`).
    UnknownSuffix,
    /// The number, times its multiplier, does not fit in 64 bits.
    TooLarge,
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeError::Empty => "the value is empty",
            SizeError::NoNumber => "it does not start with a number of bytes",
            SizeError::UnknownSuffix => {
                "the number is followed by something other than K, M or G (optionally with B or iB)"
            }
            SizeError::TooLarge => "it does not fit in 64 bits",
        })
    }
}

impl std::error::Error for SizeError {}

/// Parses `text` as a number of bytes.
pub fn parse(text: &str) -> Result<u64, SizeError> {
    parse_trimmed(text.trim().as_bytes())
}

/// [`parse`] for a size held in memory: one that does not fit in `usize` is [`SizeError::TooLarge`].
pub fn parse_usize(text: &str) -> Result<usize, SizeError> {
    usize::try_from(parse(text)?).map_err(|_| SizeError::TooLarge)
}

/// A size written in the source, for a default that `--help` shows as text and the code uses as
/// a number: defined once, as the text. A text that is not a size fails the build.
pub const fn constant(text: &str) -> u64 {
    match parse_trimmed(text.as_bytes()) {
        Ok(n) => n,
        Err(_) => panic!("not a size"),
    }
}

/// The parser itself, `const` so that [`constant`] is the same code as [`parse`].
const fn parse_trimmed(t: &[u8]) -> Result<u64, SizeError> {
    if t.is_empty() {
        return Err(SizeError::Empty);
    }
    let mut n: u64 = 0;
    let mut i = 0;
    while i < t.len() && t[i].is_ascii_digit() {
        let digit = (t[i] - b'0') as u64;
        n = match n.checked_mul(10) {
            Some(m) => match m.checked_add(digit) {
                Some(m) => m,
                None => return Err(SizeError::TooLarge),
            },
            None => return Err(SizeError::TooLarge),
        };
        i += 1;
    }
    if i == 0 {
        return Err(SizeError::NoNumber);
    }
    let Some(shift) = shift(t, i) else {
        return Err(SizeError::UnknownSuffix);
    };
    match n.checked_mul(1u64 << shift) {
        Some(n) => Ok(n),
        None => Err(SizeError::TooLarge),
    }
}

/// The multiplier's power of two for the suffix `t[at..]` (any case): none or `B`, then
/// `K`/`M`/`G` alone or with `B` or `iB`.
const fn shift(t: &[u8], at: usize) -> Option<u32> {
    let rest = t.len() - at;
    if rest == 0 || (rest == 1 && t[at].eq_ignore_ascii_case(&b'b')) {
        return Some(0);
    }
    let shift = match t[at].to_ascii_lowercase() {
        b'k' => 10,
        b'm' => 20,
        b'g' => 30,
        _ => return None,
    };
    let unit = match rest {
        1 => true,
        2 => t[at + 1].eq_ignore_ascii_case(&b'b'),
        3 => t[at + 1].eq_ignore_ascii_case(&b'i') && t[at + 2].eq_ignore_ascii_case(&b'b'),
        _ => false,
    };
    if unit {
        Some(shift)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_and_every_suffix() {
        for (text, n) in [
            ("0", 0),
            ("65536", 65536),
            (" 4096 ", 4096),
            ("12B", 12),
            ("1k", 1 << 10),
            ("64K", 64 << 10),
            ("8KB", 8 << 10),
            ("8kib", 8 << 10),
            ("16m", 16 << 20),
            ("2MiB", 2 << 20),
            ("3mb", 3 << 20),
            ("1G", 1 << 30),
            ("2GiB", 2 << 30),
            ("4gb", 4 << 30),
        ] {
            assert_eq!(parse(text), Ok(n), "{text}");
        }
    }

    #[test]
    fn each_mistake_has_its_reason() {
        assert_eq!(parse(""), Err(SizeError::Empty));
        assert_eq!(parse("  "), Err(SizeError::Empty));
        for text in ["x", "-1", "K", "+5"] {
            assert_eq!(parse(text), Err(SizeError::NoNumber), "{text}");
        }
        for text in ["12X", "4 K", "1T", "2KK", "3kbb", "5iB", "6Mi"] {
            assert_eq!(parse(text), Err(SizeError::UnknownSuffix), "{text}");
        }
        assert_eq!(parse("99999999999999999999"), Err(SizeError::TooLarge));
        assert_eq!(parse("17179869184G"), Err(SizeError::TooLarge));
        assert_eq!(parse("99999999999999999999G"), Err(SizeError::TooLarge));
    }

    #[test]
    fn the_messages_say_what_was_wrong() {
        let e = parse("12X").unwrap_err().to_string();
        assert!(e.contains("K, M or G"), "{e}");
        assert!(parse("x").unwrap_err().to_string().contains("number"));
        assert!(parse("").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn constants_are_the_same_parser() {
        const DEFAULT: &str = "64M";
        const N: u64 = constant(DEFAULT);
        assert_eq!(Ok(N), parse(DEFAULT));
        assert_eq!(constant("16K"), 16 << 10);
    }

    #[test]
    fn usize_sizes() {
        assert_eq!(parse_usize("64M"), Ok(64 << 20));
        assert_eq!(parse_usize("nope"), Err(SizeError::NoNumber));
    }
}
