// SPDX-License-Identifier: GPL-2.0
/*
 * syscap's kernel side: one record per completed system call, written at
 * exit with the arguments (read from the saved registers), return value,
 * latency (entry time kept in task storage) and the user memory the
 * arguments point to, plus process fork/exec/exit events. Records go to the
 * ring buffer of the CPU the call returns on; user space merges the rings
 * by the time each record was queued. Without latency (record_entry 0) the
 * entry program is not attached and calls are recorded at exit alone.
 *
 * What to read for each system call is not compiled in: user space fills the
 * RECIPES map from the capture format's event table. Filters (process tree,
 * comm, syscall set) run at entry so that a filtered call costs one map
 * lookup (at exit when there is no entry program).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "syscap.h"

char LICENSE[] SEC("license") = "GPL";

/* CO-RE stubs: only the fields used, relocated against the kernel's BTF. */
struct pt_regs {
	unsigned long r10, r9, r8, dx, si, di, orig_ax;
} __attribute__((preserve_access_index));

struct mm_struct {
	unsigned long arg_start, arg_end;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
} __attribute__((preserve_access_index));

struct file {
	void *private_data;
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct in6_addr {
	__u8 in6_u[16];
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct unix_sock {
	struct sock *peer;
} __attribute__((preserve_access_index));

struct socket {
	struct sock *sk;
} __attribute__((preserve_access_index));

typedef struct {
	int counter;
} atomic_t;

struct signal_struct {
	atomic_t live;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct mm_struct *mm;
	struct files_struct *files;
	struct signal_struct *signal;
} __attribute__((preserve_access_index));

struct linux_binprm {
	const char *filename;
} __attribute__((preserve_access_index));

/* Set by user space before loading. */
const volatile __u32 self_tgid = 0;
const volatile __u8 filter_pids = 0;
const volatile __u8 filter_comm_on = 0;
const volatile __u64 filter_comm[2] = {0, 0};
/* Data bytes a fast-path record reserves room for: the snaplen the programs
 * were loaded with when it is small (see emit_io), else 0 to disable the
 * fast path. While a larger snaplen is set, I/O takes the general path. */
const volatile __u32 fast_data_max = 80;
const volatile __u64 wakeup_bytes = 256 * 1024;
/* 1: the entry program keeps each call's entry time, for its latency. 0:
 * calls are recorded at exit only, taking their number from the saved
 * registers; that skips a clock read and a task storage lookup at each
 * end of every call (Falco 0.42's drivers record exits only, too). */
const volatile __u8 record_entry = 1;

#define SCRATCH_SIZE 131072 /* room for the verifier's worst case past REC_MAX */
#define REC_MAX 32768
#define OFF(o) ((o) & (REC_MAX - 1))
#define TRUNCATED_BIT 0x80000000u

/* Masks a length in a way clang cannot fold away, so the verifier sees the
 * bound even where the compiler already knows a tighter one. */
#define MASK(v, mask) asm volatile("%[x] &= " #mask : [x] "+r"(v))

/* Internal blob kinds: user space sees them as STR and ARGV. */
#define BLOB_EXEC_FILE 100
#define BLOB_EXEC_ARGV 101

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define PR_SET_NAME 15
#define NR_EXIT 60
#define NR_EXECVE 59
#define NR_EXIT_GROUP 231
#define NR_EXECVEAT 322

struct scratch {
	__u8 data[SCRATCH_SIZE];
};

struct task_state {
	__u64 ts;
	__u32 nr;
	__u32 pad;
};

struct exec_file {
	__u32 len;
	char name[SYSCAP_MAX_STR];
};

/* One ring buffer per CPU, created by user space (its size is the agent's
 * setting; this definition is only the template the kernel checks them
 * against). A shared ring costs every call its spin lock and the cache
 * lines of its positions: with two CPUs recording, the exit program took
 * twice as long as with one. */
struct cpu_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* set to the CPU count */
	__type(key, __u32);
	__array(values, struct cpu_ring);
} RINGS SEC(".maps");

/* This CPU's ring (NULL only if user space did not provide it). */
static __always_inline void *cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&RINGS, &cpu);
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSCAP_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscap_recipe);
} RECIPES SEC(".maps");

