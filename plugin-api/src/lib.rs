//! gearmand-plugin-api: everything a gearmand plugin needs, and nothing else.
//!
//! - [`abi`]: the versioned `#[repr(C)]` boundary (mirrored by `include/gearmand_plugin.h`).
//! - [`sdk`]: safe traits and export macros so a Rust plugin contains no `unsafe`.
//! - [`gear`]: gear packet type numbers and argument layouts.

pub mod abi;
pub mod gear;
pub mod sdk;

pub use sdk::*;
