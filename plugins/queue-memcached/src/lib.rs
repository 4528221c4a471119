//! The memcached queue plugin (to be written).
