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
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct jit_image;
struct bpfvm_map;

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
};

/* Bytes of eBPF stack a run owns: BPFVM_MAX_CALL_DEPTH frames. */
#define VM_STACK_TOTAL (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)

/* Dynamic regions a run keeps at most. When the table is full, the oldest map-value
 * region is replaced (a program that holds more than VM_DYN_REGIONS looked-up
 * pointers at once faults on the oldest); ring-buffer records are never replaced,
 * so a reservation that finds the table full of records fails (NULL). */
#define VM_DYN_REGIONS 64

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
	uint64_t budget;			/* 0 = unlimited */
	uint64_t insn_executed;
	struct bpfvm_fault fault;
	bool stop;				/* set by bpfvm_run_stop() */
	uint64_t stop_retval;
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
	if (run->dyn_cnt)
		vm_run_dyn_release(run);
}

/* THE out-of-line region check: true if [addr, addr+size) (size >= 1) lies inside
 * one of r[0..n) or one of run's dynamic regions, writable ones when write. The
 * engines pass the static regions they do not test inline; vm_mem_ok all of them. */
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

#endif
