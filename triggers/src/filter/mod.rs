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

/// Resolves a field reference as a filter would (`proc.name`,
/// `evt.arg.fd`, `proc.aname[2]`): for output formats such as `-p`.
pub fn field(word: &str) -> Result<Field, String> {
    let (name, arg) = parser_field_ref(word)?;
    fields::resolve(&name, arg.as_deref())
}

/// Splits a field reference as the parser does (`evt.arg.fd` into
/// `evt.arg` and `fd`, `proc.aname[2]` into `proc.aname` and `2`).
pub(crate) fn parser_field_ref(word: &str) -> Result<(String, Option<String>), String> {
    parser::field_ref(word, Span::default())
        .map(|f| (f.name, f.arg))
        .map_err(|e| e.message)
}
