//! syscap's agent: records system calls with eBPF into capture files.
//!
//! The binary `syscap-agent` wires these pieces together: [`kernel`] loads
//! the eBPF programs and decodes their records.

pub mod capture;
pub mod config;
pub mod daemon;
pub mod host;
pub mod kernel;
pub mod procfs;
