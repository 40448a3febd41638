/*
 * loops.c — the loop-versioning analysis (see loops.h): control-flow graph,
 * dominators, innermost natural loops, one symbolic pass over each loop body to
 * find its invariants, induction variables, controlling test and the memory
 * ranges its accesses cover. Everything here is a compile-time proof obligation
 * that the JIT turns into run-time checks at the loop's entry; nothing is assumed
 * about values that the entry check does not test.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "loops.h"

#define MAX_LOOP_INSNS	8192	/* larger loops are not versioned */
#define NO_BLOCK	(-1)

/* ---- Control-flow graph and dominators ------------------------------------------- */

struct cfg {
	size_t nb;
	uint32_t *start, *last, *len;	/* per block: leader, last slot, instructions */
	int32_t *succ;			/* 2 per block, NO_BLOCK if absent */
	int32_t *bid;			/* per instruction: its block */
	uint32_t *pred_off, *pred;	/* predecessors, CSR */
	int32_t *idom;			/* NO_BLOCK: unreachable */
	uint32_t *pre, *post;		/* dominator-tree numbering */
};

static void cfg_free(struct cfg *g)
{
	free(g->start);
	free(g->last);
	free(g->len);
	free(g->succ);
	free(g->bid);
	free(g->pred_off);
	free(g->pred);
	free(g->idom);
	free(g->pre);
	free(g->post);
}

static int cfg_build(struct cfg *g, const struct bpf_insn *code, size_t cnt, const uint8_t *leader,
		     const uint32_t *blk)
{
	size_t nb = 0;
	for (size_t i = 0; i < cnt; i++)
		if ((leader[i] & 1) && code[i].code != ISA_LDDW_HI)
			nb++;
	g->nb = nb;
	g->start = malloc((nb + 1) * sizeof(*g->start));
	g->last = malloc((nb + 1) * sizeof(*g->last));
	g->len = malloc((nb + 1) * sizeof(*g->len));
	g->succ = malloc((2 * nb + 2) * sizeof(*g->succ));
	g->bid = malloc((cnt + 1) * sizeof(*g->bid));
	g->pred_off = calloc(nb + 2, sizeof(*g->pred_off));
	g->pred = malloc((2 * nb + 2) * sizeof(*g->pred));
	if (!g->start || !g->last || !g->len || !g->succ || !g->bid || !g->pred_off || !g->pred)
		return -ENOMEM;
	size_t b = 0;
	for (size_t i = 0; i < cnt; i++) {
		if ((leader[i] & 1) && code[i].code != ISA_LDDW_HI) {
			g->start[b] = (uint32_t)i;
			g->len[b] = blk[i];
			b++;
		}
		g->bid[i] = (int32_t)b - 1;
	}
	g->bid[cnt] = NO_BLOCK;
	for (b = 0; b < nb; b++) {
		size_t end = b + 1 < nb ? g->start[b + 1] : cnt, l = end - 1;
		if (code[l].code == ISA_LDDW_HI)
			l--;
		g->last[b] = (uint32_t)l;
		int row = code[l].code;
		int32_t *s = &g->succ[2 * b];
		s[0] = s[1] = NO_BLOCK;
		int fmt = row < ISA__COUNT ? isa_rows[row].fmt : -1;
		if (fmt == ISA_FMT_EXIT)
			continue;
		if (row < ISA__COUNT && isa_is_jump(row)) {
			int64_t t = isa_target(&code[l], row, l);
			if (t >= 0 && (uint64_t)t < cnt)
				s[0] = g->bid[t];
			if (fmt == ISA_FMT_JA || fmt == ISA_FMT_JA32)
				continue;
		}
		if (end < cnt)
			s[1] = g->bid[end];
	}
	for (b = 0; b < nb; b++)
		for (int k = 0; k < 2; k++)
			if (g->succ[2 * b + k] != NO_BLOCK)
				g->pred_off[g->succ[2 * b + k] + 1]++;
	for (b = 0; b < nb; b++)
		g->pred_off[b + 1] += g->pred_off[b];
	uint32_t *fill = calloc(nb + 1, sizeof(*fill));
	if (!fill)
		return -ENOMEM;
	for (b = 0; b < nb; b++)
		for (int k = 0; k < 2; k++) {
			int32_t s = g->succ[2 * b + k];
			if (s != NO_BLOCK)
				g->pred[g->pred_off[s] + fill[s]++] = (uint32_t)b;
		}
	free(fill);
	return 0;
}

/* Iterative depth-first search from start: appends the blocks it reaches to out[]
 * in postorder. A successor s is followed when keep (may be NULL) allows it and
 * seen[idx ? idx[s] : s] is not set yet; stk holds 2 entries per block. */
static size_t dfs_postorder(const struct cfg *g, int32_t start,
			    bool (*keep)(const void *ctx, int32_t s), const void *ctx,
			    uint8_t *seen, const int32_t *idx, uint32_t *stk, int32_t *out, size_t n)
{
	size_t sp = 0;
	seen[idx ? idx[start] : start] = 1;
	stk[sp++] = (uint32_t)start;
	stk[sp++] = 0;
	while (sp) {
		uint32_t b = stk[sp - 2], k = stk[sp - 1];
		if (k < 2) {
			stk[sp - 1]++;
			int32_t s = g->succ[2 * b + k];
			if (s != NO_BLOCK && (!keep || keep(ctx, s)) && !seen[idx ? idx[s] : s]) {
				seen[idx ? idx[s] : s] = 1;
				stk[sp++] = (uint32_t)s;
				stk[sp++] = 0;
			}
			continue;
		}
		out[n++] = (int32_t)b;
		sp -= 2;
	}
	return n;
}

/* Cooper, Harvey and Kennedy's iterative dominators over a reverse postorder from
 * a virtual root (index nb) whose successors are the roots. */
static int cfg_dominators(struct cfg *g, const size_t *roots, size_t nroots)
{
	size_t nb = g->nb;
	int err = -ENOMEM;
	int32_t *rpo = malloc((nb + 1) * sizeof(*rpo));
	uint32_t *po = malloc((nb + 1) * sizeof(*po));
	uint32_t *stk = malloc((nb + 1) * 2 * sizeof(*stk));
	uint8_t *seen = calloc(nb + 1, 1);
	uint32_t *coff = calloc(nb + 2, sizeof(*coff)), *child = malloc((nb + 1) * sizeof(*child));
	uint32_t *cur = calloc(nb + 1, sizeof(*cur));
	g->idom = malloc((nb + 1) * sizeof(*g->idom));
	g->pre = calloc(nb + 1, sizeof(*g->pre));
	g->post = calloc(nb + 1, sizeof(*g->post));
	if (!rpo || !po || !stk || !seen || !coff || !child || !cur || !g->idom || !g->pre ||
	    !g->post)
		goto out;
	size_t n = 0;
	for (size_t r = 0; r < nroots; r++) {
		int32_t rb = g->bid[roots[r]];
		if (rb != NO_BLOCK && !seen[rb])
			n = dfs_postorder(g, rb, NULL, NULL, seen, NULL, stk, rpo, n);
	}
	for (size_t k = 0; k < n; k++)
		po[rpo[k]] = (uint32_t)k;
	/* rpo[] holds a postorder; walk it backwards. */
	for (size_t b = 0; b <= nb; b++)
		g->idom[b] = NO_BLOCK;
	po[nb] = (uint32_t)n;	/* the virtual root comes last in postorder */
	g->idom[nb] = (int32_t)nb;
	for (size_t r = 0; r < nroots; r++) {
		int32_t rb = g->bid[roots[r]];
		if (rb != NO_BLOCK)
			g->idom[rb] = (int32_t)nb;
	}
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t k = n; k-- > 0;) {
			int32_t b = rpo[k];
			if (g->idom[b] == (int32_t)nb)
				continue;	/* a root */
			int32_t nd = NO_BLOCK;
			for (uint32_t e = g->pred_off[b]; e < g->pred_off[b + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (g->idom[p] == NO_BLOCK)
					continue;
				if (nd == NO_BLOCK) {
					nd = p;
					continue;
				}
				int32_t x = p, y = nd;
				while (x != y) {
					while (po[x] < po[y])
						x = g->idom[x];
					while (po[y] < po[x])
						y = g->idom[y];
				}
				nd = x;
			}
			if (nd != NO_BLOCK && g->idom[b] != nd) {
				g->idom[b] = nd;
				changed = true;
			}
		}
	}
	/* Pre/post numbers on the dominator tree: a dom b iff pre[a] <= pre[b] and
	 * post[b] <= post[a]. Children lists through a counting sort on idom. */
	for (size_t b = 0; b < nb; b++)
		if (g->idom[b] != NO_BLOCK)
			coff[g->idom[b] + 1]++;
	for (size_t b = 0; b <= nb; b++)
		coff[b + 1] += coff[b];
	for (size_t b = 0; b < nb; b++)
		if (g->idom[b] != NO_BLOCK) {
			uint32_t p = (uint32_t)g->idom[b];
			child[coff[p] + cur[p]++] = (uint32_t)b;
		}
	uint32_t clock = 0;
	size_t sp = 0;
	stk[sp++] = (uint32_t)nb;
	stk[sp++] = 0;
	g->pre[nb] = clock++;
	while (sp) {
		uint32_t b = stk[sp - 2], k = stk[sp - 1];
		if (coff[b] + k < coff[b + 1]) {
			stk[sp - 1]++;
			uint32_t c = child[coff[b] + k];
			g->pre[c] = clock++;
			stk[sp++] = c;
			stk[sp++] = 0;
			continue;
		}
		g->post[b] = clock++;
		sp -= 2;
	}
	err = 0;
