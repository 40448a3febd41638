/*
 * jit.c — the x86-64 JIT: analysis, the per-instruction emitters, the passes that
 * converge on the shortest encoding, the W^X image, and the run-time support that
 * the native code calls (checks, faults) or that calls it (callbacks, tail calls).
 * The design is described in jit.h.
 *
 * Passes. Emission runs over the whole program until the image stops shrinking:
 * every position the code refers to is a label (one per instruction, then shared
 * routines, subprogram prologues and out-of-line stubs, allocated in the same order
 * each pass). A jump uses its label's latest value: exact backwards, the previous
 * pass's (an upper bound) forwards, unknown (long form) in the first pass. A jump
 * that once fit in rel8 stays short, so sizes only shrink and the passes converge;
 * when no label moved, a last pass writes the bytes. Helper calls become rel32 once
 * the image's address is known (it is mapped after the first pass, which gives an
 * upper bound of the size).
 *
 * Errors stick in the state's x86_buf (the first one wins) and are checked once per
 * pass.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fold.h"
#include "helpers/helpers.h"
#include "isa.h"
#include "jit.h"
#include "log.h"
#include "loops.h"
#include "maps/map.h"
#include "x86_64.h"

/* BPF register n lives in x86 register xreg[n]. */
static const uint8_t xreg[11] = { RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP };
static int xr(unsigned r) { return xreg[r <= 10 ? r : 0]; }
#define CTX	R12	/* struct jit_ctx * */
#define LEFT	R9	/* budget countdown */

/* The run context r12 points at. The fields the fast paths use come first, within
 * a disp8 of r12. */
struct jit_ctx {
	uint64_t top_lim[4];		/* stack top - size, for sizes 1, 2, 4, 8 */
	uint64_t m_base;		/* first region: base */
	uint64_t m_rlim[4];		/* len - size + 1 (0: never) for reads */
	uint64_t m_wlim[4];		/* the same for writes (0 if read-only) */
	uint64_t left;			/* budget countdown while r9 is saved */
	uint64_t lim_rbp;		/* a local call from a frame whose top is below
					 * this is too deep */
	uint64_t zeroed_rbp;		/* the lowest frame top zeroed this run */
	uint64_t cur_rbp;		/* rbp at the last helper call: the frame C asks
					 * about (depth = (stack_top - rbp) / 512) */
	bool main_zeroed;		/* the main frame is zeroed (see jit_tail) */
	uint64_t stack_top;
	uint64_t saved_rsp;		/* rsp in the innermost entry, to unwind */
	uint64_t copy_left;		/* budget a block's slow copy started with */
	struct vm_run *run;
	const struct jit_image *img;
	struct bpfvm_fault fault;
	uint64_t lv_hi;			/* a versioned loop's entry check: the IV's bound */
	/* The static region the last out-of-line check found (its base, length and
	 * writable length): the stubs test it before calling C again. The static
	 * regions do not change while the run lasts. */
	uint64_t c_base, c_len, c_wlen;
	uint64_t cpu_slot;		/* vm_cpu_slot(): inlined PERCPU_ARRAY lookups */
};
#define CTX_OFF(f)	((int32_t)offsetof(struct jit_ctx, f))
_Static_assert(offsetof(struct jit_ctx, zeroed_rbp) + 8 <= 128, "fast-path fields need disp8");

/* Frames in use below the main one when the innermost frame's top is rbp. */
static uint32_t depth_of(const struct jit_ctx *c, uint64_t rbp)
{
	return (uint32_t)((c->stack_top - rbp) / BPFVM_STACK_SIZE);
}

typedef uint64_t (*jit_entry_fn)(struct jit_ctx *ctx, uint64_t r1, uint64_t r2);
/* The callback entry: runs the subprogram whose frame prologue is at prologue in
 * the frame whose top is top, with BPF r1-r5 = args; returns r0. */
typedef uint64_t (*jit_callback_fn)(struct jit_ctx *ctx, const void *prologue,
				    const uint64_t *args, uint64_t top);

struct jit_image {
	uint8_t *code;
	size_t len;		/* bytes of code */
	size_t map_len;		/* bytes mapped */
	uint32_t *insn_off;	/* cnt + 1 */
	uint8_t *leader;	/* per slot: starts a basic block */
	const struct bpf_insn *insns;	/* prog->decoded */
	size_t cnt;
	bool checked;
	bool uses_stack;	/* the main trampoline zeroes the main frame */
	uint32_t tail_entry;	/* offsets of the tail-call and callback entries */
	uint32_t cb_entry;
	uint32_t *cb_prologue;	/* per prog->func_starts[k]: its frame prologue */
	size_t nloops;		/* versioned loops */
	size_t nowed;		/* of which charged by the decision-tree plan */
	size_t nthreaded;	/* repeated tests their fast copies skip */
	size_t nfolded;		/* instructions emitted otherwise by fold.h */
	size_t ninlined;	/* helper calls inlined (array lookups) */
	size_t nlazy;		/* versioned loops charged from their IV */
	uint32_t *copy_off;	/* cnt + 1: jit_copy_offsets */
};

/* ---- Packed fault descriptions (r10d when native code calls into C) ------------ */
#define PK_EXACT	0x80u	/* budget counted per instruction here (slow copy) */
#define PK_WRITE	0x40u
#define PK_LOW		0x3fu	/* memory: access size; else: enum bpfvm_fault_kind */
#define PK_BLOCK_BUDGET	0x3fu	/* budget fault in the slow copy of the block at insn */
static uint32_t pack(size_t insn, bool exact, unsigned low)
{
	return (uint32_t)insn << 8 | (exact ? PK_EXACT : 0) | low;
}

/* ---- CPU features ---------------------------------------------------------------- */

/* BMI2 (shlx/shrx/sarx: a shift by any register, no rcx shuffle), if this CPU has
 * it; tests turn it off to check the other path (jit_set_bmi2). */
static bool jit_bmi2 = false;
static bool jit_bmi2_probed = false;

void jit_set_bmi2(bool on)
{
	jit_bmi2 = on && jit_cpu_has_bmi2();
	jit_bmi2_probed = true;
}

bool jit_cpu_has_bmi2(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	return __builtin_cpu_supports("bmi2");
#else
	return false;
#endif
}

/* ---- Compiler state ------------------------------------------------------------ */
enum stub_kind { STUB_MEM, STUB_MEMR, STUB_FAULT, STUB_STOP, STUB_ZERO, STUB_COPY, STUB_CCOPY,
		 STUB_ADJ };
struct stub {
	uint8_t kind;
	uint8_t reg;			/* MEMR: the access's x86 base register */
	int32_t disp;			/* MEMR: its displacement */
	uint32_t label, ret, arg;	/* arg: packed, or the leader of a COPY / CCOPY */
	int32_t ahead;			/* in a fast loop copy: budget charged ahead (or, < 0,
					 * owed), settled before C sees r9 (ADJ: then jmp ret) */
	bool dual;			/* there: r10 holds the other half of the charges */
	int16_t lazy;			/* there: the loop whose charges r9 still owes
					 * (fast_lazy), or -1 */
};

/* Fixed labels after the instructions' */
enum {
	L_EXIT,		/* store r9, return to the host */
	L_EXIT_NOSTORE,	/* return to the host */
	L_UNWIND,	/* reset rsp, return */
	L_FAULT,	/* r10d = packed, r11 = addr: record, unwind */
	L_STOP,		/* r10d = packed: helper called bpfvm_run_stop */
	L_CHK_MEM,	/* called: r11 = addr, r10d = packed: other regions */
	L_CALLX,	/* called: r11 = id, r10d = packed: r11 = helper or fault */
	L_ZERO,		/* called: zero the frame below rbp */
	L_BODY,		/* the main trampoline after zeroing the main frame */
	L_TAIL,		/* entry: a tail call's target (jit_tail) */
	L_CALLBACK,	/* entry: a callback (jit_callback) */
	L__COUNT,
};
#define LBL_UNKNOWN	UINT32_MAX

#define FL_LEADER	1u
#define FL_TARGET	2u	/* local call target: a subprogram starts here */

/* Per slot: memory-check groups (find_groups) */
#define G_MEMBER	1u	/* checked with its group */
#define G_HEAD		2u	/* the group's check comes before this access */
#define G_WRITE		4u	/* (head) some member writes */

struct jit_state {
	struct x86_buf b;
	const struct bpfvm_prog *prog;
	const struct bpf_insn *code;
	size_t cnt;
	bool checked;
	bool uses_stack;	/* some instruction reads r10 */
	uint16_t read;		/* the BPF registers some instruction reads */
	bool in_body;		/* emitting the instructions in order (not a copy) */
	bool main_called;	/* insn 0 is also a local call target */
	size_t main_end;	/* first subprogram after the main one */
	uint8_t saved[6];	/* host registers the trampoline saves: rbp, r12 and */
	size_t nsaved;		/* the callee-saved ones BPF r6-r9 use (and mbase) */
	uint8_t callee[4];	/* the x86 registers of r6-r9 that some subprogram */
	size_t ncallee;		/* writes: saved by every frame prologue */
	int mbase;		/* a callee-saved register no BPF register uses, holding
				 * the context memory's base in checked mode, or -1 */
	uint8_t *flags;		/* per slot FL_* */
	uint32_t *blk;		/* per leader: instructions in its block */
	uint32_t *tlabel;	/* per call target: its frame prologue's label */
	struct fold *fold;	/* per slot: what its code may leave out (fold.h) */
	uint8_t *inlined;	/* per slot: a helper call emitted inline */
	size_t ninlined;	/* helper calls inlined, this pass */
	uint32_t *lbl;		/* label offsets */
	size_t nlbl, lbl_base, lbl_cap;
	bool changed;
	bool nogroup;		/* emitting a CCOPY: every access checks itself */
	uint8_t *grouped;	/* per slot G_*: the access is checked with its group */
	int32_t *glo, *ghi;	/* per group head: the span's offsets */
	uint8_t *jshort;	/* per jump (in emission order): fits rel8 */
	size_t njmp, jcap;
	struct stub *stubs;
	size_t nstub, stub_cap;
	size_t err_insn;	/* first instruction whose emitter failed */
	uintptr_t image;	/* the image's address once mapped, else 0 */
	size_t image_len;
	struct lv_info lv;	/* versioned loops (loops.h) */
	uint32_t *lv_lbl;	/* per loop: its fixed labels: the checked header
				 * (after the entry check), then one per fast block */
	int32_t cur_loop;	/* emitting this loop's fast copy, or -1 */
	int32_t thr_to;		/* there: where the block's last jump goes instead
				 * (a repeated test skipped: loops.h), or -1 */
	bool negate;		/* there: the block's last jump is inverted (loops.h) */
	uint32_t *copy_off;	/* per instruction: its code in a fast copy (last pass) */
	uint32_t *pads;		/* where each alignment padding ends, in emission order
				 * (this pass's position once emitted, else the
				 * last's): loop heads and fast copies */
	size_t npads, pad_next;
	int32_t ahead;		/* there: the current block's charged-ahead budget */
	bool dual;		/* there: charges alternate between r9 (sub) and r10
				 * (add), two short dependency chains instead of one
				 * long; r9 - r10 is the countdown */
	int32_t lazy;		/* there: a loop charged from its IV (fast_lazy), or -1 */
};

static uint32_t lbl_insn(size_t i) { return (uint32_t)i; }
static uint32_t lbl_fixed(const struct jit_state *st, int which)
{
	return (uint32_t)(st->cnt + 1 + (size_t)which);
}

static uint32_t new_label(struct jit_state *st)
{
	if (st->nlbl == st->lbl_cap) {
		size_t cap = st->lbl_cap * 2;
		uint32_t *v = realloc(st->lbl, cap * sizeof(*v));
		if (!v) {
			x86_fail(&st->b, -ENOMEM);
			return 0;
		}
		for (size_t k = st->lbl_cap; k < cap; k++)
			v[k] = LBL_UNKNOWN;
		st->lbl = v;
		st->lbl_cap = cap;
	}
	return (uint32_t)st->nlbl++;
}

static void bind(struct jit_state *st, uint32_t l)
{
	if (st->lbl[l] != (uint32_t)st->b.pos) {
		st->lbl[l] = (uint32_t)st->b.pos;
		st->changed = true;
	}
}

static struct stub *add_stub(struct jit_state *st, enum stub_kind kind, uint32_t label,
			     uint32_t ret, uint32_t arg)
{
	if (st->nstub == st->stub_cap) {
		size_t cap = st->stub_cap ? st->stub_cap * 2 : 256;
		struct stub *v = realloc(st->stubs, cap * sizeof(*v));
		if (!v) {
			x86_fail(&st->b, -ENOMEM);
			return NULL;
		}
		st->stubs = v;
		st->stub_cap = cap;
	}
	st->stubs[st->nstub] = (struct stub){ .kind = (uint8_t)kind, .label = label, .ret = ret,
					      .arg = arg, .ahead = st->cur_loop >= 0 ? st->ahead : 0,
					      .dual = st->cur_loop >= 0 && st->dual,
					      .lazy = (int16_t)(st->cur_loop >= 0 ? st->lazy : -1) };
	/* The only way out of a lazy copy is its block's end (fast_lazy). */
	if (st->cur_loop >= 0 && st->lazy >= 0 && kind != STUB_ADJ)
		x86_fail(&st->b, -EINVAL);
	return &st->stubs[st->nstub++];
}

/* Whether a jump between positions a and b spans the alignment padding in front of
 * a fast loop copy: padding can grow when earlier code shrinks, so such a jump is
 * always long (the opening comment's sizes-only-shrink argument then holds). */
static bool crosses_pad(const struct jit_state *st, uint32_t a, uint32_t b)
{
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	size_t l = 0, h = st->npads;
	if (!st->pads)
		return false;
	while (l < h) {		/* the first pad after lo (pads ascend) */
		size_t m = (l + h) / 2;
		if (st->pads[m] <= lo)
			l = m + 1;
		else
			h = m;
	}
	return l < st->npads && st->pads[l] <= hi;
}

/* Pads to a multiple of align bytes: with NOPs (fill: they may run) or int3. */
static void align_to(struct jit_state *st, size_t align, bool fill)
{
	size_t n = (align - st->b.pos % align) % align;
	if (fill)
		x86_nop(&st->b, n);
	else
		while (n--)
			x86_byte(&st->b, 0xcc);			/* int3 (never reached) */
	if (st->pad_next < st->npads)
		st->pads[st->pad_next++] = (uint32_t)st->b.pos;
}

/* jmp (cc < 0) or jcc to label l, rel8 when it fits (see the opening comment). */
static void jump(struct jit_state *st, int cc, uint32_t l)
{
	if (st->njmp == st->jcap) {
		size_t cap = st->jcap ? st->jcap * 2 : 1024;
		uint8_t *v = realloc(st->jshort, cap);
		if (!v) {
			x86_fail(&st->b, -ENOMEM);
			return;
		}
		memset(v + st->jcap, 0, cap - st->jcap);
		st->jshort = v;
		st->jcap = cap;
	}
	uint8_t *is_short = &st->jshort[st->njmp++];
	uint32_t t = st->lbl[l];
	int64_t p = (int64_t)st->b.pos;
	if (t != LBL_UNKNOWN && !crosses_pad(st, (uint32_t)p, t)) {
		int64_t d = (int64_t)t - (p + 2);
		if (*is_short || x86_is_imm8(d)) {
			if (!x86_is_imm8(d) && st->b.buf)
				x86_fail(&st->b, -EFAULT);	/* cannot happen: sizes only shrink */
			*is_short = 1;
			if (cc < 0)
				x86_jmp8(&st->b, (int8_t)d);		/* jmp short l */
			else
				x86_jcc8(&st->b, (enum x86_cc)cc, (int8_t)d);	/* jcc short l */
			return;
		}
	}
	int64_t d = t == LBL_UNKNOWN ? 0 : (int64_t)t - (p + (cc < 0 ? X86_JMP32_LEN : X86_JCC32_LEN));
	if (cc < 0)
		x86_jmp32(&st->b, (int32_t)d);		/* jmp l */
	else
		x86_jcc32(&st->b, (enum x86_cc)cc, (int32_t)d);	/* jcc l */
}

