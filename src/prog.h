/*
 * prog.h — a loaded program and the state of one run, shared by the validator,
 * the interpreter and (later) the JIT.
 *
 * A program keeps its original instructions (for listing and for the kernel) and a
 * decoded copy for the engines: the same 8-byte slots with `code` replaced by the
 * isa.def row (enum isa_op; ISA_LDDW_HI for lddw's second slot) and, for helper
 * calls, `imm` replaced by an index into prog->helper_fns. Engines dispatch on the
 * row and never decode opcode bits again.
 *
 * Maps a program may use are bound to it (prog->maps, a reference each): helpers
 * accept a map argument only if it is one of them (vm_run_map), so a bogus r1 is
 * never dereferenced.
 *
 * Memory a run may touch in checked mode: its stack, the static regions (context
 * memory first, then the embedder's) and the DYNAMIC regions that helpers add while
 * it runs — a map value a lookup returned, a ring-buffer record reserved. All three
 * engines and vm_mem_ok test the non-inline part through one function,
 * vm_region_ok, which reads the dynamic table from the run at check time.
 */
#ifndef BPFVM_PROG_H
#define BPFVM_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct jit_image;
struct bpfvm_map;
struct vm_prog_type;

struct bpfvm_prog {
	char *name;
	struct bpf_insn *insns;		/* as given */
	struct bpf_insn *decoded;	/* code = enum isa_op, see above */
	size_t cnt;
	/* Helpers bound at creation: every id the program may call, local ones
	 * first, sorted by id (callx looks up here at run time). */
	struct bpfvm_helper *helpers;
	size_t helper_cnt;
	/* Direct call targets: decoded CALL slots hold an index into this array. */
	bpfvm_helper_fn *helper_fns;
	size_t helper_fn_cnt;
	/* Native code (src/jit), NULL when compiled with no_jit or off x86-64. */
	struct jit_image *jit;
	/* Maps the program may pass to helpers, sorted by address, one reference
	 * each (dropped by bpfvm_prog__free). */
	struct bpfvm_map **maps;
	size_t map_cnt;
	/* The maps lddw refers to by index (src 1/2/5/6, imm = index), in the order
	 * given (opts.maps; an object's maps), one reference each. */
	struct bpfvm_map **map_table;
	size_t map_table_cnt;
	/* Checked mode's static regions besides the context: the global data the
	 * program reaches through lddw src 2/6, and the values of the ARRAY maps
	 * bound to it (all of them: an array's values never move). */
	struct bpfvm_region *static_regions;
	size_t static_region_cnt;
	const struct vm_prog_type *type;	/* src/progtypes */
	/* Objects: the program belongs to obj (not freed by bpfvm_prog__free) and is
	 * ready to run only when loaded. */
	struct bpfvm_object *obj;
	char *sec_name;
	bool loaded;
	/* ---- Callbacks (see "Callbacks, tail calls and packet loads" below) ---- */
	/* The instructions lddw src=4 (BPF_PSEUDO_FUNC) points at, sorted: callback
	 * k starts at func_starts[k] (filled by vm_validate). */
	uint32_t *func_starts;
	size_t func_start_cnt;
};

/* Whether opts (sz bytes of it) has field F: for extensible opts structs. */
#define OPTS_HAS(O, F) ((O) && (O)->sz >= offsetof(__typeof__(*(O)), F) + sizeof((O)->F))

/* ---- Creating programs: bpfvm_prog__new and the object layer ------------------- */

/* A program from insns (copied), named, of the RAW type, not ready to run; NULL
 * when memory runs out. */
struct bpfvm_prog *vm_prog_alloc(const struct bpf_insn *insns, size_t cnt, const char *name);
/* What preparing needs besides the program (its type is prog->type). */
struct vm_prepare {
	const struct bpfvm_helper *helpers;	/* local helpers, before the type's */
	size_t helper_cnt;
	struct bpfvm_map *const *maps;		/* the map table (no NULLs) */
	size_t map_cnt;
	bool no_jit;
};
/* Binds helpers and maps, validates and compiles: then prog->loaded. 0 or a
 * negative errno (logged); on failure call vm_prog_unprepare. */
