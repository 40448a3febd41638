/*
 * bench_maps.c — bpfvm-bench-maps: the cost of map operations in bpfvm and in the
 * Linux kernel, side by side in one table. One row per map type and operation:
 *
 *   lookup    lookup of a key drawn from 0..65535 (in the hash maps and the trie
 *             half of them miss: those hold keys 0..32767)
 *   update    update (BPF_ANY) of a key that exists
 *   del+ins   delete of a key that exists, then its re-insertion (BPF_NOEXIST), so
 *             the map keeps its size: one op is the pair
 *
 * and these columns:
 *
 *   vm 1T, vm 2T      bpfvm's user-space API (bpfvm_map__lookup_elem ...) in Mops/s
 *                     with one thread and with two threads on the same map
 *                     (each thread its own keys)
 *   kern 1T, kern 2T  the kernel's maps through bpf(2) (BPF_MAP_LOOKUP_ELEM ...)
 *   vm/k 1T, 2T       throughput ratio bpfvm / kernel (above 1: bpfvm is faster)
 *   prog vm           ns per operation from an eBPF program: a loop of PROG_ITERS
 *                     calls of bpf_map_lookup_elem / _update_elem / _delete_elem on
 *                     keys derived from the loop counter, run by bpfvm's JIT
 *                     (bpfvm_prog__run_opts with repeat)
 *   prog kern         the same instructions loaded into the kernel as an XDP
 *                     program (the map by fd) and run by BPF_PROG_TEST_RUN
 *   vm/k              time ratio prog vm / prog kern (below 1: bpfvm is faster)
 *
 * The map shapes are the same on both sides: 65536 entries, 4-byte keys (LPM_TRIE:
 * {u32 prefixlen; u8 addr[4]}), 8-byte values. HASH, LRU_HASH and LPM_TRIE hold
 * keys 0..32767 (LPM: the /24 prefixes k << 8) before and after every row; the
 * arrays have every index.
 *
 * Results are checked, not only timed: every user-space call must return what the
 * map's contents say (a lookup hits exactly the keys that exist; updates, deletes
 * and re-insertions succeed), a program's r0 (the number of operations that
 * succeeded) must equal the count computed here, on bpfvm and on the kernel, and
 * after each map's rows every key is looked up again to check the contents. Any
 * difference is a MISMATCH, and the exit status is 1.
 *
 * Timing: a user-space cell is the best of three rounds of --min-time/3, each round
 * one thread per column's thread count running until told to stop; its rate is the
 * round's operations over the slowest thread's time. A program cell is measured as
 * bench.c does: warm up, calibrate a repeat count for --min-time/3, best of three
 * batches; bpfvm's time is wall time per run, the kernel's its own mean per run
 * (BPF_PROG_TEST_RUN's duration, without the system call), each divided by the
 * operations per run.
 *
 * Usage: bpfvm-bench-maps [--filter NAME] [--min-time MS] [--no-kernel] [-j]
 */
#define _GNU_SOURCE
#include "kernel_bpf.h"	/* before the bpfvm headers: brings <linux/bpf.h> */

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bench_util.h"

#define MAX_ENTRIES	65536u		/* every map's max_entries */
#define HALF		(MAX_ENTRIES / 2)
#define VALUE_SIZE	8u
#define PROG_ITERS	4096u		/* loop iterations of one program run */
#define KEY_MUL		0x9e3779b1u	/* odd: j -> j * KEY_MUL mod 2^n permutes */
#define MAX_THREADS	2
#define CHUNK		64		/* operations between looks at the stop flag */

/* ---- the maps and operations ----------------------------------------------------- */

enum key_kind { KEY_U32, KEY_LPM };

static const struct map_def {
	const char *name;
	uint32_t type;		/* the kernel's number, which is bpfvm's too */
	enum key_kind key;
	uint32_t map_flags;
	bool percpu;
	bool can_delete;	/* arrays cannot delete: no del+ins row */
	uint32_t present;	/* keys 0..present-1 exist, before and after every row */
} map_defs[] = {
	{ "hash",	  BPFVM_MAP_TYPE_HASH,		KEY_U32, 0, false, true,  HALF },
	{ "array",	  BPFVM_MAP_TYPE_ARRAY,		KEY_U32, 0, false, false, MAX_ENTRIES },
	{ "lru_hash",	  BPFVM_MAP_TYPE_LRU_HASH,	KEY_U32, 0, false, true,  HALF },
	{ "percpu_array", BPFVM_MAP_TYPE_PERCPU_ARRAY,	KEY_U32, 0, true,  false, MAX_ENTRIES },
	{ "lpm_trie",	  BPFVM_MAP_TYPE_LPM_TRIE,	KEY_LPM, BPFVM_F_NO_PREALLOC, false, true, HALF },
};
#define N_MAPS (sizeof(map_defs) / sizeof(map_defs[0]))

enum op { OP_LOOKUP, OP_UPDATE, OP_DELINS, N_OPS };
static const char *const op_names[N_OPS] = { "lookup", "update", "del+ins" };

static uint32_t key_size(const struct map_def *m)
{
	return m->key == KEY_LPM ? 8 : 4;
}

