/*
 * progen.c — random valid eBPF programs from the instruction table, and the
 * differential runner (see progen.h for the contract).
 *
 * How a program is laid out. The main program and up to three subprograms, one
 * after the other, each:
 *   prologue   save r1 (context memory) at [r10-8] and r2 (its length) at
 *              [r10-16] of the frame — in a subprogram run as a bpf_loop
 *              callback r1 is the index (small) and r2 the context memory, so
 *              the two slots are then written the other way round — then write
 *              every other register r0..r9 that is not written yet (main: all
 *              but r1, r2; a subprogram: r0, r6..r9 — r1..r5 are its
 *              arguments), so no later read can see a register the validator
 *              thinks unwritten;
 *   body       random items (below), never crossing the subprogram's end;
 *   epilogue   fold a few registers into r0, exit.
 * Calls (helper, callx, local, bpf_loop) clobber r1..r5, so every call is followed by a
 * window that writes all five again; the window only writes, so a jump landing
 * inside it is harmless. Forward jumps get their distance when the subprogram is
 * finished (clamped to its final exit); backward jumps go to slots already
 * emitted in the same subprogram. Slots that must not be jump targets (the second
 * half of lddw, and an access whose base register was set up just before it, so
 * that accesses stay mostly in bounds) are marked noland and skipped.
 *
 * Items of a body, by weight: an ALU row (sometimes with its operands first set
 * to interesting values — 0, 1, -1, INT_MIN, 32-bit boundaries, random — or to
 * a pair at an operation's edge, such as INT_MIN and -1), lddw, a
 * load/store/atomic row on the stack through r10 or a pointer derived from it,
 * on the context memory through the pointer saved at [r10-8], or through a
 * register holding anything (offsets mostly in bounds, sometimes just outside,
 * cmpxchg sometimes primed to succeed), a forward conditional jump, ja or gotol,
 * a counted loop whose counter the body may clobber (so some loops only stop at
 * the budget), a raw backward jump, a helper call, callx to a known or unknown
 * id, a local call (mostly to a later subprogram; some go anywhere, the caller
 * and the main program included, so some recursion runs into the call-depth
 * limit), a bpf_loop call whose callback is a subprogram chosen the same way
 * (lddw src=4; a few loop counts and flags out of the helper's range), exit.
 *
 * Which rows. progen_init() probes every isa.def row once: a minimal program
 * holding the row (selector field set, other fields zero, helper/local call
 * targets made valid) is given to bpfvm_prog__new without the JIT. The rows it
 * accepts are generated, grouped by format into the item kinds above; a row in a
 * format no item knows (should the validator ever accept one) is generated with
 * its fields filled at random.
 *
 * Randomness. rnd(g, n) is uniform in [0, n) from splitmix64, or in byte mode
 * read from 1, 2, 4 or 8 input bytes (zeros once they run out). Every choice is
 * arranged so that a zero draw is the plain one (the first item kind, no
 * optional extra), so exhausted fuzz inputs give short, simple programs.
 */
#include "progen.h"

#include <stdlib.h>
#include <string.h>

#include "isa.h"

#define R10	10
#define SLOT_MEM	(-8)	/* [r10-8]: the context memory pointer */
#define SLOT_LEN	(-16)	/* [r10-16]: its length */
#define EPILOGUE_MAX	5	/* fold up to 4 registers, exit */
#define MIN_SUB_BODY	14	/* body slots of a subprogram, at least */
/* Body slots of all subprograms together, at most: prologues (10 slots each)
 * and epilogues must fit in PROGEN_MAX_INSNS too. */
#define MAX_BODY	(PROGEN_MAX_INSNS - 10 - 10 * (PROGEN_MAX_SUBPROGS - 1) - \
			 EPILOGUE_MAX * PROGEN_MAX_SUBPROGS)

/* ---- Helpers the programs call -------------------------------------------------- */

#define ID_MIX		1u
#define ID_SUM		2u
#define ID_STOP		(BPFVM_HELPER_USER_BASE + 0x4000u)
#define ID_CMP		(BPFVM_HELPER_USER_BASE + 0x4001u)
/* Ids no one registers: 0 is refused by bpfvm_helper__register, and ids above
 * 32 bits cannot name a helper. */
#define ID_UNKNOWN	(BPFVM_HELPER_USER_BASE + 0xbad00u)

static uint64_t rotl64(uint64_t x, unsigned r) { return x << (r & 63) | x >> ((64 - r) & 63); }

static uint64_t h_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ rotl64(b, 17) ^ (c + 3 * d) ^ (e << 1);
	return x ^ (x >> 29);
}
static uint64_t h_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + b + c + d + e;
}
uint64_t progen_stops;

/* Stops the program (r0 = b ^ 0x5a5a) when a % 4 == 1. */
static uint64_t h_stop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	if ((a & 3) == 1) {
		__atomic_fetch_add(&progen_stops, 1, __ATOMIC_RELAXED);
		bpfvm_run_stop(b ^ 0x5a5a);
		return 0x1234;
	}
	return a - b;
}
static uint64_t h_cmp(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return (int64_t)a < (int64_t)b ? (uint64_t)-1 : a == b ? 0 : (c & 0xff) + 1;
}

