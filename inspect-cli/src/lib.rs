//! The inspector's pieces; the `syscap` binary wires them to its commands.
//!
//! # Layout
//!
//! - [`scan`]: captures as one stream of chunks, whatever they are (a
//!   syscap file, a `.scap` imported as it is read, an `s3://` object read
//!   by ranged GETs): chunks the index rules out are skipped, the others
//!   decoded in parallel and handed over in order, with bounded memory.
//! - [`window`]: `--since`/`--until` time windows.
//! - [`mod@print`]: one line (or JSON object) per event, sysdig's `-p` formats.
//! - [`summary`]: the overview Sysdig Inspect's tiles give, in one pass;
//!   [`grouping`]: the same capture by Kubernetes namespace, pod and
//!   container.
//! - [`chisels`]: sysdig's chisels, a trait and a registry.
//! - `remote` (feature `s3`): captures in S3.
//! - [`units`]: sizes as people read them.
//!
//! Data flows: capture -> [`scan`] (index, filter's event types and
//! process names, window) -> decoded chunks -> the filter (`triggers`) ->
//! a printer, the summary or a chisel -> stdout.

pub mod chisels;
pub mod grouping;
pub mod print;
#[cfg(feature = "s3")]
pub mod remote;
pub mod scan;
pub mod summary;
pub mod units;
pub mod window;