out:
	free(cur);
	free(coff);
	free(child);
	free(rpo);
	free(po);
	free(stk);
	free(seen);
	return err;
}

static bool dominates(const struct cfg *g, int32_t a, int32_t b)
{
	return g->idom[a] != NO_BLOCK && g->idom[b] != NO_BLOCK && g->pre[a] <= g->pre[b] &&
	       g->post[b] <= g->post[a];
}

/* ---- Symbolic values ------------------------------------------------------------ */

/* sym1 + sym2 + c + d: symbols in ascending order (LV_NONE last), c exact (wrapping),
 * d an unknown integer in [dlo, dhi] (0 for an exact form: a value the program
 * computed from what it loaded, a header length say, bounded by masks, shifts and
 * the conditional jumps it passed), or top (unknown). */
struct form {
	int8_t s[2];
	bool top;
	uint64_t c;
	int64_t dlo, dhi;
};

/* Bounded terms stay within +-DLIM, so sums of a few never overflow and stay far
 * below the 2^47 the entry check allows for any value. */
#define DLIM	(INT64_C(1) << 40)

static const struct form TOP = { { LV_NONE, LV_NONE }, true, 0, 0, 0 };

static struct form f_const(uint64_t c) { return (struct form){ { LV_NONE, LV_NONE }, false, c, 0, 0 }; }
static struct form f_sym(int s) { return (struct form){ { (int8_t)s, LV_NONE }, false, 0, 0, 0 }; }
static bool f_exact(struct form f) { return !f.top && f.dlo == 0 && f.dhi == 0; }

/* A form without symbols: the constant c + [lo, hi] (normalised: exact if lo == hi),
 * top when the bounds leave +-DLIM. */
static struct form f_range(int64_t lo, int64_t hi)
{
	if (lo > hi || lo < -DLIM || hi > DLIM)
		return TOP;
	return (struct form){ { LV_NONE, LV_NONE }, false, (uint64_t)lo, 0, hi - lo };
}

/* The value range of a form without symbols, if it is a small one. */
static bool f_bounds(struct form f, int64_t *lo, int64_t *hi)
{
	if (f.top || f.s[0] != LV_NONE)
		return false;
	int64_t c = (int64_t)f.c;
	if (c < -DLIM || c > DLIM)
		return f_exact(f) ? (*lo = *hi = c, true) : false;
	*lo = c + f.dlo;
	*hi = c + f.dhi;
	return true;
}

static bool f_eq(struct form a, struct form b)
{
	return a.top == b.top && (a.top || (a.s[0] == b.s[0] && a.s[1] == b.s[1] && a.c == b.c &&
					    a.dlo == b.dlo && a.dhi == b.dhi));
}

static int f_nsyms(struct form f) { return (f.s[0] != LV_NONE) + (f.s[1] != LV_NONE); }

/* The bounded terms of a + b and a - b: top when they would leave +-DLIM. */
static bool d_ok(int64_t lo, int64_t hi) { return lo >= -DLIM && hi <= DLIM; }

static struct form f_add(struct form a, struct form b)
{
	if (a.top || b.top || f_nsyms(a) + f_nsyms(b) > 2 ||
	    !d_ok(a.dlo + b.dlo, a.dhi + b.dhi))
		return TOP;
	int8_t v[4] = { a.s[0], a.s[1], b.s[0], b.s[1] }, out[2] = { LV_NONE, LV_NONE };
	int n = 0;
	for (int k = 0; k < 4; k++)
		if (v[k] != LV_NONE)
			out[n++] = v[k];
	if (n == 2 && out[0] > out[1]) {
		int8_t t = out[0];
		out[0] = out[1];
		out[1] = t;
	}
	return (struct form){ { out[0], out[1] }, false, a.c + b.c, a.dlo + b.dlo, a.dhi + b.dhi };
}

static struct form f_sub(struct form a, struct form b)
{
	if (a.top || b.top || !d_ok(a.dlo - b.dhi, a.dhi - b.dlo))
		return TOP;
	int64_t dlo = a.dlo - b.dhi, dhi = a.dhi - b.dlo;
	struct form r;
	if (f_nsyms(b) == 0) {
		r = a;
	} else if (a.s[0] == b.s[0] && a.s[1] == b.s[1]) {
		r = f_const(0);
	} else if (f_nsyms(b) == 1 && f_nsyms(a) == 2 && (a.s[0] == b.s[0] || a.s[1] == b.s[0])) {
		r = f_sym(a.s[0] == b.s[0] ? a.s[1] : a.s[0]);
	} else {
		return TOP;
	}
	r.c = a.c - b.c;
	r.dlo = dlo;
	r.dhi = dhi;
	return r;
}

/* Where paths meet: the same symbols keep a form (the constants' hull as the
 * bounded term when they differ), different ones make it top. */
static struct form f_join(struct form a, struct form b)
{
	if (f_eq(a, b))
		return a;
	if (a.top || b.top || a.s[0] != b.s[0] || a.s[1] != b.s[1])
		return TOP;
	int64_t ca = (int64_t)a.c, cb = (int64_t)b.c;
	if (ca < -DLIM || ca > DLIM || cb < -DLIM || cb > DLIM)
		return TOP;
	int64_t lo = ca + a.dlo < cb + b.dlo ? ca + a.dlo : cb + b.dlo;
	int64_t hi = ca + a.dhi > cb + b.dhi ? ca + a.dhi : cb + b.dhi;
	if (!d_ok(lo, hi))
		return TOP;
	a.c = 0;
	a.dlo = lo;
	a.dhi = hi;
	return a;
}

/* A 64- or 32-bit ALU operation on values without symbols, by their ranges: the
 * masks, shifts and or's a program uses on a loaded field. Top if unknown. */
static struct form f_alu_range(int row, struct form x, struct form y)
{
	int64_t lo, hi, ylo, yhi;
	if (!f_bounds(x, &lo, &hi) || !f_bounds(y, &ylo, &yhi) || ylo != yhi)
		return TOP;
	bool w32 = isa_rows[row].bits == 32;
	int64_t k = ylo;
	if (w32) {
		/* the 32-bit operation equals the 64-bit one while everything stays
		 * in [0, 2^32) (checked on the result below); the immediate is the
		 * low 32 bits */
		if (lo < 0 || hi > (int64_t)UINT32_MAX)
			return TOP;
		k = (int64_t)(uint32_t)k;
	}
	bool and = row == ISA_AND64_IMM || row == ISA_AND32_IMM || row == ISA_AND64_REG ||
		   row == ISA_AND32_REG;
	/* (an exact operand may be any 64-bit constant: only an and keeps its
	 * result small whatever the value; everything else wants small inputs) */
	if (!and && (lo < -DLIM || hi > DLIM || k < -DLIM || k > DLIM))
		return TOP;
	int64_t rlo, rhi;
	switch (row) {
	case ISA_AND64_IMM: case ISA_AND32_IMM: case ISA_AND64_REG: case ISA_AND32_REG:
		if (k < 0)
			return TOP;
		rlo = 0;
		rhi = lo >= 0 && hi < k ? hi : k;
		break;
	case ISA_OR64_IMM: case ISA_OR32_IMM: case ISA_OR64_REG: case ISA_OR32_REG:
		if (k < 0 || lo < 0)
			return TOP;
		rlo = lo > k ? lo : k;
		rhi = hi + k;
		break;
	case ISA_LSH64_IMM: case ISA_LSH32_IMM: case ISA_LSH64_REG: case ISA_LSH32_REG:
		if (lo < 0 || k < 0 || k > (w32 ? 31 : 61) || (hi >> (62 - k)) != 0)
			return TOP;	/* (then hi << k < 2^62: no overflow) */
		rlo = lo << k;
		rhi = hi << k;
		break;
	case ISA_RSH64_IMM: case ISA_RSH32_IMM: case ISA_RSH64_REG: case ISA_RSH32_REG:
		if (lo < 0 || k < 0 || k >= (w32 ? 32 : 64))
			return TOP;
		rlo = lo >> k;
		rhi = hi >> k;
		break;
	case ISA_ADD32_IMM: case ISA_ADD32_REG:
		rlo = lo + k;
		rhi = hi + k;
		break;
	case ISA_SUB32_IMM: case ISA_SUB32_REG:
		rlo = lo - k;
		rhi = hi - k;
		break;
	default:
		return TOP;
	}
	if (w32 && (rlo < 0 || rhi > (int64_t)UINT32_MAX))
		return TOP;
	return f_range(rlo, rhi);
}

