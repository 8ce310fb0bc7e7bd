//! Reads sysdig/Falco `.scap` captures and imports them into syscap's event
//! model (`capture_format`): records, the starting state, and syscap
//! capture files.
//!
//! # Layout
//!
//! - `block`: the block container. A `.scap` file is a
//!   stream of pcapng-style blocks, raw or gzip'd; [`BlockReader`] reads
//!   them one at a time with bounded memory and names their kinds;
//!   [`is_scap`] recognises a file by its first bytes.
//! - `events`: the event table ([`event_info`]), loaded from `events.tsv`
//!   and `ppm_sc.tsv` (data written by `scripts/gen-scap-events.py` from
//!   falcosecurity/libs): every event type's name, direction and
//!   parameters.
//! - `decode`: one event block into a [`ScapEvent`] of typed [`Value`]s,
//!   as the table describes it.
//! - `tables`: the process, fd, interface and user list blocks
//!   ([`process_list`], [`fd_list`], [`interface_list`], [`user_list`]).
//! - `ppm`: libs' `PPM_*` flag values translated to Linux ones.
//! - `import`: the [`Importer`]. The first section's tables become the
//!   starting state; the enter and exit events of one system call become
//!   one syscap record; state follows the events as sysdig's does.
//! - `pipeline`: [`ChunkStream`], an import on background threads handing
//!   over encoded chunks as they are filled, for reading a file once.
//! - `export`: the other way, [`ScapWriter`]: syscap records and a state
//!   snapshot written as a `.scap` file sysdig 0.29.3 reads.
//!
//! The data flows one way:
//!
//! ```text
//! bytes ─> BlockReader (raw or gzip; blocks)
//!            ├─> decode (events, by the event table)
//!            └─> tables (process, fd, user lists)
//!                  ─> Importer (enter+exit pairs into syscap records; state)
//!                       ─> pipeline (threads producing chunks)
//! ```
//!
//! The format is libscap's savefile format (falcosecurity/libs,
//! `userspace/libscap/scap_savefile.c` and `scap_savefile.h`); the event
//! table is generated from libs' `driver/event_table.c` by
//! `scripts/gen-scap-events.py`.

mod block;
mod decode;
mod events;
mod export;
#[cfg(feature = "synth")]
#[doc(hidden)]
pub mod hostile;
mod import;
#[cfg(feature = "synth")]
#[doc(hidden)]
pub mod lives;
mod pipeline;
mod ppm;
mod tables;
#[cfg(any(test, feature = "synth"))]
mod testfile;

pub use block::{
    BYTE_ORDER_MAGIC, Block, BlockKind, BlockReader, BodyReader, MAX_BLOCK_LEN, MachineInfo, SHB,
    ScapError, SectionHeader, decompressed, is_scap, machine_info, section_header, write_block,
};
use block::{u16_at, u32_at, u64_at};
pub use decode::{
    MAX_PARAMS, STATE_ONLY, ScapEvent, Value, decode_event, fd_list_entries, sockaddr, socktuple,
};
pub use events::{
    Direction, ParamInfo, ParamType, ScapEventInfo, event_info, event_types, syscall_code_name,
};
pub use export::{ExportError, ExportStats, ScapWriter};
pub use import::{ImportStats, Importer, capture_header};
pub use pipeline::{ChunkStream, Selection, StreamedChunk};
pub use tables::{
    ScapFd, ScapFdInfo, ScapInterface, ScapThread, fd_list, interface_list, process_list, user_list,
};
