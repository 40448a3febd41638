/*
 * loop_gen.c — the program generator of test_loops (interface: loop_gen.h): a
 * builder (instructions, labels, jumps fixed up at the end, registers), the PRNG,
 * what the families share (loops: new_loop/loop_begin/loop_end, bounds, steps,
 * initial values; accesses drawn ahead so a bound can be put where they end),
 * the families and generate().
 *
 * The families (program i is of family i % N_FAMILIES):
 *   1 counted index loops: i0 (0, small, past the bound, negative, huge),
 *     constant or register step (0 and huge included), bottom continue test or
 *     top exit test (with or without a guard), < <= != s< s<= (also swapped,
 *     also jmp32, also 32-bit increments), bound = len / constant / len - k
 *     (may wrap below 0) / reloaded each iteration from a stack slot or from the
 *     memory, compared value i or i + k, address r1 + i or i + r1, loads,
 *     stores and atomics of 1/2/4/8 bytes at -16..+16, the increment before or
 *     after them; counting down; and "clean" loops whose bound len - k puts the
 *     last iteration's accesses exactly at the end of the memory, or one byte
 *     short of it or past it;
 *   2 copies of the induction variable (advancing together, copied after or
 *     before the increment, equal or different initial values, a second step);
 *   3 pointer loops: p = r1 + start up to end = r1 + len [- k] or r1 + c, with
 *     <, <=, !=, p + k <= end ..., clean ones as in 1, and downward ones;
 *   4 two-array loops: a = r1, b = r1 + len/2, compare / copy / find / sum with
 *     early exits that depend on the loaded data;
 *   5 shapes: diamonds and skip-one conditionals in the body (an induction
 *     variable bumped on one path, a base that moves), rotated loops entered
 *     at their test or in the middle of the body, a nested sieve, loops over
 *     the stack through a copy of r10 (which may overwrite the slot their bound
 *     is reloaded from), pointers spilled to the stack and reloaded, a loop
 *     unrolled by 2 or 4 followed by its remainder loop;
 *   6 calls in the loop: a deterministic helper (one that stops the run for
 *     some arguments), local calls that access memory or change the caller's
 *     spilled bound, and loops inside a subprogram whose r1 is not the context;
 *   7 decision trees: per iteration a key (a byte or word loaded at base + i,
 *     masked, sign-extended or shifted; or i itself) switched on as clang
 *     compiles a switch without a jump table: compare chains and a binary
 *     search (== != s> > >= < s<= ..., jmp32 too, range checks k - lo > span,
 *     bit tests, a table entry at a data-dependent address, i or the length),
 *     depth 2..5, cases shared by several compares or empty (straight to the
 *     latch); cases do ALU ops on r0 (mod by the key too), load and store at
 *     base + i + off, load from tables at base + (key << s) or base + i + key
 *     (not covered by the entry check: they may fault anywhere, also two
 *     accesses through one such pointer, checked as a group), store at
 *     base + i + key, fall into a later case, go to a join block, break out
 *     of the loop (at their end or in their middle, after a table load), or
 *     in top-tested loops increment and jump back themselves; entered at the
 *     top, at the test, in the middle (top: i += s; mid: tree) or at a case;
 *     with bounds as in 1, or where the accesses at base + i end exactly.
 *     These are the loops whose fast copy the JIT charges by the
 *     decision-tree plan (instructions owed along a path, settled at joins;
 *     loops.c, plan_charges), so a fault, an exit or a fall-back to the
 *     checked code while instructions are owed must still count exactly;
 *   8 data-dependent offsets (the analysis' bounded terms, as an XDP parser's
 *     IPv4 header length): per iteration one or two bytes, halves or words
 *     loaded at base + i + k (zero-extended, now and then sign-extended) become
 *     an offset through 1-4 ops (and, or, add, lsh, rsh, arsh, xor, mov32;
 *     64- and 32-bit; negative and huge masks and addends, shifts by up to
 *     63), are narrowed by 0-3 compares with constants (< <= > >= == != s<
 *     s<= s> s>= jset, jmp32 and jmp64, against an immediate or a register
 *     set just before, the in-range side taken or falling through) that skip
 *     the accesses, leave the loop or go to another access, mostly keeping a
 *     window of the values the ops give (sometimes one off, the wrong way
 *     round, or anywhere), maybe scaled after the compares (ihl << 2, shifts
 *     by 61-63 too), and added to base + i, to D + i (D = base + delta), or to
 *     r10 - frame (a table on the stack) for one or two loads, stores or
 *     atomics of 1-8 bytes at -64..64 (+ a constant; the pointer maybe spilled
 *     and reloaded). The compares may test a copy taken before them while the
 *     accesses use the original (changed after the copy or not), or another
 *     field masked alike; on one path of a join the offset may change after
 *     the compares. The generator evaluates the body on the values every
 *     uniform fill of the memory (and random ones) loads, to place the bound
 *     where the largest offset's accesses end (or the smallest's start, give
 *     or take a byte), and remembers the fill bytes that give the extreme
 *     offsets; then data_fit() runs the JIT's analysis itself and sets the
 *     bound's k, i's start and D's delta (immediates outside the loop) so that
 *     the ranges it claims end exactly at the memory's end and start at its
 *     start (or a byte off): an access covered with too narrow a range then
 *     runs past the memory unchecked in the fast copy, which the runs make it
 *     do by filling the memory (everywhere, its end or its start) with the
 *     bytes that give the extreme offsets;
 *   9 selects (the JIT's threading of repeated tests: in a fast copy X jumps
 *     past T when T repeats X's test and F, between them, falls into T;
 *     loops.c, thread_tests): upward counted loops (bounds and starts as in 1,
 *     constant steps; clean ones too, where the load of the tested value ends
 *     exactly at the end of the memory; entered at the top, at the test or in
 *     the middle) whose bodies hold 1-6 chains of two (or three, four)
 *     identical tests, as clang lowers two selects on one condition:  if rA op
 *     rB/imm goto T; F; T: if rA op rB/imm goto T2; G; T2: ...  with rA, rB a
 *     value loaded at base + i + off (1/2/4/8 bytes, sign-extended or not,
 *     loaded again between chains), one derived from i (masked, shifted, + k,
 *     or a byte loaded), i itself or the length; every jump op (jeq ... jsle,
 *     jset), K and X forms, jmp and jmp32; F and G of 1-3 ALU ops on other
 *     registers, loads, stores and atomics at base + i + off, loads at base +
 *     i + (loaded value & 15) (not covered by the entry check: they may fault
 *     in the fast copy); G also changes the tested registers, or ends in a
 *     jump (T2 then has T alone as predecessor). The near misses the JIT must
 *     not thread: F writing rA or rB (64-bit, only the 32-bit half, a load or
 *     an atomic's fetch into it), T differing from X (imm, src, K/X form,
 *     opcode, jmp32, dst), F, T or G with another predecessor (a jump from
 *     before X), T two instructions, T2 the loop's exit (break) or where
 *     continue goes (the header when the loop increments first and is
 *     top-tested or entered at its test; else the latch, which may be
 *     threaded), F ending in a jump (ja +0, both ways into T, out, continue),
 *     T2 == G, a chain out of line after the exit whose T goes back into the
 *     loop and whose G leaves it, G the header of a loop entered in the middle
 *     or at its test, X and T the loop's own condition (T its latch: T2 the
 *     header, G the exit), and a switch in the body that makes the
 *     decision-tree plan the cheaper one (which charges at T).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_gen.h"

const char *const family_names[N_FAMILIES] = {
	"1 counted", "2 iv-copies", "3 pointer", "4 two-array", "5 shapes", "6 calls", "7 trees",
	"8 data", "9 selects",
};

/* ---- Program builder and randomness ------------------------------------------- */

#define R(n)	((uint16_t)(1u << (n)))
#define ANY	((uint16_t)0x3fe)	/* r1..r9 */

uint64_t next64(struct gen *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
uint64_t rnd(struct gen *g, uint64_t n) { return n ? next64(g) % n : 0; }
bool pct(struct gen *g, unsigned p) { return rnd(g, 100) < p; }
int32_t rrange(struct gen *g, int32_t lo, int32_t hi)
{
	return lo + (int32_t)rnd(g, (uint64_t)((int64_t)hi - lo + 1));
}
static int weighted(struct gen *g, const uint8_t *w, int n)
{
	unsigned total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	unsigned r = (unsigned)rnd(g, total);
	for (int i = 0; i < n; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

static void die(const char *what)
{
	fprintf(stderr, "test_loops: generator: %s\n", what);
	exit(2);
}

static void emit(struct gen *g, struct bpf_insn in)
{
	if (g->cnt >= MAX_INSNS)
		die("program too long");
	g->in[g->cnt++] = in;
}
static int label(struct gen *g)
{
	if (g->nlab >= MAX_LABELS)
		die("too many labels");
	g->lab[g->nlab] = -1;
	return g->nlab++;
}
static void bind(struct gen *g, int l) { g->lab[l] = g->cnt; }
/* A jump or local call whose target is label l (fixed by resolve()). */
static void emit_to(struct gen *g, struct bpf_insn in, int l)
{
	if (g->nfix >= MAX_FIXUPS)
		die("too many jumps");
	g->fix_at[g->nfix] = g->cnt;
	g->fix_lab[g->nfix++] = l;
	emit(g, in);
}
static void resolve(struct gen *g)
{
	for (int f = 0; f < g->nfix; f++) {
		int at = g->fix_at[f], t = g->lab[g->fix_lab[f]];
		if (t < 0)
			die("jump to an unbound label");
		struct bpf_insn *in = &g->in[at];
		if (in->code == (BPF_JMP | BPF_CALL))
			in->imm = t - at - 1;
		else
			in->off = (int16_t)(t - at - 1);
	}
}

static int reg_pick(struct gen *g, uint16_t allowed)
{
	uint16_t free_ = allowed & (uint16_t)~g->used;
	int n = __builtin_popcount(free_);
	if (!n)
		die("out of registers");
	int k = (int)rnd(g, (uint64_t)n);
	for (int r = 0; r < 11; r++)
		if ((free_ & R(r)) && k-- == 0) {
			g->used |= R(r);
			return r;
		}
	return -1;
}

static void mov_imm64(struct gen *g, int r, int64_t v)
{
	if (v >= INT32_MIN && v <= INT32_MAX) {
		emit(g, BPF_MOV64_IMM(r, (int32_t)v));
	} else {
		struct bpf_insn two[2] = { BPF_LD_IMM64(r, v) };
		emit(g, two[0]);
		emit(g, two[1]);
	}
}

static const int sizes[4] = { BPF_B, BPF_H, BPF_W, BPF_DW };

/* Offsets of accesses: mostly 0, often small and positive, sometimes -16..16. */
static int16_t acc_off(struct gen *g)
{
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 45)
		return 0;
	if (r < 75)
		return (int16_t)rnd(g, 17);
	return (int16_t)rrange(g, -16, 16);
}

/* An access, drawn before it is emitted (so that a loop's bound can be put
 * exactly where its accesses end): a load folded into the accumulator (zero- or
 * sign-extending), a store of a register or of an immediate, an atomic add. */
enum { AK_LOAD, AK_LOADSX, AK_STORE, AK_STORE_IMM, AK_ATOMIC };
struct acc {
	int kind, sz, op;
	int16_t off;
	int32_t imm;
};

static int size_bytes(int sz)
{
	return sz == BPF_B ? 1 : sz == BPF_H ? 2 : sz == BPF_W ? 4 : 8;
}

/* Draws an access; clean: offset in [0, 16]. Returns the end of its bytes
 * relative to the address register (off + size). */
static int draw_acc(struct gen *g, struct acc *a, bool clean)
{
	a->sz = sizes[rnd(g, 4)];
	a->off = clean ? (int16_t)(pct(g, 60) ? 0 : rnd(g, 17)) : acc_off(g);
	a->imm = (int32_t)next64(g);
	unsigned r = (unsigned)rnd(g, 100);
	a->kind = r < 40 ? AK_LOAD : r < 48 && a->sz != BPF_DW ? AK_LOADSX : r < 75 ? AK_STORE :
		  r < 90 ? AK_STORE_IMM : AK_ATOMIC;
	a->op = a->kind == AK_LOAD ? (pct(g, 50) ? BPF_ADD : BPF_XOR) :
		BPF_ADD | (pct(g, 30) ? BPF_FETCH : 0);
	if (a->kind == AK_ATOMIC)
		a->sz = pct(g, 50) ? BPF_W : BPF_DW;
	return a->off + size_bytes(a->sz);
}

/* The access through A; loads go through T into acc, stores store V (atomics
 * add T). */
static void emit_acc(struct gen *g, const struct acc *a, int A, int T, int V, int acc)
{
	switch (a->kind) {
	case AK_LOAD:
		emit(g, BPF_LDX_MEM(a->sz, T, A, a->off));
		emit(g, BPF_ALU64_REG(a->op, acc, T));
		break;
	case AK_LOADSX:
		emit(g, BPF_LDX_MEMSX(a->sz, T, A, a->off));
		emit(g, BPF_ALU64_REG(BPF_ADD, acc, T));
		break;
	case AK_STORE:
		emit(g, BPF_STX_MEM(a->sz, A, V, a->off));
		break;
	case AK_STORE_IMM:
		emit(g, BPF_ST_MEM(a->sz, A, a->off, a->imm));
		break;
	default:
		emit(g, BPF_ATOMIC_OP(a->sz, a->op, A, T, a->off));
		break;
	}
}

static void access(struct gen *g, int A, int T, int V, int acc)
{
	struct acc a;
	draw_acc(g, &a, false);
	emit_acc(g, &a, A, T, V, acc);
}

static int n_accesses(struct gen *g)
{
	static const uint8_t w[4] = { 40, 30, 20, 10 };
	return 1 + weighted(g, w, 4);
}

/* The accesses of one loop body, drawn ahead; ext = where the furthest ends. */
struct body {
	int n, ext;
	struct acc a[4];
};
static void draw_body(struct gen *g, struct body *bd, bool clean)
{
	bd->n = n_accesses(g);
	bd->ext = 0;
	for (int i = 0; i < bd->n; i++) {
		int e = draw_acc(g, &bd->a[i], clean);
		bd->ext = e > bd->ext ? e : bd->ext;
	}
}
static void emit_body(struct gen *g, const struct body *bd, int A, int T, int V, int acc)
{
	for (int i = 0; i < bd->n; i++)
		emit_acc(g, &bd->a[i], A, T, V, acc);
}

/* A = B + I, as clang writes it: r3 = r1; r3 += i (or r3 = i; r3 += r1). */
static void form_addr(struct gen *g, int A, int B, int I)
{
	if (pct(g, 30)) {
		emit(g, BPF_MOV64_REG(A, I));
		emit(g, BPF_ALU64_REG(BPF_ADD, A, B));
	} else {
		emit(g, BPF_MOV64_REG(A, B));
		emit(g, BPF_ALU64_REG(BPF_ADD, A, I));
	}
}

/* The program's start: r0 = 0, the memory's base in B and its length in L
 * (r1 and r2, or copies in other registers). */
static void base_len(struct gen *g, int *B, int *L)
{
	g->used = R(0) | R(10) | R(1) | R(2);
	if (g->ro_len)
		emit(g, BPF_MOV64_IMM(2, (int32_t)g->ro_len));
	emit(g, BPF_MOV64_IMM(0, 0));
	*B = 1;
	*L = 2;
	if (pct(g, 40)) {
		*B = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(*B, 1));
		g->used &= (uint16_t)~R(1);
	}
	if (pct(g, 40)) {
		*L = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(*L, 2));
		g->used &= (uint16_t)~R(2);
	}
}

static int temp(struct gen *g)
{
	int T = reg_pick(g, ANY);
	emit(g, BPF_MOV64_IMM(T, (int32_t)rnd(g, 1000)));
	return T;
}

/* ---- Loops ------------------------------------------------------------------------ */

/* The jumps of one comparison: continue (bottom test), continue with the operands
 * swapped (bound op i), exit (top test, guard), exit swapped. */
struct optab {
	uint8_t cont, cont_sw, exit, exit_sw;
};
static const struct optab up_ops[5] = {
	{ BPF_JLT, BPF_JGT, BPF_JGE, BPF_JLE },
	{ BPF_JLE, BPF_JGE, BPF_JGT, BPF_JLT },
	{ BPF_JNE, BPF_JNE, BPF_JEQ, BPF_JEQ },
	{ BPF_JSLT, BPF_JSGT, BPF_JSGE, BPF_JSLE },
	{ BPF_JSLE, BPF_JSGE, BPF_JSGT, BPF_JSLT },
};
static const struct optab down_ops[5] = {
	{ BPF_JGE, BPF_JLE, BPF_JLT, BPF_JGT },
	{ BPF_JGT, BPF_JLT, BPF_JLE, BPF_JGE },
	{ BPF_JNE, BPF_JNE, BPF_JEQ, BPF_JEQ },
	{ BPF_JSGE, BPF_JSLE, BPF_JSLT, BPF_JSGT },
	{ BPF_JSGT, BPF_JSLT, BPF_JSLE, BPF_JSGE },
};

enum { RL_NONE, RL_STACK, RL_MEM };
enum { ENTRY_TOP, ENTRY_TEST, ENTRY_MID };

struct loop {
	int I;			/* induction variable */
	int C;			/* >= 0: compare C = I + k instead of I */
	int32_t k;
	int N;			/* bound register, or -1: the immediate c */
	int32_t c;
	int S;			/* step register, or -1: the immediate s */
	int32_t s;
	const struct optab *op;
	bool down, swap, j32, alu32, bottom, guard;
	int reload, rsz, rbase;	/* N reloaded before each test: RL_*, size, base reg */
	int16_t roff;
	int entry;
	int top, out, test, mid;
};