const struct bpfvm_helper progen_helpers[] = {
	{ .id = ID_MIX, .name = "progen_mix", .fn = h_mix },
	{ .id = ID_SUM, .name = "progen_sum", .fn = h_sum },
	{ .id = ID_STOP, .name = "progen_stop", .fn = h_stop },
	{ .id = ID_CMP, .name = "progen_cmp", .fn = h_cmp },
};
const size_t progen_helper_cnt = sizeof(progen_helpers) / sizeof(progen_helpers[0]);

/* ---- Randomness ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 when n <= 1. */
static uint64_t rnd(struct progen *g, uint64_t n)
{
	if (n <= 1)
		return 0;
	if (!g->bytes)
		return splitmix64(&g->state) % n;
	unsigned nb = n <= 0x100 ? 1 : n <= 0x10000 ? 2 : n <= 0x100000000ull ? 4 : 8;
	uint64_t v = 0;
	for (unsigned i = 0; i < nb; i++)
		v = v << 8 | (g->byte_pos < g->byte_len ? g->bytes[g->byte_pos++] : 0);
	return v % n;
}
/* True with probability num/den; a zero draw is false. */
static bool chance(struct progen *g, unsigned num, unsigned den)
{
	return rnd(g, den) >= den - num;
}
static uint64_t any64(struct progen *g)
{
	return rnd(g, UINT64_MAX) ^ (rnd(g, 2) ? UINT64_MAX : 0);
}

/* Operands that find corner cases: zero, one, minus one, sign and width
 * boundaries, shift counts at and past the width; then random values. */
static const int64_t interesting[] = {
	0, 1, -1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 31, 32, 63, 64,
	INT32_MAX, INT32_MIN, (int64_t)UINT32_MAX, 0x100000000ll, INT64_MAX, INT64_MIN,
	-2, -0x80, -0x8000, 0x80000001ll, 0x7fffffff00000000ll,
};
#define N_INTERESTING (sizeof(interesting) / sizeof(interesting[0]))

static int32_t imm32(struct progen *g)
{
	uint64_t k = rnd(g, N_INTERESTING + 4);
	if (k < N_INTERESTING)
		return (int32_t)interesting[k];
	if (k == N_INTERESTING)
		return (int32_t)rnd(g, 16) - 8;
	return (int32_t)(uint32_t)rnd(g, 0x100000000ull);
}
static uint64_t imm64(struct progen *g)
{
	uint64_t k = rnd(g, N_INTERESTING + 3);
	if (k < N_INTERESTING)
		return (uint64_t)interesting[k];
	if (k == N_INTERESTING)
		return (uint64_t)(int64_t)imm32(g) << 32 | (uint32_t)imm32(g);
	return any64(g);
}

/* r0..r9 */
static uint8_t reg09(struct progen *g) { return (uint8_t)rnd(g, 10); }
/* A register to read: r0..r9, sometimes r10. */
static uint8_t reg_src(struct progen *g) { return chance(g, 1, 16) ? R10 : reg09(g); }

/* ---- Rows, as the validator accepts them --------------------------------------- */

enum cat {
	CAT_ALU,	/* ALU_K, ALU_X, MOVSX, NEG, END */
	CAT_MEM,	/* LDX, ST, STX, ATOMIC */
	CAT_JCOND,	/* JCOND_K, JCOND_X */
	CAT_GOTO,	/* JA, JA32 */
	CAT_LDDW,
	CAT_CALL,
	CAT_CALLX,
	CAT_CALL_LOCAL,
	CAT_EXIT,
	CAT_OTHER,	/* formats no item knows */
	CAT__COUNT
};

static enum cat fmt_cat(int fmt)
{
	switch (fmt) {
	case ISA_FMT_ALU_K: case ISA_FMT_ALU_X: case ISA_FMT_MOVSX:
	case ISA_FMT_NEG: case ISA_FMT_END:
		return CAT_ALU;
	case ISA_FMT_LDX: case ISA_FMT_ST: case ISA_FMT_STX: case ISA_FMT_ATOMIC:
		return CAT_MEM;
	case ISA_FMT_JCOND_K: case ISA_FMT_JCOND_X:
		return CAT_JCOND;
	case ISA_FMT_JA: case ISA_FMT_JA32:
		return CAT_GOTO;
	case ISA_FMT_LDDW:
		return CAT_LDDW;
	case ISA_FMT_CALL:
		return CAT_CALL;
	case ISA_FMT_CALLX:
		return CAT_CALLX;
	case ISA_FMT_CALL_LOCAL:
		return CAT_CALL_LOCAL;
	case ISA_FMT_EXIT:
		return CAT_EXIT;
	default:
		return CAT_OTHER;
	}
}

static bool row_on[ISA__COUNT];
static uint16_t cat_rows[CAT__COUNT][ISA__COUNT];
static size_t cat_cnt[CAT__COUNT];
static bool probed;

/* The row's opcode with its selector field set; every other field zero. */
static struct bpf_insn row_insn(int row)
{
	struct bpf_insn in = { 0 };
	isa_set_row(&in, row);
	return in;
}

