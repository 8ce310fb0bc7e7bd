//! syscap's agent: records system calls with eBPF into capture files.
//!
//! The binary `syscap-agent` wires these pieces together.
//!
//! # Layout
//!
//! - [`kernel`]: the eBPF side. The C programs (`bpf/syscap.bpf.c`, their
//!   record layout in the one header `bpf/syscap.h`, mirrored in
//!   [`kernel::abi`]) are built by `build.rs` and loaded with aya;
//!   [`kernel::recipes`] says what each syscall's arguments point to and
//!   turns ring records into capture-format records.
//! - [`procfs`]: the `/proc` snapshot taken before recording (processes,
//!   files, sockets, users, container ids), so records of processes that
//!   were already running resolve.
//! - [`containers`]: which container a process runs in (its cgroups) and
//!   what the runtime says of it (CRI, in the background), as records.
//! - [`cpu`]: each thread's CPU time, sampled once a second from `/proc`
//!   into `procinfo` records (the CPU chisels read them).
//! - [`host`]: facts about this machine for the capture header, and its
//!   clocks.
//! - [`capture`]: `syscap-agent capture`, one capture file from the kernel
//!   ring (a command and its descendants, or the whole host).
//! - [`config`]: the settings of `syscap-agent run` (TOML and `SYSCAP_*`).
//! - [`daemon`]: `syscap-agent run`, the long-running agent.
//!
//! How a record flows in the running agent: kernel ring -> [`kernel`]
//! decoder -> state tracker -> chunk encoder -> pre-trigger ring
//! ([`daemon::ring`]) -> the rules (`triggers`) -> a firing starts a
//! capture ([`daemon::session`]) that writes the ring's history and the
//! live chunks into the spool ([`daemon::spool`]) -> the uploader stores
//! it (`capture-store`) and deletes it once the storage confirmed it.

pub mod capture;
pub mod config;
pub mod containers;
pub mod cpu;
pub mod daemon;
pub mod host;
pub mod kernel;
pub mod procfs;
