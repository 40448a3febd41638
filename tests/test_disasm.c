/*
 * test_disasm.c — the disassembler (src/disasm.c) and its round trip through the
 * assembler: exact lines in both syntaxes with and without the "IDX: " and "(61) "
 * prefixes, the raw ".insn" form of slots that do not decode, the listing, one
 * instruction built for every isa.def row (a row added without assembler or
 * disassembler support fails here), random slots, and every conformance program
 * (argv[1]) disassembled in each syntax and assembled back to identical bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "datafile.h"
#include "isa.h"
#include "testlog.h"
#include "testutil.h"

#define I(CODE, DST, SRC, OFF, IMM) { (CODE), (DST), (SRC), (OFF), (IMM) }

static const struct bpfvm_disasm_opts K_PLAIN = { sizeof(struct bpfvm_disasm_opts),
	BPFVM_SYNTAX_KERNEL, false, true };
static const struct bpfvm_disasm_opts C_PLAIN = { sizeof(struct bpfvm_disasm_opts),
	BPFVM_SYNTAX_CONFORMANCE, false, true };

static bool same(const struct bpf_insn *a, const struct bpf_insn *b)
{
	return a->code == b->code && a->dst_reg == b->dst_reg && a->src_reg == b->src_reg &&
	       a->off == b->off && a->imm == b->imm;
}

static uint64_t dummy_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	(void)a, (void)b, (void)c, (void)d, (void)e;
	return 0;
}

/* ---- exact lines ---------------------------------------------------------------------- */

struct line {
	struct bpf_insn insn[2];
	int n;			/* slots given (2: lddw) */
	int ret;		/* expected return */
	const char *kernel, *conf;
};

