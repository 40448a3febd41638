/*
 * test_helpers.c — the kernel helpers bpfvm provides, called from programs on
 * every available engine, against values computed here independently: clocks
 * bracketed by clock_gettime, ids from getpid/gettid/getuid, checksums by hand,
 * formatted text written out literally, and fault-free reads of unmapped memory.
 */
#define _GNU_SOURCE
#include "kernel_bpf.h"	/* first: it brings <linux/bpf.h> */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "helpers/helpers.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_INTERP_SWITCH,
					     BPFVM_ENGINE_JIT };
static const char *const engine_names[] = { "interp", "switch", "jit" };

/* Runs insns on every available engine with mem; checks all agree on r0 (unless
 * the result varies, e.g. clocks) and returns the interpreter's r0. */
static uint64_t run(const struct bpf_insn *insns, size_t cnt, void *mem, size_t len,
		    bool same_result, const char *what)
{
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, NULL);
	CHECK(p != NULL, "%s: program rejected", what);
	if (!p)
		return 0;
	uint64_t first = 0;
	void *copy = len ? malloc(len) : NULL;
	if (len)
		memcpy(copy, mem, len);
	for (size_t e = 0; e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]))
			continue;
		if (e && len)
			memcpy(mem, copy, len);
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = mem, .mem_len = len,
					    .engine = engines[e], .budget = 1000000 };
		int err = bpfvm_prog__run_opts(p, &o);
		CHECK(err == 0, "%s on %s: run failed (%d)", what, engine_names[e], err);
		if (e == 0)
			first = o.retval;
		else if (same_result)
			CHECK_U64(o.retval, first, "%s: %s differs from interp", what, engine_names[e]);
	}
	free(copy);
	bpfvm_prog__free(p);
	return first;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* r0 = helper() */
#define CALL0(ID) { BPF_CALL_HELPER(ID), BPF_EXIT_INSN() }

static void clocks(void)
{
	static const struct { int id; clockid_t clk; uint64_t div; const char *name; } c[] = {
		{ 5, CLOCK_MONOTONIC, 1, "ktime_get_ns" },
		{ 125, CLOCK_BOOTTIME, 1, "ktime_get_boot_ns" },
		{ 160, CLOCK_MONOTONIC_COARSE, 1, "ktime_get_coarse_ns" },
		{ 118, CLOCK_MONOTONIC_COARSE, 1000000, "jiffies64" },
	};
	for (size_t i = 0; i < N(c); i++) {
		struct bpf_insn p[] = CALL0(c[i].id);
		uint64_t before = clock_ns(c[i].clk) / c[i].div;
		uint64_t got = run(p, N(p), NULL, 0, false, c[i].name);
		uint64_t after = clock_ns(c[i].clk) / c[i].div;
		CHECK(before <= got && got <= after, "%s = %llu, outside [%llu, %llu]", c[i].name,
		      (unsigned long long)got, (unsigned long long)before, (unsigned long long)after);
	}
	/* two reads in one program: the second is not earlier */
	struct bpf_insn d[] = { BPF_CALL_HELPER(5), BPF_MOV64_REG(6, 0), BPF_CALL_HELPER(5),
				BPF_ALU64_REG(BPF_SUB, 0, 6), BPF_EXIT_INSN() };
	uint64_t delta = run(d, N(d), NULL, 0, false, "ktime delta");
	CHECK(delta < 1000000000u, "ktime went backwards or jumped: delta %llu",
	      (unsigned long long)delta);
}

/* After a helper call r1-r5 are 0 on every engine (the ABI leaves them undefined:
 * bpfvm defines them, so no engine leaks host registers). The validator refuses
 * to read them, so a second call, which takes them as arguments, observes them. */
static uint64_t or_args(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a | b | c | d | e;
}

