/*
 * bpfvm/bpfvm.h — the public API of libbpfvm: eBPF in user space.
 *
 * Conventions (as libbpf):
 *  - int functions return 0 (or a count) on success and a negative errno on failure;
 *    functions returning a pointer return NULL and set errno.
 *  - Every failure also sends one line of detail to the log callback
 *    (bpfvm_set_log); the library never prints and never exits.
 *  - Extensible calls take an opts struct whose first field is its size; zero-fill
 *    it and set .sz = sizeof(opts). NULL opts means all defaults.
 *  - Handles are opaque; destructors accept NULL.
 *  - Memory the library hands to the caller (assembled code, listings) is released
 *    with free().
 */
#ifndef BPFVM_BPFVM_H
#define BPFVM_BPFVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/insn.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef BPFVM_API
#define BPFVM_API __attribute__((visibility("default")))
#endif

#define BPFVM_VERSION_MAJOR 0
#define BPFVM_VERSION_MINOR 1
BPFVM_API const char *bpfvm_version(void);

/* ---- Limits ------------------------------------------------------------------ */
#define BPFVM_MAX_INSNS		1000000	/* instructions in one program */
#define BPFVM_STACK_SIZE	512	/* bytes of stack per frame */
#define BPFVM_MAX_CALL_DEPTH	32	/* frames, the main program's included */
#define BPFVM_HELPER_USER_BASE	0x10000	/* embedders' helper ids start here */

/* ---- Logging ------------------------------------------------------------------ */
enum bpfvm_log_level {
	BPFVM_LOG_WARN,		/* a failure: why a call returned an error */
	BPFVM_LOG_INFO,
	BPFVM_LOG_DEBUG,
};
/* msg is one line without a trailing newline. */
typedef void (*bpfvm_log_fn)(enum bpfvm_log_level level, const char *msg, void *user);
/* Sets the process-wide log callback (NULL: discard). Returns the previous one. */
BPFVM_API bpfvm_log_fn bpfvm_set_log(bpfvm_log_fn fn, void *user);
/* The current callback and its user pointer (to restore them later). */
BPFVM_API void bpfvm_get_log(bpfvm_log_fn *fn, void **user);

/* ---- Text assembly ----------------------------------------------------------------
 * Two syntaxes, mixed freely line by line:
 *  - the conformance suite's:  mov %r0, 1 / ldxw %r0, [%r1+4] / jeq %r1, 5, label
 *  - the kernel/llvm pseudo-C: r0 = 1 / r0 = *(u32 *)(r1 + 4) / if r1 == 5 goto label
 * Labels ("name:"), comments ("#", ";", "//") and the verifier log's "12: (b7)"
 * prefixes are accepted.
 */
struct bpfvm_asm_opts {
	size_t sz;
	const char *filename;	/* names the input in error messages (default "<input>") */
};
/* Assembles text into *insns (free() it) with *cnt slots. Errors name
 * file:line:column and return -EINVAL (-ENOMEM when memory runs out). Empty input
 * (no instruction) is an error. The syntax is described in docs/asm.md. */
BPFVM_API int bpfvm_asm(const char *text, const struct bpfvm_asm_opts *opts,
			struct bpf_insn **insns, size_t *cnt);

enum bpfvm_syntax {
	BPFVM_SYNTAX_KERNEL,		/* r0 = *(u32 *)(r1 +4), as the verifier log */
	BPFVM_SYNTAX_CONFORMANCE,	/* ldxw %r0, [%r1+4] */
};
struct bpfvm_disasm_opts {
	size_t sz;
	enum bpfvm_syntax syntax;
	bool opcodes;		/* kernel syntax: prefix "(61) " as the verifier log does */
	bool no_index;		/* omit the "12: " instruction index prefix */
};
/* Writes instruction idx of insns[0..cnt) as one line (no newline) into buf.
 * Returns the number of slots it used (1, or 2 for lddw), or a negative errno:
 * -EINVAL for a slot that is not a valid instruction (buf then holds the
 * ".insn CODE, DST, SRC, OFF, IMM" form, which the assembler reads back),
 * -ENOSPC when the line was cut to fit len. buf is always NUL-terminated. */
BPFVM_API int bpfvm_disasm_insn(const struct bpf_insn *insns, size_t cnt, size_t idx,
				char *buf, size_t len, const struct bpfvm_disasm_opts *opts);
/* Whole listing, one instruction a line, lines joined by '\n' (none after the
 * last), malloc'd (free() it); NULL + errno. */
BPFVM_API char *bpfvm_disasm(const struct bpf_insn *insns, size_t cnt,
			     const struct bpfvm_disasm_opts *opts);

