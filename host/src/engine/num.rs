//! Number parsing and printing with C semantics, without allocating.
//!
//! The original parses request numbers with `strtol`/`strtoll`/`atoi`, so a rewrite that wants the
//! same answers for odd input ("12abc", " 7", "-1") has to parse the same way: skip leading white
//! space, an optional sign, then as many digits as there are; garbage is 0.

/// Result of [`strtol`]: the value (clamped to the i64 range) and whether it was clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parsed {
    /// A value inside the i64 range (0 for text without digits).
    Value(i64),
    /// The digits did not fit; the value is what C would return (i64::MAX or i64::MIN).
    OutOfRange(i64),
}

impl Parsed {
    pub(super) fn clamped(self) -> i64 {
        match self {
            Parsed::Value(v) | Parsed::OutOfRange(v) => v,
        }
    }
}

/// C `strtol` on a 64-bit `long` (also `strtoll`).
pub(super) fn strtol(s: &[u8]) -> Parsed {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    // Accumulate negatively so that i64::MIN itself fits.
    let mut acc: i64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        let digit = (d - b'0') as i64;
        match acc.checked_mul(10).and_then(|a| a.checked_sub(digit)) {
            Some(a) => acc = a,
            None => overflow = true,
        }
        i += 1;
    }
    match (overflow, negative) {
        (true, true) => Parsed::OutOfRange(i64::MIN),
        (true, false) => Parsed::OutOfRange(i64::MAX),
        (false, true) => Parsed::Value(acc),
        (false, false) => match acc.checked_neg() {
            Some(v) => Parsed::Value(v),
            None => Parsed::OutOfRange(i64::MAX),
        },
    }
}

/// glibc `atoi` (`(int)strtol(...)`), as the original stores it into a `uint32_t`.
pub(super) fn atoi_u32(s: &[u8]) -> u32 {
    strtol(s).clamped() as u32
}

/// glibc `atoi` as a signed int.
pub(super) fn atoi_i32(s: &[u8]) -> i32 {
    strtol(s).clamped() as i32
}

/// The bytes before the first NUL (C string semantics of a copied argument).
pub(super) fn up_to_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// Decimal digits of a number, on the stack.
pub(super) struct Decimal {
    buf: [u8; 20],
    start: u8,
}

impl Decimal {
    pub(super) fn new(mut n: u64) -> Decimal {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal {
            buf,
            start: i as u8,
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start as usize..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_follows_c() {
        assert_eq!(strtol(b"2500"), Parsed::Value(2500));
        assert_eq!(strtol(b"  -12abc"), Parsed::Value(-12));
        assert_eq!(strtol(b"+7"), Parsed::Value(7));
        assert_eq!(strtol(b"abc"), Parsed::Value(0));
        assert_eq!(strtol(b""), Parsed::Value(0));
        assert_eq!(
            strtol(b"99999999999999999999"),
            Parsed::OutOfRange(i64::MAX)
        );
        assert_eq!(
            strtol(b"-99999999999999999999"),
            Parsed::OutOfRange(i64::MIN)
        );
        assert_eq!(strtol(b"-9223372036854775808"), Parsed::Value(i64::MIN));
        assert_eq!(strtol(b"9223372036854775807"), Parsed::Value(i64::MAX));
    }

    #[test]
    fn atoi_wraps_like_glibc() {
        assert_eq!(atoi_u32(b"-1"), u32::MAX);
        assert_eq!(atoi_u32(b"4294967296"), 0);
        assert_eq!(atoi_u32(b"42%"), 42);
        assert_eq!(atoi_i32(b"-5"), -5);
    }

    #[test]
    fn decimal_prints_numbers() {
        assert_eq!(Decimal::new(0).as_bytes(), b"0");
        assert_eq!(Decimal::new(4294967295).as_bytes(), b"4294967295");
        assert_eq!(Decimal::new(u64::MAX).as_bytes(), b"18446744073709551615");
    }
}
