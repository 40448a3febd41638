/*
 * test_jit.c — the x86-64 JIT (src/jit): coverage of isa.def, W^X code memory,
 * a 1,000,000-instruction program, and the JIT held to the interpreter bit for bit.
 *
 * The interpreter is the reference: most cases build a program, run it on both
 * engines from the same memory, and compare everything observable — the return
 * code, r0, the memory, the fault (kind, instruction, address, size) and the
 * instruction count. The generated cases put every ALU, jump and atomic row on
 * every pair of registers (the JIT's register mapping has special cases for rax,
 * rdx and rcx, which division, shifts and cmpxchg use implicitly) with corner-case
 * values; the hand-written ones cover each fault kind and the budget at every
 * possible stopping point, including inside helper calls and local calls.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "isa.h"
#include "jit/jit.h"
#include "prog.h"
#include "testlog.h"
#include "testutil.h"

#define PROG(...) ((const struct bpf_insn[]){ __VA_ARGS__ }), \
	(sizeof((const struct bpf_insn[]){ __VA_ARGS__ }) / sizeof(struct bpf_insn))

/* ---- Helpers the programs call --------------------------------------------------- */
static uint64_t h_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}
static uint64_t h_stop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)b, (void)c, (void)d, (void)e;
	if (a == 7)
		bpfvm_run_stop(0x5709);
	return a + 1;
}
static const struct bpfvm_helper helpers[] = {
	{ .id = 0x10001, .name = "sum", .fn = h_sum },
	{ .id = 0x10002, .name = "stop_on_7", .fn = h_stop },
};
#define H_SUM	0x10001
#define H_STOP	0x10002

static struct bpfvm_prog *mk(const struct bpf_insn *p, size_t n)
{
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .name = "t", .helpers = helpers,
				     .helper_cnt = 2 };
	return bpfvm_prog__new(p, n, &o);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
/* Values that hit the corner cases: zero, ±1, sign bits, shift counts, random. */
static uint64_t val(void)
{
	static const uint64_t special[] = {
		0, 1, 2, UINT64_MAX, 0x8000000000000000u, 0x7fffffffffffffffu, 0x80000000u,
		0xffffffffu, 0xffffffff80000000u, 0x7fffffffu, 31, 32, 63, 64, 65, 0x100000001u,
		0xff, 0x8000, 0x12345678abcdef01u,
	};
	uint64_t r = rnd();
	if (r % 3 == 0)
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	if (r % 3 == 1)
		return (uint64_t)(int64_t)(int8_t)(r >> 16);
	return rnd();
}

/* Runs prog on the interpreter and the JIT from the same memory and compares. */
static int n_compared;
static void compare(const char *what, struct bpfvm_prog *prog, const uint8_t *mem, size_t len,
		    const struct bpfvm_region *regs, size_t nreg, uint64_t budget)
{
	uint8_t m[512], init[512], after[512];
	struct bpfvm_run_opts o[2];
	int rc[2];
	static const enum bpfvm_engine eng[2] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT };
	if (len > sizeof(m))
		len = sizeof(m);
	if (mem)
		memcpy(init, mem, len);
	/* Both engines run on the same buffer (fault addresses must match). */
	for (int e = 0; e < 2; e++) {
		if (mem)
			memcpy(m, init, len);
		o[e] = (struct bpfvm_run_opts){ .sz = sizeof(o[e]), .mem = mem ? m : NULL,
						.mem_len = mem ? len : 0, .regions = regs,
						.region_cnt = nreg, .engine = eng[e], .budget = budget };
		rc[e] = bpfvm_prog__run_opts(prog, &o[e]);
		if (e == 0 && mem)
			memcpy(after, m, len);
	}
	n_compared++;
	CHECK_U64(rc[1], rc[0], "%s: return code", what);
	CHECK_U64(o[1].retval, o[0].retval, "%s: r0", what);
	CHECK_U64(o[1].fault.kind, o[0].fault.kind, "%s: fault kind", what);
	CHECK_U64(o[1].fault.insn, o[0].fault.insn, "%s: fault insn", what);
	CHECK_U64(o[1].fault.addr, o[0].fault.addr, "%s: fault addr", what);
	CHECK_U64(o[1].fault.size, o[0].fault.size, "%s: fault size", what);
	CHECK_U64(o[1].insn_executed, o[0].insn_executed, "%s: insn_executed", what);
	CHECK_U64(o[1].engine_used, BPFVM_ENGINE_JIT, "%s: engine used", what);
	CHECK(!mem || memcmp(after, m, len) == 0, "%s: memory differs", what);
}

static void compare_prog(const char *what, const struct bpf_insn *p, size_t n, const uint8_t *mem,
			 size_t len, uint64_t budget)
{
	struct bpfvm_prog *prog = mk(p, n);
	CHECK(prog != NULL, "%s: bpfvm_prog__new: %s (%s)", what, strerror(errno), test_log_last());
	if (prog)
		compare(what, prog, mem, len, NULL, 0, budget);
	bpfvm_prog__free(prog);
}