/* call l (always rel32) */
static void call_label(struct jit_state *st, uint32_t l)
{
	uint32_t t = st->lbl[l];
	int64_t d = t == LBL_UNKNOWN ? 0 : (int64_t)t - ((int64_t)st->b.pos + X86_CALL32_LEN);
	x86_call32(&st->b, (int32_t)d);
}

/* Short forward branches inside one emitted sequence: jcc rel8 now, landed later. */
static size_t fwd8(struct jit_state *st, int cc)
{
	size_t at = st->b.pos;
	if (cc < 0)
		x86_jmp8(&st->b, 0);
	else
		x86_jcc8(&st->b, (enum x86_cc)cc, 0);
	return at;
}
static void land8(struct jit_state *st, size_t at)
{
	int64_t d = (int64_t)st->b.pos - (int64_t)(at + 2);
	if (!x86_is_imm8(d))
		x86_fail(&st->b, -EFAULT);
	else if (st->b.buf && !st->b.err)
		st->b.buf[at + 1] = (uint8_t)d;
}

/* call fn: rel32 when the image is mapped within reach, else movabs r11 + call r11 */
static void call_abs(struct jit_state *st, const void *fn)
{
	int64_t far = (int64_t)(uintptr_t)fn - (int64_t)st->image;
	if (st->image && far > -(INT64_C(1) << 31) + (int64_t)st->image_len &&
	    far < (INT64_C(1) << 31) - (int64_t)st->image_len) {
		int64_t d = (int64_t)(uintptr_t)fn - (int64_t)(st->image + st->b.pos + X86_CALL32_LEN);
		x86_call32(&st->b, (int32_t)d);		/* call fn */
	} else {
		x86_mov_ri(&st->b, R11, (uint64_t)(uintptr_t)fn);	/* movabs r11, fn */
		x86_call_r(&st->b, R11);			/* call r11 */
	}
}

/* The label a jump at from to instruction t goes to: in a loop's fast copy, the
 * copy of t's block if t is in the loop; in the checked code, a versioned loop's
 * header after its entry check when the jump comes from inside the loop. */
static uint32_t insn_label(struct jit_state *st, size_t from, size_t t)
{
	if (st->cur_loop >= 0) {
		if (st->thr_to >= 0)
			t = (size_t)st->thr_to;
		int j = lv_block_index(&st->lv.loops[st->cur_loop], t);
		if (j >= 0)
			return st->lv_lbl[st->cur_loop] + 1 + (uint32_t)j;
		if (!st->ahead && !st->dual && st->lazy < 0)
			return lbl_insn(t);
		uint32_t l = new_label(st);	/* leaving: settle the countdown */
		add_stub(st, STUB_ADJ, l, lbl_insn(t), 0);
		return l;
	}
	if (st->lv.header_of && st->lv.header_of[t] >= 0 &&
	    st->lv.loop_of[from] == st->lv.header_of[t])
		return st->lv_lbl[st->lv.header_of[t]];
	return lbl_insn(t);
}

/* Jumps (cc) to a new stub that faults with kind at insn i. */
static void fault_if(struct jit_state *st, int cc, size_t i, bool exact, enum bpfvm_fault_kind kind)
{
	uint32_t l = new_label(st);
	add_stub(st, STUB_FAULT, l, 0, pack(i, exact, kind));
	jump(st, cc, l);
}

/* ---- Run-time support called from native code ----------------------------------- */

/* Instructions after insn k in its basic block (charged on block entry but not run). */
static uint64_t block_rest(const struct jit_image *img, size_t k)
{
	uint64_t n = 0;
	size_t j = k + (img->insns[k].code == ISA_LDDW ? 2 : 1);
	while (j < img->cnt && !(img->leader[j] & FL_LEADER)) {
		n++;
		j += img->insns[j].code == ISA_LDDW ? 2 : 1;
	}
	return n;
}

static void record(struct jit_ctx *c, enum bpfvm_fault_kind kind, uint32_t packed, uint64_t addr,
		   uint32_t size, uint64_t left)
{
	c->fault.kind = kind;
	c->fault.insn = packed >> 8;
	c->fault.addr = addr;
	c->fault.size = size;
	c->left = !c->img->checked ? 0 :
		  packed & PK_EXACT ? left : left + block_rest(c->img, packed >> 8);
}

/* The out-of-line half of a memory check: the whole check, as the interpreter's
 * (the static regions and the run's dynamic ones, through vm_region_ok). */
static uint64_t jit_mem_slow(struct jit_ctx *c, uint64_t addr, uint32_t packed, uint64_t left,
			     uint64_t rbp)
{
	uint64_t size = packed & PK_LOW;
	bool write = packed & PK_WRITE;
	uint64_t span = c->stack_top - rbp + BPFVM_STACK_SIZE;
	if (addr - (c->stack_top - span) <= span - size)
		return 1;
	const struct bpfvm_region *r = vm_region_find(c->run->regions, c->run->region_cnt, addr,
						      size, write);
	if (r) {
		c->c_base = (uint64_t)(uintptr_t)r->addr;	/* the stubs' cache */
		c->c_len = r->len;
		c->c_wlen = r->writable ? r->len : 0;
		return 1;
	}
	if (vm_region_ok(c->run, NULL, 0, addr, size, write))
		return 1;
	record(c, write ? BPFVM_FAULT_WRITE : BPFVM_FAULT_READ, packed, addr, (uint32_t)size, left);
	return 0;
}

static void jit_fault(struct jit_ctx *c, uint32_t packed, uint64_t addr, uint64_t left)
{
	if ((packed & PK_LOW) == PK_BLOCK_BUDGET) {
		/* The block got copy_left instructions (fewer than it has): the next
		 * one is over budget, with none left. */
		size_t k = packed >> 8;
		for (uint64_t n = c->copy_left; n; n--)
			k += c->img->insns[k].code == ISA_LDDW ? 2 : 1;
		packed = pack(k, true, BPFVM_FAULT_BUDGET);
		left = 0;
	}
	record(c, (enum bpfvm_fault_kind)(packed & PK_LOW), packed, addr, 0, left);
}

/* A helper (or packet load) set run->stop: a callback it ran faulted (already
 * recorded with its budget) or found no frame left at this call, bpf_tail_call
 * asked for a tail call (jit_run_repeat makes it), or the run ends with
 * stop_retval. Returns r0. */
static uint64_t jit_stopped(struct jit_ctx *c, uint32_t packed, uint64_t left)
{
	if (c->fault.kind != BPFVM_FAULT_NONE) {
		if (c->fault.insn == VM_INSN_AT_CALL)
			record(c, c->fault.kind, packed, 0, 0, left);
		return 0;
	}
	record(c, BPFVM_FAULT_NONE, packed, 0, 0, left);
	return c->run->tail_prog ? 0 : c->run->stop_retval;
}

static bpfvm_helper_fn jit_callx(struct jit_ctx *c, uint64_t id, uint32_t packed, uint64_t left)
{
	const struct bpfvm_helper *h = id <= UINT32_MAX ?
		vm_prog_helper(c->run->prog, (uint32_t)id) : NULL;
	if (h && h->fn)
		return h->fn;
	record(c, BPFVM_FAULT_BAD_CALL, packed, id, 0, left);
	return NULL;
}

/* ---- Emitters -------------------------------------------------------------------- */

struct mem { int base; int32_t disp; };

/* sub r10, <the context memory's base>: from a spare callee-saved register when
 * the program leaves one free (st->mbase), else from ctx. */
static void sub_mbase(struct jit_state *st)
{
	if (st->mbase >= 0)
		x86_alu_rr(&st->b, true, ALU_SUB, R10, st->mbase);	/* sub r10, mbase */
	else
		x86_alu_rm(&st->b, true, ALU_SUB, R10, CTX, CTX_OFF(m_base));	/* sub r10, [m_base] */
}

/* The checked address of a size-byte access at BPF register breg + off: the operand
 * to use ([r11] after a check, else [reg + off]). force: always in r11. */
static struct mem mem_check(struct jit_state *st, size_t i, bool exact, int breg, int16_t off,
			    int size, bool write, bool force)
{
	struct x86_buf *b = &st->b;
	int xb = xr((unsigned)breg);
	int si = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
	if (!st->checked || (breg == 10 && off >= -BPFVM_STACK_SIZE && off <= -size) ||
	    (!exact && !st->nogroup && (st->grouped[i] & G_MEMBER)) ||
	    (st->cur_loop >= 0 && st->lv.covered[i])) {
		if (!force)
			return (struct mem){ xb, off };
		x86_lea(b, R11, xb, off);			/* lea r11, [reg + off] */
		return (struct mem){ R11, 0 };
	}
	if (breg != 10) {
		/* The context memory inline (4 instructions); the stack and the
		 * other regions in the stub, which leaves the address in r11. */
		uint32_t stub = new_label(st), back = new_label(st);
		struct stub *sb = add_stub(st, STUB_MEMR, stub, back,
					   pack(i, exact, (write ? PK_WRITE : 0) | (unsigned)size));
		if (sb) {
			sb->reg = (uint8_t)xb;
			sb->disp = off;
		}
		x86_lea(b, R10, xb, off);			/* lea r10, [reg + off] */
		sub_mbase(st);					/* sub r10, m_base */
		x86_alu_rm(b, true, ALU_CMP, R10, CTX,
			   write ? CTX_OFF(m_wlim[si]) : CTX_OFF(m_rlim[si]));	/* cmp r10, [lim] */
		jump(st, CC_AE, stub);				/* jae .slow */
		bind(st, back);
		if (!force)
			return (struct mem){ xb, off };
		x86_lea(b, R11, xb, off);			/* lea r11, [reg + off] */
		return (struct mem){ R11, 0 };
	}
	x86_lea(b, R11, xb, off);				/* lea r11, [reg + off] */
	uint32_t stub = new_label(st), back = new_label(st);
	add_stub(st, STUB_MEM, stub, back, pack(i, exact, (write ? PK_WRITE : 0) | (unsigned)size));
	/* Through r10 the stack is the likely region, else the context memory: test
	 * that one first. */
	size_t ok1 = 0, ok2;
	for (int pass = breg == 10 ? 0 : 1, k = 0; k < 2; k++, pass ^= 1) {
		bool last = k == 1;
		if (pass == 0) {
			x86_lea(b, R10, RBP, -BPFVM_STACK_SIZE);	/* lea r10, [rbp - 512] */
			x86_alu_rr(b, true, ALU_CMP, R11, R10);		/* cmp r11, r10 */
			size_t below = 0;
			if (last)
				jump(st, CC_B, stub);			/* jb .slow */
			else
				below = fwd8(st, CC_B);			/* jb .next */
			x86_alu_rm(b, true, ALU_CMP, R11, CTX, CTX_OFF(top_lim[si]));	/* cmp r11, [top - size] */
			if (last) {
				jump(st, CC_A, stub);			/* ja .slow */
			} else {
				ok1 = fwd8(st, CC_BE);			/* jbe .ok */
				land8(st, below);			/* .next: */
			}
		} else {
			x86_mov_rr(b, true, R10, R11);			/* mov r10, r11 */
			sub_mbase(st);					/* sub r10, m_base */
			x86_alu_rm(b, true, ALU_CMP, R10, CTX,
				   write ? CTX_OFF(m_wlim[si]) : CTX_OFF(m_rlim[si]));	/* cmp r10, [lim] */
			if (last)
				jump(st, CC_AE, stub);			/* jae .slow */
			else
				ok1 = fwd8(st, CC_B);			/* jb .ok */
		}
	}
	ok2 = ok1;
	land8(st, ok2);						/* .ok: */
	bind(st, back);
	return (struct mem){ R11, 0 };
}

enum aop { A_ADD, A_SUB, A_MUL, A_DIV, A_SDIV, A_MOD, A_SMOD, A_OR, A_AND, A_XOR,
	   A_LSH, A_RSH, A_ARSH, A_MOV, A_NONE };

static enum aop alu_op(int row)
{
#define AOP(NAME, K) case ISA_##NAME##32_IMM: case ISA_##NAME##32_REG: \
	case ISA_##NAME##64_IMM: case ISA_##NAME##64_REG: return K;
	switch (row) {
	AOP(ADD, A_ADD) AOP(SUB, A_SUB) AOP(MUL, A_MUL) AOP(DIV, A_DIV) AOP(SDIV, A_SDIV)
	AOP(MOD, A_MOD) AOP(SMOD, A_SMOD) AOP(OR, A_OR) AOP(AND, A_AND) AOP(XOR, A_XOR)
	AOP(LSH, A_LSH) AOP(RSH, A_RSH) AOP(ARSH, A_ARSH) AOP(MOV, A_MOV)
	default: return A_NONE;
	}
#undef AOP
}

/* mov d32, d32: the zero-extension a 32-bit no-op still owes */
static void zext32(struct x86_buf *b, int d)
{
	x86_mov_rr(b, false, d, d);
}

/* Division and modulo with the RFC 9669 corner cases; the divisor is in r11 and
 * known to be neither 0 nor (signed) -1. rax and rdx (BPF r0, r3) are preserved. */
static void divmod_core(struct jit_state *st, bool w64, bool sgn, bool mod, int d)
{
	struct x86_buf *b = &st->b;
	if (d != RAX)
		x86_mov_rr(b, true, R10, RAX);			/* mov r10, rax (save r0) */
	if (d != RDX)
		x86_push(b, RDX);				/* push rdx (save r3) */
	if (d != RAX)
		x86_mov_rr(b, true, RAX, d);			/* mov rax, dst */
	if (sgn)
		x86_cqo(b, w64);				/* cqo / cdq */
	else
		x86_mov_ri32(b, RDX, 0);			/* xor edx, edx */
	x86_unary(b, w64, sgn ? UN_IDIV : UN_DIV, R11);	/* (i)div r11 */
	int res = mod ? RDX : RAX;				/* a 32-bit result is zero-extended */
	if (d == RAX) {
		if (mod)
			x86_mov_rr(b, true, RAX, RDX);		/* mov rax, rdx */
		x86_pop(b, RDX);				/* pop rdx */
	} else if (d == RDX) {
		if (!mod)
			x86_mov_rr(b, true, RDX, RAX);		/* mov rdx, rax */
		x86_mov_rr(b, true, RAX, R10);			/* mov rax, r10 */
	} else {
		x86_mov_rr(b, true, d, res);			/* mov dst, rax/rdx */
		x86_pop(b, RDX);				/* pop rdx */
		x86_mov_rr(b, true, RAX, R10);			/* mov rax, r10 */
	}
}

/* What dst becomes when dividing by 0 (is_m1 false) or by -1 (signed, is_m1). */
static void divmod_special(struct x86_buf *b, bool w64, bool mod, bool is_m1, int d)
{
	if (!is_m1) {
		if (!mod)
			x86_mov_ri32(b, d, 0);			/* xor dst32, dst32: x / 0 = 0 */
		else if (!w64)
			zext32(b, d);				/* x % 0 = x (zero-extended) */
	} else if (!mod) {
		x86_unary(b, w64, UN_NEG, d);			/* neg dst: x / -1 = -x */
	} else {
		x86_mov_ri32(b, d, 0);				/* xor dst32, dst32: x % -1 = 0 */
	}
}

