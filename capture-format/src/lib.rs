//! syscap's event model and capture file format.
//!
//! - [`event`]: what one record says (a completed system call or a kernel
//!   event) and the event table that names every argument.
//! - [`state`]: threads, processes and file descriptors, kept current from
//!   the records, so that every record resolves to a process name and an fd
//!   name.
//!
//! The on-disk format is specified in `FORMAT.md` beside this crate.

pub mod codec;
mod error;
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