/* ---- Every row of isa.def has an emitter ---------------------------------------------- */
static void test_every_row(void)
{
	bpfvm_helper_fn fns[1] = { h_sum };
	char name[] = "row";
	for (int row = 0; row < ISA__COUNT; row++) {
		const struct isa_row *r = &isa_rows[row];
		struct bpf_insn dec[4];
		memset(dec, 0, sizeof(dec));
		size_t n = 0;
		dec[n] = (struct bpf_insn){ .code = (uint8_t)row, .dst_reg = 1, .src_reg = 2, .imm = 3 };
		if (r->sel == ISA_SEL_OFF)
			dec[n].off = (int16_t)r->selval;
		if (r->sel == ISA_SEL_IMM)
			dec[n].imm = r->selval;
		if (r->sel == ISA_SEL_SRC)
			dec[n].src_reg = (uint8_t)r->selval;
		switch (r->fmt) {
		case ISA_FMT_JA32: case ISA_FMT_CALL: case ISA_FMT_CALL_LOCAL:
			dec[n].imm = 0;		/* next insn; helper slot 0 */
			break;
		case ISA_FMT_JA: case ISA_FMT_JCOND_K: case ISA_FMT_JCOND_X:
			dec[n].off = 0;
			break;
		default:
			break;
		}
		n++;
		if (r->fmt == ISA_FMT_LDDW)
			dec[n++] = (struct bpf_insn){ .code = ISA_LDDW_HI, .imm = 4 };
		dec[n++] = (struct bpf_insn){ .code = ISA_EXIT };
		struct bpfvm_prog fake = { .name = name, .insns = dec, .decoded = dec, .cnt = n,
					   .helper_fns = fns, .helper_fn_cnt = 1 };
		struct jit_image *img = NULL;
		int err = jit_compile(&fake, &img);
		CHECK(err == 0 && img, "isa.def row %s has no emitter (%d: %s)", r->name, err,
		      test_log_last());
		jit_free(img);
	}
}

/* ---- W^X ------------------------------------------------------------------------------- */
static void test_wx(void)
{
	struct bpfvm_prog *p = mk(PROG(BPF_MOV64_IMM(0, 42), BPF_EXIT_INSN()));
	const void *code = NULL;
	size_t len = 0;
	const uint32_t *offs = NULL;
	CHECK(p && bpfvm_prog__jited(p, &code, &len, &offs) == 0, "jited");
	if (!code)
		return;
	uintptr_t a = (uintptr_t)code;
	CHECK(a % (uintptr_t)sysconf(_SC_PAGESIZE) == 0, "code %p is not page-aligned", code);
	CHECK(offs[0] > 0 && offs[0] <= offs[1] && offs[1] <= offs[2] && offs[2] <= len,
	      "insn offsets %u %u %u in %zu bytes", offs[0], offs[1], offs[2], len);

	/* The mapping holding the code is r-x, never w. */
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8] = "";
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char pr[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, pr) == 3 && a >= lo && a < hi)
			snprintf(perms, sizeof(perms), "%s", pr);
	}
	if (f)
		fclose(f);
	CHECK_STR(perms, "r-xp", "permissions of the code's mapping");

	/* Writing to it faults (in a child, which dies by SIGSEGV). */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);	/* not a sanitizer's handler */
		*(volatile uint8_t *)code = 0xc3;
		_exit(0);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait");
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	      "writing to JIT code did not fault (status 0x%x)", status);

	struct bpfvm_run_opts o = { .sz = sizeof(o) };
	CHECK(bpfvm_prog__run_opts(p, &o) == 0 && o.retval == 42 &&
	      o.engine_used == BPFVM_ENGINE_JIT, "the default engine is the JIT");
	bpfvm_prog__free(p);

	/* no_jit: no code, the JIT engine refuses, the default is the interpreter. */
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .no_jit = true };
	p = bpfvm_prog__new(PROG(BPF_MOV64_IMM(0, 42), BPF_EXIT_INSN()), &po);
	CHECK(p && bpfvm_prog__jited(p, &code, &len, NULL) == -ENOENT, "no_jit has no code");
	o = (struct bpfvm_run_opts){ .sz = sizeof(o), .engine = BPFVM_ENGINE_JIT };
	test_log_clear();
	CHECK(bpfvm_prog__run_opts(p, &o) == -EOPNOTSUPP, "JIT engine on a no_jit program");
	CHECK_CONTAINS(test_log_last(), "no_jit", "why the JIT cannot run it");
	o = (struct bpfvm_run_opts){ .sz = sizeof(o) };
	CHECK(bpfvm_prog__run_opts(p, &o) == 0 && o.engine_used == BPFVM_ENGINE_INTERP,
	      "default engine without JIT code");
	bpfvm_prog__free(p);
	CHECK(bpfvm_engine_available(BPFVM_ENGINE_JIT), "JIT available on x86-64");
}

/* ---- Fast loop copies: bpfvm_prog__jited_loops --------------------------------------- */
static void test_loop_copies(void)
{
	/* sum of mem[0..len): r3 = i, r4 = r1 + i; the loop is insns 3-7 */
	struct bpf_insn prog[] = {
		BPF_MOV64_IMM(0, 0),
		BPF_MOV64_IMM(3, 0),
		BPF_JMP_IMM(BPF_JEQ, 2, 0, 6),
		BPF_MOV64_REG(4, 1),
		BPF_ALU64_REG(BPF_ADD, 4, 3),
		BPF_LDX_MEM(BPF_B, 5, 4, 0),
		BPF_ALU64_REG(BPF_ADD, 0, 5),
		BPF_ALU64_IMM(BPF_ADD, 3, 1),
		BPF_JMP_REG(BPF_JLT, 3, 2, -6),
		BPF_EXIT_INSN(),
	};
	size_t n = sizeof(prog) / sizeof(prog[0]);
	struct bpfvm_prog *p = mk(prog, n);
	const uint32_t *offs = NULL, *copy = NULL;
	size_t len = 0;
	CHECK(p && bpfvm_prog__jited(p, NULL, &len, &offs) == 0, "jited");
	CHECK(p && bpfvm_prog__jited_loops(p, &copy) == 1, "one loop has a fast copy");
	if (!copy || !offs)
		goto out;
	CHECK(copy[n] > offs[n] && copy[n] <= len, "the copies (end %u) follow the body (%u)",
	      copy[n], offs[n]);
	for (size_t i = 0; i < n; i++) {
		bool in = i >= 3 && i <= 8;
		CHECK(in ? copy[i] >= offs[n] && copy[i] < copy[n] : copy[i] == UINT32_MAX,
		      "insn %zu: copy offset %u", i, copy[i]);
	}
	uint8_t mem[100];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 7);
	compare("loop copy, whole memory", p, mem, sizeof(mem), NULL, 0, 0);
	compare("loop copy, budget inside", p, mem, sizeof(mem), NULL, 0, 333);
