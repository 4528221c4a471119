//! gearmand-plugin-api: everything a gearmand plugin needs, and nothing else.
//!
//! - [`abi`]: the versioned `#[repr(C)]` boundary (mirrored by `include/gearmand_plugin.h`).
//! - [`sdk`]: safe traits and export macros so a Rust plugin contains no `unsafe`.
//! - [`gear`]: gear packet type numbers and argument layouts.
//! - [`size`]: the one parser of byte sizes (`64K`, `16MiB`) for the host's and plugins' options.
//! - [`table`]: the structured queries (ABI 1.4) and the tables that answer them.
//! - [`export_queue_plugin!`] and [`export_protocol_plugin!`]: the one line a plugin adds to export
//!   itself (their glue lives in the hidden `export` module).

pub mod abi;
mod errors;
#[doc(hidden)]
pub mod export;
pub mod gear;
pub mod sdk;
pub mod size;
pub mod table;

pub use sdk::*;