static void emit_divmod(struct jit_state *st, enum aop op, bool w64, bool is_imm, int d, int s,
			int32_t imm)
{
	struct x86_buf *b = &st->b;
	bool sgn = op == A_SDIV || op == A_SMOD, mod = op == A_MOD || op == A_SMOD;
	if (is_imm) {
		uint64_t v = w64 ? (uint64_t)(int64_t)imm : (uint32_t)imm;
		if (v == 0 || (sgn && imm == -1)) {
			divmod_special(b, w64, mod, v != 0, d);
			return;
		}
		if (!sgn && (v & (v - 1)) == 0) {		/* power of two */
			if (mod)
				x86_alu_ri(b, w64, ALU_AND, d, (int32_t)(v - 1));	/* and dst, v-1 */
			else if (v > 1)
				x86_shift_ri(b, w64, SH_SHR, d, (uint8_t)__builtin_ctzll(v));	/* shr dst, log2 v */
			else if (!w64)
				zext32(b, d);
			return;
		}
		if (w64)
			x86_mov_ri(b, R11, v);				/* mov r11, imm */
		else
			x86_mov_ri32(b, R11, (uint32_t)imm);		/* mov r11d, imm */
		divmod_core(st, w64, sgn, mod, d);
		return;
	}
	x86_mov_rr(b, w64, R11, s);				/* mov r11, src */
	x86_test_rr(b, w64, R11, R11);				/* test r11, r11 */
	size_t zero = fwd8(st, CC_E);				/* jz .zero */
	size_t m1 = 0;
	if (sgn) {
		x86_alu_ri(b, w64, ALU_CMP, R11, -1);		/* cmp r11, -1 */
		m1 = fwd8(st, CC_E);				/* je .minus1 */
	}
	divmod_core(st, w64, sgn, mod, d);
	size_t done = fwd8(st, -1);				/* jmp .done */
	land8(st, zero);					/* .zero: */
	divmod_special(b, w64, mod, false, d);
	size_t done2 = 0;
	if (sgn) {
		done2 = fwd8(st, -1);				/* jmp .done */
		land8(st, m1);					/* .minus1: */
		divmod_special(b, w64, mod, true, d);
		land8(st, done2);
	}
	land8(st, done);					/* .done: */
}

static void emit_shift(struct jit_state *st, enum aop op, bool w64, bool is_imm, int d, int s,
		       int32_t imm)
{
	struct x86_buf *b = &st->b;
	enum x86_shift sh = op == A_LSH ? SH_SHL : op == A_RSH ? SH_SHR : SH_SAR;
	if (is_imm) {
		uint8_t n = (uint8_t)(imm & (w64 ? 63 : 31));
		if (n)
			x86_shift_ri(b, w64, sh, d, n);		/* shl/shr/sar dst, n */
		else if (!w64)
			zext32(b, d);
		return;
	}
	if (s == RCX) {
		x86_shift_cl(b, w64, sh, d);			/* shl/shr/sar dst, cl */
		return;
	}
	if (jit_bmi2) {
		x86_shiftx(b, w64, sh, d, d, s);		/* shlx/shrx/sarx dst, dst, src */
		return;
	}
	x86_mov_rr(b, true, R11, RCX);				/* mov r11, rcx (save r4) */
	x86_mov_rr(b, false, RCX, s);				/* mov ecx, src32 */
	if (d == RCX) {
		x86_shift_cl(b, w64, sh, R11);			/* shift r11, cl */
		x86_mov_rr(b, true, RCX, R11);			/* mov rcx, r11 */
	} else {
		x86_shift_cl(b, w64, sh, d);			/* shift dst, cl */
		x86_mov_rr(b, true, RCX, R11);			/* mov rcx, r11 */
	}
}

static void emit_alu(struct jit_state *st, int row, const struct bpf_insn *in)
{
	struct x86_buf *b = &st->b;
	enum aop op = alu_op(row);
	bool w64 = isa_rows[row].bits == 64, is_imm = isa_rows[row].fmt == ISA_FMT_ALU_K;
	int d = xr(in->dst_reg), s = is_imm ? 0 : xr(in->src_reg);
	int32_t imm = in->imm;
	static const enum x86_alu xop[] = { [A_ADD] = ALU_ADD, [A_SUB] = ALU_SUB, [A_OR] = ALU_OR,
					    [A_AND] = ALU_AND, [A_XOR] = ALU_XOR };
	switch (op) {
	case A_ADD: case A_SUB: case A_OR: case A_XOR: case A_AND:
		if (is_imm) {
			if (imm == 0 && op != A_AND) {		/* identity */
				if (!w64)
					zext32(b, d);
			} else if (imm == 0 || (op == A_AND && imm == -1)) {
				if (imm == 0)
					x86_mov_ri32(b, d, 0);	/* xor dst32, dst32 */
				else if (!w64)
					zext32(b, d);
			} else {
				x86_alu_ri(b, w64, xop[op], d, imm);	/* op dst, imm */
			}
		} else if ((op == A_SUB || op == A_XOR) && d == s) {
			x86_mov_ri32(b, d, 0);			/* xor dst32, dst32 */
		} else {
			x86_alu_rr(b, w64, xop[op], d, s);	/* op dst, src */
		}
		break;
	case A_MOV:
		if (is_imm && w64)
			x86_mov_ri(b, d, (uint64_t)(int64_t)imm);	/* mov dst, imm */
		else if (is_imm)
			x86_mov_ri32(b, d, (uint32_t)imm);	/* mov dst32, imm */
		else if (!w64 || d != s)
			x86_mov_rr(b, w64, d, s);		/* mov dst, src */
		break;
	case A_MUL:
		if (!is_imm)
			x86_imul_rr(b, w64, d, s);		/* imul dst, src */
		else if (imm == 0)
			x86_mov_ri32(b, d, 0);			/* xor dst32, dst32 */
		else if (imm == 1 && w64)
			;					/* nothing */
		else if (imm == 1)
			zext32(b, d);
		else
			x86_imul_rri(b, w64, d, d, imm);	/* imul dst, dst, imm */
		break;
	case A_DIV: case A_SDIV: case A_MOD: case A_SMOD:
		emit_divmod(st, op, w64, is_imm, d, s, imm);
		break;
	case A_LSH: case A_RSH: case A_ARSH:
		emit_shift(st, op, w64, is_imm, d, s, imm);
		break;
	case A_NONE:
		x86_fail(b, -ENOSYS);
		break;
	}
}

static void emit_end(struct jit_state *st, int row, int d)
{
	struct x86_buf *b = &st->b;
	switch (row) {
	case ISA_LE16:
		x86_movzx16_rr(b, d, d);			/* movzx dst32, dst16 */
		break;
	case ISA_LE32:
		zext32(b, d);					/* mov dst32, dst32 */
		break;
	case ISA_LE64:
		break;
	case ISA_BE16: case ISA_BSWAP16:
		x86_rol16_8(b, d);				/* rol dst16, 8 */
		x86_movzx16_rr(b, d, d);			/* movzx dst32, dst16 */
		break;
	case ISA_BE32: case ISA_BSWAP32:
		x86_bswap(b, false, d);				/* bswap dst32 */
		break;
	case ISA_BE64: case ISA_BSWAP64:
		x86_bswap(b, true, d);				/* bswap dst */
		break;
	default:
		x86_fail(b, -ENOSYS);
	}
}

static enum x86_load load_kind(int row)
{
	switch (row) {
	case ISA_LDXB: return LD_ZX8;
	case ISA_LDXH: return LD_ZX16;
	case ISA_LDXW: return LD_32;
	case ISA_LDXSB: return LD_SX8;
	case ISA_LDXSH: return LD_SX16;
	case ISA_LDXSW: return LD_SX32;
	default: return LD_64;
	}
}

static void emit_atomic(struct jit_state *st, size_t i, bool exact, int row, const struct bpf_insn *in)
{
	struct x86_buf *b = &st->b;
	bool w64 = isa_rows[row].bits == 64;
	int size = w64 ? 8 : 4, s = xr(in->src_reg);
	int32_t aop = isa_rows[row].selval;
	struct mem m = mem_check(st, i, exact, in->dst_reg, in->off, size, true, true);
	bool fetch = aop & 1;
	enum x86_alu op = (aop & ~1) == 0x00 ? ALU_ADD : (aop & ~1) == 0x40 ? ALU_OR :
			  (aop & ~1) == 0x50 ? ALU_AND : ALU_XOR;
	switch (aop) {
	case 0xe1:
		x86_xchg_mr(b, w64, m.base, m.disp, s);		/* xchg [m], src */
		return;
	case 0xf1:
		x86_lock_cmpxchg(b, w64, m.base, m.disp, s);	/* lock cmpxchg [m], src */
		if (!w64)
			zext32(b, RAX);				/* mov eax, eax */
		return;
	}
	if (!fetch) {
		x86_lock_alu_mr(b, w64, op, m.base, m.disp, s);	/* lock op [m], src */
		return;
	}
	if (op == ALU_ADD) {
		x86_lock_xadd(b, w64, m.base, m.disp, s);	/* lock xadd [m], src */
		return;
	}
	/* fetch-or/and/xor: a cmpxchg loop on rax, r9 as the new value */
	if (st->checked)
		x86_store_r(b, 8, CTX, CTX_OFF(left), LEFT);	/* mov [ctx.left], r9 */
	x86_mov_rr(b, true, R10, RAX);				/* mov r10, rax (save r0) */
	int sv = s == RAX ? R10 : s;
	x86_load(b, w64 ? LD_64 : LD_32, RAX, m.base, m.disp);	/* mov rax, [m] */
	size_t loop = b->pos;
	x86_mov_rr(b, true, R9, RAX);				/* .loop: mov r9, rax */
	x86_alu_rr(b, w64, op, R9, sv);				/* op r9, src */
	x86_lock_cmpxchg(b, w64, m.base, m.disp, R9);		/* lock cmpxchg [m], r9 */
	x86_jcc8(b, CC_NE, (int8_t)((int64_t)loop - (int64_t)(b->pos + 2)));	/* jnz .loop */
	if (s != RAX) {
		x86_mov_rr(b, w64, s, RAX);			/* mov src, rax (old value) */
		x86_mov_rr(b, true, RAX, R10);			/* mov rax, r10 */
	} else if (!w64) {
		zext32(b, RAX);					/* mov eax, eax */
	}
	if (st->checked)
		x86_load(b, LD_64, LEFT, CTX, CTX_OFF(left));	/* mov r9, [ctx.left] */
}

static void emit_jcond(struct jit_state *st, size_t i, int row, const struct bpf_insn *in)
{
	struct x86_buf *b = &st->b;
	bool w64 = isa_rows[row].bits == 64, is_imm = isa_rows[row].fmt == ISA_FMT_JCOND_K;
	int d = xr(in->dst_reg);
	const char *k = isa_rows[row].kop;
	enum x86_cc cc;
	bool jset = false;
	/* The row's pseudo-C operator names the comparison (one table: isa.def). */
	if (!strcmp(k, "==")) cc = CC_E;
	else if (!strcmp(k, "!=")) cc = CC_NE;
	else if (!strcmp(k, ">")) cc = CC_A;
	else if (!strcmp(k, ">=")) cc = CC_AE;
	else if (!strcmp(k, "<")) cc = CC_B;
	else if (!strcmp(k, "<=")) cc = CC_BE;
	else if (!strcmp(k, "s>")) cc = CC_G;
	else if (!strcmp(k, "s>=")) cc = CC_GE;
	else if (!strcmp(k, "s<")) cc = CC_L;
	else if (!strcmp(k, "s<=")) cc = CC_LE;
	else if (!strcmp(k, "&")) { cc = CC_NE; jset = true; }
	else { x86_fail(b, -ENOSYS); return; }
	if (st->negate)
		cc = (enum x86_cc)(cc ^ 1);	/* the inverse condition (loops.h: invert) */
	if (is_imm && jset)
		x86_test_ri(b, w64, d, in->imm);		/* test dst, imm */
	else if (is_imm && in->imm == 0)
		x86_test_rr(b, w64, d, d);			/* test dst, dst (= cmp dst, 0) */
	else if (is_imm)
		x86_alu_ri(b, w64, ALU_CMP, d, in->imm);	/* cmp dst, imm */
	else if (jset)
		x86_test_rr(b, w64, d, xr(in->src_reg));	/* test dst, src */
	else
		x86_alu_rr(b, w64, ALU_CMP, d, xr(in->src_reg));	/* cmp dst, src */
	jump(st, cc, insn_label(st, i, (size_t)isa_target(in, row, i)));	/* jcc target */
}

/* After a helper call: stop if it called bpfvm_run_stop(). */
static void after_helper(struct jit_state *st, size_t i, bool exact)
{
	struct x86_buf *b = &st->b;
	if (st->checked)
		x86_load(b, LD_64, LEFT, CTX, CTX_OFF(left));	/* mov r9, [ctx.left] */
	x86_load(b, LD_64, R10, CTX, CTX_OFF(run));		/* mov r10, [ctx.run] */
	x86_cmp_m8i(b, R10, (int32_t)offsetof(struct vm_run, stop), 0);	/* cmp byte [run.stop], 0 */
	uint32_t l = new_label(st);
	add_stub(st, STUB_STOP, l, 0, pack(i, exact, 0));
	jump(st, CC_NE, l);					/* jne .stopped */
}

/* Calls fn (NULL: the function in r11) with its arguments in place (BPF r1-r5
 * for a helper): the budget saved for callbacks, r1-r5 = 0 afterwards, the stop
 * check. */
static void emit_helper_call(struct jit_state *st, size_t i, bool exact, const void *fn)
{
	struct x86_buf *b = &st->b;
	if (st->checked)
		x86_store_r(b, 8, CTX, CTX_OFF(left), LEFT);	/* mov [ctx.left], r9 */
	x86_store_r(b, 8, CTX, CTX_OFF(cur_rbp), RBP);		/* mov [ctx.cur_rbp], rbp */
	if (fn)
		call_abs(st, fn);				/* call fn */
	else
		x86_call_r(b, R11);				/* call r11 */
	/* The ABI leaves r1-r5 undefined after a helper call; bpfvm defines them as 0
	 * so every engine agrees and no host value (rdi..r8) reaches the program. */
	for (int r = 1; r <= 5; r++)
		x86_mov_ri32(b, xr(r), 0);			/* xor r32, r32 */
	after_helper(st, i, exact);
}

/* bpf_map_lookup_elem(map, r10 + off) on an ARRAY bound to the program, with the
 * key in the current frame, as the helper computes it: r0 = idx < max_entries ?
 * values + idx * stride : NULL, where idx = *(u32 *)(r10 + off) (PERCPU_ARRAY:
 * + the thread's CPU slot x cpu_stride, the slot read once per run). The helper's
 * checks hold by construction (fold.h knows r1 is that map and r2 that stack
 * address, [off, off + 4) lies in the frame, and the values are a static region of
 * the program: prog.c), and it never stops the run or reads the budget, so no C is
 * called. r1-r5 = 0 after it, as after any helper. */
static bool lookup_inlinable(const struct jit_state *st, size_t i, struct vm_array_layout *l)
{
	const struct fold *fo = &st->fold[i];
	const struct bpfvm_prog *p = st->prog;
	struct bpfvm_map *m = (struct bpfvm_map *)(uintptr_t)fo->val;
	return st->code[i].code == ISA_CALL && fo->kind == FOLD_CALL_ARGS &&
	       p->helper_fns[(uint32_t)st->code[i].imm] == (bpfvm_helper_fn)h_map_lookup_elem &&
	       fo->imm >= -BPFVM_STACK_SIZE && fo->imm <= -4 && vm_prog_has_map(p, m) &&
	       m->fd_kind == VM_FD_NONE && vm_map_array_layout(m, l) &&
	       l->cpu_stride <= INT32_MAX;
}

/* In front of an inlined call, in its block: instructions that only compute
 * registers nothing reads before the call clobbers r1-r5 (its argument set-up:
 * the inlined code takes the map and the key's address from fold.h, not from r1
 * and r2) emit no code (FOLD_DEAD). Backward liveness over the block; an
 * instruction that can fault or touches memory is kept, and registers are never
 * observable at a fault. */