out:
	bpfvm_prog__free(p);
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .no_jit = true };
	p = bpfvm_prog__new(prog, n, &po);
	CHECK(p && bpfvm_prog__jited_loops(p, &copy) == -ENOENT, "no_jit: no loop copies");
	bpfvm_prog__free(p);
}

/* ---- Repeated tests a fast copy skips (loops.c, thread_tests) ------------------------- */
/* Per 8-byte word: two pairs of selects on one condition each, as clang emits them
 * (the second pair's first half loads a byte at an address made from the data, so
 * it may fault), and a near miss whose middle block changes the tested register. */
static const char threaded_src[] =
	"	r0 = 0\n"
	"	r5 = 0\n"
	"	if r2 < 8 goto out\n"
	"loop:	r4 = r1\n"
	"	r4 += r5\n"
	"	r3 = *(u64 *)(r4 + 0)\n"
	"	r8 = 0\n"
	"	if r3 < 0x10000 goto t1\n"	/* X */
	"	r8 |= 16\n"			/* F */
	"t1:	if r3 < 0x10000 goto t2\n"	/* T: skipped */
	"	r3 >>= 16\n"			/* G */
	"t2:	if r3 < 0x100 goto t3\n"	/* X */
	"	r8 |= 8\n"			/* F: may fault */
	"	r4 = r3\n"
	"	r4 %= 97\n"
	"	r4 += r1\n"
	"	r6 = *(u8 *)(r4 + 0)\n"
	"	r0 += r6\n"
	"t3:	if r3 < 0x100 goto t4\n"	/* T: skipped */
	"	r3 >>= 8\n"			/* G */
	"t4:	if r3 s> 3 goto t5\n"
	"	r3 += 1\n"			/* writes the tested register: kept */
	"t5:	if r3 s> 3 goto t6\n"
	"	r0 += 1\n"
	"t6:	r0 += r8\n"
	"	r0 += r3\n"
	"	r5 += 8\n"
	"	r9 = r5\n"
	"	r9 += 8\n"
	"	if r9 <= r2 goto loop\n"
	"out:	exit\n";
#define THREADED_LOAD	16	/* the index of the byte load */

/* What the program computes; *faults: the byte load faults. */
static uint64_t threaded_expect(const uint8_t *mem, size_t len, bool *faults)
{
	uint64_t r0 = 0;
	*faults = false;
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t x, r8 = 0;
		memcpy(&x, mem + i, 8);
		if (x >= 0x10000) {
			r8 |= 16;
			x >>= 16;
		}
		if (x >= 0x100) {
			r8 |= 8;
			uint64_t a = x % 97;
			if (a >= len) {
				*faults = true;
				return 0;
			}
			r0 += mem[a];
			x >>= 8;
		}
		if ((int64_t)x <= 3)
			x += 1;
		if ((int64_t)x <= 3)
			r0 += 1;
		r0 += r8 + x;
	}
	return r0;
}

static void test_threaded_tests(void)
{
	struct bpf_insn *code = NULL;
	size_t n = 0;
	CHECK(bpfvm_asm(threaded_src, NULL, &code, &n) == 0, "assemble: %s", test_log_last());
	struct bpfvm_prog *p = code ? mk(code, n) : NULL;
	CHECK(p && p->jit, "compiled: %s", test_log_last());
	if (!p || !p->jit)
		goto out;
	CHECK_U64(jit_versioned_loops(p->jit), 1, "versioned loops");
	CHECK_U64(jit_threaded_tests(p->jit), 2, "tests skipped (the near miss is kept)");
	CHECK_U64(code[THREADED_LOAD].code, BPF_LDX | BPF_MEM | BPF_B, "the load's index");
	uint8_t mem[256];
	size_t faulted = 0, ran = 0;
	for (int round = 0; round < 400; round++) {
		size_t len = 8 * (size_t)(1 + rnd() % 24);
		for (size_t i = 0; i < len; i++) {
			/* mostly small bytes, so words of every size class occur */
			unsigned k = (unsigned)(rnd() % 8);
			mem[i] = k < 5 ? 0 : (uint8_t)rnd();
		}
		bool faults;
		uint64_t want = threaded_expect(mem, len, &faults);
		uint8_t m[256];
		memcpy(m, mem, len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = m, .mem_len = len,
					    .engine = BPFVM_ENGINE_JIT };
		int rc = bpfvm_prog__run_opts(p, &o);
		if (faults) {
			faulted++;
			CHECK(rc == -EFAULT && o.fault.insn == THREADED_LOAD,
			      "round %d: the byte load faults (rc %d at insn %u)", round, rc,
			      o.fault.insn);
		} else {
			ran++;
			CHECK(rc == 0 && o.retval == want, "round %d: r0 %#llx, want %#llx", round,
			      (unsigned long long)o.retval, (unsigned long long)want);
		}
		/* the interpreter agrees, with no budget and with every budget that stops
		 * the run (and the two after it) */
		char what[64];
		snprintf(what, sizeof(what), "threaded round %d", round);
		compare(what, p, mem, len, NULL, 0, 0);
		if (round % 8 == 0)
			for (uint64_t b = 1; b <= o.insn_executed + 2; b++)
				compare(what, p, mem, len, NULL, 0, b);
	}
	CHECK(faulted > 20 && ran > 20, "both kinds of run occur (%zu faulted, %zu ran)", faulted,
	      ran);
out:
	bpfvm_prog__free(p);
	free(code);
}