static bool probe_row(int row)
{
	struct bpf_insn p[16];
	size_t n = 0;
	for (uint8_t r = 0; r < R10; r++)
		p[n++] = BPF_MOV64_IMM(r, 0);
	p[n] = row_insn(row);
	switch (isa_rows[row].fmt) {
	case ISA_FMT_CALL: p[n].imm = (int32_t)progen_helpers[0].id; break;
	case ISA_FMT_CALL_LOCAL: p[n].imm = 1; break;	/* the subprogram below */
	default: break;
	}
	n++;
	if (isa_rows[row].fmt == ISA_FMT_LDDW)
		p[n++] = (struct bpf_insn){ 0 };
	p[n++] = BPF_EXIT_INSN();
	p[n++] = BPF_MOV64_IMM(0, 0);	/* a subprogram: r0 = 0, exit */
	p[n++] = BPF_EXIT_INSN();
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .helpers = progen_helpers,
				     .helper_cnt = progen_helper_cnt, .no_jit = true };
	struct bpfvm_prog *prog = bpfvm_prog__new(p, n, &o);
	bpfvm_prog__free(prog);
	return prog != NULL;
}

static void probe_rows(void)
{
	if (probed)
		return;
	for (int row = 0; row < ISA__COUNT; row++) {
		row_on[row] = probe_row(row);
		if (row_on[row]) {
			enum cat c = fmt_cat(isa_rows[row].fmt);
			cat_rows[c][cat_cnt[c]++] = (uint16_t)row;
		}
	}
	probed = true;
}

bool progen_row_enabled(int row)
{
	probe_rows();
	return row >= 0 && row < ISA__COUNT && row_on[row];
}

/* A random enabled row of category c, or -1 if there is none. */
static int pick_row(struct progen *g, enum cat c)
{
	return cat_cnt[c] ? cat_rows[c][rnd(g, cat_cnt[c])] : -1;
}

/* ---- Emission -------------------------------------------------------------------- */

static bool room(const struct progen *g, size_t end, size_t n) { return g->cnt + n <= end; }

static size_t emit(struct progen *g, struct bpf_insn in)
{
	g->insns[g->cnt] = in;
	g->noland[g->cnt] = 0;
	return g->cnt++;
}

/* rd = imm64 in two slots through the LDDW row (or mov if lddw is off). */
static void emit_lddw(struct progen *g, uint8_t rd, uint64_t v)
{
	int row = pick_row(g, CAT_LDDW);
	if (row < 0) {
		emit(g, BPF_MOV64_IMM(rd, (int32_t)v));
		return;
	}
	struct bpf_insn in = row_insn(row);
	in.dst_reg = rd;
	in.imm = (int32_t)(uint32_t)v;
	emit(g, in);
	size_t hi = emit(g, (struct bpf_insn){ .imm = (int32_t)(uint32_t)(v >> 32) });
	g->noland[hi] = 1;
}

/* rd = an interesting value: mov (sign-extending), mov32 (zero-extending) or,
 * with room for two slots, lddw. */
static void emit_const(struct progen *g, uint8_t rd, size_t end)
{
	switch (rnd(g, room(g, end, 2) ? 4 : 2)) {
	case 0: emit(g, BPF_MOV64_IMM(rd, imm32(g))); break;
	case 1: emit(g, BPF_MOV32_IMM(rd, imm32(g))); break;
	default: emit_lddw(g, rd, imm64(g)); break;
	}
}

/* One slot that writes rd and reads none of r1..r5. */
static void emit_write(struct progen *g, uint8_t rd)
{
	static const uint8_t keep[] = { 0, 6, 7, 8, 9, R10 };
	switch (rnd(g, 5)) {
	case 0: emit(g, BPF_MOV64_IMM(rd, imm32(g))); break;
	case 1: emit(g, BPF_MOV32_IMM(rd, imm32(g))); break;
	case 2: emit(g, BPF_LDX_MEM(BPF_DW, rd, R10, SLOT_MEM)); break;
	case 3: emit(g, BPF_LDX_MEM(BPF_DW, rd, R10, SLOT_LEN)); break;
	default: emit(g, BPF_MOV64_REG(rd, keep[rnd(g, sizeof(keep))])); break;
	}
}

/* After a call: r1..r5 are clobbered; write all five again. */
static void emit_reinit(struct progen *g)
{
	for (uint8_t r = 1; r <= 5; r++)
		emit_write(g, r);
}
#define REINIT_SLOTS 5

/* ---- Memory operands ---------------------------------------------------------------- */

/* An offset from a frame's r10 for an access of size bytes: in bounds (below the
 * two saved slots, aligned unless misalign) or, with probability 1/24, just
 * outside the frame (above r10 is the caller's frame in a subprogram, outside
 * the stack in the main program). */
static int32_t stack_off(struct progen *g, unsigned size, bool misalign)
{
	const int32_t lo = -BPFVM_STACK_SIZE, hi = -16 - (int32_t)size;
	if (chance(g, 1, 24)) {
		switch (rnd(g, 3)) {
		case 0: return lo - 1 - (int32_t)rnd(g, 8);
		case 1: return -(int32_t)size + 1 + (int32_t)rnd(g, 8);
		default: return (int32_t)rnd(g, 16);
		}
	}
	if (misalign)
		return lo + (int32_t)rnd(g, (uint64_t)(hi - lo + 1));
	return hi - (int32_t)size * (int32_t)rnd(g, (uint64_t)(hi - lo) / size + 1);
}

