//! The gear binary protocol codec (to be written).