struct state {
	struct form r[11];
	struct form slot[LV_NSLOT];
};

static void st_merge(struct state *into, const struct state *from)
{
	for (int k = 0; k < 11; k++)
		into->r[k] = f_join(into->r[k], from->r[k]);
	for (int k = 0; k < LV_NSLOT; k++)
		into->slot[k] = f_join(into->slot[k], from->slot[k]);
}

/* The slots [off, off + size) overlaps, as a mask. */
static uint64_t slot_mask(int32_t off, int size)
{
	uint64_t m = 0;
	for (int32_t a = off; a < off + size; a++) {
		if (a < -8 * LV_NSLOT || a >= 0)
			continue;
		m |= UINT64_C(1) << ((-a - 1) / 8);
	}
	return m;
}

/* ---- One loop -------------------------------------------------------------------- */

enum ivkind { K_TOP, K_INV, K_IV, K_COPY };

struct access {
	uint32_t insn;
	struct form base;
	int32_t off;
	uint8_t size;
	bool write;
};

struct cand {
	uint32_t insn;
	int32_t blk;
	struct form x, y;	/* dst, src */
};

struct lwork {
	const struct bpf_insn *code;
	const uint8_t *inlined;	/* per instruction: a call the JIT emits inline, or NULL */
	const struct cfg *g;
	int32_t *local;		/* per block: index in the loop, or -1 */
	int32_t *blist;		/* the loop's blocks, topological order from the header */
	size_t nbl;
	int32_t header;
	struct state *out;	/* per local block */
	bool slots;		/* track stack slots */
	uint64_t slot_written;	/* slots the loop writes through r10 */
	struct access *acc;
	size_t nacc, acc_cap;
	struct cand *cand;
	size_t ncand, cand_cap;
	bool record;
};

static bool in_loop(const struct lwork *w, int32_t b) { return b != NO_BLOCK && w->local[b] >= 0; }

/* The iteration's edges: inside the loop, not back to the header. */
static bool in_body(const void *ctx, int32_t s)
{
	const struct lwork *w = ctx;
	return in_loop(w, s) && s != w->header;
}

/* Whether a memory access needs no range: through r10 within the frame. */
static bool stack_static(int breg, int32_t off, int size)
{
	return breg == 10 && off >= -512 && off <= -size;
}

static int access_of(const struct bpf_insn *in, int *breg, int *size, bool *write)
{
	int row = in->code;
	*breg = -1;
	*size = 0;
	*write = false;
	if (row >= ISA__COUNT)
		return 0;
	int fmt = isa_rows[row].fmt;
	*size = isa_rows[row].bits / 8;
	if (fmt == ISA_FMT_LDX) {
		*breg = in->src_reg;
		*write = false;
		return 1;
	}
	if (fmt == ISA_FMT_ST || fmt == ISA_FMT_STX || fmt == ISA_FMT_ATOMIC) {
		*breg = in->dst_reg;
		*write = true;
		return 1;
	}
	return 0;
}