static struct bpfvm_prog *mk_asm(const char *src);

/* ---- Loops charged from their induction variable (jit.c, fast_lazy) --------------- */
/* Single-block loops over mem whose fast copy charges nothing per iteration: the
 * budget is settled from (iv - iv0) / step on the way out. Steps odd and even,
 * one in a register, and downward loops (which the analysis does not version:
 * they run checked); every budget that stops a run inside. */
static void test_lazy_loops(void)
{
	static const struct { int start; const char *step; const char *test; size_t lazy; } c[] = {
		{ 0, "1", "if r3 < r2 goto loop", 1 },
		{ 1, "3", "if r3 < r2 goto loop", 1 },
		{ 2, "4", "if r3 < r2 goto loop", 1 },
		{ 0, "12", "if r3 <= r2 goto loop", 1 },
		{ 0, "r7", "if r3 < r2 goto loop", 1 },
		{ 63, "-1", "if r3 s> 0 goto loop", 0 },
		{ 61, "-4", "if r3 s>= 0 goto loop", 0 },
	};
	uint8_t mem[64];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 13 + 5);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		char src[512], what[64];
		snprintf(src, sizeof(src),
			 "	r0 = 0\n"
			 "	r7 = *(u8 *)(r1 + 0)\n"
			 "	r7 &= 3\n"
			 "	r7 += 1\n"
			 "	r2 -= 1\n"
			 "	r3 = %d\n"
			 "loop:	r4 = r1\n"
			 "	r4 += r3\n"
			 "	r6 = *(u8 *)(r4 + 0)\n"
			 "	r0 *= 3\n"
			 "	r0 += r6\n"
			 "	r3 += %s\n"
			 "	%s\n"
			 "	exit\n", c[k].start, c[k].step, c[k].test);
		snprintf(what, sizeof(what), "lazy loop %zu (step %s)", k, c[k].step);
		struct bpfvm_prog *p = mk_asm(src);
		CHECK(p && p->jit, "%s: compiled: %s", what, test_log_last());
		if (!p || !p->jit) {
			bpfvm_prog__free(p);
			continue;
		}
		CHECK_U64(jit_lazy_loops(p->jit), c[k].lazy, "%s: charged from its IV", what);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = mem, .mem_len = sizeof(mem),
					    .engine = BPFVM_ENGINE_JIT };
		uint8_t m[64];
		memcpy(m, mem, sizeof(m));
		o.mem = m;
		CHECK(bpfvm_prog__run_opts(p, &o) == 0, "%s: runs", what);
		for (size_t len = 1; len <= sizeof(mem); len += 7) {
			compare(what, p, mem, len, NULL, 0, 0);
			compare(what, p, mem, len, NULL, 0, 3);
		}
		for (uint64_t b = 1; b <= o.insn_executed + 2; b++)
			compare(what, p, mem, sizeof(mem), NULL, 0, b);
		bpfvm_prog__free(p);
	}
}

/* ---- Folding (fold.h) ------------------------------------------------------------- */
/* Constants flowing through ALU instructions and into a jump. */
static const char fold_const_src[] =
	"	r1 = 7\n"
	"	r2 = 5\n"
	"	r1 *= r2\n"			/* const 35 */
	"	r3 = r1\n"			/* const */
	"	w3 -= 36\n"			/* const 0xffffffff */
	"	r4 = 0x100000000 ll\n"
	"	r4 |= r3\n"			/* const 0x1ffffffff */
	"	r5 = r4\n"			/* const */
	"	r5 >>= 1\n"			/* const 0xffffffff */
	"	r0 = r5\n"			/* const */
	"	r0 ^= r0\n"			/* const 0 */
	"	r0 += r4\n"			/* const 0x1ffffffff */
	"	if r4 > r3 goto out\n"		/* taken */
	"	r0 = 99\n"
	"out:	exit\n";
/* Unknown values: zero- and sign-extensions, identities, constant operands. */
static const char fold_data_src[] =
	"	r2 = *(u32 *)(r1 + 0)\n"
	"	r3 = *(u64 *)(r1 + 8)\n"
	"	w2 = w2\n"			/* nothing: r2 is zero-extended */
	"	r3 <<= 32\n"			/* mov r3d, r3d */
	"	r3 >>= 32\n"			/* nothing */
	"	r4 = *(u64 *)(r1 + 8)\n"
	"	r4 <<= 32\n"			/* movsxd */
	"	r4 s>>= 32\n"			/* nothing */
	"	r8 = r4\n"
	"	w8 = w8\n"			/* mov r8d, r8d: r4 was sign-extended */
	"	r4 ^= r8\n"
	"	r5 = 12\n"
	"	r2 += r5\n"			/* add r2, 12 */
	"	r0 = r2\n"
	"	r0 += r3\n"
	"	r0 ^= r4\n"
	"	r6 = r0\n"			/* imul r6, r0, 3 */
	"	r6 *= 3\n"
	"	r0 += r6\n"
	"	r0 += 0\n"			/* nothing */
	"	r7 = 0x1234\n"
	"	if r0 > r7 goto out\n"		/* cmp r0, 0x1234 */
	"	r0 += 1\n"
	"out:	exit\n";

