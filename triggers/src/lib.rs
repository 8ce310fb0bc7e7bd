//! syscap's filter language and trigger rules.
//!
//! # Layout
//!
//! - [`filter`]: sysdig/Falco-style filters (`proc.name=nginx and
//!   evt.latency > 10ms`) on capture events. Text goes lexer (tokens with
//!   spans) → parser ([`filter::parse`]) → syntax tree ([`filter::ast`]) →
//!   compile → [`Filter`], which also says which chunks it can skip; its
//!   [`filter::Matcher`] evaluates events without allocating.
//! - [`filter::fields`]: the field catalogue (names, kinds, resolving a
//!   name to a [`filter::Field`]) and extraction (a field's
//!   [`filter::Value`] in one event), for filters, output formats and rule
//!   templates; text is written by `capture_format::render`.
//! - [`rules`]: trigger rules. YAML text → [`rules::load`] → validated
//!   [`rules::RuleSet`] → [`rules::Engine`], which is fed events, metric
//!   samples and process lists and answers with [`rules::Firing`]s.

pub mod filter;

pub use filter::{Filter, FilterError};
pub mod rules;