/* Settings user space changes while the programs run (the snaplen, raised
 * while a capture that asks for more runs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscap_settings);
} SETTINGS SEC(".maps");

/* Bytes of each I/O buffer to keep now. An array lookup: inlined by the
 * verifier, no helper call. */
static __always_inline __u32 live_snaplen(void)
{
	__u32 zero = 0;
	struct syscap_settings *s = bpf_map_lookup_elem(&SETTINGS, &zero);
	__u32 n = s ? s->snaplen : 0;
	return n > SYSCAP_MAX_SNAPLEN ? SYSCAP_MAX_SNAPLEN : n;
}

/* Failed ring reservations, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} DROPS SEC(".maps");

/* One record under construction per CPU (max_entries set to the CPU count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} SCRATCH SEC(".maps");

/* Thread group ids of the traced process tree (when filter_pids is set). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} TRACED SEC(".maps");

/* Entry time of the call in progress; freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} TASKS SEC(".maps");

/* The file name of a successful exec, from sched_process_exec to the exit
 * of execve (whose registers and memory belong to the new program). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exec_file);
} EXEC_FILES SEC(".maps");

static __always_inline int wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return 0;
	if (filter_pids && !bpf_map_lookup_elem(&TRACED, &tgid))
		return 0;
	if (filter_comm_on) {
		__u64 comm[2] = {0, 0};
		bpf_get_current_comm(comm, sizeof(comm));
		if (comm[0] != filter_comm[0] || comm[1] != filter_comm[1])
			return 0;
	}
	return 1;
}

static __always_inline __u8 *scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&SCRATCH, &cpu);
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&DROPS, &zero);
	if (n)
		*n += 1;
}

/* Per-CPU submit state, kept in the scratch area past any record: records
 * submitted, and whether the queue was past wakeup_bytes at the last look. */
#define SUBMIT_STATE_OFF (SCRATCH_SIZE - 16)
/* How often a CPU looks at the queue to decide whether to wake user space. */
#define WAKEUP_CHECK_EVERY 64

struct submit_state {
	__u64 submitted;
	__u64 above;
};

static __always_inline __u64 wakeup_flags(void *ring, __u8 *scratch_buf)
{
	/* User space drains every few ms on its own; it is woken early only
	 * when the queue crosses wakeup_bytes. Looking at the queue costs a
	 * helper call, so each CPU looks once every WAKEUP_CHECK_EVERY
	 * records, and wakes only on the look that first sees it past the
	 * threshold: waking on every look above it would queue irq_work after
	 * irq_work while the consumer is already on its way. */
	struct submit_state *st = (void *)(scratch_buf + SUBMIT_STATE_OFF);
	__u64 flags = BPF_RB_NO_WAKEUP;
	if ((++st->submitted % WAKEUP_CHECK_EVERY) == 0) {
		__u64 above = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= wakeup_bytes;
		if (above && !st->above)
			flags = BPF_RB_FORCE_WAKEUP;
		st->above = above;
	}
	return flags;
}

static __always_inline void submit(__u8 *buf, __u32 size)
{
	if (size > REC_MAX)
		return;
	void *ring = cpu_ring();
	if (!ring || bpf_ringbuf_output(ring, buf, size, wakeup_flags(ring, buf)))
		count_drop();
}

/* Socket ends of an fd of the current task. Returns the bytes written. */
static __always_inline int read_tuple(struct syscap_tuple *t, __s64 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	unsigned short mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	if (family == AF_INET) {
		t->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
		t->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		__be32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->local, &l, 4);
		__builtin_memcpy(t->remote, &r, 4);
	} else if (family == AF_INET6) {
		t->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
		t->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		BPF_CORE_READ_INTO(&t->local, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t->remote, sk, __sk_common.skc_v6_daddr);
	} else if (family == AF_UNIX) {
		__u64 self = (__u64)sk;
		__u64 peer = (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer);
		__builtin_memcpy(t->local, &self, 8);
		__builtin_memcpy(t->remote, &peer, 8);
	} else {
		return SYSCAP_TUPLE_SIZE;
	}
	return SYSCAP_TUPLE_SIZE;
}

