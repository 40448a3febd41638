/*
 * test_callbacks.c — control transfers inside a run, on every engine (the
 * computed-goto and switch interpreters, the JIT), which must agree exactly:
 * errno, r0, the fault (kind, insn, addr, size), instructions executed and the
 * context memory afterwards. Expectations are worked out by hand in the comments.
 *
 *  - lddw src=4 (BPF_PSEUDO_FUNC): the callback token it loads, and what the
 *    validator refuses;
 *  - bpf_loop: sums, early break, nested loops, flags and limits, bad tokens, a
 *    fault and the budget running out inside a callback, bpfvm_run_stop inside
 *    one, callbacks that nest until no frame is left;
 *  - bpf_for_each_map_elem over ARRAY, PERCPU_ARRAY, HASH and LRU_HASH: sums,
 *    early stop, writes through the value, the read-only key, types it refuses;
 *  - bpf_tail_call: A -> B through a PROG_ARRAY in the same frame, empty and
 *    out-of-range slots, the 33-call limit counted exactly, budget and faults in
 *    the target, targets without native code, calls from a subprogram or a
 *    callback (refused);
 *  - LD_ABS / LD_IND: byte order, bounds, the 32-bit offset, r1-r5 afterwards,
 *    inside a callback, no packet.
 * Programs are written in the assembler's pseudo-C (func[label], map[idx:N]).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "prog.h"
#include "progtypes/progtype.h"
#include "testlog.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NEG(e) ((uint64_t)(int64_t)-(e))

static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_INTERP_SWITCH,
					     BPFVM_ENGINE_JIT };
static const char *const engine_names[] = { "interp", "switch", "jit" };

/* ---- Harness ------------------------------------------------------------------------ */

/* How to make a program: bound maps, local helpers, no native code. */
struct env {
	struct bpfvm_map *const *maps;
	size_t map_cnt;
	const struct bpfvm_helper *helpers;
	size_t helper_cnt;
	bool no_jit;
};

static struct bpf_insn *assemble(const char *what, const char *text, size_t *cnt)
{
	struct bpf_insn *insns = NULL;
	int err = bpfvm_asm(text, NULL, &insns, cnt);
	CHECK(err == 0, "%s: does not assemble (%d): %s", what, err, test_log_last());
	return err ? NULL : insns;
}

static struct bpfvm_prog *make(const char *what, const char *text, const struct env *env)
{
	static const struct env none;
	size_t cnt;
	struct bpf_insn *insns = assemble(what, text, &cnt);
	if (!insns)
		return NULL;
	if (!env)
		env = &none;
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .name = what, .helpers = env->helpers,
				     .helper_cnt = env->helper_cnt, .maps = env->maps,
				     .map_cnt = env->map_cnt, .no_jit = env->no_jit };
	test_log_clear();
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, &o);
	CHECK(p != NULL, "%s: rejected: %s", what, test_log_last());
	free(insns);
	return p;
}

/* The validator refuses text with a message containing msg. */
static void refuse(const char *what, const char *text, const char *msg)
{
	size_t cnt;
	struct bpf_insn *insns = assemble(what, text, &cnt);
	if (!insns)
		return;
	test_log_clear();
	errno = 0;
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, NULL);
	CHECK(p == NULL && errno == EINVAL, "%s: accepted (errno %d)", what, errno);
	CHECK_CONTAINS(test_log_last(), msg, "%s", what);
	bpfvm_prog__free(p);
	free(insns);
}

#define MEM_MAX 64

struct res {
	int err;
	uint64_t r0;
	struct bpfvm_fault fault;
	uint64_t executed;
	uint8_t mem[MEM_MAX];
};

/* Runs p on every engine it can run on, with mem (len bytes, restored before
 * each run; for typed programs the context) and budget; all must agree with the
 * interpreter on everything. Returns the interpreter's result. */
static struct res run(struct bpfvm_prog *p, const void *mem, size_t len, uint64_t budget,
		      const char *what)
{
	struct res first = { .err = -1 };
	_Alignas(16) uint8_t work[MEM_MAX];
	if (!p)
		return first;
	bool raw = bpfvm_prog__type(p) == BPFVM_PROG_TYPE_RAW;
	for (size_t e = 0; e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]) ||
		    (engines[e] == BPFVM_ENGINE_JIT && bpfvm_prog__jited(p, NULL, NULL, NULL)))
			continue;
		if (len)
			memcpy(work, mem, len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = raw ? work : (void *)mem,
					    .mem_len = raw ? len : 0, .engine = engines[e],
					    .budget = budget };
		struct res r = { .err = bpfvm_prog__run_opts(p, &o), .r0 = o.retval,
				 .fault = o.fault, .executed = o.insn_executed };
		if (len)
			memcpy(r.mem, work, len);
		if (e == 0) {
			first = r;
			continue;
		}
		const char *en = engine_names[e];
		CHECK(r.err == first.err, "%s: %s err %d, interp %d", what, en, r.err, first.err);
		CHECK_U64(r.r0, first.r0, "%s: %s r0", what, en);
		CHECK_U64(r.executed, first.executed, "%s: %s instructions executed", what, en);
		CHECK(r.fault.kind == first.fault.kind && r.fault.insn == first.fault.insn &&
		      r.fault.addr == first.fault.addr && r.fault.size == first.fault.size,
		      "%s: %s fault {%d insn %u addr %#llx size %u}, interp {%d insn %u addr "
		      "%#llx size %u}", what, en, (int)r.fault.kind, r.fault.insn,
		      (unsigned long long)r.fault.addr, r.fault.size, (int)first.fault.kind,
		      first.fault.insn, (unsigned long long)first.fault.addr, first.fault.size);
		CHECK(memcmp(r.mem, first.mem, len) == 0, "%s: %s memory differs", what, en);
	}
	return first;
}

