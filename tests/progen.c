/*
 * progen.c — random valid eBPF programs from the instruction table, and the
 * differential runner (see progen.h for the contract).
 *
 * How a program is laid out. The main program and up to three subprograms, one
 * after the other, each:
 *   prologue   save r1 (context memory) at [r10-24] and r2 (its length) at
 *              [r10-32] of the frame (the 16 bytes above them are where map
 *              lookups keep their keys, as clang does at r10-4) — in a
 *              subprogram run as a bpf_loop
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
 * (lddw src=4; a few loop counts and flags out of the helper's range), exit,
 * and in programs that look maps up (maps_on) a lookup sequence (below).
 *
 * Map lookups (item_lookup). clang's shape is
 *	*(u32 *)(r10 - 4) = key; r2 = r10; r2 += -4; r1 = map ll; call 1;
 *	if r0 == 0 goto +n; <accesses through r0>
 * which the JIT inlines for the array maps when r1 and r2 are known in the
 * call's block and the key lies in [r10-512, r10-4], and whose argument set-up it
 * then drops. Each part varies: the map (each of the three, by address or by
 * index, through another register, or not a map at all); the key (in range, at
 * max_entries, past it, huge, negative; stored as a word, a double word, from a
 * register, through r2, or not at all) and where it lies (r10-4, -8, -12, -512,
 * -510, odd offsets, -2 and above r10, which cross the frame's top); how r2 gets
 * there (add, sub, through another register, two steps, two paths joined by a
 * branch so that nothing is known in the call's block; or r2 pointing into an
 * array value, a held lookup result or the context memory); dead argument
 * set-up and live copies of r1 and r2 into callee-saved registers before the
 * call (the JIT must keep what is read); call or callx. After it: r0 maybe kept
 * in r6..r9 (later memory items sometimes go through it), maybe copied to one
 * of r1..r5 (rewritten, so readable), the null check (or none, or inverted),
 * loads, stores and atomics at offsets inside the value, in its padding, across
 * its end, at the next element or CPU slot, past the array's end, before the
 * value, anywhere; then r1..r5 written again — or first passed as they are (0
 * on every engine) to a subprogram. Some sequences run in a counted loop whose
 * counter may be the key (mostly counting up to a bound, a loop the JIT
 * versions). In a few programs (shadow_lookup) helper 1 is the program's own
 * progen_mix, and no engine may take `call 1` for a lookup.
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

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "maps/map.h"

#define R10	10
#define SLOT_MEM	(-24)	/* [r10-24]: the context memory pointer */
#define SLOT_LEN	(-32)	/* [r10-32]: its length */
#define KEY_AREA	(-16)	/* [r10-16, r10): lookup keys (and other stack data) */
#define R(n)		((uint16_t)(1u << (n)))
#define EPILOGUE_MAX	5	/* fold up to 4 registers, exit */
#define MIN_SUB_BODY	14	/* body slots of a subprogram, at least */
/* Body slots of all subprograms together, at most: prologues (10 slots each)
 * and epilogues must fit in PROGEN_MAX_INSNS too. */
#define MAX_BODY	(PROGEN_MAX_INSNS - 10 - 10 * (PROGEN_MAX_SUBPROGS - 1) - \
			 EPILOGUE_MAX * PROGEN_MAX_SUBPROGS)

/* ---- Helpers the programs call -------------------------------------------------- */

#define ID_LOOKUP	1u	/* bpf_map_lookup_elem (the built-in one) */
#define ID_SUM		2u	/* shadows bpf_map_update_elem */
#define ID_MIX		(BPFVM_HELPER_USER_BASE + 0x4002u)
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

/* For programs with shadow_lookup: helper 1 is the program's own (progen_mix),
 * so no engine may treat `call 1` as a map lookup. */
static const struct bpfvm_helper shadow_helpers[] = {
	{ .id = ID_MIX, .name = "progen_mix", .fn = h_mix },
	{ .id = ID_SUM, .name = "progen_sum", .fn = h_sum },
	{ .id = ID_STOP, .name = "progen_stop", .fn = h_stop },
	{ .id = ID_CMP, .name = "progen_cmp", .fn = h_cmp },
	{ .id = ID_LOOKUP, .name = "progen_mix", .fn = h_mix },
};

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

/* ---- Maps ------------------------------------------------------------------------ */

struct bpfvm_map *progen_maps[PROGEN_MAPS];
int progen_cpu_slot = -1;

/* The ARRAY's 20-byte value leaves 4 bytes of padding in its 24-byte stride (an
 * imul in the inlined lookup); the PERCPU_ARRAY's 16 bytes none (a shift). */
static const struct {
	enum bpfvm_map_type type;
	const char *name;
	uint32_t value_size, max_entries;
} map_defs[PROGEN_MAPS] = {
	[PROGEN_MAP_ARRAY] = { BPFVM_MAP_TYPE_ARRAY, "progen_array", 20, 7 },
	[PROGEN_MAP_PERCPU] = { BPFVM_MAP_TYPE_PERCPU_ARRAY, "progen_percpu", 16, 4 },
	[PROGEN_MAP_HASH] = { BPFVM_MAP_TYPE_HASH, "progen_hash", 12, 8 },
};
#define HASH_VALUE	12
/* The keys the HASH holds; lookups of others find nothing. */
static const uint32_t hash_keys[] = { 0, 2, 0xffffffffu };
#define N_HASH_KEYS	(sizeof(hash_keys) / sizeof(hash_keys[0]))

