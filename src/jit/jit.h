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
 *                      lookup, frame zeroing, the tail-call and callback entries
 *                      (below), one frame prologue per subprogram
 *   fast loop copies   per versioned loop (loops.h), 64-byte aligned
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
 *    main frame)) or a region, static (the context memory, the embedder's, global
 *    data, what the context points to) or dynamic (map values, ring-buffer records
 *    that helpers added during the run). One static region is the "context
 *    memory" the code tests inline (run->hot: the packet for types whose context
 *    points to one, else the context itself). Through r10 the stack and then that
 *    region are tested inline; through any other register only that region is
 *    (lea, sub, cmp, jae), then in the out-of-line stub the stack and the static
 *    region the last call into C found (ctx.c_base: static regions do not change
 *    during a run), then C (jit_mem_slow -> vm_region_find / vm_region_ok, which
 *    reads the dynamic table at check time). Stack accesses through r10 whose
 *    offset is in [-512, -size] are statically safe and carry no check. The
 *    context memory's base lives in a callee-saved register that no BPF register
 *    of the program uses (r6-r9 unused), else it is read from ctx.
 *  - grouped checks: in a basic block, two or more accesses through one register
 *    (not r10) with no write of it in between are checked once, before the first,
 *    for their whole span in the context memory; the members then carry no check.
 *    If the group check fails, the rest of the block runs from an out-of-line copy
 *    in which every access checks itself: the same state at the same point, so
 *    the faulting instruction, the stores before it and the budget are exact.
 *  - budget: each basic block subtracts its instruction count from r9 on entry;
 *    if that would go below zero the block runs instead from an out-of-line copy
 *    that counts one instruction at a time, so the budget fault names exactly the
 *    instruction the interpreter names. A fault elsewhere in a block adds back the
 *    instructions after the faulting one (computed in C from the leader map), so
 *    insn_executed is exact too. A helper call ends its block, so the countdown
 *    a callback continues from is exactly the interpreter's.
 *  - faults record {kind, insn, addr, size} through C and unwind with the rsp saved
 *    by the innermost entry (ctx.saved_rsp), from any call depth.
 *  - loops: an innermost loop whose iterations the analysis in loops.h can bound
 *    gets an entry check in front of its header (the checked loop's own
 *    back edges skip it) and a fast copy: covered accesses unchecked, budget
 *    charged exactly but ahead and without tests (for a loop that calls: the
 *    usual tests), and a test that repeats the one before it is skipped there,
 *    a jump over a goto inverted (thread_tests). A single-block loop whose IV has a constant or register
 *    step charges nothing per iteration: r10 = iv0 from the entry, and its way
 *    out (the block's end) settles r9 -= len * (iv - iv0) / step (fast_lazy,
 *    lazy_settle). A loop that stays checked starts on a 32-byte boundary.
 *    Jumps across alignment padding are always long (padding may grow when
 *    earlier code shrinks).
 * Folding (fold.h): per block, registers holding known constants, zero-extended
 * values or r10 + c; ALU results that are known become a mov, register operands
 * that are known become immediates, jumps on known values become jmp or nothing,
 * zero-extensions of zero-extended values and identities emit nothing, r <<= 32;
 * r >>= 32 (s>>=) is one mov r32, r32 (movsxd). Peephole: dst = src followed in
 * its block by dst += src2 / imm, dst -= imm (clang's address arithmetic) is one
 * lea, dst *= imm one three-operand imul; nothing can stop the run between the
 * two. Shifts by a register are BMI2 shlx/shrx/sarx where the CPU has it.
 * Registers the program never reads are neither zeroed nor moved on entry.
 * Array lookups inline: bpf_map_lookup_elem on an ARRAY or PERCPU_ARRAY map bound
 * to the program, with fold.h knowing r1 (the map) and r2 (r10 + off, the key in
 * the frame), is a load, a compare and an address computation (inline_lookup);
 * the values are a static region of the program, so nothing is registered.
 * Verified mode (for the verifier, later) is the same emitter with checked =
 * false: no memory checks, no budget.
 *
 * Calls: helpers are called at their address (rel32 when the image is within
 * reach, else through r11), with r9 saved in ctx.left; afterwards r1-r5 = 0, r9
 * is reloaded (a callback may have used budget) and run->stop leads to the stop
 * routine (jit_stopped): a callback's fault is propagated, a tail call made, or
 * the run ends with r0 = run->stop_retval. LD_ABS / LD_IND call vm_ld_pkt the
 * same way. A local call checks the depth, moves rbp down one 512-byte frame
 * (zeroing it the first time this run reaches that depth, as the interpreter)
 * and calls the subprogram's frame prologue, which saves the r6-r9 that some
 * subprogram writes; its exit restores them and rbp and returns. The depth is
 * rbp's distance from the stack's top (nothing counts calls): a call compares
 * rbp with ctx.lim_rbp, a frame is zeroed when rbp goes below ctx.zeroed_rbp,
 * and C learns the depth from ctx.cur_rbp, which every helper call stores.
 *
 * Callbacks (bpf_loop, bpf_for_each_map_elem; prog.h): every lddw src=4 target
 * is a subprogram with a frame prologue. The helper calls run->engine->callback
 * = jit_callback (C), which takes the frame below ctx.cur_rbp (zeroing it as a
 * local call would) and enters the image at the callback entry: the
 * trampoline's register saving, rsp kept in ctx.saved_rsp (the previous value
 * is put back afterwards), rbp = the new frame's top, r9 = ctx.left, BPF r1-r5
 * from the arguments, then a call to the subprogram's prologue; the subprogram's
 * exit returns there and it leaves through .exit (storing r9). A fault or stop
 * inside unwinds to the callback entry; jit_callback restores ctx.cur_rbp and
 * reports it, and the helper's caller stops through the stop routine.
 *
 * Tail calls: bpf_tail_call (allowed at depth 0 only) records the target and
 * stops the run; the stop routine unwinds to jit_run_repeat, which calls the
 * target image's tail entry — the main trampoline without the main-frame
 * zeroing, joining it just before the first instruction — with r1 = the
 * helper's r1, r2 = the run's entry r2, the same frame and the budget left, in
 * a loop (at most 33 per run, counted by the helper). A target compiled with
 * no_jit continues on the interpreter (interp_run_tail) from there. Fault
 * indexes after a tail call are the target's.
 */
