//! The postgres queue plugin (to be written).
