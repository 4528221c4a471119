//! The sqlite queue plugin (to be written).