static void clobbered_args(void)
{
	const uint32_t or_id = BPFVM_HELPER_USER_BASE + 1;
	struct bpfvm_helper h = { .id = or_id, .name = "test_or_args", .fn = or_args };
	CHECK(bpfvm_helper__register(&h) == 0, "registering test_or_args");
	struct bpf_insn p[] = { BPF_MOV64_IMM(1, 7), BPF_MOV64_IMM(2, 8), BPF_MOV64_IMM(3, 9),
				BPF_MOV64_IMM(4, 10), BPF_MOV64_IMM(5, 11), BPF_CALL_HELPER(5),
				BPF_CALL_HELPER(or_id), BPF_EXIT_INSN() };
	CHECK_U64(run(p, N(p), NULL, 0, true, "args after call"), 0, "r1-r5 after a helper call");
	struct bpf_insn x[] = { BPF_MOV64_IMM(1, 7), BPF_MOV64_IMM(2, 42), BPF_MOV64_IMM(3, 9),
				BPFVM_INSN(BPF_JMP | BPF_CALL | BPF_X, 2, 0, 0, 0),
				BPF_CALL_HELPER(or_id), BPF_EXIT_INSN() };
	CHECK_U64(run(x, N(x), NULL, 0, true, "args after callx"), 0, "r1-r5 after callx");
	struct bpf_insn before[] = { BPF_MOV64_IMM(1, 7), BPF_MOV64_IMM(5, 0x100),
				     BPF_CALL_HELPER(or_id), BPF_EXIT_INSN() };
	CHECK_U64(run(before, N(before), NULL, 0, true, "args"), 0x107,
		  "the helper does see its arguments");
}

static void task(void)
{
	struct bpf_insn p[] = CALL0(14);
	uint64_t want = (uint64_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
	CHECK_U64(run(p, N(p), NULL, 0, true, "pid_tgid"), want, "bpf_get_current_pid_tgid");
	struct bpf_insn q[] = CALL0(15);
	CHECK_U64(run(q, N(q), NULL, 0, true, "uid_gid"), (uint64_t)getgid() << 32 | getuid(),
		  "bpf_get_current_uid_gid");
	unsigned cpu, node;
	syscall(SYS_getcpu, &cpu, &node, NULL);
	struct bpf_insn n[] = CALL0(42);
	CHECK_U64(run(n, N(n), NULL, 0, true, "numa"), node, "bpf_get_numa_node_id");

	/* comm: r1 = mem, r2 = size */
	prctl(PR_SET_NAME, "bpfvm-test", 0, 0, 0);
	uint8_t mem[16];
	memset(mem, 0xaa, sizeof(mem));
	struct bpf_insn c[] = { BPF_MOV64_IMM(2, 16), BPF_CALL_HELPER(16), BPF_EXIT_INSN() };
	CHECK_U64(run(c, N(c), mem, sizeof(mem), true, "comm"), 0, "bpf_get_current_comm");
	CHECK(memcmp(mem, "bpfvm-test\0\0\0\0\0\0", 16) == 0, "comm not copied and zero-padded");
	memset(mem, 0xaa, sizeof(mem));
	struct bpf_insn c4[] = { BPF_MOV64_IMM(2, 4), BPF_CALL_HELPER(16), BPF_EXIT_INSN() };
	run(c4, N(c4), mem, sizeof(mem), true, "comm 4");
	CHECK(memcmp(mem, "bpf\0\xaa", 5) == 0, "comm into 4 bytes: \"%.4s\"", (char *)mem);
	/* size past the memory: refused, nothing written */
	memset(mem, 0xaa, sizeof(mem));
	struct bpf_insn cx[] = { BPF_MOV64_IMM(2, 17), BPF_CALL_HELPER(16), BPF_EXIT_INSN() };
	CHECK_U64(run(cx, N(cx), mem, sizeof(mem), true, "comm too big"), (uint64_t)-EFAULT,
		  "comm with a size past the program's memory");
	CHECK(mem[0] == 0xaa, "comm wrote memory it was refused");

	/* prandom: 64 draws, many distinct */
	struct bpf_insn r[] = CALL0(7);
	struct bpfvm_prog *pr = bpfvm_prog__new(r, N(r), NULL);
	uint64_t seen[64];
	size_t distinct = 0;
	for (int i = 0; i < 64; i++) {
		struct bpfvm_run_opts o = { .sz = sizeof(o) };
		bpfvm_prog__run_opts(pr, &o);
		CHECK(o.retval <= UINT32_MAX, "prandom above 32 bits");
		bool dup = false;
		for (size_t k = 0; k < distinct; k++)
			dup |= seen[k] == o.retval;
		if (!dup)
			seen[distinct++] = o.retval;
	}
	CHECK(distinct >= 60, "only %zu distinct of 64 random numbers", distinct);
	bpfvm_prog__free(pr);
}

static void csum(void)
{
	/* mem: from (8 bytes) then to (8 bytes); r1 from, r2 from_size, r3 to, r4 to_size, r5 seed */
	struct { uint32_t from[2], to[2]; } m;
#define CSUM_PROG(FS, TS, SEED) { BPF_MOV64_REG(3, 1), BPF_ALU64_IMM(BPF_ADD, 3, 8), \
	BPF_MOV64_IMM(2, FS), BPF_MOV64_IMM(4, TS), BPF_MOV64_IMM(5, SEED), \
	BPF_CALL_HELPER(28), BPF_EXIT_INSN() }
	m.from[0] = 0, m.from[1] = 0, m.to[0] = 0x11111111, m.to[1] = 0x22222222;
	struct bpf_insn a[] = CSUM_PROG(0, 8, 1);
	/* 0x11111111 + 0x22222222 + 1 = 0x33333334, folded: 0x3333 + 0x3334 */
	CHECK_U64(run(a, N(a), &m, sizeof(m), true, "csum"), 0x6667, "csum_diff of to only");
	m.to[0] = 0xffffffff, m.to[1] = 2;
	struct bpf_insn b[] = CSUM_PROG(0, 8, 0);
	/* 0xffffffff + 2 = 0x1_00000001 -> 0x0001 + 0x0000 + 0x0001 = 2 */
	CHECK_U64(run(b, N(b), &m, sizeof(m), true, "csum carry"), 2, "end-around carry");
	/* replacing word 0x0a000001 by 0x0a000002: ~old + new = 0xf5fffffe + 0x0a000002 */
	m.from[0] = 0x0a000001, m.to[0] = 0x0a000002;
	struct bpf_insn c[] = CSUM_PROG(4, 4, 0);
	CHECK_U64(run(c, N(c), &m, sizeof(m), true, "csum diff"), 1, "diff of one word");
	struct bpf_insn d[] = CSUM_PROG(3, 4, 0);
	CHECK_U64(run(d, N(d), &m, sizeof(m), true, "csum bad size"), (uint64_t)-EINVAL,
		  "size not a multiple of 4");
	struct bpf_insn e[] = CSUM_PROG(8, 512, 0);
	CHECK_U64(run(e, N(e), &m, sizeof(m), true, "csum too big"), (uint64_t)-EINVAL,
		  "more than 512 bytes");
	struct bpf_insn f[] = CSUM_PROG(0, 16, 0);
	CHECK_U64(run(f, N(f), &m, sizeof(m), true, "csum past mem"), (uint64_t)-EFAULT,
		  "to past the program's memory");
}

