//! Test helpers shared by the in-tree queue plugins' integration tests, in one copy: a
//! dev-dependency only, never part of a shipped plugin.
//!
//! - [`sql`]: for sqlite, postgres and mysql: the odd jobs every backend must round-trip, replay
//!   into owned jobs, C gearmand driven over the real gear protocol, a TCP proxy that takes a
//!   database "down".
//! - [`kv`]: for redis and memcached: job values, service checks that skip loudly outside CI and
//!   fail in CI, free ports, polling with a deadline, C gearmand as a child process.

pub mod kv;
pub mod sql;