/* The arrays' layouts, and the bytes of their values block: every CPU slot's
 * max_entries strides (what a program can reach lies inside). */
static struct vm_array_layout layouts[PROGEN_MAP_HASH];
static size_t block_len[PROGEN_MAP_HASH];
/* Map images (see struct progen_outcome): the initial contents, and one per
 * engine index for progen_compare's outcomes. */
static uint8_t *init_img, *run_img[3];
static size_t img_len;

static void *take_slot(void *arg)
{
	(void)arg;
	vm_cpu_slot();
	return NULL;
}

static _Noreturn void maps_fail(const char *what)
{
	fprintf(stderr, "progen: cannot create the maps (%s)\n", what);
	abort();
}

/* Creates the maps, once per process, and their initial image. */
static void maps_init(void)
{
	if (progen_maps[0])
		return;
	/* Another thread takes CPU slot 0 first, so this one (which runs the
	 * programs) gets slot 1 where there are two: a per-CPU lookup that forgot
	 * the slot would read slot 0's values, which differ. */
	pthread_t t;
	if (bpfvm_num_cpu_slots() > 1 && pthread_create(&t, NULL, take_slot, NULL) == 0)
		pthread_join(t, NULL);
	progen_cpu_slot = vm_cpu_slot();
	for (int m = 0; m < PROGEN_MAPS; m++) {
		progen_maps[m] = bpfvm_map__create(map_defs[m].type, map_defs[m].name, 4,
						   map_defs[m].value_size, map_defs[m].max_entries,
						   NULL);
		if (!progen_maps[m])
			maps_fail(map_defs[m].name);
	}
	img_len = 0;
	for (int m = 0; m < PROGEN_MAP_HASH; m++) {
		struct vm_array_layout *l = &layouts[m];
		if (!vm_map_array_layout(progen_maps[m], l))
			maps_fail("array layout");
		block_len[m] = (size_t)(l->slots - 1) * l->cpu_stride +
			       (size_t)l->max_entries * l->stride;
		img_len += block_len[m];
	}
	img_len += N_HASH_KEYS * (1 + HASH_VALUE) + 4;
	init_img = malloc(img_len);
	for (size_t e = 0; e < 3; e++)
		run_img[e] = malloc(img_len);
	if (!init_img || !run_img[0] || !run_img[1] || !run_img[2])
		maps_fail("out of memory");
	/* Values: the word at every multiple of 8 small (a key, when r2 points
	 * there), bytes that differ from element to element and from CPU slot to
	 * CPU slot in between; every key of the HASH present. */
	size_t at = 0;
	for (int m = 0; m < PROGEN_MAP_HASH; m++)
		for (size_t i = 0; i < block_len[m]; i++, at++)
			init_img[at] = (uint8_t)(i % 8 == 0 ? i / 8 : i % 8 < 4 ? 0 :
						 i * 37 + 11 * (size_t)m + 1);
	for (size_t k = 0; k < N_HASH_KEYS; k++) {
		init_img[at++] = 1;
		for (size_t b = 0; b < HASH_VALUE; b++)
			init_img[at++] = (uint8_t)(b % 4 ? 0x90 + 16 * k + b : k + 1);
		if (bpfvm_map__update_elem(progen_maps[PROGEN_MAP_HASH], &hash_keys[k], 4,
					   init_img + at - HASH_VALUE, HASH_VALUE, BPFVM_ANY))
			maps_fail("hash update");
	}
	uint32_t n = N_HASH_KEYS;
	memcpy(init_img + at, &n, 4);
	progen_maps_reset();
}

static bool is_hash_key(uint32_t k)
{
	for (size_t j = 0; j < N_HASH_KEYS; j++)
		if (hash_keys[j] == k)
			return true;
	return false;
}

void progen_maps_reset(void)
{
	size_t at = 0;
	for (int m = 0; m < PROGEN_MAP_HASH; m++) {
		memcpy(layouts[m].values, init_img + at, block_len[m]);
		at += block_len[m];
	}
	/* The HASH: its values written in place (their addresses stay), any other
	 * key deleted. */
	struct bpfvm_map *h = progen_maps[PROGEN_MAP_HASH];
	for (size_t k = 0; k < N_HASH_KEYS; k++)
		bpfvm_map__update_elem(h, &hash_keys[k], 4,
				       init_img + at + k * (1 + HASH_VALUE) + 1, HASH_VALUE,
				       BPFVM_ANY);
	uint32_t key, next;
	for (int r = bpfvm_map__get_next_key(h, NULL, &next, 4); !r;
	     r = bpfvm_map__get_next_key(h, &key, &next, 4)) {
		key = next;
		if (!is_hash_key(key))	/* then the walk starts over */
			bpfvm_map__delete_elem(h, &key, 4, 0);
	}
}