static char lines[8][256];
static int nlines;

static void capture(const char *line, size_t len, void *user)
{
	(void)user;
	if (nlines < 8)
		snprintf(lines[nlines++], sizeof(lines[0]), "%.*s", (int)len, line);
}

static void format(void)
{
	char out[128];
	uint64_t args[4] = { (uint64_t)-5, 255, 123456789012ull, 0 };
	long n = vm_format(out, sizeof(out), "v %d %x %lld %u", 16, args, 4);
	CHECK_STR(out, "v -5 ff 123456789012 0", "vm_format");
	CHECK(n == 22, "vm_format returned %ld", n);
	args[0] = 0xfffffffb;	/* a 32-bit -5: %d reads 32 bits, %lld 64 */
	args[1] = 0xfffffffb;
	vm_format(out, sizeof(out), "%d %lld", 8, args, 2);
	CHECK_STR(out, "-5 4294967291", "32 vs 64-bit conversions");
	args[0] = 42, args[1] = 0xfb, args[2] = 0;
	vm_format(out, sizeof(out), "[%5d|%-4x|%05u] 100%%", 23, args, 3);
	CHECK_STR(out, "[   42|fb  |00000] 100%", "flags and widths");
	const char *s = "hi";
	uint8_t ip[4] = { 10, 0, 0, 1 };
	uint64_t a2[3] = { (uint64_t)(uintptr_t)s, (uint64_t)(uintptr_t)ip, 'z' };
	vm_format(out, sizeof(out), "%s %pI4 %c", 12, a2, 3);
	CHECK_STR(out, "hi 10.0.0.1 z", "string, IPv4 address, char");
	a2[0] = 8;	/* unreadable address */
	vm_format(out, sizeof(out), "<%s>", 5, a2, 1);
	CHECK_STR(out, "<>", "an unreadable string prints empty");
	CHECK(vm_format(out, sizeof(out), "%q", 3, args, 1) == -EINVAL, "unknown conversion");
	CHECK(vm_format(out, sizeof(out), "%d %d", 6, args, 1) == -EINVAL, "too few arguments");
	CHECK(vm_format(out, sizeof(out), "abc", 3, args, 0) == -EINVAL, "no NUL within size");
	n = vm_format(out, 4, "abcdef", 7, args, 0);
	CHECK(n == 6 && strcmp(out, "abc") == 0, "truncation: %ld \"%s\"", n, out);

	/* trace_printk from a program: fmt in mem, args in r3-r5 */
	bpfvm_set_trace(capture, NULL);
	char mem[32] = "a=%d b=%s\nsecond\n";
	memcpy(mem + 24, "str", 4);
	struct bpf_insn t[] = { BPF_MOV64_IMM(2, 18), BPF_MOV64_IMM(3, -7), BPF_MOV64_REG(4, 1),
				BPF_ALU64_IMM(BPF_ADD, 4, 24), BPF_CALL_HELPER(6), BPF_EXIT_INSN() };
	nlines = 0;
	uint64_t r = run(t, N(t), mem, sizeof(mem), true, "trace_printk");
	CHECK_U64(r, strlen("a=-7 b=str\nsecond\n"), "trace_printk returns the length");
	CHECK(nlines >= 2, "trace lines: %d", nlines);
	CHECK_STR(lines[0], "a=-7 b=str", "first trace line");
	CHECK_STR(lines[1], "second", "second trace line");
	bpfvm_set_trace(NULL, NULL);

	/* snprintf(str = mem+16, 16, fmt = mem, data = mem+8, 8) */
	char sm[32] = "n=%u";
	uint64_t v = 77;
	memcpy(sm + 8, &v, 8);
	struct bpf_insn sp[] = { BPF_MOV64_REG(6, 1), BPF_MOV64_REG(3, 1), BPF_MOV64_REG(4, 1),
				 BPF_ALU64_IMM(BPF_ADD, 4, 8), BPF_MOV64_IMM(5, 8),
				 BPF_ALU64_IMM(BPF_ADD, 1, 16), BPF_MOV64_IMM(2, 16),
				 BPF_CALL_HELPER(165), BPF_EXIT_INSN() };
	CHECK_U64(run(sp, N(sp), sm, sizeof(sm), true, "snprintf"), 5, "snprintf length with NUL");
	CHECK_STR(sm + 16, "n=77", "snprintf output");

	/* strncmp(s1 = mem, 4, s2 = mem + 8) */
	char sc[16] = "abcd\0\0\0\0abce";
	struct bpf_insn sn[] = { BPF_MOV64_IMM(2, 4), BPF_MOV64_REG(3, 1), BPF_ALU64_IMM(BPF_ADD, 3, 8),
				 BPF_CALL_HELPER(182), BPF_EXIT_INSN() };
	CHECK_U64(run(sn, N(sn), sc, sizeof(sc), true, "strncmp"), (uint64_t)-1, "abcd < abce");
	sc[11] = 'd';
	CHECK_U64(run(sn, N(sn), sc, sizeof(sc), true, "strncmp eq"), 0, "abcd == abcd");
	sc[11] = 'a';
	CHECK_U64(run(sn, N(sn), sc, sizeof(sc), true, "strncmp gt"), 1, "abcd > abca");
}