/* An offset into the context memory for an access of size bytes: in bounds and
 * aligned mostly, sometimes just outside either end or anywhere. */
static int32_t ctx_off(struct progen *g, unsigned size, bool misalign)
{
	size_t len = g->mem_len;
	if (len < size || chance(g, 1, 24)) {
		switch (rnd(g, 4)) {
		case 0: return (int32_t)(len - size + 1 + rnd(g, 8));
		case 1: return -1 - (int32_t)rnd(g, 8);
		case 2: return (int32_t)len + (int32_t)rnd(g, 64);
		default: return (int16_t)rnd(g, 0x10000);
		}
	}
	if (misalign)
		return (int32_t)rnd(g, len - size + 1);
	return (int32_t)(size * rnd(g, (len - size) / size + 1));
}

/* ---- Items ----------------------------------------------------------------------- */

static void item(struct progen *g, size_t end);

/* Fills the operand fields of a row (selector already set) at random, for
 * formats no item knows. */
static void item_other(struct progen *g, size_t end)
{
	int row = pick_row(g, CAT_OTHER);
	struct bpf_insn in = row_insn(row);
	const struct isa_row *r = &isa_rows[row];
	in.dst_reg = reg09(g);
	if (r->sel != ISA_SEL_SRC)
		in.src_reg = reg09(g);
	if (r->sel != ISA_SEL_OFF)
		in.off = (int16_t)rnd(g, 4);
	if (r->sel != ISA_SEL_IMM)
		in.imm = imm32(g);
	emit(g, in);
}

/* Operand pairs (dst, src or imm) at the edges of the ALU operations: signed
 * division overflow in both widths, division and modulo by zero, signs of
 * quotient and remainder, shift counts at and past the width. */
static const int64_t pairs[][2] = {
	{ INT64_MIN, -1 }, { INT32_MIN, -1 }, { 0x80000000ll, (int64_t)UINT32_MAX },
	{ 0x7fffffffffffffffll, 0 }, { -1, 0 }, { -7, 2 }, { 7, -2 }, { -8, -2 },
	{ INT64_MIN, 1 }, { 1, 63 }, { 1, 64 }, { -1, 32 }, { 0x8000000080000000ll, 31 },
};
#define N_PAIRS (sizeof(pairs) / sizeof(pairs[0]))

/* rd = v in as few slots as it takes (1, or 2 for lddw). */
static void emit_value(struct progen *g, uint8_t rd, int64_t v)
{
	if (v == (int32_t)v)
		emit(g, BPF_MOV64_IMM(rd, (int32_t)v));
	else if ((uint64_t)v <= UINT32_MAX)
		emit(g, BPF_MOV32_IMM(rd, (int32_t)(uint32_t)v));
	else
		emit_lddw(g, rd, (uint64_t)v);
}

static void item_alu(struct progen *g, size_t end)
{
	int row = pick_row(g, CAT_ALU);
	struct bpf_insn in = row_insn(row);
	int fmt = isa_rows[row].fmt;
	in.dst_reg = reg09(g);
	if (fmt == ISA_FMT_ALU_X || fmt == ISA_FMT_MOVSX)
		in.src_reg = reg_src(g);
	if (fmt == ISA_FMT_ALU_K)
		in.imm = imm32(g);
	const bool src_free = fmt != ISA_FMT_ALU_K && in.src_reg != R10 &&
			      in.src_reg != in.dst_reg;
	if (room(g, end, 5) && chance(g, 1, 5)) {
		/* an edge pair: dst first, then src or imm */
		const int64_t *p = pairs[rnd(g, N_PAIRS)];
		emit_value(g, in.dst_reg, p[0]);
		if (fmt == ISA_FMT_ALU_K)
			in.imm = (int32_t)p[1];
		else if (src_free)
			emit_value(g, in.src_reg, p[1]);
	} else {
		/* sometimes set the operands to interesting values first */
		if (room(g, end, 3) && chance(g, 1, 3))
			emit_const(g, in.dst_reg, end - 1);
		if (src_free && room(g, end, 3) && chance(g, 1, 4))
			emit_const(g, in.src_reg, end - 1);
	}
	emit(g, in);
}

static void item_lddw(struct progen *g, size_t end)
{
	if (!room(g, end, 2)) {
		item_alu(g, end);
		return;
	}
	emit_lddw(g, reg09(g), imm64(g));
}

/* A load, store or atomic row on the stack, the context memory or wherever a
 * register points. */