static struct loop new_loop(struct gen *g, int I, bool down)
{
	static const uint8_t w[5] = { 40, 15, 20, 15, 10 };
	struct loop lp = { .I = I, .C = -1, .N = -1, .S = -1, .s = 1, .rbase = -1 };
	lp.down = down;
	lp.op = &(down ? down_ops : up_ops)[weighted(g, w, 5)];
	lp.swap = pct(g, 25);
	lp.j32 = pct(g, 8);
	lp.alu32 = pct(g, 6);
	lp.bottom = pct(g, 65);
	lp.guard = pct(g, 50);
	lp.top = label(g);
	lp.out = label(g);
	lp.test = label(g);
	lp.mid = label(g);
	return lp;
}

/* The compare-and-branch (reloading the bound, computing i + k first). */
static void loop_cmp(struct gen *g, const struct loop *lp, bool exit_sense, int target)
{
	if (lp->reload == RL_STACK)
		emit(g, BPF_LDX_MEM(lp->rsz, lp->N, 10, lp->roff));
	else if (lp->reload == RL_MEM)
		emit(g, BPF_LDX_MEM(lp->rsz, lp->N, lp->rbase, lp->roff));
	int X = lp->I;
	if (lp->C >= 0) {
		emit(g, BPF_MOV64_REG(lp->C, lp->I));
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp->C, lp->k));
		X = lp->C;
	}
	int op = exit_sense ? (lp->swap ? lp->op->exit_sw : lp->op->exit)
			    : (lp->swap ? lp->op->cont_sw : lp->op->cont);
	struct bpf_insn j;
	if (lp->N >= 0 && lp->swap)
		j = lp->j32 ? BPF_JMP32_REG(op, lp->N, X, 0) : BPF_JMP_REG(op, lp->N, X, 0);
	else if (lp->N >= 0)
		j = lp->j32 ? BPF_JMP32_REG(op, X, lp->N, 0) : BPF_JMP_REG(op, X, lp->N, 0);
	else
		j = lp->j32 ? BPF_JMP32_IMM(op, X, lp->c, 0) : BPF_JMP_IMM(op, X, lp->c, 0);
	emit_to(g, j, target);
}

static void loop_begin(struct gen *g, struct loop *lp)
{
	if (lp->entry != ENTRY_TOP)
		lp->bottom = true;
	if (lp->bottom && lp->guard && lp->entry == ENTRY_TOP)
		loop_cmp(g, lp, true, lp->out);
	if (lp->entry == ENTRY_TEST)
		emit_to(g, BPF_JMP_A(0), lp->test);
	else if (lp->entry == ENTRY_MID)
		emit_to(g, BPF_JMP_A(0), lp->mid);
	bind(g, lp->top);
	if (!lp->bottom)
		loop_cmp(g, lp, true, lp->out);
}

static void loop_inc(struct gen *g, const struct loop *lp)
{
	int op = lp->down ? BPF_SUB : BPF_ADD;
	if (lp->S >= 0)
		emit(g, lp->alu32 ? BPF_ALU32_REG(op, lp->I, lp->S) : BPF_ALU64_REG(op, lp->I, lp->S));
	else
		emit(g, lp->alu32 ? BPF_ALU32_IMM(op, lp->I, lp->s) : BPF_ALU64_IMM(op, lp->I, lp->s));
}

static void loop_end(struct gen *g, const struct loop *lp)
{
	if (lp->bottom) {
		bind(g, lp->test);
		loop_cmp(g, lp, false, lp->top);
	} else {
		emit_to(g, BPF_JMP_A(0), lp->top);
	}
	bind(g, lp->out);
}

/* A constant bound: mostly a memory length (the runs then use lengths near it). */
static int32_t const_bound(struct gen *g)
{
	unsigned r = (unsigned)rnd(g, 100);
	int32_t c = r < 50 ? (int32_t)rnd(g, MEM_MAX + 1) : r < 75 ? (int32_t)rnd(g, 17) :
		    r < 90 ? rrange(g, MEM_MAX, 400) : r < 95 ? -1 : INT32_MAX;
	if (c >= 0 && c <= MEM_MAX)
		g->hint = c;
	return c;
}

/* A value derived from the length: L, L - k (wrapping below 0 when len < k) or
 * a constant, into register N. */
static void len_value(struct gen *g, int N, int L)
{
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 40) {
		emit(g, BPF_MOV64_REG(N, L));
	} else if (r < 75) {
		emit(g, BPF_MOV64_REG(N, L));
		emit(g, BPF_ALU64_IMM(BPF_ADD, N, -(pct(g, 85) ? rrange(g, 0, 24) : rrange(g, 25, 300))));
	} else {
		emit(g, BPF_MOV64_IMM(N, const_bound(g)));
	}
}

/* The bound of an upward loop over the memory at B of length L. */
static void pick_bound(struct gen *g, struct loop *lp, int B, int L, bool allow_reload)
{
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 30) {
		lp->N = L;
	} else if (r < 50) {
		lp->c = const_bound(g);
		if (lp->swap) {
			lp->N = reg_pick(g, ANY);
			emit(g, BPF_MOV64_IMM(lp->N, lp->c));
		}
	} else if (r < 72 || !allow_reload) {
		lp->N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(lp->N, L));
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp->N, -(pct(g, 85) ? rrange(g, 0, 24) : rrange(g, 25, 300))));
	} else if (r < 90) {
		/* spilled before the loop, reloaded each iteration */
		lp->N = reg_pick(g, ANY);
		len_value(g, lp->N, L);
		lp->reload = RL_STACK;
		lp->rsz = pct(g, 80) ? BPF_DW : BPF_W;
		lp->roff = (int16_t)(-8 * (int)(1 + rnd(g, 4)));
		emit(g, BPF_STX_MEM(lp->rsz, 10, lp->N, lp->roff));
	} else {
		/* loaded from the memory each iteration (which the loop may store to) */
		lp->N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_IMM(lp->N, 0));
		lp->reload = RL_MEM;
		lp->rsz = pct(g, 70) ? BPF_B : BPF_H;
		lp->rbase = B;
		lp->roff = (int16_t)rnd(g, 7);
	}
}

static int64_t pick_i0(struct gen *g)
{
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 65)
		return 0;
	if (r < 80)
		return (int64_t)rnd(g, 9);
	if (r < 90)
		return 301 + (int64_t)rnd(g, 200);	/* past any bound */
	if (r < 95)
		return -(int64_t)(1 + rnd(g, 16));
	return r < 98 ? INT32_MAX : (int64_t)0x100000000ll;
}

static void pick_step(struct gen *g, struct loop *lp, bool allow_reg)
{
	static const int32_t steps[] = { 1, 1, 1, 1, 2, 2, 3, 4, 4, 8, 64 };
	static const int64_t vals[] = { 0, 1, 1, 2, 3, 4, 8, 16, 0x100000000ll, INT64_MAX, -1,
					0xffffffffll, 0x80000000ll };
	if (allow_reg && pct(g, 20)) {
		lp->S = reg_pick(g, ANY);
		mov_imm64(g, lp->S, vals[rnd(g, sizeof(vals) / sizeof(vals[0]))]);
	} else {
		lp->s = steps[rnd(g, sizeof(steps) / sizeof(steps[0]))];
	}
}

/* ---- Family 1: counted index loops ------------------------------------------------ */

static void fam_counted(struct gen *g)
{
	int B, L;
	base_len(g, &B, &L);
	int I = reg_pick(g, ANY), A = reg_pick(g, ANY), T = temp(g);
	bool down = pct(g, 20), clean = !down && pct(g, 35);
	bool inc_first = pct(g, 35);
	struct loop lp = new_loop(g, I, down);
	struct body bd;
	draw_body(g, &bd, clean);
	if (clean) {
		/* i from 0 by a constant step while i < len - k (or <=), with k
		 * where the last iteration's accesses end exactly at the end of the
		 * memory, or a byte before or after it */
		static const int rows[4] = { 0, 1, 3, 4 };
		int row = rows[rnd(g, 4)];
		lp.op = &up_ops[row];
		pick_step(g, &lp, false);
		int32_t k = bd.ext - 1 + (row == 1 || row == 4) + (inc_first ? lp.s : 0);
		lp.N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(lp.N, L));
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp.N, -(k + rrange(g, -1, 1))));
		if (pct(g, 30)) {
			lp.reload = RL_STACK;
			lp.rsz = BPF_DW;
			lp.roff = -8;
			emit(g, BPF_STX_MEM(BPF_DW, 10, lp.N, -8));
		}
		emit(g, BPF_MOV64_IMM(I, 0));
	} else if (!down) {
		pick_bound(g, &lp, B, L, true);
		mov_imm64(g, I, pick_i0(g));
	} else {
		/* i = len (- k) or a constant, down to 0 or a small bound */
		len_value(g, I, L);
		lp.c = pct(g, 60) ? 0 : rrange(g, -2, 8);
		if (lp.swap) {
			lp.N = reg_pick(g, ANY);
			emit(g, BPF_MOV64_IMM(lp.N, lp.c));
		}
	}
	if (!clean)
		pick_step(g, &lp, true);
	if (!clean && pct(g, 20)) {
		lp.C = reg_pick(g, ANY);
		lp.k = rrange(g, -8, 16);
	}
	int V = pct(g, 50) ? I : T;
	loop_begin(g, &lp);
	if (inc_first)
		loop_inc(g, &lp);
	form_addr(g, A, B, I);
	emit_body(g, &bd, A, T, V, 0);
	if (!inc_first)
		loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 2: copies of the induction variable ---------------------------------- */

static void fam_copies(struct gen *g)
{
	int B, L;
	base_len(g, &B, &L);
	int I = reg_pick(g, ANY), J = reg_pick(g, ANY), A = reg_pick(g, ANY), T = temp(g);
	struct loop lp = new_loop(g, I, false);
	pick_bound(g, &lp, B, L, true);
	pick_step(g, &lp, true);
	mov_imm64(g, I, pct(g, 80) ? 0 : pick_i0(g));
	emit(g, BPF_MOV64_REG(J, I));
	if (pct(g, 50))
		emit(g, BPF_ALU64_IMM(BPF_ADD, J, pct(g, 85) ? rrange(g, -16, 16) : 300));
	int variant = (int)rnd(g, 4);
	int32_t k = pct(g, 60) ? 0 : rrange(g, -8, 8);
	int V = pct(g, 50) ? J : T;
	loop_begin(g, &lp);
	switch (variant) {
	case 0:	/* two registers advancing together; the address uses the second */
		form_addr(g, A, B, J);
		for (int n = n_accesses(g); n > 0; n--)
			access(g, A, T, V, 0);
		loop_inc(g, &lp);
		if (pct(g, 15))	/* ... or not quite together */
			emit(g, BPF_ALU64_IMM(BPF_ADD, J, 2 * (lp.S >= 0 ? 1 : lp.s)));
		else if (lp.S >= 0)
			emit(g, BPF_ALU64_REG(BPF_ADD, J, lp.S));
		else
			emit(g, BPF_ALU64_IMM(BPF_ADD, J, lp.s));
		break;
	case 1:	/* clang's copy after the increment: r4 += 2; r3 = r4 */
		loop_inc(g, &lp);
		emit(g, BPF_MOV64_REG(J, I));
		if (k)
			emit(g, BPF_ALU64_IMM(BPF_ADD, J, k));
		form_addr(g, A, B, J);
		for (int n = n_accesses(g); n > 0; n--)
			access(g, A, T, V, 0);
		break;
	case 2:	/* the copy taken before the increment, used after it */
		emit(g, BPF_MOV64_REG(J, I));
		if (k)
			emit(g, BPF_ALU64_IMM(BPF_ADD, J, k));
		loop_inc(g, &lp);
		form_addr(g, A, B, J);
		for (int n = n_accesses(g); n > 0; n--)
			access(g, A, T, V, 0);
		break;
	default: /* a copy of the address, moved by k */
		form_addr(g, A, B, I);
		emit(g, BPF_MOV64_REG(J, A));
		if (k)
			emit(g, BPF_ALU64_IMM(BPF_ADD, J, k));
		for (int n = n_accesses(g); n > 0; n--)
			access(g, pct(g, 50) ? A : J, T, T, 0);
		loop_inc(g, &lp);
		emit(g, BPF_MOV64_REG(J, I));	/* not a pointer at exit */
		break;
	}
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
	emit(g, BPF_ALU64_REG(BPF_XOR, 0, J));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 3: pointer loops ---------------------------------------------------------- */

static void fam_pointer(struct gen *g)
{
	int B, L;
	base_len(g, &B, &L);
	int P = reg_pick(g, ANY), E = reg_pick(g, ANY), T = temp(g);
	bool down = pct(g, 25), clean = !down && pct(g, 35), inc_first = pct(g, 25);
	struct loop lp = new_loop(g, P, down);
	lp.alu32 = false;
	struct body bd;
	draw_body(g, &bd, clean);
	static const int32_t steps[] = { 1, 1, 2, 3, 4, 4, 8, 16 };
	if (!clean && pct(g, 10)) {
		lp.S = reg_pick(g, ANY);
		emit(g, BPF_MOV64_IMM(lp.S, (int32_t)rnd(g, 9)));
	} else {
		lp.s = steps[rnd(g, sizeof(steps) / sizeof(steps[0]))];
	}
	/* end = r1 + len [- k], or r1 + c */
	unsigned r = (unsigned)rnd(g, 100);
	int32_t k = 0;
	if (clean) {
		/* p < end - k (or <=), or p + k < end: k where the last iteration's
		 * accesses end exactly at the end of the memory, or a byte before
		 * or after it */
		int row = (int)rnd(g, 2);
		lp.op = &up_ops[row];
		k = bd.ext - 1 + row + (inc_first ? lp.s : 0) + rrange(g, -1, 1);
		if (pct(g, 50)) {
			lp.C = reg_pick(g, ANY);
			lp.k = k;
			k = 0;
		}
		r = 0;
	}
	if (r < 80) {
		if (pct(g, 70)) {
			emit(g, BPF_MOV64_REG(E, B));
			emit(g, BPF_ALU64_REG(BPF_ADD, E, L));
		} else {
			emit(g, BPF_MOV64_REG(E, L));
			emit(g, BPF_ALU64_REG(BPF_ADD, E, B));
		}
		if (clean && k)
			emit(g, BPF_ALU64_IMM(BPF_ADD, E, -k));
		else if (r >= 55)
			emit(g, BPF_ALU64_IMM(BPF_ADD, E, -rrange(g, 1, 16)));
	} else {
		emit(g, BPF_MOV64_REG(E, B));
		emit(g, BPF_ALU64_IMM(BPF_ADD, E, const_bound(g)));
	}
	/* jmp32 on pointers, only where the outcome cannot depend on where the
	 * memory lies (not with end = r1 + 0x7fffffff) */
	lp.j32 = r < 80 && pct(g, 4);
	if (!down) {
		emit(g, BPF_MOV64_REG(P, B));
		unsigned q = (unsigned)rnd(g, 100);
		if (q >= 55 && !clean)
			emit(g, BPF_ALU64_IMM(BPF_ADD, P, q < 85 ? rrange(g, 1, 24) :
					     q < 95 ? rrange(g, 290, 320) : rrange(g, -8, -1)));
		lp.N = E;
		if (!clean && pct(g, 25)) {	/* if (p + k <= end) */
			lp.C = reg_pick(g, ANY);
			lp.k = rrange(g, 1, 8);
		}
	} else {
		/* p = end - s0; ...; p -= s; while p >= start */
		emit(g, BPF_MOV64_REG(P, E));
		emit(g, BPF_ALU64_IMM(BPF_ADD, P, -rrange(g, 0, 8)));
		lp.N = B;
	}
	loop_begin(g, &lp);
	if (inc_first)
		loop_inc(g, &lp);
	emit_body(g, &bd, P, T, pct(g, 50) ? T : L, 0);
	if (!inc_first)
		loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, P));
	emit(g, BPF_ALU64_REG(BPF_SUB, 0, B));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 4: two arrays -------------------------------------------------------------- */

static void fam_two(struct gen *g)
{
	int B, L;
	g->halves = true;
	base_len(g, &B, &L);
	int Y = reg_pick(g, ANY), H = reg_pick(g, ANY), I = reg_pick(g, ANY);
	int A1 = reg_pick(g, ANY), A2 = reg_pick(g, ANY), T1 = temp(g), T2 = temp(g);
	/* b = a + len / 2 */
	emit(g, BPF_MOV64_REG(H, L));
	emit(g, BPF_ALU64_IMM(BPF_RSH, H, 1));
	emit(g, BPF_MOV64_REG(Y, B));
	emit(g, BPF_ALU64_REG(BPF_ADD, Y, H));
	struct loop lp = new_loop(g, I, false);
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 45) {
		lp.N = H;
	} else if (r < 65) {
		lp.N = H;
		emit(g, BPF_ALU64_IMM(BPF_ADD, H, -rrange(g, 0, 8)));
	} else if (r < 85) {
		lp.c = const_bound(g) / 2;
		if (lp.swap) {
			lp.N = H;
			emit(g, BPF_MOV64_IMM(H, lp.c));
		}
	} else {
		lp.N = H;
		lp.reload = RL_STACK;
		lp.rsz = BPF_DW;
		lp.roff = -8;
		emit(g, BPF_STX_MEM(BPF_DW, 10, H, -8));
	}
	int sz = sizes[rnd(g, 4)], bytes = 1 << (sz == BPF_B ? 0 : sz == BPF_H ? 1 : sz == BPF_W ? 2 : 3);
	lp.s = pct(g, 70) ? bytes : pct(g, 50) ? 1 : bytes * 2;
	if (pct(g, 10))
		lp.s = 64;
	mov_imm64(g, I, pct(g, 85) ? 0 : pick_i0(g));
	int16_t off1 = pct(g, 70) ? 0 : acc_off(g), off2 = pct(g, 70) ? off1 : acc_off(g);
	int mode = (int)rnd(g, 4);
	int found = label(g);
	loop_begin(g, &lp);
	form_addr(g, A1, B, I);
	form_addr(g, A2, Y, I);
	emit(g, BPF_LDX_MEM(sz, T1, A1, off1));
	switch (mode) {
	case 0:	/* memcmp: break at the first difference */
		emit(g, BPF_LDX_MEM(sz, T2, A2, off2));
		emit_to(g, BPF_JMP_REG(BPF_JNE, T1, T2, 0), pct(g, 50) ? lp.out : found);
		break;
	case 1:	/* copy b to a, stop after a zero (strncpy) */
		emit(g, BPF_LDX_MEM(sz, T2, A2, off2));
		emit(g, BPF_STX_MEM(sz, A1, T2, off1));
		if (pct(g, 60))
			emit_to(g, BPF_JMP_IMM(BPF_JEQ, T2, 0, 0), lp.out);
		break;
	case 2:	/* find a key in a, marking b as it goes */
		emit_to(g, BPF_JMP_IMM(BPF_JEQ, T1, (int32_t)rnd(g, 4), 0), found);
		emit(g, BPF_ST_MEM(BPF_B, A2, off2, 0x5a));
		break;
	default: /* running sum into b, stop when it grows past a limit */
		emit(g, BPF_ALU64_REG(BPF_ADD, 0, T1));
		emit(g, BPF_STX_MEM(sz, A2, 0, off2));
		emit_to(g, BPF_JMP_IMM(BPF_JGT, 0, (int32_t)rnd(g, 20000), 0), lp.out);
		break;
	}
	loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
	emit(g, BPF_EXIT_INSN());
	bind(g, found);
	emit(g, BPF_MOV64_REG(0, I));
	emit(g, BPF_ALU64_IMM(BPF_OR, 0, 0x1000));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 5: shapes -------------------------------------------------------------------- */

