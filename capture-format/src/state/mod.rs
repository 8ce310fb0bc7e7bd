//! Threads, processes and file descriptors: the state that turns a thread id
//! into `proc.name` and an fd number into `fd.name`.

mod cgroup;
mod model;
mod path;
mod tracker;

pub use cgroup::container_of;
pub use model::{
    ContainerInfo, FdInfo, FdKind, GroupInfo, L4Proto, ProcessInfo, Snapshot, SocketEnds,
    SocketRole, ThreadInfo, UserInfo, label, split_nul,
};
pub use path::{resolve, resolve_into};
pub use tracker::{
    Context, Tracker, changes_state, container_type_name, container_type_number,
    with_container_move_record, with_container_record,
};