static const struct line lines[] = {
	{ { I(0x61, 0, 1, 4, 0) }, 1, 1, "r0 = *(u32 *)(r1 +4)", "ldxw %r0, [%r1+4]" },
	{ { I(0x69, 2, 3, 0, 0) }, 1, 1, "r2 = *(u16 *)(r3 +0)", "ldxh %r2, [%r3+0]" },
	{ { I(0x79, 0, 10, -8, 0) }, 1, 1, "r0 = *(u64 *)(r10 -8)", "ldxdw %r0, [%r10-8]" },
	{ { I(0x91, 0, 10, -1, 0) }, 1, 1, "r0 = *(s8 *)(r10 -1)", "ldxsb %r0, [%r10-1]" },
	{ { I(0x81, 0, 10, -4, 0) }, 1, 1, "r0 = *(s32 *)(r10 -4)", "ldxsw %r0, [%r10-4]" },
	{ { I(0x15, 1, 0, 3, 5) }, 1, 1, "if r1 == 0x5 goto pc+3", "jeq %r1, 0x5, +3" },
	{ { I(0x16, 1, 0, -1, -1) }, 1, 1, "if w1 == 0xffffffff goto pc-1", "jeq32 %r1, 0xffffffff, -1" },
	{ { I(0x2d, 1, 2, 5, 0) }, 1, 1, "if r1 > r2 goto pc+5", "jgt %r1, %r2, +5" },
	{ { I(0xce, 3, 4, 0, 0) }, 1, 1, "if w3 s< w4 goto pc+0", "jslt32 %r3, %r4, +0" },
	{ { I(0x45, 1, 0, -2, 4) }, 1, 1, "if r1 & 0x4 goto pc-2", "jset %r1, 0x4, -2" },
	{ { I(0x07, 0, 0, 0, 5) }, 1, 1, "r0 += 5", "add %r0, 5" },
	{ { I(0x04, 0, 0, 0, -5) }, 1, 1, "w0 += -5", "add32 %r0, -5" },
	{ { I(0x1f, 1, 2, 0, 0) }, 1, 1, "r1 -= r2", "sub %r1, %r2" },
	{ { I(0x6c, 1, 2, 0, 0) }, 1, 1, "w1 <<= w2", "lsh32 %r1, %r2" },
	{ { I(0xbc, 0, 1, 0, 0) }, 1, 1, "w0 = w1", "mov32 %r0, %r1" },
	{ { I(0xb7, 0, 0, 0, -1) }, 1, 1, "r0 = -1", "mov %r0, -1" },
	{ { I(0x87, 0, 0, 0, 0) }, 1, 1, "r0 = -r0", "neg %r0" },
	{ { I(0x84, 3, 0, 0, 0) }, 1, 1, "w3 = -w3", "neg32 %r3" },
	{ { I(0x3f, 0, 1, 1, 0) }, 1, 1, "r0 s/= r1", "sdiv %r0, %r1" },
	{ { I(0x94, 0, 0, 1, 3) }, 1, 1, "w0 s%= 3", "smod32 %r0, 3" },
	{ { I(0xc7, 1, 0, 0, 2) }, 1, 1, "r1 s>>= 2", "arsh %r1, 2" },
	{ { I(0xbf, 0, 1, 8, 0) }, 1, 1, "r0 = (s8)r1", "movsx864 %r0, %r1" },
	{ { I(0xbf, 0, 1, 32, 0) }, 1, 1, "r0 = (s32)r1", "movsx3264 %r0, %r1" },
	{ { I(0xbc, 0, 1, 16, 0) }, 1, 1, "w0 = (s16)w1", "movsx1632 %r0, %r1" },
	{ { I(0xd4, 0, 0, 0, 16) }, 1, 1, "r0 = le16 r0", "le16 %r0" },
	{ { I(0xdc, 0, 0, 0, 32) }, 1, 1, "r0 = be32 r0", "be32 %r0" },
	{ { I(0xd7, 0, 0, 0, 64) }, 1, 1, "r0 = bswap64 r0", "bswap64 %r0" },
	{ { I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, 2, 2,
	  "r1 = 0x1122334455667788 ll", "lddw %r1, 0x1122334455667788" },
	{ { I(0x18, 1, 0, 0, 5), I(0, 0, 0, 0, 0) }, 2, 2, "r1 = 0x5 ll", "lddw %r1, 0x5" },
	{ { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0) }, 2, 2, "r1 = map[fd:3] ll", "lddw %r1, map[fd:3]" },
	{ { I(0x18, 1, 2, 0, 3), I(0, 0, 0, 0, 16) }, 2, 2, "r1 = map[fd:3][0]+16 ll",
	  "lddw %r1, map[fd:3][0]+16" },
	{ { I(0x18, 1, 3, 0, 9), I(0, 0, 0, 0, 0) }, 2, 2, "r1 = btf_var[id:9] ll",
	  "lddw %r1, btf_var[id:9]" },
	{ { I(0x18, 1, 3, 0, 9), I(0, 0, 0, 0, 4) }, 2, 2, "r1 = btf_var[id:9,fd:4] ll",
	  "lddw %r1, btf_var[id:9,fd:4]" },
	{ { I(0x18, 1, 4, 0, 5), I(0, 0, 0, 0, 0) }, 2, 2, "r1 = func[pc+5] ll", "lddw %r1, func[pc+5]" },
	{ { I(0x18, 1, 5, 0, 3), I(0, 0, 0, 0, 0) }, 2, 2, "r1 = map[idx:3] ll", "lddw %r1, map[idx:3]" },
	{ { I(0x18, 1, 6, 0, 3), I(0, 0, 0, 0, 16) }, 2, 2, "r1 = map[idx:3][0]+16 ll",
	  "lddw %r1, map[idx:3][0]+16" },
	{ { I(0x20, 0, 0, 0, 4) }, 1, 1, "r0 = *(u32 *)skb[4]", "ldabsw 4" },
	{ { I(0x48, 0, 1, 0, -4) }, 1, 1, "r0 = *(u16 *)skb[r1 + -4]", "ldindh %r1, -4" },
	{ { I(0x7a, 10, 0, -8, 7) }, 1, 1, "*(u64 *)(r10 -8) = 7", "stdw [%r10-8], 7" },
	{ { I(0x72, 1, 0, 0, -1) }, 1, 1, "*(u8 *)(r1 +0) = -1", "stb [%r1+0], -1" },
	{ { I(0x63, 10, 1, -8, 0) }, 1, 1, "*(u32 *)(r10 -8) = r1", "stxw [%r10-8], %r1" },
	{ { I(0xc3, 1, 2, 0, 0x00) }, 1, 1, "lock *(u32 *)(r1 +0) += r2", "lock add32 [%r1+0], %r2" },
	{ { I(0xdb, 1, 2, 0, 0x40) }, 1, 1, "lock *(u64 *)(r1 +0) |= r2", "lock or [%r1+0], %r2" },
	{ { I(0xdb, 1, 2, 8, 0x50) }, 1, 1, "lock *(u64 *)(r1 +8) &= r2", "lock and [%r1+8], %r2" },
	{ { I(0xc3, 1, 2, 0, 0xa0) }, 1, 1, "lock *(u32 *)(r1 +0) ^= r2", "lock xor32 [%r1+0], %r2" },
	{ { I(0xdb, 1, 2, 0, 0x01) }, 1, 1, "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)",
	  "lock fetch add [%r1+0], %r2" },
	{ { I(0xc3, 1, 2, -4, 0xa1) }, 1, 1, "r2 = atomic_fetch_xor((u32 *)(r1 -4), r2)",
	  "lock fetch xor32 [%r1-4], %r2" },
	{ { I(0xdb, 1, 2, 0, 0xe1) }, 1, 1, "r2 = atomic64_xchg((u64 *)(r1 +0), r2)",
	  "lock xchg [%r1+0], %r2" },
	{ { I(0xc3, 1, 2, 0, 0xf1) }, 1, 1, "r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)",
	  "lock cmpxchg32 [%r1+0], %r2" },
	{ { I(0x05, 0, 0, -1, 0) }, 1, 1, "goto pc-1", "ja -1" },
	{ { I(0x05, 0, 0, 0, 0) }, 1, 1, "goto pc+0", "ja +0" },
	{ { I(0x06, 0, 0, 0, 7) }, 1, 1, "gotol pc+7", "ja32 +7" },
	{ { I(0x85, 0, 0, 0, 999) }, 1, 1, "call unknown#999", "call 999" },
	{ { I(0x85, 0, 1, 0, 5) }, 1, 1, "call pc+5", "call local +5" },
	{ { I(0x85, 0, 1, 0, -3) }, 1, 1, "call pc-3", "call local -3" },
	{ { I(0x85, 0, 2, 0, 1234) }, 1, 1, "call kfunc[id:1234]", "call kfunc 1234" },
	{ { I(0x85, 0, 2, 2, 1234) }, 1, 1, "call kfunc[id:1234,fd_idx:2]", "call kfunc 1234, 2" },
	{ { I(0x8d, 2, 0, 0, 0) }, 1, 1, "callx r2", "call %r2" },
	{ { I(0x95, 0, 0, 0, 0) }, 1, 1, "exit", "exit" },
	/* not instructions: the raw form, -EINVAL */
	{ { I(0x07, 0, 1, 0, 1) }, 1, -EINVAL, ".insn 0x07, 0, 1, 0, 1", ".insn 0x07, 0, 1, 0, 1" },
	{ { I(0x8e, 15, 3, -1, -2) }, 1, -EINVAL, ".insn 0x8e, 15, 3, -1, -2", ".insn 0x8e, 15, 3, -1, -2" },
	{ { I(0x95, 1, 0, 0, 0) }, 1, -EINVAL, ".insn 0x95, 1, 0, 0, 0", ".insn 0x95, 1, 0, 0, 0" },
	{ { I(0x18, 1, 0, 0, 5) }, 1, -EINVAL, ".insn 0x18, 1, 0, 0, 5", ".insn 0x18, 1, 0, 0, 5" },
	{ { I(0x18, 1, 0, 0, 5), I(0x07, 0, 0, 0, 0) }, 2, -EINVAL, ".insn 0x18, 1, 0, 0, 5",
	  ".insn 0x18, 1, 0, 0, 5" },
	{ { I(0x18, 1, 1, 0, 5), I(0, 0, 0, 0, 1) }, 2, -EINVAL, ".insn 0x18, 1, 1, 0, 5",
	  ".insn 0x18, 1, 1, 0, 5" },
	{ { I(0x18, 1, 7, 0, 5), I(0, 0, 0, 0, 0) }, 2, -EINVAL, ".insn 0x18, 1, 7, 0, 5",
	  ".insn 0x18, 1, 7, 0, 5" },
	{ { I(0x00, 0, 0, 0, 0) }, 1, -EINVAL, ".insn 0x00, 0, 0, 0, 0", ".insn 0x00, 0, 0, 0, 0" },
	{ { I(0xbf, 11, 1, 0, 0) }, 1, -EINVAL, ".insn 0xbf, 11, 1, 0, 0", ".insn 0xbf, 11, 1, 0, 0" },
	{ { I(0x61, 0, 15, 0, 0) }, 1, -EINVAL, ".insn 0x61, 0, 15, 0, 0", ".insn 0x61, 0, 15, 0, 0" },
};

