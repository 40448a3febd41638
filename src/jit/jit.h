/*
 * jit.h — the x86-64 JIT compiler's internal API: compile a validated program to
 * native code, run it, free it.
 *
 * Native code layout (one W^X image per program, page-aligned, mapped read-write
 * while it is written and then read-execute, never both):
 *
 *   entry trampoline   saves the host's callee-saved registers, r12 = the run
 *                      context (struct jit_ctx), rbp = top of the main frame,
 *                      r9 = budget countdown, BPF r1/r2 from the arguments,
 *                      zeroes the main frame if the program can address its stack
 *                      (no instruction reads r10: no frame is ever zeroed, which
 *                      only a program guessing a stack address could notice)
 *   body               one range per BPF instruction, in order (insn_offsets)
 *   shared routines    exit, unwind, fault, helper stop, region check, callx
 *                      lookup, frame zeroing, one frame prologue per subprogram
 *   out-of-line stubs  the cold half of each check, and per basic block an exact
 *                      budget copy (below)
 *
 * Registers: BPF r0-r10 live in rax, rdi, rsi, rdx, rcx, r8, rbx, r13, r14, r15,
 * rbp (the kernel's mapping, so helper calls need no argument moves under SysV);
 * r12 = struct jit_ctx *, r9 = the budget countdown (checked mode), r10 and r11 are
 * scratch. In the body rsp is 16-byte aligned, so helpers are called directly.
 *
 * Checked mode (the interpreter's rules, bit for bit):
 *  - memory: [addr, addr+size) must lie in the stack in use ([rbp-512, top of the
 *    main frame)), the first region (the context memory) or another region, static
 *    or dynamic (map values, ring-buffer records that helpers added during the
 *    run); the first two are tested inline, the rest in C (jit_mem_slow ->
 *    vm_region_ok, which reads the dynamic table at check time) out of line. Stack
 *    accesses through r10 whose offset is in [-512, -size] are statically safe and
 *    carry no check.
 *  - budget: each basic block subtracts its instruction count from r9 on entry;
 *    if that would go below zero the block runs instead from an out-of-line copy
 *    that counts one instruction at a time, so the budget fault names exactly the
 *    instruction the interpreter names. A fault elsewhere in a block adds back the
 *    instructions after the faulting one (computed in C from the leader map), so
 *    insn_executed is exact too.
 *  - faults record {kind, insn, addr, size} through C and unwind with the rsp saved
 *    by the trampoline, from any call depth.
 * Verified mode (for the verifier, later) is the same emitter with checked =
 * false: no memory checks, no budget.
 *
 * Calls: helpers are called at their address (rel32 when the image is within
 * reach, else through r11); after the call, run->stop ends the run with
 * r0 = run->stop_retval. A local call checks the depth, moves rbp down one 512-byte
 * frame (zeroing it the first time this run reaches that depth, as the
 * interpreter) and calls the subprogram's frame prologue, which saves r6-r9
 * (rbx, r13-r15); its exit restores them and rbp and returns.
 *
 * Tail calls (designed, not emitted yet): struct jit_ctx has tail_cnt, zeroed by
 * every run. A tail call from the main frame will: compare tail_cnt with
 * JIT_MAX_TAIL_CALLS (33, as the kernel) and fall through when reached; increment
 * it; load the target program's jit_image and jump (not call) to its tail_entry
 * offset with r1 (rdi) = the context, keeping rsp, rbp, r12 and r9 — the current
 * frame is reused, and the target's exits return through the first program's
 * trampoline. tail_entry is the first instruction's code, after the trampoline.
 */
#ifndef BPFVM_JIT_H
#define BPFVM_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prog.h"

#define JIT_MAX_TAIL_CALLS	33

struct jit_image;

/* Whether this machine can run the JIT's code (x86-64). */
bool jit_supported(void);

/* Compiles prog (validated: prog->decoded filled) in checked mode. 0 with *out
 * set, or a negative errno with the reason logged (vm_err). */
int jit_compile(const struct bpfvm_prog *prog, struct jit_image **out);
void jit_free(struct jit_image *img);

/* Runs the image as interp_run runs a program: same arguments, results, faults. */
int jit_run(const struct jit_image *img, struct vm_run *run, uint64_t r1, uint64_t r2,
	    uint64_t *r0);

/* jit_run repeat times (at least once) with one set-up, stopping at the first
 * failure; the results are the last run's. For timing loops. */
int jit_run_repeat(const struct jit_image *img, struct vm_run *run, uint64_t r1, uint64_t r2,
		   uint64_t *r0, uint32_t repeat);

/* The native code and the per-instruction offsets (cnt + 1 of them). */
void jit_code(const struct jit_image *img, const void **code, size_t *len,
	      const uint32_t **insn_offsets);

/* Offset of the tail-call entry (see above). */
uint32_t jit_tail_entry(const struct jit_image *img);

#endif