/* ---- Helpers ----------------------------------------------------------------------
 * Helpers use the kernel's numbering (bpf_map_lookup_elem = 1, ...) and calling
 * convention: arguments in r1..r5, result in r0.
 */
typedef uint64_t (*bpfvm_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				    uint64_t r5);
/* What a helper's arguments are, for the verifier (as the kernel's
 * bpf_func_proto). Zero is "don't care": a scalar the helper does not dereference. */
enum bpfvm_arg_type {
	BPFVM_ARG_DONTCARE = 0,
	BPFVM_ARG_ANYTHING,		/* any initialised scalar */
	BPFVM_ARG_PTR_TO_MEM,		/* readable memory; its size is the next argument */
	BPFVM_ARG_PTR_TO_MEM_OR_NULL,
	BPFVM_ARG_PTR_TO_UNINIT_MEM,	/* writable memory; its size is the next argument */
	BPFVM_ARG_CONST_SIZE,		/* size of the memory argument before it, > 0 */
	BPFVM_ARG_CONST_SIZE_OR_ZERO,
	BPFVM_ARG_CONST_MAP_PTR,	/* a map (lddw of a map) */
	BPFVM_ARG_PTR_TO_MAP_KEY,	/* key_size bytes for the map argument */
	BPFVM_ARG_PTR_TO_MAP_VALUE,	/* value_size bytes for the map argument */
	BPFVM_ARG_PTR_TO_CTX,
	BPFVM_ARG_PTR_TO_FUNC,		/* a subprogram, as a callback */
	BPFVM_ARG_PTR_TO_STACK_OR_NULL,
	BPFVM_ARG_PTR_TO_RINGBUF_MEM,	/* a record from bpf_ringbuf_reserve */
	BPFVM_ARG_PTR_TO_CONST_STR,	/* NUL-terminated string in read-only data */
	BPFVM_ARG_CONST_ALLOC_SIZE_OR_ZERO,
};
enum bpfvm_ret_type {
	BPFVM_RET_INTEGER = 0,
	BPFVM_RET_VOID,
	BPFVM_RET_PTR_TO_MAP_VALUE_OR_NULL,
	BPFVM_RET_PTR_TO_RINGBUF_MEM_OR_NULL,
};
struct bpfvm_helper {
	uint32_t id;
	const char *name;	/* "bpf_map_lookup_elem"; shown by the disassembler */
	bpfvm_helper_fn fn;
	enum bpfvm_ret_type ret;
	enum bpfvm_arg_type args[5];
};
/* Registers a process-wide helper. id must not be taken (-EEXIST); embedders should
 * use ids from BPFVM_HELPER_USER_BASE up. Programs bind helpers when they are
 * created: registering later does not change existing programs. */
BPFVM_API int bpfvm_helper__register(const struct bpfvm_helper *helper);
/* The helpers bpfvm provides, by the kernel's ids (bpf_ktime_get_ns = 5, ...), are
 * always registered; docs/helpers.md lists them. In checked mode a helper given
 * memory the program may not access returns -EFAULT and touches nothing, and a map
 * helper given a map not bound to the program (bpfvm_prog_opts.maps) returns NULL
 * or -EINVAL. The memory map helpers hand out (a looked-up value, a reserved
 * ring-buffer record) is accessible for the rest of the run (a record: until it is
 * submitted or discarded); a record never submitted is discarded when the run ends.
 * The values of an ARRAY or PERCPU_ARRAY map bound to the program are accessible
 * all the time, all of them (from element 0 to the end of the last element's
 * value; of every CPU slot). */

/* Name of a registered helper, or NULL. */
BPFVM_API const char *bpfvm_helper__name(uint32_t id);
/* Id of the registered helper called name, or -ENOENT. */
BPFVM_API long long bpfvm_helper__id(const char *name);
/* Called from inside a helper: ends the running program as soon as the helper
 * returns, with r0 = retval (as the conformance suite's "unwind" helper). */
BPFVM_API void bpfvm_run_stop(uint64_t retval);

/* bpf_trace_printk / bpf_trace_vprintk output: one call per line (without the
 * newline), from the thread that ran the program. NULL (the default) discards. */
typedef void (*bpfvm_trace_fn)(const char *line, size_t len, void *user);
BPFVM_API void bpfvm_set_trace(bpfvm_trace_fn fn, void *user);