static void expect_r0(struct res r, uint64_t r0, const char *what)
{
	CHECK(r.err == 0, "%s: err %d (fault %d at insn %u)", what, r.err, (int)r.fault.kind,
	      r.fault.insn);
	CHECK_U64(r.r0, r0, "%s", what);
}

static void expect_fault(struct res r, enum bpfvm_fault_kind kind, uint32_t insn, const char *what)
{
	CHECK(r.err == vm_fault_errno(kind), "%s: err %d", what, r.err);
	CHECK(r.fault.kind == kind, "%s: fault kind %d, expected %d", what, (int)r.fault.kind,
	      (int)kind);
	CHECK_U64(r.fault.insn, insn, "%s: fault insn", what);
}

/* Makes text, runs it on every engine with no memory, frees it. */
static struct res run_text(const char *what, const char *text, const struct env *env,
			   uint64_t budget)
{
	struct bpfvm_prog *p = make(what, text, env);
	struct res r = run(p, NULL, 0, budget, what);
	bpfvm_prog__free(p);
	return r;
}

/* r0 of p run on the JIT right after a run that left 7 at r10-8 of every
 * frame, from one call site (so the stack is the same memory): frames must be
 * zeroed as the interpreter's are, which run() cannot show, since the
 * interpreter runs first and zeroes them. 0 without a JIT. */
static uint64_t jit_on_dirty_stack(struct bpfvm_prog *p, void *mem, size_t len)
{
	static const char dirty_text[] = "*(u64 *)(r10 -8) = 7\n call f\n exit\n"
					 "f: *(u64 *)(r10 -8) = 7\n call f\n exit\n";
	if (!p || !bpfvm_engine_available(BPFVM_ENGINE_JIT))
		return 0;
	struct bpfvm_prog *dirty = make("dirty", dirty_text, NULL);
	uint64_t r0 = UINT64_MAX;
	for (int k = 0; k < 2 && dirty; k++) {
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = mem, .mem_len = len,
					    .engine = BPFVM_ENGINE_JIT };
		int err = bpfvm_prog__run_opts(k ? p : dirty, &o);
		CHECK(err == (k ? 0 : -E2BIG), "dirty stack run %d: %d", k, err);
		r0 = o.retval;
	}
	bpfvm_prog__free(dirty);
	return r0;
}

/* ---- lddw src=4 ------------------------------------------------------------------ */

static void func_tokens(void)
{
	/* r0 = the token of insn 3: 0xbfcb0000 | 3 */
	expect_r0(run_text("token", "r0 = func[f] ll\n exit\n f: r0 = 0\n exit\n", NULL, 0),
		  0xbfcb000000000003ull, "token of insn 3");
	/* Two references to the same callback, one to another: lddw counts two slots. */
	expect_r0(run_text("tokens",
			   "r1 = func[g] ll\n r2 = func[f] ll\n r0 = func[f] ll\n"
			   "r0 ^= r2\n r0 += r1\n exit\n"
			   "f: r0 = 1\n exit\n g: r0 = 2\n exit\n", NULL, 0),
		  0xbfcb00000000000bull, "tokens: f == f, g is insn 11");

	refuse("callback out of range", "r0 = func[pc+10] ll\n exit\n", "callback to insn 11 is out of range");
	refuse("callback backwards out of range", "r0 = func[pc-4] ll\n exit\n",
	       "callback to insn -3 is out of range");
	refuse("callback into lddw", "r0 = func[pc+0] ll\n exit\n",
	       "callback into the second slot of lddw at insn 1");
	/* The target starts a subprogram: main may not fall into it... */
	refuse("falls into a callback", "r0 = func[f] ll\n r0 = 0\n f: r0 = 1\n exit\n",
	       "insn 2: execution falls through into the subprogram at insn 3");
	/* ...nor jump into it. */
	refuse("jump into a callback",
	       "r0 = func[f] ll\n if r0 == 0 goto f\n exit\n f: r0 = 1\n exit\n",
	       "leaves the subprogram");
	/* A callback starts with r1-r5 written, r0 and r6-r9 not. */
	refuse("callback reads r6", "r0 = func[f] ll\n exit\n f: r0 = r6\n exit\n",
	       "r6 is read before it is written");
}

/* ---- bpf_loop -------------------------------------------------------------------- */

/* main: bpf_loop(NR, cb, &sum at r10-8, FLAGS); r0 = sum * 1000 + bpf_loop's
 * result. cb(index, ctx): *ctx += index; returns (index == STOP). */
#define LOOP_PROG(NR, FLAGS, STOP) \
	"*(u64 *)(r10 -8) = 0\n" \
	"r1 = " NR " ll\n" \
	"r2 = func[cb] ll\n" \
	"r3 = r10\n r3 += -8\n" \
	"r4 = " FLAGS "\n" \
	"call 181\n" \
	"r6 = r0\n" \
	"r0 = *(u64 *)(r10 -8)\n r0 *= 1000\n r0 += r6\n" \
	"exit\n" \
	"cb: r3 = *(u64 *)(r2 +0)\n r3 += r1\n *(u64 *)(r2 +0) = r3\n" \
	"r0 = 0\n if r1 != " STOP " goto out\n r0 = 1\n out: exit\n"

