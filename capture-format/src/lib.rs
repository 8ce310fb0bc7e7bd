//! syscap's event model and capture file format.
//!
//! # Layout
//!
//! - [`event`]: what one record says (a completed system call or a kernel
//!   event) and the event table that names every argument.
//! - [`state`]: threads, processes and file descriptors, kept current from
//!   the records, so that every record resolves to a process name and an fd
//!   name.
//! - [`file`](mod@file): the capture file: [`Writer`] packs records and state
//!   snapshots into compressed, indexed chunks; [`CaptureReader`] (random
//!   access, by the index) and [`StreamReader`] (front to back) read them
//!   back, and a [`Decoder`] turns a chunk into [`Event`]s.
//!   [`file::is_capture`] recognises a capture by its first bytes.
//! - [`render`]: sysdig's text form of events (arguments, return values,
//!   fd names); [`escape`]: names shown to people, their control
//!   characters written as visible escapes (`\x1b`, `\n`).
//! - [`codec`]: the compression of columns and blocks (zstd, LZ4, DEFLATE
//!   or none).
//! - `synth` (feature `synth`): synthetic but realistic workloads, for the
//!   agent's `synth` command, tests and benchmarks.
//! - `error` ([`Error`]) and `varint` (LEB128 integers and a bounds-checked
//!   cursor): what the others share.
//!
//! The data flows one way:
//!
//! ```text
//! producers (the eBPF agent, scap-import, synth): event::Record
//!   + state::Tracker (the thread and fd each record refers to)
//!     ─> Writer (self-contained chunks: columns with their thread, fd and
//!        string tables; a snapshot; the index; the trailer)
//!       ─> file bytes
//!         ─> CaptureReader or StreamReader ─> Decoder
//!           ─> Chunk of Events (each resolves its thread and fd from the
//!              chunk's own tables)
//! ```
//!
//! The on-disk format is specified in `FORMAT.md` beside this crate.

pub mod codec;
mod error;
pub mod escape;
pub mod event;
pub mod state;
mod varint;
pub use error::{Error, Result};
pub mod file;
pub mod render;

pub use file::{
    CaptureHeader, CaptureReader, Chunk, Decoder, Event, Projection, StreamReader, Writer,
    WriterOptions,
};
#[cfg(feature = "synth")]
pub mod synth;