/* ---- Program types ---------------------------------------------------------------
 * A program type says what r1 points to when the program runs (its context), how
 * much of that memory the program may touch, what else the context points to (a
 * packet), which extra helpers its programs see and how a test run builds the
 * context. The kernel's types keep the kernel's numbers and context layouts
 * (struct xdp_md, struct __sk_buff, struct pt_regs), so programs compiled for
 * Linux read their context unchanged. Packet data lives below 4 GiB, so the 32-bit
 * `data` / `data_end` fields of xdp_md and __sk_buff hold real addresses.
 */
enum bpfvm_prog_type {
	/* bpfvm's own: r1 = memory, r2 = its length (bpfvm_run_opts.mem, mem_len);
	 * the conformance suite's convention. The default. */
	BPFVM_PROG_TYPE_RAW = 0,
	BPFVM_PROG_TYPE_SOCKET_FILTER = 1,	/* ctx: struct __sk_buff; LD_ABS/LD_IND */
	BPFVM_PROG_TYPE_KPROBE = 2,		/* uprobe/uretprobe: ctx: struct pt_regs */
	BPFVM_PROG_TYPE_SCHED_CLS = 3,		/* tc: ctx: struct __sk_buff, data at L2 */
	BPFVM_PROG_TYPE_TRACEPOINT = 5,		/* ctx: the event's record */
	BPFVM_PROG_TYPE_XDP = 6,		/* ctx: struct xdp_md */
	BPFVM_PROG_TYPE_USER_BASE = 0x10000,	/* embedders' types start here */
	/* An object's program whose SEC() names no type (until set_type). */
	BPFVM_PROG_TYPE_NONE = 0xffffffff,
};

struct bpfvm_region;	/* below: memory a program may touch */
struct bpfvm_prog;

/* An embedder's program type, for its own hook: r1 = a context of ctx_size bytes
 * that the embedder builds and passes to bpfvm_prog__run. */
struct bpfvm_prog_type_def {
	size_t sz;
	uint32_t type;			/* >= BPFVM_PROG_TYPE_USER_BASE, unique */
	const char *name;		/* "my_hook": shown by tools (copied) */
	/* Object sections "SEC_PREFIX" and "SEC_PREFIX/..." get this type
	 * (NULL: none; copied). */
	const char *sec_prefix;
	uint32_t ctx_size;		/* bytes at r1 the program may read, > 0 */
	bool ctx_writable;		/* may programs write them */
	/* Helpers only programs of this type see (copied), as bpfvm_prog_opts. */
	const struct bpfvm_helper *helpers;
	size_t helper_cnt;
	/* More memory a run may touch, found from the context (a buffer it points
	 * to): fills at most max regions and returns how many. NULL: none. */
	size_t (*ctx_regions)(const void *ctx, struct bpfvm_region *regions, size_t max);
};
/* Registers a program type process-wide. -EINVAL (type below
 * BPFVM_PROG_TYPE_USER_BASE, no name, ctx_size 0), -EEXIST (type, name or
 * sec_prefix taken), -ENOMEM. */
BPFVM_API int bpfvm_prog_type__register(const struct bpfvm_prog_type_def *def);
/* "xdp", "socket_filter", "sched_cls", "kprobe", "tracepoint", "raw", or an
 * embedder's name; NULL for an unknown type. */
BPFVM_API const char *bpfvm_prog_type__name(uint32_t type);
/* The type whose name is name (as above), or -ENOENT. */
BPFVM_API long long bpfvm_prog_type__from_name(const char *name);
/* The type a SEC() name implies, as libbpf guesses it: "xdp", "xdp/...",
 * "socket", "tc", "classifier", "tcx/...", "uprobe/...", "uretprobe/...",
 * "tracepoint/...", "tp/...", "raw"; an embedder's sec_prefix. -ENOENT if none. */
BPFVM_API long long bpfvm_prog_type__from_section(const char *sec_name);

/* ---- Programs ----------------------------------------------------------------- */
struct bpfvm_prog;
struct bpfvm_map;
struct bpfvm_object;

