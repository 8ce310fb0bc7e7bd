//! The inspector's pieces: reading captures as one stream of chunks
//! ([`scan`]), printing events ([`mod@print`]), chisels ([`chisels`]), the
//! overview ([`summary`]) and time windows ([`window`]). The `syscap` binary wires them to its
//! commands.

pub mod chisels;
pub mod print;
#[cfg(feature = "s3")]
pub mod remote;
pub mod scan;
pub mod summary;
pub mod window;