static struct bpfvm_prog *mk_asm(const char *src)
{
	struct bpf_insn *code = NULL;
	size_t n = 0;
	CHECK(bpfvm_asm(src, NULL, &code, &n) == 0, "assemble: %s", test_log_last());
	struct bpfvm_prog *p = code ? mk(code, n) : NULL;
	free(code);
	return p;
}

static void test_fold(void)
{
	struct bpfvm_prog *p = mk_asm(fold_const_src);
	CHECK(p && p->jit, "constants: compiled");
	if (p && p->jit) {
		CHECK_U64(jit_folded_insns(p->jit), 10, "constants: folded instructions");
		struct bpfvm_run_opts o = { .sz = sizeof(o), .engine = BPFVM_ENGINE_JIT };
		CHECK(bpfvm_prog__run_opts(p, &o) == 0 && o.retval == 0x1ffffffffull &&
		      o.insn_executed == 14, "constants: r0 %#llx after %llu instructions",
		      (unsigned long long)o.retval, (unsigned long long)o.insn_executed);
		for (uint64_t b = 0; b <= 16; b++)
			compare("constants", p, NULL, 0, NULL, 0, b);
	}
	bpfvm_prog__free(p);

	p = mk_asm(fold_data_src);
	CHECK(p && p->jit, "data: compiled");
	if (p && p->jit) {
		CHECK_U64(jit_folded_insns(p->jit), 8, "data: folded instructions");
		for (int round = 0; round < 200; round++) {
			uint8_t mem[16];
			uint64_t a, x;
			a = val();
			x = val();
			memcpy(mem, &a, 8);
			memcpy(mem + 8, &x, 8);
			uint64_t r2 = (uint64_t)(uint32_t)a + 12, r3 = (uint32_t)x;
			uint64_t r4 = (uint64_t)(int64_t)(int32_t)(uint32_t)x;
			uint64_t r0 = (r2 + r3) ^ (r4 ^ (uint32_t)r4);
			r0 += r0 * 3;
			if (!(r0 > 0x1234))
				r0 += 1;
			struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = mem, .mem_len = 16,
						    .engine = BPFVM_ENGINE_JIT };
			CHECK(bpfvm_prog__run_opts(p, &o) == 0 && o.retval == r0,
			      "data round %d: r0 %#llx, want %#llx", round,
			      (unsigned long long)o.retval, (unsigned long long)r0);
			compare("data", p, mem, 16, NULL, 0, 0);
			if (round < 4)
				for (uint64_t b = 1; b <= 25; b++)
					compare("data", p, mem, 16, NULL, 0, b);
		}
	}
	bpfvm_prog__free(p);
}