struct bpfvm_prog_opts {
	size_t sz;
	const char *name;			/* default "prog" */
	/* Helpers visible to this program only; they take precedence over the
	 * process-wide ones with the same id. The array is copied. */
	const struct bpfvm_helper *helpers;
	size_t helper_cnt;
	/* Do not compile the program to native code (it then runs only on the
	 * interpreter). By default bpfvm_prog__new compiles with the JIT where the
	 * JIT exists, and fails if compilation fails. */
	bool no_jit;
	/* The maps the program may pass to helpers (as a map pointer it loads with
	 * lddw): a helper given any other value as a map returns NULL or -EINVAL and
	 * dereferences nothing. The array is copied; each map is kept alive until the
	 * program is freed. map_cnt without maps is -EINVAL, as is a NULL entry. */
	struct bpfvm_map *const *maps;
	size_t map_cnt;
	/* enum bpfvm_prog_type or an embedder's type (default RAW). */
	uint32_t prog_type;
};
/* Map references in instructions: lddw with src_reg BPF_PSEUDO_MAP_FD (1) or
 * BPF_PSEUDO_MAP_IDX (5) and imm = i loads maps[i] (bpfvm has no file
 * descriptors: the index plays the fd's part, as the kernel's fd_array); src_reg
 * BPF_PSEUDO_MAP_VALUE (2) or BPF_PSEUDO_MAP_IDX_VALUE (6), imm = i and the second
 * slot's imm = off loads the address of byte off of maps[i]'s value at index 0 (an
 * ARRAY; off < value_size): global data. That value is memory the program may
 * use (read-only with BPFVM_F_RDONLY_PROG). */
/* Checks the program's structure and prepares it to run. Errors (EINVAL) name the
 * instruction index: unknown opcode, reserved fields not zero, bad register, write
 * to r10, jump out of range or into the middle of lddw, truncated lddw, falling off
 * the end, empty or over-long program (E2BIG), unknown helper, read of a register
 * never written. The instructions are copied. */
BPFVM_API struct bpfvm_prog *bpfvm_prog__new(const struct bpf_insn *insns, size_t cnt,
					    const struct bpfvm_prog_opts *opts);
/* Frees a program made by bpfvm_prog__new (programs of an object belong to it:
 * bpfvm_object__close frees them, this call ignores them). NULL is fine. */
BPFVM_API void bpfvm_prog__free(struct bpfvm_prog *prog);
BPFVM_API uint32_t bpfvm_prog__type(const struct bpfvm_prog *prog);
/* The SEC() name for a program of an object; "" otherwise. */
BPFVM_API const char *bpfvm_prog__section_name(const struct bpfvm_prog *prog);
/* Before bpfvm_object__load: sets the type of an object's program (when its
 * section name says nothing, or to override it). -EBUSY once loaded. */
BPFVM_API int bpfvm_prog__set_type(struct bpfvm_prog *prog, uint32_t type);
/* Whether the program is ready to run (bpfvm_prog__new, or its object loaded). */
BPFVM_API bool bpfvm_prog__loaded(const struct bpfvm_prog *prog);
/* The maps the program's lddw instructions refer to by index (its opts.maps, or
 * for an object's program the object's maps in order, from open on): map idx,
 * or NULL. */
BPFVM_API size_t bpfvm_prog__map_cnt(const struct bpfvm_prog *prog);
BPFVM_API struct bpfvm_map *bpfvm_prog__map(const struct bpfvm_prog *prog, size_t idx);
BPFVM_API const char *bpfvm_prog__name(const struct bpfvm_prog *prog);
BPFVM_API size_t bpfvm_prog__insn_cnt(const struct bpfvm_prog *prog);
BPFVM_API const struct bpf_insn *bpfvm_prog__insns(const struct bpfvm_prog *prog);
/* The program's native code: *code and *len; insn_offsets (may be NULL) gets an
 * array of cnt + 1 offsets into the code, where instruction i's code starts
 * (offsets[cnt] = end of the last one). -ENOENT if the program was not JIT-
 * compiled (no_jit, or no JIT on this machine). */
BPFVM_API int bpfvm_prog__jited(const struct bpfvm_prog *prog, const void **code, size_t *len,
				const uint32_t **insn_offsets);
/* The JIT runs a loop whose bounds it can check once at the loop's entry in a
 * second, fast copy (no per-access checks for what the entry check covered, no
 * per-block budget tests). *copy_offsets gets cnt + 1 offsets into the code:
 * where instruction i's code in its loop's fast copy starts, or UINT32_MAX if
 * it is in none; [cnt] is where the fast copies end. Returns how many loops have
 * a fast copy, or -ENOENT without native code. */
BPFVM_API int bpfvm_prog__jited_loops(const struct bpfvm_prog *prog,
				      const uint32_t **copy_offsets);

/* ---- Running ------------------------------------------------------------------ */
enum bpfvm_engine {
	BPFVM_ENGINE_DEFAULT,		/* the fastest available */
	BPFVM_ENGINE_INTERP,		/* interpreter, computed-goto dispatch */
	BPFVM_ENGINE_INTERP_SWITCH,	/* interpreter, portable switch dispatch */
	BPFVM_ENGINE_JIT,		/* x86-64 native code */
};

/* Whether an engine can run on this machine (the JIT needs x86-64). */
BPFVM_API bool bpfvm_engine_available(enum bpfvm_engine engine);