static uint64_t h_stop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)b, (void)c, (void)d, (void)e;
	bpfvm_run_stop(a + 1000);
	return 0;
}
#define ID_STOP (BPFVM_HELPER_USER_BASE + 0x51)
static const struct bpfvm_helper stop_helper[] = { { .id = ID_STOP, .name = "stop", .fn = h_stop } };

static void loops(void)
{
	/* 0+1+...+9 = 45, 10 calls */
	expect_r0(run_text("loop 10", LOOP_PROG("10", "0", "-1"), NULL, 0), 45010, "loop 10");
	/* breaks at index 4: 0+..+4 = 10, 5 calls */
	expect_r0(run_text("loop break", LOOP_PROG("10", "0", "4"), NULL, 0), 10005, "break");
	expect_r0(run_text("loop 0", LOOP_PROG("0", "0", "-1"), NULL, 0), 0, "no iteration");
	/* nr_loops is a u32: 0x100000003 is 3 (0+1+2) */
	expect_r0(run_text("loop u32", LOOP_PROG("0x100000003", "0", "-1"), NULL, 0), 3003,
		  "nr_loops high half ignored");
	expect_r0(run_text("loop flags", LOOP_PROG("10", "1", "-1"), NULL, 0), NEG(EINVAL),
		  "flags != 0: -EINVAL, no call");
	expect_r0(run_text("loop too many", LOOP_PROG("0x800001", "0", "0"), NULL, 0), NEG(E2BIG),
		  "nr_loops > 1 << 23: -E2BIG");
	/* 1 << 23 is allowed (the callback stops at once: one call, sum 0) */
	expect_r0(run_text("loop max", LOOP_PROG("0x800000", "0", "0"), NULL, 0), 1,
		  "nr_loops = 1 << 23");

	/* r1-r5 are 0 after the call (the validator lets only a subprogram read
	 * them: or) and a callback's registers are its own (r6 stays 5) */
	expect_r0(run_text("loop clobbers",
			   "r1 = 2\n r2 = func[cb] ll\n r3 = 7\n r4 = 0\n r5 = 9\n r6 = 5\n"
			   "call 181\n call or\n r0 += r6\n exit\n"
			   "cb: r6 = 77\n r0 = 0\n exit\n"
			   "or: r0 = r1\n r0 |= r2\n r0 |= r3\n r0 |= r4\n r0 |= r5\n exit\n",
			   NULL, 0), 5, "r1-r5 = 0, r6 kept");

	/* Tokens that are not callbacks of this program: -EINVAL, nothing runs. */
	expect_r0(run_text("loop bad token",
			   "r1 = 1\n r2 = 12345\n r3 = 0\n r4 = 0\n call 181\n exit\n", NULL, 0),
		  NEG(EINVAL), "token not a token");
	expect_r0(run_text("loop not a callback",
			   "r1 = 1\n r2 = 0xbfcb000000000000 ll\n r3 = 0\n r4 = 0\n call 181\n exit\n"
			   "cb: r0 = 0\n exit\n r0 = func[cb] ll\n exit\n", NULL, 0),
		  NEG(EINVAL), "token of insn 0, which is no callback");
	/* The same bits made by hand name the callback: insn 10 here. */
	expect_r0(run_text("loop forged token",
			   "r1 = 3\n r2 = 0xbfcb00000000000a ll\n r3 = 0\n r4 = 0\n call 181\n exit\n"
			   "r0 = func[cb] ll\n exit\n cb: r0 = 0\n exit\n", NULL, 0),
		  3, "the token's bits are all there is to it");

	/* Nested: outer(i) runs bpf_loop(i + 1, inner); inner(j) adds 1 + 10 j to
	 * the counter: i = 0: 1; i = 1: 1 + 11; i = 2: 1 + 11 + 21; total 46, and
	 * the outer loop ran 3 times: 4603. */
	expect_r0(run_text("nested loops",
			   "*(u64 *)(r10 -8) = 0\n"
			   "r1 = 3\n r2 = func[outer] ll\n r3 = r10\n r3 += -8\n r4 = 0\n call 181\n"
			   "r6 = r0\n r0 = *(u64 *)(r10 -8)\n r0 *= 100\n r0 += r6\n exit\n"
			   "outer: r1 += 1\n r3 = r2\n r2 = func[inner] ll\n r4 = 0\n call 181\n"
			   "r0 = 0\n exit\n"
			   "inner: r1 *= 10\n r1 += 1\n r3 = *(u64 *)(r2 +0)\n r3 += r1\n"
			   "*(u64 *)(r2 +0) = r3\n r0 = 0\n exit\n", NULL, 0), 4603, "nested");

	/* The main program as its own callback (ctx 77 tells the two apart): the
	 * callback returns its index, so bpf_loop stops at index 1 after 2 calls. */
	expect_r0(run_text("main as callback",
			   "start: r0 = r1\n if r2 == 77 goto out\n r1 = 2\n r2 = func[start] ll\n"
			   "r3 = 77\n r4 = 0\n call 181\n out: exit\n", NULL, 0), 2,
		  "insn 0 as a callback");

	/* A callback's frame starts zeroed: its r10-8 reads 0 (stored at ctx). */
	static const char fresh[] =
		"*(u64 *)(r10 -16) = 99\n r1 = 1\n r2 = func[cb] ll\n r3 = r10\n r3 += -16\n"
		"r4 = 0\n call 181\n r0 = *(u64 *)(r10 -16)\n exit\n"
		"cb: r3 = *(u64 *)(r10 -8)\n *(u64 *)(r2 +0) = r3\n r0 = 0\n exit\n";
	expect_r0(run_text("fresh callback frame", fresh, NULL, 0), 0, "callback frame zeroed");
	struct bpfvm_prog *p = make("fresh callback frame", fresh, NULL);
	CHECK_U64(jit_on_dirty_stack(p, NULL, 0), 0, "jit: callback frame zeroed");
	bpfvm_prog__free(p);

	/* A callback's frame is its own: it writes its r10-8, the caller's stays 5;
	 * it reads the caller's through ctx. 2 calls, each adds caller's 5 to its
	 * own slot (0, then what the previous call left: frames are zeroed only the
	 * first time a run reaches their depth) -> the last call's slot is 10. */
	expect_r0(run_text("callback frame",
			   "*(u64 *)(r10 -8) = 5\n"
			   "r1 = 2\n r2 = func[cb] ll\n r3 = r10\n r3 += -8\n r4 = 0\n call 181\n"
			   "r0 = *(u64 *)(r10 -8)\n exit\n"
			   "cb: r3 = *(u64 *)(r10 -8)\n r4 = *(u64 *)(r2 +0)\n r3 += r4\n"
			   "*(u64 *)(r10 -8) = r3\n r0 = 0\n exit\n", NULL, 0), 5,
		  "the caller's slot untouched");

	/* A fault inside the callback stops the run there: insn 8 reads 8 bytes at
	 * address index + 0 = 0. */
	struct res r = run_text("callback faults",
				"r1 = 3\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n r0 = 1\n exit\n"
				"cb: r0 = *(u64 *)(r1 +0)\n exit\n", NULL, 0);
	expect_fault(r, BPFVM_FAULT_READ, 8, "read fault in a callback");
	CHECK(r.fault.addr == 0 && r.fault.size == 8, "fault addr %#llx size %u",
	      (unsigned long long)r.fault.addr, r.fault.size);

	/* Budget: main runs insns 0, 1, 3, 4, 5 (5 instructions) before the call;
	 * each callback call runs 7, 8. Budget 100: 95 left after the call, 47
	 * calls leave 1, the 48th runs insn 7 and faults at insn 8. Budget 101: 49th
	 * call faults at 7. Budget 25 with 10 calls: all done (25), exit at 6 over
	 * budget; 26: done, 26 executed. */
#define BUDGET_PROG(NR) "r1 = " NR "\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n exit\n" \
			"cb: r0 = 0\n exit\n"
	r = run_text("budget in callback", BUDGET_PROG("1000"), NULL, 100);
	expect_fault(r, BPFVM_FAULT_BUDGET, 8, "budget 100");
	CHECK_U64(r.executed, 100, "budget 100: executed");
	expect_fault(run_text("budget in callback 2", BUDGET_PROG("1000"), NULL, 101),
		     BPFVM_FAULT_BUDGET, 7, "budget 101");
	expect_fault(run_text("budget after callbacks", BUDGET_PROG("10"), NULL, 25),
		     BPFVM_FAULT_BUDGET, 6, "budget 25");
	r = run_text("budget enough", BUDGET_PROG("10"), NULL, 26);
	expect_r0(r, 10, "budget 26");
	CHECK_U64(r.executed, 26, "budget 26: executed");

	/* bpfvm_run_stop inside the callback (index 2) ends the whole run. */
	struct env stop = { .helpers = stop_helper, .helper_cnt = 1 };
	expect_r0(run_text("stop in callback",
			   "r1 = 10\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n r0 = 1\n exit\n"
			   "cb: if r1 != 2 goto out\n call 0x10051\n out: r0 = 0\n exit\n", &stop, 0),
		  1002, "bpfvm_run_stop(1002) in a callback");

	/* Callbacks that start callbacks until no frame is left: main is frame 0,
	 * the 31st nested callback is frame 31, the last; its bpf_loop call (insn
	 * 12) cannot start another. */
	expect_fault(run_text("callbacks too deep",
			      "r1 = 1\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n r0 = 1\n exit\n"
			      "cb: r1 = 1\n r2 = func[cb] ll\n r3 = 0\n call 181\n r0 = 0\n exit\n",
			      NULL, 0), BPFVM_FAULT_CALL_DEPTH, 12, "no frame for a callback");
	/* A local call from the deepest callback faults at the call. */
	expect_fault(run_text("local call too deep",
			      "r1 = 1\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n r0 = 1\n exit\n"
			      "cb: r6 = r1\n call sub\n r1 = 1\n r2 = func[cb] ll\n r3 = 0\n"
			      "call 181\n r0 = 0\n exit\n"
			      "sub: r0 = 0\n exit\n", NULL, 0), BPFVM_FAULT_CALL_DEPTH, 9,
		     "local call below the last frame");
}