static void kill_dead_args(struct jit_state *st, size_t call)
{
	uint16_t live = (uint16_t)(0x7ff & ~0x3fu);	/* r0-r5 are written by the call */
	for (size_t j = call; j-- > 0;) {
		const struct bpf_insn *in = &st->code[j];
		int row = in->code;
		if (row == ISA_LDDW_HI)
			continue;
		if (row >= ISA__COUNT)
			break;
		int fmt = isa_rows[row].fmt;
		uint16_t w = isa_regs_written(in, row), r = isa_regs_read(in, row);
		bool pure = fmt == ISA_FMT_ALU_K || fmt == ISA_FMT_ALU_X || fmt == ISA_FMT_NEG ||
			    fmt == ISA_FMT_MOVSX || fmt == ISA_FMT_END ||
			    (fmt == ISA_FMT_LDDW && row == ISA_LDDW);
		if (pure && w && !(w & live))
			st->fold[j] = (struct fold){ .kind = FOLD_DEAD };
		else
			live = (uint16_t)((live & ~w) | r);
		if (st->flags[j] & FL_LEADER)
			break;
	}
}

static bool inline_lookup(struct jit_state *st, size_t i)
{
	struct x86_buf *b = &st->b;
	const struct fold *fo = &st->fold[i];
	struct vm_array_layout l;
	if (!st->inlined[i] || !lookup_inlinable(st, i, &l))
		return false;
	x86_load(b, LD_32, R11, RBP, fo->imm);			/* mov r11d, [rbp + off] */
	x86_mov_ri32(b, RAX, 0);				/* xor eax, eax */
	x86_alu_ri(b, false, ALU_CMP, R11, (int32_t)l.max_entries);	/* cmp r11d, max */
	size_t at = fwd8(st, CC_AE);				/* jae .null */
	if (!(l.stride & (l.stride - 1)))
		x86_shift_ri(b, true, SH_SHL, R11, (uint8_t)__builtin_ctz(l.stride));	/* shl r11, k */
	else
		x86_imul_rri(b, true, R11, R11, (int32_t)l.stride);	/* imul r11, r11, stride */
	if (l.cpu_stride) {
		x86_load(b, LD_64, RDI, CTX, CTX_OFF(cpu_slot));	/* mov rdi, [ctx.cpu_slot] */
		x86_imul_rri(b, true, RDI, RDI, (int32_t)l.cpu_stride);	/* imul rdi, rdi, cpu_stride */
		x86_alu_rr(b, true, ALU_ADD, R11, RDI);		/* add r11, rdi */
	}
	x86_mov_ri(b, RAX, (uint64_t)(uintptr_t)l.values);	/* mov rax, values */
	x86_alu_rr(b, true, ALU_ADD, RAX, R11);			/* add rax, r11 */
	land8(st, at);						/* .null: */
	/* r1-r5 = 0, as after any helper, where a subprogram could receive them:
	 * elsewhere the validator lets nothing read them before writing them */
	for (int r = 1; r <= 5 && (st->main_end < st->cnt || st->main_called); r++)
		x86_mov_ri32(b, xr(r), 0);			/* xor r32, r32 */
	st->ninlined += st->in_body;
	return true;
}

static void emit_call(struct jit_state *st, size_t i, bool exact, int row, const struct bpf_insn *in)
{
	struct x86_buf *b = &st->b;
	if (row == ISA_CALL && inline_lookup(st, i))
		return;
	if (row == ISA_CALLX) {
		x86_mov_rr(b, true, R11, xr(in->dst_reg));	/* mov r11, dst (helper id) */
		x86_mov_ri32(b, R10, pack(i, exact, BPFVM_FAULT_BAD_CALL));	/* mov r10d, packed */
		call_label(st, lbl_fixed(st, L_CALLX));		/* call .callx (r11 = fn) */
		emit_helper_call(st, i, exact, NULL);
		return;
	}
	emit_helper_call(st, i, exact, (const void *)st->prog->helper_fns[(uint32_t)in->imm]);
}

/* LD_ABS / LD_IND: r0 = vm_ld_pkt(run, imm or src32 + imm, size), as a helper. */
static void emit_ld_pkt(struct jit_state *st, size_t i, bool exact, int row, const struct bpf_insn *in)
{
	struct x86_buf *b = &st->b;
	if (isa_rows[row].fmt == ISA_FMT_LDIND) {
		x86_mov_rr(b, false, RSI, xr(in->src_reg));	/* mov esi, src32 */
		if (in->imm)
			x86_alu_ri(b, false, ALU_ADD, RSI, in->imm);	/* add esi, imm */
	} else {
		x86_mov_ri32(b, RSI, (uint32_t)in->imm);	/* mov esi, imm */
	}
	x86_load(b, LD_64, RDI, CTX, CTX_OFF(run));		/* mov rdi, [ctx.run] */
	x86_mov_ri32(b, RDX, isa_rows[row].bits / 8u);		/* mov edx, size */
	emit_helper_call(st, i, exact, (const void *)vm_ld_pkt);
}

static void emit_call_local(struct jit_state *st, size_t i, const struct bpf_insn *in, int row)
{
	struct x86_buf *b = &st->b;
	size_t t = (size_t)isa_target(in, row, i);
	/* The depth is rbp's distance from the stack's top: nothing to count. */
	x86_alu_rm(b, true, ALU_CMP, RBP, CTX, CTX_OFF(lim_rbp));	/* cmp rbp, [lim_rbp] */
	fault_if(st, CC_B, i, false, BPFVM_FAULT_CALL_DEPTH);	/* jb .too_deep */
	x86_alu_ri(b, true, ALU_SUB, RBP, BPFVM_STACK_SIZE);	/* sub rbp, 512 */
	if (st->uses_stack) {
		x86_alu_rm(b, true, ALU_CMP, RBP, CTX, CTX_OFF(zeroed_rbp));	/* cmp rbp, [zeroed_rbp] */
		uint32_t l = new_label(st), back = new_label(st);
		add_stub(st, STUB_ZERO, l, back, 0);
		jump(st, CC_B, l);				/* jb .zero_frame */
		bind(st, back);
	}
	call_label(st, st->tlabel[t]);				/* call .prologue_t */
}

static void emit_exit(struct jit_state *st, size_t i)
{
	struct x86_buf *b = &st->b;
	if (i < st->main_end && !st->main_called) {
		/* .exit follows the body's last instruction unless loop copies come
		 * between (in copies and stubs something else follows) */
		if (!st->in_body || i + 1 < st->cnt || st->lv.nloops)
			jump(st, -1, lbl_fixed(st, L_EXIT));	/* jmp .exit */
		return;
	}
	if (st->ncallee % 2 == 0)
		x86_alu_ri(b, true, ALU_ADD, RSP, 8);		/* add rsp, 8 */
	for (size_t k = st->ncallee; k-- > 0;)
		x86_pop(b, st->callee[k]);			/* pop r6-r9 that subprograms write */
	x86_alu_ri(b, true, ALU_ADD, RBP, BPFVM_STACK_SIZE);	/* add rbp, 512 */
	x86_ret(b);						/* ret */
}

/* One instruction (not its budget charge). exact: inside a block's slow copy. */
static void emit_insn(struct jit_state *st, size_t i, bool exact)
{
	struct x86_buf *b = &st->b;
	const struct bpf_insn *in = &st->code[i];
	int row = in->code;
	int d = xr(in->dst_reg);
	struct bpf_insn imm_form;

	if (row >= ISA__COUNT) {
		fault_if(st, -1, i, exact, BPFVM_FAULT_UNSUPPORTED);
		return;
	}
	switch ((enum fold_kind)st->fold[i].kind) {	/* fold.h */
	case FOLD_NONE: case FOLD_CALL_ARGS:
		break;
	case FOLD_CONST:
		x86_mov_ri(b, d, st->fold[i].val);		/* mov dst, value */
		return;
	case FOLD_NOT_TAKEN:
		if (st->negate)		/* inverted: not taken goes where the goto went */
			jump(st, -1, insn_label(st, i, (size_t)isa_target(in, row, i)));
		return;
	case FOLD_SKIP: case FOLD_DEAD:
		return;
	case FOLD_ZEXT:
		zext32(b, d);					/* mov dst32, dst32 */
		return;
	case FOLD_SEXT:
		x86_movsx_rr(b, true, 32, d, d);		/* movsxd dst, dst32 */
		return;
	case FOLD_TAKEN:
		if (!st->negate)	/* inverted: taken falls through */
			jump(st, -1, insn_label(st, i, (size_t)isa_target(in, row, i)));	/* jmp target */
		return;
	case FOLD_IMM:
		imm_form = *in;
		imm_form.code = st->fold[i].row;
		imm_form.src_reg = 0;
		imm_form.imm = st->fold[i].imm;
		in = &imm_form;
		row = in->code;
		break;
	}
	switch ((enum isa_op)row) {
	/* Forms the validator refuses or decodes into plain lddw: they stop the
	 * run if ever reached. */
	case ISA_LDDW_MAP_FD: case ISA_LDDW_MAP_VALUE: case ISA_LDDW_BTF_VAR: case ISA_LDDW_FUNC:
	case ISA_LDDW_MAP_IDX: case ISA_LDDW_MAP_IDX_VALUE:
	case ISA_CALL_KFUNC:
		fault_if(st, -1, i, exact, BPFVM_FAULT_UNSUPPORTED);	/* jmp .unsupported */
		return;
	case ISA_LDABS_W: case ISA_LDABS_H: case ISA_LDABS_B:
	case ISA_LDIND_W: case ISA_LDIND_H: case ISA_LDIND_B:
		emit_ld_pkt(st, i, exact, row, in);
		return;
	case ISA_LDDW:
		x86_mov_ri(b, d, (uint64_t)(uint32_t)in[0].imm |
			   (uint64_t)(uint32_t)in[1].imm << 32);	/* mov dst, imm64 */
		return;
	case ISA_NEG32: case ISA_NEG64:
		x86_unary(b, isa_rows[row].bits == 64, UN_NEG, d);	/* neg dst */
		return;
	case ISA_MOVSX8_32: case ISA_MOVSX16_32: case ISA_MOVSX8_64: case ISA_MOVSX16_64:
	case ISA_MOVSX32_64:
		x86_movsx_rr(b, isa_rows[row].bits == 64, isa_rows[row].selval, d,
			     xr(in->src_reg));			/* movsx dst, src */
		return;
	case ISA_LE16: case ISA_LE32: case ISA_LE64: case ISA_BE16: case ISA_BE32: case ISA_BE64:
	case ISA_BSWAP16: case ISA_BSWAP32: case ISA_BSWAP64:
		emit_end(st, row, d);
		return;
	case ISA_LDXB: case ISA_LDXH: case ISA_LDXW: case ISA_LDXDW:
	case ISA_LDXSB: case ISA_LDXSH: case ISA_LDXSW: {
		int size = isa_rows[row].bits / 8;
		struct mem m = mem_check(st, i, exact, in->src_reg, in->off, size, false, false);
		x86_load(b, load_kind(row), d, m.base, m.disp);	/* mov dst, [m] */
		return;
	}
	case ISA_STB: case ISA_STH: case ISA_STW: case ISA_STDW: {
		int size = isa_rows[row].bits / 8;
		struct mem m = mem_check(st, i, exact, in->dst_reg, in->off, size, true, false);
		x86_store_i(b, size, m.base, m.disp, in->imm);	/* mov [m], imm */
		return;
	}
	case ISA_STXB: case ISA_STXH: case ISA_STXW: case ISA_STXDW: {
		int size = isa_rows[row].bits / 8;
		struct mem m = mem_check(st, i, exact, in->dst_reg, in->off, size, true, false);
		x86_store_r(b, size, m.base, m.disp, xr(in->src_reg));	/* mov [m], src */
		return;
	}
	case ISA_ATOMIC32_ADD: case ISA_ATOMIC32_FETCH_ADD: case ISA_ATOMIC32_OR:
	case ISA_ATOMIC32_FETCH_OR: case ISA_ATOMIC32_AND: case ISA_ATOMIC32_FETCH_AND:
	case ISA_ATOMIC32_XOR: case ISA_ATOMIC32_FETCH_XOR: case ISA_ATOMIC32_XCHG:
	case ISA_ATOMIC32_CMPXCHG:
	case ISA_ATOMIC64_ADD: case ISA_ATOMIC64_FETCH_ADD: case ISA_ATOMIC64_OR:
	case ISA_ATOMIC64_FETCH_OR: case ISA_ATOMIC64_AND: case ISA_ATOMIC64_FETCH_AND:
	case ISA_ATOMIC64_XOR: case ISA_ATOMIC64_FETCH_XOR: case ISA_ATOMIC64_XCHG:
	case ISA_ATOMIC64_CMPXCHG:
		emit_atomic(st, i, exact, row, in);
		return;
	case ISA_JA: case ISA_JA32: {
		size_t t = (size_t)isa_target(in, row, i);
		uint32_t l = insn_label(st, i, t);
		if (t != i + 1 || l != lbl_insn(t))
			jump(st, -1, l);			/* jmp target */
		return;
	}
	case ISA_CALL: case ISA_CALLX:
		emit_call(st, i, exact, row, in);
		return;
	case ISA_CALL_LOCAL:
		emit_call_local(st, i, in, row);
		return;
	case ISA_EXIT:
		emit_exit(st, i);
		return;
	default:
		break;
	}
	switch (isa_rows[row].fmt) {
	case ISA_FMT_ALU_K: case ISA_FMT_ALU_X:
		emit_alu(st, row, in);
		return;
	case ISA_FMT_JCOND_K: case ISA_FMT_JCOND_X:
		emit_jcond(st, i, row, in);
		return;
	default:
		x86_fail(b, -ENOSYS);		/* a row without an emitter */
	}
}

/* ---- Whole image ------------------------------------------------------------------ */

/* The start of every entry from C: saves the host's callee-saved registers the
 * image uses (the exits pop the same ones), aligns rsp, r12 = ctx (rdi), and
 * remembers rsp for unwinding. */
static void emit_enter(struct jit_state *st)
{
	struct x86_buf *b = &st->b;
	for (size_t k = 0; k < st->nsaved; k++)
		x86_push(b, st->saved[k]);			/* push rbp, r12, (rbx, r13-r15) */
	if (st->nsaved % 2 == 0)
		x86_alu_ri(b, true, ALU_SUB, RSP, 8);		/* sub rsp, 8 (align) */
	x86_mov_rr(b, true, CTX, RDI);				/* mov r12, rdi (ctx) */
	x86_store_r(b, 8, CTX, CTX_OFF(saved_rsp), RSP);	/* mov [ctx.saved_rsp], rsp */
}

/* A program's registers at its start (also a tail call's target): rbp = the top
 * of the main frame, r9 = the budget, BPF r1/r2 from the arguments, the rest 0. */
static void emit_start_regs(struct jit_state *st)
{
	struct x86_buf *b = &st->b;
	x86_load(b, LD_64, RBP, CTX, CTX_OFF(stack_top));	/* mov rbp, [ctx.stack_top] */
	if (st->checked)
		x86_load(b, LD_64, LEFT, CTX, CTX_OFF(left));	/* mov r9, [ctx.left] */
	/* Registers the program never reads need no value (none can leak). */
	if (st->read & (1u << 1))
		x86_mov_rr(b, true, RDI, RSI);			/* mov rdi, rsi (r1) */
	if (st->read & (1u << 2))
		x86_mov_rr(b, true, RSI, RDX);			/* mov rsi, rdx (r2) */
	static const uint8_t zero[] = { 0, 3, 4, 5, 6, 7, 8, 9 };
	for (size_t k = 0; k < sizeof(zero); k++)
		if (st->read & (1u << zero[k]))
			x86_mov_ri32(b, xreg[zero[k]], 0);	/* xor r32, r32 */
	if (st->mbase >= 0)
		x86_load(b, LD_64, st->mbase, CTX, CTX_OFF(m_base));	/* mov mbase, [ctx.m_base] */
}

