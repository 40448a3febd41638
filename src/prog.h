/*
 * prog.h — a loaded program and the state of one run, shared by the validator,
 * the interpreter and (later) the JIT.
 *
 * A program keeps its original instructions (for listing and for the kernel) and a
 * decoded copy for the engines: the same 8-byte slots with `code` replaced by the
 * isa.def row (enum isa_op; ISA_LDDW_HI for lddw's second slot) and, for helper
 * calls, `imm` replaced by an index into prog->helper_fns. Engines dispatch on the
 * row and never decode opcode bits again.
 */
#ifndef BPFVM_PROG_H
#define BPFVM_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "bpfvm/bpfvm.h"

struct jit_image;

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
};

/* Bytes of eBPF stack a run owns: BPFVM_MAX_CALL_DEPTH frames. */
#define VM_STACK_TOTAL (BPFVM_STACK_SIZE * BPFVM_MAX_CALL_DEPTH)

/* One run in progress. */
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
};

/* The run on this thread, for bpfvm_run_stop() and (later) helpers that need it. */
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