/* The text of insns assembles back to exactly insns[0..n). */
static void check_reassembles(const char *text, const struct bpf_insn *want, size_t n,
			      const char *what)
{
	struct bpf_insn *got = NULL;
	size_t cnt = 0;
	test_log_clear();
	int rc = bpfvm_asm(text, NULL, &got, &cnt);
	CHECK(rc == 0, "%s: '%.300s' does not assemble: %s", what, text, test_log_last());
	if (rc == 0) {
		size_t i = 0;
		while (i < n && i < cnt && same(&got[i], &want[i]))
			i++;
		CHECK(cnt == n && i == n, "%s: '%.300s' assembles to other bytes (slot %zu, %zu slots)",
		      what, text, i, cnt);
	}
	free(got);
}

static void test_lines(void)
{
	char buf[256];
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const struct line *l = &lines[i];
		int r = bpfvm_disasm_insn(l->insn, (size_t)l->n, 0, buf, sizeof(buf), &K_PLAIN);
		CHECK(r == l->ret, "kernel '%s': returned %d, expected %d", l->kernel, r, l->ret);
		CHECK_STR(buf, l->kernel, "kernel syntax");
		check_reassembles(buf, l->insn, r == 2 ? 2 : 1, "kernel line");
		r = bpfvm_disasm_insn(l->insn, (size_t)l->n, 0, buf, sizeof(buf), &C_PLAIN);
		CHECK(r == l->ret, "conformance '%s': returned %d, expected %d", l->conf, r, l->ret);
		CHECK_STR(buf, l->conf, "conformance syntax");
		check_reassembles(buf, l->insn, r == 2 ? 2 : 1, "conformance line");
	}

	/* helper names: the registered name (id 1 is the kernel helper), "unknown" for
	 * names that would not read back */
	struct bpf_insn call1 = I(0x85, 0, 0, 0, 1);
	CHECK_STR(bpfvm_helper__name(1), "bpf_map_lookup_elem", "kernel helper 1");
	CHECK(bpfvm_disasm_insn(&call1, 1, 0, buf, sizeof(buf), &K_PLAIN) == 1, "call 1");
	CHECK_STR(buf, "call bpf_map_lookup_elem#1", "helper name");
	check_reassembles(buf, &call1, 1, "helper name");
	/* and "call NAME" finds the helper by its name */
	check_reassembles("call bpf_map_lookup_elem", &call1, 1, "call by name");
	struct bpfvm_helper odd = { .id = BPFVM_HELPER_USER_BASE + 77, .name = "not an identifier",
				    .fn = dummy_helper };
	int rc = bpfvm_helper__register(&odd);
	CHECK(rc == 0 || rc == -EEXIST, "register odd helper: %d", rc);
	struct bpf_insn call2 = I(0x85, 0, 0, 0, BPFVM_HELPER_USER_BASE + 77);
	CHECK(bpfvm_disasm_insn(&call2, 1, 0, buf, sizeof(buf), &K_PLAIN) == 1, "call odd");
	CHECK_STR(buf, "call unknown#65613", "odd helper name");
	check_reassembles(buf, &call2, 1, "odd helper name");

	/* prefixes: "IDX: " and "(61) " */
	struct bpf_insn prog[14] = { 0 };
	for (int i = 0; i < 14; i++)
		prog[i] = (struct bpf_insn)I(0x95, 0, 0, 0, 0);
	prog[12] = (struct bpf_insn)I(0x61, 0, 1, 4, 0);
	static const struct {
		int syntax;
		bool opcodes, no_index;
		const char *want;
	} pre[] = {
		{ BPFVM_SYNTAX_KERNEL, false, false, "12: r0 = *(u32 *)(r1 +4)" },
		{ BPFVM_SYNTAX_KERNEL, true, false, "12: (61) r0 = *(u32 *)(r1 +4)" },
		{ BPFVM_SYNTAX_KERNEL, true, true, "(61) r0 = *(u32 *)(r1 +4)" },
		{ BPFVM_SYNTAX_KERNEL, false, true, "r0 = *(u32 *)(r1 +4)" },
		{ BPFVM_SYNTAX_CONFORMANCE, false, false, "12: ldxw %r0, [%r1+4]" },
		{ BPFVM_SYNTAX_CONFORMANCE, true, false, "12: (61) ldxw %r0, [%r1+4]" },
		{ BPFVM_SYNTAX_CONFORMANCE, true, true, "(61) ldxw %r0, [%r1+4]" },
		{ BPFVM_SYNTAX_CONFORMANCE, false, true, "ldxw %r0, [%r1+4]" },
	};
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		struct bpfvm_disasm_opts o = { .sz = sizeof(o), .syntax = pre[i].syntax,
			.opcodes = pre[i].opcodes, .no_index = pre[i].no_index };
		CHECK(bpfvm_disasm_insn(prog, 14, 12, buf, sizeof(buf), &o) == 1, "%s", pre[i].want);
		CHECK_STR(buf, pre[i].want, "prefixes");
		check_reassembles(buf, &prog[12], 1, "prefixed line");
	}
	/* NULL opts: kernel syntax with the index; an opts struct too small for its
	 * fields means defaults */
	CHECK(bpfvm_disasm_insn(prog, 14, 12, buf, sizeof(buf), NULL) == 1, "NULL opts");
	CHECK_STR(buf, "12: r0 = *(u32 *)(r1 +4)", "NULL opts");
	struct bpfvm_disasm_opts small = { .sz = sizeof(size_t), .syntax = BPFVM_SYNTAX_CONFORMANCE,
		.opcodes = true };
	CHECK(bpfvm_disasm_insn(prog, 14, 12, buf, sizeof(buf), &small) == 1, "small opts");
	CHECK_STR(buf, "12: r0 = *(u32 *)(r1 +4)", "small opts");

	/* lddw's index: the next line is two slots on */
	struct bpf_insn ld[] = { I(0x18, 0, 0, 0, 1), I(0, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) };
	struct bpfvm_disasm_opts op = { .sz = sizeof(op), .opcodes = true };
	CHECK(bpfvm_disasm_insn(ld, 3, 0, buf, sizeof(buf), &op) == 2, "lddw slots");
	CHECK_STR(buf, "0: (18) r0 = 0x1 ll", "lddw with opcode");
	CHECK(bpfvm_disasm_insn(ld, 3, 2, buf, sizeof(buf), &op) == 1, "after lddw");
	CHECK_STR(buf, "2: (95) exit", "after lddw");
	/* a stray second slot on its own is raw */
	CHECK(bpfvm_disasm_insn(ld, 3, 1, buf, sizeof(buf), &op) == -EINVAL, "stray second slot");
	CHECK_STR(buf, "1: (00) .insn 0x00, 0, 0, 0, 0", "stray second slot");

	/* failures: logged, buffer always terminated */
	test_log_clear();
	CHECK(bpfvm_disasm_insn(ld, 3, 3, buf, sizeof(buf), NULL) == -EINVAL, "idx out of range");
	CHECK_STR(buf, "", "idx out of range");
	CHECK_CONTAINS(test_log_last(), "out of range", "idx out of range");
	CHECK(bpfvm_disasm_insn(ld, 3, 0, buf, 0, NULL) == -EINVAL, "len 0");
	CHECK(bpfvm_disasm_insn(ld, 3, 0, NULL, 10, NULL) == -EINVAL, "NULL buf");
	char tiny[8];
	test_log_clear();
	CHECK(bpfvm_disasm_insn(ld, 3, 0, tiny, sizeof(tiny), NULL) == -ENOSPC, "small buffer");
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "small buffer terminated: '%s'", tiny);
	CHECK_CONTAINS(test_log_last(), "buffer", "small buffer");
	struct bpf_insn bad = I(0x8e, 0, 0, 0, 0);
	test_log_clear();
	CHECK(bpfvm_disasm_insn(&bad, 1, 0, buf, sizeof(buf), NULL) == -EINVAL, "bad");
	CHECK_CONTAINS(test_log_last(), "unknown opcode 0x8e", "bad opcode logged");
	struct bpf_insn resv = I(0x07, 0, 3, 0, 1);
	CHECK(bpfvm_disasm_insn(&resv, 1, 0, buf, sizeof(buf), NULL) == -EINVAL, "reserved");
	CHECK_CONTAINS(test_log_last(), "reserved field 'src'", "reserved field logged");
}