/* The maps' contents into img (img_len bytes). */
static void maps_snapshot(uint8_t *img)
{
	size_t at = 0;
	for (int m = 0; m < PROGEN_MAP_HASH; m++) {
		memcpy(img + at, layouts[m].values, block_len[m]);
		at += block_len[m];
	}
	struct bpfvm_map *h = progen_maps[PROGEN_MAP_HASH];
	for (size_t k = 0; k < N_HASH_KEYS; k++, at += 1 + HASH_VALUE) {
		memset(img + at, 0, 1 + HASH_VALUE);
		img[at] = !bpfvm_map__lookup_elem(h, &hash_keys[k], 4, img + at + 1, HASH_VALUE, 0);
	}
	uint32_t n = 0, key, next;
	for (int r = bpfvm_map__get_next_key(h, NULL, &next, 4); !r && n < 1000;
	     r = bpfvm_map__get_next_key(h, &key, &next, 4), n++)
		key = next;
	memcpy(img + at, &n, 4);
}

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
 * two saved slots or, one time in eight, in the key area above them; aligned
 * unless misalign) or, with probability 1/24, just outside the frame (above r10
 * is the caller's frame in a subprogram, outside the stack in the main
 * program). */
static int32_t stack_off(struct progen *g, unsigned size, bool misalign)
{
	int32_t lo = -BPFVM_STACK_SIZE, hi = SLOT_LEN - (int32_t)size;
	if (chance(g, 1, 24)) {
		switch (rnd(g, 3)) {
		case 0: return lo - 1 - (int32_t)rnd(g, 8);
		case 1: return -(int32_t)size + 1 + (int32_t)rnd(g, 8);
		default: return (int32_t)rnd(g, 16);
		}
	}
	if (chance(g, 1, 8)) {
		lo = KEY_AREA;
		hi = -(int32_t)size;
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

/* An offset from a lookup's result (map m; idx the array index it is at, or -1)
 * for an access of size bytes: mostly inside the value (aligned if align), else
 * in the padding after it, across its end, at the next element or CPU slot, at
 * the array's last bytes or just past them, before the value, anywhere near. */
static int32_t value_off(struct progen *g, int m, int32_t idx, unsigned size, bool align)
{
	const int32_t vs = (int32_t)map_defs[m].value_size, sz = (int32_t)size;
	const int32_t stride = (vs + 7) & ~7, max = (int32_t)map_defs[m].max_entries;
	const int32_t cpu = m == PROGEN_MAP_PERCPU ? (int32_t)layouts[m].cpu_stride : 0;
	const int32_t left = idx >= 0 ? max - idx : 1;	/* elements from here to the end */
	int32_t off;
	switch (rnd(g, 20)) {
	default:					/* inside, aligned */
		off = sz * (int32_t)rnd(g, (uint64_t)((vs - sz) / sz + 1));
		break;
	case 10: case 11:				/* inside, anywhere */
		off = (int32_t)rnd(g, (uint64_t)(vs - sz + 1));
		break;
	case 12:					/* the padding (or past it) */
		off = vs + (int32_t)rnd(g, (uint64_t)(stride - vs + 1));
		break;
	case 13:					/* across the value's end */
		off = vs - sz + 1 + (int32_t)rnd(g, size);
		break;
	case 14:					/* the next element, CPU slot */
		off = (cpu && chance(g, 1, 2) ? cpu : stride) + sz * (int32_t)rnd(g, 2);
		break;
	case 15: case 16:				/* the array's end */
		off = chance(g, 1, 2) ? (left - 1) * stride + vs - sz + (int32_t)rnd(g, 2)
				      : left * stride + (int32_t)rnd(g, 16) - 8;
		break;
	case 17:					/* before the value */
		off = chance(g, 1, 2) ? -sz * (1 + (int32_t)rnd(g, 2)) : -stride;
		break;
	case 18:					/* the previous CPU slot */
		off = cpu ? -cpu + sz * (int32_t)rnd(g, 2) : -(int32_t)rnd(g, 64);
		break;
	case 19:					/* anywhere near */
		off = (int32_t)rnd(g, 1024) - 512;
		break;
	}
	return align ? off & -sz : off;
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

	const unsigned where = g->held_reg && chance(g, 1, 6) ? 48 : (unsigned)rnd(g, 48);
	if (where == 48) {			/* a lookup's result kept in r6..r9 */
		base = g->held_reg;
		off = value_off(g, g->held_map, g->held_idx, size, !misalign);
		setup = false;
	} else if (where < 18) {		/* the stack, through r10 */
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

/* ---- Map lookups (see the comment at the top) ------------------------------------------ */

/* A register of mask, uniformly (mask must not be empty). */
static uint8_t pick_reg(struct progen *g, uint16_t mask)
{
	unsigned n = (unsigned)__builtin_popcount(mask), k = (unsigned)rnd(g, n);
	for (uint8_t r = 0; r <= R10; r++)
		if ((mask & R(r)) && k-- == 0)
			return r;
	return 0;
}
#define CALLEE_SAVED	(R(6) | R(7) | R(8) | R(9))
#define ARG_REGS	(R(1) | R(2) | R(3) | R(4) | R(5))

/* Where keys lie, from r10: clang's -4 most often; -2 and up cross the frame's
 * top (-4 is the last offset the JIT inlines); -520 and -600 lie below the frame
 * in use, which a helper refuses (vm_mem_ok: NULL), as stale stack of another
 * frame or run. */
static const int16_t key_offs[] = {
	-4, -4, -4, -4, -4, -8, -12, -16, -512, -510, -508, -5, -7, -13, -511, -2, -3, 0, 4,
	-520, -600,
};
#define N_KEY_OFFS (sizeof(key_offs) / sizeof(key_offs[0]))

/* A key for map m (in range or present, at max_entries, past it, huge,
 * negative, random), and the array index it selects (-1: none). */
static uint32_t pick_key(struct progen *g, int m, int32_t *idx)
{
	static const uint32_t huge[] = { 0x7fffffffu, 0x80000000u, 0xffffffffu, 0x10000u };
	const uint32_t max = map_defs[m].max_entries;
	uint32_t k;
	switch (rnd(g, 11)) {
	default:
		k = m == PROGEN_MAP_HASH ? hash_keys[rnd(g, N_HASH_KEYS)] : (uint32_t)rnd(g, max);
		break;
	case 6: k = max; break;
	case 7: k = max + 1 + (uint32_t)rnd(g, 3); break;
	case 8: k = huge[rnd(g, 4)]; break;
	case 9: k = (uint32_t)-(int32_t)(1 + rnd(g, 4)); break;
	case 10: k = (uint32_t)rnd(g, 0x100000000ull); break;
	}
	*idx = m != PROGEN_MAP_HASH && k < max ? (int32_t)k : -1;
	return k;
}

/* lddw rd with pseudo source src: the low half of v in the first slot's imm,
 * the high half in the second's. */
static void emit_imm64(struct progen *g, uint8_t rd, uint8_t src, uint64_t v)
{
	emit(g, BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, rd, src, 0, (int32_t)(uint32_t)v));
	g->noland[emit(g, BPFVM_INSN(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32)))] = 1;
}

/* rd = map m: lddw of its address, or of its index (src 1 or 5). */
static void emit_map_ref(struct progen *g, uint8_t rd, int m)
{
	static const uint8_t srcs[] = { 0, 0, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX };
	const uint8_t src = srcs[rnd(g, 4)];
	emit_imm64(g, rd, src, src ? (uint64_t)m : (uint64_t)(uintptr_t)progen_maps[m]);
}

/* One load, store or atomic through base (a lookup's result from map m at
 * array index idx, or -1) at value_off. Reads only registers in *readable (after
 * the call r1..r5 are not, until written) and writes none in keep; what it
 * writes becomes readable. */
static void emit_value_access(struct progen *g, uint8_t base, int m, int32_t idx,
			      uint16_t *readable, uint16_t keep)
{
	int row = pick_row(g, CAT_MEM);
	struct bpf_insn in = row_insn(row);
	const int fmt = isa_rows[row].fmt;
	const unsigned size = isa_rows[row].bits / 8;
	if (fmt == ISA_FMT_ATOMIC && in.imm == BPF_CMPXCHG && (base == 0 || (keep & R(0)))) {
		/* cmpxchg reads and writes r0: an add instead (a load if none) */
		int add = isa_find(in.code, BPF_ADD);
		if (add < 0 || !row_on[add])
			add = isa_find(BPF_LDX | BPF_W | BPF_MEM, 0);
		row = add;
		in = row_insn(row);
	}
	const bool atomic = isa_rows[row].fmt == ISA_FMT_ATOMIC;
	in.off = (int16_t)value_off(g, m, idx, size,
				    atomic ? !chance(g, 1, 16) : !chance(g, 1, 4));
	const uint16_t writable = (uint16_t)(0x3ff & ~keep & ~R(base));
	switch (isa_rows[row].fmt) {
	case ISA_FMT_LDX:
		in.src_reg = base;
		in.dst_reg = pick_reg(g, writable);
		*readable |= R(in.dst_reg);
		break;
	case ISA_FMT_ST:
		in.dst_reg = base;
		in.imm = imm32(g);
		break;
	case ISA_FMT_STX:
		in.dst_reg = base;
		in.src_reg = pick_reg(g, *readable);
		break;
	default:	/* atomics: the fetch forms write src */
		in.dst_reg = base;
		if (in.imm & BPF_FETCH) {
			uint16_t ok = (uint16_t)(*readable & writable);
			in.src_reg = ok ? pick_reg(g, ok) : base;
		} else {
			in.src_reg = pick_reg(g, *readable);
		}
		break;
	}
	emit(g, in);
}

enum { K_ST, K_STX, K_DW, K_VIA_R2, K_NONE, K_COUNTER };
enum { R2_ADD, R2_SUB, R2_REG, R2_SPLIT, R2_BRANCH, R2_VALUE, R2_HELD, R2_CTX, R2_JUNK };
enum { R1_MAP, R1_REG, R1_BAD, R1_BRANCH };
/* Slots of the plainest sequence: key 1, r2 2, r1 2, call 1, check 1, access 1,
 * r1..r5 5. */
#define LOOKUP_MIN	13
#define TEMP_REGS	(R(0) | R(3) | R(4) | R(5) | CALLEE_SAVED)

/* r2 = the key's address (or not quite). *keyptr gets r6..r9 if it holds the
 * key's address too (the call leaves it), else 0. */
static void emit_r2(struct progen *g, unsigned form, int32_t koff, uint16_t avoid, uint8_t *keyptr)
{
	*keyptr = 0;
	switch (form) {
	case R2_ADD:
	case R2_BRANCH:
		emit(g, BPF_MOV64_REG(2, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, koff));
		if (form == R2_BRANCH) {
			/* two paths, two keys: nothing is known in the call's block */
			struct bpf_insn j;
			fill_jcond(g, &j, pick_row(g, CAT_JCOND));
			size_t at = emit(g, j);
			emit(g, BPF_MOV64_REG(2, R10));
			emit(g, BPF_ALU64_IMM(BPF_ADD, 2, key_offs[rnd(g, N_KEY_OFFS)]));
			set_target(g, at, g->cnt);
		}
		break;
	case R2_SUB:
		emit(g, BPF_MOV64_REG(2, R10));
		emit(g, BPF_ALU64_IMM(BPF_SUB, 2, -koff));
		break;
	case R2_REG: {
		uint8_t x = pick_reg(g, (uint16_t)(TEMP_REGS & ~avoid));
		emit(g, BPF_MOV64_REG(x, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, x, koff));
		emit(g, BPF_MOV64_REG(2, x));
		if (x >= 6)
			*keyptr = x;
		break;
	}
	case R2_SPLIT: {
		int32_t a = (int32_t)rnd(g, 600) - 500;
		emit(g, BPF_MOV64_REG(2, R10));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, a));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, koff - a));
		break;
	}
	case R2_VALUE: {	/* into the ARRAY's first value (src 2 or 6) */
		uint64_t off = rnd(g, map_defs[PROGEN_MAP_ARRAY].value_size);
		uint8_t src = chance(g, 1, 2) ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_IDX_VALUE;
		emit_imm64(g, 2, src, off << 32 | PROGEN_MAP_ARRAY);
		break;
	}
	case R2_HELD:		/* into a value an earlier lookup found (or NULL) */
		emit(g, BPF_MOV64_REG(2, g->held_reg ? g->held_reg : 0));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, 4 * (int32_t)rnd(g, 4)));
		break;
	case R2_CTX:		/* into the context memory */
		emit(g, BPF_LDX_MEM(BPF_DW, 2, R10, SLOT_MEM));
		emit(g, BPF_ALU64_IMM(BPF_ADD, 2, (int32_t)rnd(g, g->mem_len + 1)));
		break;
	default:
		emit(g, BPF_MOV64_IMM(2, imm32(g)));
		break;
	}
}

