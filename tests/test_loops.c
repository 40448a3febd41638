/*
 * test_loops.c — loop-shaped programs on every engine, held to the interpreter.
 *
 * Why. The JIT may compile a loop twice: a copy whose memory accesses carry no
 * bounds checks and whose blocks carry no budget tests, entered only after one
 * check at the loop's entry has shown that every access the loop can make
 * through base + induction-variable addresses lies in the context memory and
 * that the budget covers the worst-case iteration count; the fully checked code
 * runs when that check fails. The fast copy also skips a conditional jump that
 * repeats the test of the one just before it (two selects on one condition). A
 * mistake in that analysis shows as a run that faults at another instruction
 * (or not at all), stores more or fewer bytes, or counts another number of
 * instructions. This test generates the loops clang -O2 writes, and the near
 * misses around them, and requires every engine to agree with the interpreter
 * on errno, r0, insn_executed, the fault (kind, insn, addr, size) and every
 * byte of the memory around the context.
 *
 * Programs come from loop_gen.c (interface: loop_gen.h), in families of the
 * loops clang -O2 writes and the near misses around them (program i is of
 * family i % N_FAMILIES; loop_gen.c describes each).
 *
 * Every program runs RUNS times, each with its own memory (0..300 bytes, random
 * contents or patterns, or exactly the length an earlier run's fault just past
 * the end asked for; placed in an arena whose other bytes are compared too;
 * sometimes with an extra read-only or writable region just before or after
 * it) and its own budget: the default, one drawn in [1, 2 x what the run
 * needs] (so it runs out inside the loop), exactly what it needs give or take
 * two, or none when the run ends without it.
 *
 * Besides agreement, the test checks that every family produces runs that
 * return, runs that fault on memory, runs that fault just past the end of the
 * memory and runs whose drawn budget ran out, that the JIT versions loops in
 * more than a quarter of every family's programs, that it charges them by the
 * decision-tree plan in more than a quarter of the trees' ("owed"), that its
 * analysis covers an access with a loaded term in its address in more than a
 * quarter of the data family's ("dcover"), that a fast copy skips a repeated
 * test in more than a quarter of the selects' ("thr"), and that it charges a
 * loop from its induction variable on the way out instead of per iteration in
 * more than a tenth of the counted loops' ("lazy"), so the generator keeps its
 * reach. A crash (an access the fast copy should not have run unchecked) is
 * reported with the program, run and engine before the process dies.
 *
 * Usage: test_loops [--count N] [--prog K] [--verbose]
 *   --prog K   only program K (as a mismatch report names it), printed with
 *              every run's outcomes
 *   --verbose  print every program
 *   (other arguments, such as the conformance directory CTest passes, are ignored)
 */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "isa.h"
#include "jit/jit.h"
#include "jit/loops.h"
#include "loop_gen.h"
#include "prog.h"
#include "test_engines.h"
#include "testlog.h"
#include "testutil.h"

#define DEFAULT_COUNT	63000	/* programs: 7000 per family */
#define RUNS		5	/* runs per program */
#define MAX_REPORTS	10	/* mismatches printed in full */
#define DEFAULT_BUDGET	20000	/* instructions: far more than any loop here needs */
#define ARENA		1024	/* the bytes compared: the memory and around it */
#define MEM_AT		320	/* where the memory starts in the arena (+ 0..7) */

/* ---- The helpers family 6 calls -------------------------------------------------- */

static uint64_t stop_count;	/* runs the stop helper stopped (every engine) */

static uint64_t h_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) ^ c ^ d ^ e;
	return x ^ (x >> 29);
}
static uint64_t h_stop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)c, (void)d, (void)e;
	if (a == b) {
		stop_count++;
		bpfvm_run_stop(a ^ 0x5700);
	}
	return a * 3 + 1;
}
static const struct bpfvm_helper helpers[] = {
	{ H_MIX, "loops_mix", h_mix, BPFVM_RET_INTEGER,
	  { BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING } },
	{ H_STOP, "loops_stop", h_stop, BPFVM_RET_INTEGER,
	  { BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING } },
};

/* ---- Runs ---------------------------------------------------------------------------------- */