int vm_prog_prepare(struct bpfvm_prog *prog, const struct vm_prepare *a);
/* Drops everything vm_prog_prepare made (back to not loaded). */
void vm_prog_unprepare(struct bpfvm_prog *prog);
/* An object's maps in order (object.c): the map table of its programs. */
struct bpfvm_map *const *vm_object_maps(const struct bpfvm_object *obj, size_t *cnt);

/* Frees the program whoever owns it. NULL is fine. */
void vm_prog_destroy(struct bpfvm_prog *prog);

/* The helper id libbpf (and our loader) write over an instruction whose CO-RE
 * relocation failed: the validator accepts it, reaching it stops the run. */
#define VM_CORE_POISON 0xbad2310u

/* Bytes of eBPF stack a run owns: BPFVM_MAX_CALL_DEPTH frames. */
#define VM_STACK_TOTAL (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)

/* Dynamic regions a run keeps at most. When the table is full, the oldest map-value
 * region is replaced (a program that holds more than VM_DYN_REGIONS looked-up
 * pointers at once faults on the oldest); ring-buffer records are never replaced,
 * so a reservation that finds the table full of records fails (NULL). */
#define VM_DYN_REGIONS 64
/* Inner maps (from map-in-map lookups) a run may hold at once. */
#define VM_HELD_MAPS 8

struct vm_dyn_region {
	uint64_t addr;
	uint64_t len;			/* 0: a free slot */
	bool writable;
	bool record;			/* a reserved ring-buffer record */
};

/* One run in progress. Initialise with vm_run_init (which leaves the dynamic table
 * itself untouched: it is large and dyn_cnt says what is in use) or zero it. */
struct vm_run {
	const struct bpfvm_prog *prog;
	/* The eBPF stack, VM_STACK_TOTAL bytes, 16-byte aligned, owned by the caller
	 * of the engine: every engine run from the same place sees the same r10, so
	 * engines can be compared bit for bit even when a program leaks r10. */
	uint8_t *stack;
	const struct bpfvm_region *regions;	/* besides the stack */
	size_t region_cnt;
	/* The region the JIT tests inline (the rest go out of line): what the
	 * context points to (the packet) when the type says, else the context. */
	uint32_t hot;
	uint64_t budget;			/* 0 = unlimited */
	uint64_t insn_executed;
	struct bpfvm_fault fault;
	bool stop;				/* set by bpfvm_run_stop() */
	uint64_t stop_retval;
	/* The context (r1 at entry) and, for packet types, the packet LD_ABS /
	 * LD_IND read (pkt NULL: none, they end the program with r0 = 0). */
	void *ctx;
	const uint8_t *pkt;
	uint64_t pkt_len;
	/* ---- Callbacks and tail calls (see the block at the end of this file) ---- */
	const struct vm_engine *engine;		/* the engine running, set at entry */
	void *engine_state;			/* its state (the JIT's context) */
	/* The interpreter publishes these when it calls a helper; a callback
	 * continues them: the budget countdown, frames in use - 1, and the deepest
	 * frame zeroed this run. */
	uint64_t left;
	uint32_t depth;
	uint32_t zeroed;
	uint32_t tail_cnt;			/* tail calls made this run */
	const struct bpfvm_prog *tail_prog;	/* a tail call to make (stop is set) */
	uint64_t tail_r1;			/* ... and its r1 */
	uint64_t entry_r2;			/* r2 at entry: tail-call targets get it too */
	uint32_t cb_key[BPFVM_MAX_CALL_DEPTH];	/* for_each callbacks' array keys */
	/* Inner maps a map-in-map lookup handed to the program: usable as maps for
	 * the rest of the run, one reference each (vm_run_hold_map). */
	uint32_t held_cnt;
	struct bpfvm_map *held[VM_HELD_MAPS];
	/* Dynamic regions: dyn[0..dyn_cnt) in the order added (a ring once full,
	 * dyn_next = the slot to consider replacing first). Emptied at the start of
	 * every run (vm_run_dyn_clear); last, so vm_run_init need not zero it. */
	uint32_t dyn_cnt;
	uint32_t dyn_next;
	struct vm_dyn_region dyn[VM_DYN_REGIONS];
};