static size_t r2_slots(unsigned form)
{
	static const uint8_t n[] = { [R2_ADD] = 2, [R2_SUB] = 2, [R2_REG] = 3, [R2_SPLIT] = 3,
				     [R2_BRANCH] = 5, [R2_VALUE] = 2, [R2_HELD] = 2, [R2_CTX] = 2,
				     [R2_JUNK] = 1 };
	return n[form];
}

/* r1 = the map (or not quite). */
static void emit_r1(struct progen *g, unsigned form, int m, uint16_t avoid)
{
	switch (form) {
	case R1_MAP:
		emit_map_ref(g, 1, m);
		break;
	case R1_REG: {		/* through another register, which may keep it */
		uint8_t x = pick_reg(g, (uint16_t)(TEMP_REGS & ~avoid));
		emit_map_ref(g, x, m);
		emit(g, BPF_MOV64_REG(1, x));
		break;
	}
	case R1_BAD: {		/* inside a map, not a map: no lookup */
		emit_imm64(g, 1, 0, (uint64_t)(uintptr_t)progen_maps[m] + 8 * (1 + rnd(g, 4)));
		break;
	}
	default: {		/* two paths, two maps */
		emit_map_ref(g, 1, m);
		struct bpf_insn j;
		fill_jcond(g, &j, pick_row(g, CAT_JCOND));
		size_t at = emit(g, j);
		emit_map_ref(g, 1, (int)rnd(g, PROGEN_MAPS));
		set_target(g, at, g->cnt);
		break;
	}
	}
}

