//! A test queue plugin (to be written).