static void emit_trampoline(struct jit_state *st)
{
	emit_enter(st);
	emit_start_regs(st);
	if (st->uses_stack)
		call_label(st, lbl_fixed(st, L_ZERO));		/* call .zero_frame */
	bind(st, lbl_fixed(st, L_BODY));
	if (st->main_called) {
		call_label(st, st->tlabel[0]);			/* call .prologue_0 */
		jump(st, -1, lbl_fixed(st, L_EXIT));		/* jmp .exit */
	}
}

static void emit_shared(struct jit_state *st)
{
	struct x86_buf *b = &st->b;

	bind(st, lbl_fixed(st, L_EXIT));
	if (st->checked)
		x86_store_r(b, 8, CTX, CTX_OFF(left), LEFT);	/* .exit: mov [ctx.left], r9 */
	bind(st, lbl_fixed(st, L_EXIT_NOSTORE));
	if (st->nsaved % 2 == 0)
		x86_alu_ri(b, true, ALU_ADD, RSP, 8);		/* add rsp, 8 */
	for (size_t k = st->nsaved; k-- > 0;)
		x86_pop(b, st->saved[k]);			/* pop what the trampoline pushed */
	x86_ret(b);						/* ret */

	bind(st, lbl_fixed(st, L_UNWIND));
	x86_load(b, LD_64, RSP, CTX, CTX_OFF(saved_rsp));	/* .unwind: mov rsp, [saved_rsp] */
	jump(st, -1, lbl_fixed(st, L_EXIT_NOSTORE));		/* jmp .exit_nostore */

	bind(st, lbl_fixed(st, L_FAULT));
	x86_load(b, LD_64, RSP, CTX, CTX_OFF(saved_rsp));	/* .fault: mov rsp, [saved_rsp] */
	x86_mov_rr(b, true, RDI, CTX);				/* mov rdi, r12 */
	x86_mov_rr(b, false, RSI, R10);				/* mov esi, r10d */
	x86_mov_rr(b, true, RDX, R11);				/* mov rdx, r11 */
	x86_mov_rr(b, true, RCX, LEFT);				/* mov rcx, r9 */
	call_abs(st, (const void *)jit_fault);			/* call jit_fault */
	jump(st, -1, lbl_fixed(st, L_EXIT_NOSTORE));		/* jmp .exit_nostore */

	bind(st, lbl_fixed(st, L_STOP));
	x86_load(b, LD_64, RSP, CTX, CTX_OFF(saved_rsp));	/* .stop: mov rsp, [saved_rsp] */
	x86_mov_rr(b, true, RDI, CTX);				/* mov rdi, r12 */
	x86_mov_rr(b, false, RSI, R10);				/* mov esi, r10d */
	x86_mov_rr(b, true, RDX, LEFT);				/* mov rdx, r9 */
	call_abs(st, (const void *)jit_stopped);		/* call jit_stopped (rax = r0) */
	jump(st, -1, lbl_fixed(st, L_EXIT_NOSTORE));		/* jmp .exit_nostore */

	/* Called with rsp = 8 mod 16; saves BPF r0-r5 and r9, r11. */
	static const uint8_t chk_saved[] = { RAX, RDI, RSI, RDX, RCX, R8, R9, R11 };
	bind(st, lbl_fixed(st, L_CHK_MEM));
	for (size_t k = 0; k < sizeof(chk_saved); k++)
		x86_push(b, chk_saved[k]);			/* .chk_mem: push ... */
	x86_alu_ri(b, true, ALU_SUB, RSP, 8);			/* sub rsp, 8 */
	x86_mov_rr(b, true, RDI, CTX);				/* mov rdi, r12 */
	x86_mov_rr(b, true, RSI, R11);				/* mov rsi, r11 */
	x86_mov_rr(b, false, RDX, R10);				/* mov edx, r10d */
	x86_mov_rr(b, true, RCX, LEFT);				/* mov rcx, r9 */
	x86_mov_rr(b, true, R8, RBP);				/* mov r8, rbp */
	call_abs(st, (const void *)jit_mem_slow);		/* call jit_mem_slow */
	x86_alu_ri(b, true, ALU_ADD, RSP, 8);			/* add rsp, 8 */
	x86_test_rr(b, false, RAX, RAX);			/* test eax, eax */
	for (size_t k = sizeof(chk_saved); k-- > 0;)
		x86_pop(b, chk_saved[k]);			/* pop ... (flags kept) */
	jump(st, CC_E, lbl_fixed(st, L_UNWIND));		/* jz .unwind */
	x86_ret(b);						/* ret */

	static const uint8_t callx_saved[] = { RDI, RSI, RDX, RCX, R8, R9 };
	bind(st, lbl_fixed(st, L_CALLX));
	for (size_t k = 0; k < sizeof(callx_saved); k++)
		x86_push(b, callx_saved[k]);			/* .callx: push r1-r5, r9 */
	x86_alu_ri(b, true, ALU_SUB, RSP, 8);			/* sub rsp, 8 */
	x86_mov_rr(b, true, RDI, CTX);				/* mov rdi, r12 */
	x86_mov_rr(b, true, RSI, R11);				/* mov rsi, r11 */
	x86_mov_rr(b, false, RDX, R10);				/* mov edx, r10d */
	x86_mov_rr(b, true, RCX, LEFT);				/* mov rcx, r9 */
	call_abs(st, (const void *)jit_callx);			/* call jit_callx */
	x86_alu_ri(b, true, ALU_ADD, RSP, 8);			/* add rsp, 8 */
	for (size_t k = sizeof(callx_saved); k-- > 0;)
		x86_pop(b, callx_saved[k]);			/* pop ... */
	x86_mov_rr(b, true, R11, RAX);				/* mov r11, rax */
	x86_test_rr(b, true, R11, R11);				/* test r11, r11 */
	jump(st, CC_E, lbl_fixed(st, L_UNWIND));		/* jz .unwind */
	x86_ret(b);						/* ret */

	bind(st, lbl_fixed(st, L_ZERO));
	x86_zero_below_rbp(b, BPFVM_STACK_SIZE);		/* .zero_frame: 512 bytes below rbp */
	x86_ret(b);						/* ret */

	/* A tail call's target (jit_entry_fn): the main trampoline without zeroing
	 * the main frame, which the caller's program has been using. */
	bind(st, lbl_fixed(st, L_TAIL));
	emit_enter(st);						/* .tail: */
	emit_start_regs(st);
	jump(st, -1, lbl_fixed(st, L_BODY));			/* jmp .body */

	/* A callback (jit_callback_fn): calls the subprogram's frame prologue as a
	 * local call does, in the frame jit_callback prepared; its exit returns here. */
	if (st->prog->func_start_cnt) {
		bind(st, lbl_fixed(st, L_CALLBACK));
		emit_enter(st);					/* .callback: */
		x86_mov_rr(b, true, R11, RSI);			/* mov r11, rsi (prologue) */
		x86_mov_rr(b, true, R10, RDX);			/* mov r10, rdx (args) */
		x86_mov_rr(b, true, RBP, RCX);			/* mov rbp, rcx (frame top) */
		if (st->checked)
			x86_load(b, LD_64, LEFT, CTX, CTX_OFF(left));	/* mov r9, [ctx.left] */
		if (st->mbase >= 0)
			x86_load(b, LD_64, st->mbase, CTX, CTX_OFF(m_base));	/* mov mbase, [ctx.m_base] */
		for (int r = 1; r <= 5; r++)
			x86_load(b, LD_64, xr(r), R10, 8 * (r - 1));	/* mov rN, [r10 + 8*(N-1)] */
		x86_call_r(b, R11);				/* call r11 */
		jump(st, -1, lbl_fixed(st, L_EXIT));		/* jmp .exit (rax = r0) */
	}

	/* Frame prologues: the r6-r9 that subprograms write (the caller's values
	 * survive the others untouched), rsp back to 16-byte alignment. */
	for (size_t t = 0; t < st->cnt; t++) {
		if (!(st->flags[t] & FL_TARGET))
			continue;
		bind(st, st->tlabel[t]);
		for (size_t k = 0; k < st->ncallee; k++)
			x86_push(b, st->callee[k]);		/* .prologue_t: push r6-r9 */
		if (st->ncallee % 2 == 0)
			x86_alu_ri(b, true, ALU_SUB, RSP, 8);	/* sub rsp, 8 */
		jump(st, -1, lbl_insn(t));			/* jmp insn t */
	}
}

/* A stub from a fast loop copy: r9 += what its block charged ahead, so C (and
 * the checked code) sees the budget exactly (back: undo it before returning). */
/* The inverse of odd u modulo 2^64 (Newton's iteration: each step doubles the
 * bits that are right, and u is its own inverse modulo 8). */
static uint64_t inverse_odd(uint64_t u)
{
	uint64_t x = u;
	for (int k = 0; k < 5; k++)
		x *= 2 - u * x;
	return x;
}

/* What a lazily charged loop (fast_lazy) owes at the way out of its fast copy,
 * the end of its one block: r9 -= len * (iterations run), where iterations run =
 * (iv - iv0) / step (r10 = iv0 since the entry; the IV was updated once in each
 * iteration, the last one included). The
 * division is exact (every iv is iv0 + k * step, none wraps: the entry check
 * bounds them): for a constant step an arithmetic shift by its trailing zeros,
 * then a multiply by the inverse of its odd part, folded with len into one
 * constant; for a step in a register (at least 1: the entry check) a div.
 * Clobbers r10 and r11; only ways out that do not come back use it. */
static void lazy_settle(struct jit_state *st, const struct stub *s)
{
	struct x86_buf *b = &st->b;
	const struct lv_loop *L = &st->lv.loops[s->lazy];
	uint64_t step = (uint64_t)(int64_t)L->step_c, len = L->charge[0];
	unsigned t = L->step_reg != LV_NONE ? 0 : (unsigned)__builtin_ctzll(step);
	uint64_t mul = L->step_reg != LV_NONE ? len :
		       inverse_odd((uint64_t)((int64_t)step >> t)) * len;
	x86_mov_rr(b, true, R11, xr((unsigned)L->q));		/* mov r11, iv */
	x86_alu_rr(b, true, ALU_SUB, R11, R10);			/* sub r11, r10 (iv0) */
	if (L->step_reg != LV_NONE) {
		x86_mov_rr(b, true, R10, xr((unsigned)L->step_reg));	/* mov r10, step */
		x86_push(b, RAX);					/* push rax */
		x86_push(b, RDX);					/* push rdx */
		x86_mov_rr(b, true, RAX, R11);				/* mov rax, r11 */
		x86_mov_ri32(b, RDX, 0);				/* xor edx, edx */
		x86_unary(b, true, UN_DIV, R10);			/* div r10 */
		x86_mov_rr(b, true, R11, RAX);				/* mov r11, rax */
		x86_pop(b, RDX);					/* pop rdx */
		x86_pop(b, RAX);					/* pop rax */
	}
	if (t)
		x86_shift_ri(b, true, SH_SAR, R11, (uint8_t)t);	/* sar r11, t */
	if (mul == (uint64_t)(int64_t)(int32_t)mul) {
		x86_imul_rri(b, true, R11, R11, (int32_t)mul);	/* imul r11, r11, mul */
	} else {
		x86_mov_ri(b, R10, mul);			/* mov r10, mul */
		x86_imul_rr(b, true, R11, R10);			/* imul r11, r10 */
	}
	x86_alu_rr(b, true, ALU_SUB, LEFT, R11);		/* sub r9, r11 */
}

static void stub_give_back(struct jit_state *st, const struct stub *s, bool give)
{
	if (s->lazy >= 0) {
		if (!give)		/* no check calls C from a lazy copy (fast_lazy) */
			x86_fail(&st->b, -EINVAL);
		else
			lazy_settle(st, s);
	}
	if (s->dual && give)
		x86_alu_rr(&st->b, true, ALU_SUB, LEFT, R10);	/* sub r9, r10 (r10 is dead now) */
	if (s->ahead)
		x86_alu_ri(&st->b, true, give ? ALU_ADD : ALU_SUB, LEFT, s->ahead);	/* add/sub r9, ahead */
}

/* In a check's stub, address in r11: back if [r11, r11 + size) lies in the
 * static region the last call into C found (ctx.c_base/c_len). */
static void emit_cached_region(struct jit_state *st, const struct stub *s)
{
	struct x86_buf *b = &st->b;
	int size = (int)(s->arg & PK_LOW);
	x86_lea(b, R10, R11, size);				/* lea r10, [r11 + size] */
	x86_alu_rm(b, true, ALU_SUB, R10, CTX, CTX_OFF(c_base));	/* sub r10, [c_base] */
	x86_alu_rm(b, true, ALU_CMP, R10, CTX, s->arg & PK_WRITE ? CTX_OFF(c_wlen) :
		   CTX_OFF(c_len));				/* cmp r10, [c_len] */
	size_t miss = fwd8(st, CC_A);				/* ja .miss */
	x86_alu_ri(b, true, ALU_CMP, R10, size);		/* cmp r10, size */
	jump(st, CC_AE, s->ret);				/* jae back */
	land8(st, miss);					/* .miss: */
}

static void emit_stub(struct jit_state *st, const struct stub *s)
{
	struct x86_buf *b = &st->b;
	bind(st, s->label);
	switch (s->kind) {
	case STUB_MEMR: {
		/* Not the context memory: the stack in use, else C. */
		x86_lea(b, R11, s->reg, s->disp);		/* lea r11, [reg + off] */
		int si = __builtin_ctz(s->arg & PK_LOW);
		x86_lea(b, R10, RBP, -BPFVM_STACK_SIZE);	/* lea r10, [rbp - 512] */
		x86_alu_rr(b, true, ALU_CMP, R11, R10);		/* cmp r11, r10 */
		size_t below = fwd8(st, CC_B);			/* jb .other */
		x86_alu_rm(b, true, ALU_CMP, R11, CTX, CTX_OFF(top_lim[si]));	/* cmp r11, [top - size] */
		jump(st, CC_BE, s->ret);			/* jbe back */
		land8(st, below);				/* .other: */
		emit_cached_region(st, s);
		stub_give_back(st, s, true);
		x86_mov_ri32(b, R10, s->arg);			/* mov r10d, packed */
		call_label(st, lbl_fixed(st, L_CHK_MEM));	/* call .chk_mem */
		stub_give_back(st, s, false);
		jump(st, -1, s->ret);				/* jmp back */
		break;
	}
	case STUB_MEM:
		emit_cached_region(st, s);
		stub_give_back(st, s, true);
		x86_mov_ri32(b, R10, s->arg);			/* mov r10d, packed */
		call_label(st, lbl_fixed(st, L_CHK_MEM));	/* call .chk_mem */
		stub_give_back(st, s, false);
		jump(st, -1, s->ret);				/* jmp back */
		break;
	case STUB_ADJ:
		stub_give_back(st, s, true);
		jump(st, -1, s->ret);				/* jmp target */
		break;
	case STUB_FAULT:
		stub_give_back(st, s, true);
		x86_mov_ri32(b, R10, s->arg);			/* mov r10d, packed */
		x86_mov_ri32(b, R11, 0);			/* xor r11d, r11d (addr) */
		jump(st, -1, lbl_fixed(st, L_FAULT));		/* jmp .fault */
		break;
	case STUB_STOP:
		x86_mov_ri32(b, R10, s->arg);			/* mov r10d, packed */
		jump(st, -1, lbl_fixed(st, L_STOP));		/* jmp .stop */
		break;
	case STUB_ZERO:
		x86_store_r(b, 8, CTX, CTX_OFF(zeroed_rbp), RBP);	/* mov [zeroed_rbp], rbp */
		call_label(st, lbl_fixed(st, L_ZERO));		/* call .zero_frame */
		jump(st, -1, s->ret);				/* jmp back */
		break;
	case STUB_COPY: case STUB_CCOPY:
		break;						/* emit_copy, emit_ccopy */
	}
}