static void item_mem(struct progen *g, size_t end)
{
	if (!room(g, end, 4)) {
		item_alu(g, end);
		return;
	}
	int row = pick_row(g, CAT_MEM);
	struct bpf_insn in = row_insn(row);
	const int fmt = isa_rows[row].fmt;
	const unsigned size = isa_rows[row].bits / 8;
	const bool atomic = fmt == ISA_FMT_ATOMIC;
	const bool cmpxchg = atomic && in.imm == BPF_CMPXCHG;
	/* atomics are aligned but for a rare case; other accesses sometimes not */
	const bool misalign = atomic ? chance(g, 1, 32) : chance(g, 1, 8);
	uint8_t base = reg09(g);
	if (cmpxchg && base == 0)
		base = 1 + (uint8_t)rnd(g, 9);	/* r0 is cmpxchg's operand */
	int32_t off;
	bool setup = true;

	const unsigned where = (unsigned)rnd(g, 48);
	if (where < 18) {			/* the stack, through r10 */
		base = R10;
		off = stack_off(g, size, misalign);
		setup = false;
	} else if (where < 24) {		/* the stack, through base = r10 - d */
		int32_t d = -(int32_t)rnd(g, BPFVM_STACK_SIZE + 1);
		emit(g, BPF_MOV64_REG(base, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, base, d));
		off = stack_off(g, size, misalign) - d;
	} else if (where < 47) {		/* the context memory */
		emit(g, BPF_LDX_MEM(BPF_DW, base, R10, SLOT_MEM));
		off = ctx_off(g, size, misalign);
		if (chance(g, 1, 3) && g->mem_len) {
			int32_t d = (int32_t)rnd(g, g->mem_len);
			emit(g, BPF_ALU64_IMM(BPF_ADD, base, d));
			off -= d;
		}
	} else {				/* whatever the register holds */
		off = (int32_t)rnd(g, 64) - 32;
		setup = false;
	}
	in.off = (int16_t)off;
	switch (fmt) {
	case ISA_FMT_LDX:
		in.dst_reg = reg09(g);
		in.src_reg = base;
		break;
	case ISA_FMT_ST:
		in.dst_reg = base;
		in.imm = imm32(g);
		break;
	case ISA_FMT_STX:
		in.dst_reg = base;
		in.src_reg = reg_src(g);
		break;
	default:				/* atomics: fetch forms write src */
		in.dst_reg = base;
		in.src_reg = (in.imm & BPF_FETCH) ? reg09(g) : reg_src(g);
		if (cmpxchg && room(g, end, 2) && chance(g, 1, 2)) {
			/* r0 = the current value, so the exchange happens */
			uint8_t ld = size == 8 ? BPF_DW : BPF_W;
			emit(g, BPF_LDX_MEM(ld, 0, base, in.off));
			setup = true;
		}
		break;
	}
	size_t at = emit(g, in);
	g->noland[at] = setup;
}

/* Jumps whose distance is known only at the end of the subprogram. */
static void add_fwd(struct progen *g, size_t at)
{
	g->fwd_at[g->nfwd] = at;
	g->fwd_dist[g->nfwd] = rnd(g, 12);
	g->nfwd++;
}

static void fill_jcond(struct progen *g, struct bpf_insn *in, int row)
{
	*in = row_insn(row);
	in->dst_reg = reg_src(g);
	if (isa_rows[row].fmt == ISA_FMT_JCOND_X)
		in->src_reg = reg_src(g);
	else
		in->imm = imm32(g);
}

static void item_jcond(struct progen *g, size_t end)
{
	struct bpf_insn in;
	fill_jcond(g, &in, pick_row(g, CAT_JCOND));
	if (in.dst_reg != R10 && room(g, end, 3) && chance(g, 1, 4))
		emit_const(g, in.dst_reg, end - 1);
	add_fwd(g, emit(g, in));
}

static void item_goto(struct progen *g, size_t end)
{
	add_fwd(g, emit(g, row_insn(pick_row(g, CAT_GOTO))));
}

/* Sets the jump at slot at to go to slot target. */
static void set_target(struct progen *g, size_t at, size_t target)
{
	int64_t rel = (int64_t)target - (int64_t)at - 1;
	if (isa_rows[isa_decode(&g->insns[at])].fmt == ISA_FMT_JA32)
		g->insns[at].imm = (int32_t)rel;
	else
		g->insns[at].off = (int16_t)rel;
}

/* A landing slot in [g->sub_start, g->cnt] chosen at random. */
static size_t back_target(struct progen *g)
{
	size_t t = g->sub_start + rnd(g, g->cnt - g->sub_start + 1);
	while (t < g->cnt && g->noland[t])
		t++;
	return t;
}

/* A conditional jump (or rarely a goto) back to a slot already emitted. */
static void item_back(struct progen *g, size_t end)
{
	struct bpf_insn in;
	if (chance(g, 1, 8))
		in = row_insn(pick_row(g, CAT_GOTO));
	else
		fill_jcond(g, &in, pick_row(g, CAT_JCOND));
	size_t target = back_target(g);
	size_t at = emit(g, in);
	set_target(g, at, target);
}

/* counter = n; L: body; counter -= 1; if counter (cond) goto L. The body may
 * clobber the counter, and the condition is sometimes a random one. */
static void item_loop(struct progen *g, size_t end)
{
	if (!room(g, end, 5) || g->loop_depth >= 2) {
		item_alu(g, end);
		return;
	}
	uint8_t c = reg09(g);
	emit(g, BPF_MOV64_IMM(c, 1 + (int32_t)rnd(g, 6)));
	size_t top = g->cnt;
	g->loop_depth++;
	unsigned items = 1 + (unsigned)rnd(g, 3);
	for (unsigned k = 0; k < items && g->cnt < end - 2; k++)
		item(g, end - 2);
	g->loop_depth--;
	emit(g, chance(g, 1, 2) ? BPF_ALU32_IMM(BPF_SUB, c, 1) : BPF_ALU64_IMM(BPF_ADD, c, -1));
	struct bpf_insn in;
	if (chance(g, 1, 2)) {
		fill_jcond(g, &in, pick_row(g, CAT_JCOND));
		in.dst_reg = c;
	} else {
		static const uint8_t counted[] = { BPF_JNE, BPF_JGT, BPF_JSGT };
		uint8_t cls = chance(g, 1, 2) ? BPF_JMP32 : BPF_JMP;
		int row = isa_find((uint8_t)(cls | counted[rnd(g, 3)] | BPF_K), 0);
		in = row_insn(row >= 0 && row_on[row] ? row : pick_row(g, CAT_JCOND));
		in.dst_reg = c;
	}
	size_t at = emit(g, in);
	set_target(g, at, top);
}