/* ---- A program of BPFVM_MAX_INSNS instructions ------------------------------------------ */
static void test_large(void)
{
	size_t n = BPFVM_MAX_INSNS;
	struct bpf_insn *p = malloc(n * sizeof(*p));
	p[0] = (struct bpf_insn)BPF_MOV64_IMM(0, 0);
	for (size_t i = 1; i + 1 < n; i++)
		p[i] = (i % 4 == 1) ? (struct bpf_insn)BPF_STX_MEM(BPF_DW, 10, 0, -8) :
		       (i % 4 == 2) ? (struct bpf_insn)BPF_LDX_MEM(BPF_DW, 0, 10, -8) :
		       (struct bpf_insn)BPF_ALU64_IMM(BPF_ADD, 0, 1);
	p[n - 1] = (struct bpf_insn)BPF_EXIT_INSN();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct bpfvm_prog *prog = mk(p, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(prog != NULL, "1M-instruction program: %s", test_log_last());
	if (prog) {
		size_t len = 0;
		bpfvm_prog__jited(prog, NULL, &len, NULL);
		printf("1,000,000 instructions: created (validated + compiled) in %.0f ms, %zu bytes "
		       "of code\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .engine = BPFVM_ENGINE_JIT };
		CHECK(bpfvm_prog__run_opts(prog, &o) == 0, "1M run");
		compare("1M", prog, NULL, 0, NULL, 0, 0);
		CHECK_U64(o.insn_executed, n, "1M run: instructions");
		/* The budget running out in the middle of one huge block. */
		compare("1M, budget 500001", prog, NULL, 0, NULL, 0, 500001);
		compare("1M, budget 999999", prog, NULL, 0, NULL, 0, 999999);
	}
	bpfvm_prog__free(prog);
	free(p);
}

/* ---- Generated: ALU, jumps and atomics on every register pair ---------------------------- */

/* Loads v[k] into rk for k = 0..9; then the instruction(s); then folds r0-r9 (and
 * the stack slot at r10-16) into r0. Returns the count. The registers in loaded
 * are loaded from stack slots, so the JIT cannot know their values; the others
 * are lddw constants, which it folds (fold.h). */
static size_t build(struct bpf_insn *p, const uint64_t *v, const struct bpf_insn *op, size_t nop,
		    unsigned loaded)
{
	size_t n = 0;
	p[n++] = (struct bpf_insn)BPF_LD_IMM64(1, 0);
	p[n - 1].imm = (int32_t)v[10];
	p[n++] = (struct bpf_insn){ .imm = (int32_t)(v[10] >> 32) };
	p[n++] = (struct bpf_insn)BPF_STX_MEM(BPF_DW, 10, 1, -16);
	for (int k = 0; k < 10; k++) {
		p[n++] = (struct bpf_insn)BPF_LD_IMM64(k, 0);
		p[n - 1].imm = (int32_t)v[k];
		p[n++] = (struct bpf_insn){ .imm = (int32_t)(v[k] >> 32) };
		if (loaded >> k & 1)
			p[n++] = (struct bpf_insn)BPF_STX_MEM(BPF_DW, 10, k, -200 - 8 * k);
	}
	for (int k = 0; k < 10; k++)
		if (loaded >> k & 1)
			p[n++] = (struct bpf_insn)BPF_LDX_MEM(BPF_DW, k, 10, -200 - 8 * k);
	for (size_t k = 0; k < nop; k++)
		p[n++] = op[k];
	for (int k = 0; k < 10; k++)
		p[n++] = (struct bpf_insn)BPF_STX_MEM(BPF_DW, 10, k, -24 - 8 * k);
	p[n++] = (struct bpf_insn)BPF_LDX_MEM(BPF_DW, 0, 10, -16);
	for (int k = 0; k < 10; k++) {
		p[n++] = (struct bpf_insn)BPF_ALU64_IMM(BPF_MUL, 0, 1000003);
		p[n++] = (struct bpf_insn)BPF_LDX_MEM(BPF_DW, 1, 10, -24 - 8 * k);
		p[n++] = (struct bpf_insn)BPF_ALU64_REG(BPF_XOR, 0, 1);
	}
	p[n++] = (struct bpf_insn)BPF_EXIT_INSN();
	return n;
}

/* The raw instruction of row with the given operands. */
static struct bpf_insn raw(int row, int dst, int src, int16_t off, int32_t imm)
{
	const struct isa_row *r = &isa_rows[row];
	struct bpf_insn in = { .code = r->opcode, .dst_reg = (uint8_t)dst, .src_reg = (uint8_t)src,
			       .off = off, .imm = imm };
	if (r->sel == ISA_SEL_OFF)
		in.off = (int16_t)r->selval;
	if (r->sel == ISA_SEL_IMM)
		in.imm = r->selval;
	return in;
}

static void test_generated(void)
{
	struct bpf_insn p[160];
	uint64_t v[11];
	char what[128];
	int before = t_fail;
	for (int row = 0; row < ISA__COUNT && t_fail - before < 20; row++) {
		const struct isa_row *r = &isa_rows[row];
		int fmt = r->fmt;
		bool alu = fmt == ISA_FMT_ALU_K || fmt == ISA_FMT_ALU_X || fmt == ISA_FMT_NEG ||
			   fmt == ISA_FMT_MOVSX || fmt == ISA_FMT_END;
		bool jmp = fmt == ISA_FMT_JCOND_K || fmt == ISA_FMT_JCOND_X;
		bool atomic = fmt == ISA_FMT_ATOMIC;
		if (!alu && !jmp && !atomic)
			continue;
		bool uses_src = fmt == ISA_FMT_ALU_X || fmt == ISA_FMT_MOVSX ||
				fmt == ISA_FMT_JCOND_X || atomic;
		for (int dst = 0; dst < 10; dst++) {
			for (int src = 0; src < (uses_src ? 10 : 1); src++) {
				/* operands the JIT knows (constants), cannot know (loaded),
				 * or only the source known (an immediate form may carry it) */
				for (int trial = 0; trial < 6; trial++) {
					for (int k = 0; k < 11; k++)
						v[k] = val();
					if (uses_src && (trial == 2 || trial == 3))
						v[src] = v[dst];
					if (atomic && trial >= 4)
						v[0] = v[10];	/* cmpxchg: r0 matches */
					int32_t imm = (int32_t)val();
					struct bpf_insn op[4];
					size_t nop = 0;
					if (atomic) {
						/* dst = r10 - 8, the slot at r10 - 16 */
						op[nop++] = (struct bpf_insn)BPF_MOV64_REG(dst, 10);
						op[nop++] = (struct bpf_insn)BPF_ALU64_IMM(BPF_ADD, dst, -8);
						op[nop++] = raw(row, dst, src, -8, 0);
					} else if (jmp) {
						op[nop++] = raw(row, dst, src, 1, fmt == ISA_FMT_JCOND_K ? imm : 0);
						op[nop++] = (struct bpf_insn)BPF_ALU64_IMM(BPF_ADD, 9, 77);
					} else {
						op[nop++] = raw(row, dst, fmt == ISA_FMT_ALU_K || fmt == ISA_FMT_NEG ||
								fmt == ISA_FMT_END ? 0 : src, 0,
								fmt == ISA_FMT_ALU_K ? imm : 0);
					}
					if (atomic && dst == 0 && (r->selval == 0xf1))
						continue;	/* cmpxchg needs r0 as data */
					unsigned loaded = trial % 3 == 0 ? 0 : trial % 3 == 1 ?
							  0x3ffu : 1u << dst;
					size_t n = build(p, v, op, nop, loaded);
					snprintf(what, sizeof(what), "%s dst r%d src r%d imm %d trial %d",
						 r->name, dst, src, imm, trial);
					compare_prog(what, p, n, NULL, 0, 0);
				}
			}
		}
	}
}

/* ---- Faults, budget, calls ------------------------------------------------------------- */
static void test_faults(void)
{
	uint8_t mem[64];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 7 + 1);

	/* Memory: reads and writes just inside and just outside the context memory. */
	for (int size = 1; size <= 8; size *= 2) {
		int sz = size == 1 ? BPF_B : size == 2 ? BPF_H : size == 4 ? BPF_W : BPF_DW;
		for (int off = -2; off <= 66; off++) {
			char what[96];
			snprintf(what, sizeof(what), "load %d at mem%+d", size, off);
			compare_prog(what, PROG(BPF_LDX_MEM(sz, 0, 1, off), BPF_EXIT_INSN()),
				     mem, sizeof(mem), 0);
			snprintf(what, sizeof(what), "store %d at mem%+d", size, off);
			compare_prog(what, PROG(BPF_MOV64_IMM(0, 3), BPF_ST_MEM(sz, 1, off, -2),
						BPF_STX_MEM(sz, 1, 0, off), BPF_EXIT_INSN()),
				     mem, sizeof(mem), 0);
		}
		/* The stack: the top of the main frame, below the current frame. */
		for (int off = -520; off <= 8; off += 1) {
			char what[96];
			snprintf(what, sizeof(what), "stack load %d at r10%+d", size, off);
			compare_prog(what, PROG(BPF_MOV64_REG(2, 10), BPF_LDX_MEM(sz, 0, 2, off),
						BPF_LDX_MEM(sz, 0, 10, off), BPF_EXIT_INSN()),
				     NULL, 0, 0);
		}
	}

	/* Other regions: read-only and writable; the context memory read-only is not
	 * possible through the API, so a second region checks writability. */
	static uint64_t ro = 0x1111, rw = 0x2222;
	struct bpfvm_region regs[2] = { { &ro, sizeof(ro), false }, { &rw, sizeof(rw), true } };
	uint8_t ptrs[16];
	uint64_t pro = (uint64_t)(uintptr_t)&ro, prw = (uint64_t)(uintptr_t)&rw;
	memcpy(ptrs, &pro, 8);
	memcpy(ptrs + 8, &prw, 8);
	struct bpfvm_prog *p = mk(PROG(
		BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_LDX_MEM(BPF_DW, 3, 1, 8),
		BPF_LDX_MEM(BPF_DW, 0, 2, 0), BPF_LDX_MEM(BPF_DW, 4, 3, 0),
		BPF_ALU64_REG(BPF_ADD, 0, 4), BPF_STX_MEM(BPF_W, 3, 0, 4),
		BPF_STX_MEM(BPF_W, 2, 0, 0), BPF_EXIT_INSN()));
	CHECK(p != NULL, "regions prog");
	if (p)
		compare("write to a read-only region", p, ptrs, sizeof(ptrs), regs, 2, 0);
	bpfvm_prog__free(p);

	/* A loop with memory, a helper call mid-block and a local call: the budget at
	 * every stopping point. */
	p = mk(PROG(
		BPF_MOV64_IMM(6, 0),				/* 0 */
		BPF_MOV64_IMM(0, 0),				/* 1 */
		BPF_LDX_MEM(BPF_B, 2, 1, 3),			/* 2: loop */
		BPF_ALU64_REG(BPF_ADD, 0, 2),			/* 3 */
		BPF_MOV64_REG(7, 0),				/* 4 */
		BPF_MOV64_REG(1, 6),				/* 5 */
		BPF_CALL_HELPER(H_STOP),			/* 6 */
		BPF_ALU64_REG(BPF_ADD, 7, 0),			/* 7 */
		BPF_MOV64_REG(1, 7),				/* 8 */
		BPF_CALL_REL(8),				/* 9 -> 18 */
		BPF_STX_MEM(BPF_DW, 10, 0, -8),			/* 10 */
		BPF_LDX_MEM(BPF_DW, 0, 10, -8),			/* 11 */
		BPF_MOV64_IMM(9, 1),				/* 12 */
		BPF_ALU64_IMM(BPF_ADD, 6, 1),			/* 13 */
		BPF_LD_IMM64(1, 0),				/* 14-15: r1 is lost in calls */
		BPF_JMP_IMM(BPF_JLT, 6, 6, -15),		/* 16 -> 2 (r1 is 0 then: fault) */
		BPF_EXIT_INSN(),				/* 17 */
		BPF_ALU64_IMM(BPF_MUL, 1, 3),			/* 18: sub */
		BPF_MOV64_REG(0, 1),				/* 19 */
		BPF_EXIT_INSN()));				/* 20 */
	CHECK(p != NULL, "budget prog: %s", test_log_last());
	for (uint64_t b = 1; p && b <= 40; b++) {
		char what[64];
		snprintf(what, sizeof(what), "budget %llu", (unsigned long long)b);
		compare(what, p, mem, sizeof(mem), NULL, 0, b);
	}
	bpfvm_prog__free(p);

	/* The helper stops the run in the middle of a block. */
	for (uint64_t b = 0; b <= 12; b++) {
		char what[64];
		snprintf(what, sizeof(what), "helper stop, budget %llu", (unsigned long long)b);
		compare_prog(what, PROG(BPF_MOV64_IMM(1, 7), BPF_MOV64_IMM(6, 1),
					BPF_CALL_HELPER(H_STOP), BPF_MOV64_IMM(0, 1),
					BPF_ALU64_IMM(BPF_ADD, 6, 1), BPF_EXIT_INSN()),
			     NULL, 0, b);
	}

	/* Helper arguments in r1-r5, callee-saved r6-r9 across local calls. */
	compare_prog("helper args", PROG(BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 10),
					 BPF_MOV64_IMM(3, 100), BPF_MOV64_IMM(4, 1000),
					 BPF_MOV64_IMM(5, 10000), BPF_MOV64_IMM(6, 5),
					 BPF_CALL_HELPER(H_SUM), BPF_ALU64_REG(BPF_ADD, 0, 6),
					 BPF_EXIT_INSN()), NULL, 0, 0);

	/* callx: a known id in a register, then an unknown one. */
	compare_prog("callx", PROG(BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3),
				   BPF_MOV64_IMM(4, 4), BPF_MOV64_IMM(5, 5),
				   BPF_LD_IMM64(8, H_SUM),
				   BPFVM_INSN(BPF_JMP | BPF_CALL | BPF_X, 8, 0, 0, 0),
				   BPF_MOV64_REG(6, 0), BPF_LD_IMM64(7, 0x7777),
				   BPFVM_INSN(BPF_JMP | BPF_CALL | BPF_X, 7, 0, 0, 0),
				   BPF_EXIT_INSN()), NULL, 0, 0);

	/* Unbounded recursion: the depth fault at the call; each frame writes its stack. */
	compare_prog("recursion", PROG(BPF_MOV64_IMM(6, 0), BPF_CALL_REL(1), BPF_EXIT_INSN(),
				       BPF_ALU64_IMM(BPF_ADD, 1, 1), BPF_STX_MEM(BPF_DW, 10, 1, -512),
				       BPF_CALL_REL(-3), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()),
		     NULL, 0, 0);
	/* Recursion into the main function, bounded; frames read the caller's stack. */
	for (uint64_t b = 0; b < 200; b += 7)
		compare_prog("recursive main", PROG(
			BPF_JMP_IMM(BPF_JGT, 1, 20, 7),		/* 0: depth guard (r1 counts) */
			BPF_STX_MEM(BPF_DW, 10, 1, -8),		/* 1 */
			BPF_MOV64_REG(6, 10),			/* 2 */
			BPF_ALU64_IMM(BPF_ADD, 1, 1),		/* 3 */
			BPF_CALL_REL(-5),			/* 4 -> 0 */
			BPF_LDX_MEM(BPF_DW, 1, 6, -8),		/* 5 */
			BPF_ALU64_REG(BPF_ADD, 0, 1),		/* 6 */
			BPF_EXIT_INSN(),			/* 7 */
			BPF_LDX_MEM(BPF_DW, 0, 10, 504),	/* 8: the caller's frame */
			BPF_EXIT_INSN()), NULL, 0, b);
}