/* Memory a program may touch in checked mode besides its stack. */
struct bpfvm_region {
	void *addr;
	size_t len;
	bool writable;
};

/* Why a checked run stopped early. */
enum bpfvm_fault_kind {
	BPFVM_FAULT_NONE,
	BPFVM_FAULT_READ,	/* load outside every region (-EFAULT) */
	BPFVM_FAULT_WRITE,	/* store or atomic outside the writable regions (-EFAULT) */
	BPFVM_FAULT_BUDGET,	/* instruction budget used up (-ETIME) */
	BPFVM_FAULT_CALL_DEPTH,	/* more than BPFVM_MAX_CALL_DEPTH frames (-E2BIG) */
	BPFVM_FAULT_BAD_CALL,	/* callx to an unknown helper (-EINVAL) */
	BPFVM_FAULT_UNSUPPORTED,/* instruction this engine cannot execute (-EOPNOTSUPP) */
};
struct bpfvm_fault {
	enum bpfvm_fault_kind kind;
	uint32_t insn;		/* index of the instruction that stopped */
	uint64_t addr;		/* READ/WRITE: first byte of the access;
				 * BAD_CALL: the helper id that was called */
	uint32_t size;		/* READ/WRITE: access size in bytes */
};
/* Writes a one-line description of f ("insn 3: write of 4 bytes at 0x... outside
 * the program's memory") into buf. */
BPFVM_API void bpfvm_fault__str(const struct bpfvm_fault *f, char *buf, size_t len);

struct bpfvm_run_opts {
	size_t sz;
	/* in: the raw program type's context: r1 = mem, r2 = mem_len. mem is
	 * readable and writable by the program and used in place (not copied). */
	void *mem;
	size_t mem_len;
	/* in: more memory the program may access (checked mode) */
	const struct bpfvm_region *regions;
	size_t region_cnt;
	enum bpfvm_engine engine;
	uint64_t budget;	/* in: instructions per run before BPFVM_FAULT_BUDGET; 0 = none */
	uint32_t repeat;	/* in: runs to time (0 = 1); the result is the last run's */
	/* out */
	uint64_t retval;	/* r0 at exit; 0 when the run failed */
	uint64_t duration_ns;	/* mean wall time of one run */
	uint64_t insn_executed;	/* instructions the last run executed (interpreter);
				 * on a fault, the faulting one counts unless it was
				 * the one over budget */
	struct bpfvm_fault fault;
	enum bpfvm_engine engine_used;	/* the engine that ran (DEFAULT resolved) */
};
/* Runs prog in checked mode: every load and store is bounds-checked against the
 * stack frames in use, mem and the regions; a violation, the budget running out or
 * too deep a call chain stops the run and is reported in opts->fault, with a
 * negative errno (see enum bpfvm_fault_kind). Nothing the program does can crash
 * the host. Thread-safe: one prog may run on several threads at once; mem is
 * then shared, and atomics on it are atomic. A run uses about 18 KiB of the
 * calling thread's stack (the program's 32 frames of 512 bytes, and the table
 * of map values and ring-buffer records the run may access), plus about 2 KiB
 * per callback in progress (bpf_loop inside bpf_loop ...: at most 31). -EINVAL
 * if mem_len is set without mem. */
BPFVM_API int bpfvm_prog__run_opts(struct bpfvm_prog *prog, struct bpfvm_run_opts *opts);
/* For typed programs: bpfvm_run_opts.mem is the context (r1) and mem_len must be 0
 * or the type's context size (TRACEPOINT records vary: mem_len is their length,
 * required); the program may touch the context (read-only unless
 * the type allows writes) and what the type finds from it (the packet of an
 * xdp_md / __sk_buff whose data fields the caller set), besides the regions. */

/* Packet memory for an embedder's own xdp_md / __sk_buff contexts: len bytes
 * below 4 GiB (so their 32-bit data fields can hold its address), page-aligned,
 * zeroed. NULL + errno ENOMEM (also when no memory below 4 GiB is left). Freed
 * with bpfvm_packet_free(p, len). */
BPFVM_API void *bpfvm_packet_alloc(size_t len);
BPFVM_API void bpfvm_packet_free(void *p, size_t len);

/* Runs prog once on the default engine with r1 = ctx (checked mode as above):
 * 0 and *retval = r0, or a negative errno (the fault goes to the log). RAW
 * programs and TRACEPOINT records need a length: use bpfvm_prog__run_opts
 * (-EINVAL here). */