/* Emits the slow copy of the block at leader (see STUB_COPY). */
static void emit_copy(struct jit_state *st, const struct stub *s)
{
	struct x86_buf *b = &st->b;
	bind(st, s->label);
	size_t i = s->arg, n = st->blk[i];
	uint32_t over = new_label(st);
	add_stub(st, STUB_FAULT, over, 0, pack(i, true, PK_BLOCK_BUDGET));
	x86_alu_ri(b, true, ALU_ADD, LEFT, (int32_t)n);		/* add r9, n (undo the charge) */
	x86_store_r(b, 8, CTX, CTX_OFF(copy_left), LEFT);	/* mov [ctx.copy_left], r9 */
	for (size_t k = 0; k < n; k++) {
		if (k + 1 == n) {
			/* r9 is 0 here: the block's last instruction is over budget */
			jump(st, -1, over);			/* jmp .over_budget */
			break;
		}
		x86_alu_ri(b, true, ALU_SUB, LEFT, 1);		/* sub r9, 1 */
		jump(st, CC_B, over);				/* jb .over_budget */
		emit_insn(st, i, true);
		i += st->code[i].code == ISA_LDDW ? 2 : 1;
	}
}

/* The base register (BPF) of a memory access, or -1. */
static int access_base(const struct bpf_insn *in, int *size, bool *write)
{
	int row = in->code;
	*size = 0;
	*write = false;
	if (row >= ISA__COUNT)
		return -1;
	switch ((enum isa_op)row) {
	case ISA_LDXB: case ISA_LDXH: case ISA_LDXW: case ISA_LDXDW:
	case ISA_LDXSB: case ISA_LDXSH: case ISA_LDXSW:
		*size = isa_rows[row].bits / 8;
		*write = false;
		return in->src_reg;
	case ISA_STB: case ISA_STH: case ISA_STW: case ISA_STDW:
	case ISA_STXB: case ISA_STXH: case ISA_STXW: case ISA_STXDW:
		*size = isa_rows[row].bits / 8;
		*write = true;
		return in->dst_reg;
	default:
		return -1;
	}
}

/* Groups: in a basic block, the accesses through one register (not r10) between
 * two writes of it, when there are two or more. The group is checked once, before
 * its first access (its head), for its whole span [reg + min off, reg + max end)
 * in the context memory; the members then carry no check. If that fails, the
 * rest of the block runs from a copy in which every access checks itself
 * (emit_ccopy): the same state at the same point, so faults stay exact. */

static void find_groups(struct jit_state *st)
{
	const struct bpf_insn *code = st->code;
	size_t head[10];
	unsigned cnt[10];
	for (size_t lead = 0; lead < st->cnt; lead++) {
		if (!(st->flags[lead] & FL_LEADER) || code[lead].code == ISA_LDDW_HI)
			continue;
		for (int pass = 0; pass < 2; pass++) {
			for (int r = 0; r < 10; r++)
				cnt[r] = 0;
			size_t k = lead;
			for (uint32_t n = 0; n < st->blk[lead]; n++) {
				int size, row = code[k].code;
				bool write;
				int r = access_base(&code[k], &size, &write);
				if (r >= 0 && r < 10) {
					if (!cnt[r]++)
						head[r] = k;
					if (pass == 1 && st->grouped[head[r]] & G_HEAD) {
						size_t h = head[r];
						int32_t lo = code[k].off, hi = code[k].off + size;
						if (k == h || lo < st->glo[h])
							st->glo[h] = lo;
						if (k == h || hi > st->ghi[h])
							st->ghi[h] = hi;
						st->grouped[k] |= G_MEMBER;
						if (write)
							st->grouped[h] |= G_WRITE;
					}
				}
				uint16_t w = row < ISA__COUNT ? isa_regs_written(&code[k], row) : 0;
				for (int q = 0; q < 10; q++)
					if (w & (1u << q)) {
						if (pass == 0 && cnt[q] >= 2)
							st->grouped[head[q]] |= G_HEAD;
						cnt[q] = 0;
					}
				k += row == ISA_LDDW ? 2 : 1;
			}
			if (pass == 0)
				for (int r = 0; r < 10; r++)
					if (cnt[r] >= 2)
						st->grouped[head[r]] |= G_HEAD;
		}
	}
}

/* Before the head of a group (find_groups): its check. */
static void emit_group_check(struct jit_state *st, size_t h)
{
	struct x86_buf *b = &st->b;
	int size;
	bool write;
	int r = access_base(&st->code[h], &size, &write);
	int32_t lo = st->glo[h], hi = st->ghi[h], span = hi - lo;
	uint32_t l = new_label(st);
	add_stub(st, STUB_CCOPY, l, 0, (uint32_t)h);
	/* r10 = reg + lo - base + span must lie in [span, len] */
	x86_lea(b, R10, xr((unsigned)r), hi);			/* lea r10, [reg + hi] */
	sub_mbase(st);						/* sub r10, m_base */
	x86_alu_rm(b, true, ALU_CMP, R10, CTX, st->grouped[h] & G_WRITE ?
		   CTX_OFF(m_wlim[0]) : CTX_OFF(m_rlim[0]));	/* cmp r10, [len] */
	jump(st, CC_A, l);					/* ja .checked_copy */
	x86_alu_ri(b, true, ALU_CMP, R10, span);		/* cmp r10, span */
	jump(st, CC_B, l);					/* jb .checked_copy */
}

/* The rest of the block from the head s->arg, every access checking itself (the
 * group's check failed), then on to the next instruction. */
static void emit_ccopy(struct jit_state *st, const struct stub *s)
{
	bind(st, s->label);
	stub_give_back(st, s, true);
	size_t i = s->arg;
	int last = 0;
	st->nogroup = true;
	do {
		last = st->code[i].code;
		emit_insn(st, i, false);
		i += last == ISA_LDDW ? 2 : 1;
	} while (i < st->cnt && !(st->flags[i] & FL_LEADER));
	st->nogroup = false;
	if (last != ISA_EXIT)
		jump(st, -1, lbl_insn(i));			/* jmp next */
}

/* Move elimination: dst = src followed in its block by dst += src2 / imm, dst -= imm
 * (clang's address arithmetic) or dst *= imm is one lea or a three-operand imul:
 * nothing can stop the run between the two, and BPF keeps no flags from one
 * instruction to the next. A second operand fold.h knows to be constant counts
 * as an immediate. */
static bool fuse_mov_add(struct jit_state *st, size_t i)
{
	const struct bpf_insn *a = &st->code[i], *c = a + 1;
	if (i + 1 >= st->cnt || (st->flags[i + 1] & FL_LEADER) || a->dst_reg == a->src_reg ||
	    st->fold[i].kind != FOLD_NONE ||
	    (st->fold[i + 1].kind != FOLD_NONE && st->fold[i + 1].kind != FOLD_IMM))
		return false;
	int crow = st->fold[i + 1].kind == FOLD_IMM ? st->fold[i + 1].row : c->code;
	int32_t imm = st->fold[i + 1].kind == FOLD_IMM ? st->fold[i + 1].imm : c->imm;
	bool w64;
	if (a->code == ISA_MOV64_REG)
		w64 = true;
	else if (a->code == ISA_MOV32_REG)
		w64 = false;
	else
		return false;
	if (c->dst_reg != a->dst_reg || a->dst_reg > 10 || a->src_reg > 10 ||
	    (crow < ISA__COUNT && isa_rows[crow].fmt == ISA_FMT_ALU_X && c->src_reg > 10))
		return false;
	int d = xr(a->dst_reg), s = xr(a->src_reg);
	switch (crow) {
	case ISA_ADD64_IMM: case ISA_ADD32_IMM:
		if ((crow == ISA_ADD64_IMM) != w64)
			return false;
		x86_lea_bi(&st->b, w64, d, s, -1, imm);		/* lea dst, [src + imm] */
		return true;
	case ISA_ADD64_REG: case ISA_ADD32_REG:
		if ((crow == ISA_ADD64_REG) != w64)
			return false;
		x86_lea_bi(&st->b, w64, d, s, c->src_reg == a->dst_reg ? s : xr(c->src_reg),
			   0);					/* lea dst, [src + src2] */
		return true;
	case ISA_SUB64_IMM: case ISA_SUB32_IMM:
		if ((crow == ISA_SUB64_IMM) != w64 || imm == INT32_MIN)
			return false;
		x86_lea_bi(&st->b, w64, d, s, -1, -imm);	/* lea dst, [src - imm] */
		return true;
	case ISA_MUL64_IMM: case ISA_MUL32_IMM:
		if ((crow == ISA_MUL64_IMM) != w64)
			return false;
		x86_imul_rri(&st->b, w64, d, s, imm);		/* imul dst, src, imm */
		return true;
	default:
		return false;
	}
}

/* The budget charge on entry to the block at leader i: if it would go below zero,
 * the block runs instead from a copy that counts one instruction at a time. */
static void emit_charge(struct jit_state *st, size_t i)
{
	uint32_t l = new_label(st);
	add_stub(st, STUB_COPY, l, 0, (uint32_t)i);
	x86_alu_ri(&st->b, true, ALU_SUB, LEFT, (int32_t)st->blk[i]);	/* sub r9, n */
	jump(st, CC_B, l);					/* jb .slow_copy */
}

/* ---- Versioned loops (loops.h) ------------------------------------------------- */

/* dst = an invariant value (sym + c) as the loop's entry sees it. */
static void lv_load(struct jit_state *st, int dst, struct lv_val v)
{
	struct x86_buf *b = &st->b;
	if (v.sym == LV_NONE) {
		x86_mov_ri(b, dst, (uint64_t)(int64_t)v.c);		/* mov dst, c */
	} else if (v.sym < LV_SLOT0) {
		x86_lea(b, dst, xr((unsigned)v.sym), v.c);		/* lea dst, [sym + c] */
	} else {
		x86_load(b, LD_64, dst, RBP, lv_slot_off(v.sym));	/* mov dst, [rbp + slot] */
		if (v.c)
			x86_alu_ri(b, true, ALU_ADD, dst, v.c);		/* add dst, c */
	}
}

/* dst += the value of sym (a register or a stack slot), if any. */
static void lv_add_sym(struct jit_state *st, int dst, int sym)
{
	if (sym == LV_NONE)
		return;
	if (sym < LV_SLOT0)
		x86_alu_rr(&st->b, true, ALU_ADD, dst, xr((unsigned)sym));	/* add dst, sym */
	else
		x86_alu_rm(&st->b, true, ALU_ADD, dst, RBP, lv_slot_off(sym));	/* add dst, [rbp + slot] */
}

/* Jumps to slow unless r10 (clobbered) lies in [-2^47, 2^47) (sgn) or [0, 2^47). */
static void lv_guard(struct jit_state *st, bool sgn, uint32_t slow)
{
	struct x86_buf *b = &st->b;
	if (sgn) {
		x86_shift_ri(b, true, SH_SAR, R10, 47);		/* sar r10, 47 (0 or -1) */
		x86_alu_ri(b, true, ALU_ADD, R10, 1);		/* add r10, 1 */
		x86_alu_ri(b, true, ALU_CMP, R10, 1);		/* cmp r10, 1 */
		jump(st, CC_A, slow);				/* ja .slow */
	} else {
		x86_shift_ri(b, true, SH_SHR, R10, 47);		/* shr r10, 47 */
		jump(st, CC_NE, slow);				/* jnz .slow */
	}
}

/* Jumps to slow unless [r10, r11) (the range's ends, clobbered) lies in the stack in
 * use (stack) or the context memory. */
static void lv_region(struct jit_state *st, bool stack, bool write, uint32_t slow)
{
	struct x86_buf *b = &st->b;
	if (stack) {
		/* relative to the frame's bottom (rbp - 512): lo <= hi <= the span in use */
		x86_alu_rr(b, true, ALU_SUB, R10, RBP);		/* sub r10, rbp */
		x86_alu_ri(b, true, ALU_ADD, R10, BPFVM_STACK_SIZE);	/* add r10, 512 */
		x86_alu_rr(b, true, ALU_SUB, R11, RBP);		/* sub r11, rbp */
		x86_alu_ri(b, true, ALU_ADD, R11, BPFVM_STACK_SIZE);	/* add r11, 512 */
		x86_alu_rr(b, true, ALU_CMP, R10, R11);		/* cmp r10, r11 */
		jump(st, CC_A, slow);				/* ja .slow */
		x86_load(b, LD_64, R10, CTX, CTX_OFF(stack_top));	/* mov r10, [stack_top] */
		x86_alu_rr(b, true, ALU_SUB, R10, RBP);		/* sub r10, rbp */
		x86_alu_ri(b, true, ALU_ADD, R10, BPFVM_STACK_SIZE);	/* add r10, 512 */
		x86_alu_rr(b, true, ALU_CMP, R11, R10);		/* cmp r11, r10 */
		jump(st, CC_A, slow);				/* ja .slow */
		return;
	}
	int32_t lim = write ? CTX_OFF(m_wlim[0]) : CTX_OFF(m_rlim[0]);	/* the length */
	sub_mbase(st);						/* sub r10, m_base */
	x86_alu_rm(b, true, ALU_CMP, R10, CTX, lim);		/* cmp r10, [len] */
	jump(st, CC_A, slow);					/* ja .slow */
	x86_mov_rr(b, true, R10, R11);				/* mov r10, r11 */
	sub_mbase(st);						/* sub r10, m_base */
	x86_alu_rm(b, true, ALU_CMP, R10, CTX, lim);		/* cmp r10, [len] */
	jump(st, CC_A, slow);					/* ja .slow */
}

/* Whether loop L's fast copy can keep half its budget charges in r10: nothing in
 * it uses r10 (no checked access, no division, no atomic). */
static bool fast_dual(const struct jit_state *st, const struct lv_loop *L)
{
	if (L->calls)
		return false;
	for (size_t j = 0; j < L->nblocks; j++) {
		size_t i = L->blocks[j];
		do {
			int row = st->code[i].code, size;
			bool write;
			if (row >= ISA__COUNT || isa_rows[row].fmt == ISA_FMT_ATOMIC)
				return false;
			int breg = access_base(&st->code[i], &size, &write);
			int16_t off = st->code[i].off;
			if (breg >= 0 && !st->lv.covered[i] &&
			    !(breg == 10 && off >= -BPFVM_STACK_SIZE && off <= -size))
				return false;	/* its check uses r10 */
			switch (alu_op(row)) {
			case A_DIV: case A_SDIV: case A_MOD: case A_SMOD:
				return false;
			default:
				break;
			}
			i += row == ISA_LDDW ? 2 : 1;
		} while (i < st->cnt && !(st->flags[i] & FL_LEADER));
	}
	return true;
}

/* Whether loop k's fast copy charges nothing per iteration and settles from its
 * IV instead (lazy_settle): a single block, so every iteration runs the same
 * instructions and the only way out is its end, whose IV has a constant step or
 * one in a register and is written by one instruction (so iv0 + k * step after k
 * iterations), with no check that calls C and no division (fast_dual's
 * conditions: nothing in the block can fault, and r10 holds iv0). */
static bool fast_lazy(const struct jit_state *st, const struct lv_loop *L)
{
	if (L->nblocks != 1 || (L->step_reg == LV_NONE && L->step_c == 0) || !fast_dual(st, L))
		return false;
	size_t writes = 0, i = L->blocks[0];
	do {
		int row = st->code[i].code;
		writes += row < ISA__COUNT && (isa_regs_written(&st->code[i], row) >> L->q & 1);
		i += row == ISA_LDDW ? 2 : 1;
	} while (i < st->cnt && !(st->flags[i] & FL_LEADER));
	return writes == 1;
}

/* In front of loop k's header: the run-time half of its analysis. Jumps to the
 * fast copy if everything holds, else falls through into the checked loop. */