#ifndef BPFVM_JIT_H
#define BPFVM_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prog.h"

struct jit_image;

/* Whether this machine can run the JIT's code (x86-64). */
bool jit_supported(void);

/* Whether the CPU has BMI2; jit_set_bmi2(false) makes later compiles use the
 * plain shifts (for tests; the default uses BMI2 where the CPU has it). */
bool jit_cpu_has_bmi2(void);
void jit_set_bmi2(bool on);

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

/* How many loops the image runs in a fast copy once their entry check passes
 * (loops.h). */
size_t jit_versioned_loops(const struct jit_image *img);
/* How many of them charge the budget by the decision-tree plan (loops.c,
 * plan_charges: instructions owed along a path, settled at joins). */
size_t jit_owed_loops(const struct jit_image *img);
/* How many of them charge nothing per iteration and settle the budget from the
 * induction variable on the way out (jit.c, fast_lazy / lazy_settle). */
size_t jit_lazy_loops(const struct jit_image *img);
/* How many repeated tests their fast copies skip (loops.c, thread_tests). */
size_t jit_threaded_tests(const struct jit_image *img);

/* How many instructions the JIT emitted otherwise than as written: folded to a
 * constant, a known jump, an immediate operand, or no code at all (fold.h). */
size_t jit_folded_insns(const struct jit_image *img);

/* How many helper calls the JIT inlined: bpf_map_lookup_elem on an ARRAY map
 * bound to the program with the key on the stack (jit.c, inline_lookup). */
size_t jit_inlined_calls(const struct jit_image *img);

/* Per instruction, where its code in a fast loop copy starts, UINT32_MAX if in
 * none; [cnt] = where the copies end (bpfvm_prog__jited_loops). */
const uint32_t *jit_copy_offsets(const struct jit_image *img);

/* The native code and the per-instruction offsets (cnt + 1 of them). */
void jit_code(const struct jit_image *img, const void **code, size_t *len,
	      const uint32_t **insn_offsets);

#endif
