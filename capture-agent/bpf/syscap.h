/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one definition of what the kernel side hands to user space.
 *
 * Every record in the ring buffer is a `struct syscap_event` followed by
 * `nblobs` blobs, each a `struct syscap_blob` header and `len` bytes. Blobs
 * carry what the registers only point to: paths, data snapshots, socket
 * addresses and tuples, argument vectors, small user structs.
 *
 * The Rust mirror is capture-agent/src/kernel/abi.rs; both sides assert the
 * sizes and offsets below, so a change to one that is not made to the other
 * fails to build.
 */
#ifndef SYSCAP_H
#define SYSCAP_H

/* Event types at or above this are not system calls (same numbering as the
 * capture format's EventType). */
#define SYSCAP_EV_PROC_EXEC 1024
#define SYSCAP_EV_PROC_FORK 1025
#define SYSCAP_EV_PROC_EXIT 1026

/* The syscall numbers the recipe table covers (x86-64 uses < 512). */
#define SYSCAP_MAX_SYSCALLS 512

/* Record flags. */
#define SYSCAP_FLAG_NO_RETURN 1  /* emitted at entry: exit, exit_group */
#define SYSCAP_FLAG_TRUNCATED 2  /* a blob did not fit and was left out */
#define SYSCAP_FLAG_NO_ENTRY 4   /* recorded at exit only (record_entry off):
                                  * ts is the return time, latency unknown */

/* What a blob holds and how the kernel side reads it. */
#define SYSCAP_BLOB_STR 1        /* NUL-terminated user string at reg */
#define SYSCAP_BLOB_DATA 2       /* user buffer at reg, min(ret, snaplen) */
#define SYSCAP_BLOB_IOVEC 3      /* iovec array at reg, count in aux reg */
#define SYSCAP_BLOB_MSGHDR 4     /* data of the iovecs of a msghdr at reg */
#define SYSCAP_BLOB_SOCKADDR 5   /* sockaddr at reg, length in aux reg */
#define SYSCAP_BLOB_SOCKADDR_P 6 /* sockaddr at reg, length at user ptr aux */
#define SYSCAP_BLOB_TUPLE 7      /* socket ends of the fd in reg; with aux
                                  * = 1 + a register, only when that
                                  * register (an address argument) is set */
#define SYSCAP_BLOB_TUPLE_RET 8  /* socket ends of the fd returned */
#define SYSCAP_BLOB_ARGV 9       /* argument vector at reg, NUL separated */
#define SYSCAP_BLOB_RAW 10       /* aux bytes of user memory at reg */
#define SYSCAP_BLOB_PRCTL_NAME 11 /* string at reg when option is PR_SET_NAME */
#define SYSCAP_BLOB_MSG_NAME 12  /* sockaddr named by the msghdr at reg */
#define SYSCAP_BLOB_KSTR 13      /* kernel string (procexec file name) */

/* Limits: a path or string, a data snapshot, one whole record. */
#define SYSCAP_MAX_STR 4096
#define SYSCAP_MAX_SNAPLEN 16384
#define SYSCAP_MAX_ARGV_ARGS 64
#define SYSCAP_MAX_IOVECS 8
#define SYSCAP_RECIPE_BLOBS 3

/* Socket ends, as the kernel's struct sock knows them. */
#define SYSCAP_TUPLE_SIZE 40
struct syscap_tuple {
	__u16 family;      /* AF_INET, AF_INET6, AF_UNIX */
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u16 pad;
	/* IPv4 in the first 4 bytes; unix: kernel socket addresses */
	__u8 local[16];
	__u8 remote[16];
};

/* How to read one system call: up to three blobs. */
struct syscap_recipe_blob {
	__u8 kind; /* SYSCAP_BLOB_* or 0 */
	__u8 reg;  /* argument register 0..5 the blob starts from */
	__u16 aux; /* second register, or a byte count for RAW */
};

struct syscap_recipe {
	__u8 enabled; /* 0: the syscall filter drops it in the kernel */
	__u8 flags;   /* SYSCAP_FLAG_NO_RETURN: emit at entry */
	__u16 pad;
	struct syscap_recipe_blob blob[SYSCAP_RECIPE_BLOBS];
};

/* What user space may change while the programs run: the one entry of the
 * SETTINGS array map. */
struct syscap_settings {
	__u32 snaplen; /* bytes of each I/O buffer to keep (<= SYSCAP_MAX_SNAPLEN) */
	__u32 pad;
};

struct syscap_event {
	__u64 ts;      /* CLOCK_BOOTTIME ns at entry, or event time */
	__u64 latency; /* ns from entry to exit */
	__s64 ret;
	__u64 args[6]; /* argument registers (event fields for kernel events) */
	__u32 tid;
	__u32 pid;
	__u16 type; /* syscall number or SYSCAP_EV_* */
	__u16 size; /* bytes of this record including its blobs */
	__u16 cpu;
	__u8 flags;
	__u8 nblobs;
};

struct syscap_blob {
	__u8 slot; /* index of the recipe blob (0..2) */
	__u8 kind;
	__u16 len;
};

#define SYSCAP_EVENT_SIZE 88
#define SYSCAP_BLOB_HEADER_SIZE 4
#define SYSCAP_SETTINGS_SIZE 8

_Static_assert(sizeof(struct syscap_event) == SYSCAP_EVENT_SIZE, "event size");
_Static_assert(__builtin_offsetof(struct syscap_event, args) == 24, "args");
_Static_assert(__builtin_offsetof(struct syscap_event, tid) == 72, "tid");
_Static_assert(__builtin_offsetof(struct syscap_event, type) == 80, "type");
_Static_assert(__builtin_offsetof(struct syscap_event, cpu) == 84, "cpu");
_Static_assert(__builtin_offsetof(struct syscap_event, nblobs) == 87, "nblobs");
_Static_assert(sizeof(struct syscap_blob) == SYSCAP_BLOB_HEADER_SIZE, "blob");
_Static_assert(sizeof(struct syscap_tuple) == SYSCAP_TUPLE_SIZE, "tuple");
_Static_assert(sizeof(struct syscap_recipe) == 16, "recipe");
_Static_assert(sizeof(struct syscap_settings) == SYSCAP_SETTINGS_SIZE, "settings");

#endif
