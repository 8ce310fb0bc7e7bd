//! Trigger rules: when a host starts a capture, and what the capture keeps.
//!
//! A YAML rules file ([`load`]) is validated into a [`RuleSet`]; an
//! [`Engine`] is fed events, metric samples and process lists with their
//! timestamps and answers with [`Firing`]s, applying cooldowns and the
//! limit on concurrent captures.

mod engine;
mod load;
mod model;
mod template;
pub mod yaml;

pub use engine::{Engine, Firing, MetricSample, Refusal};
pub use load::{RuleError, load};
pub use model::{CaptureSpec, Condition, Metric, Rule, RuleSet};
pub use template::Template;
