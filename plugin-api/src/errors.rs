//! The two outcomes the SDK's traits name besides a plugin's own error type: the host stopping a
//! replay ([`ReplayStopped`], what the replay sink returns) and one job of a batch refused
//! ([`Refused`], the plugin's error or a panic its `add` raised).

use std::fmt;

/// The host refused a replayed job and wants the replay to stop: what the sink of
/// [`QueuePlugin::replay`](crate::QueuePlugin::replay) returns. Pass it on with `?` (give your error type a
/// `From<ReplayStopped>`); the host expects it back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayStopped {
    /// The status the host's callback answered with.
    pub status: i32,
}

impl ReplayStopped {
    /// The stop the host's callback answered with `status`.
    pub const fn new(status: i32) -> ReplayStopped {
        ReplayStopped { status }
    }
}

impl fmt::Display for ReplayStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the host stopped the replay (status {})", self.status)
    }
}

impl std::error::Error for ReplayStopped {}

/// For plugins and tests whose error type is a plain message.
impl From<ReplayStopped> for String {
    fn from(e: ReplayStopped) -> String {
        e.to_string()
    }
}

/// Why [`QueuePlugin::add_batch`](crate::QueuePlugin::add_batch) refused one job: the plugin's own error, or a panic in `add`
/// that the default `add_batch` caught, as separate calls would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused<E> {
    /// The plugin refused the job.
    Error(E),
    /// `add` panicked on the job (the message as the host shows it).
    Panicked(String),
}

impl<E> From<E> for Refused<E> {
    fn from(e: E) -> Refused<E> {
        Refused::Error(e)
    }
}

impl<E: fmt::Display> fmt::Display for Refused<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Error(e) => e.fmt(f),
            Refused::Panicked(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_sees_the_plain_messages() {
        assert_eq!(
            ReplayStopped::new(3).to_string(),
            "the host stopped the replay (status 3)"
        );
        assert_eq!(
            String::from(ReplayStopped::new(3)),
            "the host stopped the replay (status 3)"
        );
        let refused: Refused<&str> = "dup".into();
        assert_eq!(refused.to_string(), "dup");
        let panicked: Refused<&str> = Refused::Panicked("plugin panicked: boom".into());
        assert_eq!(panicked.to_string(), "plugin panicked: boom");
    }
}