/* Budgets: DEFAULT_BUDGET; drawn in [1, 2 x what the run needs]; exactly what it
 * needs, give or take two (when it ends by itself); none (idem). */
enum { BM_DEFAULT, BM_DRAWN, BM_EXACT, BM_NONE };
static const char *const budget_modes[] = { "default", "drawn", "exact", "none" };

struct runcfg {
	size_t mem_off, mem_len;
	struct bpfvm_region regions[2];
	size_t nreg;
	int bmode;
	uint64_t budget;
	_Alignas(64) uint8_t init[ARENA];
};

struct outcome {
	int err;
	uint64_t r0, insns;
	struct bpfvm_fault fault;
	enum bpfvm_engine used;
	uint8_t arena[ARENA];
};

static _Alignas(64) uint8_t arena[ARENA];

/* A crash (a fast copy running an access its entry check did not cover) names the
 * program, run and engine before the process dies (on_crash). */
static volatile sig_atomic_t cur_prog = -1, cur_run, cur_engine = -1;

static void pick_run(struct gen *g, struct runcfg *rc)
{
	rc->mem_off = MEM_AT + (pct(g, 20) ? rnd(g, 8) : 0);
	if (g->ro_len) {
		rc->mem_len = g->ro_len;
	} else {
		unsigned r = (unsigned)rnd(g, 100);
		if (g->edge >= 0 && r < 60)
			rc->mem_len = (size_t)g->edge;
		else if (r < 12)
			rc->mem_len = rnd(g, 9);
		else if (r < 45 && g->hint >= 0) {
			int32_t n = g->hint + rrange(g, -8, 8);
			rc->mem_len = (size_t)(n < 0 ? 0 : n > MEM_MAX ? MEM_MAX : n);
		} else
			rc->mem_len = rnd(g, MEM_MAX + 1);
	}
	for (size_t i = 0; i < ARENA; i += 8) {
		uint64_t v = next64(g);
		memcpy(rc->init + i, &v, 8);
	}
	uint8_t *m = rc->init + rc->mem_off;
	size_t len = rc->mem_len;
	unsigned r = (unsigned)rnd(g, 100);
	if (r < 10) {
		memset(m, 0, len);
	} else if (r < 20) {
		for (size_t i = 0; i < len; i++)
			m[i] = (uint8_t)rnd(g, 4);
	} else if (r < (g->halves ? 60u : 30u)) {
		memcpy(m + len / 2, m, len / 2);
		if (len && pct(g, 40))
			m[rnd(g, len)] ^= 0x10;
	}
	if (g->nhot && pct(g, 65)) {
		/* family 8: bytes whose offsets are extreme, everywhere, at the end or
		 * at the start */
		r = (unsigned)rnd(g, 100);
		uint8_t b = g->hot[rnd(g, (uint64_t)g->nhot)];
		size_t w = len ? 1 + rnd(g, len < 80 ? len : 80) : 0;
		if (r < 35)
			memset(m, b, len);
		else if (r < 65)
			memset(m + len - w, b, w);
		else if (r < 80)
			memset(m, b, w);
		else {
			for (size_t i = 0; i < len; i++)
				m[i] = pct(g, 70) ? g->hot[rnd(g, (uint64_t)g->nhot)] : (uint8_t)next64(g);
		}
	}
	rc->nreg = 0;
	if (pct(g, 15))	/* another region right after the memory */
		rc->regions[rc->nreg++] = (struct bpfvm_region){
			arena + rc->mem_off + len, 1 + rnd(g, 64), pct(g, 50) };
	if (pct(g, 8)) {	/* ... or before it */
		size_t n = 1 + rnd(g, 64);
		rc->regions[rc->nreg++] = (struct bpfvm_region){
			arena + rc->mem_off - n, n, pct(g, 50) };
	}
}

/* Every engine's run, from this one call site (the same r10 for all) with the
 * same memory and budget. */
