//! Integration tests of the triggers crate: the filter language on real
//! capture events, and trigger rules from YAML to firings.

mod fields;
mod filter;
mod rules;