static void item_call(struct progen *g, size_t end)
{
	if (!room(g, end, 1 + REINIT_SLOTS + 2)) {
		item_alu(g, end);
		return;
	}
	for (uint8_t r = 1; r <= 5 && room(g, end, 1 + REINIT_SLOTS + 1); r++)
		if (chance(g, 1, r == 1 ? 2 : 3))
			emit(g, BPF_MOV64_IMM(r, imm32(g)));
	struct bpf_insn in = row_insn(pick_row(g, CAT_CALL));
	in.imm = (int32_t)progen_helpers[rnd(g, progen_helper_cnt)].id;
	emit(g, in);
	emit_reinit(g);
}

static void item_callx(struct progen *g, size_t end)
{
	if (!room(g, end, 2 + 1 + REINIT_SLOTS)) {
		item_alu(g, end);
		return;
	}
	uint8_t x = reg09(g);
	switch (rnd(g, 4)) {
	case 0: case 1:
		emit(g, BPF_MOV64_IMM(x, (int32_t)progen_helpers[rnd(g, progen_helper_cnt)].id));
		break;
	case 2:
		emit(g, BPF_MOV64_IMM(x, chance(g, 1, 4) ? 0 : (int32_t)(ID_UNKNOWN + rnd(g, 256))));
		break;
	default:	/* a known id in the low half: still unknown */
		emit_lddw(g, x, (1ull << 32) + progen_helpers[rnd(g, progen_helper_cnt)].id);
		break;
	}
	struct bpf_insn in = row_insn(pick_row(g, CAT_CALLX));
	in.dst_reg = x;
	g->noland[emit(g, in)] = 1;
	emit_reinit(g);
}

/* The subprogram a call or callback at slot at goes to (patched in at the end
 * of generation), or false when there is none to choose: mostly a later
 * subprogram (no cycle); a quarter of the calls, or of those from the last
 * subprogram a half, go anywhere (recursion). */
static bool pick_callee(struct progen *g, size_t *to)
{
	const size_t later = g->sub_cnt - 1 - g->cur_sub;
	bool cycle = later ? chance(g, 1, 4) : chance(g, 1, 2);
	if (!later && !cycle)
		return false;
	*to = cycle ? rnd(g, g->sub_cnt) : g->cur_sub + 1 + rnd(g, later);
	return true;
}

static void add_call(struct progen *g, size_t at, size_t to)
{
	g->call_at[g->ncall] = at;
	g->call_to[g->ncall] = to;
	g->ncall++;
}

/* A call to a subprogram, with r1/r2 = the context memory and its length as
 * every subprogram expects, and sometimes r3 = a pointer into this frame. */
static void item_call_local(struct progen *g, size_t end)
{
	size_t to;
	if (!room(g, end, 5 + 1 + REINIT_SLOTS) || !pick_callee(g, &to)) {
		item_alu(g, end);
		return;
	}
	emit(g, BPF_LDX_MEM(BPF_DW, 1, R10, SLOT_MEM));
	emit(g, BPF_LDX_MEM(BPF_DW, 2, R10, SLOT_LEN));
	if (chance(g, 1, 2)) {
		emit(g, BPF_MOV64_REG(3, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 3, -16 - 8 * (int32_t)rnd(g, 62)));
	}
	if (chance(g, 1, 2))
		emit(g, BPF_MOV64_IMM(4, imm32(g)));
	struct bpf_insn in = row_insn(pick_row(g, CAT_CALL_LOCAL));
	add_call(g, emit(g, in), to);
	emit_reinit(g);
}

#define ID_BPF_LOOP	181

/* bpf_loop(count, a subprogram, the context memory or a pointer into this
 * frame or anything, flags): a few counts past 1 << 23 (-E2BIG), flags != 0
 * (-EINVAL); 1000 calls outlast the budget. */
static void item_bpf_loop(struct progen *g, size_t end)
{
	size_t to;
	if (!room(g, end, 7 + REINIT_SLOTS) || !pick_callee(g, &to)) {
		item_alu(g, end);
		return;
	}
	static const int32_t counts[] = { 1, 2, 3, 0, 5, 1000, 0x800001, -1 };
	emit(g, BPF_MOV64_IMM(1, counts[rnd(g, chance(g, 1, 8) ? 8 : 5)]));
	add_call(g, emit(g, BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_FUNC, 0, 0)), to);
	g->noland[emit(g, (struct bpf_insn){ 0 })] = 1;
	switch (rnd(g, 4)) {
	case 0: case 1:
		emit(g, BPF_LDX_MEM(BPF_DW, 3, R10, SLOT_MEM));
		break;
	case 2:
		emit(g, BPF_MOV64_REG(3, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 3, -8 * (int32_t)rnd(g, 64)));
		break;
	default:
		emit(g, BPF_MOV64_IMM(3, imm32(g)));
		break;
	}
	emit(g, BPF_MOV64_IMM(4, chance(g, 1, 16)));
	g->noland[emit(g, BPF_CALL_HELPER(ID_BPF_LOOP))] = 1;
	emit_reinit(g);
}