/* Sets up a run of prog with stack, the static regions and budget; the dynamic
 * table starts empty. */
void vm_run_init(struct vm_run *run, const struct bpfvm_prog *prog, uint8_t *stack,
		 const struct bpfvm_region *regions, size_t region_cnt, uint64_t budget);

/* Empties the dynamic table, discarding ring-buffer records the program reserved and
 * never submitted (so a faulting or careless program cannot wedge a ring buffer).
 * Engines call it when a run starts, prog.c when the last run ends. */
void vm_run_dyn_release(struct vm_run *run);
static inline void vm_run_dyn_clear(struct vm_run *run)
{
	if (run->dyn_cnt || run->held_cnt)
		vm_run_dyn_release(run);
}
/* An inner map a map-in-map lookup returned: the program may use it as a map for
 * the rest of the run (a reference is held until the run ends). false when the
 * run holds VM_HELD_MAPS already (the lookup then returns NULL). */
bool vm_run_hold_map(struct bpfvm_map *inner);

/* THE out-of-line region check: true if [addr, addr+size) (size >= 1) lies inside
 * one of r[0..n) or one of run's dynamic regions, writable ones when write. The
 * engines pass the static regions they do not test inline; vm_mem_ok all of them. */
/* The first of r[0..n) that [addr, addr+size) lies inside (writable when write),
 * or NULL. */
const struct bpfvm_region *vm_region_find(const struct bpfvm_region *r, size_t n, uint64_t addr,
					  uint64_t size, bool write);
bool vm_region_ok(const struct vm_run *run, const struct bpfvm_region *r, size_t n,
		  uint64_t addr, uint64_t size, bool write);

/* For helpers, on the running program (vm_current_run; no-ops without one):
 *  - vm_run_add_region: [p, p+len) becomes accessible for the rest of the run (a
 *    map value a lookup returned); p NULL or len 0 adds nothing;
 *  - vm_run_add_record: the same for a ring-buffer record just reserved; false when
 *    the table holds VM_DYN_REGIONS records (the caller then discards it);
 *  - vm_run_take_record: removes the record that starts at p and returns true, or
 *    returns false if p is not a record this run reserved and still holds (the
 *    caller must then not touch it). */
void vm_run_add_region(void *p, size_t len, bool writable);
bool vm_run_add_record(void *p, size_t len);
bool vm_run_take_record(const void *p);

/* The map r names if it is bound to the running program, else NULL (also when no
 * program runs on this thread): helpers never dereference anything else. */
struct bpfvm_map *vm_run_map(uint64_t r);

/* Binds maps[0..cnt) to prog (for the object layer, before the first run): the
 * program may pass them to helpers; each gets a reference until the program is
 * freed. Maps already bound are skipped. 0, -EINVAL (a NULL map), -ENOMEM. */
int vm_prog_bind_maps(struct bpfvm_prog *prog, struct bpfvm_map *const *maps, size_t cnt);
/* Whether m is bound to prog (bpfvm_prog_opts.maps / the object's maps). */
bool vm_prog_has_map(const struct bpfvm_prog *prog, const struct bpfvm_map *m);
/* Whether [addr, addr + len) lies in one of the running program's static regions
 * (writable ones when write): memory a lookup need not add to the dynamic table. */
bool vm_run_static(const struct vm_run *run, const void *addr, size_t len, bool write);

/* The value lddw insn i (src 1/5: a map; src 2/6: value address + offset, value
 * true) of prog stands for, from prog->map_table; adds the value's static region.
 * 0 or -EINVAL naming the instruction. */
int vm_prog_map_ref(struct bpfvm_prog *prog, size_t i, bool value, uint64_t *out);

/* The run on this thread, for bpfvm_run_stop() and the helpers that need it. */
extern _Thread_local struct vm_run *vm_current_run;

/* Validates insns[0..cnt) for prog (helpers bound); fills prog->decoded and the
 * helper tables. 0 or a negative errno with the reason logged. */
int vm_validate(struct bpfvm_prog *prog);