/* Copies the data of up to SYSCAP_MAX_IOVECS iovecs, at most `want` bytes. */
static __always_inline __u32 read_iovecs(__u8 *buf, __u64 doff, __u64 iov, __u64 count,
					 __u32 want)
{
	__u32 done = 0;
	for (int i = 0; i < SYSCAP_MAX_IOVECS; i++) {
		struct {
			__u64 base;
			__u64 len;
		} v;
		if (i >= count || done >= want)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v))))
			break;
		__u64 n = v.len;
		if (n > want - done)
			n = want - done;
		MASK(n, 32767);
		__u64 at = doff + done;
		MASK(at, 65535);
		if (bpf_probe_read_user(buf + at, n, (void *)v.base))
			break;
		done += n;
	}
	return done;
}

static __always_inline __u32 read_sockaddr(__u8 *dst, __u64 addr, __s64 len)
{
	if (!addr || len <= 0)
		return 0;
	if (len > 128)
		len = 128;
	MASK(len, 255);
	if (bpf_probe_read_user(dst, len, (void *)addr))
		return 0;
	return len;
}

/*
 * Appends one blob at `off` of this CPU's scratch record. A global function:
 * the verifier checks it once, not once per caller path. Returns the new
 * offset, with TRUNCATED_BIT set when the blob did not fit.
 */