static __attribute__((noinline)) void run_engines(struct bpfvm_prog *prog,
						  const struct runcfg *rc, uint64_t budget,
						  const size_t *eng, size_t n, struct outcome *out)
{
	for (size_t e = 0; e < n; e++) {
		cur_engine = (sig_atomic_t)eng[e];
		memcpy(arena, rc->init, ARENA);
		struct bpfvm_run_opts o = {
			.sz = sizeof(o), .mem = arena + rc->mem_off, .mem_len = rc->mem_len,
			.regions = rc->nreg ? rc->regions : NULL, .region_cnt = rc->nreg,
			.engine = engines[eng[e]].engine, .budget = budget,
		};
		out[e].err = bpfvm_prog__run_opts(prog, &o);
		out[e].r0 = o.retval;
		out[e].insns = o.insn_executed;
		out[e].fault = o.fault;
		out[e].used = o.engine_used;
		memcpy(out[e].arena, arena, ARENA);
	}
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->err == b->err && a->r0 == b->r0 && a->insns == b->insns &&
	       a->fault.kind == b->fault.kind && a->fault.insn == b->fault.insn &&
	       a->fault.addr == b->fault.addr && a->fault.size == b->fault.size &&
	       !memcmp(a->arena, b->arena, ARENA);
}

/* ---- Reports --------------------------------------------------------------------------------- */

static const char *const fault_names[] = { "none", "read", "write", "budget", "call-depth",
					   "bad-call", "unsupported" };
static const char *fault_name(enum bpfvm_fault_kind k)
{
	return (unsigned)k < sizeof(fault_names) / sizeof(fault_names[0]) ? fault_names[k] : "?";
}

/* An address as mem+N when it is near the memory. */
static void fmt_addr(char *buf, size_t len, uint64_t addr, const struct runcfg *rc)
{
	uint64_t mem = (uint64_t)(uintptr_t)(arena + rc->mem_off);
	int64_t d = (int64_t)(addr - mem);
	if (d > -4096 && d < 4096)
		snprintf(buf, len, "mem%+" PRId64, d);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
}

static void print_program(FILE *f, const struct gen *g)
{
	char *text = bpfvm_disasm(g->in, (size_t)g->cnt, NULL);
	fprintf(f, "program (%d slots, %s%s):\n", g->cnt, family_names[g->family],
		g->ro_len ? ", tracepoint: read-only context" : "");
	if (text) {
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(f, "    %s\n", line);
	} else {
		for (int i = 0; i < g->cnt; i++)
			fprintf(f, "    %d: code 0x%02x dst r%d src r%d off %d imm %d\n", i,
				g->in[i].code, g->in[i].dst_reg, g->in[i].src_reg, g->in[i].off,
				g->in[i].imm);
	}
	free(text);
}

static void print_run(FILE *f, const struct runcfg *rc, const size_t *eng,
		      const struct outcome *out, size_t n)
{
	fprintf(f, "run: memory %zu bytes at arena+%zu, budget %" PRIu64 " (%s)", rc->mem_len,
		rc->mem_off, rc->budget, budget_modes[rc->bmode]);
	for (size_t i = 0; i < rc->nreg; i++) {
		char a[48];
		fmt_addr(a, sizeof(a), (uint64_t)(uintptr_t)rc->regions[i].addr, rc);
		fprintf(f, ", region %s..+%zu %s", a, rc->regions[i].len,
			rc->regions[i].writable ? "rw" : "ro");
	}
	fprintf(f, "\n  memory:");
	for (size_t i = 0; i < rc->mem_len; i++)
		fprintf(f, "%s%02x", i % 32 ? "" : "\n    ", rc->init[rc->mem_off + i]);
	fprintf(f, "\n  %-10s", "");
	for (size_t e = 0; e < n; e++)
		fprintf(f, " %-24s", engines[eng[e]].name);
	char cell[64];
#define ROW(name, ...) do { \
	fprintf(f, "\n  %-10s", name); \
	for (size_t e = 0; e < n; e++) { \
		snprintf(cell, sizeof(cell), __VA_ARGS__); \
		fprintf(f, " %-24s", cell); \
	} } while (0)
	ROW("errno", "%d", out[e].err);
	ROW("r0", "0x%" PRIx64, out[e].r0);
	ROW("insns", "%" PRIu64, out[e].insns);
	ROW("fault", "%s", fault_name(out[e].fault.kind));
	ROW("  insn", "%u", out[e].fault.insn);
	char addr[48];
	ROW("  addr", "%s", (fmt_addr(addr, sizeof(addr), out[e].fault.addr, rc), addr));
	ROW("  size", "%u", out[e].fault.size);
	ROW("memory", "%s", e == 0 ? "(reference)" :
	    memcmp(out[e].arena, out[0].arena, ARENA) ? "DIFFERS" : "same");