/* Room for one more element in a growing array: 0, or -ENOMEM. */
static int reserve(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 32;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static int push_access(struct lwork *w, struct access a)
{
	if (reserve((void **)&w->acc, &w->acc_cap, w->nacc, sizeof(a)))
		return -ENOMEM;
	w->acc[w->nacc++] = a;
	return 0;
}

static int push_cand(struct lwork *w, struct cand c)
{
	if (reserve((void **)&w->cand, &w->cand_cap, w->ncand, sizeof(c)))
		return -ENOMEM;
	w->cand[w->ncand++] = c;
	return 0;
}

/* Runs block b's instructions on st. */
static int exec_block(struct lwork *w, int32_t b, struct state *st)
{
	const struct cfg *g = w->g;
	const struct bpf_insn *code = w->code;
	for (uint32_t i = g->start[b]; i <= g->last[b]; i++) {
		const struct bpf_insn *in = &code[i];
		int row = in->code;
		if (row == ISA_LDDW_HI)
			continue;
		int d = in->dst_reg, s = in->src_reg, breg, size;
		bool write;
		int64_t imm = in->imm;
		if (access_of(in, &breg, &size, &write)) {
			if (w->record && !stack_static(breg, in->off, size) && breg <= 10) {
				struct access a = { i, st->r[breg], in->off, (uint8_t)size, write };
				if (push_access(w, a))
					return -ENOMEM;
			}
			if (write && breg == 10) {
				uint64_t m = slot_mask(in->off, size);
				bool whole = size == 8 && in->off % 8 == 0 && m && !(m & (m - 1));
				for (int k = 0; k < LV_NSLOT; k++)
					if (m & (UINT64_C(1) << k))
						st->slot[k] = TOP;
				if (whole && w->slots && isa_rows[row].fmt != ISA_FMT_ATOMIC) {
					int k = __builtin_ctzll(m);
					st->slot[k] = isa_rows[row].fmt == ISA_FMT_ST ? f_const((uint64_t)imm)
										       : st->r[s];
				}
			}
		}
		if (row < ISA__COUNT && isa_is_cond_jump(row) && w->record && i == g->last[b]) {
			struct cand c = { i, b, st->r[d],
					  isa_rows[row].fmt == ISA_FMT_JCOND_K ? f_const((uint64_t)imm)
									      : st->r[s] };
			if (push_cand(w, c))
				return -ENOMEM;
		}
		struct form v;
		bool set = true;
		switch (row) {
		case ISA_MOV64_IMM: v = f_const((uint64_t)imm); break;
		case ISA_MOV32_IMM: v = f_const((uint32_t)imm); break;
		case ISA_LDDW:
			v = f_const((uint64_t)(uint32_t)in[0].imm | (uint64_t)(uint32_t)in[1].imm << 32);
			break;
		case ISA_MOV64_REG: v = st->r[s]; break;
		case ISA_ADD64_IMM: v = f_add(st->r[d], f_const((uint64_t)imm)); break;
		case ISA_SUB64_IMM: v = f_sub(st->r[d], f_const((uint64_t)imm)); break;
		case ISA_ADD64_REG: v = f_add(st->r[d], st->r[s]); break;
		case ISA_SUB64_REG: v = f_sub(st->r[d], st->r[s]); break;
		case ISA_LDXDW:
			if (s == 10 && w->slots && in->off % 8 == 0 && in->off >= -8 * LV_NSLOT &&
			    in->off < 0)
				v = st->slot[(-in->off - 1) / 8];
			else
				v = TOP;
			break;
		/* loaded fields: bounded by their size */
		case ISA_LDXB: v = f_range(0, 0xff); break;
		case ISA_LDXH: v = f_range(0, 0xffff); break;
		case ISA_LDXW: v = f_range(0, 0xffffffff); break;
		case ISA_LDXSB: v = f_range(-0x80, 0x7f); break;
		case ISA_LDXSH: v = f_range(-0x8000, 0x7fff); break;
		case ISA_LDXSW: v = f_range(-0x80000000LL, 0x7fffffff); break;
		case ISA_MOV32_REG: {
			int64_t lo, hi;
			v = f_bounds(st->r[s], &lo, &hi) && lo >= 0 && hi <= (int64_t)UINT32_MAX ?
			    st->r[s] : TOP;
			break;
		}
		case ISA_AND64_IMM: case ISA_AND32_IMM: case ISA_OR64_IMM: case ISA_OR32_IMM:
		case ISA_LSH64_IMM: case ISA_LSH32_IMM: case ISA_RSH64_IMM: case ISA_RSH32_IMM:
		case ISA_ADD32_IMM: case ISA_SUB32_IMM:
			v = f_alu_range(row, st->r[d], f_const((uint64_t)imm));
			break;
		case ISA_AND64_REG: case ISA_AND32_REG: case ISA_OR64_REG: case ISA_OR32_REG:
		case ISA_LSH64_REG: case ISA_LSH32_REG: case ISA_RSH64_REG: case ISA_RSH32_REG:
		case ISA_ADD32_REG: case ISA_SUB32_REG:
			v = f_alu_range(row, st->r[d], st->r[s]);
			break;
		default:
			set = false;
			break;
		}
		uint16_t wr = row < ISA__COUNT ? isa_regs_written(in, row) : 0x7ff;
		for (int r = 0; r < 11; r++)
			if (wr & (1u << r))
				st->r[r] = TOP;
		if (set && d < 11)
			st->r[d] = v;
	}
	return 0;
}

/* One symbolic pass over the loop from the header state h; fills w->out and, with
 * w->record, the accesses and test candidates. */
/* The states on the two edges out of a block ending in a conditional jump that
 * compares a bounded value without symbols with a constant: each edge knows the
 * comparison's outcome. Values in [0, 2^31) compare alike signed and unsigned, in
 * 32 and in 64 bits, which is all this narrows. */
static void narrow(const struct bpf_insn *in, struct state *taken, struct state *fall)
{
	int row = in->code;
	if (row >= ISA__COUNT || !isa_is_cond_jump(row) || in->dst_reg > 9)
		return;
	int64_t lo, hi, k, klo;
	struct form x = taken->r[in->dst_reg];
	if (!f_bounds(x, &lo, &hi) || lo < 0 || hi >= INT64_C(1) << 31)
		return;
	if (isa_rows[row].fmt == ISA_FMT_JCOND_K) {
		k = in->imm;
	} else if (in->src_reg > 10 || !f_bounds(taken->r[in->src_reg], &klo, &k) || klo != k) {
		return;
	}
	if (k < 0 || k >= INT64_C(1) << 31)
		return;
	const char *op = isa_rows[row].kop;
	if (op[0] == 's')
		op++;		/* signed and unsigned agree here */
	int64_t tlo = lo, thi = hi, flo = lo, fhi = hi;
	if (!strcmp(op, "<")) {
		thi = hi < k - 1 ? hi : k - 1;
		flo = lo > k ? lo : k;
	} else if (!strcmp(op, "<=")) {
		thi = hi < k ? hi : k;
		flo = lo > k + 1 ? lo : k + 1;
	} else if (!strcmp(op, ">")) {
		tlo = lo > k + 1 ? lo : k + 1;
		fhi = hi < k ? hi : k;
	} else if (!strcmp(op, ">=")) {
		tlo = lo > k ? lo : k;
		fhi = hi < k - 1 ? hi : k - 1;
	} else if (!strcmp(op, "==")) {
		tlo = thi = k;
	} else if (!strcmp(op, "!=")) {
		flo = fhi = k;
	} else {
		return;
	}
	/* an empty side cannot be taken: leave it as it was (sound, if loose) */
	if (tlo <= thi)
		taken->r[in->dst_reg] = f_range(tlo, thi);
	if (flo <= fhi)
		fall->r[in->dst_reg] = f_range(flo, fhi);
}

/* One symbolic pass over the loop from the header state h; fills w->out (per
 * block, the states on its taken and fall-through edges) and, with w->record,
 * the accesses and test candidates. */
static int sym_pass(struct lwork *w, const struct state *h, struct state *backedge)
{
	const struct cfg *g = w->g;
	bool have_be = false;
	w->nacc = w->ncand = 0;
	for (size_t k = 0; k < w->nbl; k++) {
		int32_t b = w->blist[k];
		struct state st;
		if (b == w->header) {
			st = *h;
		} else {
			bool first = true;
			for (uint32_t e = g->pred_off[b]; e < g->pred_off[b + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (!in_loop(w, p))
					continue;
				for (int q = 0; q < 2; q++) {
					if (g->succ[2 * p + q] != b)
						continue;
					const struct state *o = &w->out[2 * (size_t)w->local[p] + (size_t)q];
					if (first)
						st = *o;
					else
						st_merge(&st, o);
					first = false;
				}
			}
			if (first)
				return -EINVAL;	/* cannot happen in a natural loop */
		}
		int err = exec_block(w, b, &st);
		if (err)
			return err;
		struct state *o = &w->out[2 * (size_t)w->local[b]];
		o[0] = o[1] = st;
		narrow(&w->code[g->last[b]], &o[0], &o[1]);
		for (int q = 0; q < 2; q++)
			if (g->succ[2 * b + q] == w->header) {
				if (!have_be)
					*backedge = o[q];
				else
					st_merge(backedge, &o[q]);
				have_be = true;
			}
	}
	return have_be ? 0 : -EINVAL;
}

struct ivinfo {
	enum ivkind kind[11];
	int8_t step_reg[11];	/* K_IV: LV_NONE or the invariant step register */
	int64_t step[11];	/* K_IV constant step */
	int8_t copy_of[11];	/* K_COPY: the induction variable */
	int64_t delta[11];	/* K_COPY: value - that */
};

static bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static void classify(const struct state *be, struct ivinfo *iv)
{
	for (int r = 0; r < 11; r++) {
		struct form f = be->r[r];
		iv->kind[r] = K_TOP;
		iv->step_reg[r] = LV_NONE;
		if (r == 10 || (f_exact(f) && f.s[0] == r && f.s[1] == LV_NONE && f.c == 0))
			iv->kind[r] = K_INV;
	}
	for (int r = 0; r < 10; r++) {
		struct form f = be->r[r];
		if (!f_exact(f) || iv->kind[r] == K_INV)
			continue;
		if (f.s[0] == r && f.s[1] == LV_NONE && (int64_t)f.c > 0 && fits32((int64_t)f.c)) {
			iv->kind[r] = K_IV;
			iv->step[r] = (int64_t)f.c;
		} else if (f.c == 0 && f_nsyms(f) == 2 && (f.s[0] == r || f.s[1] == r)) {
			int o = f.s[0] == r ? f.s[1] : f.s[0];
			if (o < 10 && iv->kind[o] == K_INV) {
				iv->kind[r] = K_IV;
				iv->step_reg[r] = (int8_t)o;
				iv->step[r] = 0;
			}
		}
	}
	for (int r = 0; r < 10; r++) {
		struct form f = be->r[r];
		if (!f_exact(f) || iv->kind[r] != K_TOP)
			continue;
		int q = f.s[0], o = f.s[1];
		if (q < 0 || q >= 10)
			continue;
		if (o != LV_NONE && iv->kind[q] != K_IV && o < 10 && iv->kind[o] == K_IV) {
			int t = q;
			q = o;
			o = t;
		}
		if (iv->kind[q] != K_IV)
			continue;
		int64_t delta;
		if (iv->step_reg[q] == LV_NONE && o == LV_NONE)
			delta = (int64_t)f.c - iv->step[q];
		else if (iv->step_reg[q] != LV_NONE && o == iv->step_reg[q])
			delta = (int64_t)f.c;
		else
			continue;
		if (!fits32(delta))
			continue;
		iv->kind[r] = K_COPY;
		iv->copy_of[r] = (int8_t)q;
		iv->delta[r] = delta;
	}
}

/* Splits f into at most one induction variable and one invariant symbol. */
static bool split(const struct ivinfo *iv, struct form f, int8_t *ivs, int8_t *inv, int64_t *c)
{
	if (f.top)
		return false;
	*ivs = *inv = LV_NONE;
	*c = (int64_t)f.c;
	for (int k = 0; k < 2; k++) {
		int s = f.s[k];
		if (s == LV_NONE)
			continue;
		bool is_iv = s < 11 && iv->kind[s] == K_IV;
		bool is_inv = s >= LV_SLOT0 || (s < 11 && iv->kind[s] == K_INV);
		if (is_iv && *ivs == LV_NONE)
			*ivs = (int8_t)s;
		else if (is_inv && *inv == LV_NONE)
			*inv = (int8_t)s;
		else
			return false;
	}
	return true;
}

static bool same_step(const struct ivinfo *iv, int p, int q)
{
	return iv->step_reg[p] == iv->step_reg[q] &&
	       (iv->step_reg[p] != LV_NONE || iv->step[p] == iv->step[q]);
}

/* The controlling test (see loops.h), or false. */
static bool find_test(const struct lwork *w, const struct ivinfo *iv, const int32_t *latch,
		      size_t nlatch, struct lv_loop *L)
{
	const struct cfg *g = w->g;
	for (size_t k = 0; k < w->ncand; k++) {
		const struct cand *c = &w->cand[k];
		bool all = true;
		for (size_t l = 0; l < nlatch && all; l++)
			all = dominates(g, c->blk, latch[l]);
		if (!all)
			continue;
		int row = w->code[c->insn].code;
		if (isa_rows[row].bits != 64)
			continue;
		bool taken_in = in_loop(w, g->succ[2 * c->blk]);
		bool fall_in = in_loop(w, g->succ[2 * c->blk + 1]);
		if (taken_in == fall_in)
			continue;
		/* The relation that keeps the loop going, as "x op y". */
		const char *op = isa_rows[row].kop;
		static const char *const ops[][2] = {
			{ "==", "!=" }, { "<", ">=" }, { "<=", ">" },
			{ "s<", "s>=" }, { "s<=", "s>" },
		};
		const char *cont = NULL;
		for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]) && !cont; o++)
			for (int j = 0; j < 2; j++)
				if (!strcmp(op, ops[o][j]))
					cont = taken_in ? ops[o][j] : ops[o][!j];
		if (!cont)
			continue;
		int8_t xi, xv, yi, yv;
		int64_t xc, yc;
		if (!f_exact(c->x) || !f_exact(c->y) || !split(iv, c->x, &xi, &xv, &xc) ||
		    !split(iv, c->y, &yi, &yv, &yc))
			continue;
		if ((xi == LV_NONE) == (yi == LV_NONE))
			continue;
		if (xi == LV_NONE) {	/* y op x  ->  x op' y */
			static const char *const mirror[][2] = {
				{ "==", "==" }, { "!=", "!=" }, { "<", ">" }, { ">", "<" },
				{ "<=", ">=" }, { ">=", "<=" }, { "s<", "s>" }, { "s>", "s<" },
				{ "s<=", "s>=" }, { "s>=", "s<=" },
			};
			for (size_t o = 0; o < sizeof(mirror) / sizeof(mirror[0]); o++)
				if (!strcmp(cont, mirror[o][0])) {
					cont = mirror[o][1];
					break;
				}
			int8_t t1 = xi, t2 = xv;
			int64_t t3 = xc;
			xi = yi; xv = yv; xc = yc;
			yi = t1; yv = t2; yc = t3;
		}
		int q = xi;
		if (!fits32(xc) || !fits32(yc))
			continue;
		if (!strcmp(cont, "<") || !strcmp(cont, "s<"))
			L->cmp = LV_LT;
		else if (!strcmp(cont, "<=") || !strcmp(cont, "s<="))
			L->cmp = LV_LE;
		else if (!strcmp(cont, "!=") && iv->step_reg[q] == LV_NONE && iv->step[q] == 1)
			L->cmp = LV_NE;
		else
			continue;
		L->sgn = cont[0] == 's';
		L->q = (int8_t)q;
		L->a = (struct lv_val){ xv, (int32_t)xc };
		L->b = (struct lv_val){ yv, (int32_t)yc };
		L->step_reg = iv->step_reg[q];
		L->step_c = (int32_t)iv->step[q];
		L->step_shift = 0;
		if (L->step_reg == LV_NONE)
			while ((INT64_C(2) << L->step_shift) <= L->step_c)
				L->step_shift++;
		return true;
	}
	return false;
}