/* ---- the listing ------------------------------------------------------------------------- */

static void test_listing(void)
{
	struct bpf_insn p[] = {
		I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344),
		I(0x8e, 0, 0, 0, 0),
		I(0xb7, 0, 0, 0, 0),
		I(0x95, 0, 0, 0, 0),
	};
	struct bpfvm_disasm_opts o = { .sz = sizeof(o), .opcodes = true };
	char *s = bpfvm_disasm(p, 5, &o);
	CHECK_STR(s, "0: (18) r1 = 0x1122334455667788 ll\n2: (8e) .insn 0x8e, 0, 0, 0, 0\n"
		     "3: (b7) r0 = 0\n4: (95) exit", "kernel listing");
	if (s)
		check_reassembles(s, p, 5, "kernel listing");
	free(s);
	o.syntax = BPFVM_SYNTAX_CONFORMANCE;
	o.opcodes = false;
	s = bpfvm_disasm(p, 5, &o);
	CHECK_STR(s, "0: lddw %r1, 0x1122334455667788\n2: .insn 0x8e, 0, 0, 0, 0\n"
		     "3: mov %r0, 0\n4: exit", "conformance listing");
	if (s)
		check_reassembles(s, p, 5, "conformance listing");
	free(s);
	/* lddw cut short at the end */
	s = bpfvm_disasm(p, 1, NULL);
	CHECK_STR(s, "0: .insn 0x18, 1, 0, 0, 1432778632", "truncated lddw");
	free(s);
	s = bpfvm_disasm(p, 0, NULL);
	CHECK_STR(s, "", "empty listing");
	free(s);
	errno = 0;
	s = bpfvm_disasm(NULL, 3, NULL);
	CHECK(s == NULL && errno == EINVAL, "NULL insns");
	free(s);
}

