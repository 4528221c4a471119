//! The SQL queue plugins' shared test helpers live in one copy, in `plugins/queue-testkit`.

pub use gearmand_queue_testkit::*;