/* A conditional jump to l on loaded data, the induction variable or r0. */
static void cond_jump(struct gen *g, const struct loop *lp, int A, int T, int l)
{
	switch (rnd(g, 4)) {
	case 0:
		emit(g, BPF_LDX_MEM(BPF_B, T, A, acc_off(g)));
		emit_to(g, BPF_JMP_IMM(BPF_JGT, T, 0x7f, 0), l);
		break;
	case 1:
		emit(g, BPF_LDX_MEM(sizes[rnd(g, 4)], T, A, acc_off(g)));
		emit_to(g, BPF_JMP_IMM(BPF_JSET, T, 1, 0), l);
		break;
	case 2:
		emit_to(g, BPF_JMP_IMM(BPF_JSET, lp->I, 1 << rnd(g, 3), 0), l);
		break;
	default:
		emit_to(g, BPF_JMP_IMM(BPF_JSLT, 0, 0, 0), l);
		break;
	}
}

static void shape_blocks(struct gen *g, struct loop *lp, int B, int A, int T, int V)
{
	form_addr(g, A, B, lp->I);
	for (int n = 1 + (int)rnd(g, 3); n > 0; n--) {
		unsigned r = (unsigned)rnd(g, 100);
		if (r < 22) {
			access(g, A, T, V, 0);
			continue;
		}
		if (r < 25) {	/* the base is not invariant after all */
			emit(g, BPF_ALU64_IMM(BPF_ADD, B, rrange(g, 1, 4)));
			continue;
		}
		int l1 = label(g), l2 = label(g);
		cond_jump(g, lp, A, T, l1);
		if (r < 60) {		/* diamond */
			access(g, A, T, V, 0);
			emit_to(g, BPF_JMP_A(0), l2);
			bind(g, l1);
			access(g, A, T, V, 0);
			bind(g, l2);
		} else if (r < 92) {	/* skip one */
			access(g, A, T, V, 0);
			bind(g, l1);
		} else {		/* the induction variable moves on one path only,
					 * by a constant or by loaded data */
			if (pct(g, 50)) {
				emit(g, BPF_ALU64_IMM(BPF_ADD, lp->I, rrange(g, 1, 3)));
			} else {
				emit(g, BPF_ALU64_IMM(BPF_AND, T, 7));
				emit(g, BPF_ALU64_REG(BPF_ADD, lp->I, T));
			}
			bind(g, l1);
		}
	}
}

static void fam_shapes(struct gen *g)
{
	int B, L;
	base_len(g, &B, &L);
	int I = reg_pick(g, ANY), A = reg_pick(g, ANY), T = temp(g);
	int variant = (int)rnd(g, 6);
	struct loop lp = new_loop(g, I, false);

	if (variant == 5) {	/* unrolled by U, then the remainder one by one */
		int esz = sizes[rnd(g, 4)], eb = size_bytes(esz), U = pct(g, 50) ? 2 : 4;
		pick_bound(g, &lp, B, L, true);
		lp.op = &up_ops[1];	/* while i + U * eb <= n */
		lp.C = reg_pick(g, ANY);
		lp.k = U * eb + (pct(g, 80) ? 0 : rrange(g, -1, 1));
		lp.s = U * eb;
		lp.alu32 = false;
		emit(g, BPF_MOV64_IMM(I, 0));
		int V = pct(g, 50) ? I : T;
		loop_begin(g, &lp);
		form_addr(g, A, B, I);
		bool load = pct(g, 50);
		for (int j = 0; j < U; j++) {
			if (load) {
				emit(g, BPF_LDX_MEM(esz, T, A, (int16_t)(j * eb)));
				emit(g, BPF_ALU64_REG(BPF_ADD, 0, T));
			} else {
				emit(g, BPF_STX_MEM(esz, A, V, (int16_t)(j * eb)));
			}
		}
		loop_inc(g, &lp);
		loop_end(g, &lp);
		/* the remainder: i < n, or i + eb <= n */
		struct loop rem = lp;
		rem.top = label(g);
		rem.out = label(g);
		rem.test = label(g);
		rem.bottom = pct(g, 50);
		rem.guard = true;
		rem.s = eb;
		if (pct(g, 50)) {
			rem.op = &up_ops[0];
			rem.C = -1;
		} else {
			rem.k = eb;
		}
		loop_begin(g, &rem);
		form_addr(g, A, B, I);
		if (load) {
			emit(g, BPF_LDX_MEM(esz, T, A, 0));
			emit(g, BPF_ALU64_REG(BPF_XOR, 0, T));
		} else {
			emit(g, BPF_STX_MEM(esz, A, V, 0));
		}
		loop_inc(g, &rem);
		loop_end(g, &rem);
		emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
		emit(g, BPF_EXIT_INSN());
		return;
	}

	if (variant == 2) {	/* sieve: for i, for j = i*i; j < len; j += i: mem[j] = 0 */
		int J = reg_pick(g, ANY);
		lp.op = &up_ops[pct(g, 70) ? 0 : (int)rnd(g, 5)];
		if (pct(g, 70))
			lp.N = L;
		else
			lp.c = const_bound(g);
		lp.swap = lp.swap && lp.N >= 0;
		unsigned q = (unsigned)rnd(g, 100);
		emit(g, BPF_MOV64_IMM(I, q < 80 ? 2 : q < 95 ? 1 : 0));
		emit(g, BPF_MOV64_IMM(J, 0));
		int next = label(g);
		loop_begin(g, &lp);
		if (pct(g, 50)) {	/* skip composites: if mem[i] == 0 continue */
			form_addr(g, A, B, I);
			emit(g, BPF_LDX_MEM(BPF_B, T, A, 0));
			emit_to(g, BPF_JMP_IMM(BPF_JEQ, T, 0, 0), next);
		}
		emit(g, BPF_MOV64_REG(J, I));
		q = (unsigned)rnd(g, 100);
		if (q < 60)
			emit(g, BPF_ALU64_REG(BPF_MUL, J, I));
		else if (q < 85)
			emit(g, BPF_ALU64_REG(BPF_ADD, J, I));
		struct loop in = new_loop(g, J, false);
		in.op = &up_ops[pct(g, 75) ? 0 : (int)rnd(g, 5)];
		in.S = I;
		in.alu32 = false;
		in.N = L;
		if (pct(g, 25)) {
			in.N = reg_pick(g, ANY);
			emit(g, BPF_MOV64_REG(in.N, L));
			emit(g, BPF_ALU64_IMM(BPF_ADD, in.N, -rrange(g, 0, 8)));
		}
		loop_begin(g, &in);
		form_addr(g, A, B, J);
		int sz = pct(g, 70) ? BPF_B : sizes[rnd(g, 4)];
		emit(g, BPF_ST_MEM(sz, A, pct(g, 80) ? 0 : acc_off(g), 0));
		loop_inc(g, &in);
		loop_end(g, &in);
		bind(g, next);
		loop_inc(g, &lp);
		loop_end(g, &lp);
		emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
		emit(g, BPF_ALU64_REG(BPF_ADD, 0, J));
		emit(g, BPF_EXIT_INSN());
		return;
	}

	pick_bound(g, &lp, B, L, variant != 3 || pct(g, 50));
	pick_step(g, &lp, variant != 3);
	mov_imm64(g, I, pct(g, 80) ? 0 : pick_i0(g));
	int V = pct(g, 50) ? I : T;
	switch (variant) {
	case 0:	/* diamonds and skip-one conditionals */
		loop_begin(g, &lp);
		shape_blocks(g, &lp, B, A, T, V);
		loop_inc(g, &lp);
		loop_end(g, &lp);
		break;
	case 1:	/* rotated: enter at the test, or in the middle of the body */
		lp.entry = pct(g, 50) ? ENTRY_TEST : ENTRY_MID;
		loop_begin(g, &lp);
		if (lp.entry == ENTRY_MID && pct(g, 50)) {
			/* goto mid; top: i += s; mid: body; if i < n goto top */
			loop_inc(g, &lp);
			bind(g, lp.mid);
			form_addr(g, A, B, I);
			for (int n = n_accesses(g); n > 0; n--)
				access(g, A, T, V, 0);
		} else {
			form_addr(g, A, B, I);
			access(g, A, T, V, 0);
			bind(g, lp.mid);
			form_addr(g, A, B, I);
			for (int n = n_accesses(g); n > 0; n--)
				access(g, A, T, V, 0);
			loop_inc(g, &lp);
		}
		loop_end(g, &lp);
		break;
	case 3: { /* an array on the stack through a copy of r10, and the memory */
		static const int16_t frames[] = { 16, 24, 64, 64, 128, 256, 512 };
		int16_t F = frames[rnd(g, sizeof(frames) / sizeof(frames[0]))];
		int P = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(P, 10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, P, -F));
		if (lp.N < 0 && lp.reload == RL_NONE && pct(g, 60)) {
			lp.c = (int32_t)rnd(g, (uint64_t)F + 17);
			if (lp.swap) {
				lp.N = reg_pick(g, ANY);
				emit(g, BPF_MOV64_IMM(lp.N, lp.c));
			}
		}
		loop_begin(g, &lp);
		form_addr(g, A, P, I);
		for (int n = 1 + (int)rnd(g, 2); n > 0; n--)
			access(g, A, T, V, 0);
		if (pct(g, 50)) {
			form_addr(g, A, B, I);
			access(g, A, T, V, 0);
		}
		if (pct(g, 40))
			emit(g, BPF_STX_MEM(BPF_DW, 10, I, (int16_t)(-8 * (int)(1 + rnd(g, 4)))));
		loop_inc(g, &lp);
		loop_end(g, &lp);
		for (int n = 0; n < 2; n++) {
			emit(g, BPF_LDX_MEM(BPF_DW, T, 10, (int16_t)(-8 * (int)(1 + rnd(g, 8)))));
			emit(g, BPF_ALU64_REG(BPF_ADD, 0, T));
		}
		break;
	}
	default: { /* pointers spilled to the stack and reloaded (below the slots a
		  * bound may be spilled to: a pointer must not become the bound) */
		int Q = reg_pick(g, ANY);
		int how = (int)rnd(g, 3);
		if (how != 1)
			emit(g, BPF_STX_MEM(BPF_DW, 10, B, -40));
		loop_begin(g, &lp);
		if (how == 0) {		/* the base, reloaded every iteration */
			emit(g, BPF_LDX_MEM(BPF_DW, Q, 10, -40));
			form_addr(g, A, Q, I);
			for (int n = n_accesses(g); n > 0; n--)
				access(g, A, T, V, 0);
		} else if (how == 1) {	/* the address, spilled and reloaded at once */
			form_addr(g, A, B, I);
			emit(g, BPF_STX_MEM(BPF_DW, 10, A, -48));
			emit(g, pct(g, 50) ? BPF_MOV64_IMM(A, 0) : BPF_MOV64_REG(A, T));
			emit(g, BPF_LDX_MEM(BPF_DW, Q, 10, -48));
			for (int n = n_accesses(g); n > 0; n--)
				access(g, Q, T, V, 0);
		} else {		/* a pointer induction variable kept on the stack */
			emit(g, BPF_LDX_MEM(BPF_DW, Q, 10, -40));
			for (int n = n_accesses(g); n > 0; n--)
				access(g, Q, T, V, 0);
			emit(g, BPF_ALU64_IMM(BPF_ADD, Q, lp.S >= 0 ? 1 : lp.s));
			emit(g, BPF_STX_MEM(BPF_DW, 10, Q, -40));
		}
		loop_inc(g, &lp);
		loop_end(g, &lp);
		break;
	}
	}
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 6: calls in the loop -------------------------------------------------------- */

/* Subprogram: r1 = base, r2 = index: one or two accesses at base + index. */
static void sub_access(struct gen *g)
{
	emit(g, BPF_ALU64_REG(BPF_ADD, 1, 2));
	emit(g, BPF_MOV64_IMM(0, 0));
	emit(g, BPF_MOV64_IMM(3, (int32_t)rnd(g, 1000)));
	for (int n = 1 + (int)rnd(g, 2); n > 0; n--)
		access(g, 1, 3, 2, 0);
	emit(g, BPF_EXIT_INSN());
}

/* Subprogram: r1 = a u64 in the caller's frame, r2 = delta: *r1 += delta. */
static void sub_bump(struct gen *g)
{
	emit(g, BPF_LDX_MEM(BPF_DW, 0, 1, 0));
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, 2));
	emit(g, BPF_STX_MEM(BPF_DW, 1, 0, 0));
	emit(g, BPF_EXIT_INSN());
}

/* Subprogram: r1 = a pointer (not the context's base), r2 = a count: a counted
 * loop over r1[0..r2). */
static void sub_loop(struct gen *g)
{
	g->used = R(0) | R(10) | R(1) | R(2);
	emit(g, BPF_MOV64_IMM(0, 0));
	int I = reg_pick(g, ANY), A = reg_pick(g, ANY), T = temp(g);
	struct loop lp = new_loop(g, I, false);
	lp.N = 2;
	lp.swap = lp.swap && pct(g, 50);
	lp.s = pct(g, 70) ? 1 : (int32_t)(1 + rnd(g, 8));
	emit(g, BPF_MOV64_IMM(I, pct(g, 85) ? 0 : (int32_t)rnd(g, 8)));
	loop_begin(g, &lp);
	form_addr(g, A, 1, I);
	for (int n = n_accesses(g); n > 0; n--)
		access(g, A, T, pct(g, 50) ? I : T, 0);
	loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_EXIT_INSN());
}

static void fam_calls(struct gen *g)
{
	/* r6 = base, r7 = length, r8 = i, r9 = accumulator: they survive calls */
	g->used = (uint16_t)~0;
	if (g->ro_len)
		emit(g, BPF_MOV64_IMM(2, (int32_t)g->ro_len));
	emit(g, BPF_MOV64_REG(6, 1));
	emit(g, BPF_MOV64_REG(7, 2));
	emit(g, BPF_MOV64_IMM(9, 0));
	int variant = (int)rnd(g, 6);
	int sub = label(g);	/* bound only when called */
	if (variant == 5) {	/* no loop here: the loop is in the subprogram */
		emit(g, BPF_MOV64_REG(1, 6));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 1, (int32_t)rnd(g, 24)));
		emit(g, BPF_MOV64_REG(2, 7));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, -rrange(g, 0, 32)));
		emit_to(g, BPF_CALL_REL(0), sub);
		emit(g, BPF_EXIT_INSN());
		bind(g, sub);
		sub_loop(g);
		return;
	}
	struct loop lp = new_loop(g, 8, false);
	lp.alu32 = false;
	unsigned r = (unsigned)rnd(g, 100);
	if (variant == 3 || r < 25) {	/* bound in a stack slot (a callee may change it) */
		lp.N = 5;
		lp.reload = RL_STACK;
		lp.rsz = BPF_DW;
		lp.roff = -8;
		emit(g, BPF_MOV64_REG(5, 7));
		if (pct(g, 40))
			emit(g, BPF_ALU64_IMM(BPF_ADD, 5, -rrange(g, 0, 16)));
		emit(g, BPF_STX_MEM(BPF_DW, 10, 5, -8));
	} else if (r < 65) {
		lp.N = 7;
	} else {
		lp.c = const_bound(g);
		lp.swap = false;
	}
	lp.s = (int32_t)(pct(g, 70) ? 1 : 1 + rnd(g, 8));
	emit(g, BPF_MOV64_IMM(8, pct(g, 85) ? 0 : (int32_t)rnd(g, 8)));
	loop_begin(g, &lp);
	if (pct(g, 60) || variant == 0) {	/* a plain access too */
		emit(g, BPF_MOV64_REG(1, 6));
		emit(g, BPF_ALU64_REG(BPF_ADD, 1, 8));
		emit(g, BPF_MOV64_IMM(2, 0));
		access(g, 1, 2, 8, 9);
	}
	switch (variant) {
	case 0:	/* a pure helper; its result stored */
		emit(g, BPF_MOV64_REG(1, 8));
		emit(g, BPF_MOV64_REG(2, 9));
		emit(g, BPF_MOV64_IMM(3, (int32_t)rnd(g, 100)));
		emit(g, BPF_CALL_HELPER(H_MIX));
		emit(g, BPF_ALU64_REG(BPF_ADD, 9, 0));
		emit(g, BPF_MOV64_REG(1, 6));
		emit(g, BPF_ALU64_REG(BPF_ADD, 1, 8));
		emit(g, BPF_STX_MEM(sizes[rnd(g, 4)], 1, 0, acc_off(g)));
		break;
	case 1:	/* a helper that stops the run when i reaches a value */
		emit(g, BPF_MOV64_REG(1, 8));
		emit(g, BPF_MOV64_IMM(2, (int32_t)rnd(g, 64)));
		emit(g, BPF_CALL_HELPER(H_STOP));
		emit(g, BPF_ALU64_REG(BPF_XOR, 9, 0));
		break;
	case 2:	/* a local call that accesses base + i */
		emit(g, BPF_MOV64_REG(1, 6));
		emit(g, BPF_MOV64_REG(2, 8));
		emit_to(g, BPF_CALL_REL(0), sub);
		emit(g, BPF_ALU64_REG(BPF_ADD, 9, 0));
		break;
	case 3:	/* a local call that changes the spilled bound */
		emit(g, BPF_MOV64_REG(1, 10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 1, -8));
		emit(g, BPF_MOV64_IMM(2, rrange(g, -1, 2)));
		emit_to(g, BPF_CALL_REL(0), sub);
		break;
	default: /* a local call running a loop at base + i */
		emit(g, BPF_MOV64_REG(1, 6));
		emit(g, BPF_ALU64_REG(BPF_ADD, 1, 8));
		emit(g, BPF_MOV64_IMM(2, (int32_t)rnd(g, 12)));
		emit_to(g, BPF_CALL_REL(0), sub);
		emit(g, BPF_ALU64_REG(BPF_ADD, 9, 0));
		break;
	}
	loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_MOV64_REG(0, 9));
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, 8));
	emit(g, BPF_EXIT_INSN());
	bind(g, sub);
	if (variant == 2)
		sub_access(g);
	else if (variant == 3)
		sub_bump(g);
	else if (variant == 4)
		sub_loop(g);
}

