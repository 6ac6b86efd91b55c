//! Runnable examples live in `examples/examples/`; see the README. This
//! library holds what several of them share.
#![forbid(unsafe_code)]

pub mod args;
pub mod measure;
pub mod sim_process;
pub mod sqlite_file;