/* Lookups draw keys from all of 0..MAX_ENTRIES-1; updates and deletes from the keys
 * that exist. Both are powers of two. */
static uint32_t key_space(const struct map_def *m, enum op op)
{
	return op == OP_LOOKUP ? MAX_ENTRIES : m->present;
}

/* The j-th key of thread t of nthreads: a permutation of the thread's share of
 * 0..space-1 (t, t + nthreads, t + 2 * nthreads ...), so threads never touch the
 * same key. With one thread, exactly what the program computes:
 * w1 = w6 * KEY_MUL & (space - 1). */
static inline uint32_t key_index(uint32_t j, uint32_t space, unsigned t, unsigned nthreads)
{
	return t + nthreads * ((j * KEY_MUL) & (space / nthreads - 1));
}

/* The key bytes of key index k. LPM: lookups ask for one address inside the /24
 * prefix k << 8, updates and deletes name the prefix itself. */
static inline void make_key(const struct map_def *m, enum op op, uint32_t k, void *key)
{
	if (m->key == KEY_U32) {
		memcpy(key, &k, 4);
	} else {
		uint32_t lpm[2];

		lpm[0] = op == OP_LOOKUP ? 32 : 24;
		lpm[1] = htonl(op == OP_LOOKUP ? k << 8 | 7 : k << 8);
		memcpy(key, lpm, 8);
	}
}

/* Whether a lookup of key index k finds something. */
static inline bool key_exists(const struct map_def *m, uint32_t k)
{
	return k < m->present;
}

/* ---- cells ----------------------------------------------------------------------- */

enum col { C_VM1, C_VM2, C_K1, C_K2, C_PVM, C_PK, N_COLS };
static const char *const col_names[N_COLS] = {
	"vm_1t", "vm_2t", "kernel_1t", "kernel_2t", "prog_vm", "prog_kernel",
};

enum cell_state {
	CELL_OK,
	CELL_UNAVAILABLE,	/* kernel: no bpf(), or --no-kernel */
	CELL_REJECTED,		/* the kernel's verifier refused the program */
	CELL_ERROR,		/* could not set up or run: a failure */
	CELL_MISMATCH,		/* a result differs from the expected one: a failure */
};

struct cell {
	enum cell_state state;
	double v;		/* ops/s (user-space columns) or ns per op (program ones) */
	char note[320];
};

struct row {
	const struct map_def *m;
	enum op op;
	struct cell cell[N_COLS];
};