static void emit_lv_entry(struct jit_state *st, int32_t k)
{
	struct x86_buf *b = &st->b;
	const struct lv_loop *L = &st->lv.loops[k];
	uint32_t slow = new_label(st);
	int q = xr((unsigned)L->q);
	for (size_t e = 0; e < L->neq; e++) {
		x86_lea(b, R10, xr((unsigned)L->eq[e].q), L->eq[e].delta);	/* lea r10, [iv + delta] */
		x86_alu_rr(b, true, ALU_CMP, R10, xr((unsigned)L->eq[e].d));	/* cmp r10, copy */
		jump(st, CC_NE, slow);				/* jne .slow */
	}
	x86_mov_rr(b, true, R10, q);				/* mov r10, iv */
	lv_guard(st, true, slow);
	for (size_t v = 0; v < L->nivs; v++) {
		x86_mov_rr(b, true, R10, xr((unsigned)L->ivs[v]));	/* mov r10, iv2 */
		lv_guard(st, true, slow);
	}
	if (L->step_reg != LV_NONE) {
		x86_mov_rr(b, true, R10, xr((unsigned)L->step_reg));	/* mov r10, step */
		x86_alu_ri(b, true, ALU_SUB, R10, 1);		/* sub r10, 1 (0 fails) */
		lv_guard(st, false, slow);
	}
	lv_load(st, R10, L->a);
	lv_guard(st, true, slow);
	lv_load(st, R10, L->b);
	lv_guard(st, L->sgn, slow);
	if (L->cmp == LV_NE) {
		/* it stops where iv + a reaches b: from below */
		lv_load(st, R11, L->a);
		x86_alu_rr(b, true, ALU_ADD, R11, q);		/* add r11, iv */
		lv_load(st, R10, L->b);
		x86_alu_rr(b, true, ALU_CMP, R11, R10);		/* cmp r11, r10 */
		jump(st, CC_G, slow);				/* jg .slow */
	}
	/* the bound: max(iv, b - a + step - 1), or + step for <= */
	lv_load(st, R10, L->b);
	lv_load(st, R11, L->a);
	x86_alu_rr(b, true, ALU_SUB, R10, R11);			/* sub r10, r11 */
	if (L->step_reg != LV_NONE)
		x86_alu_rr(b, true, ALU_ADD, R10, xr((unsigned)L->step_reg));	/* add r10, step */
	else
		x86_alu_ri(b, true, ALU_ADD, R10, L->step_c);	/* add r10, step */
	if (L->cmp != LV_LE)
		x86_alu_ri(b, true, ALU_SUB, R10, 1);		/* sub r10, 1 */
	x86_alu_rr(b, true, ALU_CMP, R10, q);			/* cmp r10, iv */
	size_t ge = fwd8(st, CC_GE);				/* jge .ge */
	x86_mov_rr(b, true, R10, q);				/* mov r10, iv */
	land8(st, ge);						/* .ge: */
	x86_store_r(b, 8, CTX, CTX_OFF(lv_hi), R10);		/* mov [ctx.lv_hi], r10 */
	/* the budget: (bound - iv) / step + 1 iterations of at most maxlen (a loop
	 * that calls keeps testing it block by block) */
	if (!L->calls) {
		x86_alu_rr(b, true, ALU_SUB, R10, q);			/* sub r10, iv */
		if (L->step_shift)
			x86_shift_ri(b, true, SH_SHR, R10, L->step_shift);	/* shr r10, log2(step) */
		x86_alu_ri(b, true, ALU_ADD, R10, 1);			/* add r10, 1 */
		x86_imul_rri(b, true, R10, R10, (int32_t)L->maxlen);	/* imul r10, r10, maxlen */
		x86_alu_rr(b, true, ALU_CMP, LEFT, R10);		/* cmp r9, r10 */
		jump(st, CC_B, slow);					/* jb .slow */
	}
	for (size_t g = 0; g < L->nranges; g++) {
		const struct lv_range *r = &L->ranges[g];
		if (r->iv != LV_NONE)
			x86_mov_rr(b, true, R10, xr((unsigned)r->iv));	/* mov r10, iv2 */
		else
			x86_mov_ri32(b, R10, 0);			/* xor r10d, r10d */
		lv_add_sym(st, R10, r->inv);
		x86_alu_ri(b, true, ALU_ADD, R10, r->lo);		/* add r10, lo */
		if (r->iv != LV_NONE) {
			x86_load(b, LD_64, R11, CTX, CTX_OFF(lv_hi));	/* mov r11, [ctx.lv_hi] */
			if (r->iv != L->q) {
				x86_alu_rr(b, true, ALU_SUB, R11, q);		/* sub r11, iv */
				x86_alu_rr(b, true, ALU_ADD, R11, xr((unsigned)r->iv));	/* add r11, iv2 */
			}
		} else {
			x86_mov_ri32(b, R11, 0);			/* xor r11d, r11d */
		}
		lv_add_sym(st, R11, r->inv);
		x86_alu_ri(b, true, ALU_ADD, R11, r->hi);		/* add r11, hi */
		lv_region(st, r->inv == 10, r->write, slow);
	}
	if (fast_lazy(st, L))
		x86_mov_rr(b, true, R10, q);			/* mov r10, iv (iv0) */
	else if (fast_dual(st, L))
		x86_mov_ri32(b, R10, 0);			/* xor r10d, r10d (charges) */
	jump(st, -1, st->lv_lbl[k] + 1 + (uint32_t)lv_block_index(L, L->header));	/* jmp .fast */
	bind(st, slow);
}

static bool falls_through(int row)
{
	if (row >= ISA__COUNT)
		return false;
	int f = isa_rows[row].fmt;
	return f != ISA_FMT_JA && f != ISA_FMT_JA32 && f != ISA_FMT_EXIT;
}

/* Loop k's fast copy: its blocks with their budget charged but not tested, the
 * covered accesses unchecked, jumps inside the loop to the copy. */
static void emit_fast_loop(struct jit_state *st, int32_t k)
{
	struct x86_buf *b = &st->b;
	const struct lv_loop *L = &st->lv.loops[k];
	bool other = false;
	st->cur_loop = k;
	st->lazy = fast_lazy(st, L) ? k : -1;
	st->dual = st->lazy < 0 && fast_dual(st, L);
	for (size_t j = 0; j < L->nblocks; j++) {
		size_t i = L->blocks[j], last = i;
		bind(st, st->lv_lbl[k] + 1 + (uint32_t)j);
		if (st->copy_off)
			st->copy_off[i] = (uint32_t)b->pos;	/* the block's charge with it */
		if (L->thread[j] == LV_DEAD)
			continue;	/* a repeated test nothing reaches here */
		st->thr_to = L->thread[j];
		if (L->invert[j]) {	/* if !c goto (where the goto after it went) */
			size_t g = L->blocks[j + 1];
			st->thr_to = (int32_t)isa_target(&st->code[g], st->code[g].code, g);
			st->negate = true;
		}
		if (L->calls) {
			emit_charge(st, i);				/* sub r9, n; jb .copy */
		} else if (st->lazy >= 0) {
			/* nothing: the ways out settle from the IV (lazy_settle) */
		} else if (L->charge[j] && st->dual && other) {
			x86_alu_ri(b, true, ALU_ADD, R10, (int32_t)L->charge[j]);	/* add r10, n */
		} else if (L->charge[j]) {
			x86_alu_ri(b, true, ALU_SUB, LEFT, (int32_t)L->charge[j]);	/* sub r9, n */
		}
		other ^= L->charge[j] != 0;
		st->ahead = L->ahead[j];
		do {
			if (st->copy_off && i != L->blocks[j])
				st->copy_off[i] = (uint32_t)b->pos;
			if ((st->grouped[i] & G_HEAD) && !st->lv.covered[i])
				emit_group_check(st, i);
			last = i;
			if (fuse_mov_add(st, i)) {
				last = ++i;
				if (st->copy_off)
					st->copy_off[i] = (uint32_t)b->pos;
			} else {
				emit_insn(st, i, false);
				if (b->err && st->err_insn == SIZE_MAX)
					st->err_insn = i;
			}
			i += st->code[i].code == ISA_LDDW ? 2 : 1;
		} while (i < st->cnt && !(st->flags[i] & FL_LEADER));
		st->thr_to = -1;
		st->negate = false;
		if (falls_through(st->code[last].code)) {
			if (L->thread[j] >= 0 && !isa_is_jump(st->code[last].code))
				i = (size_t)L->thread[j];	/* past a skipped test */
			if (L->invert[j])
				i++;				/* past the skipped goto */
			int n = lv_block_index(L, i);
			size_t nx = j + 1;			/* the next block with code */
			while (nx < L->nblocks && L->thread[nx] == LV_DEAD)
				nx++;
			if (n < 0)
				jump(st, -1, insn_label(st, last, i));	/* jmp next (out of the loop) */
			else if ((size_t)n != nx)
				jump(st, -1, st->lv_lbl[k] + 1 + (uint32_t)n);	/* jmp next's copy */
		}
	}
	st->cur_loop = -1;
	st->ahead = 0;
	st->dual = false;
	st->lazy = -1;
}

static void emit_all(struct jit_state *st)
{
	struct x86_buf *b = &st->b;
	st->b.pos = 0;
	st->nlbl = st->lbl_base;
	st->nstub = 0;
	st->ninlined = 0;
	st->pad_next = 0;
	st->njmp = 0;
	st->changed = false;

	emit_trampoline(st);
	st->in_body = true;
	for (size_t i = 0; i < st->cnt; i++) {
		bool versioned = st->lv.header_of && st->lv.header_of[i] >= 0;
		/* A loop that stays checked has its head at a 32-byte boundary (the
		 * NOPs before it run once per entry). */
		if (!versioned && st->lv.head && st->lv.head[i])
			align_to(st, 32, true);
		bind(st, lbl_insn(i));
		if (st->code[i].code == ISA_LDDW_HI)
			continue;
		if (versioned) {
			emit_lv_entry(st, st->lv.header_of[i]);
			bind(st, st->lv_lbl[st->lv.header_of[i]]);
		}
		if (st->checked && (st->flags[i] & FL_LEADER))
			emit_charge(st, i);
		if (st->checked && (st->grouped[i] & G_HEAD))
			emit_group_check(st, i);
		if (fuse_mov_add(st, i)) {
			bind(st, lbl_insn(++i));	/* not a leader: nothing to charge */
		} else {
			emit_insn(st, i, false);
			if (b->err && st->err_insn == SIZE_MAX)
				st->err_insn = i;
		}
		/* A latch that falls into its loop's header skips the entry check. */
		size_t next = i + (st->code[i].code == ISA_LDDW ? 2 : 1);
		if (next < st->cnt && st->lv.header_of && st->lv.header_of[next] >= 0 &&
		    st->lv.loop_of[i] == st->lv.header_of[next] && falls_through(st->code[i].code))
			jump(st, -1, st->lv_lbl[st->lv.header_of[next]]);	/* jmp .header */
	}
	st->in_body = false;
	bind(st, lbl_insn(st->cnt));
	for (size_t k = 0; k < st->lv.nloops; k++) {
		align_to(st, 64, false);
		emit_fast_loop(st, (int32_t)k);
	}
	if (st->copy_off)
		st->copy_off[st->cnt] = (uint32_t)b->pos;
	emit_shared(st);
	for (size_t k = 0; k < st->nstub && !b->err; k++) {
		struct stub s = st->stubs[k];	/* copy: emitting may grow the array */
		if (s.kind == STUB_COPY)
			emit_copy(st, &s);
		else if (s.kind == STUB_CCOPY)
			emit_ccopy(st, &s);
		else
			emit_stub(st, &s);
	}
}

static bool fmt_is_helper_call(int row)
{
	int f = isa_rows[row].fmt;
	return f == ISA_FMT_CALL || f == ISA_FMT_CALLX || f == ISA_FMT_CALL_KFUNC;
}

/* Leaders, block lengths, call targets, the main function's extent, r10 use. */
static int analyse(struct jit_state *st)
{
	const struct bpf_insn *code = st->code;
	size_t cnt = st->cnt;
	st->flags = calloc(cnt + 1, 1);
	st->blk = calloc(cnt + 1, sizeof(*st->blk));
	st->tlabel = calloc(cnt + 1, sizeof(*st->tlabel));
	st->grouped = calloc(cnt + 1, 1);
	st->glo = calloc(cnt + 1, sizeof(*st->glo));
	st->ghi = calloc(cnt + 1, sizeof(*st->ghi));
	if (!st->flags || !st->blk || !st->tlabel || !st->grouped || !st->glo || !st->ghi)
		return -ENOMEM;
	uint16_t used = 0;
	bool mem_through_reg = false;	/* an access the context base register helps */
	st->flags[0] |= FL_LEADER;
	for (size_t i = 0; i < cnt; i++) {
		int row = code[i].code;
		if (row == ISA_LDDW_HI)
			continue;
		if (row >= ISA__COUNT)
			return -EINVAL;
		uint16_t rd = isa_regs_read(&code[i], row);
		if (fmt_is_helper_call(row))
			rd |= 0x3e;	/* a helper gets r1-r5, whatever it declares */
		uint16_t regs = rd | isa_regs_written(&code[i], row);
		if (regs & (1u << 10))
			st->uses_stack = true;
		used |= regs;
		st->read |= rd;
		int size;
		bool write;
		int breg = access_base(&code[i], &size, &write);
		if (breg >= 0 && breg != 10)
			mem_through_reg = true;
		int fmt = isa_rows[row].fmt;
		size_t next = i + (row == ISA_LDDW ? 2 : 1);
		if (isa_is_jump(row) || fmt == ISA_FMT_CALL_LOCAL) {
			int64_t t = isa_target(&code[i], row, i);
			if (t < 0 || (uint64_t)t >= cnt || code[t].code == ISA_LDDW_HI)
				return -EINVAL;
			st->flags[t] |= FL_LEADER | (fmt == ISA_FMT_CALL_LOCAL ? FL_TARGET : 0);
		}
		/* A helper call ends its block too: a callback it runs is charged
		 * from the countdown the block left, exactly as the interpreter's. */
		if (isa_is_jump(row) || fmt == ISA_FMT_CALL_LOCAL || fmt == ISA_FMT_EXIT ||
		    fmt == ISA_FMT_CALL || fmt == ISA_FMT_CALLX)
			st->flags[next] |= FL_LEADER;
	}
	/* Callbacks start subprograms, entered through their frame prologues. */
	for (size_t k = 0; k < st->prog->func_start_cnt; k++) {
		if (st->prog->func_starts[k] >= cnt)
			return -EINVAL;
		st->flags[st->prog->func_starts[k]] |= FL_LEADER | FL_TARGET;
	}
	st->saved[st->nsaved++] = RBP;
	st->saved[st->nsaved++] = R12;
	for (int r = 6; r <= 9; r++)
		if (used & (1u << r))
			st->saved[st->nsaved++] = xreg[r];
	st->mbase = -1;
	for (int r = 9; r >= 6 && st->checked && mem_through_reg; r--)
		if (!(used & (1u << r))) {
			st->mbase = xreg[r];
			st->saved[st->nsaved++] = xreg[r];
			break;
		}
	st->main_called = st->flags[0] & FL_TARGET;
	st->main_end = cnt;
	for (size_t i = 1; i < cnt; i++)
		if (st->flags[i] & FL_TARGET) {
			st->main_end = i;
			break;
		}
	uint16_t sub_written = 0;
	for (size_t i = st->main_called ? 0 : st->main_end; i < cnt; i++)
		if (code[i].code < ISA__COUNT)
			sub_written |= isa_regs_written(&code[i], code[i].code);
	for (int r = 6; r <= 9; r++)
		if (sub_written & (1u << r))
			st->callee[st->ncallee++] = xreg[r];
	size_t lead = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (code[i].code == ISA_LDDW_HI)
			continue;
		if (st->flags[i] & FL_LEADER)
			lead = i;
		st->blk[lead]++;
	}
	find_groups(st);
	int ferr = jit_fold(code, cnt, st->flags, &st->fold);
	if (ferr)
		return ferr;
	st->inlined = calloc(cnt + 1, 1);
	if (!st->inlined)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		struct vm_array_layout l;
		st->inlined[i] = lookup_inlinable(st, i, &l);
		if (st->inlined[i])
			kill_dead_args(st, i);
	}
	size_t ntarget = 0;
	for (size_t i = 0; i < cnt; i++)
		if (st->flags[i] & FL_TARGET)
			st->tlabel[i] = (uint32_t)(cnt + 1 + L__COUNT + ntarget++);
	st->lbl_base = cnt + 1 + L__COUNT + ntarget;
	if (st->checked) {
		size_t *roots = malloc((ntarget + 1) * sizeof(*roots)), nroots = 0;
		if (!roots)
			return -ENOMEM;
		roots[nroots++] = 0;
		for (size_t i = 1; i < cnt; i++)
			if (st->flags[i] & FL_TARGET)
				roots[nroots++] = i;
		int err = lv_analyse(code, cnt, st->flags, st->blk, st->inlined, roots, nroots,
				     &st->lv);
		free(roots);
		if (err)
			return err;
		st->lv_lbl = malloc((st->lv.nloops + 1) * sizeof(*st->lv_lbl));
		st->npads = st->lv.nloops + st->lv.nheads;
		st->pads = malloc((st->npads + 1) * sizeof(*st->pads));
		if (!st->lv_lbl || !st->pads)
			return -ENOMEM;
		for (size_t k = 0; k <= st->npads; k++)
			st->pads[k] = UINT32_MAX;	/* not yet emitted: after everything */
		for (size_t k = 0; k < st->lv.nloops; k++) {
			st->lv_lbl[k] = (uint32_t)st->lbl_base;
			st->lbl_base += 1 + st->lv.loops[k].nblocks;
		}
	}
	st->lbl_cap = st->lbl_base * 2 + 64;
	st->lbl = malloc(st->lbl_cap * sizeof(*st->lbl));
	if (!st->lbl)
		return -ENOMEM;
	for (size_t k = 0; k < st->lbl_cap; k++)
		st->lbl[k] = LBL_UNKNOWN;
	return 0;
}