/* ---- Grouped memory checks -------------------------------------------------------- */
/* Several accesses through one register in a block are checked once as a group; when
 * the group's span is not all in the context memory, the rest of the block runs with
 * a check per access: the faulting instruction, the stores before it and the budget
 * must be the interpreter's. */
static void test_groups(void)
{
	uint8_t mem[64];
	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 13 + 5);
	for (int base = -12; base <= 64; base += 2) {
		for (int len = 0; len <= 64; len += len < 16 ? 1 : 8) {
			char what[96];
			snprintf(what, sizeof(what), "group at mem%+d, len %d", base, len);
			compare_prog(what, PROG(
				BPF_MOV64_REG(2, 1),
				BPF_ALU64_IMM(BPF_ADD, 2, base),
				BPF_MOV64_IMM(0, 7),
				BPF_LDX_MEM(BPF_B, 3, 2, 1),
				BPF_STX_MEM(BPF_B, 2, 3, 0),
				BPF_ALU64_IMM(BPF_ADD, 0, 1),
				BPF_LDX_MEM(BPF_W, 4, 2, 4),
				BPF_ST_MEM(BPF_H, 2, 8, 0x1234),
				BPF_ALU64_REG(BPF_ADD, 0, 4),
				BPF_LDX_MEM(BPF_DW, 5, 2, -4),
				BPF_ALU64_REG(BPF_ADD, 0, 5),
				BPF_ALU64_IMM(BPF_ADD, 2, 3),		/* a new group */
				BPF_LDX_MEM(BPF_H, 3, 2, 0),
				BPF_ALU64_REG(BPF_ADD, 0, 3),
				BPF_LDX_MEM(BPF_B, 3, 2, 9),
				BPF_ALU64_REG(BPF_ADD, 0, 3),
				BPF_EXIT_INSN()), mem, (size_t)len, 0);
			for (uint64_t budget = 1; budget <= 18; budget++) {
				snprintf(what, sizeof(what), "group at mem%+d, len %d, budget %u",
					 base, len, (unsigned)budget);
				compare_prog(what, PROG(
					BPF_MOV64_REG(2, 1),
					BPF_ALU64_IMM(BPF_ADD, 2, base),
					BPF_LDX_MEM(BPF_B, 3, 2, 0),
					BPF_STX_MEM(BPF_B, 2, 3, 2),
					BPF_LDX_MEM(BPF_B, 4, 2, 6),
					BPF_MOV64_REG(0, 4),
					BPF_EXIT_INSN()), mem, (size_t)len, budget);
			}
		}
	}
	/* Through a copy of r10: the group is on the stack, not in the context memory. */
	for (int off = -520; off <= 8; off += 4) {
		char what[96];
		snprintf(what, sizeof(what), "stack group at r10%+d", off);
		compare_prog(what, PROG(
			BPF_MOV64_REG(2, 10),
			BPF_ALU64_IMM(BPF_ADD, 2, off),
			BPF_ST_MEM(BPF_W, 2, 0, 99),
			BPF_LDX_MEM(BPF_B, 0, 2, 1),
			BPF_LDX_MEM(BPF_W, 3, 2, 0),
			BPF_ALU64_REG(BPF_ADD, 0, 3),
			BPF_EXIT_INSN()), NULL, 0, 0);
	}
}

int main(void)
{
	test_log_capture();
	if (!bpfvm_engine_available(BPFVM_ENGINE_JIT)) {
		printf("no JIT on this machine: skipped\n");
		return TEST_SKIP;
	}
	test_every_row();
	test_wx();
	test_loop_copies();
	test_threaded_tests();
	test_fold();
	test_lazy_loops();
	test_large();
	test_faults();
	test_groups();
	test_generated();
	/* Shifts by a register have two emitters: BMI2 (where the CPU has it, the
	 * default) and shl/shr/sar through cl; the other one gets the same test. */
	jit_set_bmi2(!jit_cpu_has_bmi2());
	test_generated();
	jit_set_bmi2(true);
	printf("%d programs compared with the interpreter (BMI2 shifts: %s, and without)\n",
	       n_compared, jit_cpu_has_bmi2() ? "yes" : "no");
	return test_summary();
}