/* ---- bpf_for_each_map_elem -------------------------------------------------------- */

/* main: for_each(map 0, cb, &{sum_v, sum_k} at r10-16, FLAGS); r0 = sum_v *
 * 10000 + sum_k * 100 + the result. cb(map, key, value, ctx): adds *value and
 * the u32 *key; returns (*key == STOP). */
#define EACH_PROG(FLAGS, STOP) \
	"*(u64 *)(r10 -16) = 0\n *(u64 *)(r10 -8) = 0\n" \
	"r1 = map[idx:0] ll\n r2 = func[cb] ll\n r3 = r10\n r3 += -16\n r4 = " FLAGS "\n" \
	"call 164\n r6 = r0\n" \
	"r0 = *(u64 *)(r10 -16)\n r0 *= 10000\n r1 = *(u64 *)(r10 -8)\n r1 *= 100\n" \
	"r0 += r1\n r0 += r6\n exit\n" \
	"cb: r5 = *(u64 *)(r3 +0)\n r0 = *(u64 *)(r4 +0)\n r0 += r5\n *(u64 *)(r4 +0) = r0\n" \
	"r5 = *(u32 *)(r2 +0)\n r0 = *(u64 *)(r4 +8)\n r0 += r5\n *(u64 *)(r4 +8) = r0\n" \
	"r0 = 0\n if r5 != " STOP " goto out\n r0 = 1\n out: exit\n"