#undef ROW
	fputc('\n', f);
	for (size_t e = 1; e < n; e++) {
		int shown = 0;
		for (size_t i = 0; i < ARENA; i++) {
			if (out[e].arena[i] == out[0].arena[i])
				continue;
			if (shown++ == 16) {
				fprintf(f, "    ...\n");
				break;
			}
			fprintf(f, "    %s: byte mem%+td: reference 0x%02x, %s 0x%02x (was 0x%02x)\n",
				engines[eng[e]].name, (ptrdiff_t)i - (ptrdiff_t)rc->mem_off,
				out[0].arena[i], engines[eng[e]].name, out[e].arena[i], rc->init[i]);
		}
	}
}

/* ---- Main ---------------------------------------------------------------------------------------- */

/* Per family, of the reference's outcomes: runs that returned (ok), that a
 * helper stopped, that faulted on memory (near-end: the access reached past the
 * memory's end by less than 64 bytes), that ran out of budget (drawn: with a
 * budget drawn in [1, 2 x needed]); programs in which the JIT versioned a loop
 * (loops.h: runs them in a fast copy once an entry check passes), in which it
 * charges one by the decision-tree plan (owed: jit_owed_loops), in which its
 * analysis covers an access whose address has a loaded term (dcover: family 8),
 * in which a fast copy skips a repeated test (thr: jit_threaded_tests), and in
 * which one is charged from its induction variable (lazy: jit_lazy_loops). */
enum { S_PROGRAMS, S_REJECTED, S_VERSIONED, S_OWED, S_DCOVER, S_THREADED, S_LAZY, S_RUNS, S_OK,
       S_STOPS, S_READ, S_WRITE, S_NEAR_END, S_BUDGET, S_DRAWN, S_OTHER, S_MISMATCHES, N_STATS };
static const char *const stat_names[N_STATS] = {
	"programs", "rejected", "versioned", "owed", "dcover", "thr", "lazy", "runs", "ok", "stops",
	"read", "write", "near-end", "budget", "drawn", "other", "mismatch",
};

/* The JIT's loop analysis (loops.h) of prog, as jit.c runs it: on the decoded
 * program, with its blocks (leaders: 0, jump and call targets, after jumps, calls
 * and exits) and its roots (0 and the local calls' targets). 0 or an error. */
static int analyse(const struct bpfvm_prog *prog, struct lv_info *info)
{
	const struct bpf_insn *code = prog->decoded;
	size_t cnt = prog->cnt, nroots = 0;
	uint8_t *lead = calloc(cnt + 1, 1), *root = calloc(cnt + 1, 1);
	uint32_t *blk = calloc(cnt + 1, sizeof(*blk));
	size_t *roots = malloc((cnt + 1) * sizeof(*roots));
	int err = -1;
	if (!lead || !root || !blk || !roots)
		goto out;
	lead[0] = root[0] = 1;
	for (size_t i = 0; i < cnt; i++) {
		int row = code[i].code;
		if (row == ISA_LDDW_HI || row >= ISA__COUNT)
			continue;
		int fmt = isa_rows[row].fmt;
		size_t next = i + (row == ISA_LDDW ? 2 : 1);
		if (isa_is_jump(row) || fmt == ISA_FMT_CALL_LOCAL) {
			int64_t t = isa_target(&code[i], row, i);
			if (t >= 0 && (uint64_t)t < cnt) {
				lead[t] = 1;
				root[t] |= fmt == ISA_FMT_CALL_LOCAL;
			}
		}
		if (isa_is_jump(row) || fmt == ISA_FMT_CALL_LOCAL || fmt == ISA_FMT_EXIT ||
		    fmt == ISA_FMT_CALL || fmt == ISA_FMT_CALLX)
			lead[next] = 1;
	}
	for (size_t i = 0, l = 0; i < cnt; i++) {
		if (code[i].code == ISA_LDDW_HI)
			continue;
		if (lead[i])
			l = i;
		blk[l]++;
		if (root[i])
			roots[nroots++] = i;
	}
	err = lv_analyse(code, cnt, lead, blk, NULL, roots, nroots, info);
out:
	free(lead);
	free(root);
	free(blk);
	free(roots);
	return err;
}

