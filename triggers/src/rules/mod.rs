//! Trigger rules: when a host starts a capture, and what the capture keeps.
//!
//! A YAML rules file ([`load`], or [`check`] for every error) is validated into a [`RuleSet`]; an
//! [`Engine`] is fed events, metric samples and process lists with their
//! timestamps (and Alertmanager alerts, [`Alert`]) and answers with [`Firing`]s, applying cooldowns and the
//! limit on concurrent captures.

mod engine;
mod load;
mod model;
mod template;
pub mod yaml;

pub use engine::{Alert, Engine, Firing, MetricSample, Refusal};
pub use load::{RuleError, check, load};
pub use model::{CaptureSpec, Condition, LabelMatch, Metric, Rule, RuleSet};
pub use template::Template;

/// The most bytes of one I/O buffer a capture may keep (`capture.snaplen`):
/// what the agent's kernel side can record.
pub const MAX_SNAPLEN: u32 = 16_384;