BPFVM_API int bpfvm_prog__run(struct bpfvm_prog *prog, void *ctx, uint64_t *retval);

/* A test run, as the kernel's BPF_PROG_TEST_RUN (bpf_prog_test_run_opts): the
 * program type builds the context from data_in / ctx_in the way the kernel does
 * (XDP: the packet in a frame with 256 bytes of headroom, ctx_in a struct xdp_md
 * whose data is the metadata length and data_end = data_size_in; SOCKET_FILTER /
 * SCHED_CLS: an skb from an Ethernet frame (at least 14 bytes), ctx_in a struct
 * __sk_buff of which only the fields the kernel accepts may be set; other types:
 * ctx_in is the context itself, no data). RAW: data_in is the memory. After the
 * runs, data_out gets the packet as the program left it (-ENOSPC when
 * data_size_out is too small: what fits is copied, data_size_out says what was
 * needed) and ctx_out the context. */
struct bpfvm_test_run_opts {
	size_t sz;
	const void *data_in;	/* in */
	void *data_out;		/* out; NULL: not wanted */
	uint32_t data_size_in;
	uint32_t data_size_out;	/* in: room in data_out; out: bytes of output data */
	const void *ctx_in;
	void *ctx_out;
	uint32_t ctx_size_in;
	uint32_t ctx_size_out;	/* in: room; out: bytes */
	uint32_t repeat;	/* runs (0 = 1); results are the last run's */
	enum bpfvm_engine engine;
	uint64_t budget;	/* instructions per run; 0 = none */
	uint64_t retval;	/* out */
	uint64_t duration_ns;	/* out: mean per run */
	struct bpfvm_fault fault;	/* out */
	enum bpfvm_engine engine_used;	/* out */
};
/* 0, or a negative errno: -EINVAL (inputs the type does not accept: the log
 * says which), -ENOSPC (see above), -ENOENT (not loaded), or the run's fault. */
BPFVM_API int bpfvm_prog__test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts);

/* ---- Maps ----------------------------------------------------------------------
 * Kernel map types, numbers, flags and error codes, so objects written for the
 * kernel behave the same. Thread-safe: programs on several threads and user-space
 * callers may use one map at once. Per-CPU maps keep one value per CPU slot
 * (bpfvm_num_cpu_slots(); a running program uses its thread's slot); from user
 * space a per-CPU value is all slots' values, each rounded up to 8 bytes, one
 * after the other, as bpf(2) returns them.
 */
enum bpfvm_map_type {
	BPFVM_MAP_TYPE_HASH = 1,
	BPFVM_MAP_TYPE_ARRAY = 2,
	BPFVM_MAP_TYPE_PROG_ARRAY = 3,
	BPFVM_MAP_TYPE_PERCPU_HASH = 5,
	BPFVM_MAP_TYPE_PERCPU_ARRAY = 6,
	BPFVM_MAP_TYPE_LRU_HASH = 9,
	BPFVM_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BPFVM_MAP_TYPE_LPM_TRIE = 11,
	BPFVM_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPFVM_MAP_TYPE_HASH_OF_MAPS = 13,
	BPFVM_MAP_TYPE_QUEUE = 22,
	BPFVM_MAP_TYPE_STACK = 23,
	BPFVM_MAP_TYPE_RINGBUF = 27,
};
/* Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK) */
#define BPFVM_ANY	0
#define BPFVM_NOEXIST	1
#define BPFVM_EXIST	2
#define BPFVM_F_LOCK	4
/* Map flags (bpf_attr.map_flags) */
#define BPFVM_F_NO_PREALLOC	(1u << 0)
#define BPFVM_F_NO_COMMON_LRU	(1u << 1)
#define BPFVM_F_RDONLY		(1u << 3)	/* read-only from user space */
#define BPFVM_F_WRONLY		(1u << 4)
#define BPFVM_F_RDONLY_PROG	(1u << 7)	/* read-only for programs */
#define BPFVM_F_WRONLY_PROG	(1u << 8)
#define BPFVM_F_MMAPABLE	(1u << 10)

struct bpfvm_map;
struct bpfvm_map_create_opts {
	size_t sz;
	uint32_t map_flags;
	/* ARRAY_OF_MAPS / HASH_OF_MAPS: the map whose shape inner maps must have. */
	const struct bpfvm_map *inner_map;
};
/* Creates a map, as BPF_MAP_CREATE: -EINVAL for sizes or flags the type does not
 * allow (errno), -ENOMEM. key_size is 0 for QUEUE, STACK and RINGBUF; RINGBUF's
 * max_entries is its size in bytes, a power-of-two multiple of the page size. */