static struct res each_run(struct bpfvm_map *m, const char *text, const char *what)
{
	struct env env = { .maps = &m, .map_cnt = 1 };
	return run_text(what, text, &env, 0);
}

static void for_each(void)
{
	struct bpfvm_map *a = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "arr", 4, 8, 8, NULL);
	struct bpfvm_map *pa = bpfvm_map__create(BPFVM_MAP_TYPE_PERCPU_ARRAY, "parr", 4, 8, 8, NULL);
	struct bpfvm_map *h = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "hash", 4, 8, 16, NULL);
	struct bpfvm_map *lru = bpfvm_map__create(BPFVM_MAP_TYPE_LRU_HASH, "lru", 4, 8, 16, NULL);
	struct bpfvm_map *q = bpfvm_map__create(BPFVM_MAP_TYPE_QUEUE, "q", 0, 8, 4, NULL);
	CHECK(a && pa && h && lru && q, "create maps");
	if (!a || !pa || !h || !lru || !q)
		goto out;
	int ncpu = bpfvm_num_cpu_slots();
	uint64_t *pv = calloc((size_t)ncpu, 8);
	for (uint32_t k = 0; k < 8; k++) {
		uint64_t v = (uint64_t)k * k;
		bpfvm_map__update_elem(a, &k, 4, &v, 8, 0);
		for (int c = 0; c < ncpu; c++)
			pv[c] = v;
		bpfvm_map__update_elem(pa, &k, 4, pv, 8 * (size_t)ncpu, 0);
	}
	free(pv);
	for (uint32_t k = 1; k <= 5; k++) {
		uint64_t v = k * 10;
		bpfvm_map__update_elem(h, &k, 4, &v, 8, 0);
		bpfvm_map__update_elem(lru, &k, 4, &v, 8, 0);
	}

	/* ARRAY: squares 0..49 sum to 140, keys to 28, 8 elements */
	expect_r0(each_run(a, EACH_PROG("0", "99"), "array"), 1402808, "array: all");
	/* stops at key 3: 0+1+4+9 = 14, keys 6, 4 elements */
	expect_r0(each_run(a, EACH_PROG("0", "3"), "array stop"), 140604, "array: stop at 3");
	expect_r0(each_run(pa, EACH_PROG("0", "99"), "percpu array"), 1402808, "percpu array");
	/* HASH: values 10..50 sum to 150, keys to 15, 5 elements (any order) */
	expect_r0(each_run(h, EACH_PROG("0", "99"), "hash"), 1501505, "hash: all");
	expect_r0(each_run(lru, EACH_PROG("0", "99"), "lru hash"), 1501505, "lru hash: all");
	expect_r0(each_run(h, EACH_PROG("1", "99"), "flags"), NEG(EINVAL), "flags != 0");
	expect_r0(each_run(q, EACH_PROG("0", "99"), "queue"), NEG(EINVAL), "QUEUE: not iterable");

	/* Writes through the value: value = key * 3 for every element. */
	expect_r0(each_run(a, "r1 = map[idx:0] ll\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 164\n exit\n"
			   "cb: r0 = *(u32 *)(r2 +0)\n r0 *= 3\n *(u64 *)(r3 +0) = r0\n r0 = 0\n exit\n",
			   "array write"), 8, "array: write through values");
	for (uint32_t k = 0; k < 8; k++) {
		uint64_t v = 0;
		bpfvm_map__lookup_elem(a, &k, 4, &v, 8, 0);
		CHECK_U64(v, k * 3, "value of key %u after the callback wrote it", k);
	}
	/* The key is read-only (insn 9 writes it); the value ends at 8 bytes
	 * (insn 8 reads byte 8). */
	struct res r = each_run(a, "r1 = map[idx:0] ll\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 164\n"
				"exit\n cb: r0 = 0\n *(u32 *)(r2 +0) = r0\n exit\n", "key write");
	expect_fault(r, BPFVM_FAULT_WRITE, 9, "write to the key");
	r = each_run(h, "r1 = map[idx:0] ll\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 164\n"
		     "exit\n cb: r0 = *(u8 *)(r3 +8)\n exit\n", "value overrun");
	expect_fault(r, BPFVM_FAULT_READ, 8, "read past the value");
	CHECK_U64(r.fault.size, 1, "value overrun: size");

	/* A map the program was not given: -EINVAL (r1 holds a's address). */
	struct env env = { .maps = &h, .map_cnt = 1 };
	char text[256];
	snprintf(text, sizeof(text), "r1 = %#llx ll\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n"
		 "call 164\n exit\n cb: r0 = 0\n exit\n", (unsigned long long)(uintptr_t)a);
	expect_r0(run_text("unbound map", text, &env, 0), NEG(EINVAL), "unbound map");

	/* Empty hash: no call. Then one returning 1 at once: 1 visited. */
	struct bpfvm_map *e = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "empty", 4, 8, 4, NULL);
	expect_r0(each_run(e, EACH_PROG("0", "99"), "empty hash"), 0, "empty hash");
	expect_r0(each_run(h, "r1 = map[idx:0] ll\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 164\n"
			   "exit\n cb: r0 = 1\n exit\n", "hash stop"), 1, "hash: stop at the first");
	bpfvm_map__free(e);