/* ---- Family 7: decision trees ---------------------------------------------------------- */

/* A loop body that is a switch on a key, compiled as clang compiles one for BPF
 * (no jump tables): a binary search over the case values in compare chains,
 * == / != / s> / < ... / a range check (k - lo > span) / a bit test / a compare
 * with a loaded table entry or a register, depth 2..5, and leaves (cases) that
 * do a few ALU ops on r0, load or store at the induction variable's address,
 * load from a table at a data-dependent address (unchecked by the loop's entry
 * check: it may fault anywhere), store at base + i + key, fall into another
 * case, go to a join block, leave the loop (at their end, or in their middle
 * after a table load: the first half then ends without settling what its path
 * owes), or (top-tested loops) increment and jump back themselves. Cases may
 * be shared by several compares; a compare may go straight to the latch (an
 * empty case) or out of the loop. */

#define TREE_MAX	24	/* compares and leaves */
enum { TO_LATCH = -1, TO_OUT = -2, TO_FOUND = -3, TO_JOIN = -4 };	/* non-node targets */
enum { PRE_NONE, PRE_RANGE, PRE_TABLE };
enum { LO_ALU, LO_LOAD, LO_STORE, LO_TABLE, LO_TSTORE, LO_TPAIR };
enum { LE_LATCH, LE_JOIN, LE_LEAF, LE_OUT, LE_FOUND, LE_RET, LE_BACK, LE_BUMP };
enum { KEY_MEM, KEY_MEMSX, KEY_WIDE, KEY_IV };

/* One leaf operation. LO_TABLE, LO_TPAIR: the address is base + (key << op), or
 * with from_iv base + i + key; LO_TPAIR stores rather than loads when imm != 0. */
struct lop {
	int kind, op, sz, src;	/* src: a register, or -1 for imm */
	bool alu32, from_iv;
	int16_t off, off2;
	int32_t imm;
};

struct tnode {
	bool leaf;
	/* a compare: if (x op rhs) goto t, else f; x = K, K - pre_k, or a table entry */
	uint8_t op;
	bool j32;
	int rhs;		/* a register, or -1: the immediate k */
	int32_t k;
	int pre, pre_sz, pre_sh;
	bool pre_iv;
	int32_t pre_k;
	int16_t pre_off;
	int t, f;		/* node indexes or TO_* */
	/* a leaf */
	int nops, end, next;
	struct lop ops[3];
	/* a break in the middle of the case: after mid ops, if (mid_reg op mid_k)
	 * goto mid_to (out of the loop); the rest of the case is a block of its own */
	int mid, mid_to, mid_reg;
	uint8_t mid_op;
	int32_t mid_k;
	int lab;
	bool placed;
};

struct tree {
	struct tnode n[TREE_MAX];
	int cnt, leaves[TREE_MAX], nleaves;
	int B, L, I, A, K, T, U;	/* registers */
	bool exits, has_join, top_test, bumps;
	int ext;			/* furthest byte accessed at A (off + size) */
	int latch, join, found;		/* labels */
	const struct loop *lp;
	int pend[TREE_MAX], npend;
	int last_ja_at, last_ja_lab;	/* the last "ja label" emitted */
};

static int tree_new(struct gen *g, struct tree *t, bool leaf)
{
	int i = t->cnt++;
	memset(&t->n[i], 0, sizeof(t->n[i]));
	t->n[i].leaf = leaf;
	t->n[i].rhs = -1;
	t->n[i].t = t->n[i].f = TO_LATCH;
	t->n[i].lab = label(g);
	return i;
}

/* An offset from A for a leaf's access (and the furthest byte it reaches). */
static int16_t tree_off(struct gen *g, struct tree *t, int sz)
{
	int16_t off = pct(g, 50) ? 0 : pct(g, 75) ? (int16_t)rnd(g, 9) : acc_off(g);
	int e = off + size_bytes(sz);
	t->ext = e > t->ext ? e : t->ext;
	return off;
}

/* A leaf operation; r in [0, 100) picks its kind (77 and up: through a
 * data-dependent address). */
static void tree_op(struct gen *g, struct tree *t, struct lop *o, unsigned r)
{
	static const int alu_ops[] = { BPF_ADD, BPF_ADD, BPF_XOR, BPF_XOR, BPF_OR, BPF_SUB,
				       BPF_MUL, BPF_LSH, BPF_AND, BPF_MOD };
	memset(o, 0, sizeof(*o));
	o->sz = sizes[rnd(g, 4)];
	o->imm = pct(g, 70) ? rrange(g, -16, 300) : (int32_t)next64(g);
	o->src = -1;
	if (r < 48) {
		o->kind = LO_ALU;
		o->op = alu_ops[rnd(g, sizeof(alu_ops) / sizeof(alu_ops[0]))];
		o->alu32 = pct(g, 15);
		if (o->op == BPF_LSH)
			o->imm = (int32_t)rnd(g, 8);
		if (o->op == BPF_MOD || pct(g, 40))	/* by the key (0 too) or i */
			o->src = pct(g, 70) ? t->K : t->I;
	} else if (r < 62) {
		o->kind = LO_LOAD;
		o->off = tree_off(g, t, o->sz);
	} else if (r < 77) {
		o->kind = LO_STORE;
		o->off = tree_off(g, t, o->sz);
		unsigned q = (unsigned)rnd(g, 3);
		o->src = q == 0 ? t->K : q == 1 ? t->I : -1;
	} else if (r < 86) {
		o->kind = LO_TABLE;
		o->from_iv = pct(g, 45);
		o->op = (int)rnd(g, 4);	/* the shift, for a table at base */
		o->off = pct(g, 70) ? (int16_t)rnd(g, 8) : (int16_t)rrange(g, -8, 40);
	} else if (r < 90) {
		o->kind = LO_TSTORE;
		o->off = (int16_t)rnd(g, 8);
	} else {	/* two accesses through one data-dependent pointer (a group) */
		o->kind = LO_TPAIR;
		o->from_iv = pct(g, 70);
		o->op = (int)rnd(g, 4);
		o->imm = pct(g, 50);	/* stores rather than loads */
		o->off = (int16_t)rnd(g, 8);
		o->off2 = (int16_t)(o->off + rrange(g, 1, 12));
	}
}

/* A leaf, or a target a compare may go to instead of a leaf of its own. */
static int tree_leaf(struct gen *g, struct tree *t)
{
	if (t->nleaves && (pct(g, 18) || t->cnt >= TREE_MAX))
		return t->leaves[rnd(g, t->nleaves)];	/* a case shared */
	if (t->cnt >= TREE_MAX || pct(g, 7))
		return TO_LATCH;			/* an empty case */
	if (t->has_join && pct(g, 5))
		return TO_JOIN;
	if (t->exits && pct(g, 4))
		return pct(g, 50) ? TO_OUT : TO_FOUND;	/* break */
	int i = tree_new(g, t, true);
	struct tnode *n = &t->n[i];
	static const uint8_t wn[3] = { 45, 35, 20 };
	n->nops = 1 + weighted(g, wn, 3);
	if (pct(g, t->exits ? 35 : 8)) {
		n->mid = 1;
		n->nops += n->nops == 1;
	}
	for (int k = 0; k < n->nops; k++)	/* a break mostly follows a table access */
		tree_op(g, t, &n->ops[k], n->mid && !k && pct(g, 70) ? 77 + (unsigned)rnd(g, 23) :
					  (unsigned)rnd(g, 100));
	if (n->mid) {
		int kind = n->ops[0].kind;
		bool loaded = kind == LO_TABLE || (kind == LO_TPAIR && !n->ops[0].imm);
		n->mid_to = pct(g, 70) ? TO_OUT : TO_FOUND;
		if (!t->exits) {	/* one that (almost) never breaks */
			n->mid_reg = 0;
			n->mid_op = BPF_JEQ;
			n->mid_k = (int32_t)next64(g);
		} else if (loaded && pct(g, 60)) {
			n->mid_reg = t->T;
			n->mid_op = pct(g, 50) ? BPF_JEQ : BPF_JGT;
			n->mid_k = n->mid_op == BPF_JEQ ? 0 : (int32_t)rnd(g, 256);
		} else {
			n->mid_reg = t->K;
			n->mid_op = BPF_JEQ;
			n->mid_k = (int32_t)rnd(g, 8);
		}
	}
	unsigned r = (unsigned)rnd(g, 100);
	n->end = LE_LATCH;
	if (r < 30)
		n->end = t->top_test ? LE_BACK : LE_LATCH;
	else if (r < 45)
		n->end = t->has_join ? LE_JOIN : LE_LATCH;
	else if (r < 58)
		n->end = LE_LEAF;	/* falls into a later case (resolved when built) */
	else if (r < 66)
		n->end = !t->exits ? LE_LATCH : r < 61 ? LE_OUT : r < 64 ? LE_FOUND : LE_RET;
	else if (r < 72)
		n->end = t->bumps ? LE_BUMP : LE_LATCH;	/* i moves on this path only */
	t->leaves[t->nleaves++] = i;
	return i;
}

/* A subtree over key values [lo, hi] with at most depth compares on a path. */
static int tree_build(struct gen *g, struct tree *t, int depth, int32_t lo, int32_t hi)
{
	if (depth == 0 || t->cnt >= TREE_MAX - 2)
		return tree_leaf(g, t);
	if (lo > hi) {
		int32_t x = lo;
		lo = hi;
		hi = x;
	}
	int i = tree_new(g, t, false);
	struct tnode *n = &t->n[i];
	n->j32 = pct(g, 10);
	int32_t v = pct(g, 90) ? rrange(g, lo, hi) : pct(g, 50) ? lo - 1 : hi + 1;
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 36) {		/* case v: if k == v goto leaf */
		n->op = BPF_JEQ;
		n->k = v;
		n->t = tree_leaf(g, t);
		n->f = tree_build(g, t, depth - 1, lo, hi);
	} else if (r < 62) {	/* the binary search's split */
		static const uint8_t ops[] = { BPF_JSGT, BPF_JSGT, BPF_JGT, BPF_JSGE, BPF_JGE,
					       BPF_JLT, BPF_JSLT, BPF_JLE, BPF_JSLE };
		n->op = ops[rnd(g, sizeof(ops))];
		n->k = v;
		bool up = n->op == BPF_JSGT || n->op == BPF_JGT || n->op == BPF_JSGE ||
			  n->op == BPF_JGE;
		bool incl = n->op == BPF_JSGE || n->op == BPF_JGE || n->op == BPF_JLE ||
			    n->op == BPF_JSLE;
		int32_t cut = up ? (incl ? v : v + 1) : (incl ? v + 1 : v);	/* [cut, hi] vs the rest */
		int32_t a1 = cut, b1 = hi, a0 = lo, b0 = cut - 1;
		n->t = up ? tree_build(g, t, depth - 1, a1, b1) : tree_build(g, t, depth - 1, a0, b0);
		n->f = up ? tree_build(g, t, depth - 1, a0, b0) : tree_build(g, t, depth - 1, a1, b1);
	} else if (r < 70) {	/* if k != v goto rest; case v */
		n->op = BPF_JNE;
		n->k = v;
		n->t = tree_build(g, t, depth - 1, lo, hi);
		n->f = tree_leaf(g, t);
	} else if (r < 79) {	/* range: if k - v > span goto default */
		int32_t span = (int32_t)rnd(g, 9);
		n->pre = PRE_RANGE;
		n->pre_k = v;
		n->op = BPF_JGT;
		n->k = span;
		n->t = tree_leaf(g, t);
		n->f = tree_build(g, t, depth - 1, v, v + span);
	} else if (r < 86) {	/* a bit of the key */
		n->op = BPF_JSET;
		n->k = 1 << rnd(g, 8);
		n->t = tree_build(g, t, depth - 1, lo, hi);
		n->f = tree_build(g, t, depth - 1, lo, hi);
	} else if (r < 94) {	/* x = table[k] (data-dependent address); if x == / > c */
		n->pre = PRE_TABLE;
		n->pre_iv = pct(g, 50);
		n->pre_sz = pct(g, 70) ? BPF_B : sizes[rnd(g, 4)];
		n->pre_sh = (int)rnd(g, 3);
		n->pre_off = pct(g, 70) ? (int16_t)rnd(g, 8) : (int16_t)rrange(g, -4, 32);
		n->op = pct(g, 50) ? BPF_JEQ : BPF_JGT;
		n->k = (int32_t)rnd(g, 256);
		n->t = tree_build(g, t, depth - 1, lo, hi);
		n->f = tree_build(g, t, depth - 1, lo, hi);
	} else {		/* the key against i or the length */
		static const uint8_t ops[] = { BPF_JLT, BPF_JGT, BPF_JEQ, BPF_JSLT, BPF_JNE };
		n->op = ops[rnd(g, sizeof(ops))];
		n->rhs = pct(g, 60) ? t->I : t->L;
		n->t = tree_build(g, t, depth - 1, lo, hi);
		n->f = tree_build(g, t, depth - 1, lo, hi);
	}
	return i;
}

static int tree_label(const struct tree *t, int x)
{
	switch (x) {
	case TO_LATCH: return t->latch;
	case TO_OUT: return t->lp->out;
	case TO_FOUND: return t->found;
	case TO_JOIN: return t->join;
	default: return t->n[x].lab;
	}
}

static void tree_ja(struct gen *g, struct tree *t, int lab)
{
	emit_to(g, BPF_JMP_A(0), lab);
	t->last_ja_at = g->cnt - 1;
	t->last_ja_lab = lab;
}

/* Binds lab, dropping a "ja lab" just before it (clang falls through). */
static void tree_bind(struct gen *g, struct tree *t, int lab)
{
	if (t->last_ja_at == g->cnt - 1 && t->last_ja_lab == lab && g->nfix &&
	    g->fix_at[g->nfix - 1] == g->cnt - 1) {
		g->cnt--;
		g->nfix--;
	}
	t->last_ja_at = -1;
	bind(g, lab);
}

/* The increment as the latch does it (nothing when it comes before the tree). */
static void tree_inc(struct gen *g, const struct tree *t, bool inc_end)
{
	if (inc_end)
		loop_inc(g, t->lp);
}

static void tree_place(struct gen *g, struct tree *t, int x, bool inc_end);

static void tree_leaf_emit(struct gen *g, struct tree *t, struct tnode *n, bool inc_end)
{
	for (int k = 0; k < n->nops; k++) {
		const struct lop *o = &n->ops[k];
		if (n->mid && k == n->mid) {
			emit_to(g, BPF_JMP_IMM(n->mid_op, n->mid_reg, n->mid_k, 0),
				tree_label(t, n->mid_to));
			t->last_ja_at = -1;
		}
		switch (o->kind) {
		case LO_ALU:
			if (o->src >= 0)
				emit(g, o->alu32 ? BPF_ALU32_REG(o->op, 0, o->src) :
					BPF_ALU64_REG(o->op, 0, o->src));
			else if (o->alu32)
				emit(g, BPF_ALU32_IMM(o->op, 0, o->op == BPF_MOD && !o->imm ? 7 : o->imm));
			else
				emit(g, BPF_ALU64_IMM(o->op, 0, o->op == BPF_MOD && !o->imm ? 7 : o->imm));
			break;
		case LO_LOAD:
			emit(g, BPF_LDX_MEM(o->sz, t->T, t->A, o->off));
			emit(g, BPF_ALU64_REG(BPF_ADD, 0, t->T));
			break;
		case LO_STORE:
			if (o->src >= 0)
				emit(g, BPF_STX_MEM(o->sz, t->A, o->src, o->off));
			else
				emit(g, BPF_ST_MEM(o->sz, t->A, o->off, o->imm));
			break;
		case LO_TABLE:
			emit(g, BPF_MOV64_REG(t->T, t->K));
			if (o->from_iv) {
				emit(g, BPF_ALU64_REG(BPF_ADD, t->T, t->A));
			} else {
				if (o->op)
					emit(g, BPF_ALU64_IMM(BPF_LSH, t->T, o->op));
				emit(g, BPF_ALU64_REG(BPF_ADD, t->T, t->B));
			}
			emit(g, BPF_LDX_MEM(o->sz, t->T, t->T, o->off));
			emit(g, BPF_ALU64_REG(BPF_XOR, 0, t->T));
			break;
		case LO_TSTORE:
			emit(g, BPF_MOV64_REG(t->T, t->A));
			emit(g, BPF_ALU64_REG(BPF_ADD, t->T, t->K));
			emit(g, BPF_STX_MEM(o->sz, t->T, t->I, o->off));
			break;
		default:
			emit(g, BPF_MOV64_REG(t->U, t->K));
			if (o->from_iv) {
				emit(g, BPF_ALU64_REG(BPF_ADD, t->U, t->A));
			} else {
				if (o->op)
					emit(g, BPF_ALU64_IMM(BPF_LSH, t->U, o->op));
				emit(g, BPF_ALU64_REG(BPF_ADD, t->U, t->B));
			}
			if (o->imm) {
				emit(g, BPF_STX_MEM(o->sz, t->U, t->I, o->off));
				emit(g, BPF_ST_MEM(BPF_B, t->U, o->off2, 0x3c));
			} else {
				emit(g, BPF_LDX_MEM(o->sz, t->T, t->U, o->off));
				emit(g, BPF_ALU64_REG(BPF_ADD, 0, t->T));
				emit(g, BPF_LDX_MEM(BPF_H, t->T, t->U, o->off2));
				emit(g, BPF_ALU64_REG(BPF_XOR, 0, t->T));
			}
			break;
		}
	}
	switch (n->end) {
	case LE_JOIN: tree_ja(g, t, t->join); break;
	case LE_LEAF: tree_place(g, t, n->next, inc_end); break;
	case LE_OUT: tree_ja(g, t, t->lp->out); break;
	case LE_FOUND: tree_ja(g, t, t->found); break;
	case LE_RET: emit(g, BPF_EXIT_INSN()); break;
	case LE_BACK:	/* continue: its own increment and back edge */
		tree_inc(g, t, inc_end);
		tree_ja(g, t, t->lp->top);
		break;
	case LE_BUMP:
		emit(g, BPF_ALU64_IMM(BPF_ADD, t->I, 1));
		tree_ja(g, t, t->latch);
		break;
	default: tree_ja(g, t, t->latch); break;
	}
}

