//! The one simulator layer every provider simulator stands on: the wiremock
//! responder plumbing (`Simulate`, `mount`), the fault queue
//! (`FaultQueue`), the request log (`RequestLog`), the load model
//! (latency and a cap on requests in flight, `Load`) and the counters
//! (`SimLayer`), plus the rolling-window rate limit providers enforce
//! ([`rate_window::RollingWindow`]). A simulator keeps only its data and its
//! routes: its state holds a `SimLayer` and implements `Simulate`.

mod faults;
mod load;
mod log;
pub mod rate_window;
mod responder;

pub(crate) use faults::FaultQueue;
pub use faults::FaultStats;
pub(crate) use load::Load;
pub use load::{Latency, LoadStats};
pub(crate) use log::RequestLog;
pub use log::SimRequest;
pub(crate) use responder::{lock, mount, SimLayer, Simulate};
