/*
 * trace.c — the tracing program types, whose context is read-only data the hook
 * hands over:
 *  - KPROBE (2; SEC "kprobe", "kretprobe", "uprobe", "uretprobe"): struct pt_regs,
 *    the registers at the probe, in the x86-64 kernel layout that bpf_tracing.h's
 *    PT_REGS_PARM1() etc. read (defined below: no system header has it for
 *    user space under this name);
 *  - TRACEPOINT (5; SEC "tracepoint", "tp"): the event's record, whose size
 *    varies by event: ctx_size 0, the caller's length (see progtype.h).
 * The kernel has no BPF_PROG_TEST_RUN for either; bpfvm's is the generic one
 * (progtype.c): ctx_in is the context (a pt_regs, up to 168 bytes, the rest zero;
 * or the whole record), there is no data, ctx_out returns the context.
 */
#include "progtypes/progtype.h"

/* The kernel's x86-64 struct pt_regs as BPF programs see it. */
struct vm_pt_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
};
_Static_assert(sizeof(struct vm_pt_regs) == 168, "x86-64 pt_regs is 21 registers");

static const char *const kprobe_sections[] = {
	"kprobe", "kretprobe", "uprobe", "uretprobe", NULL
};

const struct vm_prog_type vm_prog_type_kprobe = {
	.type = BPFVM_PROG_TYPE_KPROBE,
	.name = "kprobe",
	.sec_prefixes = kprobe_sections,
	.ctx_size = sizeof(struct vm_pt_regs),
};

static const char *const tracepoint_sections[] = { "tracepoint", "tp", NULL };

const struct vm_prog_type vm_prog_type_tracepoint = {
	.type = BPFVM_PROG_TYPE_TRACEPOINT,
	.name = "tracepoint",
	.sec_prefixes = tracepoint_sections,
	.ctx_size = 0,	/* variable: the record's length */
};
