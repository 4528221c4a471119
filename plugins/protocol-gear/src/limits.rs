//! Per-packet limits of the gear codec: how large a packet may be, and how long its function name
//! and unique key may be. They keep one client from making the server buffer a 4 GiB body or fill
//! the function table with megabyte names.
//!
//! - A packet whose declared size is over `max_packet` is refused as soon as its header is read,
//!   before any of its body is buffered: the codec answers `ERROR ARGUMENT_TOO_LARGE` and closes
//!   the connection (the rest of the stream cannot be framed without reading the body).
//! - A function name, or a submitted job's unique key, over its limit gets `ERROR ARGUMENT_TOO_LARGE` and the packet
//!   is dropped; the connection stays, like the engine's own unique check.
//!
//! Each default is written once, as the text `--help` shows; the numbers come from it through the
//! plugin API's size parser, which also reads the options.

use gearmand_plugin_api::gear::ptype;
use gearmand_plugin_api::size;

/// Default `--max-packet-size`: header plus body.
pub const DEFAULT_MAX_PACKET: &str = "64M";
/// Default `--max-function-name`: libgearman's own GEARMAN_FUNCTION_MAX_SIZE.
pub const DEFAULT_MAX_FUNCTION: &str = "512";
/// Default `--max-unique`: the protocol's unique key limit (docs/gear-protocol.md §4), which the
/// option may only lower.
pub const DEFAULT_MAX_UNIQUE: &str = "64";
/// The protocol's unique key limit.
pub const MAX_UNIQUE: usize = size::constant(DEFAULT_MAX_UNIQUE) as usize;

/// The limits one connection's codec applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GearLimits {
    /// Header plus body, in bytes.
    pub max_packet: usize,
    /// Function name bytes in CAN_DO*, CANT_DO and SUBMIT_*.
    pub max_function: usize,
    /// Unique key bytes in SUBMIT_* (GET_STATUS_UNIQUE keeps the engine's rule: no reply).
    pub max_unique: usize,
}

impl GearLimits {
    /// No limits beyond the protocol's framing rules (the original's behaviour).
    pub const UNLIMITED: GearLimits = GearLimits {
        max_packet: usize::MAX,
        max_function: usize::MAX,
        max_unique: usize::MAX,
    };

    /// The plugin's defaults.
    pub const DEFAULT: GearLimits = GearLimits {
        max_packet: size::constant(DEFAULT_MAX_PACKET) as usize,
        max_function: size::constant(DEFAULT_MAX_FUNCTION) as usize,
        max_unique: MAX_UNIQUE,
    };

    /// The argument of a decoded request that breaks a limit, as the ERROR text to send.
    pub fn check_args(&self, t: u32, args: &[&[u8]]) -> Option<&'static [u8]> {
        let arg = |i: usize| args.get(i).map_or(0, |a| a.len());
        if names_function(t) && arg(0) > self.max_function {
            return Some(b"Function name too large");
        }
        if is_submit(t) && arg(1) > self.max_unique {
            return Some(b"Unique value too large");
        }
        None
    }
}

impl Default for GearLimits {
    fn default() -> Self {
        GearLimits::DEFAULT
    }
}

fn is_submit(t: u32) -> bool {
    use ptype::*;
    matches!(
        t,
        SUBMIT_JOB
            | SUBMIT_JOB_BG
            | SUBMIT_JOB_HIGH
            | SUBMIT_JOB_HIGH_BG
            | SUBMIT_JOB_LOW
            | SUBMIT_JOB_LOW_BG
            | SUBMIT_JOB_SCHED
            | SUBMIT_JOB_EPOCH
            | SUBMIT_REDUCE_JOB
            | SUBMIT_REDUCE_JOB_BACKGROUND
    )
}

/// Packets whose first argument is a function name.
fn names_function(t: u32) -> bool {
    matches!(t, ptype::CAN_DO | ptype::CANT_DO | ptype::CAN_DO_TIMEOUT) || is_submit(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        let parse_size = |t: &str| size::parse_usize(t).ok();
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn the_defaults_are_their_texts() {
        assert_eq!(GearLimits::DEFAULT.max_packet, 64 << 20);
        assert_eq!(GearLimits::DEFAULT.max_function, 512);
        assert_eq!(GearLimits::DEFAULT.max_unique, 64);
    }

    #[test]
    fn function_and_unique_limits() {
        let l = GearLimits {
            max_packet: 1 << 20,
            max_function: 4,
            max_unique: 3,
        };
        assert_eq!(l.check_args(ptype::CAN_DO, &[b"abcd"]), None);
        assert!(l.check_args(ptype::CAN_DO, &[b"abcde"]).is_some());
        assert!(l
            .check_args(ptype::SUBMIT_JOB, &[b"f", b"uniq", b""])
            .is_some());
        assert_eq!(
            l.check_args(ptype::SUBMIT_JOB, &[b"f", b"uni", b"data"]),
            None
        );
        // A too-long GET_STATUS_UNIQUE is the engine's to ignore (no reply, as the original).
        assert_eq!(l.check_args(ptype::GET_STATUS_UNIQUE, &[b"uniq"]), None);
        // WORK_* packets carry handles, not names: no check.
        assert_eq!(
            l.check_args(ptype::WORK_COMPLETE, &[b"H:long:1", b""]),
            None
        );
    }
}
