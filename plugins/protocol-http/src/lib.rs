//! The http protocol plugin (to be written).