static void cell_set(struct cell *c, enum cell_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cell_set(struct cell *c, enum cell_state s, const char *fmt, ...)
{
	va_list ap;

	c->state = s;
	va_start(ap, fmt);
	vsnprintf(c->note, sizeof(c->note), fmt, ap);
	va_end(ap);
}


/* ---- one map on both sides ------------------------------------------------------- */

struct target {
	const struct map_def *m;
	struct bpfvm_map *vm;
	int fd;			/* the kernel's map, or -1 */
	size_t vm_value_sz;	/* value size from user space (per-CPU: all slots) */
	size_t k_value_sz;
};

static size_t percpu_size(int slots)
{
	return (size_t)((VALUE_SIZE + 7) / 8 * 8) * (size_t)slots;
}

/* The user-space operations of one side: kernel or bpfvm. */
static inline int t_lookup(const struct target *tg, bool kernel, const void *key, void *val)
{
	if (kernel)
		return kbpf_map_lookup(tg->fd, key, val);
	return bpfvm_map__lookup_elem(tg->vm, key, key_size(tg->m), val, tg->vm_value_sz, 0);
}

static inline int t_update(const struct target *tg, bool kernel, const void *key,
			   const void *val, uint64_t flags)
{
	if (kernel)
		return kbpf_map_update(tg->fd, key, val, flags);
	return bpfvm_map__update_elem(tg->vm, key, key_size(tg->m), val, tg->vm_value_sz, flags);
}

static inline int t_delete(const struct target *tg, bool kernel, const void *key)
{
	if (kernel)
		return kbpf_map_delete(tg->fd, key);
	return bpfvm_map__delete_elem(tg->vm, key, key_size(tg->m), 0);
}

/* Fills keys 0..present-1 of a map that does not pre-exist its elements. */
static int preload(const struct target *tg, bool kernel, char *err, size_t errlen)
{
	const struct map_def *m = tg->m;
	uint8_t key[8], val[4096];
	uint32_t k;
	int rc;

	if (m->type == BPFVM_MAP_TYPE_ARRAY || m->type == BPFVM_MAP_TYPE_PERCPU_ARRAY)
		return 0;
	memset(val, 0, sizeof(val));
	for (k = 0; k < m->present; k++) {
		uint64_t v = k;

		make_key(m, OP_UPDATE, k, key);
		memcpy(val, &v, sizeof(v));
		rc = t_update(tg, kernel, key, val, BPF_NOEXIST);
		if (rc < 0) {
			snprintf(err, errlen, "preloading key %u: %s", k, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* Every key index 0..MAX_ENTRIES-1 is looked up: exactly the present ones must hit. */
static int check_contents(const struct target *tg, bool kernel, char *err, size_t errlen)
{
	const struct map_def *m = tg->m;
	uint8_t key[8], val[4096];
	uint32_t k;

	for (k = 0; k < MAX_ENTRIES; k++) {
		int rc, want = key_exists(m, k) ? 0 : -ENOENT;

		make_key(m, OP_LOOKUP, k, key);
		rc = t_lookup(tg, kernel, key, val);
		if (rc != want) {
			snprintf(err, errlen, "%s contents changed: lookup of key %u gave %d, "
				 "expected %d", kernel ? "kernel" : "bpfvm", k, rc, want);
			return -EIO;
		}
	}
	return 0;
}

/* ---- user-space throughput ------------------------------------------------------- */

struct api_run {
	const struct target *tg;
	bool kernel;
	enum op op;
	unsigned nthreads;
	atomic_bool stop;
	pthread_barrier_t start;
};

struct worker {
	struct api_run *run;
	unsigned t;
	uint32_t next_j;	/* where the key sequence continues next round */
	uint64_t ops;		/* of the round */
	double ns;
	/* the first wrong result */
	bool bad;
	uint32_t bad_key;
	int bad_rc, bad_want;
	const char *bad_what;
	pthread_t th;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct api_run *r = w->run;
	const struct target *tg = r->tg;
	const struct map_def *m = tg->m;
	const uint32_t space = key_space(m, r->op);
	const bool kernel = r->kernel;
	uint8_t key[8], val[4096];
	uint32_t j = w->next_j;
	uint64_t ops = 0;
	double t0;

	memset(val, 0, sizeof(val));
	pthread_barrier_wait(&r->start);
	t0 = now_ns();
	for (;;) {
		for (int b = 0; b < CHUNK; b++, j++) {
			uint32_t k = key_index(j, space, w->t, r->nthreads);
			int rc, want = 0;
			const char *what = op_names[r->op];

			make_key(m, r->op, k, key);
			switch (r->op) {
			case OP_LOOKUP:
				rc = t_lookup(tg, kernel, key, val);
				want = key_exists(m, k) ? 0 : -ENOENT;
				break;
			case OP_UPDATE: {
				uint64_t v = j;

				memcpy(val, &v, sizeof(v));
				rc = t_update(tg, kernel, key, val, BPF_ANY);
				break;
			}
			default:
				rc = t_delete(tg, kernel, key);
				what = "delete";
				if (rc == 0) {
					rc = t_update(tg, kernel, key, val, BPF_NOEXIST);
					what = "re-insert";
				}
				break;
			}
			if (rc != want && !w->bad) {
				w->bad = true;
				w->bad_key = k;
				w->bad_rc = rc;
				w->bad_want = want;
				w->bad_what = what;
			}
		}
		ops += CHUNK;
		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			break;
	}
	w->ns = now_ns() - t0;
	w->ops = ops;
	w->next_j = j;
	return NULL;
}

static void sleep_ns(double ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1e9);
	ts.tv_nsec = (long)(ns - (double)ts.tv_sec * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Best of three rounds of round_ns each: ops/s into c. */
static void api_cell(const struct target *tg, bool kernel, enum op op, unsigned nthreads,
		     double min_time_ns, struct cell *c)
{
	struct worker w[MAX_THREADS];
	struct api_run r;
	double best = 0;
	unsigned t;

	memset(w, 0, sizeof(w));
	r.tg = tg;
	r.kernel = kernel;
	r.op = op;
	r.nthreads = nthreads;
	for (int round = 0; round < 3; round++) {
		uint64_t ops = 0;
		double slowest = 0;
		unsigned started = 0;
		int rc;

		atomic_init(&r.stop, false);
		if (pthread_barrier_init(&r.start, NULL, nthreads + 1) != 0) {
			cell_set(c, CELL_ERROR, "pthread_barrier_init failed");
			return;
		}
		for (t = 0; t < nthreads; t++) {
			w[t].run = &r;
			w[t].t = t;
			rc = pthread_create(&w[t].th, NULL, worker_main, &w[t]);
			if (rc != 0) {
				/* The barrier would never open: give up the process. */
				fprintf(stderr, "bpfvm-bench-maps: pthread_create: %s\n", strerror(rc));
				exit(1);
			}
			started++;
		}
		pthread_barrier_wait(&r.start);
		sleep_ns(min_time_ns / 3);
		atomic_store(&r.stop, true);
		for (t = 0; t < started; t++)
			pthread_join(w[t].th, NULL);
		pthread_barrier_destroy(&r.start);
		for (t = 0; t < nthreads; t++) {
			ops += w[t].ops;
			if (w[t].ns > slowest)
				slowest = w[t].ns;
			if (w[t].bad) {
				cell_set(c, CELL_MISMATCH, "thread %u: %s of key %u returned %d (%s), "
					 "expected %d", t, w[t].bad_what, w[t].bad_key, w[t].bad_rc,
					 w[t].bad_rc < 0 ? strerror(-w[t].bad_rc) : "ok", w[t].bad_want);
				return;
			}
		}
		if (slowest > 0 && ops / slowest * 1e9 > best)
			best = ops / slowest * 1e9;
	}
	c->state = CELL_OK;
	c->v = best;
}

/* ---- the program ------------------------------------------------------------------ */

/* Appends the code that counts a helper's 0 return (update, delete) into r7 without
 * a branch: r7 += 1 - ((r0 | -r0) >> 63). Branch-free, so the kernel's verifier has
 * one path per iteration. */
static size_t emit_count_zero(struct bpf_insn *p)
{
	size_t n = 0;

	p[n++] = BPF_MOV64_REG(BPF_REG_1, BPF_REG_0);
	p[n++] = BPFVM_INSN(BPF_ALU64 | BPF_NEG | BPF_K, BPF_REG_1, 0, 0, 0);
	p[n++] = BPF_ALU64_REG(BPF_OR, BPF_REG_1, BPF_REG_0);
	p[n++] = BPF_ALU64_IMM(BPF_RSH, BPF_REG_1, 63);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, 1);
	p[n++] = BPF_ALU64_REG(BPF_SUB, BPF_REG_7, BPF_REG_1);
	return n;
}

/* Appends r1 = the map; r2 = &key (fp-8); [r3 = &value (fp-16); r4 = flags]; call. */
static size_t emit_call(struct bpf_insn *p, int32_t map_ref, int helper, int32_t flags)
{
	size_t n = 0;

	p[n++] = BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_ref);
	p[n++] = BPFVM_INSN(0, 0, 0, 0, 0);
	p[n++] = BPF_MOV64_REG(BPF_REG_2, BPF_REG_10);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8);
	if (helper == BPF_FUNC_map_update_elem) {
		p[n++] = BPF_MOV64_REG(BPF_REG_3, BPF_REG_10);
		p[n++] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -16);
		p[n++] = BPF_MOV64_IMM(BPF_REG_4, flags);
	}
	p[n++] = BPF_CALL_HELPER(helper);
	return n;
}

#define PROG_MAX 64

/*
 * The program of one row, map_ref being what lddw's imm holds (bpfvm: the index
 * into bpfvm_prog_opts.maps; kernel: the fd). r6 = j, r7 = successes:
 *
 *	r6 = 0; r7 = 0
 *  loop:	w1 = w6 * KEY_MUL & (space - 1)		key index, as key_index()
 *		*(u32 *)(r10 - 8) = w1			(LPM: prefixlen, be32 address)
 *		*(u64 *)(r10 - 16) = r6			update, del+ins: the value
 *		call lookup / update / delete (+ update NOEXIST), count successes in r7
 *		r6 += 1; if r6 < PROG_ITERS goto loop
 *	r0 = r7; exit
 */
static size_t build_prog(const struct map_def *m, enum op op, int32_t map_ref,
			 struct bpf_insn *p)
{
	uint32_t space = key_space(m, op);
	size_t n = 0, loop;

	p[n++] = BPF_MOV64_IMM(BPF_REG_6, 0);
	p[n++] = BPF_MOV64_IMM(BPF_REG_7, 0);
	loop = n;
	p[n++] = BPF_MOV32_REG(BPF_REG_1, BPF_REG_6);
	p[n++] = BPF_ALU32_IMM(BPF_MUL, BPF_REG_1, (int32_t)KEY_MUL);
	p[n++] = BPF_ALU32_IMM(BPF_AND, BPF_REG_1, (int32_t)(space - 1));
	if (m->key == KEY_LPM) {
		p[n++] = BPF_ALU32_IMM(BPF_LSH, BPF_REG_1, 8);
		if (op == OP_LOOKUP)
			p[n++] = BPF_ALU32_IMM(BPF_OR, BPF_REG_1, 7);
		p[n++] = BPFVM_INSN(BPF_ALU | BPF_END | BPF_TO_BE, BPF_REG_1, 0, 0, 32);
		p[n++] = BPF_ST_MEM(BPF_W, BPF_REG_10, -8, op == OP_LOOKUP ? 32 : 24);
		p[n++] = BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, -4);
	} else {
		p[n++] = BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, -8);
	}
	switch (op) {
	case OP_LOOKUP:
		n += emit_call(p + n, map_ref, BPF_FUNC_map_lookup_elem, 0);
		p[n++] = BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1);
		p[n++] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, 1);
		break;
	case OP_UPDATE:
		p[n++] = BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_6, -16);
		n += emit_call(p + n, map_ref, BPF_FUNC_map_update_elem, BPF_ANY);
		n += emit_count_zero(p + n);
		break;
	default:
		p[n++] = BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_6, -16);
		n += emit_call(p + n, map_ref, BPF_FUNC_map_delete_elem, 0);
		n += emit_count_zero(p + n);
		n += emit_call(p + n, map_ref, BPF_FUNC_map_update_elem, BPF_NOEXIST);
		n += emit_count_zero(p + n);
		break;
	}
	p[n++] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_6, 1);
	p[n] = BPF_JMP_IMM(BPF_JLT, BPF_REG_6, (int32_t)PROG_ITERS, (int16_t)(loop - (n + 1)));
	n++;
	p[n++] = BPF_MOV64_REG(BPF_REG_0, BPF_REG_7);
	p[n++] = BPF_EXIT_INSN();
	return n;
}