/* Emits node x here (or a jump to it if it is already placed); the subtrees that
 * compares jump to are placed later. */
static void tree_place(struct gen *g, struct tree *t, int x, bool inc_end)
{
	if (x < 0 || t->n[x].placed) {
		tree_ja(g, t, tree_label(t, x));
		return;
	}
	struct tnode *n = &t->n[x];
	n->placed = true;
	tree_bind(g, t, n->lab);
	if (n->leaf) {
		tree_leaf_emit(g, t, n, inc_end);
		return;
	}
	int X = t->K;
	if (n->pre == PRE_RANGE) {
		emit(g, BPF_MOV64_REG(t->T, t->K));
		emit(g, BPF_ALU64_IMM(BPF_ADD, t->T, -n->pre_k));
		X = t->T;
	} else if (n->pre == PRE_TABLE) {
		emit(g, BPF_MOV64_REG(t->T, t->K));
		if (n->pre_iv) {
			emit(g, BPF_ALU64_REG(BPF_ADD, t->T, t->A));
		} else {
			if (n->pre_sh)
				emit(g, BPF_ALU64_IMM(BPF_LSH, t->T, n->pre_sh));
			emit(g, BPF_ALU64_REG(BPF_ADD, t->T, t->B));
		}
		emit(g, BPF_LDX_MEM(n->pre_sz, t->T, t->T, n->pre_off));
		X = t->T;
	}
	struct bpf_insn j;
	if (n->rhs >= 0)
		j = n->j32 ? BPF_JMP32_REG(n->op, X, n->rhs, 0) : BPF_JMP_REG(n->op, X, n->rhs, 0);
	else
		j = n->j32 ? BPF_JMP32_IMM(n->op, X, n->k, 0) : BPF_JMP_IMM(n->op, X, n->k, 0);
	emit_to(g, j, tree_label(t, n->t));
	t->last_ja_at = -1;
	if (n->t >= 0 && !t->n[n->t].placed)
		t->pend[t->npend++] = n->t;
	tree_place(g, t, n->f, inc_end);
}

static void fam_trees(struct gen *g)
{
	static struct tree t;
	int Lr;
	memset(&t, 0, sizeof(t));
	base_len(g, &t.B, &Lr);
	t.L = Lr;
	t.I = reg_pick(g, ANY);
	t.A = reg_pick(g, ANY);
	t.K = reg_pick(g, ANY);
	t.T = temp(g);
	t.U = temp(g);
	t.last_ja_at = -1;
	struct loop lp = new_loop(g, t.I, false);
	t.lp = &lp;
	lp.alu32 = lp.alu32 && pct(g, 50);
	/* the shape: 0 bottom or top test (as new_loop drew), 1 entered at the test,
	 * 2 entered in the middle (top: i += s; mid: tree), 3 entered at a case,
	 * 4 top-tested with cases that continue by themselves */
	static const uint8_t wv[5] = { 32, 14, 16, 14, 24 };
	int variant = weighted(g, wv, 5);
	if (variant == 1)
		lp.entry = ENTRY_TEST;
	else if (variant == 2)
		lp.entry = ENTRY_MID;
	else if (variant == 3)
		lp.bottom = pct(g, 75);
	else if (variant == 4)
		lp.bottom = false;
	t.top_test = !lp.bottom && lp.entry == ENTRY_TOP;
	bool inc_first = variant != 2 && pct(g, 20);
	bool inc_end = variant != 2 && !inc_first;
	t.exits = pct(g, 40);
	t.has_join = pct(g, 30);
	t.bumps = pct(g, 5);
	t.latch = label(g);
	t.join = label(g);
	t.found = label(g);

	/* the key */
	static const uint8_t wk[4] = { 50, 12, 18, 20 };
	static const int32_t masks[] = { 1, 3, 7, 7, 15, 15, 31, 63, 255 };
	int key = weighted(g, wk, 4), ksz = BPF_B, ksh = 0;
	int16_t koff = 0;
	int32_t mask = masks[rnd(g, sizeof(masks) / sizeof(masks[0]))], lo = 0, hi = mask;
	if (key != KEY_IV) {
		ksz = key == KEY_WIDE ? sizes[1 + rnd(g, 3)] : BPF_B;
		koff = pct(g, 70) ? 0 : (int16_t)rnd(g, 8);
		t.ext = koff + size_bytes(ksz);
		if (key == KEY_WIDE)
			ksh = (int)rnd(g, 2 * size_bytes(ksz));
		if (key == KEY_MEMSX && pct(g, 60)) {
			mask = -1;	/* not masked: -128..127 */
			lo = -128;
			hi = 127;
		} else if (key == KEY_MEM && pct(g, 30)) {
			mask = -1;	/* not masked: 0..255 */
			hi = 255;
		}
	}
	int depth = rrange(g, 2, 5);
	int root = tree_build(g, &t, depth, lo, hi);
	for (int k = 0; k < t.nleaves; k++) {	/* fall-through cases: into a later one */
		struct tnode *n = &t.n[t.leaves[k]];
		if (n->end != LE_LEAF)
			continue;
		int after = 0;
		for (int j = k + 1; j < t.nleaves; j++)
			after += t.leaves[j] > t.leaves[k];
		if (!after) {
			n->end = LE_LATCH;
			continue;
		}
		for (int j = k + 1, pick = (int)rnd(g, (uint64_t)after); j < t.nleaves; j++)
			if (t.leaves[j] > t.leaves[k] && pick-- == 0) {
				n->next = t.leaves[j];
				break;
			}
	}
	int16_t joff = 0;
	int jsz = sizes[rnd(g, 4)];
	bool jstore = t.has_join && pct(g, 50);
	if (jstore)
		joff = tree_off(g, &t, jsz);
	int entry_leaf = -1;
	if (variant == 3) {
		if (t.nleaves)
			entry_leaf = t.leaves[rnd(g, t.nleaves)];
		else
			lp.entry = ENTRY_TEST;
	}

	/* the bound: usually as the other families draw it; sometimes exactly where
	 * the accesses at i end (give or take a byte) */
	bool inc_before = inc_first || variant == 2;
	if (pct(g, 30)) {
		static const int rows[4] = { 0, 1, 3, 4 };
		int row = rows[rnd(g, 4)];
		lp.op = &up_ops[row];
		lp.s = pct(g, 70) ? 1 : (int32_t)(1 + rnd(g, 4));
		int32_t k = t.ext - 1 + (row == 1 || row == 4) + (inc_before ? lp.s : 0);
		lp.N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(lp.N, t.L));
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp.N, -(k + rrange(g, -1, 1))));
		emit(g, BPF_MOV64_IMM(t.I, 0));
	} else {
		pick_bound(g, &lp, t.B, t.L, true);
		pick_step(g, &lp, pct(g, 60));
		mov_imm64(g, t.I, pct(g, 80) ? 0 : pick_i0(g));
	}
	emit(g, BPF_MOV64_IMM(t.K, (int32_t)rnd(g, 4)));
	if (entry_leaf >= 0) {
		/* enter at a case: what it uses is set up first */
		form_addr(g, t.A, t.B, t.I);
		if (lp.bottom && lp.guard)
			loop_cmp(g, &lp, true, lp.out);
		lp.guard = false;
		emit_to(g, BPF_JMP_A(0), t.n[entry_leaf].lab);
	}
	loop_begin(g, &lp);
	if (inc_first || variant == 2)
		loop_inc(g, &lp);
	if (variant == 2)
		bind(g, lp.mid);
	form_addr(g, t.A, t.B, t.I);
	switch (key) {
	case KEY_IV:
		emit(g, BPF_MOV64_REG(t.K, t.I));
		break;
	case KEY_MEMSX:
		emit(g, BPF_LDX_MEMSX(BPF_B, t.K, t.A, koff));
		break;
	default:
		emit(g, BPF_LDX_MEM(ksz, t.K, t.A, koff));
		if (ksh)
			emit(g, BPF_ALU64_IMM(BPF_RSH, t.K, ksh));
		break;
	}
	if (mask >= 0)
		emit(g, pct(g, 20) ? BPF_ALU32_IMM(BPF_AND, t.K, mask) : BPF_ALU64_IMM(BPF_AND, t.K, mask));
	t.npend = 0;
	tree_place(g, &t, root, inc_end);
	while (t.npend > 0) {
		int x = t.pend[--t.npend];
		if (!t.n[x].placed)
			tree_place(g, &t, x, inc_end);
	}
	/* cases sharing a tail: the join, then the latch */
	if (t.has_join) {
		tree_bind(g, &t, t.join);
		if (jstore)
			emit(g, BPF_STX_MEM(jsz, t.A, t.K, joff));
		else
			emit(g, BPF_ALU64_REG(BPF_XOR, 0, t.K));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 0, 1));
	}
	tree_bind(g, &t, t.latch);
	tree_inc(g, &t, inc_end);
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, t.I));
	emit(g, BPF_EXIT_INSN());
	bind(g, t.found);
	emit(g, BPF_MOV64_REG(0, t.I));
	emit(g, BPF_ALU64_IMM(BPF_OR, 0, 0x1000));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 8: data-dependent offsets ----------------------------------------------------- */

/* Per iteration a value loaded at base + i + k (one load, or two combined; a byte, half
 * or word, zero-extended, now and then sign-extended) becomes an offset through 1-4 ALU
 * ops (and, or, add, lsh, rsh, arsh, xor, with negative and huge immediates, 64- and
 * 32-bit), is narrowed by 0-3 conditional jumps against constants (< <= > >= == != s<
 * s<= s> s>= jset, jmp32 and jmp64, the in-range side taken or not) that skip the
 * accesses, leave the loop or go to another access, and is added to base + i for one
 * or two accesses at -64..+64 (+ a constant; the pointer maybe spilled to the stack
 * and reloaded). A copy of the offset may be taken before or after the compares, the
 * compares may test the copy and the accesses use the original (changed after the
 * copy, or not), and on one path of a join the offset may change after the compares.
 * The generator evaluates the body on the values that every uniform fill of the memory
 * (and random values) load, puts the loop's bound where the accesses at the largest
 * offset end exactly (or one, a few bytes short of it, or past it; or where they would
 * end if the compares narrowed what they do not), and remembers the fill bytes that
 * give the extreme offsets: runs fill the memory, or its end, with them. */

enum { DS_SKIP, DS_OUT, DS_ALT, DS_MAIN };
/* The offset's copy C: none; taken before the compares, which test V, and used; taken
 * before, tested, V used; taken before, V changed, C tested, V used; taken after the
 * compares and used; taken before, V tested, C changed after and used; another field
 * loaded and masked alike (the same range, another value), V tested, C used. */
enum { CP_NONE, CP_USE_C, CP_CMP_C, CP_STALE, CP_AFTER, CP_CHANGED, CP_OTHER };
enum { DJ_NONE, DJ_IV, DJ_DATA };

struct dop {
	int op;			/* BPF_MOV: w = w */
	bool a32;
	int32_t imm;
};

/* if (x op k) goto to, as "if (x !op k) goto +1; goto to" when inv; reg: k is
 * moved into a register first */
struct dchk {
	bool on_c, j32, inv, reg;
	uint8_t op;
	int32_t k;
	int to;
};

struct dbody {
	int sz1, sz2;		/* sz2 < 0: one load */
	bool sx;		/* the first load sign-extends */
	int16_t k1, k2, k3;
	bool add2;		/* two loads: X1 + X2, else X1 << csh | X2 */
	int csh;
	struct dop ops[4];
	int nops;
	int copy;		/* CP_* */
	struct dop cchg;	/* CP_STALE: V after the copy; CP_CHANGED: C after the compares */
	struct dchk chk[3];
	int nchk;
	struct dop post[2];	/* on the offset used, after the compares */
	int npost;
	int join;		/* DJ_*: the offset changes on one path (iv or data bit clear) */
	int32_t jm;
	struct dop jchg;
	bool jraw;		/* ... to the raw value loaded again */
	int32_t c;		/* the pointer += c */
	bool into_v, spill;
	int16_t frame;		/* > 0: the accesses go to a table at r10 - frame */
	int nacc;
	struct acc acc[2];
	int alt;		/* 0: none; 1: an access at base + i; 2: at base + i + V */
	struct acc altacc;
};

static int64_t sext(uint64_t v, int sz)
{
	return sz == BPF_B ? (int8_t)v : sz == BPF_H ? (int16_t)v : sz == BPF_W ? (int32_t)v
								 : (int64_t)v;
}

static uint64_t d_alu(const struct dop *o, uint64_t v)
{
	if (o->a32)
		v = (uint32_t)v;
	uint64_t k = o->a32 ? (uint32_t)o->imm : (uint64_t)(int64_t)o->imm;
	switch (o->op) {
	case BPF_AND: v &= k; break;
	case BPF_OR: v |= k; break;
	case BPF_XOR: v ^= k; break;
	case BPF_ADD: v += k; break;
	case BPF_LSH: v <<= o->imm; break;
	case BPF_RSH: v >>= o->imm; break;
	case BPF_ARSH:
		v = o->a32 ? (uint32_t)((int32_t)(uint32_t)v >> o->imm) : (uint64_t)((int64_t)v >> o->imm);
		break;
	default: break;	/* BPF_MOV: w = w */
	}
	return o->a32 ? (uint32_t)v : v;
}

static void d_emit_alu(struct gen *g, const struct dop *o, int r)
{
	if (o->op == BPF_MOV)
		emit(g, BPF_MOV32_REG(r, r));
	else
		emit(g, o->a32 ? BPF_ALU32_IMM(o->op, r, o->imm) : BPF_ALU64_IMM(o->op, r, o->imm));
}

static bool d_jmp(uint8_t op, bool j32, uint64_t x, int32_t k)
{
	uint64_t y = j32 ? (uint32_t)k : (uint64_t)(int64_t)k;
	if (j32)
		x = (uint32_t)x;
	int64_t sx = j32 ? (int32_t)(uint32_t)x : (int64_t)x, sy = k;
	switch (op) {
	case BPF_JEQ: return x == y;
	case BPF_JNE: return x != y;
	case BPF_JGT: return x > y;
	case BPF_JGE: return x >= y;
	case BPF_JLT: return x < y;
	case BPF_JLE: return x <= y;
	case BPF_JSGT: return sx > sy;
	case BPF_JSGE: return sx >= sy;
	case BPF_JSLT: return sx < sy;
	case BPF_JSLE: return sx <= sy;
	default: return (x & y) != 0;	/* BPF_JSET */
	}
}

static uint8_t d_negate(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: return BPF_JNE;
	case BPF_JNE: return BPF_JEQ;
	case BPF_JGT: return BPF_JLE;
	case BPF_JLE: return BPF_JGT;
	case BPF_JGE: return BPF_JLT;
	case BPF_JLT: return BPF_JGE;
	case BPF_JSGT: return BPF_JSLE;
	case BPF_JSLE: return BPF_JSGT;
	case BPF_JSGE: return BPF_JSLT;
	default: return BPF_JSGE;	/* BPF_JSLT */
	}
}

/* The body on loaded values x1, x2 (jc: the join's path that changes the offset):
 * DS_SKIP, DS_OUT, DS_ALT (*val = V there) or DS_MAIN (*val = the offset the accesses
 * add, *naive = what it would be if every compare narrowed the register the accesses
 * use, as 64-bit compares, and the join changed nothing). */
