//! Test helpers shared by the in-tree queue plugins' integration tests, in one copy: a
//! dev-dependency only, never part of a shipped plugin. Everything but the shared checks is
//! re-exported at the root, so a test says `use gearmand_queue_testkit::*`.
//!
//! - [`job`]: the owned [`Job`] every test compares, the odd jobs every backend must round-trip,
//!   replay into owned jobs and comparing them in order or as a set.
//! - [`env`]: service checks that skip loudly outside CI and fail in CI, free ports, polling with a
//!   deadline.
//! - [`cgearmand`]: Debian's C gearmand as a child process, to move jobs between it and a plugin,
//!   and the check every plugin runs that what C stores replays here.
//! - [`proxy`]: a TCP proxy that takes a database "down" and brings it back.
//! - [`memcached`]: a memcached of the test's own that can be killed and restarted.
//! - [`sql`]: the contract checks every SQL queue plugin (sqlite, postgres, mysql) runs, one
//!   generic function each, called from one `#[test]` per backend.
//! - [`kv`]: likewise for the key-value queue plugins (redis, memcached).

pub mod cgearmand;
pub mod env;
pub mod job;
pub mod kv;
pub mod memcached;
pub mod proxy;
pub mod sql;

pub use cgearmand::*;
pub use env::*;
pub use job::*;
pub use memcached::*;
pub use proxy::*;