static void emit_key(struct progen *g, unsigned form, int32_t koff, uint32_t key, uint8_t counter,
		     uint16_t avoid)
{
	switch (form) {
	case K_ST:
		emit(g, BPF_ST_MEM(BPF_W, R10, (int16_t)koff, (int32_t)key));
		break;
	case K_STX: {
		uint8_t x = pick_reg(g, (uint16_t)((R(0) | ARG_REGS) & ~avoid));
		emit(g, BPF_MOV32_IMM(x, (int32_t)key));
		emit(g, BPF_STX_MEM(BPF_W, R10, x, (int16_t)koff));
		break;
	}
	case K_DW:	/* the low half is the key (little-endian) */
		emit(g, BPF_ST_MEM(BPF_DW, R10, (int16_t)koff, (int32_t)key));
		break;
	case K_VIA_R2:
		emit(g, BPF_ST_MEM(BPF_W, 2, 0, (int32_t)key));
		break;
	case K_COUNTER:
		emit(g, BPF_STX_MEM(BPF_W, R10, counter, (int16_t)koff));
		break;
	default:
		break;
	}
}

/* One lookup sequence ending no later than end; counter (r6..r9, or 0) is a
 * loop's counter, to keep and maybe use as the key. */
static void lookup_seq(struct progen *g, size_t end, uint8_t counter)
{
	static const uint8_t map_w[] = { PROGEN_MAP_ARRAY, PROGEN_MAP_ARRAY, PROGEN_MAP_ARRAY,
					 PROGEN_MAP_PERCPU, PROGEN_MAP_PERCPU, PROGEN_MAP_HASH };
	static const uint8_t r2_w[] = { R2_ADD, R2_ADD, R2_ADD, R2_ADD, R2_ADD, R2_ADD, R2_ADD,
					R2_ADD, R2_ADD, R2_ADD, R2_SUB, R2_SUB, R2_REG, R2_REG,
					R2_REG, R2_SPLIT, R2_SPLIT, R2_BRANCH, R2_BRANCH, R2_VALUE,
					R2_HELD, R2_CTX, R2_JUNK };
	const int m = map_w[rnd(g, sizeof(map_w))];
	uint16_t keep = counter ? R(counter) : 0;
	int32_t idx;
	uint32_t key = pick_key(g, m, &idx);
	int32_t koff = key_offs[rnd(g, N_KEY_OFFS)];
	unsigned kform = counter && chance(g, 1, 2) ? K_COUNTER : (unsigned)rnd(g, 8);
	if (kform > K_NONE)
		kform = K_ST;
	if (kform == K_DW && koff > -8)
		kform = K_ST;
	if (koff > -4 && chance(g, 1, 2))
		kform = K_NONE;		/* the store would fault */
	unsigned r2form = r2_w[rnd(g, sizeof(r2_w))];
	unsigned r1form = (unsigned)rnd(g, 14);
	r1form = r1form < 10 ? R1_MAP : r1form < 12 ? R1_REG : r1form == 12 ? R1_BAD : R1_BRANCH;
	bool callx = chance(g, 1, 16) && cat_cnt[CAT_CALLX];
	const size_t r1n = r1form == R1_MAP || r1form == R1_BAD ? 2 : r1form == R1_REG ? 3 : 5;
	const size_t post = 1 + 1 + REINIT_SLOTS;
	if (!room(g, end, (kform == K_STX ? 2 : 1) + r2_slots(r2form) + (r2form == R2_REG) + r1n +
			  1 + callx + post)) {
		kform = counter ? K_COUNTER : K_ST;	/* the plain shape: 13 slots */
		r2form = R2_ADD;
		r1form = R1_MAP;
		callx = false;
	}
	const size_t start = g->cnt;
	g->lookups++;

	/* the key, r1 and r2 in one of clang's orders (the key through r2 after r2) */
	const bool key_first = kform != K_VIA_R2 && !chance(g, 1, 4);
	const bool r1_first = chance(g, 1, 3);
	uint8_t keyptr = 0;
	if (key_first)
		emit_key(g, kform, koff, key, counter, keep);
	if (r1_first)
		emit_r1(g, r1form, m, (uint16_t)(keep | R(2)));
	emit_r2(g, r2form, koff, (uint16_t)(keep | R(1) | R(2)), &keyptr);
	if (kform == K_VIA_R2)
		emit_key(g, kform, koff, key, counter, keep);
	if (!r1_first)
		emit_r1(g, r1form, m, (uint16_t)(keep | R(1) | R(2) | (keyptr ? R(keyptr) : 0)));
	if (!key_first && kform != K_VIA_R2)
		emit_key(g, kform, koff, key, counter, (uint16_t)(keep | R(1) | R(2) | R(keyptr)));
	if (keyptr)
		keep |= R(keyptr);

	/* dead argument set-up (the JIT drops it) and live copies (it must not) */
	for (unsigned k = (unsigned)(chance(g, 1, 3) ? 1 + rnd(g, 3) : 0);
	     k > 0 && room(g, end, 1 + 1 + callx + post); k--) {
		uint16_t spare = (uint16_t)(CALLEE_SAVED & ~keep);
		switch (rnd(g, 7)) {
		case 0: case 1:
			emit(g, BPF_MOV64_IMM(3 + (uint8_t)rnd(g, 3), imm32(g)));
			break;
		case 2:
			emit(g, BPF_MOV64_IMM(0, imm32(g)));
			break;
		case 3:
			if (spare)
				emit(g, BPF_MOV64_REG(pick_reg(g, spare), 1 + (uint8_t)rnd(g, 2)));
			break;
		case 4:
			if (spare)
				emit(g, BPF_LDX_MEM(BPF_W, pick_reg(g, spare), 2, 0));
			break;
		case 5:		/* a dead load, which may fault: kept */
			emit(g, BPF_LDX_MEM(BPF_W, 3 + (uint8_t)rnd(g, 3), 2,
					    4 * (int16_t)rnd(g, 3)));
			break;
		default:
			emit(g, BPF_MOV64_REG(3 + (uint8_t)rnd(g, 3), 2));
			break;
		}
	}
	if (callx) {
		emit(g, BPF_MOV64_IMM(0, ID_LOOKUP));
		struct bpf_insn in = row_insn(pick_row(g, CAT_CALLX));
		in.dst_reg = 0;
		emit(g, in);
	} else {
		struct bpf_insn in = row_insn(pick_row(g, CAT_CALL));
		in.imm = ID_LOOKUP;
		emit(g, in);
	}
	/* mostly, nothing jumps into the set-up: the JIT sees it all in one block */
	if (!chance(g, 1, 8))
		for (size_t i = start + 1; i < g->cnt; i++)
			g->noland[i] = 1;

	/* r0: kept in r6..r9, copied to one of r1..r5; the bases of the accesses */
	uint16_t readable = (uint16_t)(0x7ff & ~ARG_REGS), bases = R(0);
	const size_t tail = REINIT_SLOTS + (keyptr ? 1 : 0);
	if ((CALLEE_SAVED & ~keep) && chance(g, 1, 3) && room(g, end, 1 + 2 + tail)) {
		uint8_t h = pick_reg(g, (uint16_t)(CALLEE_SAVED & ~keep));
		emit(g, BPF_MOV64_REG(h, 0));
		g->held_reg = h;
		g->held_map = (uint8_t)m;
		g->held_idx = idx;
		bases = chance(g, 1, 2) ? R(h) : (uint16_t)(R(h) | R(0));
	}
	if (chance(g, 1, 6) && room(g, end, 1 + 2 + tail)) {
		uint8_t c = 1 + (uint8_t)rnd(g, 5);
		emit(g, BPF_MOV64_REG(c, 0));
		readable |= R(c);
		bases |= R(c);
	}
	keep |= bases;
	size_t check = SIZE_MAX;
	switch (rnd(g, 8)) {
	default:
		check = emit(g, BPF_JMP_IMM(BPF_JEQ, pick_reg(g, bases), 0, 0));
		break;
	case 5:
		check = emit(g, BPF_JMP32_IMM(BPF_JEQ, pick_reg(g, bases), 0, 0));
		break;
	case 6:		/* inverted: the accesses run on NULL */
		check = emit(g, BPF_JMP_IMM(BPF_JNE, pick_reg(g, bases), 0, 0));
		break;
	case 7:		/* no check */
		break;
	}
	unsigned n = 1 + (unsigned)rnd(g, 4);
	do
		emit_value_access(g, pick_reg(g, bases), m, idx, &readable, keep);
	while (--n && room(g, end, 1 + tail));
	if (check != SIZE_MAX)
		set_target(g, check, g->cnt);
	if (keyptr)	/* the key, read back through the register that kept its address */
		emit(g, BPF_LDX_MEM(BPF_W, pick_reg(g, (uint16_t)(0x3ff & ~keep)), keyptr, 0));

	/* r1..r5: written again, or first passed on as the call left them (0) */
	size_t to;
	if (room(g, end, 1 + REINIT_SLOTS) && chance(g, 1, 5) && pick_callee(g, &to))
		add_call(g, emit(g, row_insn(pick_row(g, CAT_CALL_LOCAL))), to);
	emit_reinit(g);
}