BPFVM_API struct bpfvm_map *bpfvm_map__create(enum bpfvm_map_type type, const char *name,
					     uint32_t key_size, uint32_t value_size,
					     uint32_t max_entries,
					     const struct bpfvm_map_create_opts *opts);
/* Drops the caller's reference; the map is freed when no program, map or caller
 * holds it any more. NULL is fine. */
BPFVM_API void bpfvm_map__free(struct bpfvm_map *map);
BPFVM_API const char *bpfvm_map__name(const struct bpfvm_map *map);
BPFVM_API enum bpfvm_map_type bpfvm_map__type(const struct bpfvm_map *map);
BPFVM_API uint32_t bpfvm_map__key_size(const struct bpfvm_map *map);
BPFVM_API uint32_t bpfvm_map__value_size(const struct bpfvm_map *map);
BPFVM_API uint32_t bpfvm_map__max_entries(const struct bpfvm_map *map);
BPFVM_API uint32_t bpfvm_map__flags(const struct bpfvm_map *map);
/* Element access from user space, as the bpf(2) commands of the same names and
 * libbpf's bpf_map__*_elem: key_sz and value_sz must equal the map's key size and
 * value size (for per-CPU maps: the value size rounded up to 8, times the CPU
 * slots), else -EINVAL. Errors as the kernel: -ENOENT (no such key), -EEXIST
 * (BPFVM_NOEXIST on an existing key), -E2BIG (full, or array index out of range),
 * -EINVAL, -EPERM (BPFVM_F_RDONLY / WRONLY). QUEUE and STACK take key NULL:
 * update pushes, lookup peeks, lookup_and_delete pops. */
BPFVM_API int bpfvm_map__lookup_elem(const struct bpfvm_map *map, const void *key, size_t key_sz,
				     void *value, size_t value_sz, uint64_t flags);
BPFVM_API int bpfvm_map__update_elem(struct bpfvm_map *map, const void *key, size_t key_sz,
				     const void *value, size_t value_sz, uint64_t flags);
BPFVM_API int bpfvm_map__delete_elem(struct bpfvm_map *map, const void *key, size_t key_sz,
				     uint64_t flags);
BPFVM_API int bpfvm_map__lookup_and_delete_elem(struct bpfvm_map *map, const void *key,
						size_t key_sz, void *value, size_t value_sz,
						uint64_t flags);
/* The key after cur_key (cur_key NULL or not found: the first key) into next_key;
 * -ENOENT after the last. */
BPFVM_API int bpfvm_map__get_next_key(const struct bpfvm_map *map, const void *cur_key,
				      void *next_key, size_t key_sz);
/* As BPF_MAP_FREEZE: user space may no longer change the map (updates and
 * deletes: -EPERM); programs still may unless BPFVM_F_RDONLY_PROG. -EBUSY when
 * already frozen, -EPERM for BPFVM_F_WRONLY_PROG maps, -ENOTSUP for map-in-map,
 * PROG_ARRAY and RINGBUF. */
BPFVM_API int bpfvm_map__freeze(struct bpfvm_map *map);
/* Map-in-map and PROG_ARRAY slots hold maps and programs: store with these. */
BPFVM_API int bpfvm_map__update_inner_map(struct bpfvm_map *outer, const void *key, size_t key_sz,
					  struct bpfvm_map *inner, uint64_t flags);
BPFVM_API int bpfvm_map__update_prog(struct bpfvm_map *prog_array, uint32_t index,
				     struct bpfvm_prog *prog, uint64_t flags);
/* Formats a key (value false) or value of map, data[0..size), from the BTF of
 * the object the map came from, into buf (NUL-terminated, cut to len): as C
 * ("{.a = 1, .b = \"x\"}") or, with BPFVM_FORMAT_JSON, as JSON ({"a": 1, "b": "x"}),
 * the way bpftool prints maps with BTF. -ENOENT when the map has no BTF for it
 * (print hex), -EINVAL (size too small), -ENOSPC (cut). */
#define BPFVM_FORMAT_JSON 1u
BPFVM_API int bpfvm_map__format(const struct bpfvm_map *map, bool value, const void *data,
				size_t size, unsigned flags, char *buf, size_t len);
/* The number of CPU slots per-CPU maps keep (the machine's CPU count). */
BPFVM_API int bpfvm_num_cpu_slots(void);

/* Ring-buffer consumer, as libbpf's ring_buffer__*: the callback gets each
 * submitted record in order; a non-zero return stops consuming (and is returned). */