/* ---- every isa.def row ----------------------------------------------------------------------- */

/* One valid instruction of row (two slots for lddw, the second's imm = hi). */
static bool build(int row, int32_t hi, struct bpf_insn *in)
{
	const struct isa_row *r = &isa_rows[row];
	memset(in, 0, 2 * sizeof(*in));
	in[0].code = r->opcode;
	switch (r->fmt) {
	case ISA_FMT_ALU_K: in->dst_reg = 3; in->imm = -7; break;
	case ISA_FMT_ALU_X: in->dst_reg = 3; in->src_reg = 4; break;
	case ISA_FMT_MOVSX: in->dst_reg = 3; in->src_reg = 4; break;
	case ISA_FMT_NEG: in->dst_reg = 3; break;
	case ISA_FMT_END: in->dst_reg = 3; break;
	case ISA_FMT_LDDW: in->dst_reg = 3; in->imm = 0x1234; in[1].imm = hi; break;
	case ISA_FMT_LDABS: in->imm = 12; break;
	case ISA_FMT_LDIND: in->src_reg = 4; in->imm = 12; break;
	case ISA_FMT_LDX: in->dst_reg = 3; in->src_reg = 4; in->off = -6; break;
	case ISA_FMT_ST: in->dst_reg = 3; in->off = -6; in->imm = 77; break;
	case ISA_FMT_STX: in->dst_reg = 3; in->src_reg = 4; in->off = -6; break;
	case ISA_FMT_ATOMIC: in->dst_reg = 3; in->src_reg = 4; in->off = -6; break;
	case ISA_FMT_JA: in->off = -3; break;
	case ISA_FMT_JA32: in->imm = 70000; break;
	case ISA_FMT_JCOND_K: in->dst_reg = 3; in->imm = -2; in->off = 9; break;
	case ISA_FMT_JCOND_X: in->dst_reg = 3; in->src_reg = 4; in->off = 9; break;
	case ISA_FMT_CALL: in->imm = 999; break;
	case ISA_FMT_CALL_LOCAL: in->imm = -4; break;
	case ISA_FMT_CALL_KFUNC: in->imm = 4321; in->off = 2; break;
	case ISA_FMT_CALLX: in->dst_reg = 3; break;
	case ISA_FMT_EXIT: break;
	default: return false;
	}
	switch (r->sel) {
	case ISA_SEL_OFF: in->off = (int16_t)r->selval; break;
	case ISA_SEL_IMM: in->imm = r->selval; break;
	case ISA_SEL_SRC: in->src_reg = (uint8_t)r->selval; break;
	default: break;
	}
	return true;
}