/* Whether the analysis covers one of the accesses the generator marked as having a
 * loaded term in their address (g->dacc). */
static bool data_covered(const struct bpfvm_prog *prog, const struct gen *g)
{
	struct lv_info info;
	bool cov = false;
	if (analyse(prog, &info))
		return false;
	for (int k = 0; k < g->ndacc; k++)
		cov |= (size_t)g->dacc[k] < prog->cnt && info.covered[g->dacc[k]];
	lv_free(&info);
	return cov;
}

/* Family 8: sets the bound's k, i's initial value and D's delta (immediates outside
 * the loop, which the analysis of the loop does not depend on) so that the ranges the
 * analysis claims for the accesses at base + i and D + i end exactly at the end of
 * the memory (or a byte short or past it), and D's starts exactly at its start (or a
 * byte before). With the entry check passing exactly there, an access the analysis
 * covers with too narrow a range runs past the memory unchecked, and the extreme
 * loaded values (g->hot) make it do so in the last or first iteration. Per loops.h,
 * the entry check assumes  i <= B - a + step - 1  for  i + a < B  (<=: B - a + step)
 * and requires [inv + i0 + lo, inv + imax + hi) inside the memory. */
static void data_fit(struct gen *g, const struct bpfvm_prog_opts *po0)
{
	struct bpfvm_prog_opts po = *po0;
	po.no_jit = true;
	struct bpfvm_prog *prog = bpfvm_prog__new(g->in, (size_t)g->cnt, &po);
	struct lv_info info;
	if (!prog || analyse(prog, &info)) {
		bpfvm_prog__free(prog);
		return;
	}
	const struct lv_loop *L = NULL;
	for (size_t l = 0; l < info.nloops; l++)
		if (info.loops[l].q == g->fit.I)
			L = &info.loops[l];
	if (!L || L->a.sym != LV_NONE || L->step_reg != LV_NONE || L->cmp == LV_NE ||
	    (L->b.sym != g->fit.N && L->b.sym != LV_SLOT0))
		goto out;
	int64_t imax = (int64_t)L->b.c - L->a.c + L->step_c - (L->cmp == LV_LT);	/* - N */
	int64_t lo[2] = { INT64_MAX, INT64_MAX }, hi[2] = { INT64_MIN, INT64_MIN };
	for (size_t r = 0; r < L->nranges; r++) {
		const struct lv_range *rg = &L->ranges[r];
		int w = rg->inv == g->fit.B ? 0 : g->fit.d_at >= 0 && rg->inv == g->fit.D ? 1 : -1;
		if (w < 0 || rg->iv != g->fit.I)
			continue;
		lo[w] = rg->lo < lo[w] ? rg->lo : lo[w];
		hi[w] = rg->hi > hi[w] ? rg->hi : hi[w];
	}
	if (hi[0] == INT64_MIN && hi[1] == INT64_MIN)
		goto out;
	int64_t i0 = g->in[g->fit.i0_at].imm, delta = 0;
	if (lo[0] != INT64_MAX && i0 + lo[0] < 0 && pct(g, 80))
		i0 = -lo[0] - (pct(g, 20) ? 1 : 0);
	if (hi[1] != INT64_MIN && pct(g, 85))
		delta = -(i0 + lo[1]) - (pct(g, 25) ? 1 : 0);
	int64_t top = hi[0] > hi[1] + delta ? hi[0] : hi[1] + delta;
	unsigned r = (unsigned)rnd(g, 100);
	int64_t k = top + imax + (r < 55 ? 0 : r < 80 ? -1 : r < 90 ? 1 : rrange(g, -8, 8));
	if (r >= 95 || k < INT16_MIN || k > INT16_MAX || i0 < 0 || i0 > INT16_MAX ||
	    delta < INT16_MIN || delta > INT16_MAX)
		goto out;	/* as the generator drew it */
	g->in[g->fit.i0_at].imm = (int32_t)i0;
	if (g->fit.d_at >= 0)
		g->in[g->fit.d_at].imm = (int32_t)delta;
	if (g->fit.n_at >= 0)
		g->in[g->fit.n_at].imm = (int32_t)-k;
out:
	lv_free(&info);
	bpfvm_prog__free(prog);
}