/* A map lookup sequence, sometimes in a counted loop whose counter may be the
 * key: mostly clang's  for (i = i0; i < n; i++)  (a loop the JIT can version:
 * the inlined lookup is no call), else counting down. */
static void item_lookup(struct progen *g, size_t end)
{
	if (!room(g, end, LOOKUP_MIN)) {
		item_alu(g, end);
		return;
	}
	if (g->loop_depth < 2 && room(g, end, LOOKUP_MIN + 3) && chance(g, 1, 8)) {
		static const uint8_t up[] = { BPF_JLT, BPF_JLT, BPF_JSLT, BPF_JNE, BPF_JLE };
		const uint8_t c = 6 + (uint8_t)rnd(g, 4), op = up[rnd(g, sizeof(up))];
		const bool down = chance(g, 1, 4);
		const int32_t i0 = chance(g, 1, 2) ? 0 : (int32_t)rnd(g, 3);
		const int32_t n = i0 + 1 + (int32_t)rnd(g, 8);
		emit(g, BPF_MOV64_IMM(c, down ? n : i0));
		size_t top = g->cnt;
		g->loop_depth++;
		lookup_seq(g, end - 2, c);
		g->loop_depth--;
		struct bpf_insn back;
		if (down) {
			emit(g, chance(g, 1, 2) ? BPF_ALU32_IMM(BPF_SUB, c, 1)
						: BPF_ALU64_IMM(BPF_ADD, c, -1));
			back = chance(g, 1, 2) ? BPF_JMP_IMM(BPF_JNE, c, 0, 0)
					       : BPF_JMP32_IMM(BPF_JSGT, c, 0, 0);
		} else {
			const int32_t b = n - (op == BPF_JLE);
			emit(g, BPF_ALU64_IMM(BPF_ADD, c, 1));
			back = chance(g, 1, 8) ? BPF_JMP32_IMM(op, c, b, 0) : BPF_JMP_IMM(op, c, b, 0);
		}
		set_target(g, emit(g, back), top);
		return;
	}
	lookup_seq(g, end, 0);
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
	{ item_lookup, CAT_CALL, 20 },	/* only in programs with maps_on */
	{ item_exit, CAT_EXIT, 2 },
	{ item_other, CAT_OTHER, 2 },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static bool kind_on(const struct progen *g, size_t k)
{
	return cat_cnt[kinds[k].needs] && (kinds[k].fn != item_lookup || g->maps_on);
}

/* One item that ends no later than end (at least one slot is free). */
static void item(struct progen *g, size_t end)
{
	unsigned total = 0;
	for (size_t k = 0; k < N_KINDS; k++)
		total += kind_on(g, k) ? kinds[k].weight : 0;
	unsigned w = (unsigned)rnd(g, total);
	for (size_t k = 0; k < N_KINDS; k++) {
		if (!kind_on(g, k))
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
	g->held_reg = 0;
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
	maps_init();
}

int progen_generate(struct progen *g, const uint8_t *rand, size_t rand_len,
		    struct bpf_insn **out, size_t *cnt)
{
	g->bytes = rand;
	g->byte_len = rand ? rand_len : 0;
	g->byte_pos = 0;
	g->cnt = g->ncall = 0;
	g->loop_depth = 0;
	g->lookups = 0;
	g->held_reg = 0;

	/* The context memory's length: rarely too short for most accesses,
	 * sometimes not a multiple of 8. */
	static const size_t lens[] = { 64, 32, 128, 256, 40, 100, 16 }, tiny[] = { 0, 4, 8 };
	g->mem_len = chance(g, 1, 16) ? tiny[rnd(g, 3)] : lens[rnd(g, sizeof(lens) / sizeof(lens[0]))];
	/* Half the programs look maps up; a few of those with helper 1 shadowed
	 * by one of their own. */
	g->maps_on = chance(g, 1, 2);
	g->shadow_lookup = g->maps_on && chance(g, 1, 16);

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
				     .helpers = progen_helpers, .helper_cnt = progen_helper_cnt,
				     .maps = progen_maps, .map_cnt = PROGEN_MAPS };
	if (g->shadow_lookup) {
		o.helpers = shadow_helpers;
		o.helper_cnt = sizeof(shadow_helpers) / sizeof(shadow_helpers[0]);
	}
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
	return a->err == b->err && a->retval == b->retval &&
	       a->insn_executed == b->insn_executed && a->fault.kind == b->fault.kind &&
	       a->fault.insn == b->fault.insn && a->fault.addr == b->fault.addr &&
	       a->fault.size == b->fault.size && memcmp(a->mem, b->mem, mem_len) == 0 &&
	       a->maps_len == b->maps_len && (!a->maps_len ||
					      memcmp(a->maps, b->maps, a->maps_len) == 0);
}

size_t progen_compare(struct bpfvm_prog *prog, const struct progen *g,
		      const enum bpfvm_engine *engines, size_t n, struct progen_outcome *out)
{
	/* One buffer and one call site for every engine: the same r1 and r10. */
	_Alignas(64) uint8_t work[PROGEN_MEM_MAX];
	size_t bad = 0;
	/* A program that names no map cannot reach one: its maps are not reset
	 * nor compared (that would cost most where there are many CPU slots). */
	const bool maps = g->lookups > 0;
	for (size_t e = 0; e < n; e++) {
		memcpy(work, g->mem, g->mem_len);
		if (maps)
			progen_maps_reset();
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = work, .mem_len = g->mem_len,
					    .engine = engines[e], .budget = PROGEN_BUDGET };
		struct progen_outcome *r = &out[e];
		r->engine = engines[e];
		r->err = bpfvm_prog__run_opts(prog, &o);
		r->retval = o.retval;
		r->insn_executed = o.insn_executed;
		r->fault = o.fault;
		memcpy(r->mem, work, g->mem_len);
		r->maps = NULL;
		r->maps_len = 0;
		r->maps_changed = false;
		if (maps && e < 3) {
			maps_snapshot(run_img[e]);
			r->maps = run_img[e];
			r->maps_len = img_len;
			r->maps_changed = memcmp(run_img[e], init_img, img_len) != 0;
		}
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
	fprintf(f, "%s: %s: err %d, r0 0x%llx, %llu insns, fault {kind %d, insn %u, addr 0x%llx, "
		"size %u} (%s)\n  mem:", label, progen_engine_name(o->engine), o->err,
		(unsigned long long)o->retval, (unsigned long long)o->insn_executed,
		(int)o->fault.kind, o->fault.insn, (unsigned long long)o->fault.addr,
		o->fault.size, why);
	for (size_t i = 0; i < mem_len; i++)
		fprintf(f, "%s%02x", i % 32 ? "" : "\n    ", o->mem[i]);
	fputc('\n', f);
	if (!o->maps_len)
		return;
	/* one line per 32 bytes, each with its map and offset, so two outcomes diff */
	static const char *const names[] = { "array", "percpu", "hash" };
	fprintf(f, "  maps (%s):\n", o->maps_changed ? "changed" : "as initialised");
	size_t at = 0;
	for (int m = 0; m <= PROGEN_MAP_HASH; m++) {
		size_t len = m < PROGEN_MAP_HASH ? block_len[m] : o->maps_len - at;
		for (size_t i = 0; i < len; i += 32) {
			fprintf(f, "    %-6s +%-5zu ", names[m], i);
			for (size_t j = i; j < len && j < i + 32; j++)
				fprintf(f, "%02x", o->maps[at + j]);
			fputc('\n', f);
		}
		at += len;
	}
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
	if (g->lookups)
		fprintf(f, "maps (0, 1, 2): array %p, percpu %p (this thread's CPU slot %d of %d, "
			"%llu bytes apart), hash %p%s\n", (void *)progen_maps[0],
			(void *)progen_maps[1], progen_cpu_slot, bpfvm_num_cpu_slots(),
			(unsigned long long)layouts[PROGEN_MAP_PERCPU].cpu_stride,
			(void *)progen_maps[2], g->shadow_lookup ? "; helper 1 is progen_mix" : "");
}
