//! syscap's filter language and trigger rules.
//!
//! - [`filter`]: parse, compile and evaluate sysdig/Falco-style filters
//!   (`proc.name=nginx and evt.latency > 10ms`) on capture events.

pub mod filter;

pub use filter::{Filter, FilterError};
pub mod rules;