static void item_exit(struct progen *g, size_t end)
{
	emit(g, row_insn(pick_row(g, CAT_EXIT)));
}

/* Item kinds by weight; the first is what a zero draw gives. */
static const struct {
	void (*fn)(struct progen *g, size_t end);
	enum cat needs;
	unsigned weight;
} kinds[] = {
	{ item_alu, CAT_ALU, 36 },
	{ item_mem, CAT_MEM, 24 },
	{ item_jcond, CAT_JCOND, 10 },
	{ item_lddw, CAT_LDDW, 3 },
	{ item_goto, CAT_GOTO, 3 },
	{ item_loop, CAT_JCOND, 5 },
	{ item_back, CAT_JCOND, 1 },
	{ item_call, CAT_CALL, 5 },
	{ item_callx, CAT_CALLX, 3 },
	{ item_call_local, CAT_CALL_LOCAL, 5 },
	{ item_bpf_loop, CAT_CALL, 2 },
	{ item_exit, CAT_EXIT, 2 },
	{ item_other, CAT_OTHER, 2 },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* One item that ends no later than end (at least one slot is free). */
static void item(struct progen *g, size_t end)
{
	unsigned total = 0;
	for (size_t k = 0; k < N_KINDS; k++)
		total += cat_cnt[kinds[k].needs] ? kinds[k].weight : 0;
	unsigned w = (unsigned)rnd(g, total);
	for (size_t k = 0; k < N_KINDS; k++) {
		if (!cat_cnt[kinds[k].needs])
			continue;
		if (w < kinds[k].weight) {
			kinds[k].fn(g, end);
			return;
		}
		w -= kinds[k].weight;
	}
}

/* ---- Programs ---------------------------------------------------------------------- */

/* One subprogram (s = 0: the main program): prologue, body items filling about
 * body slots, epilogue. */
static void subprog(struct progen *g, size_t s, size_t body)
{
	g->sub_start = g->sub_at[s] = g->cnt;
	g->cur_sub = s;
	g->nfwd = 0;
	emit(g, BPF_STX_MEM(BPF_DW, R10, 1, SLOT_MEM));
	emit(g, BPF_STX_MEM(BPF_DW, R10, 2, SLOT_LEN));
	if (s > 0) {
		/* A callback's r1 is the index, r2 the memory: swap the slots */
		emit(g, BPF_JMP_IMM(BPF_JGT, 1, 0xffffff, 2));
		emit(g, BPF_STX_MEM(BPF_DW, R10, 2, SLOT_MEM));
		emit(g, BPF_STX_MEM(BPF_DW, R10, 1, SLOT_LEN));
	}
	for (uint8_t r = 0; r < R10; r++)
		if (r == 0 || r >= 6 || (s == 0 && r >= 3))
			emit(g, chance(g, 1, 3) ? BPF_MOV32_IMM(r, imm32(g))
						: BPF_MOV64_IMM(r, imm32(g)));
	const size_t end = g->cnt + body;
	while (g->cnt < end)
		item(g, end);
	for (unsigned k = (unsigned)rnd(g, EPILOGUE_MAX); k > 0; k--)
		emit(g, BPF_ALU64_REG(chance(g, 1, 2) ? BPF_ADD : BPF_XOR, 0, 1 + rnd(g, 9)));
	size_t last = emit(g, BPF_EXIT_INSN());
	for (size_t j = 0; j < g->nfwd; j++) {
		size_t t = g->fwd_at[j] + 1 + g->fwd_dist[j];
		if (t > last)
			t = last;
		while (g->noland[t])
			t++;
		set_target(g, g->fwd_at[j], t);
	}
}

void progen_init(struct progen *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->min_insns = 10;
	g->max_insns = 60;
	g->state = seed;
	probe_rows();
}

int progen_generate(struct progen *g, const uint8_t *rand, size_t rand_len,
		    struct bpf_insn **out, size_t *cnt)
{
	g->bytes = rand;
	g->byte_len = rand ? rand_len : 0;
	g->byte_pos = 0;
	g->cnt = g->ncall = 0;
	g->loop_depth = 0;

	/* The context memory's length: rarely too short for most accesses,
	 * sometimes not a multiple of 8. */
	static const size_t lens[] = { 64, 32, 128, 256, 40, 100, 16 }, tiny[] = { 0, 4, 8 };
	g->mem_len = chance(g, 1, 16) ? tiny[rnd(g, 3)] : lens[rnd(g, sizeof(lens) / sizeof(lens[0]))];

	/* Body slots, shared by the main program and the subprograms. */
	unsigned lo = g->min_insns ? g->min_insns : 1;
	unsigned hi = g->max_insns > MAX_BODY ? MAX_BODY : g->max_insns;
	size_t total = lo + rnd(g, hi > lo ? hi - lo + 1 : 1);
	size_t extra = rnd(g, PROGEN_MAX_SUBPROGS);
	size_t sub_body = total / (extra + 2);
	if (sub_body < MIN_SUB_BODY)
		sub_body = MIN_SUB_BODY;
	while (extra && total < (extra + 1) * sub_body)
		extra--;
	g->sub_cnt = 1 + extra;
	subprog(g, 0, total - extra * sub_body);
	for (size_t s = 1; s < g->sub_cnt; s++)
		subprog(g, s, sub_body);
	for (size_t j = 0; j < g->ncall; j++)
		g->insns[g->call_at[j]].imm =
			(int32_t)((int64_t)g->sub_at[g->call_to[j]] - (int64_t)g->call_at[j] - 1);
	/* The memory's contents last, so that fuzz input bytes shape the program
	 * first. */
	for (size_t i = 0; i < g->mem_len; i++)
		g->mem[i] = chance(g, 1, 4) ? (uint8_t)rnd(g, 256) : (uint8_t)(i * 7 + 1);
	*out = g->insns;
	*cnt = g->cnt;
	return 0;
}

/* ---- Running and comparing -------------------------------------------------------------- */

const char *progen_engine_name(enum bpfvm_engine e)
{
	switch (e) {
	case BPFVM_ENGINE_DEFAULT: return "default";
	case BPFVM_ENGINE_INTERP: return "interp";
	case BPFVM_ENGINE_INTERP_SWITCH: return "switch";
	case BPFVM_ENGINE_JIT: return "jit";
	}
	return "?";
}

size_t progen_engines(enum bpfvm_engine out[3])
{
	static const enum bpfvm_engine others[] = { BPFVM_ENGINE_INTERP_SWITCH,
						    BPFVM_ENGINE_JIT };
	size_t n = 0;
	out[n++] = BPFVM_ENGINE_INTERP;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (bpfvm_engine_available(others[i]))
			out[n++] = others[i];
	return n;
}

struct bpfvm_prog *progen_load(const struct progen *g, bool *jit_failed)
{
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .name = "progen",
				     .helpers = progen_helpers, .helper_cnt = progen_helper_cnt };
	struct bpfvm_prog *prog = bpfvm_prog__new(g->insns, g->cnt, &o);
	if (jit_failed)
		*jit_failed = false;
	if (!prog && jit_failed) {
		o.no_jit = true;
		struct bpfvm_prog *p2 = bpfvm_prog__new(g->insns, g->cnt, &o);
		*jit_failed = p2 != NULL;
		bpfvm_prog__free(p2);
	}
	return prog;
}