static void test_rows(void)
{
	char buf[256], why[128];
	for (int row = 0; row < ISA__COUNT; row++) {
		const struct isa_row *r = &isa_rows[row];
		struct bpf_insn in[2];
		if (!build(row, 0, in)) {
			CHECK(0, "row %s: format %d is not covered by this test", r->name, r->fmt);
			continue;
		}
		int slots = r->fmt == ISA_FMT_LDDW ? 2 : 1;
		CHECK(isa_decode(in) == row, "row %s: built instruction decodes as %d", r->name,
		      isa_decode(in));
		CHECK(isa_check_fields(in, row, why, sizeof(why)) == NULL, "row %s: %s", r->name, why);
		for (int syn = 0; syn < 2; syn++) {
			const struct bpfvm_disasm_opts *o = syn ? &C_PLAIN : &K_PLAIN;
			int n = bpfvm_disasm_insn(in, (size_t)slots, 0, buf, sizeof(buf), o);
			CHECK(n == slots, "row %s: %s syntax gives %d ('%s')", r->name,
			      syn ? "conformance" : "kernel", n, buf);
			check_reassembles(buf, in, (size_t)slots, r->name);
			/* the conformance line starts with the row's CONF mnemonic */
			if (syn)
				CHECK(!strncmp(buf, r->conf, strlen(r->conf)), "row %s: '%s' does not start "
				      "with '%s'", r->name, buf, r->conf);
		}
		if (r->fmt == ISA_FMT_LDDW) {
			/* a non-zero second imm: its own spelling or the raw form, both read back */
			build(row, 16, in);
			for (int syn = 0; syn < 2; syn++) {
				bpfvm_disasm_insn(in, 2, 0, buf, sizeof(buf), syn ? &C_PLAIN : &K_PLAIN);
				char *s = bpfvm_disasm(in, 2, syn ? &C_PLAIN : &K_PLAIN);
				if (s)
					check_reassembles(s, in, 2, r->name);
				free(s);
			}
		}
	}
}

