//! The log level: `--verbose LEVEL` (gearmand 1.1) and `-v`, repeatable (the gearmand 1.0 man
//! page's "Increase verbosity level by one").
//!
//! Both spellings set one setting. Each `-v` raises the level one step above the default
//! `ERROR` (`-v` WARNING, `-vv` NOTICE, `-vvv` INFO, `-vvvv` DEBUG; more stays at DEBUG).
//! Within one source (the command line, or the config file) giving both is refused, as
//! gearmand 1.0 refused its single `-v [ --verbose ]` option given twice; between the two
//! sources the command line wins as a whole, whichever spelling either uses.

use super::layered::Layered;
use super::ConfigError;

/// Arg id of `--verbose LEVEL`.
pub const LEVEL_ID: &str = "verbose";
/// Arg id of `-v`: a short-only option, so its id is its letter.
pub const STEP_ID: &str = "v";
/// The level without `--verbose` or `-v`.
pub const DEFAULT: Verbose = Verbose::Error;

/// `--verbose`: the original's levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbose {
    Fatal,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

/// Every level with its name, in order: a `-v` step is one position further.
const LEVELS: [(&str, Verbose); 8] = [
    ("FATAL", Verbose::Fatal),
    ("ALERT", Verbose::Alert),
    ("CRITICAL", Verbose::Critical),
    ("ERROR", Verbose::Error),
    ("WARNING", Verbose::Warning),
    ("NOTICE", Verbose::Notice),
    ("INFO", Verbose::Info),
    ("DEBUG", Verbose::Debug),
];

impl Verbose {
    /// Parses a level name in any case (the original took upper case only).
    pub fn parse(s: &str) -> Option<Verbose> {
        LEVELS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, v)| *v)
    }

    /// The upper-case name, as the admin `verbose` command reports it.
    pub fn name(self) -> &'static str {
        LEVELS[self as usize].0
    }

    /// `steps` levels more verbose, stopping at DEBUG.
    pub fn raised(self, steps: u8) -> Verbose {
        let i = (self as usize + steps as usize).min(LEVELS.len() - 1);
        LEVELS[i].1
    }

    /// The `log` crate level this maps to.
    pub fn level_filter(self) -> log::LevelFilter {
        match self {
            Verbose::Fatal | Verbose::Alert | Verbose::Critical | Verbose::Error => {
                log::LevelFilter::Error
            }
            Verbose::Warning => log::LevelFilter::Warn,
            Verbose::Notice | Verbose::Info => log::LevelFilter::Info,
            Verbose::Debug => log::LevelFilter::Debug,
        }
    }
}

/// The level the command line and the config file decide (see the module comment).
pub fn resolve(l: &Layered) -> Result<Verbose, ConfigError> {
    let spellings = [LEVEL_ID, STEP_ID];
    let base = match l.one_among::<String>(&spellings, LEVEL_ID) {
        Some(name) => Verbose::parse(&name)
            .ok_or_else(|| ConfigError::Invalid("Invalid value for --verbose supplied".into()))?,
        None => DEFAULT,
    };
    let steps = l.one_among::<u8>(&spellings, STEP_ID).unwrap_or(0);
    Ok(base.raised(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_table_order() {
        for (i, (name, level)) in LEVELS.iter().enumerate() {
            assert_eq!(*level as usize, i);
            assert_eq!(level.name(), *name);
            assert_eq!(Verbose::parse(&name.to_lowercase()), Some(*level));
        }
    }

    #[test]
    fn steps_raise_the_level_and_stop_at_debug() {
        assert_eq!(DEFAULT.raised(0), Verbose::Error);
        assert_eq!(DEFAULT.raised(1), Verbose::Warning);
        assert_eq!(DEFAULT.raised(2), Verbose::Notice);
        assert_eq!(DEFAULT.raised(3), Verbose::Info);
        assert_eq!(DEFAULT.raised(4), Verbose::Debug);
        assert_eq!(DEFAULT.raised(u8::MAX), Verbose::Debug);
        assert_eq!(Verbose::Fatal.raised(1), Verbose::Alert);
    }
}
