//! The filter language: sysdig and Falco syntax over syscap's events.
//!
//! Text is parsed into a syntax tree ([`ast`]), then compiled into a
//! [`Filter`] whose [`Matcher`] evaluates events without allocating, and
//! which tells readers the columns, event types and process names it needs
//! so that chunks that cannot match are skipped.

pub mod ast;
mod compile;
mod error;
pub mod fields;
mod lexer;
mod parser;

pub use compile::{Filter, Matcher, ProcessFacts, parse_quantity};
pub use error::{FilterError, Span};
pub use fields::{Env, FIELDS, Field, FieldInfo, Kind, Value, write_field_list};
pub use parser::{MAX_DEPTH, parse};