typedef int (*bpfvm_ring_buffer_sample_fn)(void *ctx, void *data, size_t size);
struct bpfvm_ring_buffer;
BPFVM_API struct bpfvm_ring_buffer *bpfvm_ring_buffer__new(struct bpfvm_map *ringbuf,
							   bpfvm_ring_buffer_sample_fn fn,
							   void *ctx);
/* Records consumed, or a negative errno. poll waits up to timeout_ms (-1: forever)
 * for a record; consume never waits. */
BPFVM_API int bpfvm_ring_buffer__poll(struct bpfvm_ring_buffer *rb, int timeout_ms);
BPFVM_API int bpfvm_ring_buffer__consume(struct bpfvm_ring_buffer *rb);
BPFVM_API void bpfvm_ring_buffer__free(struct bpfvm_ring_buffer *rb);

/* ---- Objects -------------------------------------------------------------------
 * An eBPF object file as clang -O2 -g -target bpf writes it for libbpf
 * (docs/loader.md): programs per SEC(), BTF-defined and legacy maps, global data,
 * CO-RE. The flow is libbpf's:
 *
 *	obj = bpfvm_object__open_file("prog.bpf.o", NULL);	parse; maps exist
 *	(optional: bpfvm_prog__set_type, bpfvm_map__update_elem on .rodata/.data)
 *	bpfvm_object__load(obj);			programs ready; .rodata frozen
 *	prog = bpfvm_object__find_program_by_name(obj, "xdp_count");
 *	bpfvm_prog__test_run(prog, &topts);
 *	bpfvm_object__close(obj);
 *
 * The object owns its programs and holds a reference on each of its maps; take
 * one with bpfvm_map__ref for a map that should outlive the object.
 */
struct bpfvm_object_open_opts {
	size_t sz;
	const char *object_name;	/* default: the file name without directory */
	/* BTF to resolve CO-RE relocations against (a raw BTF file such as
	 * /sys/kernel/btf/vmlinux, or an ELF object's .BTF), as libbpf's
	 * btf_custom_path. NULL: the object's own BTF (user-space types). */
	const char *btf_custom_path;
	bool no_jit;			/* load programs for the interpreter only */
	/* Helpers every program of the object sees, as bpfvm_prog_opts.helpers. */
	const struct bpfvm_helper *helpers;
	size_t helper_cnt;
};
/* Opens an object: parses and links it and creates its maps (global data filled
 * in), so .rodata / .data can still be changed before load. NULL + errno:
 * EINVAL (malformed: the log names the section and byte offset), ENOENT / EIO
 * (file), E2BIG, ENOMEM. */
BPFVM_API struct bpfvm_object *bpfvm_object__open_file(const char *path,
						     const struct bpfvm_object_open_opts *opts);
BPFVM_API struct bpfvm_object *bpfvm_object__open_mem(const void *buf, size_t len,
						    const struct bpfvm_object_open_opts *opts);
/* Prepares every program (types, helpers, maps, validation, JIT), freezes
 * .rodata and fills PROG_ARRAY slots from .values. A program whose type is not
 * known (unrecognised SEC() and no bpfvm_prog__set_type) is -EINVAL naming it.
 * On failure nothing is half-loaded: the object can be closed. -EBUSY if loaded. */
BPFVM_API int bpfvm_object__load(struct bpfvm_object *obj);
BPFVM_API void bpfvm_object__close(struct bpfvm_object *obj);
BPFVM_API const char *bpfvm_object__name(const struct bpfvm_object *obj);
BPFVM_API const char *bpfvm_object__license(const struct bpfvm_object *obj);
/* Programs in section order; NULL prev gives the first, NULL after the last. */
BPFVM_API struct bpfvm_prog *bpfvm_object__next_program(const struct bpfvm_object *obj,
						     const struct bpfvm_prog *prev);
BPFVM_API struct bpfvm_prog *bpfvm_object__find_program_by_name(const struct bpfvm_object *obj,
							     const char *name);
/* Maps in the object's order (BTF-defined, legacy, then global data named
 * ".rodata", ".data", ".bss", ...). */
BPFVM_API struct bpfvm_map *bpfvm_object__next_map(const struct bpfvm_object *obj,
						const struct bpfvm_map *prev);
BPFVM_API struct bpfvm_map *bpfvm_object__find_map_by_name(const struct bpfvm_object *obj,
							const char *name);
/* Takes a reference on map (drop it with bpfvm_map__free): keeps an object's map
 * alive after bpfvm_object__close. Returns map. */
BPFVM_API struct bpfvm_map *bpfvm_map__ref(struct bpfvm_map *map);

#ifdef __cplusplus
}
#endif
#endif /* BPFVM_BPFVM_H */