static void probe(void)
{
	static const char secret[] = "hello, probe";
	uint8_t mem[16];
	/* r1 = mem (dst), r2 = size, r3 = src (lddw of a host address) */
#define PROBE_PROG(ID, SIZE, SRC) { BPF_MOV64_IMM(2, SIZE), BPF_LD_IMM64(3, SRC), \
	BPF_CALL_HELPER(ID), BPF_EXIT_INSN() }
	memset(mem, 0xaa, sizeof(mem));
	struct bpf_insn a[] = PROBE_PROG(112, 5, (uintptr_t)secret);
	CHECK_U64(run(a, N(a), mem, sizeof(mem), true, "probe_read_user"), 0, "probe_read_user");
	CHECK(memcmp(mem, "hello\xaa", 6) == 0, "probe_read_user copied");
	/* an unmapped page */
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(map + page - 4, "abc", 4);
	munmap(map + page, (size_t)page);
	struct bpf_insn b[] = PROBE_PROG(113, 8, (uintptr_t)(map + page - 4));
	CHECK_U64(run(b, N(b), mem, sizeof(mem), true, "probe_read_kernel unmapped"),
		  (uint64_t)-EFAULT, "reading into an unmapped page");
	CHECK(mem[0] == 0 && mem[7] == 0, "destination zeroed after a fault");
	struct bpf_insn c[] = PROBE_PROG(112, 8, 0);
	CHECK_U64(run(c, N(c), mem, sizeof(mem), true, "probe NULL"), (uint64_t)-EFAULT, "NULL");
	/* strings: one ending just before the unmapped page reads fine */
	struct bpf_insn d[] = PROBE_PROG(114, 16, (uintptr_t)(map + page - 4));
	CHECK_U64(run(d, N(d), mem, sizeof(mem), true, "probe str"), 4, "\"abc\" with its NUL");
	CHECK_STR((char *)mem, "abc", "probe_read_user_str copied");
	struct bpf_insn e[] = PROBE_PROG(115, 4, (uintptr_t)secret);
	CHECK_U64(run(e, N(e), mem, sizeof(mem), true, "probe str short"), 4, "cut to size");
	CHECK_STR((char *)mem, "hel", "cut string is NUL-terminated");
	/* a destination outside the program's memory: refused, host memory untouched */
	static char host[8] = "intact";
	struct bpf_insn f[] = { BPF_LD_IMM64(1, (uintptr_t)host), BPF_MOV64_IMM(2, 4),
				BPF_LD_IMM64(3, (uintptr_t)secret), BPF_CALL_HELPER(112),
				BPF_EXIT_INSN() };
	CHECK_U64(run(f, N(f), mem, sizeof(mem), true, "probe bad dst"), (uint64_t)-EFAULT,
		  "destination outside the program's memory");
	CHECK_STR(host, "intact", "host memory untouched");
	munmap(map, (size_t)page);
}

