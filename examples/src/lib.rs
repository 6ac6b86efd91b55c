//! Runnable examples live in `examples/examples/`; see the README.
#![forbid(unsafe_code)]