static int d_eval(const struct dbody *d, uint64_t x1, uint64_t x2, uint64_t x3, bool jc,
		  int64_t *val, int64_t *naive)
{
	uint64_t V = x1, C = x3;
	if (d->sz2 >= 0)
		V = d->add2 ? x1 + x2 : (x1 << d->csh) | x2;
	for (int j = 0; j < d->nops; j++) {
		V = d_alu(&d->ops[j], V);
		C = d_alu(&d->ops[j], C);
	}
	if (d->copy == CP_USE_C || d->copy == CP_CMP_C || d->copy == CP_STALE || d->copy == CP_CHANGED)
		C = V;
	if (d->copy == CP_STALE)
		V = d_alu(&d->cchg, V);
	bool j32 = false;
	uint64_t X = V;
	for (int j = 0; j < d->nchk; j++) {
		const struct dchk *k = &d->chk[j];
		X = k->on_c ? C : V;
		j32 |= k->j32;
		if (d_jmp(k->op, k->j32, X, k->k)) {
			*val = (int64_t)V;
			return k->to;
		}
	}
	if (d->copy == CP_AFTER)
		C = V;
	if (d->copy == CP_CHANGED)
		C = d_alu(&d->cchg, C);
	bool use_c = d->copy == CP_USE_C || d->copy == CP_AFTER || d->copy == CP_CHANGED ||
		     d->copy == CP_OTHER;
	uint64_t U = use_c ? C : V, N = d->nchk ? (j32 ? (uint32_t)X : X) : U;
	for (int j = 0; j < d->npost; j++) {
		U = d_alu(&d->post[j], U);
		N = d_alu(&d->post[j], N);
	}
	*naive = (int64_t)(N + (uint64_t)(int64_t)d->c);
	if (d->join != DJ_NONE && jc)
		U = d->jraw ? x1 : d_alu(&d->jchg, U);
	*val = (int64_t)(U + (uint64_t)(int64_t)d->c);
	return DS_MAIN;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t rep_byte(uint8_t b, int sz)
{
	return (uint64_t)b * (sz == BPF_B ? 1 : sz == BPF_H ? 0x101u : 0x01010101u);
}

/* An op on the offset; plain: the masks, shifts and small adds of a header parser. */
static void d_draw_op(struct gen *g, struct dop *o, bool first, bool plain)
{
	if (plain) {
		static const uint8_t wp[5] = { 40, 20, 20, 10, 10 };
		static const int pops[5] = { BPF_AND, BPF_LSH, BPF_RSH, BPF_ADD, BPF_MOV };
		static const int32_t pmasks[] = { 7, 15, 15, 31, 60, 63, 0x3c, 0xfe, 0xff, 0x1ff };
		o->op = pops[weighted(g, wp, 5)];
		o->a32 = pct(g, 25) || o->op == BPF_MOV;
		o->imm = o->op == BPF_AND ? pmasks[rnd(g, sizeof(pmasks) / sizeof(pmasks[0]))] :
			 o->op == BPF_LSH ? rrange(g, 1, 3) : o->op == BPF_RSH ? rrange(g, 1, 4) :
			 o->op == BPF_ADD ? rrange(g, -16, 16) : 0;
		return;
	}
	static const uint8_t w[8] = { 30, 18, 14, 16, 6, 5, 5, 6 };
	static const int ops[8] = { BPF_AND, BPF_LSH, BPF_RSH, BPF_ADD, BPF_OR, BPF_ARSH, BPF_MOV,
				    BPF_XOR };
	static const int32_t masks[] = { 1, 3, 7, 15, 15, 31, 60, 63, 63, 0x3c, 0xfc, 0xff, 0x1ff,
					 0xff0, 0x7fffffff, -4, -8, -256, -1, 0x0f0f };
	o->op = ops[weighted(g, w, 8)];
	if (first && (o->op == BPF_RSH || o->op == BPF_ARSH) && pct(g, 50))
		o->op = BPF_AND;
	o->a32 = pct(g, 25);
	int bits = o->a32 ? 32 : 64;
	switch (o->op) {
	case BPF_AND:
		o->imm = pct(g, 85) ? masks[rnd(g, sizeof(masks) / sizeof(masks[0]))] : (int32_t)next64(g);
		break;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		o->imm = pct(g, 75) ? rrange(g, 1, 5) : pct(g, 50) ? bits - 1 - (int32_t)rnd(g, 2) :
			 rrange(g, bits / 2 - 8, bits - 1);
		break;
	case BPF_ADD:
		o->imm = pct(g, 70) ? rrange(g, -64, 64) : pct(g, 50) ? rrange(g, -400, -65) :
			 (int32_t)next64(g);
		break;
	case BPF_OR:
		o->imm = pct(g, 70) ? rrange(g, 1, 15) : pct(g, 50) ? rrange(g, -64, -1) : 0x100;
		break;
	case BPF_XOR:
		o->imm = pct(g, 70) ? rrange(g, 1, 63) : -1;
		break;
	default:
		o->imm = 0;
		o->a32 = true;
		break;
	}
}

/* A value near the loaded ones (vals[0..n)): one of them, or one off. */
static int32_t d_const(struct gen *g, const uint64_t *vals, int n)
{
	uint64_t v = vals[rnd(g, (uint64_t)n)];
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 15)
		v++;
	else if (r < 30)
		v--;
	else if (r < 36)
		v = rnd(g, 300);
	return (int32_t)v;
}

/* A compare that keeps the offset in the window [wlo, whi] of the values (or one
 * off, or the wrong way round, or anywhere). */
static void d_draw_chk(struct gen *g, struct dchk *k, const uint64_t *vals, int n, uint64_t wlo,
		       uint64_t whi, int copy)
{
	static const uint8_t up[4] = { BPF_JGT, BPF_JSGT, BPF_JGE, BPF_JSGE };
	static const uint8_t down[4] = { BPF_JLT, BPF_JSLT, BPF_JLE, BPF_JSLE };
	unsigned r = (unsigned)rnd(g, 100);
	int o = (int)rnd(g, 4);
	bool wrong = pct(g, 8);
	if (r < 42) {		/* too large: skip */
		k->op = up[o];
		k->k = (int32_t)((wrong ? wlo : whi) + (o >= 2));
	} else if (r < 72) {	/* too small: skip */
		k->op = down[o];
		k->k = (int32_t)((wrong ? whi : wlo) - (o >= 2));
	} else if (r < 80) {	/* one value, or all but one */
		k->op = pct(g, 60) ? BPF_JNE : BPF_JEQ;
		k->k = (int32_t)(pct(g, 50) ? wlo : whi);
	} else if (r < 87) {	/* anywhere */
		k->op = pct(g, 50) ? up[o] : down[o];
		k->k = d_const(g, vals, n);
	} else {		/* bits above a mask set: skip */
		k->op = BPF_JSET;
		int b = (int)rnd(g, 9);
		k->k = pct(g, 70) ? -(1 << b) : (int32_t)(1u << b);
	}
	if (k->op != BPF_JSET && pct(g, 20))	/* one off (wrapping) */
		k->k = (int32_t)((uint32_t)k->k + (pct(g, 50) ? 1u : UINT32_MAX));
	k->j32 = pct(g, 25);
	k->inv = k->op != BPF_JSET && pct(g, 35);
	k->reg = pct(g, 15);
	k->on_c = (copy == CP_CMP_C || copy == CP_STALE) ? pct(g, 80) :
		  (copy == CP_USE_C || copy == CP_CHANGED || copy == CP_OTHER) ? pct(g, 20) : false;
	unsigned t = (unsigned)rnd(g, 100);
	k->to = t < 70 ? DS_SKIP : t < 85 ? DS_OUT : DS_ALT;
}

/* An access at the data-dependent pointer (offset off, drawn by the caller). */
static void d_draw_acc(struct gen *g, struct acc *a)
{
	a->sz = sizes[rnd(g, 4)];
	a->imm = (int32_t)next64(g);
	unsigned r = (unsigned)rnd(g, 100);
	a->kind = r < 45 ? AK_LOAD : r < 50 && a->sz != BPF_DW ? AK_LOADSX : r < 78 ? AK_STORE :
		  r < 95 ? AK_STORE_IMM : AK_ATOMIC;
	a->op = a->kind == AK_LOAD ? (pct(g, 50) ? BPF_ADD : BPF_XOR) : BPF_ADD;
	if (a->kind == AK_ATOMIC)
		a->sz = pct(g, 50) ? BPF_W : BPF_DW;
}

static int16_t clamp_off(int64_t v)
{
	return (int16_t)(v < -64 ? -64 : v > 64 ? 64 : v);
}