/* Ranges for the recorded accesses; covered[] for the ones they cover. false if a
 * store that may alias the stack stays uncovered while slots are tracked. */
static bool make_ranges(const struct lwork *w, const struct ivinfo *iv, struct lv_loop *L,
			uint8_t *covered)
{
	bool alias_ok = true;
	L->nranges = 0;
	L->nivs = 0;
	for (size_t k = 0; k < w->nacc; k++) {
		const struct access *a = &w->acc[k];
		int8_t p, inv;
		int64_t c;
		bool ok = split(iv, a->base, &p, &inv, &c) && (p != LV_NONE || inv != LV_NONE);
		if (ok && p != LV_NONE && !same_step(iv, p, L->q))
			ok = false;
		/* the bounded term widens the range by its extent */
		if (ok && (c < -DLIM || c > DLIM))
			ok = false;
		int64_t lo = ok ? c + a->base.dlo + a->off : 0;
		int64_t hi = ok ? c + a->base.dhi + a->off + a->size : 0;
		if (ok && (!fits32(lo) || !fits32(hi)))
			ok = false;
		/* Stack ranges (through a copy of r10) may not hold stores while slots
		 * are tracked. */
		if (ok && inv == 10 && a->write && w->slots)
			ok = false;
		if (ok && p != LV_NONE && p != L->q) {
			size_t j;
			for (j = 0; j < L->nivs && L->ivs[j] != p; j++)
				;
			if (j == L->nivs) {
				if (L->nivs == LV_MAX_IVS)
					ok = false;
				else
					L->ivs[L->nivs++] = p;
			}
		}
		if (ok) {
			size_t j;
			for (j = 0; j < L->nranges; j++) {
				struct lv_range *r = &L->ranges[j];
				if (r->inv == inv && r->iv == p && r->write == a->write)
					break;
			}
			if (j == L->nranges) {
				if (L->nranges == LV_MAX_RANGES) {
					ok = false;
				} else {
					L->ranges[L->nranges++] = (struct lv_range){
						inv, p, a->write, (int32_t)lo, (int32_t)hi };
				}
			} else {
				struct lv_range *r = &L->ranges[j];
				if (lo < r->lo)
					r->lo = (int32_t)lo;
				if (hi > r->hi)
					r->hi = (int32_t)hi;
			}
		}
		covered[a->insn] = ok;
		if (!ok && a->write && w->slots && w->code[a->insn].code < ISA__COUNT) {
			int br, sz;
			bool wr;
			access_of(&w->code[a->insn], &br, &sz, &wr);
			if (br != 10)
				alias_ok = false;
		}
	}
	return alias_ok;
}

static bool is_call(int row)
{
	switch (row < ISA__COUNT ? isa_rows[row].fmt : -1) {
	case ISA_FMT_CALL: case ISA_FMT_CALLX: case ISA_FMT_CALL_LOCAL: case ISA_FMT_CALL_KFUNC:
	case ISA_FMT_LDABS: case ISA_FMT_LDIND:
		return true;
	default:
		return false;
	}
}

static bool insn_ok_in_loop(int row)
{
	if (row == ISA_LDDW_HI)
		return true;
	if (row >= ISA__COUNT || isa_rows[row].fmt == ISA_FMT_EXIT)
		return false;
	switch (row) {
	case ISA_LDDW_MAP_FD: case ISA_LDDW_MAP_VALUE: case ISA_LDDW_BTF_VAR: case ISA_LDDW_FUNC:
	case ISA_LDDW_MAP_IDX: case ISA_LDDW_MAP_IDX_VALUE:
		return false;
	default:
		return true;
	}
}

/* Budget charges for the fast copy. The iteration's blocks form a DAG from the
 * header (back edges to the sink, exit edges dropped). A block v that
 * post-dominates its immediate dominator d is charged ahead by d's holder (the
 * block that charges for d): every path through the holder reaches v before the
 * iteration ends, and every path to v passes the holder. Outstanding charges at a
 * block's entry are then the same on every path (checked; if not, no merging),
 * and zero at the latches. ahead[v] = charged but not yet run after v. */