out:
	bpfvm_map__free(a);
	bpfvm_map__free(pa);
	bpfvm_map__free(h);
	bpfvm_map__free(lru);
	bpfvm_map__free(q);
}

/* ---- bpf_tail_call ------------------------------------------------------------------ */

/* B: r0 = 10 + mem[0] + 1000 * r2 (the memory length, as at entry) + 100000 *
 * the u64 A left at r10-8 (the frame is A's). */
static const char prog_b[] =
	"r0 = *(u64 *)(r1 +0)\n r0 += 10\n r2 *= 1000\n r0 += r2\n"
	"r3 = *(u64 *)(r10 -8)\n r3 *= 100000\n r0 += r3\n exit\n";

/* A: mem[0] = 1, r10-8 = 7, tail call slot INDEX of map 0; if it returns,
 * r0 = its error. */
#define PROG_A(INDEX) \
	"r2 = 1\n *(u64 *)(r1 +0) = r2\n *(u64 *)(r10 -8) = 7\n" \
	"r2 = map[idx:0] ll\n r3 = " INDEX "\n call 12\n exit\n"

/* C: mem[0] += 1, then tail call itself (slot 0); when that fails, mem[8] =
 * the error and r0 = mem[0]. Per run: 7 instructions up to the call (the lddw
 * counts one), 3 after a failed call. */
static const char prog_c[] =
	"r6 = r1\n r2 = *(u64 *)(r6 +0)\n r2 += 1\n *(u64 *)(r6 +0) = r2\n"
	"r2 = map[idx:0] ll\n r3 = 0\n call 12\n"
	"*(u64 *)(r6 +8) = r0\n r0 = *(u64 *)(r6 +0)\n exit\n";

static void put_prog(struct bpfvm_map *pa, uint32_t i, struct bpfvm_prog *p)
{
	CHECK(p && bpfvm_map__update_prog(pa, i, p, 0) == 0, "update_prog slot %u", i);
}