static void fam_data(struct gen *g)
{
	static struct dbody d;
	memset(&d, 0, sizeof(d));
	int B, L;
	base_len(g, &B, &L);
	int I = reg_pick(g, ANY), A = reg_pick(g, ANY), V = reg_pick(g, ANY), T = temp(g);

	/* the loads and the ops */
	static const int lsz[3] = { BPF_B, BPF_H, BPF_W };
	static const uint8_t wl[3] = { 60, 25, 15 };
	d.sz1 = lsz[weighted(g, wl, 3)];
	d.sx = pct(g, 6);
	d.sz2 = -1;
	if (pct(g, 20)) {
		d.sz2 = pct(g, 75) ? BPF_B : BPF_H;
		d.add2 = pct(g, 30);
		d.csh = pct(g, 70) ? 8 : (int)rnd(g, 17);
	}
	static const uint8_t wo[4] = { 35, 35, 20, 10 };
	d.nops = 1 + weighted(g, wo, 4);
	bool plain = pct(g, 45);
	for (int j = 0; j < d.nops; j++)
		d_draw_op(g, &d.ops[j], j == 0, plain);
	static const uint8_t wc[7] = { 44, 9, 9, 9, 9, 9, 8 };
	d.copy = weighted(g, wc, 7);
	d.k3 = (int16_t)rrange(g, 1, 4);	/* CP_OTHER: at k1 + k3 */
	/* the accesses: at base + i + V (the usual), at D + i + V with D = base + delta
	 * (so that the analysis' range of these alone can be fitted to the memory at both
	 * ends), or at r10 - frame + V (a table on the stack); no copy then (one register
	 * less) */
	bool stack = pct(g, 10), dmode = !stack && pct(g, 45);
	if (stack || dmode)
		d.copy = CP_NONE;
	d_draw_op(g, &d.cchg, false, false);
	if (d.cchg.op == BPF_AND || d.cchg.op == BPF_RSH || d.cchg.op == BPF_MOV)
		d.cchg = (struct dop){ BPF_ADD, false, rrange(g, 1, 64) };
	d.join = pct(g, 80) ? DJ_NONE : pct(g, 50) ? DJ_IV : DJ_DATA;
	d.jm = 1 << rnd(g, 4);
	d.jraw = pct(g, 25);
	d_draw_op(g, &d.jchg, false, false);
	if (pct(g, 50))
		d.jchg = pct(g, 60) ? (struct dop){ BPF_ADD, pct(g, 20), rrange(g, 1, 64) } :
				      (struct dop){ BPF_LSH, pct(g, 20), rrange(g, 1, 3) };

	/* the values the compares see: those of every uniform fill, and random ones */
	enum { NV = 256 + 64 };
	static uint64_t x1s[NV], x2s[NV], x3s[NV], vals[NV];
	const uint64_t m1 = d.sz1 == BPF_B ? 0xff : d.sz1 == BPF_H ? 0xffff : 0xffffffff;
	for (int b = 0; b < NV; b++) {
		if (b < 256) {
			x1s[b] = rep_byte((uint8_t)b, d.sz1);
			x2s[b] = d.sz2 >= 0 ? rep_byte((uint8_t)b, d.sz2) : 0;
		} else {
			x1s[b] = next64(g) & m1;
			x2s[b] = next64(g) & (d.sz2 == BPF_H ? 0xffff : 0xff);
		}
		x3s[b] = b < 256 ? x1s[b] : next64(g) & m1;
		if (d.sx) {
			x1s[b] = (uint64_t)sext(x1s[b], d.sz1);
			x3s[b] = (uint64_t)sext(x3s[b], d.sz1);
		}
		uint64_t v = x1s[b];
		if (d.sz2 >= 0)
			v = d.add2 ? v + x2s[b] : (v << d.csh) | x2s[b];
		for (int j = 0; j < d.nops; j++)
			v = d_alu(&d.ops[j], v);
		vals[b] = v;
	}
	static const uint8_t wk[4] = { 12, 40, 33, 15 };
	d.nchk = weighted(g, wk, 4);
	static uint64_t sorted[NV];
	memcpy(sorted, vals, sizeof(sorted));
	qsort(sorted, NV, sizeof(sorted[0]), cmp_u64);
	unsigned wr = (unsigned)rnd(g, 100);
	uint64_t wlo = sorted[wr < 30 ? 0 : rnd(g, NV)];
	uint64_t whi = sorted[wr >= 30 && wr < 60 ? NV - 1 : rnd(g, NV)];
	if (wlo > whi) {
		uint64_t x = wlo;
		wlo = whi;
		whi = x;
	}
	for (int j = 0; j < d.nchk; j++)
		d_draw_chk(g, &d.chk[j], vals, NV, wlo, whi, d.copy);
	if (pct(g, plain ? 50 : 30)) {	/* scaled after them: if (ihl < 5) ...; off = ihl << 2 */
		d.npost = pct(g, 70) ? 1 : 2;
		for (int j = 0; j < d.npost; j++) {
			struct dop *o = &d.post[j];
			d_draw_op(g, o, false, plain && pct(g, 50));
			if (pct(g, 40)) {
				bool a32 = pct(g, 30);
				*o = (struct dop){ BPF_LSH, a32, pct(g, 70) ? rrange(g, 1, 3) :
						   (a32 ? 31 : 63) - (int32_t)rnd(g, 3) };
			} else if (pct(g, 25)) {
				*o = (struct dop){ BPF_ADD, pct(g, 30), rrange(g, -20, 20) };
			}
			if (plain && !j && pct(g, 15)) {	/* a narrowed value shifted out */
				bool a32 = pct(g, 25);
				*o = (struct dop){ BPF_LSH, a32, (a32 ? 31 : 63) - (int32_t)rnd(g, 2) };
			}
		}
	}
	d.c = pct(g, 75) ? 0 : rrange(g, -64, 64);
	d.alt = 0;
	for (int j = 0; j < d.nchk; j++)
		if (d.chk[j].to == DS_ALT)
			d.alt = pct(g, 50) ? 1 : 2;

	/* where the accesses go: the offsets' range over the values */
	int64_t mmin = INT64_MAX, mmax = INT64_MIN, nmax = INT64_MIN, amin = INT64_MAX,
		amax = INT64_MIN, pmax = INT64_MIN;
	for (int b = 0; b < NV; b++)
		for (int jc = 0; jc < 2; jc++) {
			if (jc && d.join == DJ_NONE)
				continue;
			if (b < 256 && d.join == DJ_DATA && jc != !(b & d.jm))
				continue;
			int64_t v = 0, nv = 0;
			int to = d_eval(&d, x1s[b], x2s[b], x3s[b], jc, &v, &nv);
			if (to == DS_MAIN) {
				mmin = v < mmin ? v : mmin;
				mmax = v > mmax ? v : mmax;
				nmax = nv > nmax ? nv : nmax;
				if (!jc)
					pmax = v > pmax ? v : pmax;
			} else if (to == DS_ALT) {
				amin = v < amin ? v : amin;
				amax = v > amax ? v : amax;
			}
		}
	bool reach = mmin <= mmax;
	if (!reach)
		mmin = mmax = nmax = pmax = rrange(g, 0, 40);
	if (pmax == INT64_MIN)
		pmax = mmax;
	/* the accesses' offsets. Mode 0: the end tight (the largest offset ends exactly
	 * at the end of the memory in the last iteration, give or take a byte), the start
	 * mostly loose (at or above the start of the memory even if the compares' lower
	 * bounds are not known: the entry check then passes whenever the end fits).
	 * Mode 1: the start tight (the smallest offset at the start for i = 0, or a byte
	 * before), the end loose. Mode 2: anywhere. */
	static const uint8_t wm[3] = { 60, 25, 15 };
	int mode = weighted(g, wm, 3);
	bool small = mmin > -1000 && mmin < 1000;
	if (!small)
		mode = 2;
	int64_t floor_ = !small ? 0 : mode == 0 && mmin > 0 && pct(g, 70) ? 0 : -mmin;
	d.nacc = pct(g, 65) ? 1 : 2;
	int ext = INT32_MIN;
	for (int j = 0; j < d.nacc; j++) {
		struct acc *a = &d.acc[j];
		d_draw_acc(g, a);
		unsigned r = (unsigned)rnd(g, 100);
		if (mode == 2)
			a->off = (int16_t)rrange(g, -64, 64);
		else if (mode == 0 || j)
			a->off = clamp_off(floor_ + (pct(g, 60) ? 0 : (int64_t)rnd(g, 9)));
		else
			a->off = clamp_off(floor_ + (r < 45 ? 0 : r < 70 ? -1 : r < 80 ? -rrange(g, 2, 4) :
						     rrange(g, 1, 4)));
		int e = a->off + size_bytes(a->sz);
		ext = e > ext ? e : ext;
	}
	if (d.alt == 2) {
		d_draw_acc(g, &d.altacc);
		d.altacc.off = amin > -1000 && amin < 1000 && pct(g, 60) ? clamp_off(-amin) :
			       (int16_t)rrange(g, -64, 64);
	}
	d.into_v = pct(g, 40) && d.alt != 2;
	d.spill = pct(g, 15);
	int P = d.into_v ? V : reg_pick(g, ANY);
	int C = d.copy != CP_NONE ? reg_pick(g, ANY) : -1;
	int S = -1;	/* the table's base, r10 - frame: where the largest offset ends at r10 */
	if (stack) {
		int64_t top = pct(g, 15) ? nmax : mmax;
		static const uint8_t wf[5] = { 40, 25, 10, 10, 15 };
		int64_t f = top > -600 && top < 600 ? top + ext : 0;
		switch (weighted(g, wf, 5)) {
		case 1: f--; break;
		case 2: f -= rrange(g, 2, 4); break;
		case 3: f += rrange(g, 1, 8); break;
		case 4: f = 0; break;
		default: break;
		}
		d.frame = (int16_t)(f >= 1 && f <= 512 ? f : rrange(g, 8, 512));
		S = reg_pick(g, ANY);
	}
	g->fit.n_at = g->fit.i0_at = g->fit.d_at = -1;
	g->fit.B = B;
	g->fit.I = I;
	if (dmode) {
		S = g->fit.D = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(S, B));
		g->fit.d_at = g->cnt;
		emit(g, BPF_ALU64_IMM(BPF_ADD, S, 0));
	}

	/* the bound: i < len - k where the accesses at the largest offset end exactly
	 * (given or taken a few bytes), or where they would with a narrower offset */
	struct loop lp = new_loop(g, I, false);
	bool inc_first = pct(g, 20);
	static const int32_t steps[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 14 };
	lp.s = steps[rnd(g, sizeof(steps) / sizeof(steps[0]))];
	lp.alu32 = lp.alu32 && pct(g, 50);
	static const int rows[4] = { 0, 1, 3, 4 };
	int row = rows[rnd(g, 4)];
	lp.op = &up_ops[row];
	int64_t top = mmax;
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 12)
		top = nmax;		/* as if the compares narrowed the offset used */
	else if (r < 22)
		top = pmax;		/* as if the join changed nothing */
	else if (r < 30 && d.alt == 2 && amax > INT64_MIN)
		top = amax;		/* where the other access ends */
	int64_t e64 = top > -1000 && top < 1000 && !stack ? top + ext : INT32_MAX;
	if (d.alt == 2 && amax > -1000 && amax < 1000 && pct(g, 40) &&
	    amax + d.altacc.off + size_bytes(d.altacc.sz) > e64)
		e64 = amax + d.altacc.off + size_bytes(d.altacc.sz);
	static const uint8_t wa[6] = { 35, 22, 10, 10, 8, 15 };
	int adj = 0;
	switch (mode == 1 ? 4 : weighted(g, wa, 6)) {
	case 1: adj = -1; break;
	case 2: adj = -rrange(g, 2, 4); break;
	case 3: adj = 1; break;
	case 4: adj = rrange(g, 2, mode == 1 ? 30 : 8); break;
	case 5: e64 = rrange(g, 1, 80); break;
	default: break;
	}
	/* the loads of the value: mostly below where the accesses end */
	if (e64 > 0 && e64 < 400) {
		int room = (int)e64 - size_bytes(d.sz1);
		d.k1 = (int16_t)(room > 0 ? rnd(g, (uint64_t)(room < 16 ? room : 16) + 1) : 0);
		room = (int)e64 - (d.sz2 >= 0 ? size_bytes(d.sz2) : 1);
		d.k2 = (int16_t)(room > 0 ? rnd(g, (uint64_t)(room < 16 ? room : 16) + 1) : 0);
	} else {
		e64 = rrange(g, 1, 80);
		d.k1 = (int16_t)rnd(g, 15);
		d.k2 = (int16_t)rnd(g, 15);
	}
	if (pct(g, 10)) {
		d.k1 = (int16_t)rnd(g, 15);
		d.k2 = (int16_t)rnd(g, 15);
	}
	int kext = d.k1 + size_bytes(d.sz1);
	if (d.sz2 >= 0 && d.k2 + size_bytes(d.sz2) > kext)
		kext = d.k2 + size_bytes(d.sz2);
	if (d.copy == CP_OTHER)
		kext += d.k3;
	if (kext > e64)
		e64 = kext;
	int32_t k = (int32_t)e64 - 1 + (row == 1 || row == 4) + (inc_first ? lp.s : 0) + adj;
	unsigned q = (unsigned)rnd(g, 100);
	if (q < 75) {
		lp.N = g->fit.N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(lp.N, L));
		g->fit.n_at = g->cnt;
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp.N, -k));
		if (pct(g, 15)) {
			lp.reload = RL_STACK;
			lp.rsz = BPF_DW;
			lp.roff = -8;
			emit(g, BPF_STX_MEM(BPF_DW, 10, lp.N, -8));
		}
	} else if (q < 92) {
		/* a constant bound; the runs' lengths near where it ends */
		lp.c = rrange(g, 1, 200);
		int32_t h = lp.c + k;
		g->hint = h < 0 ? 0 : h > MEM_MAX ? MEM_MAX : h;
		if (lp.swap) {
			lp.N = reg_pick(g, ANY);
			emit(g, BPF_MOV64_IMM(lp.N, lp.c));
		}
	} else {
		lp.N = L;
	}
	g->fit.i0_at = g->cnt;
	emit(g, BPF_MOV64_IMM(I, mode == 1 || pct(g, 85) ? 0 : (int32_t)rnd(g, 9)));
	emit(g, BPF_MOV64_IMM(V, 0));
	if (d.alt == 1) {	/* another access at base + i, inside what the others reach */
		d_draw_acc(g, &d.altacc);
		int room = (int)(e64 < 24 ? e64 : 24) - size_bytes(d.altacc.sz);
		d.altacc.off = (int16_t)(room > 0 ? rnd(g, (uint64_t)room + 1) : 0);
	}

	/* the hot bytes: fills whose offsets are extreme at the accesses (the largest
	 * first, the smallest), at the other access, and before the compares (for an
	 * offset loaded elsewhere than the one compared, CP_OTHER) */
	int64_t vmin = INT64_MAX, vmax = INT64_MIN;
	for (int b = 0; b < 256; b++) {
		vmin = (int64_t)vals[b] < vmin ? (int64_t)vals[b] : vmin;
		vmax = (int64_t)vals[b] > vmax ? (int64_t)vals[b] : vmax;
	}
	static const int quota[4] = { 5, 3, 3, 3 };
	for (int pass = 0; pass < 4; pass++)
		for (int b = 0, n = 0; b < 256 && n < quota[pass]; b++) {
			int64_t v = 0, nv = 0;
			bool hit = pass == 3 && ((int64_t)vals[b] == vmax || (int64_t)vals[b] == vmin);
			for (int jc = 0; jc < 2 && !hit && pass < 3; jc++) {
				if ((jc && d.join == DJ_NONE) || (d.join == DJ_DATA && jc != !(b & d.jm)))
					continue;
				int to = d_eval(&d, x1s[b], x2s[b], x3s[b], jc, &v, &nv);
				hit = pass == 0 ? to == DS_MAIN && v == mmax :
				      pass == 1 ? to == DS_MAIN && v == mmin :
				      to == DS_ALT && (v == amax || v == amin);
			}
			bool dup = false;
			for (int j = 0; j < g->nhot; j++)
				dup |= g->hot[j] == b;
			if (hit && !dup) {
				g->hot[g->nhot++] = (uint8_t)b;
				n++;
			}
		}

	/* the loop */
	int skip = label(g), alt = label(g);
	loop_begin(g, &lp);
	if (inc_first)
		loop_inc(g, &lp);
	form_addr(g, A, B, I);
	emit(g, d.sx ? BPF_LDX_MEMSX(d.sz1, V, A, d.k1) : BPF_LDX_MEM(d.sz1, V, A, d.k1));
	if (d.sz2 >= 0) {
		emit(g, BPF_LDX_MEM(d.sz2, T, A, d.k2));
		if (!d.add2 && d.csh)
			emit(g, BPF_ALU64_IMM(BPF_LSH, V, d.csh));
		emit(g, BPF_ALU64_REG(d.add2 ? BPF_ADD : BPF_OR, V, T));
	}
	for (int j = 0; j < d.nops; j++)
		d_emit_alu(g, &d.ops[j], V);
	if (d.copy == CP_OTHER) {
		emit(g, d.sx ? BPF_LDX_MEMSX(d.sz1, C, A, d.k1 + d.k3) :
			BPF_LDX_MEM(d.sz1, C, A, d.k1 + d.k3));
		for (int j = 0; j < d.nops; j++)
			d_emit_alu(g, &d.ops[j], C);
	} else if (C >= 0 && d.copy != CP_AFTER) {
		emit(g, BPF_MOV64_REG(C, V));
	}
	if (d.copy == CP_STALE)
		d_emit_alu(g, &d.cchg, V);
	for (int j = 0; j < d.nchk; j++) {
		const struct dchk *ck = &d.chk[j];
		int X = ck->on_c ? C : V;
		int to = ck->to == DS_SKIP ? skip : ck->to == DS_OUT ? lp.out : alt;
		uint8_t op = ck->inv ? d_negate(ck->op) : ck->op;
		struct bpf_insn jmp = ck->j32 ? BPF_JMP32_IMM(op, X, ck->k, 0) : BPF_JMP_IMM(op, X, ck->k, 0);
		if (ck->reg) {
			emit(g, ck->j32 ? BPF_MOV32_IMM(T, ck->k) : BPF_MOV64_IMM(T, ck->k));
			jmp = ck->j32 ? BPF_JMP32_REG(op, X, T, 0) : BPF_JMP_REG(op, X, T, 0);
		}
		if (ck->inv) {
			int ok = label(g);
			emit_to(g, jmp, ok);
			emit_to(g, BPF_JMP_A(0), to);
			bind(g, ok);
		} else {
			emit_to(g, jmp, to);
		}
	}
	if (d.copy == CP_AFTER)
		emit(g, BPF_MOV64_REG(C, V));
	if (d.copy == CP_CHANGED)
		d_emit_alu(g, &d.cchg, C);
	bool use_c = d.copy == CP_USE_C || d.copy == CP_AFTER || d.copy == CP_CHANGED ||
		     d.copy == CP_OTHER;
	int U = use_c ? C : V;
	for (int j = 0; j < d.npost; j++)
		d_emit_alu(g, &d.post[j], U);
	if (d.join != DJ_NONE) {	/* changed where the bit is clear */
		int j = label(g);
		if (d.join == DJ_IV) {
			emit_to(g, BPF_JMP_IMM(BPF_JSET, I, d.jm, 0), j);
		} else {
			emit(g, BPF_LDX_MEM(BPF_B, T, A, d.k1));
			emit_to(g, BPF_JMP_IMM(BPF_JSET, T, d.jm, 0), j);
		}
		if (d.jraw)
			emit(g, d.sx ? BPF_LDX_MEMSX(d.sz1, U, A, d.k1) : BPF_LDX_MEM(d.sz1, U, A, d.k1));
		else
			d_emit_alu(g, &d.jchg, U);
		bind(g, j);
	}
	int base = A;
	if (stack) {
		base = S;
		emit(g, BPF_MOV64_REG(S, 10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, S, -d.frame));
	}
	if (dmode) {
		if (!d.into_v) {
			emit(g, BPF_MOV64_REG(P, S));
			emit(g, BPF_ALU64_REG(BPF_ADD, P, I));
			emit(g, BPF_ALU64_REG(BPF_ADD, P, U));
		} else {
			P = U;
			emit(g, BPF_ALU64_REG(BPF_ADD, P, S));
			emit(g, BPF_ALU64_REG(BPF_ADD, P, I));
		}
	} else if (d.into_v) {
		P = U;
		emit(g, BPF_ALU64_REG(BPF_ADD, P, base));
	} else if (pct(g, 60)) {
		emit(g, BPF_MOV64_REG(P, base));
		emit(g, BPF_ALU64_REG(BPF_ADD, P, U));
	} else {
		emit(g, BPF_MOV64_REG(P, U));
		emit(g, BPF_ALU64_REG(BPF_ADD, P, base));
	}
	if (d.c)
		emit(g, BPF_ALU64_IMM(BPF_ADD, P, d.c));
	if (d.spill) {
		emit(g, BPF_STX_MEM(BPF_DW, 10, P, -48));
		emit(g, pct(g, 50) ? BPF_MOV64_IMM(P, 0) : BPF_MOV64_REG(P, T));
		emit(g, BPF_LDX_MEM(BPF_DW, P, 10, -48));
	}
	for (int j = 0; j < d.nacc; j++) {
		if (g->ndacc < 8)
			g->dacc[g->ndacc++] = g->cnt;
		emit_acc(g, &d.acc[j], P, T, pct(g, 50) ? T : I, 0);
	}
	if (d.alt) {
		emit_to(g, BPF_JMP_A(0), skip);
		bind(g, alt);
		if (d.alt == 2) {
			form_addr(g, P, A, V);
			if (g->ndacc < 8)
				g->dacc[g->ndacc++] = g->cnt;
		}
		emit_acc(g, &d.altacc, d.alt == 2 ? P : A, T, I, 0);
	}
	bind(g, skip);
	if (!inc_first)
		loop_inc(g, &lp);
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, I));
	emit(g, BPF_EXIT_INSN());
}

/* ---- Family 9: selects ---------------------------------------------------------------------- */

/* clang lowers each x = c ? a : b to a skip-one diamond, and two selects on one
 * condition to two diamonds that test the same registers the same way; the JIT's
 * fast copy skips the second test (loops.c, thread_tests: X jumps straight to T2,
 * F falls into G, T is counted but never run):
 *     X:  ...; if rA op rB/imm goto T
 *     F:  1-3 instructions that write neither rA nor rB, falling into T
 *     T:  if rA op rB/imm goto T2       (the same instruction)
 *     G:  1-3 instructions              (T's fall-through, T its only predecessor)
 *     T2: ...
 * A chain of 2-4 such tests may carry one near miss (SN_*) at one junction; the
 * header comment lists them, and the other shapes around the chains. */
enum { SN_NONE, SN_FWRITE, SN_TDIFF, SN_PRED, SN_LONG, SN_BREAK, SN_CONT, SN_FJUMP, SN_T2G,
       N_SN };

struct stest {
	uint8_t op;
	bool j32;
	int dst, src;		/* src < 0: the immediate */
	int32_t imm;
};

struct sel {
	int B, L, I, A, T, W, C1, C2;	/* registers: C1 loaded, C2 from i, W a value */
	int csz;			/* C1's load size (csx: sign-extending) */
	bool csx, clean, inc_first;
	int32_t c2max;			/* C2's values lie in [0, c2max] (about) */
	int E;				/* clean: every access at A lies in [A, A + E) */
	const struct loop *lp;
	int cont;			/* where continue goes */
};

static const uint8_t sel_ops[11] = { BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				     BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET };

/* An offset from A for an access of sz bytes (clean: one that ends by E). */
static int16_t sel_off(struct gen *g, const struct sel *s, int sz)
{
	if (!s->clean)
		return acc_off(g);
	int room = s->E - size_bytes(sz);
	return (int16_t)(pct(g, 30) ? room : (int)rnd(g, (uint64_t)room + 1));
}

static void sel_load_c1(struct gen *g, const struct sel *s, int16_t off)
{
	emit(g, s->csx ? BPF_LDX_MEMSX(s->csz, s->C1, s->A, off) : BPF_LDX_MEM(s->csz, s->C1, s->A, off));
}

/* An immediate that splits the values register r holds. */
static int32_t sel_imm(struct gen *g, const struct sel *s, int r, uint8_t op)
{
	if (op == BPF_JSET)
		return pct(g, 75) ? (int32_t)(1u << rnd(g, 8)) : pct(g, 50) ? INT32_MIN :
		       -(int32_t)(1u << rnd(g, 8));
	if (r == s->C1) {
		if (pct(g, 25))
			return rrange(g, -1, 3);	/* memory of zeros or of 0..3 */
		switch (s->csz) {
		case BPF_B: return s->csx ? rrange(g, -128, 127) : (int32_t)rnd(g, 256);
		case BPF_H: return s->csx ? rrange(g, -32768, 32767) : (int32_t)rnd(g, 65536);
		case BPF_W: return !s->csx && pct(g, 60) ? (int32_t)(next64(g) >> 33) : (int32_t)next64(g);
		default: return (int32_t)next64(g);
		}
	}
	if (r == s->I)
		return pct(g, 70) ? (int32_t)rnd(g, 64) : (int32_t)rnd(g, MEM_MAX + 1);
	return (int32_t)rnd(g, (uint64_t)s->c2max + 2);
}

static void sel_test(struct gen *g, const struct sel *s, struct stest *t)
{
	static const uint8_t wd[3] = { 55, 30, 15 };
	int k = weighted(g, wd, 3);
	t->dst = k == 0 ? s->C1 : k == 1 ? s->C2 : s->I;
	t->op = sel_ops[rnd(g, 11)];
	t->j32 = pct(g, 25);
	t->src = -1;
	t->imm = 0;
	if (pct(g, 30)) {
		const int regs[4] = { s->C1, s->C2, s->I, s->L };
		t->src = regs[rnd(g, 4)];
	} else {
		t->imm = sel_imm(g, s, t->dst, t->op);
	}
}

static struct bpf_insn sel_jmp(const struct stest *t)
{
	if (t->src >= 0)
		return t->j32 ? BPF_JMP32_REG(t->op, t->dst, t->src, 0) :
				BPF_JMP_REG(t->op, t->dst, t->src, 0);
	return t->j32 ? BPF_JMP32_IMM(t->op, t->dst, t->imm, 0) : BPF_JMP_IMM(t->op, t->dst, t->imm, 0);
}

/* A test that is not t's: another immediate (one off, mostly), another source
 * (register, or K <-> X), another opcode (the negation, or any), jmp32 <-> jmp,
 * another register tested. */
static void sel_mutate(struct gen *g, const struct sel *s, struct stest *t)
{
	const int regs[4] = { s->C1, s->C2, s->I, s->L };
	unsigned r = (unsigned)rnd(g, 5);
	if (r == 0 && t->src >= 0)
		r = 1;	/* no immediate to change in the register form */
	switch (r) {
	case 0:
		if (t->op == BPF_JSET)
			t->imm ^= (int32_t)(1u << rnd(g, 9));
		else
			t->imm = (int32_t)((uint32_t)t->imm + (pct(g, 70) ? (pct(g, 50) ? 1u : UINT32_MAX) :
							   (uint32_t)rrange(g, 2, 64)));
		break;
	case 1:
		if (t->src >= 0 && pct(g, 40)) {
			t->imm = sel_imm(g, s, t->dst, t->op);
			t->src = -1;
		} else {
			int old = t->src;
			do
				t->src = regs[rnd(g, 4)];
			while (t->src == old);
			t->imm = 0;
		}
		break;
	case 2: {
		uint8_t old = t->op;
		if (old != BPF_JSET && pct(g, 50))
			t->op = d_negate(old);
		else
			do
				t->op = sel_ops[rnd(g, 11)];
			while (t->op == old);
		break;
	}
	case 3:
		t->j32 = !t->j32;
		break;
	default: {
		int old = t->dst;
		do
			t->dst = regs[rnd(g, 3)];
		while (t->dst == old);
		break;
	}
	}
}

/* An arm of a select: ALU on r0 or W, a load folded into r0 or into W, a store, an
 * atomic, a load at a data-dependent address (A + (C1 & 15): not covered by the
 * entry check, it may fault in the fast copy); in a G (wide) also a new value of
 * C1 or C2. None writes I, A, B, L (nor, unless wide, C1 or C2). */