static int plan_charges(struct lwork *w, struct lv_loop *L, uint32_t *charge, int32_t *ahead)
{
	const struct cfg *g = w->g;
	size_t n = w->nbl;
	const int32_t SINK = -2, UNSET = -3;
	int32_t *tpos = malloc(n * sizeof(*tpos)), *ip = malloc(n * sizeof(*ip));
	int32_t *holder = malloc(n * sizeof(*holder));
	uint64_t *oin = malloc(n * sizeof(*oin)), *oout = malloc(n * sizeof(*oout));
	uint64_t *c = calloc(n, sizeof(*c));
	bool ok = true;
	if (!tpos || !ip || !holder || !oin || !oout || !c) {
		free(tpos); free(ip); free(holder); free(oin); free(oout); free(c);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++)
		tpos[w->local[w->blist[k]]] = (int32_t)k;
#define RANK(x) ((x) == SINK ? INT32_MAX : tpos[x])
	for (size_t k = n; k-- > 0;) {
		int32_t v = w->blist[k], acc = UNSET;
		for (int s = 0; s < 2; s++) {
			int32_t t = g->succ[2 * v + s], cand;
			if (t == w->header)
				cand = SINK;
			else if (in_loop(w, t))
				cand = w->local[t];
			else
				continue;
			if (acc == UNSET) {
				acc = cand;
				continue;
			}
			while (acc != cand) {
				if (RANK(acc) < RANK(cand))
					acc = ip[acc];
				else
					cand = ip[cand];
			}
		}
		ip[w->local[v]] = acc == UNSET ? SINK : acc;
	}
	for (size_t k = 0; k < n; k++) {
		int32_t v = w->blist[k], lv = w->local[v];
		holder[lv] = lv;
		if (v != w->header) {
			int32_t d = w->local[g->idom[v]], x = d;
			while (x != SINK && RANK(x) < RANK(lv))
				x = ip[x];
			if (x == lv)
				holder[lv] = holder[d];
		}
		c[holder[lv]] += g->len[v];
	}
	for (size_t k = 0; k < n && ok; k++) {
		int32_t v = w->blist[k], lv = w->local[v];
		bool first = true;
		if (v == w->header) {
			oin[lv] = 0;
		} else {
			for (uint32_t e = g->pred_off[v]; e < g->pred_off[v + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (!in_loop(w, p))
					continue;
				if (first)
					oin[lv] = oout[w->local[p]];
				else if (oin[lv] != oout[w->local[p]])
					ok = false;
				first = false;
			}
		}
		oout[lv] = oin[lv] + c[lv] - g->len[v];
		if ((g->succ[2 * v] == w->header || g->succ[2 * v + 1] == w->header) && oout[lv])
			ok = false;
		if (oout[lv] > UINT32_MAX || c[lv] > UINT32_MAX)
			ok = false;
	}
#undef RANK
	/* The other plan, for decision trees (a switch's compare chain): a block
	 * whose successors in the iteration all have it as their only predecessor
	 * charges nothing and leaves its instructions owed (ahead < 0); a block
	 * followed by a join or the back edge settles what its path owes. One charge
	 * per path through a tree instead of one per node. */
	int64_t *c2 = calloc(n, sizeof(*c2)), *o2 = calloc(n, sizeof(*o2));
	uint32_t *m1 = calloc(n, sizeof(*m1)), *m2 = calloc(n, sizeof(*m2));
	uint32_t max1 = 0, max2 = 0;
	if (!c2 || !o2 || !m1 || !m2) {
		free(tpos); free(ip); free(holder); free(oin); free(oout); free(c);
		free(c2); free(o2); free(m1); free(m2);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		int32_t v = w->blist[k], lv = w->local[v];
		int64_t in = 0;
		uint32_t best1 = 0, best2 = 0;
		if (v != w->header)
			for (uint32_t e = g->pred_off[v]; e < g->pred_off[v + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (!in_loop(w, p))
					continue;
				in = o2[w->local[p]];	/* the same from every predecessor */
				best1 = m1[w->local[p]] > best1 ? m1[w->local[p]] : best1;
				best2 = m2[w->local[p]] > best2 ? m2[w->local[p]] : best2;
			}
		bool settle = false;
		for (int q = 0; q < 2; q++) {
			int32_t t = g->succ[2 * v + q], preds = 0;
			if (t == w->header) {
				settle = true;
				continue;
			}
			if (!in_loop(w, t))
				continue;
			for (uint32_t e = g->pred_off[t]; e < g->pred_off[t + 1]; e++)
				preds += in_loop(w, (int32_t)g->pred[e]);
			settle |= preds > 1;
		}
		c2[lv] = settle ? (int64_t)g->len[v] - in : 0;
		o2[lv] = in + c2[lv] - (int64_t)g->len[v];
		m1[lv] = best1 + (c[lv] != 0);
		m2[lv] = best2 + (c2[lv] != 0);
		max1 = m1[lv] > max1 ? m1[lv] : max1;
		max2 = m2[lv] > max2 ? m2[lv] : max2;
	}
	bool tree = !ok || max2 < max1;
	L->owed = tree && !L->calls;
	for (size_t k = 0; k < n; k++) {
		int32_t v = w->blist[k], lv = w->local[v];
		if (L->calls) {
			charge[lv] = g->len[v];
			ahead[lv] = 0;
		} else if (tree) {
			charge[lv] = (uint32_t)c2[lv];
			ahead[lv] = (int32_t)o2[lv];
		} else {
			charge[lv] = (uint32_t)c[lv];
			ahead[lv] = (int32_t)oout[lv];
		}
	}
	free(tpos); free(ip); free(holder); free(oin); free(oout); free(c);
	free(c2); free(o2); free(m1); free(m2);
	return 0;
}

/* Tests the fast copy need not repeat. clang lowers each select to a skip-one
 * diamond, and two selects on one condition to two diamonds that test the same
 * registers the same way (x >> 16 ? ... : ..., twice in a row):
 *     X: ...; if c goto T           X's taken edge
 *     F: ... (writes no register c reads), falls into T
 *     T: if c goto T2               one instruction; its predecessors: X, F
 *     G: ...                        T's fall-through; its only predecessor: T
 * Coming from X's taken edge T is taken too, coming from F it is not: X jumps to
 * T2, F falls into G, and T's code is never reached. The count stays exact when
 * the plan charges nothing at T: its instruction is then paid for ahead, by
 * whatever block charges for it, on both ways through it, exactly as if its code
 * ran. G, now entered from F alone, is charged with F (ahead[F] grows by that
 * much, for F's fault paths). Patterns are taken in instruction order and never
 * overlap (a T is never another pattern's X, F or G).
 *
 * Then jumps over jumps (clang's block order in switch trees):
 *     X: ...; if c goto L1
 *     T: goto L2                    one instruction; X its only predecessor
 *     L1: ...
 * X's test is inverted (invert[X]: if !c goto L2, fall into L1) and T's code is
 * never reached; exact for the same reason when the plan charges nothing at T. */
/* Block jx of L if it ends in a conditional jump, which *cx is, and no pattern
 * has taken it yet: its block number, else NO_BLOCK. */
static int32_t test_block(const struct lwork *w, const struct lv_loop *L, size_t jx,
			  const struct bpf_insn **cx)
{
	int32_t x = w->g->bid[L->blocks[jx]];
	*cx = &w->code[w->g->last[x]];
	int fmt = (*cx)->code < ISA__COUNT ? isa_rows[(*cx)->code].fmt : -1;
	return (fmt == ISA_FMT_JCOND_K || fmt == ISA_FMT_JCOND_X) && L->thread[jx] == LV_AS_IS ?
	       x : NO_BLOCK;
}

static int thread_tests(const struct lwork *w, struct lv_loop *L)
{
	const struct cfg *g = w->g;
	L->nthreaded = 0;
	L->thread = malloc(L->nblocks * sizeof(*L->thread));
	L->invert = calloc(L->nblocks, 1);
	if (!L->thread || !L->invert)
		return -ENOMEM;
	for (size_t j = 0; j < L->nblocks; j++)
		L->thread[j] = LV_AS_IS;
	if (L->calls)
		return 0;	/* every block charges itself: nothing is paid ahead */
#define NPRED(b) (g->pred_off[(b) + 1] - g->pred_off[b])
	for (size_t jx = 0; jx < L->nblocks; jx++) {
		const struct bpf_insn *cx;
		int32_t x = test_block(w, L, jx, &cx);
		if (x == NO_BLOCK)
			continue;
		int32_t t = g->succ[2 * x], f = g->succ[2 * x + 1];
		if (!in_loop(w, t) || !in_loop(w, f) || t == f || t == w->header ||
		    f == w->header || g->start[t] != g->last[t] || NPRED(t) != 2 || NPRED(f) != 1 ||
		    g->succ[2 * f] != NO_BLOCK || g->succ[2 * f + 1] != t)
			continue;
		const struct bpf_insn *ct = &w->code[g->start[t]];
		if (ct->code != cx->code || ct->dst_reg != cx->dst_reg ||
		    ct->src_reg != cx->src_reg || ct->imm != cx->imm)
			continue;
		int32_t t2 = g->succ[2 * t], gg = g->succ[2 * t + 1];
		if (!in_loop(w, t2) || !in_loop(w, gg) || t2 == gg || t2 == w->header ||
		    gg == w->header || NPRED(gg) != 1)
			continue;
		uint16_t rd = isa_regs_read(ct, ct->code), wr = 0;
		for (uint32_t i = g->start[f]; i <= g->last[f]; i++)
			if (w->code[i].code != ISA_LDDW_HI && w->code[i].code < ISA__COUNT)
				wr |= isa_regs_written(&w->code[i], w->code[i].code);
		int jt = lv_block_index(L, g->start[t]), jf = lv_block_index(L, g->start[f]);
		int jg = lv_block_index(L, g->start[gg]);
		if ((wr & rd) || jt < 0 || jf < 0 || jg < 0 || L->charge[jt] ||
		    L->thread[jt] != LV_AS_IS || L->thread[jf] != LV_AS_IS ||
		    L->thread[jg] != LV_AS_IS)
			continue;
		L->thread[jx] = (int32_t)g->start[t2];
		L->thread[jf] = (int32_t)g->start[gg];
		L->thread[jt] = LV_DEAD;
		L->charge[jf] += L->charge[jg];
		L->ahead[jf] += (int32_t)L->charge[jg];
		L->charge[jg] = 0;
		L->nthreaded++;
	}
	for (size_t jx = 0; jx < L->nblocks; jx++) {
		const struct bpf_insn *cx;
		int32_t x = test_block(w, L, jx, &cx);
		if (x == NO_BLOCK)
			continue;
		int32_t l1 = g->succ[2 * x], t = g->succ[2 * x + 1];
		if (!in_loop(w, t) || t == w->header || g->start[t] != g->last[t] || NPRED(t) != 1 ||
		    l1 == NO_BLOCK || g->start[l1] != g->last[t] + 1)
			continue;
		int trow = w->code[g->start[t]].code;
		if (trow >= ISA__COUNT || (isa_rows[trow].fmt != ISA_FMT_JA &&
					   isa_rows[trow].fmt != ISA_FMT_JA32) ||
		    !in_loop(w, g->succ[2 * t]))
			continue;
		int jt = lv_block_index(L, g->start[t]);
		if (jt < 0 || L->charge[jt] || L->thread[jt] != LV_AS_IS)
			continue;
		L->invert[jx] = 1;
		L->thread[jt] = LV_DEAD;
		L->nthreaded++;
	}
#undef NPRED
	return 0;
}

/* Analyses the loop headed by block h whose blocks are marked in w->local (local
 * index order unspecified); fills L and covered[] on success. */
static int analyse_loop(struct lwork *w, struct lv_loop *L, uint8_t *covered)
{
	const struct cfg *g = w->g;
	size_t insns = 0;
	L->calls = false;
	for (size_t k = 0; k < w->nbl; k++) {
		int32_t b = w->blist[k];
		insns += g->last[b] - g->start[b] + 1;
		for (uint32_t i = g->start[b]; i <= g->last[b]; i++) {
			if (!insn_ok_in_loop(w->code[i].code))
				return 0;
			L->calls |= is_call(w->code[i].code) && !(w->inlined && w->inlined[i]);
		}
	}
	if (insns > MAX_LOOP_INSNS)
		return 0;
	/* Topological order from the header, back edges ignored (iterative DFS). */
	int32_t *order = malloc(w->nbl * sizeof(*order));
	uint32_t *stk = malloc(w->nbl * 2 * sizeof(*stk));
	uint8_t *seen = calloc(w->nbl, 1);
	int32_t *latch = malloc(w->nbl * sizeof(*latch));
	if (!order || !stk || !seen || !latch) {
		free(order);
		free(stk);
		free(seen);
		free(latch);
		return -ENOMEM;
	}
	size_t nlatch = 0;
	size_t n = dfs_postorder(g, w->header, in_body, w, seen, w->local, stk, order, 0);
	int err = 0;
	if (n != w->nbl) {
		err = 0;	/* some block unreachable without the header: not natural */
		goto out;
	}
	for (size_t k = 0; k < n / 2; k++) {
		int32_t t = order[k];
		order[k] = order[n - 1 - k];
		order[n - 1 - k] = t;
	}
	memcpy(w->blist, order, n * sizeof(*order));
	/* A cycle inside the body that does not pass the header (irreducible: no
	 * dominating head of its own) leaves no topological order: not versioned. */
	{
		int32_t *pos = (int32_t *)order;	/* per local index, reusing order[] */
		for (size_t k = 0; k < n; k++)
			pos[w->local[w->blist[k]]] = (int32_t)k;
		for (size_t k = 0; k < n; k++) {
			int32_t b = w->blist[k];
			if (b == w->header)
				continue;
			for (uint32_t e = g->pred_off[b]; e < g->pred_off[b + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (in_loop(w, p) && pos[w->local[p]] >= (int32_t)k)
					goto out;	/* err is 0 */
			}
		}
	}
	/* the longest path, and the latches */
	uint32_t *dist = (uint32_t *)stk;	/* n entries suffice */
	L->maxlen = 0;
	for (size_t k = 0; k < n; k++) {
		int32_t b = w->blist[k];
		uint32_t best = 0;
		if (b != w->header)
			for (uint32_t e = g->pred_off[b]; e < g->pred_off[b + 1]; e++) {
				int32_t p = (int32_t)g->pred[e];
				if (in_loop(w, p) && dist[w->local[p]] > best)
					best = dist[w->local[p]];
			}
		dist[w->local[b]] = best + g->len[b];
		if (dist[w->local[b]] > L->maxlen)
			L->maxlen = dist[w->local[b]];
		if (g->succ[2 * b] == w->header || g->succ[2 * b + 1] == w->header)
			latch[nlatch++] = b;
	}
	/* slots written through r10 */
	w->slot_written = 0;
	for (size_t k = 0; k < n; k++) {
		int32_t b = w->blist[k];
		for (uint32_t i = g->start[b]; i <= g->last[b]; i++) {
			int br, sz;
			bool wr;
			if (access_of(&w->code[i], &br, &sz, &wr) && wr && br == 10)
				w->slot_written |= slot_mask(w->code[i].off, sz);
		}
	}
	/* registers the iteration may read before writing them (live at the header):
	 * a forward must-be-written analysis in topological order */
	uint16_t live = 0;
	{
		uint16_t *def = malloc(n * sizeof(*def));
		if (!def) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < n; k++) {
			int32_t b = w->blist[k];
			uint16_t d = 0;
			if (b != w->header) {
				d = 0xffff;
				for (uint32_t e = g->pred_off[b]; e < g->pred_off[b + 1]; e++) {
					int32_t p = (int32_t)g->pred[e];
					if (in_loop(w, p))
						d &= def[w->local[p]];
				}
			}
			for (uint32_t i = g->start[b]; i <= g->last[b]; i++) {
				int row = w->code[i].code;
				if (row >= ISA__COUNT)
					continue;
				live |= isa_regs_read(&w->code[i], row) & (uint16_t)~d;
				d |= isa_regs_written(&w->code[i], row);
			}
			def[w->local[b]] = d;
		}
		free(def);
	}
	for (int pass_slots = !L->calls; pass_slots >= 0; pass_slots--) {
		struct state h, be;
		struct ivinfo iv;
		w->slots = pass_slots;
		for (int r = 0; r < 11; r++)
			h.r[r] = f_sym(r);
		for (int k = 0; k < LV_NSLOT; k++)
			h.slot[k] = w->slots && !(w->slot_written & (UINT64_C(1) << k)) ?
				    f_sym(LV_SLOT0 + k) : TOP;
		w->record = false;
		err = sym_pass(w, &h, &be);
		if (err)
			break;
		classify(&be, &iv);
		L->neq = 0;
		for (int r = 0; r < 11; r++) {
			if (iv.kind[r] == K_TOP || (iv.kind[r] == K_COPY && !(live & (1u << r))))
				h.r[r] = TOP;	/* (a dead copy needs no entry check) */
			else if (iv.kind[r] == K_COPY) {
				h.r[r] = f_sym(iv.copy_of[r]);
				h.r[r].c = (uint64_t)iv.delta[r];
				L->eq[L->neq++] = (struct lv_eq){ (int8_t)r, iv.copy_of[r],
								  (int32_t)iv.delta[r] };
			}
		}
		w->record = true;
		err = sym_pass(w, &h, &be);
		if (err)
			break;
		if (!find_test(w, &iv, latch, nlatch, L))
			break;
		for (size_t k = 0; k < w->nacc; k++)
			covered[w->acc[k].insn] = 0;
		if (make_ranges(w, &iv, L, covered)) {
			err = 1;	/* versioned */
			break;
		}
		for (size_t k = 0; k < w->nacc; k++)
			covered[w->acc[k].insn] = 0;
	}
	if (err == -EINVAL)
		err = 0;	/* not a loop this analysis understands */
	if (err < 0)
		goto out;
	if (err == 1) {
		uint32_t *ch = malloc(n * sizeof(*ch));
		int32_t *ah = malloc(n * sizeof(*ah));
		L->blocks = malloc(n * sizeof(*L->blocks));
		L->charge = malloc(n * sizeof(*L->charge));
		L->ahead = malloc(n * sizeof(*L->ahead));
		if (!ch || !ah || !L->blocks || !L->charge || !L->ahead ||
		    plan_charges(w, L, ch, ah)) {
			free(ch);
			free(ah);
			free(L->blocks);
			free(L->charge);
			free(L->ahead);
			L->blocks = L->charge = NULL;
			L->ahead = NULL;
			err = -ENOMEM;
			goto out;
		}
		/* blocks ascending (for lv_block_index), their charges alongside: the
		 * leaders are distinct instruction indexes, so a marker pass sorts them */
		uint32_t lo = UINT32_MAX, hi = 0;
		for (size_t k = 0; k < n; k++) {
			uint32_t st = g->start[w->blist[k]];
			lo = st < lo ? st : lo;
			hi = st > hi ? st : hi;
		}
		size_t j = 0;
		for (uint32_t i = lo; i <= hi && j < n; i++) {
			int32_t b = g->bid[i];
			if (b == NO_BLOCK || g->start[b] != i || !in_loop(w, b))
				continue;
			L->blocks[j] = i;
			L->charge[j] = ch[w->local[b]];
			L->ahead[j] = ah[w->local[b]];
			j++;
		}
		free(ch);
		free(ah);
		L->nblocks = n;
		L->header = g->start[w->header];
		err = thread_tests(w, L);
		if (err) {
			free(L->blocks);
			free(L->charge);
			free(L->ahead);
			free(L->thread);
			free(L->invert);
			L->thread = NULL;
			L->invert = NULL;
			L->blocks = L->charge = NULL;
			L->ahead = NULL;
			goto out;
		}
		err = 1;
	}
	if (err != 1) {
		for (size_t k = 0; k < w->nacc; k++)
			covered[w->acc[k].insn] = 0;
		err = 0;
	}
out:
	free(order);
	free(stk);
	free(seen);
	free(latch);
	return err;
}

int lv_block_index(const struct lv_loop *l, size_t t)
{
	size_t lo = 0, hi = l->nblocks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (l->blocks[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->nblocks && l->blocks[lo] == t ? (int)lo : -1;
}

void lv_free(struct lv_info *info)
{
	for (size_t k = 0; k < info->nloops; k++) {
		free(info->loops[k].blocks);
		free(info->loops[k].charge);
		free(info->loops[k].ahead);
		free(info->loops[k].thread);
		free(info->loops[k].invert);
	}
	free(info->loops);
	free(info->covered);
	free(info->head);
	free(info->loop_of);
	free(info->header_of);
	memset(info, 0, sizeof(*info));
}

int lv_analyse(const struct bpf_insn *code, size_t cnt, const uint8_t *leader,
	       const uint32_t *blk, const uint8_t *inlined, const size_t *roots, size_t nroots,
	       struct lv_info *out)
{
	struct cfg g = { 0 };
	struct lwork w = { 0 };
	int err;
	memset(out, 0, sizeof(*out));
	out->covered = calloc(cnt + 1, 1);
	out->head = calloc(cnt + 1, 1);
	out->loop_of = malloc((cnt + 1) * sizeof(*out->loop_of));
	out->header_of = malloc((cnt + 1) * sizeof(*out->header_of));
	if (!out->covered || !out->head || !out->loop_of || !out->header_of) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i <= cnt; i++)
		out->loop_of[i] = out->header_of[i] = -1;
	for (size_t r = 0; r < nroots; r++)
		if (roots[r] >= cnt) {
			lv_free(out);
			return -EINVAL;
		}
	err = cfg_build(&g, code, cnt, leader, blk);
	if (!err)
		err = cfg_dominators(&g, roots, nroots);
	if (err)
		goto fail;
	size_t nb = g.nb;
	/* Natural loops: per header, the blocks that reach a back edge's source
	 * without passing the header. */
	int32_t *mark = malloc((nb + 1) * sizeof(*mark));
	int32_t *body = malloc((nb + 1) * sizeof(*body));
	uint8_t *is_header = calloc(nb + 1, 1);
	w.local = malloc((nb + 1) * sizeof(*w.local));
	w.out = NULL;
	if (!mark || !body || !is_header || !w.local) {
		free(mark);
		free(body);
		free(is_header);
		err = -ENOMEM;
		goto fail_w;
	}
	for (size_t b = 0; b < nb; b++) {
		mark[b] = -1;
		w.local[b] = -1;
		for (int k = 0; k < 2; k++) {
			int32_t s = g.succ[2 * b + k];
			if (s != NO_BLOCK && dominates(&g, s, (int32_t)b))
				is_header[s] = 1;
		}
	}
	for (size_t b = 0; b < nb; b++)
		if (is_header[b]) {
			out->head[g.start[b]] = 1;
			out->nheads++;
		}
	w.code = code;
	w.inlined = inlined;
	w.g = &g;
	for (size_t h = 0; h < nb && !err; h++) {
		if (!is_header[h])
			continue;
		size_t nbody = 0;
		bool inner = true;
		mark[h] = (int32_t)h;
		body[nbody++] = (int32_t)h;
		for (uint32_t e = g.pred_off[h]; e < g.pred_off[h + 1]; e++) {
			int32_t u = (int32_t)g.pred[e];
			if (!dominates(&g, (int32_t)h, u) || mark[u] == (int32_t)h)
				continue;
			size_t top = nbody;
			mark[u] = (int32_t)h;
			body[nbody++] = u;
			while (top < nbody) {
				int32_t x = body[top++];
				if (is_header[x] && x != (int32_t)h)
					inner = false;
				for (uint32_t f = g.pred_off[x]; f < g.pred_off[x + 1]; f++) {
					int32_t p = (int32_t)g.pred[f];
					if (mark[p] != (int32_t)h && g.idom[p] != NO_BLOCK) {
						mark[p] = (int32_t)h;
						body[nbody++] = p;
					}
				}
			}
		}
		if (!inner)
			continue;
		struct lv_loop L;
		memset(&L, 0, sizeof(L));
		for (size_t k = 0; k < nbody; k++)
			w.local[body[k]] = (int32_t)k;
		w.blist = body;
		w.nbl = nbody;
		w.header = (int32_t)h;
		w.out = malloc(2 * nbody * sizeof(*w.out));
		if (!w.out) {
			err = -ENOMEM;
		} else {
			err = analyse_loop(&w, &L, out->covered);
			if (err == 1) {
				struct lv_loop *v = realloc(out->loops, (out->nloops + 1) * sizeof(*v));
				if (!v) {
					free(L.blocks);
					free(L.charge);
					free(L.ahead);
					free(L.thread);
					free(L.invert);
					err = -ENOMEM;
				} else {
					out->loops = v;
					int32_t id = (int32_t)out->nloops++;
					v[id] = L;
					out->header_of[L.header] = id;
					for (size_t k = 0; k < L.nblocks; k++) {
						int32_t b = g.bid[L.blocks[k]];
						for (uint32_t i = g.start[b]; i <= g.last[b]; i++)
							out->loop_of[i] = id;
						if (code[g.last[b]].code == ISA_LDDW)
							out->loop_of[g.last[b] + 1] = id;
					}
					err = 0;
				}
			}
		}
		free(w.out);
		w.out = NULL;
		for (size_t k = 0; k < nbody; k++)
			w.local[body[k]] = -1;
	}
	free(mark);
	free(body);
	free(is_header);
fail_w:
	free(w.local);
	free(w.acc);
	free(w.cand);
	cfg_free(&g);
	if (err < 0)
		goto fail_out;
	return 0;
fail:
	cfg_free(&g);
fail_out:
	lv_free(out);
	return err;
}
