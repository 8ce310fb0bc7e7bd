//! x86-64 system call numbers that syscap's code refers to by name.

/// `read`.
pub const READ: u16 = 0;
/// `write`.
pub const WRITE: u16 = 1;
/// `open`.
pub const OPEN: u16 = 2;
/// `close`.
pub const CLOSE: u16 = 3;
/// `stat`.
pub const STAT: u16 = 4;
/// `fstat`.
pub const FSTAT: u16 = 5;
/// `lstat`.
pub const LSTAT: u16 = 6;
/// `lseek`.
pub const LSEEK: u16 = 8;
/// `mmap`.
pub const MMAP: u16 = 9;
/// `mprotect`.
pub const MPROTECT: u16 = 10;
/// `munmap`.
pub const MUNMAP: u16 = 11;
/// `brk`.
pub const BRK: u16 = 12;
/// `ioctl`.
pub const IOCTL: u16 = 16;
/// `pread64`.
pub const PREAD64: u16 = 17;
/// `pwrite64`.
pub const PWRITE64: u16 = 18;
/// `readv`.
pub const READV: u16 = 19;
/// `writev`.
pub const WRITEV: u16 = 20;
/// `access`.
pub const ACCESS: u16 = 21;
/// `pipe`.
pub const PIPE: u16 = 22;
/// `dup`.
pub const DUP: u16 = 32;
/// `dup2`.
pub const DUP2: u16 = 33;
/// `sendfile`.
pub const SENDFILE: u16 = 40;
/// `socket`.
pub const SOCKET: u16 = 41;
/// `connect`.
pub const CONNECT: u16 = 42;
/// `accept`.
pub const ACCEPT: u16 = 43;
/// `sendto`.
pub const SENDTO: u16 = 44;
/// `recvfrom`.
pub const RECVFROM: u16 = 45;
/// `sendmsg`.
pub const SENDMSG: u16 = 46;
/// `recvmsg`.
pub const RECVMSG: u16 = 47;
/// `shutdown`.
pub const SHUTDOWN: u16 = 48;
/// `bind`.
pub const BIND: u16 = 49;
/// `listen`.
pub const LISTEN: u16 = 50;
/// `socketpair`.
pub const SOCKETPAIR: u16 = 53;
/// `setsockopt`.
pub const SETSOCKOPT: u16 = 54;
/// `clone`.
pub const CLONE: u16 = 56;
/// `fork`.
pub const FORK: u16 = 57;
/// `vfork`.
pub const VFORK: u16 = 58;
/// `execve`.
pub const EXECVE: u16 = 59;
/// `exit`.
pub const EXIT: u16 = 60;
/// `kill`.
pub const KILL: u16 = 62;
/// `fcntl`.
pub const FCNTL: u16 = 72;
/// `truncate`.
pub const TRUNCATE: u16 = 76;
/// `ftruncate`.
pub const FTRUNCATE: u16 = 77;
/// `chdir`.
pub const CHDIR: u16 = 80;
/// `fchdir`.
pub const FCHDIR: u16 = 81;
/// `rename`.
pub const RENAME: u16 = 82;
/// `mkdir`.
pub const MKDIR: u16 = 83;
/// `rmdir`.
pub const RMDIR: u16 = 84;
/// `creat`.
pub const CREAT: u16 = 85;
/// `link`.
pub const LINK: u16 = 86;
/// `unlink`.
pub const UNLINK: u16 = 87;
/// `symlink`.
pub const SYMLINK: u16 = 88;
/// `chmod`.
pub const CHMOD: u16 = 90;
/// `fchmod`.
pub const FCHMOD: u16 = 91;
/// `chown`.
pub const CHOWN: u16 = 92;
/// `fchown`.
pub const FCHOWN: u16 = 93;
/// `lchown`.
pub const LCHOWN: u16 = 94;
/// `ptrace`.
pub const PTRACE: u16 = 101;
/// `setuid`.
pub const SETUID: u16 = 105;
/// `setgid`.
pub const SETGID: u16 = 106;
/// `setsid`.
pub const SETSID: u16 = 112;
/// `setresuid`.
pub const SETRESUID: u16 = 117;
/// `setresgid`.
pub const SETRESGID: u16 = 119;
/// `capset`.
pub const CAPSET: u16 = 126;
/// `prctl`.
pub const PRCTL: u16 = 157;
/// `chroot`.
pub const CHROOT: u16 = 161;
/// `mount`.
pub const MOUNT: u16 = 165;
/// `umount2`.
pub const UMOUNT2: u16 = 166;
/// `init_module`.
pub const INIT_MODULE: u16 = 175;
/// `delete_module`.
pub const DELETE_MODULE: u16 = 176;
/// `tkill`.
pub const TKILL: u16 = 200;
/// `exit_group`.
pub const EXIT_GROUP: u16 = 231;
/// `tgkill`.
pub const TGKILL: u16 = 234;
/// `openat`.
pub const OPENAT: u16 = 257;
/// `mkdirat`.
pub const MKDIRAT: u16 = 258;
/// `fchownat`.
pub const FCHOWNAT: u16 = 260;
/// `newfstatat`.
pub const NEWFSTATAT: u16 = 262;
/// `unlinkat`.
pub const UNLINKAT: u16 = 263;
/// `renameat`.
pub const RENAMEAT: u16 = 264;
/// `linkat`.
pub const LINKAT: u16 = 265;
/// `symlinkat`.
pub const SYMLINKAT: u16 = 266;
/// `fchmodat`.
pub const FCHMODAT: u16 = 268;
/// `faccessat`.
pub const FACCESSAT: u16 = 269;
/// `unshare`.
pub const UNSHARE: u16 = 272;
/// `accept4`.
pub const ACCEPT4: u16 = 288;
/// `dup3`.
pub const DUP3: u16 = 292;
/// `pipe2`.
pub const PIPE2: u16 = 293;
/// `setns`.
pub const SETNS: u16 = 308;
/// `finit_module`.
pub const FINIT_MODULE: u16 = 313;
/// `renameat2`.
pub const RENAMEAT2: u16 = 316;
/// `memfd_create`.
pub const MEMFD_CREATE: u16 = 319;
/// `bpf`.
pub const BPF: u16 = 321;
/// `execveat`.
pub const EXECVEAT: u16 = 322;
/// `statx`.
pub const STATX: u16 = 332;
/// `clone3`.
pub const CLONE3: u16 = 435;
/// `openat2`.
pub const OPENAT2: u16 = 437;
/// `faccessat2`.
pub const FACCESSAT2: u16 = 439;
/// `eventfd`.
pub const EVENTFD: u16 = 284;
/// `eventfd2`.
pub const EVENTFD2: u16 = 290;
/// `signalfd`.
pub const SIGNALFD: u16 = 282;
/// `signalfd4`.
pub const SIGNALFD4: u16 = 289;
/// `timerfd_create`.
pub const TIMERFD_CREATE: u16 = 283;
/// `epoll_create`.
pub const EPOLL_CREATE: u16 = 213;
/// `epoll_create1`.
pub const EPOLL_CREATE1: u16 = 291;
/// `inotify_init`.
pub const INOTIFY_INIT: u16 = 253;
/// `inotify_init1`.
pub const INOTIFY_INIT1: u16 = 294;
/// `userfaultfd`.
pub const USERFAULTFD: u16 = 323;
/// `io_uring_setup`.
pub const IO_URING_SETUP: u16 = 425;
/// `pidfd_open`.
pub const PIDFD_OPEN: u16 = 434;