__noinline int append_blob(__u32 off, __u32 slot_kind, __u64 reg, __u64 aux, __s64 ret)
{
	__u8 *buf = scratch();
	if (!buf)
		return off;
	__u32 kind = slot_kind & 0xff;
	__u32 slot = slot_kind >> 8;
	off &= REC_MAX - 1;
	__u32 max = SYSCAP_MAX_STR;
	if (kind == SYSCAP_BLOB_DATA || kind == SYSCAP_BLOB_IOVEC || kind == SYSCAP_BLOB_MSGHDR)
		max = live_snaplen();
	if (off + SYSCAP_BLOB_HEADER_SIZE + max >= REC_MAX)
		return off | TRUNCATED_BIT;
	__u64 doff = OFF(off + SYSCAP_BLOB_HEADER_SIZE);
	__u8 *dst = buf + doff;
	__s64 len = 0;
	__u8 shown = kind;

	switch (kind) {
	case SYSCAP_BLOB_STR:
	case SYSCAP_BLOB_PRCTL_NAME:
		if (kind == SYSCAP_BLOB_PRCTL_NAME && aux != PR_SET_NAME)
			return off;
		shown = SYSCAP_BLOB_STR;
		if (!reg)
			return off;
		len = bpf_probe_read_user_str(dst, SYSCAP_MAX_STR, (void *)reg);
		if (len > 0)
			len -= 1; /* the NUL */
		break;
	case SYSCAP_BLOB_KSTR:
		len = bpf_probe_read_kernel_str(dst, SYSCAP_MAX_STR, (void *)reg);
		if (len > 0)
			len -= 1;
		break;
	case SYSCAP_BLOB_DATA:
		if (ret <= 0 || !reg)
			return off;
		len = ret < max ? ret : max;
		MASK(len, 32767);
		if (bpf_probe_read_user(dst, len, (void *)reg))
			len = 0;
		break;
	case SYSCAP_BLOB_IOVEC:
		if (ret <= 0)
			return off;
		len = read_iovecs(buf, doff, reg, aux, ret < max ? ret : max);
		break;
	case SYSCAP_BLOB_MSGHDR: {
		__u64 hdr[4]; /* msg_name, msg_namelen, msg_iov, msg_iovlen */
		if (ret <= 0 || bpf_probe_read_user(hdr, sizeof(hdr), (void *)reg))
			return off;
		len = read_iovecs(buf, doff, hdr[2], hdr[3], ret < max ? ret : max);
		break;
	}
	case SYSCAP_BLOB_MSG_NAME: {
		__u64 hdr[2];
		if (ret < 0 || bpf_probe_read_user(hdr, sizeof(hdr), (void *)reg))
			return off;
		len = read_sockaddr(dst, hdr[0], (__s32)hdr[1]);
		shown = SYSCAP_BLOB_SOCKADDR;
		break;
	}
	case SYSCAP_BLOB_SOCKADDR:
		len = read_sockaddr(dst, reg, (__s64)aux);
		break;
	case SYSCAP_BLOB_SOCKADDR_P: {
		__s32 n = 0;
		if (ret < 0 || !aux || bpf_probe_read_user(&n, sizeof(n), (void *)aux))
			return off;
		len = read_sockaddr(dst, reg, n);
		shown = SYSCAP_BLOB_SOCKADDR;
		break;
	}
	case SYSCAP_BLOB_TUPLE:
	case SYSCAP_BLOB_TUPLE_RET:
		if (kind == SYSCAP_BLOB_TUPLE_RET && ret < 0)
			return off;
		len = read_tuple((void *)dst, kind == SYSCAP_BLOB_TUPLE ? (__s64)reg : ret);
		break;
	case SYSCAP_BLOB_ARGV: {
		__u32 used = 0;
		for (int i = 0; i < SYSCAP_MAX_ARGV_ARGS; i++) {
			__u64 p = 0;
			if (used >= SYSCAP_MAX_STR)
				break;
			if (bpf_probe_read_user(&p, sizeof(p), (void *)(reg + i * 8)) || !p)
				break;
			__u64 avail = SYSCAP_MAX_STR - used;
			MASK(avail, 8191);
			__u64 at = doff + used;
			MASK(at, 65535);
			long n = bpf_probe_read_user_str(buf + at, avail, (void *)p);
			if (n <= 0)
				break;
			used += n;
		}
		len = used;
		if (len > 0)
			len -= 1; /* the last NUL */
		break;
	}
	case BLOB_EXEC_ARGV: {
		struct task_struct *task = (void *)bpf_get_current_task_btf();
		__u64 start = BPF_CORE_READ(task, mm, arg_start);
		__u64 end = BPF_CORE_READ(task, mm, arg_end);
		shown = SYSCAP_BLOB_ARGV;
		if (end <= start)
			return off;
		len = end - start;
		if (len > SYSCAP_MAX_STR)
			len = SYSCAP_MAX_STR;
		MASK(len, 8191);
		if (bpf_probe_read_user(dst, len, (void *)start))
			return off;
		if (len > 0 && dst[(len - 1) & (SYSCAP_MAX_STR - 1)] == 0)
			len -= 1;
		break;
	}
	case BLOB_EXEC_FILE: {
		struct task_struct *task = (void *)bpf_get_current_task_btf();
		struct exec_file *f = bpf_task_storage_get(&EXEC_FILES, (void *)task, 0, 0);
		shown = SYSCAP_BLOB_STR;
		if (!f)
			return off;
		len = f->len;
		MASK(len, 4095);
		bpf_probe_read_kernel(dst, len, f->name);
		bpf_task_storage_delete(&EXEC_FILES, (void *)task);
		break;
	}
	case SYSCAP_BLOB_RAW:
		if (!reg)
			return off;
		len = aux;
		MASK(len, 63);
		if (bpf_probe_read_user(dst, len, (void *)reg))
			return off;
		break;
	default:
		return off;
	}
	if (len < 0)
		return off;
	struct syscap_blob *b = (void *)(buf + OFF(off));
	b->slot = slot;
	b->kind = shown;
	b->len = len;
	return OFF(off) + SYSCAP_BLOB_HEADER_SIZE + (len & (REC_MAX - 1));
}

/* The fixed part of a syscall record (`ts` 0: no entry recorded). */
static __always_inline void fill_head(struct syscap_event *e, struct pt_regs *regs, __u32 nr,
				      __u64 ts, __u64 now, __s64 ret, __u8 flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->ts = ts ? ts : now;
	e->latency = ts ? now - ts : 0;
	e->ret = ret;
	/* tp_btf hands us a trusted pointer: plain loads, no helper calls. */
	e->args[0] = regs->di;
	e->args[1] = regs->si;
	e->args[2] = regs->dx;
	e->args[3] = regs->r10;
	e->args[4] = regs->r8;
	e->args[5] = regs->r9;
	e->tid = (__u32)pid_tgid;
	e->pid = pid_tgid >> 32;
	e->type = nr;
	e->cpu = bpf_get_smp_processor_id();
	e->flags = flags;
	e->nblobs = 0;
	e->size = SYSCAP_EVENT_SIZE;
}

