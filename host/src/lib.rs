//! gearmand: a Gearman job server built as a small host that loads protocols and queues as plugins.
//!
//! Reading order: [`frame`] and [`msg`] (what travels between threads), [`engine`] (all job
//! state), [`queue`] (persistence as the engine sees it), [`plugin`] (loading `.so` plugins),
//! [`config`] (command line and config file), [`runtime`] (listener, I/O threads, processing thread).

pub mod config;
pub mod engine;
pub mod frame;
pub mod logging;
pub mod msg;
pub mod plugin;
pub mod queue;
pub mod runtime;