bool jit_supported(void)
{
#if defined(__x86_64__)
	return true;
#else
	return false;
#endif
}

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

static void free_state(struct jit_state *st)
{
	free(st->flags);
	free(st->blk);
	free(st->tlabel);
	free(st->fold);
	free(st->inlined);
	free(st->grouped);
	free(st->glo);
	free(st->ghi);
	free(st->lbl);
	free(st->jshort);
	free(st->stubs);
	lv_free(&st->lv);
	free(st->lv_lbl);
	free(st->copy_off);
	free(st->pads);
}

int jit_compile(const struct bpfvm_prog *prog, struct jit_image **out)
{
	struct jit_state st = { .prog = prog, .code = prog->decoded, .cnt = prog->cnt,
				.checked = true, .err_insn = SIZE_MAX, .cur_loop = -1,
				.thr_to = -1, .lazy = -1 };
	struct jit_image *img = NULL;
	uint8_t *map = MAP_FAILED;
	size_t map_len = 0, pg = page_size();
	int err;

	*out = NULL;
	if (!jit_bmi2_probed)
		jit_set_bmi2(true);
	if (!jit_supported())
		return vm_err(-EOPNOTSUPP, "%s: the JIT needs an x86-64 machine", prog->name);
	if (!prog->decoded || !prog->cnt)
		return vm_err(-EINVAL, "%s: JIT: program is not validated", prog->name);
	err = analyse(&st);
	if (err) {
		err = vm_err(err, "%s: JIT: %s", prog->name, err == -ENOMEM ? "out of memory" :
			     "malformed decoded program");
		goto fail;
	}
	for (int pass = 0;; pass++) {
		emit_all(&st);
		if (st.b.err)
			break;
		if (pass == 0) {
			map_len = (st.b.pos + pg - 1) / pg * pg;
			/* Near the library, so helper calls can be rel32. */
			void *hint = (void *)(((uintptr_t)(const void *)jit_fault & ~(uintptr_t)(pg - 1)) -
					      ((uintptr_t)1 << 30));
			map = mmap(hint, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (map == MAP_FAILED) {
				err = vm_err(-ENOMEM, "%s: JIT: cannot map %zu bytes of code memory",
					     prog->name, map_len);
				goto fail;
			}
			st.image = (uintptr_t)map;
			st.image_len = map_len;
			continue;
		}
		if (!st.changed)
			break;
		if (pass > 64) {
			st.b.err = -ELOOP;
			break;
		}
	}
	if (!st.b.err) {
		st.b.buf = map;
		st.b.cap = map_len;
		st.copy_off = malloc((st.cnt + 1) * sizeof(*st.copy_off));
		if (!st.copy_off)
			st.b.err = -ENOMEM;
		else
			for (size_t i = 0; i <= st.cnt; i++)
				st.copy_off[i] = UINT32_MAX;
		emit_all(&st);
		if (!st.b.err && st.changed)
			st.b.err = -EFAULT;
	}
	if (st.b.err) {
		err = st.b.err;
		if (err == -ENOSYS) {
			size_t bad = st.err_insn < st.cnt ? st.err_insn : 0;
			int row = st.code[bad].code;
			err = vm_err(err, "%s: JIT: insn %zu: no emitter for %s", prog->name, bad,
				     row < ISA__COUNT ? isa_rows[row].name : "?");
		} else {
			err = vm_err(err == -ENOMEM ? err : -EFAULT, "%s: JIT: %s", prog->name,
				     err == -ENOMEM ? "out of memory" : err == -ELOOP ?
				     "code size did not converge" : "internal emitter error");
		}
		goto fail;
	}
	size_t len = st.b.pos;
	memset(map + len, 0xcc, map_len - len);			/* int3 after the code */
	img = calloc(1, sizeof(*img));
	if (img) {
		img->insn_off = malloc((st.cnt + 1) * sizeof(*img->insn_off));
		img->cb_prologue = calloc(prog->func_start_cnt + 1, sizeof(*img->cb_prologue));
	}
	if (!img || !img->insn_off || !img->cb_prologue) {
		err = vm_err(-ENOMEM, "%s: JIT: out of memory", prog->name);
		goto fail;
	}
	if (mprotect(map, map_len, PROT_READ | PROT_EXEC)) {
		err = vm_err(-errno, "%s: JIT: cannot make code executable", prog->name);
		goto fail;
	}
	memcpy(img->insn_off, st.lbl, (st.cnt + 1) * sizeof(*img->insn_off));
	img->code = map;
	img->len = len;
	img->map_len = map_len;
	for (size_t k = 0; k < st.lv.nloops; k++) {
		img->nowed += st.lv.loops[k].owed;
		img->nthreaded += st.lv.loops[k].nthreaded;
		img->nlazy += fast_lazy(&st, &st.lv.loops[k]);	/* (reads st.flags) */
	}
	img->leader = st.flags;
	st.flags = NULL;
	img->insns = prog->decoded;
	img->cnt = prog->cnt;
	img->checked = st.checked;
	img->uses_stack = st.uses_stack;
	img->nloops = st.lv.nloops;
	for (size_t i = 0; i < prog->cnt; i++)
		img->nfolded += st.fold[i].kind != FOLD_NONE && st.fold[i].kind != FOLD_CALL_ARGS;
	img->ninlined = st.ninlined;
	img->copy_off = st.copy_off;
	st.copy_off = NULL;
	img->tail_entry = st.lbl[lbl_fixed(&st, L_TAIL)];
	img->cb_entry = st.lbl[lbl_fixed(&st, L_CALLBACK)];
	for (size_t k = 0; k < prog->func_start_cnt; k++)
		img->cb_prologue[k] = st.lbl[st.tlabel[prog->func_starts[k]]];
	free_state(&st);
	*out = img;
	return 0;
fail:
	if (img) {
		free(img->insn_off);
		free(img->cb_prologue);
	}
	free(img);
	if (map != MAP_FAILED)
		munmap(map, map_len);
	free_state(&st);
	return err;
}

void jit_free(struct jit_image *img)
{
	if (!img)
		return;
	munmap(img->code, img->map_len);
	free(img->insn_off);
	free(img->copy_off);
	free(img->leader);
	free(img->cb_prologue);
	free(img);
}

size_t jit_versioned_loops(const struct jit_image *img)
{
	return img ? img->nloops : 0;
}

const uint32_t *jit_copy_offsets(const struct jit_image *img)
{
	return img->copy_off;
}

size_t jit_owed_loops(const struct jit_image *img)
{
	return img ? img->nowed : 0;
}

size_t jit_threaded_tests(const struct jit_image *img)
{
	return img ? img->nthreaded : 0;
}

size_t jit_folded_insns(const struct jit_image *img)
{
	return img ? img->nfolded : 0;
}

size_t jit_lazy_loops(const struct jit_image *img)
{
	return img ? img->nlazy : 0;
}

size_t jit_inlined_calls(const struct jit_image *img)
{
	return img ? img->ninlined : 0;
}

void jit_code(const struct jit_image *img, const void **code, size_t *len,
	      const uint32_t **insn_offsets)
{
	if (code)
		*code = img->code;
	if (len)
		*len = img->len;
	if (insn_offsets)
		*insn_offsets = img->insn_off;
}

/* ---- Running: entries from C, callbacks, tail calls ------------------------------- */

/* vm_engine.callback: the callback entry, one frame below the helper's caller
 * (zeroed the first time the run reaches that depth, as a local call does). A
 * fault inside unwinds to the callback entry's rsp, which is why saved_rsp is
 * put back afterwards. */
static int jit_callback(struct vm_run *run, uint32_t k, const uint64_t args[5], uint64_t *r0)
{
	struct jit_ctx *c = run->engine_state;
	const struct jit_image *img = c->img;
	const uint64_t rbp = c->cur_rbp;	/* the frame of the helper's caller */
	if (depth_of(c, rbp) + 1 >= BPFVM_MAX_CALL_DEPTH) {
		c->fault = (struct bpfvm_fault){ .kind = BPFVM_FAULT_CALL_DEPTH,
						 .insn = VM_INSN_AT_CALL };
		return vm_fault_errno(BPFVM_FAULT_CALL_DEPTH);
	}
	const uint64_t saved_rsp = c->saved_rsp;
	const uint64_t top = rbp - BPFVM_STACK_SIZE;
	if (top < c->zeroed_rbp) {
		memset((void *)(uintptr_t)(top - BPFVM_STACK_SIZE), 0, BPFVM_STACK_SIZE);
		c->zeroed_rbp = top;
	}
	const jit_callback_fn fn = (jit_callback_fn)(uintptr_t)(img->code + img->cb_entry);
	uint64_t v = fn(c, img->code + img->cb_prologue[k], args, top);
	c->saved_rsp = saved_rsp;
	c->cur_rbp = rbp;	/* helper calls inside moved it */
	if (c->fault.kind != BPFVM_FAULT_NONE)
		return vm_fault_errno(c->fault.kind);
	*r0 = v;
	return 0;
}

static uint32_t jit_depth(const struct vm_run *run)
{
	const struct jit_ctx *c = run->engine_state;
	return depth_of(c, c->cur_rbp);
}

static const struct vm_engine jit_engine = { .callback = jit_callback, .depth = jit_depth };

/* Makes the tail call bpf_tail_call asked for (the run stopped at depth 0 for
 * it): the target's tail entry, in the same frame, with the budget left; a
 * target without native code (no_jit) continues on the interpreter. The main
 * frame is zeroed first if no program of the run has zeroed it yet (the
 * interpreter always zeroes it at the start). Returns r0. */
static uint64_t jit_tail(struct jit_ctx *c, struct vm_run *run)
{
	const struct bpfvm_prog *t = run->tail_prog;
	run->prog = t;
	run->tail_prog = NULL;
	run->stop = false;
	if (!c->main_zeroed) {
		memset((void *)(uintptr_t)(c->stack_top - BPFVM_STACK_SIZE), 0, BPFVM_STACK_SIZE);
		c->main_zeroed = true;
	}
	if (t->jit) {
		c->img = t->jit;
		const jit_entry_fn fn = (jit_entry_fn)(uintptr_t)(t->jit->code + t->jit->tail_entry);
		return fn(c, run->tail_r1, run->entry_r2);
	}
	uint64_t v = 0;
	run->left = c->left;
	run->zeroed = depth_of(c, c->zeroed_rbp);
	if (interp_run_tail(run, run->tail_r1, run->entry_r2, &v))
		c->fault = run->fault;
	c->left = run->left;
	c->zeroed_rbp = c->stack_top - (uint64_t)run->zeroed * BPFVM_STACK_SIZE;
	return v;
}

int jit_run_repeat(const struct jit_image *img, struct vm_run *run, uint64_t r1, uint64_t r2,
		   uint64_t *r0, uint32_t repeat)
{
	struct jit_ctx c;
	const uint64_t start = run->budget ? run->budget : UINT64_MAX;
	const uint64_t top = (uint64_t)(uintptr_t)(run->stack + VM_STACK_TOTAL);
	const jit_entry_fn entry = (jit_entry_fn)(uintptr_t)img->code;
	const struct bpfvm_prog *const first = run->prog;

	c.stack_top = top;
	c.left = start;
	c.run = run;
	c.m_base = 0;
	uint64_t len = 0;
	bool writable = false;
	if (run->region_cnt) {
		const struct bpfvm_region *h = &run->regions[run->hot < run->region_cnt ? run->hot : 0];
		c.m_base = (uint64_t)(uintptr_t)h->addr;
		len = h->len;
		writable = h->writable;
	}
	for (int k = 0; k < 4; k++) {
		uint64_t size = 1u << k;
		c.top_lim[k] = top - size;
		c.m_rlim[k] = len >= size ? len - size + 1 : 0;
		c.m_wlim[k] = writable ? c.m_rlim[k] : 0;
	}
	memset(&c.fault, 0, sizeof(c.fault));
	memset(&run->fault, 0, sizeof(run->fault));
	c.c_base = c.c_len = c.c_wlen = 0;	/* nothing cached: no region ends at 0 */
	c.cpu_slot = (uint64_t)vm_cpu_slot();
	struct vm_run *const prev = vm_current_run;
	vm_current_run = run;
	uint64_t v = 0;
	/* What no run changes but a tail call is set once; per run only the rest. */
	c.lim_rbp = top - (uint64_t)(BPFVM_MAX_CALL_DEPTH - 2) * BPFVM_STACK_SIZE;
	c.cur_rbp = top;
	c.img = img;
	c.main_zeroed = img->uses_stack;
	run->prog = first;
	run->engine = &jit_engine;
	run->engine_state = &c;
	run->tail_prog = NULL;
	run->entry_r2 = r2;
	for (uint32_t k = 0; k < repeat; k++) {
		c.left = start;
		c.zeroed_rbp = top;
		run->stop = false;
		run->tail_cnt = 0;
		vm_run_dyn_clear(run);
		v = entry(&c, r1, r2);
		if (__builtin_expect(run->tail_prog != NULL || c.fault.kind != BPFVM_FAULT_NONE, 0)) {
			while (run->tail_prog && c.fault.kind == BPFVM_FAULT_NONE)
				v = jit_tail(&c, run);
			if (c.fault.kind != BPFVM_FAULT_NONE)
				break;
			c.img = img;
			c.main_zeroed = img->uses_stack;
			run->prog = first;
		}
	}
	vm_current_run = prev;
	run->insn_executed = img->checked ? start - c.left : 0;
	if (c.fault.kind != BPFVM_FAULT_NONE) {
		run->fault = c.fault;
		return vm_fault_errno(c.fault.kind);
	}
	*r0 = v;
	return 0;
}

int jit_run(const struct jit_image *img, struct vm_run *run, uint64_t r1, uint64_t r2, uint64_t *r0)
{
	return jit_run_repeat(img, run, r1, r2, r0, 1);
}
