//! The fields of the filter language, with sysdig's names, meanings and
//! value formats.
//!
//! - `catalogue`: what fields there are (name, [`Kind`], description,
//!   the chunk columns each needs) and resolving a name to a [`Field`].
//! - `extract`: reading a [`Field`] of one event as a [`Value`].
//!
//! A name becomes a value in two steps: [`resolve`] turns `evt.arg.fd` into
//! a [`Field`] once, when a filter or format is compiled; [`value`] then
//! reads that field from each event, writing text through
//! [`capture_format::render`] as sysdig shows it.

mod catalogue;
mod extract;

pub use catalogue::{
    ArgSel, FIELDS, Field, FieldInfo, Kind, UNANSWERED, resolve, write_field_list,
};
pub use extract::{Env, Value, deltatime, value};