/* Binds prog to the local helpers plus the process-wide ones (prog->helpers). */
int vm_bind_helpers(struct bpfvm_prog *prog, const struct bpfvm_helper *local, size_t local_cnt);
/* Looks up a helper by id among prog's bound helpers; NULL if unknown. */
const struct bpfvm_helper *vm_prog_helper(const struct bpfvm_prog *prog, uint32_t id);

/* The interpreter: runs from instruction 0 with r1, r2 as given. Returns 0 with
 * *r0 set, or a negative errno with run->fault filled in. */
int interp_run(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0);
int interp_run_switch(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0);

/* Errno that goes with a fault kind. */
int vm_fault_errno(enum bpfvm_fault_kind kind);

/* ---- Callbacks, tail calls and packet loads --------------------------------------
 * (src/helpers/calls.c, the engines; docs/helpers.md)
 *
 * Callback tokens. lddw src=4 (BPF_PSEUDO_FUNC), imm = target - (i + 1), loads
 * VM_FUNC_TOKEN(target): 0xbfcb0000 in the high half, the target's instruction
 * index in the low half. A constant, not an address, so every engine loads the
 * same bits; the validator decodes the lddw as a plain one with this value.
 * Helpers taking a callback accept only a token whose target is in
 * prog->func_starts (of the program running at the call); anything else is
 * -EINVAL.
 *
 * A callback runs like a bpf-to-bpf call: a fresh 512-byte frame below the
 * current one (counting toward BPFVM_MAX_CALL_DEPTH), r1-r5 = its arguments,
 * returning r0, on the engine that runs the program (vm_engine.callback), with
 * the run's budget. A fault inside it stops the whole run with that fault (its
 * insn is the callback's instruction); a callback that cannot start because the
 * frames are used up faults with BPFVM_FAULT_CALL_DEPTH at the helper call.
 * bpfvm_run_stop() and LD_ABS/LD_IND out of bounds inside it stop the whole run.
 *
 * Tail calls. bpf_tail_call sets run->tail_prog / tail_r1 and stop and returns
 * 0; the engine's stop path then continues the run with that program from its
 * first instruction in the same frame (depth 0: only the main program's frame may
 * tail-call), r1 = tail_r1, r2 = entry_r2, other registers 0, the stack as it
 * was. The JIT continues on the target's native code, or on the interpreter when
 * the target has none (no_jit); the interpreter continues on itself.
 */
#define VM_FUNC_TOKEN_TAG	0xbfcb000000000000ull
#define VM_FUNC_TOKEN(insn)	(VM_FUNC_TOKEN_TAG | (uint32_t)(insn))

/* fault.insn of a fault at the helper call being made: the engine's stop path
 * puts the call's index there. */
#define VM_INSN_AT_CALL		UINT32_MAX

/* What helpers need from the engine running the program. */
struct vm_engine {
	/* Runs callback k (prog->func_starts[k] of the running program) with r1-r5
	 * = args: 0 and *r0, or a negative errno with the fault recorded where the
	 * engine keeps it (at VM_INSN_AT_CALL if no frame is left). */
	int (*callback)(struct vm_run *run, uint32_t k, const uint64_t args[5], uint64_t *r0);
	/* Frames in use - 1 at the helper call being made. */
	uint32_t (*depth)(const struct vm_run *run);
};

/* Takes back a region vm_run_add_region(p, len, writable) added (the latest
 * such entry; nothing if there is none): for memory lent to a callback. */
void vm_run_drop_region(const void *p, size_t len, bool writable);

/* LD_ABS / LD_IND: the size-byte (1, 2, 4) big-endian value at byte off of
 * run->pkt, zero-extended; off < 0, bytes past pkt_len, or no packet end the run
 * with r0 = 0 (as bpfvm_run_stop(0)) and return 0. */
uint64_t vm_ld_pkt(struct vm_run *run, int32_t off, uint32_t size);

/* The interpreter continuing a run at a tail call's target (for the JIT, whose
 * target has no native code): run->prog is the target; run->left and
 * run->zeroed carry the budget and frames on; the main frame is zeroed. Returns
 * as interp_run, with run->left updated. */
int interp_run_tail(struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0);

#endif