/* What the program's r0 must be: the operations that succeed in one run. */
static uint64_t prog_expected(const struct map_def *m, enum op op)
{
	uint64_t hits = 0;
	uint32_t j;

	switch (op) {
	case OP_LOOKUP:
		for (j = 0; j < PROG_ITERS; j++)
			hits += key_exists(m, key_index(j, key_space(m, op), 0, 1));
		return hits;
	case OP_UPDATE:
		return PROG_ITERS;
	default:
		return 2ull * PROG_ITERS;	/* every delete and every re-insertion */
	}
}

/* One side's program, ready to run. */
struct prog_runner {
	bool kernel;
	struct bpfvm_prog *prog;
	enum bpfvm_engine engine;
	int prog_fd;
	uint64_t r0;		/* of the last run */
};

/* n runs: 0 with the mean ns per run, or a negative errno with a message. */
static int prog_batch(struct prog_runner *pr, uint32_t n, double *per_run, double *wall,
		      char *err, size_t errlen)
{
	double t0 = now_ns();
	int rc;

	if (pr->kernel) {
		uint8_t pkt[64] = { 0 };
		uint32_t ret = 0, dur = 0;

		rc = kbpf_prog_test_run(pr->prog_fd, pkt, sizeof(pkt), n, &ret, &dur);
		*wall = now_ns() - t0;
		if (rc < 0) {
			snprintf(err, errlen, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
			return rc;
		}
		pr->r0 = ret;
		*per_run = dur;
		return 0;
	} else {
		struct bpfvm_run_opts o;

		memset(&o, 0, sizeof(o));
		o.sz = sizeof(o);
		o.engine = pr->engine;
		o.repeat = n;
		rc = bpfvm_prog__run_opts(pr->prog, &o);
		*wall = now_ns() - t0;
		if (rc < 0) {
			char f[192];

			bpfvm_fault__str(&o.fault, f, sizeof(f));
			snprintf(err, errlen, "run: %s (%s)", strerror(-rc), f);
			return rc;
		}
		pr->r0 = o.retval;
		*per_run = *wall / n;
		return 0;
	}
}

/* Warm up, calibrate a batch for a third of min_time, best of three batches. The
 * last run of every batch must return want. */
static void prog_measure(struct prog_runner *pr, uint64_t want, double min_time_ns,
			 struct cell *c)
{
	double target = min_time_ns / 3, per, wall, best = INFINITY;
	uint32_t n = 1;
	int k;

	if (prog_batch(pr, 1, &per, &wall, c->note, sizeof(c->note)) < 0) {
		c->state = CELL_ERROR;
		return;
	}
	if (pr->r0 != want) {
		cell_set(c, CELL_MISMATCH, "r0 = %llu, expected %llu",
			 (unsigned long long)pr->r0, (unsigned long long)want);
		return;
	}
	for (;;) {
		double scale;

		if (prog_batch(pr, n, &per, &wall, c->note, sizeof(c->note)) < 0) {
			c->state = CELL_ERROR;
			return;
		}
		if (wall >= target || n >= (1u << 24))
			break;
		scale = wall > 1000 ? target / wall * 1.2 : 100;
		scale = scale < 2 ? 2 : scale > 100 ? 100 : scale;
		n = (uint32_t)((double)n * scale);
	}
	for (k = 0; k < 3; k++) {
		if (prog_batch(pr, n, &per, &wall, c->note, sizeof(c->note)) < 0) {
			c->state = CELL_ERROR;
			return;
		}
		if (pr->r0 != want) {
			cell_set(c, CELL_MISMATCH, "r0 = %llu after %u runs, expected %llu",
				 (unsigned long long)pr->r0, n, (unsigned long long)want);
			return;
		}
		if (per < best)
			best = per;
	}
	c->state = CELL_OK;
	c->v = best / PROG_ITERS;
}

static void prog_cell_vm(const struct target *tg, enum op op, double min_time_ns,
			 struct cell *c)
{
	struct bpf_insn insns[PROG_MAX];
	struct bpfvm_map *maps[1] = { tg->vm };
	struct bpfvm_prog_opts o;
	struct prog_runner pr;
	size_t cnt = build_prog(tg->m, op, 0, insns);

	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.name = "bench_maps";
	o.maps = maps;
	o.map_cnt = 1;
	memset(&pr, 0, sizeof(pr));
	pr.engine = bpfvm_engine_available(BPFVM_ENGINE_JIT) ? BPFVM_ENGINE_JIT
							     : BPFVM_ENGINE_INTERP;
	pr.prog_fd = -1;
	last_log[0] = 0;
	pr.prog = bpfvm_prog__new(insns, cnt, &o);
	if (!pr.prog) {
		cell_set(c, CELL_ERROR, "load: %s", last_log[0] ? last_log : strerror(errno));
		return;
	}
	prog_measure(&pr, prog_expected(tg->m, op), min_time_ns, c);
	bpfvm_prog__free(pr.prog);
}

static void prog_cell_kernel(const struct target *tg, enum op op, double min_time_ns,
			     struct cell *c)
{
	struct bpf_insn insns[PROG_MAX];
	struct prog_runner pr;
	static char log[1 << 20];
	size_t cnt = build_prog(tg->m, op, tg->fd, insns);

	memset(&pr, 0, sizeof(pr));
	pr.kernel = true;
	pr.prog_fd = kbpf_prog_load(BPF_PROG_TYPE_XDP, insns, cnt, log, sizeof(log));
	if (pr.prog_fd < 0) {
		char why[200];

		kbpf_log_reason(log, why, sizeof(why));
		cell_set(c, CELL_REJECTED, "%s", why[0] ? why : strerror(-pr.prog_fd));
		return;
	}
	prog_measure(&pr, prog_expected(tg->m, op), min_time_ns, c);
	close(pr.prog_fd);
}

/* ---- output ---------------------------------------------------------------------- */

static bool col_is_prog(int col)
{
	return col == C_PVM || col == C_PK;
}

static const char *num_str(double v, char *buf, size_t len)
{
	if (v < 10)
		snprintf(buf, len, "%.2f", v);
	else if (v < 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

static const char *cell_str(const struct cell *c, int col, char *buf, size_t len)
{
	switch (c->state) {
	case CELL_OK:
		return num_str(col_is_prog(col) ? c->v : c->v / 1e6, buf, len);
	case CELL_UNAVAILABLE: return "n/a";
	case CELL_REJECTED: return "rejected";
	case CELL_ERROR: return "ERROR";
	case CELL_MISMATCH: return "MISMATCH";
	}
	return "?";
}

static const char *ratio_str(const struct cell *a, const struct cell *b, char *buf,
			     size_t len)
{
	if (a->state != CELL_OK || b->state != CELL_OK || b->v <= 0)
		return "-";
	snprintf(buf, len, "%.2f", a->v / b->v);
	return buf;
}

static const char *state_name(enum cell_state s)
{
	static const char *const names[] = {
		"ok", "unavailable", "rejected", "error", "mismatch",
	};
	return names[s];
}

static void print_header(void)
{
	printf("%-12s %-7s %8s %8s %8s %8s %7s %7s %8s %9s %6s\n", "map", "op",
	       "vm 1T", "vm 2T", "kern 1T", "kern 2T", "vm/k 1T", "vm/k 2T",
	       "prog vm", "prog kern", "vm/k");
	printf("%-12s %-7s %8s %8s %8s %8s %7s %7s %8s %9s\n", "", "",
	       "Mops/s", "Mops/s", "Mops/s", "Mops/s", "", "", "ns/op", "ns/op");
}

static void print_row(const struct row *r)
{
	char b[N_COLS][32], q[3][32];

	printf("%-12s %-7s %8s %8s %8s %8s %7s %7s %8s %9s %6s\n", r->m->name,
	       op_names[r->op],
	       cell_str(&r->cell[C_VM1], C_VM1, b[0], sizeof(b[0])),
	       cell_str(&r->cell[C_VM2], C_VM2, b[1], sizeof(b[1])),
	       cell_str(&r->cell[C_K1], C_K1, b[2], sizeof(b[2])),
	       cell_str(&r->cell[C_K2], C_K2, b[3], sizeof(b[3])),
	       ratio_str(&r->cell[C_VM1], &r->cell[C_K1], q[0], sizeof(q[0])),
	       ratio_str(&r->cell[C_VM2], &r->cell[C_K2], q[1], sizeof(q[1])),
	       cell_str(&r->cell[C_PVM], C_PVM, b[4], sizeof(b[4])),
	       cell_str(&r->cell[C_PK], C_PK, b[5], sizeof(b[5])),
	       ratio_str(&r->cell[C_PVM], &r->cell[C_PK], q[2], sizeof(q[2])));
	fflush(stdout);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct row *rows, size_t nrows, const char *date,
		       double min_time_ms, const char *kernel_why,
		       char (*contents_err)[512])
{
	size_t i;
	int col;

	printf("{\n  \"date\": ");
	json_str(date);
	printf(",\n  \"min_time_ms\": %.0f,\n  \"max_entries\": %u,\n  \"prog_iters\": %u,\n",
	       min_time_ms, MAX_ENTRIES, PROG_ITERS);
	printf("  \"kernel\": ");
	if (kernel_why[0])
		json_str(kernel_why);
	else
		printf("\"ok\"");
	printf(",\n  \"units\": {\"vm_1t\": \"ops/s\", \"vm_2t\": \"ops/s\", "
	       "\"kernel_1t\": \"ops/s\", \"kernel_2t\": \"ops/s\", \"prog_vm\": \"ns/op\", "
	       "\"prog_kernel\": \"ns/op\"},\n  \"rows\": [\n");
	for (i = 0; i < nrows; i++) {
		printf("    {\"map\": \"%s\", \"op\": \"%s\", \"cells\": {", rows[i].m->name,
		       op_names[rows[i].op]);
		for (col = 0; col < N_COLS; col++) {
			const struct cell *c = &rows[i].cell[col];

			printf("%s\"%s\": {\"state\": \"%s\"", col ? ", " : "", col_names[col],
			       state_name(c->state));
			if (c->state == CELL_OK)
				printf(", \"value\": %.3f", c->v);
			if (c->note[0]) {
				printf(", \"note\": ");
				json_str(c->note);
			}
			printf("}");
		}
		printf("}}%s\n", i + 1 < nrows ? "," : "");
	}
	/* Maps whose contents the rows changed (a failure). */
	printf("  ],\n  \"contents_mismatch\": {");
	for (i = 0, col = 0; i < N_MAPS; i++) {
		if (!contents_err[i][0])
			continue;
		printf("%s\"%s\": ", col++ ? ", " : "", map_defs[i].name);
		json_str(contents_err[i]);
	}
	printf("}\n}\n");
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--filter NAME] [--min-time MS] [--no-kernel] [-j]\n"
		"  --filter NAME   only the rows whose \"map/op\" contains NAME\n"
		"                  (hash/lookup, array/update, lpm_trie/del+ins ...)\n"
		"  --min-time MS   time spent per cell (default 200)\n"
		"  --no-kernel     do not use the kernel's maps\n"
		"  -j, --json      JSON instead of the table\n",
		argv0);
}

/* ---- main ------------------------------------------------------------------------ */

static bool row_selected(const struct map_def *m, enum op op, const char *filter)
{
	char name[64];

	if (op == OP_DELINS && !m->can_delete)
		return false;
	if (!filter)
		return true;
	snprintf(name, sizeof(name), "%s/%s", m->name, op_names[op]);
	return strstr(name, filter) != NULL;
}

/* Creates and fills both sides' maps. false with err set when bpfvm's side failed
 * (the kernel's failing only makes tg->fd -1 and kerr says why). */
static bool setup_target(const struct map_def *m, bool kernel_ok, int kslots,
			 struct target *tg, char *err, size_t errlen, char *kerr,
			 size_t kerrlen)
{
	struct bpfvm_map_create_opts co;
	int rc;

	memset(tg, 0, sizeof(*tg));
	tg->m = m;
	tg->fd = -1;
	tg->vm_value_sz = m->percpu ? percpu_size(bpfvm_num_cpu_slots()) : VALUE_SIZE;
	tg->k_value_sz = m->percpu ? percpu_size(kslots > 0 ? kslots : 1) : VALUE_SIZE;
	memset(&co, 0, sizeof(co));
	co.sz = sizeof(co);
	co.map_flags = m->map_flags;
	last_log[0] = 0;
	tg->vm = bpfvm_map__create((enum bpfvm_map_type)m->type, m->name, key_size(m),
				   VALUE_SIZE, MAX_ENTRIES, &co);
	if (!tg->vm) {
		snprintf(err, errlen, "bpfvm_map__create: %s",
			 last_log[0] ? last_log : strerror(errno));
		return false;
	}
	if (tg->vm_value_sz > 4096) {
		snprintf(err, errlen, "per-CPU values of %zu bytes: more than the runner's "
			 "4096-byte buffers", tg->vm_value_sz);
		return false;
	}
	if (preload(tg, false, err, errlen) < 0)
		return false;
	if (!kernel_ok)
		return true;
	if (m->percpu && (kslots <= 0 || tg->k_value_sz > 4096)) {
		snprintf(kerr, kerrlen, "cannot tell the kernel's possible CPUs");
		return true;
	}
	rc = kbpf_map_create(m->type, key_size(m), VALUE_SIZE, MAX_ENTRIES, m->map_flags);
	if (rc < 0) {
		snprintf(kerr, kerrlen, "BPF_MAP_CREATE: %s", strerror(-rc));
		return true;
	}
	tg->fd = rc;
	if (preload(tg, true, kerr, kerrlen) < 0) {
		close(tg->fd);
		tg->fd = -1;
	}
	return true;
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	double min_time_ms = 200, min_ns;
	bool json = false, no_kernel = false, kernel_ok = false, failed = false;
	char kernel_why[256] = "", date[64];
	static char contents_err[N_MAPS][512];
	struct row rows[N_MAPS * N_OPS];
	size_t nrows = 0, i;
	struct utsname un;
	time_t now = time(NULL);
	int a, kslots;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--filter") && a + 1 < argc) {
			filter = argv[++a];
		} else if (!strcmp(argv[a], "--min-time") && a + 1 < argc) {
			char *end;

			min_time_ms = strtod(argv[++a], &end);
			if (*end || !(min_time_ms > 0)) {
				fprintf(stderr, "bpfvm-bench-maps: bad --min-time '%s'\n", argv[a]);
				return 2;
			}
		} else if (!strcmp(argv[a], "--no-kernel")) {
			no_kernel = true;
		} else if (!strcmp(argv[a], "-j") || !strcmp(argv[a], "--json")) {
			json = true;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			usage(stderr, argv[0]);
			return 2;
		}
	}
	min_ns = min_time_ms * 1e6;
	bpfvm_set_log(log_fn, NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&now));

	if (no_kernel) {
		snprintf(kernel_why, sizeof(kernel_why), "--no-kernel");
	} else {
		char why[200];

		kernel_ok = kbpf_probe(why, sizeof(why)) == 0;
		if (!kernel_ok)
			snprintf(kernel_why, sizeof(kernel_why), "bpf() unavailable (%s)", why);
	}
	kslots = kernel_ok ? kbpf_num_possible_cpus() : 0;
	if (!json) {
		printf("bpfvm-bench-maps %s", date);
		if (uname(&un) == 0)
			printf(", %s %s %s", un.sysname, un.release, un.machine);
		printf(", %.0f ms per cell%s%s\n", min_time_ms, kernel_ok ? "" : "; kernel: ",
		       kernel_why);
		printf("maps: %u entries, 4-byte keys (lpm_trie 8), 8-byte values; hash, "
		       "lru_hash, lpm_trie hold %u keys, lookups miss in half;\n"
		       "per-CPU values: bpfvm %d slots", MAX_ENTRIES, HALF,
		       bpfvm_num_cpu_slots());
		if (kernel_ok)
			printf(", kernel %d possible CPUs", kslots);
		printf("; programs: %u operations a run, bpfvm %s\n\n", PROG_ITERS,
		       bpfvm_engine_available(BPFVM_ENGINE_JIT) ? "JIT" : "interpreter");
		print_header();
	}

	for (i = 0; i < N_MAPS; i++) {
		const struct map_def *m = &map_defs[i];
		char err[512] = "", kerr[512] = "";
		struct target tg;
		int op;
		bool any = false;

		for (op = 0; op < N_OPS; op++)
			any |= row_selected(m, (enum op)op, filter);
		if (!any)
			continue;
		if (!setup_target(m, kernel_ok, kslots, &tg, err, sizeof(err), kerr,
				  sizeof(kerr))) {
			fprintf(stderr, "bpfvm-bench-maps: %s: %s\n", m->name, err);
			bpfvm_map__free(tg.vm);
			failed = true;
			continue;
		}
		for (op = 0; op < N_OPS; op++) {
			struct row *r = &rows[nrows];
			int col;

			if (!row_selected(m, (enum op)op, filter))
				continue;
			memset(r, 0, sizeof(*r));
			r->m = m;
			r->op = (enum op)op;
			api_cell(&tg, false, r->op, 1, min_ns, &r->cell[C_VM1]);
			api_cell(&tg, false, r->op, 2, min_ns, &r->cell[C_VM2]);
			prog_cell_vm(&tg, r->op, min_ns, &r->cell[C_PVM]);
			if (tg.fd >= 0) {
				api_cell(&tg, true, r->op, 1, min_ns, &r->cell[C_K1]);
				api_cell(&tg, true, r->op, 2, min_ns, &r->cell[C_K2]);
				prog_cell_kernel(&tg, r->op, min_ns, &r->cell[C_PK]);
			} else {
				enum cell_state s = kernel_ok ? CELL_ERROR : CELL_UNAVAILABLE;
				const char *why = kernel_ok ? kerr : kernel_why;

				cell_set(&r->cell[C_K1], s, "%s", why);
				cell_set(&r->cell[C_K2], s, "%s", why);
				cell_set(&r->cell[C_PK], s, "%s", why);
			}
			for (col = 0; col < N_COLS; col++)
				if (r->cell[col].state == CELL_ERROR ||
				    r->cell[col].state == CELL_MISMATCH)
					failed = true;
			nrows++;
			if (!json)
				print_row(r);
		}
		/* The rows must have left the contents as they found them. */
		if (check_contents(&tg, false, err, sizeof(err)) < 0 ||
		    (tg.fd >= 0 && check_contents(&tg, true, err, sizeof(err)) < 0)) {
			snprintf(contents_err[i], sizeof(contents_err[i]), "%s", err);
			failed = true;
			if (!json)
				printf("%-12s MISMATCH: %s\n", m->name, err);
		}
		bpfvm_map__free(tg.vm);
		if (tg.fd >= 0)
			close(tg.fd);
	}

	if (json) {
		print_json(rows, nrows, date, min_time_ms, kernel_why, contents_err);
	} else {
		/* Why cells are empty (a kernel that is unavailable is in the header). */
		for (i = 0; i < nrows; i++) {
			int col;

			for (col = 0; col < N_COLS; col++) {
				const struct cell *c = &rows[i].cell[col];

				if (c->state == CELL_OK ||
				    (c->state == CELL_UNAVAILABLE && !kernel_ok &&
				     (col == C_K1 || col == C_K2 || col == C_PK)))
					continue;
				printf("%s/%s %s: %s%s%s\n", rows[i].m->name, op_names[rows[i].op],
				       col_names[col], state_name(c->state), c->note[0] ? ": " : "",
				       c->note);
			}
		}
	}
	if (failed)
		fprintf(stderr, "bpfvm-bench-maps: FAILED: a result differs from the expected "
			"one or a cell did not run (see above)\n");
	return failed ? 1 : 0;
}
