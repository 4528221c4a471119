//! The tokyocabinet queue plugin (to be written).