/* Records of calls without blobs: built in place in the ring. */
static __always_inline void emit_plain(struct pt_regs *regs, __u32 nr, __u64 ts, __u64 now,
				       __s64 ret, __u8 flags)
{
	__u8 *buf = scratch();
	if (!buf)
		return;
	void *ring = cpu_ring();
	struct syscap_event *e = ring ? bpf_ringbuf_reserve(ring, SYSCAP_EVENT_SIZE, 0) : 0;
	if (!e) {
		count_drop();
		return;
	}
	fill_head(e, regs, nr, ts, now, ret, flags);
	bpf_ringbuf_submit(e, wakeup_flags(ring, buf));
}

#define FAST_RECORD_SIZE (SYSCAP_EVENT_SIZE + SYSCAP_BLOB_HEADER_SIZE + fast_data_max)

/*
 * read/write and friends, the bulk of most workloads: the record is built
 * in place in the ring (no scratch copy). The reservation has a size the
 * verifier knows (fast_data_max is read-only), so records whose data is
 * shorter leave a little unused room; user space reads the real size.
 */
static __always_inline void emit_io(struct pt_regs *regs, __u32 nr, __u64 ts, __u64 now,
				    __s64 ret, __u8 flags, struct syscap_recipe *r, __u32 snaplen)
{
	__u8 *buf = scratch();
	if (!buf)
		return;
	void *ring = cpu_ring();
	__u8 *rec = ring ? bpf_ringbuf_reserve(ring, FAST_RECORD_SIZE, 0) : 0;
	if (!rec) {
		count_drop();
		return;
	}
	struct syscap_event *e = (void *)rec;
	fill_head(e, regs, nr, ts, now, ret, flags);
	__u64 len = ret > 0 ? (__u64)ret : 0;
	if (len > snaplen)
		len = snaplen;
	if (len > fast_data_max)
		len = fast_data_max;
	if (len && bpf_probe_read_user(rec + SYSCAP_EVENT_SIZE + SYSCAP_BLOB_HEADER_SIZE, len,
				       (void *)e->args[r->blob[0].reg & 7]) == 0) {
		struct syscap_blob *b = (void *)(rec + SYSCAP_EVENT_SIZE);
		b->slot = 0;
		b->kind = SYSCAP_BLOB_DATA;
		b->len = len;
		e->nblobs = 1;
		e->size = SYSCAP_EVENT_SIZE + SYSCAP_BLOB_HEADER_SIZE + len;
	}
	bpf_ringbuf_submit(rec, wakeup_flags(ring, buf));
}

static __always_inline void emit_syscall(struct pt_regs *regs, __u32 nr, __u64 ts, __u64 now,
					 __s64 ret, __u8 flags, struct syscap_recipe *r)
{
	__u8 *buf = scratch();
	if (!buf)
		return;
	struct syscap_event *e = (void *)buf;
	fill_head(e, regs, nr, ts, now, ret, flags);
	__u32 off = SYSCAP_EVENT_SIZE;
	__u8 nblobs = 0;
	int exec_ok = (nr == NR_EXECVE || nr == NR_EXECVEAT) && ret == 0;
#pragma unroll
	for (int slot = 0; slot < SYSCAP_RECIPE_BLOBS; slot++) {
		__u32 kind = r->blob[slot].kind;
		if (!kind)
			continue;
		if (exec_ok && kind == SYSCAP_BLOB_STR)
			kind = BLOB_EXEC_FILE;
		else if (exec_ok && kind == SYSCAP_BLOB_ARGV)
			kind = BLOB_EXEC_ARGV;
		__u64 reg = e->args[r->blob[slot].reg & 7];
		__u16 aux_spec = r->blob[slot].aux;
		/* A connected TCP socket's ends are known from its connect or
		 * accept; walking the kernel's socket for every send and
		 * receive would cost more than the rest of the record. */
		if (kind == SYSCAP_BLOB_TUPLE && aux_spec && !e->args[(aux_spec - 1) & 7])
			continue;
		__u64 aux = kind == SYSCAP_BLOB_RAW ? aux_spec : e->args[aux_spec & 7];
		if (kind == SYSCAP_BLOB_PRCTL_NAME)
			aux = e->args[0];
		int next = append_blob(off, (slot << 8) | kind, reg, aux, ret);
		if ((__u32)next & TRUNCATED_BIT) {
			flags |= SYSCAP_FLAG_TRUNCATED;
			continue;
		}
		if ((__u32)next != off)
			nblobs++;
		off = (__u32)next & (REC_MAX - 1);
	}
	e->flags = flags;
	e->nblobs = nblobs;
	e->size = off;
	submit(buf, off);
}