static void put_num(char *buf, size_t *n, long v)
{
	char d[24];
	int k = 0;
	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) > 0 && k < 24);
	while (k > 0)
		buf[(*n)++] = d[--k];
}

static void on_crash(int sig)
{
	char buf[256];
	size_t n = 0;
	const char *parts[] = { "\ntest_loops: signal ", " in program ", ", run ", ", engine " };
	long nums[] = { sig, cur_prog, cur_run };
	for (int k = 0; k < 4; k++) {
		for (const char *c = parts[k]; *c; c++)
			buf[n++] = *c;
		if (k < 3)
			put_num(buf, &n, nums[k]);
	}
	const char *e = cur_engine >= 0 && (size_t)cur_engine < N_ENGINES ?
			engines[cur_engine].name : "?";
	while (*e)
		buf[n++] = *e++;
	const char *tail = " (replay: test_loops --prog ";
	while (*tail)
		buf[n++] = *tail++;
	put_num(buf, &n, cur_prog);
	buf[n++] = ')';
	buf[n++] = '\n';
	buf[n] = 0;
	fflush(stdout);		/* --prog's listing; the process is dying anyway */
	fputs(buf, stderr);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Not under sanitizers, whose own handlers say more. */
static void catch_crashes(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return;
#endif
#endif
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGILL, on_crash);
	signal(SIGFPE, on_crash);
}