static void tail_calls(void)
{
	struct bpfvm_map *pa = bpfvm_map__create(BPFVM_MAP_TYPE_PROG_ARRAY, "jmp", 4, 4, 4, NULL);
	struct bpfvm_map *arr = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "arr", 4, 4, 4, NULL);
	CHECK(pa && arr, "create maps");
	if (!pa || !arr)
		return;
	struct env env = { .maps = &pa, .map_cnt = 1 };
	struct env env_nojit = { .maps = &pa, .map_cnt = 1, .no_jit = true };
	uint8_t mem[16] = { 0 };
	struct bpfvm_prog *b = make("B", prog_b, &env);
	struct bpfvm_prog *b_nojit = make("B (no_jit)", prog_b, &env_nojit);
	put_prog(pa, 0, b);
	put_prog(pa, 3, b_nojit);

	/* A -> B: 10 + 1 + 16 * 1000 + 7 * 100000 = 716011 */
	struct bpfvm_prog *a0 = make("A0", PROG_A("0"), &env);
	expect_r0(run(a0, mem, sizeof(mem), 0, "A -> B"), 716011, "tail call to B");
	/* B on the interpreter whatever runs A */
	struct bpfvm_prog *a3 = make("A3", PROG_A("3"), &env);
	expect_r0(run(a3, mem, sizeof(mem), 0, "A -> B no_jit"), 716011, "tail call to no_jit B");
	/* A target that reads its frame finds it zeroed even when the caller never
	 * used the stack (earlier runs left 7 there): Z in slot 2 for now. */
	struct bpfvm_prog *z = make("Z", "r0 = *(u64 *)(r10 -8)\n exit\n", &env);
	put_prog(pa, 2, z);
	struct bpfvm_prog *az = make("AZ", "r2 = map[idx:0] ll\n r3 = 2\n call 12\n exit\n", &env);
	expect_r0(run(az, mem, sizeof(mem), 0, "main frame zeroed"), 0, "the frame starts zeroed");
	CHECK_U64(jit_on_dirty_stack(az, mem, sizeof(mem)), 0, "jit: the frame starts zeroed");
	bpfvm_prog__free(az);
	/* Slot 1 is empty, 4 past the end: A goes on with r0 = -ENOENT */
	struct bpfvm_prog *a1 = make("A1", PROG_A("1"), &env);
	struct bpfvm_prog *a4 = make("A4", PROG_A("4"), &env);
	expect_r0(run(a1, mem, sizeof(mem), 0, "empty slot"), NEG(ENOENT), "empty slot");
	expect_r0(run(a4, mem, sizeof(mem), 0, "past the end"), NEG(ENOENT), "index past the end");
	/* The index is a u32: 0x100000000 is slot 0 */
	struct bpfvm_prog *ahi = make("Ahi", PROG_A("0x100000000 ll"), &env);
	expect_r0(run(ahi, mem, sizeof(mem), 0, "index u32"), 716011, "index high half ignored");
	/* Not a PROG_ARRAY: -EINVAL */
	struct env env_arr = { .maps = &arr, .map_cnt = 1 };
	struct bpfvm_prog *aa = make("A arr", PROG_A("0"), &env_arr);
	expect_r0(run(aa, mem, sizeof(mem), 0, "not a prog array"), NEG(EINVAL), "ARRAY map");

	/* The limit: C runs once and tail-calls itself 33 times (mem[0] = 34); the
	 * 34th call fails with -E2BIG and C returns 34. Instructions: 34 runs of 7,
	 * then 3: 241. */
	struct bpfvm_prog *c = make("C", prog_c, &env);
	put_prog(pa, 0, c);
	struct res r = run(c, mem, sizeof(mem), 0, "33 tail calls");
	expect_r0(r, 34, "33 tail calls, then the 34th fails");
	uint64_t err8;
	memcpy(&err8, r.mem + 8, 8);
	CHECK_U64(err8, NEG(E2BIG), "the 34th tail call's error");
	CHECK_U64(r.executed, 241, "instructions over the chain");
	/* Budget across the chain: 100 = 14 runs of 7 + 2: the 15th run's third
	 * instruction (insn 2 of C) is over budget. */
	expect_fault(run(c, mem, sizeof(mem), 100, "budget over tail calls"), BPFVM_FAULT_BUDGET, 2,
		     "budget runs out in the 15th program");
	/* Empty slots count too: slot 1 is empty; D calls it 40 times in a loop
	 * and gets -ENOENT 33 times, then -E2BIG: r0 = the last error. */
	struct bpfvm_prog *d = make("D",
				    "r6 = 40\n loop: r1 = 0\n r2 = map[idx:0] ll\n r3 = 1\n call 12\n"
				    "r6 += -1\n if r6 != 0 goto loop\n exit\n", &env);
	expect_r0(run(d, mem, sizeof(mem), 0, "empty slots count"), NEG(E2BIG), "count of empty slots");

	/* A fault in the target names the target's instruction: E reads r1 + 100
	 * at its insn 1. Through the JIT's target and the interpreter's. */
	struct bpfvm_prog *e = make("E", "r0 = 0\n r0 = *(u64 *)(r1 +100)\n exit\n", &env);
	struct bpfvm_prog *e_nojit = make("E (no_jit)", "r0 = 0\n r0 = *(u64 *)(r1 +100)\n exit\n",
					  &env_nojit);
	put_prog(pa, 1, e);
	put_prog(pa, 2, e_nojit);
	expect_fault(run(a1, mem, sizeof(mem), 0, "fault in target"), BPFVM_FAULT_READ, 1,
		     "fault in the target");
	struct bpfvm_prog *a2 = make("A2", PROG_A("2"), &env);
	expect_fault(run(a2, mem, sizeof(mem), 0, "fault in no_jit target"), BPFVM_FAULT_READ, 1,
		     "fault in a no_jit target");

	/* From a subprogram or a callback: refused, the caller goes on. */
	expect_r0(run_text("tail call from subprogram",
			   "call sub\n exit\n sub: r2 = map[idx:0] ll\n r3 = 0\n call 12\n exit\n",
			   &env, 0), NEG(EOPNOTSUPP), "from a subprogram");
	expect_r0(run_text("tail call from callback",
			   "*(u64 *)(r10 -8) = 0\n r1 = 1\n r2 = func[cb] ll\n r3 = r10\n r3 += -8\n"
			   "r4 = 0\n call 181\n r0 = *(u64 *)(r10 -8)\n exit\n"
			   "cb: r6 = r2\n r2 = map[idx:0] ll\n r3 = 0\n call 12\n"
			   "*(u64 *)(r6 +0) = r0\n r0 = 1\n exit\n", &env, 0),
		  NEG(EOPNOTSUPP), "from a callback");
	/* A target that loops with bpf_loop and stops the run from its callback */
	struct env stop = { .maps = &pa, .map_cnt = 1, .helpers = stop_helper, .helper_cnt = 1 };
	struct bpfvm_prog *f = make("F", "r1 = 5\n r2 = func[cb] ll\n r3 = 0\n r4 = 0\n call 181\n"
				    "exit\n cb: if r1 != 3 goto out\n call 0x10051\n out: r0 = 0\n exit\n",
				    &stop);
	put_prog(pa, 1, f);
	expect_r0(run(a1, mem, sizeof(mem), 0, "stop in target's callback"), 1003,
		  "bpfvm_run_stop in the target's callback");

	bpfvm_prog__free(a0);
	bpfvm_prog__free(a1);
	bpfvm_prog__free(a2);
	bpfvm_prog__free(a3);
	bpfvm_prog__free(a4);
	bpfvm_prog__free(ahi);
	bpfvm_prog__free(aa);
	bpfvm_prog__free(d);
	bpfvm_map__free(pa);	/* before the programs it holds */
	bpfvm_map__free(arr);
	bpfvm_prog__free(b);
	bpfvm_prog__free(b_nojit);
	bpfvm_prog__free(c);
	bpfvm_prog__free(e);
	bpfvm_prog__free(e_nojit);
	bpfvm_prog__free(f);
	bpfvm_prog__free(z);
}

/* ---- LD_ABS / LD_IND ------------------------------------------------------------------ */