/* ---- random slots ------------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_random(void)
{
	enum { N = 20000 };
	struct bpf_insn *p = calloc(N, sizeof(*p));
	if (!p)
		return;
	static const int16_t offs[] = { 0, 1, -1, 8, 16, 32, 0x7fff, -0x8000 };
	static const int32_t imms[] = { 0, 1, -1, 16, 32, 64, 0x41, 0xe1, 0xf1, INT32_MIN, INT32_MAX };
	for (size_t i = 0; i < N; i++) {
		uint32_t a = next_rand(), b = next_rand(), c = next_rand();
		/* mostly real opcodes and interesting field values, some noise */
		p[i].code = (a & 3) ? isa_rows[a % ISA__COUNT].opcode : (uint8_t)(a >> 8);
		p[i].dst_reg = (uint8_t)((b & 7) ? (b >> 4) % 11 : (b >> 4) & 0xf);
		p[i].src_reg = (uint8_t)((b & 0x70) ? (b >> 8) % 7 : (b >> 8) & 0xf);
		p[i].off = (c & 1) ? offs[(c >> 1) % 8] : (int16_t)(c >> 8);
		p[i].imm = (c & 0x10) ? imms[(c >> 5) % 11] : (int32_t)next_rand();
	}
	for (int syn = 0; syn < 2; syn++) {
		struct bpfvm_disasm_opts o = { .sz = sizeof(o), .opcodes = syn == 0,
			.syntax = syn ? BPFVM_SYNTAX_CONFORMANCE : BPFVM_SYNTAX_KERNEL };
		char *s = bpfvm_disasm(p, N, &o);
		CHECK(s != NULL, "random listing");
		if (s)
			check_reassembles(s, p, N, syn ? "random, conformance" : "random, kernel");
		free(s);
	}
	free(p);
}

