//! The queue plugins' shared test helpers (a memcached of each test's own among them) live in one
//! copy, in `plugins/queue-testkit`.

pub use gearmand_queue_testkit::*;