/* A program type of the test's own whose context points at a packet. */
struct pkt_ctx {
	const uint8_t *data;
	uint64_t len;
};
static void pkt_of(const void *ctx, const uint8_t **pkt, uint64_t *len)
{
	const struct pkt_ctx *c = ctx;
	*pkt = c->data;
	*len = c->len;
}
static const struct vm_prog_type pkt_type = {
	.type = BPFVM_PROG_TYPE_USER_BASE + 0x7e57, .name = "test_pkt",
	.ctx_size = sizeof(struct pkt_ctx), .ld_abs = true, .ctx_packet = pkt_of,
};

static struct bpfvm_prog *make_pkt(const char *what, const char *text)
{
	size_t cnt;
	struct bpf_insn *insns = assemble(what, text, &cnt);
	if (!insns)
		return NULL;
	struct bpfvm_prog *p = vm_prog_alloc(insns, cnt, what);
	free(insns);
	if (!p)
		return NULL;
	p->type = &pkt_type;
	struct vm_prepare prep = { 0 };
	test_log_clear();
	int err = vm_prog_prepare(p, &prep);
	CHECK(err == 0, "%s: rejected: %s", what, test_log_last());
	if (err) {
		vm_prog_destroy(p);
		return NULL;
	}
	return p;
}

static struct res run_pkt(const char *what, const char *text, const struct pkt_ctx *ctx)
{
	struct bpfvm_prog *p = make_pkt(what, text);
	struct res r = run(p, ctx, 0, 0, what);
	vm_prog_destroy(p);
	return r;
}

static void packet_loads(void)
{
	uint8_t pkt[64];
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(0x10 + i);
	const struct pkt_ctx ctx = { pkt, sizeof(pkt) }, none = { NULL, 0 };

	/* LD_ABS / LD_IND read r6 (the kernel's context register): set it first. */
	expect_r0(run_pkt("ldabsb", "r6 = r1\n r0 = *(u8 *)skb[5]\n exit\n", &ctx), 0x15, "byte 5");
	expect_r0(run_pkt("ldabsh", "r6 = r1\n r0 = *(u16 *)skb[4]\n exit\n", &ctx), 0x1415,
		  "half at 4, big-endian");
	expect_r0(run_pkt("ldabsw", "r6 = r1\n r0 = *(u32 *)skb[0]\n exit\n", &ctx), 0x10111213,
		  "word at 0");
	expect_r0(run_pkt("ldabsw end", "r6 = r1\n r0 = *(u32 *)skb[60]\n exit\n", &ctx), 0x4c4d4e4f,
		  "the last word");
	expect_r0(run_pkt("ldindw", "r6 = r1\n r7 = 3\n r0 = *(u32 *)skb[r7 + 2]\n exit\n", &ctx),
		  0x15161718, "word at 3 + 2");
	/* 32-bit offset arithmetic: 0xffffffff + 6 = 5; the high half is ignored */
	expect_r0(run_pkt("ldind wrap", "r6 = r1\n r7 = 0xffffffff ll\n r0 = *(u8 *)skb[r7 + 6]\n"
			  "exit\n", &ctx), 0x15, "src + imm wraps at 32 bits");
	expect_r0(run_pkt("ldind high", "r6 = r1\n r7 = 0x100000002 ll\n r0 = *(u16 *)skb[r7 + 1]\n"
			  "exit\n", &ctx), 0x1314, "src's high half ignored");
	/* r1-r5 are 0 afterwards */
	expect_r0(run_pkt("ldabs clobbers",
			  "r6 = r1\n r2 = 2\n r3 = 3\n r4 = 4\n r5 = 5\n r0 = *(u8 *)skb[0]\n"
			  "r0 |= r1\n r0 |= r2\n r0 |= r3\n r0 |= r4\n r0 |= r5\n exit\n", &ctx),
		  0x10, "r1-r5 = 0");
	/* Outside the packet the run ends with r0 = 0 (r0 = 99 never runs) */
	expect_r0(run_pkt("ldabsw out", "r6 = r1\n r0 = *(u32 *)skb[61]\n r0 = 99\n exit\n", &ctx),
		  0, "word past the end");
	expect_r0(run_pkt("ldabsb negative", "r6 = r1\n r0 = *(u8 *)skb[-1]\n r0 = 99\n exit\n",
			  &ctx), 0, "negative offset");
	expect_r0(run_pkt("ldind negative", "r6 = r1\n r7 = 0x80000000 ll\n"
			  "r0 = *(u8 *)skb[r7 + 0]\n r0 = 99\n exit\n", &ctx), 0,
		  "offset negative as a 32-bit value");
	expect_r0(run_pkt("ldabs no packet", "r6 = r1\n r0 = *(u8 *)skb[0]\n r0 = 99\n exit\n",
			  &none), 0, "no packet");
	/* Inside a callback: the first callback reads byte 0 into the counter;
	 * the second reads past the end and the whole run ends with r0 = 0. */
	struct res r = run_pkt("ldabs in callback",
			       "*(u64 *)(r10 -8) = 0\n r1 = 2\n r2 = func[cb] ll\n r3 = r10\n r3 += -8\n"
			       "r4 = 0\n call 181\n r0 = 77\n exit\n"
			       "cb: r6 = r2\n r1 *= 100\n r0 = *(u8 *)skb[r1 + 0]\n"
			       "*(u64 *)(r6 +0) = r0\n r0 = 0\n exit\n", &ctx);
	expect_r0(r, 0, "out of bounds in a callback ends the run");
	CHECK_U64(r.executed, 7 + 6 + 3, "instructions: main 7, a whole callback, 3 of the next");
}

int main(void)
{
	test_log_capture();
	func_tokens();
	loops();
	for_each();
	tail_calls();
	packet_loads();
	return test_summary();
}