static double now_s(void)
{
	struct timespec ts;
	timespec_get(&ts, TIME_UTC);	/* C11 */
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	uint64_t count = DEFAULT_COUNT, only = 0;
	bool single = false, verbose = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--prog") && i + 1 < argc)
			only = strtoull(argv[++i], NULL, 0), single = verbose = true;
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
	}
	test_log_capture();
	catch_crashes();

	size_t eng[N_ENGINES], neng = 0;
	bool have_jit = false;
	for (size_t e = 0; e < N_ENGINES; e++) {
		if (!bpfvm_engine_available(engines[e].engine))
			continue;
		have_jit |= engines[e].engine == BPFVM_ENGINE_JIT;
		eng[neng++] = e;
	}
	if (engines[eng[0]].engine != BPFVM_ENGINE_INTERP) {
		fprintf(stderr, "test_loops: the reference interpreter is not available\n");
		return 1;
	}
	printf("loops: seed 0x%016llx, %" PRIu64 " programs x %d runs, engines:",
	       (unsigned long long)SEED, single ? 1 : count, RUNS);
	for (size_t e = 0; e < neng; e++)
		printf(" %s%s", engines[eng[e]].name, e ? "" : " (reference)");
	printf("%s\n", have_jit ? "" : "; jit: not available in this build");

	static struct gen g;
	static struct runcfg rc;
	static struct outcome out[N_ENGINES];
	static uint64_t st[N_FAMILIES + 1][N_STATS];
	uint64_t reports = 0, wrong_engine = 0;
	double t0 = now_s();

	for (uint64_t p = single ? only : 0; p < (single ? only + 1 : count); p++) {
		generate(&g, p);
		cur_prog = (sig_atomic_t)p;
		uint64_t *fs = st[g.family];
		fs[S_PROGRAMS]++;
		struct bpfvm_prog_opts po = {
			.sz = sizeof(po), .helpers = helpers,
			.helper_cnt = sizeof(helpers) / sizeof(helpers[0]),
			.prog_type = g.ro_len ? BPFVM_PROG_TYPE_TRACEPOINT : BPFVM_PROG_TYPE_RAW,
		};
		if (g.family == F_DATA)
			data_fit(&g, &po);
		struct bpfvm_prog *prog = bpfvm_prog__new(g.in, (size_t)g.cnt, &po);
		if (!prog) {
			if (fs[S_REJECTED]++ < 3) {
				fprintf(stderr, "program %" PRIu64 " rejected: %s\n", p, test_log_last());
				print_program(stderr, &g);
			}
			continue;
		}
		fs[S_VERSIONED] += jit_versioned_loops(prog->jit) > 0;
		fs[S_OWED] += jit_owed_loops(prog->jit) > 0;
		fs[S_THREADED] += jit_threaded_tests(prog->jit) > 0;
		fs[S_LAZY] += jit_lazy_loops(prog->jit) > 0;
		if (g.ndacc && have_jit)
			fs[S_DCOVER] += data_covered(prog, &g);
		if (verbose)
			print_program(stdout, &g);
		for (int run = 0; run < RUNS; run++) {
			cur_run = run;
			pick_run(&g, &rc);
			/* How many instructions the run needs (the reference, default budget). */
			run_engines(prog, &rc, DEFAULT_BUDGET, eng, 1, out);
			bool endless = out[0].fault.kind == BPFVM_FAULT_BUDGET;
			uint64_t needed = endless ? DEFAULT_BUDGET : out[0].insns;
			unsigned r = (unsigned)rnd(&g, 100);
			rc.bmode = r < 55 ? BM_DEFAULT : r < 80 ? BM_DRAWN : r < 88 ? BM_EXACT : BM_NONE;
			if (endless && rc.bmode >= BM_EXACT)
				rc.bmode = rc.bmode == BM_EXACT ? BM_DRAWN : BM_DEFAULT;
			int64_t exact = (int64_t)needed + rrange(&g, -2, 1);
			rc.budget = rc.bmode == BM_DEFAULT ? DEFAULT_BUDGET :
				    rc.bmode == BM_DRAWN ? 1 + rnd(&g, 2 * needed) :
				    rc.bmode == BM_EXACT ? (uint64_t)(exact < 1 ? 1 : exact) : 0;
			uint64_t stops0 = stop_count;
			run_engines(prog, &rc, rc.budget, eng, neng, out);

			fs[S_RUNS]++;
			const struct outcome *ref = &out[0];
			uint64_t mem = (uint64_t)(uintptr_t)(arena + rc.mem_off);
			/* A fault just past the end: a later run gets exactly the memory
			 * that access needed (a loop with a constant bound then ends
			 * exactly at the end, the case an off-by-one would get wrong). */
			g.edge = -1;
			if ((ref->fault.kind == BPFVM_FAULT_READ || ref->fault.kind == BPFVM_FAULT_WRITE) &&
			    ref->fault.addr >= mem && ref->fault.addr + ref->fault.size > mem + rc.mem_len &&
			    ref->fault.addr + ref->fault.size <= mem + MEM_MAX)
				g.edge = (int)(ref->fault.addr + ref->fault.size - mem);
			switch (ref->fault.kind) {
			case BPFVM_FAULT_NONE:
				fs[stop_count != stops0 ? S_STOPS : S_OK]++;
				break;
			case BPFVM_FAULT_READ:
			case BPFVM_FAULT_WRITE:
				fs[ref->fault.kind == BPFVM_FAULT_READ ? S_READ : S_WRITE]++;
				if (ref->fault.addr + ref->fault.size > mem + rc.mem_len &&
				    ref->fault.addr < mem + rc.mem_len + 64)
					fs[S_NEAR_END]++;
				break;
			case BPFVM_FAULT_BUDGET:
				fs[S_BUDGET]++;
				fs[S_DRAWN] += rc.bmode == BM_DRAWN;
				break;
			default:
				fs[S_OTHER]++;
				break;
			}
			bool agree = true;
			for (size_t e = 1; e < neng; e++) {
				agree &= same(&out[0], &out[e]);
				wrong_engine += out[e].used != engines[eng[e]].engine;
			}
			if (!agree) {
				fs[S_MISMATCHES]++;
				if (reports++ < MAX_REPORTS) {
					fprintf(stderr, "\nMISMATCH: program %" PRIu64 ", run %d (replay: "
						"test_loops --prog %" PRIu64 ")\n", p, run, p);
					print_program(stderr, &g);
					print_run(stderr, &rc, eng, out, neng);
				}
			}
			if (single) {
				printf("\nrun %d%s\n", run, agree ? "" : " (MISMATCH)");
				print_run(stdout, &rc, eng, out, neng);
			}
		}
		bpfvm_prog__free(prog);
	}
	double dt = now_s() - t0;

	uint64_t *all = st[N_FAMILIES];
	printf("loops: %-12s", "family");
	for (int k = 0; k < N_STATS; k++)
		printf(" %8s", stat_names[k]);
	for (int f = 0; f <= N_FAMILIES; f++) {
		printf("\nloops: %-12s", f < N_FAMILIES ? family_names[f] : "all");
		for (int k = 0; k < N_STATS; k++) {
			if (f < N_FAMILIES)
				all[k] += st[f][k];
			printf(" %8" PRIu64, st[f][k]);
		}
	}
	printf("\nloops: %.2f s\n", dt);

	CHECK(all[S_MISMATCHES] == 0, "%" PRIu64 " runs differ between engines",
	      all[S_MISMATCHES]);
	CHECK(all[S_REJECTED] == 0, "%" PRIu64 " generated programs were rejected",
	      all[S_REJECTED]);
	CHECK(wrong_engine == 0, "%" PRIu64 " runs did not use the engine asked for", wrong_engine);
	if (!single && count >= 9000) {
		/* the families make what they claim */
		for (int f = 0; f < N_FAMILIES; f++) {
			const uint64_t *s = st[f];
			CHECK(s[S_OK] > 0, "%s: no run returned normally", family_names[f]);
			CHECK(s[S_READ] + s[S_WRITE] > 0, "%s: no run faulted on memory",
			      family_names[f]);
			CHECK(s[S_NEAR_END] > 0, "%s: no run ran off the end", family_names[f]);
			CHECK(s[S_DRAWN] > 0, "%s: no drawn budget ran out", family_names[f]);
		}
		CHECK(st[F_CALLS][S_STOPS] > 0, "no run was stopped by the helper");
		/* and the JIT versions loops in every family (with calls: checks only) */
		for (int f = 0; f < N_FAMILIES && have_jit; f++)
			CHECK(st[f][S_VERSIONED] * 4 > st[f][S_PROGRAMS],
			      "%s: the JIT versioned loops in only %" PRIu64 " of %" PRIu64 " programs",
			      family_names[f], st[f][S_VERSIONED], st[f][S_PROGRAMS]);
		/* and charges the trees by the decision-tree plan (instructions owed) */
		if (have_jit)
			CHECK(st[F_TREES][S_OWED] * 4 > st[F_TREES][S_PROGRAMS],
			      "%s: the decision-tree plan in only %" PRIu64 " of %" PRIu64 " programs",
			      family_names[F_TREES], st[F_TREES][S_OWED], st[F_TREES][S_PROGRAMS]);
		/* and covers accesses at data-dependent addresses (bounded terms) */
		if (have_jit)
			CHECK(st[F_DATA][S_DCOVER] * 4 > st[F_DATA][S_PROGRAMS],
			      "%s: data-dependent accesses covered in only %" PRIu64 " of %" PRIu64
			      " programs", family_names[F_DATA], st[F_DATA][S_DCOVER],
			      st[F_DATA][S_PROGRAMS]);
		/* and skips the repeated tests of selects in their fast copies */
		if (have_jit)
			CHECK(st[F_SELECTS][S_THREADED] * 4 > st[F_SELECTS][S_PROGRAMS],
			      "%s: repeated tests skipped in only %" PRIu64 " of %" PRIu64 " programs",
			      family_names[F_SELECTS], st[F_SELECTS][S_THREADED],
			      st[F_SELECTS][S_PROGRAMS]);
		/* and charges simple loops from their induction variable */
		if (have_jit)
			CHECK(st[F_COUNTED][S_LAZY] * 10 > st[F_COUNTED][S_PROGRAMS],
			      "%s: charged from the IV in only %" PRIu64 " of %" PRIu64 " programs",
			      family_names[F_COUNTED], st[F_COUNTED][S_LAZY],
			      st[F_COUNTED][S_PROGRAMS]);
	}
	return test_summary();
}
