//! The redis queue plugin (to be written).