/* bpf_csum_diff in the kernel and in bpfvm on the same inputs: the exact 32-bit
 * value (not only its 16-bit fold) must agree. */
static void kernel_csum(void)
{
	char reason[256];
	if (kbpf_probe(reason, sizeof(reason)) < 0) {
		printf("kernel csum_diff comparison skipped: bpf() unavailable (%s)\n", reason);
		return;
	}
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int compared = 0;
	for (int i = 0; i < 200; i++) {
		uint8_t mem[72];
		for (size_t k = 0; k < sizeof(mem); k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			mem[k] = (uint8_t)x;
		}
		int fs = (int)(x % 9) * 4, ts = (int)((x >> 8) % 9) * 4;
		int32_t seed = (int32_t)(x >> 20);
		struct bpf_insn p[] = { BPF_MOV64_REG(3, 1), BPF_ALU64_IMM(BPF_ADD, 3, 36),
					BPF_MOV64_IMM(2, fs), BPF_MOV64_IMM(4, ts),
					BPF_MOV64_IMM(5, seed), BPF_CALL_HELPER(28), BPF_EXIT_INSN() };
		struct kbpf_raw kr;
		char log[4096];
		if (kbpf_raw_load(&kr, p, N(p), sizeof(mem), log, sizeof(log)) < 0) {
			CHECK(0, "kernel rejected the csum_diff program: %s", log);
			break;
		}
		uint8_t kmem[72];
		memcpy(kmem, mem, sizeof(mem));
		uint64_t kr0 = 0;
		int err = kbpf_raw_run(&kr, kmem, 1, &kr0, NULL);
		kbpf_raw_close(&kr);
		CHECK(err == 0, "kernel test run failed: %d", err);
		uint64_t ours = run(p, N(p), mem, sizeof(mem), true, "csum vs kernel");
		CHECK_U64(ours, kr0, "csum_diff(from %d bytes, to %d bytes, seed 0x%x) vs kernel",
			  fs, ts, (unsigned)seed);
		compared++;
	}
	printf("kernel csum_diff comparison: %d cases\n", compared);
}

static void registry(void)
{
	CHECK_STR(bpfvm_helper__name(5), "bpf_ktime_get_ns", "name of helper 5");
	CHECK(bpfvm_helper__id("bpf_csum_diff") == 28, "id of bpf_csum_diff");
	struct bpfvm_helper h = { .id = 6, .name = "mine", .fn = h_ktime_get_ns };
	CHECK(bpfvm_helper__register(&h) == -EEXIST, "registering over a kernel helper id");
	for (size_t i = 1; i < vm_kernel_helper_cnt; i++)
		CHECK(vm_kernel_helpers[i - 1].id < vm_kernel_helpers[i].id,
		      "kernel.def not sorted at %s", vm_kernel_helpers[i].name);
}

int main(void)
{
	clocks();
	clobbered_args();
	task();
	csum();
	format();
	probe();
	kernel_csum();
	registry();
	return test_summary();
}