/* Argument register `i` (0..5) of the call. */
static __always_inline __u64 arg_reg(struct pt_regs *regs, __u8 i)
{
	switch (i) {
	case 0:
		return regs->di;
	case 1:
		return regs->si;
	case 2:
		return regs->dx;
	case 3:
		return regs->r10;
	case 4:
		return regs->r8;
	default:
		return regs->r9;
	}
}

/* Whether a recipe blob would add nothing to this call's record: none, or
 * an address blob whose address argument is NULL. glibc's send and recv are
 * sendto and recvfrom without an address, so on connected sockets those
 * calls can take the fast path of read and write. (The decoder reads an
 * absent address as it reads an empty one.) */
static __always_inline int comes_out_empty(struct syscap_recipe_blob *b, struct pt_regs *regs)
{
	switch (b->kind) {
	case 0:
		return 1;
	case SYSCAP_BLOB_TUPLE:
		return b->aux && !arg_reg(regs, (b->aux - 1) & 7);
	case SYSCAP_BLOB_SOCKADDR:
	case SYSCAP_BLOB_SOCKADDR_P:
		return !arg_reg(regs, b->reg & 7);
	default:
		return 0;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(syscap_sys_enter, struct pt_regs *regs, long id)
{
	if ((__u64)id >= SYSCAP_MAX_SYSCALLS)
		return 0;
	__u32 nr = id;
	struct syscap_recipe *r = bpf_map_lookup_elem(&RECIPES, &nr);
	if (!r || !r->enabled)
		return 0;
	if (!wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	__u64 now = bpf_ktime_get_boot_ns();
	if (r->flags & SYSCAP_FLAG_NO_RETURN) {
		emit_syscall(regs, nr, now, now, 0, SYSCAP_FLAG_NO_RETURN, r);
		return 0;
	}
	struct task_state *st = bpf_task_storage_get(&TASKS, bpf_get_current_task_btf(), 0,
						     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->ts = now;
	st->nr = nr;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscap_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 ts = 0;
	__u64 id;
	__u8 flags = 0;
	if (record_entry) {
		/* The entry filtered the call and kept its number and time. */
		struct task_state *st =
			bpf_task_storage_get(&TASKS, bpf_get_current_task_btf(), 0, 0);
		if (!st || !st->ts)
			return 0;
		ts = st->ts;
		id = st->nr;
		st->ts = 0;
	} else {
		/* The number is in the saved registers; filter here. */
		id = regs->orig_ax;
		flags = SYSCAP_FLAG_NO_ENTRY;
	}
	if (id >= SYSCAP_MAX_SYSCALLS)
		return 0;
	__u32 nr = id;
	struct syscap_recipe *r = bpf_map_lookup_elem(&RECIPES, &nr);
	if (!r)
		return 0;
	if (!record_entry &&
	    (!r->enabled || (r->flags & SYSCAP_FLAG_NO_RETURN) ||
	     !wanted(bpf_get_current_pid_tgid() >> 32)))
		return 0;
	if (!r->blob[0].kind) {
		emit_plain(regs, nr, ts, bpf_ktime_get_boot_ns(), ret, flags);
		return 0;
	}
	__u32 snaplen = live_snaplen();
	if (fast_data_max && snaplen <= fast_data_max && r->blob[0].kind == SYSCAP_BLOB_DATA &&
	    comes_out_empty(&r->blob[1], regs) && comes_out_empty(&r->blob[2], regs))
		emit_io(regs, nr, ts, bpf_ktime_get_boot_ns(), ret, flags, r, snaplen);
	else
		emit_syscall(regs, nr, ts, bpf_ktime_get_boot_ns(), ret, flags, r);
	return 0;
}

static __always_inline struct syscap_event *kernel_event(__u8 *buf, __u16 type,
							   struct task_struct *task)
{
	struct syscap_event *e = (void *)buf;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_boot_ns();
	e->tid = BPF_CORE_READ(task, pid);
	e->pid = BPF_CORE_READ(task, tgid);
	e->type = type;
	e->cpu = bpf_get_smp_processor_id();
	e->size = SYSCAP_EVENT_SIZE;
	return e;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(syscap_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (filter_pids && ptgid != ctgid && bpf_map_lookup_elem(&TRACED, &ptgid)) {
		__u8 one = 1;
		bpf_map_update_elem(&TRACED, &ctgid, &one, BPF_ANY);
	}
	if (!wanted(ptgid))
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct syscap_event *e = kernel_event(buf, SYSCAP_EV_PROC_FORK, parent);
	e->args[0] = BPF_CORE_READ(child, pid);
	e->args[1] = ctgid;
	e->args[2] = ptgid == ctgid ? 0x00010000 /* CLONE_THREAD */ : 0;
	submit(buf, SYSCAP_EVENT_SIZE);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(syscap_exec, struct task_struct *task, int old_pid, struct linux_binprm *bprm)
{
	const char *filename = BPF_CORE_READ(bprm, filename);
	/* Keep the file name for the execve record when one is pending: decided
	 * by the entry, not by wanted(), whose comm test now sees the new
	 * program's name. */
	int pending;
	if (record_entry) {
		struct task_state *st = bpf_task_storage_get(&TASKS, (void *)task, 0, 0);
		pending = st && st->ts && (st->nr == NR_EXECVE || st->nr == NR_EXECVEAT);
	} else {
		/* Without entries: an exec happens inside execve or execveat,
		 * and the kernel reports either as execve at exit (orig_ax is
		 * 59 once an execveat succeeded), so the name is kept when
		 * execve is recorded (a kernel-started exec leaves a name the
		 * task frees). */
		__u32 nr = NR_EXECVE;
		struct syscap_recipe *r = bpf_map_lookup_elem(&RECIPES, &nr);
		pending = r && r->enabled;
	}
	if (pending) {
		struct exec_file *f = bpf_task_storage_get(&EXEC_FILES, (void *)task, 0,
							   BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (f) {
			long n = bpf_probe_read_kernel_str(f->name, sizeof(f->name), filename);
			f->len = n > 0 ? n - 1 : 0;
		}
	}
	if (!wanted(BPF_CORE_READ(task, tgid)))
		return 0;
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct syscap_event *e = kernel_event(buf, SYSCAP_EV_PROC_EXEC, task);
	e->args[0] = old_pid;
	int next = append_blob(SYSCAP_EVENT_SIZE, SYSCAP_BLOB_KSTR, (__u64)filename, 0, 0);
	if ((__u32)next & TRUNCATED_BIT)
		return 0;
	e->nblobs = (__u32)next != SYSCAP_EVENT_SIZE;
	e->size = (__u32)next & (REC_MAX - 1);
	submit(buf, e->size);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(syscap_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	int traced = wanted(tgid);
	/* The process leaves the traced set when its last thread exits (do_exit
	 * has already counted this one out of signal->live). */
	if (filter_pids && BPF_CORE_READ(task, signal, live.counter) == 0)
		bpf_map_delete_elem(&TRACED, &tgid);
	if (!traced)
		return 0;
	if (!record_entry) {
		/* No entry program records exit and exit_group (calls that never
		 * return): the thread that made one is still inside it here, its
		 * number and arguments in the saved registers. */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		__u32 nr = regs ? regs->orig_ax : 0;
		if (nr == NR_EXIT || nr == NR_EXIT_GROUP) {
			struct syscap_recipe *r = bpf_map_lookup_elem(&RECIPES, &nr);
			if (r && r->enabled) {
				__u64 now = bpf_ktime_get_boot_ns();
				emit_syscall(regs, nr, now, now, 0, SYSCAP_FLAG_NO_RETURN, r);
			}
		}
	}
	__u8 *buf = scratch();
	if (!buf)
		return 0;
	struct syscap_event *e = kernel_event(buf, SYSCAP_EV_PROC_EXIT, task);
	int code = BPF_CORE_READ(task, exit_code);
	e->args[0] = code;
	e->args[1] = (code >> 8) & 0xff;
	e->args[2] = code & 0x7f;
	e->args[3] = (code & 0x80) != 0;
	submit(buf, SYSCAP_EVENT_SIZE);
	return 0;
}
