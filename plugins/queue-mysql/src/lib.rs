//! The mysql queue plugin (to be written).