static bool same_outcome(const struct progen_outcome *a, const struct progen_outcome *b,
			 size_t mem_len)
{
	return a->err == b->err && a->retval == b->retval && a->fault.kind == b->fault.kind &&
	       a->fault.insn == b->fault.insn && a->fault.addr == b->fault.addr &&
	       a->fault.size == b->fault.size && memcmp(a->mem, b->mem, mem_len) == 0;
}

size_t progen_compare(struct bpfvm_prog *prog, const struct progen *g,
		      const enum bpfvm_engine *engines, size_t n, struct progen_outcome *out)
{
	/* One buffer and one call site for every engine: the same r1 and r10. */
	_Alignas(64) uint8_t work[PROGEN_MEM_MAX];
	size_t bad = 0;
	for (size_t e = 0; e < n; e++) {
		memcpy(work, g->mem, g->mem_len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = work, .mem_len = g->mem_len,
					    .engine = engines[e], .budget = PROGEN_BUDGET };
		struct progen_outcome *r = &out[e];
		r->engine = engines[e];
		r->err = bpfvm_prog__run_opts(prog, &o);
		r->retval = o.retval;
		r->fault = o.fault;
		memcpy(r->mem, work, g->mem_len);
		if (!bad && e > 0 && !same_outcome(&out[0], r, g->mem_len))
			bad = e;
	}
	return bad;
}

void progen_outcome_print(FILE *f, const char *label, const struct progen_outcome *o,
			  size_t mem_len)
{
	char why[256];
	bpfvm_fault__str(&o->fault, why, sizeof(why));
	fprintf(f, "%s: %s: err %d, r0 0x%llx, fault {kind %d, insn %u, addr 0x%llx, size %u} "
		"(%s)\n  mem:", label, progen_engine_name(o->engine), o->err,
		(unsigned long long)o->retval, (int)o->fault.kind, o->fault.insn,
		(unsigned long long)o->fault.addr, o->fault.size, why);
	for (size_t i = 0; i < mem_len; i++)
		fprintf(f, "%s%02x", i % 32 ? "" : "\n    ", o->mem[i]);
	fputc('\n', f);
}

void progen_print(FILE *f, const struct progen *g)
{
	char *text = bpfvm_disasm(g->insns, g->cnt, NULL);
	fprintf(f, "program (%zu slots):\n%s\nmemory (%zu bytes):", g->cnt,
		text ? text : "(disassembly failed)", g->mem_len);
	free(text);
	for (size_t i = 0; i < g->mem_len; i++)
		fprintf(f, "%s%02x", i % 32 ? "" : "\n    ", g->mem[i]);
	fputc('\n', f);
}