static void sel_unit(struct gen *g, const struct sel *s, bool wide)
{
	static const int alu[10] = { BPF_ADD, BPF_SUB, BPF_OR, BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH,
				     BPF_ARSH, BPF_MUL, BPF_MOV };
	static const int aops[10] = { BPF_ADD, BPF_ADD | BPF_FETCH, BPF_OR, BPF_OR | BPF_FETCH, BPF_AND,
				      BPF_AND | BPF_FETCH, BPF_XOR, BPF_XOR | BPF_FETCH, BPF_XCHG,
				      BPF_CMPXCHG };
	unsigned r = (unsigned)rnd(g, 100);
	int D = pct(g, 60) ? 0 : s->W, sz = sizes[rnd(g, 4)];
	if (r < 30 || (r >= 88 && r < 95 && !wide)) {
		int op = alu[rnd(g, 10)];
		bool a32 = pct(g, 20);
		int32_t imm = op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH ?
			      (int32_t)rnd(g, a32 ? 32 : 64) :
			      pct(g, 70) ? rrange(g, -16, 300) : (int32_t)next64(g);
		emit(g, a32 ? BPF_ALU32_IMM(op, D, imm) : BPF_ALU64_IMM(op, D, imm));
	} else if (r < 45) {
		const int srcs[6] = { s->T, s->C1, s->C2, s->I, s->W, 0 };
		int op = alu[rnd(g, 10)], src = srcs[rnd(g, 6)];
		emit(g, pct(g, 20) ? BPF_ALU32_REG(op, D, src) : BPF_ALU64_REG(op, D, src));
	} else if (r < 58) {
		emit(g, BPF_LDX_MEM(sz, s->T, s->A, sel_off(g, s, sz)));
		emit(g, BPF_ALU64_REG(pct(g, 50) ? BPF_ADD : BPF_XOR, 0, s->T));
	} else if (r < 66) {
		int16_t off = sel_off(g, s, sz);
		emit(g, sz != BPF_DW && pct(g, 25) ? BPF_LDX_MEMSX(sz, s->W, s->A, off) :
						      BPF_LDX_MEM(sz, s->W, s->A, off));
	} else if (r < 76) {
		const int srcs[5] = { s->W, s->I, s->C1, s->T, 0 };
		emit(g, BPF_STX_MEM(sz, s->A, srcs[rnd(g, 5)], sel_off(g, s, sz)));
	} else if (r < 82) {
		emit(g, BPF_ST_MEM(sz, s->A, sel_off(g, s, sz), rrange(g, -4, 300)));
	} else if (r < 88) {
		sz = pct(g, 50) ? BPF_W : BPF_DW;
		emit(g, BPF_ATOMIC_OP(sz, aops[rnd(g, 10)], s->A, s->T, sel_off(g, s, sz)));
	} else if (r < 95) {
		if (pct(g, 50))
			sel_load_c1(g, s, sel_off(g, s, s->csz));
		else
			emit(g, BPF_ALU64_IMM(pct(g, 50) ? BPF_ADD : BPF_XOR, s->C2, rrange(g, 1, 3)));
	} else {
		emit(g, BPF_MOV64_REG(s->T, s->C1));
		emit(g, BPF_ALU64_IMM(BPF_AND, s->T, 15));
		emit(g, BPF_ALU64_REG(BPF_ADD, s->T, s->A));
		emit(g, BPF_LDX_MEM(sz, s->T, s->T, (int16_t)rnd(g, 8)));
		emit(g, BPF_ALU64_REG(BPF_XOR, 0, s->T));
	}
}

/* An instruction that writes r: 64-bit, the 32-bit half only (add 0 and w = w change
 * only the upper half), a load into it, a move, an atomic's fetch into it. */
static void sel_clobber(struct gen *g, const struct sel *s, int r)
{
	int sz = sizes[rnd(g, 4)];
	switch (rnd(g, 6)) {
	case 0:
		emit(g, BPF_ALU64_IMM(pct(g, 50) ? BPF_ADD : BPF_XOR, r, rrange(g, 1, 8)));
		break;
	case 1:
		emit(g, BPF_ALU32_IMM(pct(g, 50) ? BPF_ADD : BPF_XOR, r, pct(g, 40) ? 0 : rrange(g, 1, 8)));
		break;
	case 2:
		emit(g, BPF_MOV32_REG(r, r));
		break;
	case 3:
		emit(g, BPF_LDX_MEM(sz, r, s->A, sel_off(g, s, sz)));
		break;
	case 4:
		emit(g, pct(g, 50) ? BPF_MOV64_REG(r, s->W) : BPF_MOV64_IMM(r, sel_imm(g, s, r, BPF_JGT)));
		break;
	default:
		sz = pct(g, 50) ? BPF_W : BPF_DW;
		emit(g, BPF_ATOMIC_OP(sz, pct(g, 70) ? BPF_ADD | BPF_FETCH : BPF_XCHG, s->A, r,
				      sel_off(g, s, sz)));
		break;
	}
}

/* A conditional jump to l on i, W or r0 (reads only). */
static void sel_side_jump(struct gen *g, const struct sel *s, int l)
{
	switch (rnd(g, 3)) {
	case 0:
		emit_to(g, BPF_JMP_IMM(BPF_JSET, s->I, 1 << rnd(g, 3), 0), l);
		break;
	case 1:
		emit_to(g, BPF_JMP_IMM(BPF_JGT, s->W, (int32_t)rnd(g, 256), 0), l);
		break;
	default:
		emit_to(g, BPF_JMP_IMM(BPF_JSLT, 0, 0, 0), l);
		break;
	}
}

/* Before a chain's first test: a unit, C1 loaded again (elsewhere), C2 changed. */
static void sel_pre(struct gen *g, const struct sel *s)
{
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 25)
		sel_load_c1(g, s, sel_off(g, s, s->csz));
	else if (r < 35)
		emit(g, BPF_ALU64_IMM(BPF_ADD, s->C2, 1));
	else
		sel_unit(g, s, false);
}

/* A switch on C1 or C2 as clang compiles a small one: 3-6 compares (== mostly, a <
 * that splits), the cases and a default that end at a join. Its compare chain makes
 * the decision-tree plan the cheaper one for a loop with few selects. */
static void sel_switch(struct gen *g, const struct sel *s)
{
	int K = pct(g, 60) ? s->C1 : s->C2, n = rrange(g, 3, 6), join = label(g), cl[6];
	for (int c = 0; c < n; c++) {
		cl[c] = label(g);
		int32_t v = sel_imm(g, s, K, BPF_JEQ);
		emit_to(g, pct(g, 80) ? BPF_JMP_IMM(BPF_JEQ, K, v, 0) :
			pct(g, 50) ? BPF_JMP_IMM(BPF_JLT, K, v, 0) : BPF_JMP32_IMM(BPF_JEQ, K, v, 0), cl[c]);
	}
	sel_unit(g, s, false);	/* the default */
	emit_to(g, BPF_JMP_A(0), join);
	for (int c = 0; c < n; c++) {
		bind(g, cl[c]);
		for (int k = 1 + (int)rnd(g, 2); k > 0; k--)
			sel_unit(g, s, false);
		if (c + 1 < n)
			emit_to(g, BPF_JMP_A(0), join);
	}
	bind(g, join);
}

/* Where a chain's last test goes and what follows its last G. */
enum { SE_NONE, SE_JUMP, SE_DROP, SE_COLD };

/* One chain of 2-4 tests ending at label end (bound here, but for SE_COLD); far: a
 * label further on the last test may go to (-1: none). how: SE_JUMP: the last G ends
 * in "goto far" (or continue); SE_DROP: no last G, the last test goes to far (its
 * fall-through is what follows: the header of a loop entered there); SE_COLD: out of
 * line, the last test goes back to end in the loop and the last G exits. */
static void sel_chain(struct gen *g, const struct sel *s, int end, int far, int how)
{
	int m = pct(g, 82) ? 2 : pct(g, 80) ? 3 : 4;
	int nm = pct(g, 50) ? SN_NONE : 1 + (int)rnd(g, N_SN - 1);
	int jn = (int)rnd(g, (uint64_t)m - 1);	/* X = test jn, T = test jn + 1 */
	struct stest t0;
	sel_test(g, s, &t0);
	int clob = -1;
	if (nm == SN_FWRITE) {
		int c[2], n = 0;
		if (t0.dst != s->I)
			c[n++] = t0.dst;
		if (t0.src >= 0 && t0.src != s->I && t0.src != s->L && t0.src != t0.dst)
			c[n++] = t0.src;
		if (n)
			clob = c[rnd(g, (uint64_t)n)];
		else
			nm = SN_TDIFF;
	}
	int lab[5], flab = label(g), glab = label(g);
	for (int j = 1; j < m; j++)
		lab[j] = label(g);
	lab[m] = how == SE_DROP || (far >= 0 && pct(g, 15)) ? far : end;
	for (int n = (int)rnd(g, 3); n > 0; n--)
		sel_pre(g, s);
	if (nm == SN_PRED) {
		unsigned r = (unsigned)rnd(g, 3);
		sel_side_jump(g, s, r == 0 ? flab : r == 1 ? lab[jn + 1] : glab);
	}
	for (int j = 0; j < m; j++) {
		bool tj = j == jn + 1, last = j == m - 1;
		struct stest t = t0;
		if (j)
			bind(g, lab[j]);
		if (tj && nm == SN_LONG)
			sel_unit(g, s, false);
		if (tj && nm == SN_TDIFF)
			sel_mutate(g, s, &t);
		int to = lab[j + 1], next = -1;
		if (tj && nm == SN_BREAK)
			to = s->lp->out;
		else if (tj && nm == SN_CONT)
			to = s->cont;
		else if (tj && nm == SN_T2G)
			to = next = label(g);
		emit_to(g, sel_jmp(&t), to);
		if (next >= 0)
			bind(g, next);
		if (j == jn)
			bind(g, flab);
		if (tj)
			bind(g, glab);
		if (last && how == SE_DROP)
			break;
		/* the block after test j: F of the next test (writes no test register),
		 * or the chain's last G */
		int n = 1 + (int)rnd(g, 3), at = j == jn && nm == SN_FWRITE ? (int)rnd(g, (uint64_t)n) : -1;
		for (int k = 0; k < n; k++) {
			if (k == at)
				sel_clobber(g, s, clob);
			else
				sel_unit(g, s, last);
		}
		if (j == jn && nm == SN_FJUMP) {
			switch (rnd(g, 4)) {
			case 0: emit_to(g, BPF_JMP_A(0), lab[j + 1]); break;	/* ja +0 */
			case 1: sel_side_jump(g, s, lab[j + 1]); break;		/* both ways */
			case 2: sel_side_jump(g, s, s->lp->out); break;
			default: sel_side_jump(g, s, s->cont); break;
			}
		}
	}
	if (how == SE_JUMP)
		emit_to(g, BPF_JMP_A(0), far >= 0 ? far : s->cont);
	if (how == SE_COLD)
		emit(g, BPF_EXIT_INSN());
	else
		bind(g, end);
}

static void fam_selects(struct gen *g)
{
	struct sel s;
	memset(&s, 0, sizeof(s));
	base_len(g, &s.B, &s.L);
	s.I = reg_pick(g, ANY);
	s.A = reg_pick(g, ANY);
	s.T = temp(g);
	s.W = temp(g);
	s.C1 = temp(g);
	s.C2 = temp(g);
	struct loop lp = new_loop(g, s.I, false);
	s.lp = &lp;
	lp.alu32 = lp.alu32 && pct(g, 50);
	unsigned e = (unsigned)rnd(g, 100);
	lp.entry = e < 12 ? ENTRY_TEST : e < 24 ? ENTRY_MID : ENTRY_TOP;
	s.inc_first = pct(g, 30);
	s.clean = pct(g, 40);
	s.E = rrange(g, 8, 24);
	static const uint8_t wsz[4] = { 45, 20, 20, 15 };
	s.csz = sizes[weighted(g, wsz, 4)];
	s.csx = s.csz != BPF_DW && pct(g, 20);
	int16_t coff = s.clean ? (int16_t)(s.E - size_bytes(s.csz)) : acc_off(g);
	/* a chain on the loop's own condition just before its test: T is the latch's
	 * test, T2 the header and G the exit */
	bool latch_x = pct(g, 10) && (lp.bottom || lp.entry != ENTRY_TOP);

	/* the bound: clean ones where the accesses at A (which end by E, C1's load
	 * exactly there) end at the end of the memory, or a byte short or past it */
	if (s.clean) {
		static const int rows[4] = { 0, 1, 3, 4 };
		int row = rows[rnd(g, 4)];
		lp.op = &up_ops[row];
		lp.s = pct(g, 70) ? 1 : rrange(g, 1, 4);
		int32_t k = s.E - 1 + (row == 1 || row == 4) + (s.inc_first ? lp.s : 0);
		lp.N = reg_pick(g, ANY);
		emit(g, BPF_MOV64_REG(lp.N, s.L));
		emit(g, BPF_ALU64_IMM(BPF_ADD, lp.N, -(k + rrange(g, -1, 1))));
		if (pct(g, 25)) {
			lp.reload = RL_STACK;
			lp.rsz = BPF_DW;
			lp.roff = -8;
			emit(g, BPF_STX_MEM(BPF_DW, 10, lp.N, -8));
		}
		emit(g, BPF_MOV64_IMM(s.I, 0));
	} else {
		pick_bound(g, &lp, s.B, s.L, true);
		pick_step(g, &lp, false);
		mov_imm64(g, s.I, pct(g, 80) ? 0 : pick_i0(g));
	}

	/* 1-6 chains; with a switch before one of them, 1-2 */
	static const uint8_t wp[6] = { 28, 26, 18, 12, 9, 7 };
	bool has_sw = pct(g, 25);
	int np = has_sw ? 1 + (int)rnd(g, 2) : 1 + weighted(g, wp, 6), end[6];
	int sw = has_sw ? (int)rnd(g, (uint64_t)np) : -1;
	int cold = pct(g, 20) ? (int)rnd(g, (uint64_t)np) : -1;	/* out of line, entered there */
	int cold_at = label(g), back = label(g);
	for (int p = 0; p < np; p++)
		end[p] = label(g);
	loop_begin(g, &lp);
	int latch = label(g);
	s.cont = !s.inc_first ? latch : lp.bottom ? lp.test : lp.top;
	if (s.inc_first)
		loop_inc(g, &lp);
	int p0 = 0;
	if (lp.entry == ENTRY_MID) {
		/* a chain before the middle (with the previous iteration's values) whose
		 * last test goes past it, and whose fall-through is the header */
		sel_chain(g, &s, end[0], np > 1 ? end[1] : latch, SE_DROP);
		p0 = 1;
		bind(g, lp.mid);
	}
	form_addr(g, s.A, s.B, s.I);
	sel_load_c1(g, &s, coff);
	/* C2: i & mask, i >> sh, i + k, or a byte loaded */
	emit(g, BPF_MOV64_REG(s.C2, s.I));
	switch (rnd(g, 4)) {
	case 0:
		s.c2max = (int32_t)(1u << rrange(g, 1, 4)) - 1;
		emit(g, BPF_ALU64_IMM(BPF_AND, s.C2, s.c2max));
		break;
	case 1: {
		int sh = rrange(g, 1, 3);
		s.c2max = MEM_MAX >> sh;
		emit(g, BPF_ALU64_IMM(BPF_RSH, s.C2, sh));
		break;
	}
	case 2:
		s.c2max = 64;
		emit(g, BPF_ALU64_IMM(BPF_ADD, s.C2, rrange(g, -8, 8)));
		break;
	default:
		s.c2max = 255;
		emit(g, BPF_LDX_MEM(BPF_B, s.C2, s.A, sel_off(g, &s, BPF_B)));
		break;
	}
	/* the last chain of a loop entered at its test may break out and fall into
	 * the header (G) */
	bool drop = lp.entry == ENTRY_TEST && s.inc_first && !latch_x && pct(g, 40);
	for (int p = p0; p < np; p++) {
		if (g->cnt > 300) {	/* room for the rest: MAX_INSNS */
			bind(g, end[p]);
			continue;
		}
		if (p == sw)
			sel_switch(g, &s);
		if (p == cold) {
			sel_side_jump(g, &s, cold_at);
			bind(g, back);
		}
		int far = p + 1 < np ? end[p + 1] : -1;
		if (drop && p + 1 == np)
			sel_chain(g, &s, end[p], lp.out, SE_DROP);
		else
			sel_chain(g, &s, end[p], far, pct(g, 10) ? SE_JUMP : SE_NONE);
	}
	bind(g, latch);
	if (!s.inc_first)
		loop_inc(g, &lp);
	if (latch_x) {
		loop_cmp(g, &lp, false, lp.test);
		for (int n = 1 + (int)rnd(g, 3); n > 0; n--)
			sel_unit(g, &s, false);
	}
	loop_end(g, &lp);
	emit(g, BPF_ALU64_REG(BPF_ADD, 0, s.W));
	emit(g, BPF_ALU64_REG(BPF_XOR, 0, s.I));
	emit(g, BPF_EXIT_INSN());
	if (g->lab[back] >= 0) {	/* the chain out of line: back into the loop, or out */
		bind(g, cold_at);
		if (g->cnt < 400)
			sel_chain(g, &s, back, -1, SE_COLD);
		else
			emit_to(g, BPF_JMP_A(0), back);
	}
}

/* ---- One program ------------------------------------------------------------------------ */

void generate(struct gen *g, uint64_t index)
{
	memset(g, 0, sizeof(*g));
	g->s = SEED + index * 0xd1342543de82ef95ull;
	g->hint = -1;
	g->edge = -1;
	g->family = (int)(index % N_FAMILIES);
	if (pct(g, 10))
		g->ro_len = (uint32_t)(1 + rnd(g, MEM_MAX));
	switch (g->family) {
	case F_COUNTED: fam_counted(g); break;
	case F_COPIES: fam_copies(g); break;
	case F_POINTER: fam_pointer(g); break;
	case F_TWO: fam_two(g); break;
	case F_SHAPES: fam_shapes(g); break;
	case F_CALLS: fam_calls(g); break;
	case F_TREES: fam_trees(g); break;
	case F_DATA: fam_data(g); break;
	default: fam_selects(g); break;
	}
	resolve(g);
}