/* ---- the conformance suite ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Round-trips every program of the .data files in dir (those that parse and assemble). */
static int roundtrip_dir(const char *dir, bool required)
{
	DIR *d = opendir(dir);
	CHECK(d != NULL, "cannot read %s", dir);
	if (!d)
		return 0;
	size_t n = 0, cap = 512;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *e;
	while (names && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 5 && !strcmp(e->d_name + l - 5, ".data") && n < cap)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!names)
		return 0;
	qsort(names, n, sizeof(*names), cmp_str);
	int done = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096], err[512];
		struct datafile df;
		struct bpf_insn *insns = NULL;
		size_t cnt = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int rc = datafile_parse(path, &df, err, sizeof(err));
		if (rc == 0)
			rc = datafile_program(&df, &insns, &cnt, err, sizeof(err));
		if (required)
			CHECK(rc == 0, "%s: %s", names[i], err);
		if (rc == 0) {
			static const struct { int syntax; bool opcodes, no_index; } v[] = {
				{ BPFVM_SYNTAX_KERNEL, true, false },
				{ BPFVM_SYNTAX_KERNEL, false, true },
				{ BPFVM_SYNTAX_CONFORMANCE, false, false },
				{ BPFVM_SYNTAX_CONFORMANCE, true, true },
			};
			for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
				struct bpfvm_disasm_opts o = { .sz = sizeof(o), .syntax = v[k].syntax,
					.opcodes = v[k].opcodes, .no_index = v[k].no_index };
				char *s = bpfvm_disasm(insns, cnt, &o);
				CHECK(s != NULL, "%s: no listing", names[i]);
				if (s)
					check_reassembles(s, insns, cnt, names[i]);
				free(s);
			}
			done++;
		}
		free(insns);
		datafile_free(&df);
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	test_log_capture();
	test_lines();
	test_listing();
	test_rows();
	test_random();
	if (argc > 1) {
		char neg[4096];
		int n = roundtrip_dir(argv[1], true);
		CHECK(n > 300, "only %d conformance programs round-tripped", n);
		snprintf(neg, sizeof(neg), "%s/negative", argv[1]);
		n = roundtrip_dir(neg, false);
		CHECK(n >= 45, "only %d negative programs round-tripped", n);
	} else {
		printf("no conformance directory given: suite round trips skipped\n");
	}
	return test_summary();
}
