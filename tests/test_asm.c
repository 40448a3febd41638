/*
 * test_asm.c — the text assembler (src/asm.c): every mnemonic of both syntaxes
 * against hand-computed encodings, labels and the "exit" target, immediate and
 * offset limits, each error message with its file:line:col, the verifier log's
 * prefixes, the raw .insn directive, and the conformance suite (argv[1]): every
 * program assembles, every malformed negative/invalid_*.data does not.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "datafile.h"
#include "testlog.h"
#include "testutil.h"

/* An expected slot, as a brace initialiser (usable in static tables). */
#define I(CODE, DST, SRC, OFF, IMM) { (CODE), (DST), (SRC), (OFF), (IMM) }

struct want {
	const char *text;
	struct bpf_insn insn[2];	/* second slot: lddw only */
	int n;
};

static bool same(const struct bpf_insn *a, const struct bpf_insn *b)
{
	return a->code == b->code && a->dst_reg == b->dst_reg && a->src_reg == b->src_reg &&
	       a->off == b->off && a->imm == b->imm;
}

static void show(const char *what, const struct bpf_insn *x)
{
	fprintf(stderr, "  %s: code 0x%02x dst %u src %u off %d imm %d\n", what, x->code,
		x->dst_reg, x->src_reg, x->off, x->imm);
}

/* Assembles text and compares with want[0..n). */
static void check_asm(const char *text, const struct bpf_insn *want, size_t n, int line)
{
	struct bpf_insn *got = NULL;
	size_t cnt = 0;
	test_log_clear();
	int rc = bpfvm_asm(text, NULL, &got, &cnt);
	CHECK(rc == 0, "line %d: '%s' failed to assemble: %s", line, text, test_log_last());
	if (rc == 0) {
		CHECK(cnt == n, "line %d: '%s': %zu slots, expected %zu", line, text, cnt, n);
		size_t i = 0;
		while (i < n && i < cnt && same(&got[i], &want[i]))
			i++;
		CHECK(i == n || i == cnt, "line %d: '%s' slot %zu differs", line, text, i);
		if (i < n && i < cnt) {
			show("got ", &got[i]);
			show("want", &want[i]);
		}
	}
	free(got);
}

static void check_table(const struct want *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_asm(t[i].text, t[i].insn, t[i].n ? (size_t)t[i].n : 1, (int)i);
}

/* ---- the conformance syntax, every mnemonic ---------------------------------------- */

static const struct want conf_table[] = {
	{ "add %r1, 5", { I(0x07, 1, 0, 0, 5) }, 1 },
	{ "add %r1, %r2", { I(0x0f, 1, 2, 0, 0) }, 1 },
	{ "add32 %r1, -5", { I(0x04, 1, 0, 0, -5) }, 1 },
	{ "add32 %r1, %r2", { I(0x0c, 1, 2, 0, 0) }, 1 },
	{ "sub %r3, 7", { I(0x17, 3, 0, 0, 7) }, 1 },
	{ "sub %r3, %r4", { I(0x1f, 3, 4, 0, 0) }, 1 },
	{ "sub32 %r3, 7", { I(0x14, 3, 0, 0, 7) }, 1 },
	{ "sub32 %r3, %r4", { I(0x1c, 3, 4, 0, 0) }, 1 },
	{ "mul %r0, 3", { I(0x27, 0, 0, 0, 3) }, 1 },
	{ "mul %r0, %r9", { I(0x2f, 0, 9, 0, 0) }, 1 },
	{ "mul32 %r0, 3", { I(0x24, 0, 0, 0, 3) }, 1 },
	{ "mul32 %r0, %r9", { I(0x2c, 0, 9, 0, 0) }, 1 },
	{ "div %r0, 3", { I(0x37, 0, 0, 0, 3) }, 1 },
	{ "div %r0, %r1", { I(0x3f, 0, 1, 0, 0) }, 1 },
	{ "div32 %r0, 3", { I(0x34, 0, 0, 0, 3) }, 1 },
	{ "div32 %r0, %r1", { I(0x3c, 0, 1, 0, 0) }, 1 },
	{ "sdiv %r0, -3", { I(0x37, 0, 0, 1, -3) }, 1 },
	{ "sdiv %r0, %r1", { I(0x3f, 0, 1, 1, 0) }, 1 },
	{ "sdiv32 %r0, -3", { I(0x34, 0, 0, 1, -3) }, 1 },
	{ "sdiv32 %r0, %r1", { I(0x3c, 0, 1, 1, 0) }, 1 },
	{ "or %r0, 0xff", { I(0x47, 0, 0, 0, 0xff) }, 1 },
	{ "or %r0, %r10", { I(0x4f, 0, 10, 0, 0) }, 1 },
	{ "or32 %r0, 0xff", { I(0x44, 0, 0, 0, 0xff) }, 1 },
	{ "or32 %r0, %r10", { I(0x4c, 0, 10, 0, 0) }, 1 },
	{ "and %r5, 1", { I(0x57, 5, 0, 0, 1) }, 1 },
	{ "and %r5, %r6", { I(0x5f, 5, 6, 0, 0) }, 1 },
	{ "and32 %r5, 1", { I(0x54, 5, 0, 0, 1) }, 1 },
	{ "and32 %r5, %r6", { I(0x5c, 5, 6, 0, 0) }, 1 },
	{ "lsh %r1, 63", { I(0x67, 1, 0, 0, 63) }, 1 },
	{ "lsh %r1, %r2", { I(0x6f, 1, 2, 0, 0) }, 1 },
	{ "lsh32 %r1, 31", { I(0x64, 1, 0, 0, 31) }, 1 },
	{ "lsh32 %r1, %r2", { I(0x6c, 1, 2, 0, 0) }, 1 },
	{ "rsh %r1, 1", { I(0x77, 1, 0, 0, 1) }, 1 },
	{ "rsh %r1, %r2", { I(0x7f, 1, 2, 0, 0) }, 1 },
	{ "rsh32 %r1, 1", { I(0x74, 1, 0, 0, 1) }, 1 },
	{ "rsh32 %r1, %r2", { I(0x7c, 1, 2, 0, 0) }, 1 },
	{ "neg %r4", { I(0x87, 4, 0, 0, 0) }, 1 },
	{ "neg32 %r4", { I(0x84, 4, 0, 0, 0) }, 1 },
	{ "mod %r1, 10", { I(0x97, 1, 0, 0, 10) }, 1 },
	{ "mod %r1, %r2", { I(0x9f, 1, 2, 0, 0) }, 1 },
	{ "mod32 %r1, 10", { I(0x94, 1, 0, 0, 10) }, 1 },
	{ "mod32 %r1, %r2", { I(0x9c, 1, 2, 0, 0) }, 1 },
	{ "smod %r1, -10", { I(0x97, 1, 0, 1, -10) }, 1 },
	{ "smod %r1, %r2", { I(0x9f, 1, 2, 1, 0) }, 1 },
	{ "smod32 %r1, -10", { I(0x94, 1, 0, 1, -10) }, 1 },
	{ "smod32 %r1, %r2", { I(0x9c, 1, 2, 1, 0) }, 1 },
	{ "xor %r1, 3", { I(0xa7, 1, 0, 0, 3) }, 1 },
	{ "xor %r1, %r2", { I(0xaf, 1, 2, 0, 0) }, 1 },
	{ "xor32 %r1, 3", { I(0xa4, 1, 0, 0, 3) }, 1 },
	{ "xor32 %r1, %r2", { I(0xac, 1, 2, 0, 0) }, 1 },
	{ "mov %r0, -1", { I(0xb7, 0, 0, 0, -1) }, 1 },
	{ "mov %r0, %r1", { I(0xbf, 0, 1, 0, 0) }, 1 },
	{ "mov32 %r0, 0x80000000", { I(0xb4, 0, 0, 0, INT32_MIN) }, 1 },
	{ "mov32 %r0, %r1", { I(0xbc, 0, 1, 0, 0) }, 1 },
	{ "arsh %r2, 4", { I(0xc7, 2, 0, 0, 4) }, 1 },
	{ "arsh %r2, %r3", { I(0xcf, 2, 3, 0, 0) }, 1 },
	{ "arsh32 %r2, 4", { I(0xc4, 2, 0, 0, 4) }, 1 },
	{ "arsh32 %r2, %r3", { I(0xcc, 2, 3, 0, 0) }, 1 },
	{ "movsx832 %r2, %r1", { I(0xbc, 2, 1, 8, 0) }, 1 },
	{ "movsx1632 %r2, %r1", { I(0xbc, 2, 1, 16, 0) }, 1 },
	{ "movsx864 %r2, %r1", { I(0xbf, 2, 1, 8, 0) }, 1 },
	{ "movsx1664 %r2, %r1", { I(0xbf, 2, 1, 16, 0) }, 1 },
	{ "movsx3264 %r2, %r1", { I(0xbf, 2, 1, 32, 0) }, 1 },
	{ "le16 %r1", { I(0xd4, 1, 0, 0, 16) }, 1 },
	{ "le32 %r1", { I(0xd4, 1, 0, 0, 32) }, 1 },
	{ "le64 %r1", { I(0xd4, 1, 0, 0, 64) }, 1 },
	{ "be16 %r1", { I(0xdc, 1, 0, 0, 16) }, 1 },
	{ "be32 %r1", { I(0xdc, 1, 0, 0, 32) }, 1 },
	{ "be64 %r1", { I(0xdc, 1, 0, 0, 64) }, 1 },
	{ "bswap16 %r1", { I(0xd7, 1, 0, 0, 16) }, 1 },
	{ "bswap32 %r1", { I(0xd7, 1, 0, 0, 32) }, 1 },
	{ "bswap64 %r1", { I(0xd7, 1, 0, 0, 64) }, 1 },
	{ "swap16 %r1", { I(0xd7, 1, 0, 0, 16) }, 1 },
	{ "swap32 %r1", { I(0xd7, 1, 0, 0, 32) }, 1 },
	{ "swap64 %r1", { I(0xd7, 1, 0, 0, 64) }, 1 },
	{ "ldxb %r0, [%r1+2]", { I(0x71, 0, 1, 2, 0) }, 1 },
	{ "ldxh %r0, [%r1]", { I(0x69, 0, 1, 0, 0) }, 1 },
	{ "ldxw %r0, [%r10-4]", { I(0x61, 0, 10, -4, 0) }, 1 },
	{ "ldxdw %r0, [%r1+0x10]", { I(0x79, 0, 1, 16, 0) }, 1 },
	{ "ldxsb %r0, [%r10-1]", { I(0x91, 0, 10, -1, 0) }, 1 },
	{ "ldxsh %r0, [%r10-2]", { I(0x89, 0, 10, -2, 0) }, 1 },
	{ "ldxsw %r0, [%r10-4]", { I(0x81, 0, 10, -4, 0) }, 1 },
	{ "stb [%r10-1], 7", { I(0x72, 10, 0, -1, 7) }, 1 },
	{ "sth [%r10-2], 7", { I(0x6a, 10, 0, -2, 7) }, 1 },
	{ "stw [%r10-4], -7", { I(0x62, 10, 0, -4, -7) }, 1 },
	{ "stdw [%r10-8], 0xab", { I(0x7a, 10, 0, -8, 0xab) }, 1 },
	{ "stxb [%r1+3], %r2", { I(0x73, 1, 2, 3, 0) }, 1 },
	{ "stxh [%r1+3], %r2", { I(0x6b, 1, 2, 3, 0) }, 1 },
	{ "stxw [%r1+3], %r2", { I(0x63, 1, 2, 3, 0) }, 1 },
	{ "stxdw [%r10-8], %r0", { I(0x7b, 10, 0, -8, 0) }, 1 },
	{ "lddw %r0, 0x1122334455667788", { I(0x18, 0, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, 2 },
	{ "lddw %r9, 2147483648", { I(0x18, 9, 0, 0, INT32_MIN), I(0, 0, 0, 0, 0) }, 2 },
	{ "lddw %r1, -1", { I(0x18, 1, 0, 0, -1), I(0, 0, 0, 0, -1) }, 2 },
	{ "lddw %r1, 0xFFFFFFFF80000000", { I(0x18, 1, 0, 0, INT32_MIN), I(0, 0, 0, 0, -1) }, 2 },
	{ "lddw %r1, map[fd:3]", { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0) }, 2 },
	{ "lddw %r1, map[fd:3][0]+16", { I(0x18, 1, 2, 0, 3), I(0, 0, 0, 0, 16) }, 2 },
	{ "lddw %r1, btf_var[id:77]", { I(0x18, 1, 3, 0, 77), I(0, 0, 0, 0, 0) }, 2 },
	{ "lddw %r1, btf_var[id:77,fd:5]", { I(0x18, 1, 3, 0, 77), I(0, 0, 0, 0, 5) }, 2 },
	{ "lddw %r1, func[pc+4]", { I(0x18, 1, 4, 0, 4), I(0, 0, 0, 0, 0) }, 2 },
	{ "lddw %r1, map[idx:2]", { I(0x18, 1, 5, 0, 2), I(0, 0, 0, 0, 0) }, 2 },
	{ "lddw %r1, map[idx:2][0]+8", { I(0x18, 1, 6, 0, 2), I(0, 0, 0, 0, 8) }, 2 },
	{ "ldabsw 4", { I(0x20, 0, 0, 0, 4) }, 1 },
	{ "ldabsh 4", { I(0x28, 0, 0, 0, 4) }, 1 },
	{ "ldabsb 4", { I(0x30, 0, 0, 0, 4) }, 1 },
	{ "ldindw %r1, 4", { I(0x40, 0, 1, 0, 4) }, 1 },
	{ "ldindh %r1, -4", { I(0x48, 0, 1, 0, -4) }, 1 },
	{ "ldindb %r1, 4", { I(0x50, 0, 1, 0, 4) }, 1 },
	{ "ja +5", { I(0x05, 0, 0, 5, 0) }, 1 },
	{ "ja -1", { I(0x05, 0, 0, -1, 0) }, 1 },
	{ "ja32 +70000", { I(0x06, 0, 0, 0, 70000) }, 1 },
	{ "jeq %r1, 0x5, +3", { I(0x15, 1, 0, 3, 5) }, 1 },
	{ "jeq %r1, %r2, +3", { I(0x1d, 1, 2, 3, 0) }, 1 },
	{ "jgt %r1, 5, -3", { I(0x25, 1, 0, -3, 5) }, 1 },
	{ "jgt %r1, %r2, -3", { I(0x2d, 1, 2, -3, 0) }, 1 },
	{ "jge %r1, 5, +0", { I(0x35, 1, 0, 0, 5) }, 1 },
	{ "jge %r1, %r2, +1", { I(0x3d, 1, 2, 1, 0) }, 1 },
	{ "jset %r1, 0x80000000, +1", { I(0x45, 1, 0, 1, INT32_MIN) }, 1 },
	{ "jset %r1, %r2, +1", { I(0x4d, 1, 2, 1, 0) }, 1 },
	{ "jne %r1, -1, +1", { I(0x55, 1, 0, 1, -1) }, 1 },
	{ "jne %r1, %r2, +1", { I(0x5d, 1, 2, 1, 0) }, 1 },
	{ "jsgt %r1, 5, +1", { I(0x65, 1, 0, 1, 5) }, 1 },
	{ "jsgt %r1, %r2, +1", { I(0x6d, 1, 2, 1, 0) }, 1 },
	{ "jsge %r1, 5, +1", { I(0x75, 1, 0, 1, 5) }, 1 },
	{ "jsge %r1, %r2, +1", { I(0x7d, 1, 2, 1, 0) }, 1 },
	{ "jlt %r1, 5, +1", { I(0xa5, 1, 0, 1, 5) }, 1 },
	{ "jlt %r1, %r2, +1", { I(0xad, 1, 2, 1, 0) }, 1 },
	{ "jle %r1, 5, +1", { I(0xb5, 1, 0, 1, 5) }, 1 },
	{ "jle %r1, %r2, +1", { I(0xbd, 1, 2, 1, 0) }, 1 },
	{ "jslt %r1, 5, +1", { I(0xc5, 1, 0, 1, 5) }, 1 },
	{ "jslt %r1, %r2, +1", { I(0xcd, 1, 2, 1, 0) }, 1 },
	{ "jsle %r1, 5, +1", { I(0xd5, 1, 0, 1, 5) }, 1 },
	{ "jsle %r1, %r2, +1", { I(0xdd, 1, 2, 1, 0) }, 1 },
	{ "jeq32 %r1, 5, +2", { I(0x16, 1, 0, 2, 5) }, 1 },
	{ "jeq32 %r1, %r2, +2", { I(0x1e, 1, 2, 2, 0) }, 1 },
	{ "jgt32 %r1, 5, +2", { I(0x26, 1, 0, 2, 5) }, 1 },
	{ "jgt32 %r1, %r2, +2", { I(0x2e, 1, 2, 2, 0) }, 1 },
	{ "jge32 %r1, 5, +2", { I(0x36, 1, 0, 2, 5) }, 1 },
	{ "jge32 %r1, %r2, +2", { I(0x3e, 1, 2, 2, 0) }, 1 },
	{ "jset32 %r1, 5, +2", { I(0x46, 1, 0, 2, 5) }, 1 },
	{ "jset32 %r1, %r2, +2", { I(0x4e, 1, 2, 2, 0) }, 1 },
	{ "jne32 %r1, 5, +2", { I(0x56, 1, 0, 2, 5) }, 1 },
	{ "jne32 %r1, %r2, +2", { I(0x5e, 1, 2, 2, 0) }, 1 },
	{ "jsgt32 %r1, 5, +2", { I(0x66, 1, 0, 2, 5) }, 1 },
	{ "jsgt32 %r1, %r2, +2", { I(0x6e, 1, 2, 2, 0) }, 1 },
	{ "jsge32 %r1, 5, +2", { I(0x76, 1, 0, 2, 5) }, 1 },
	{ "jsge32 %r1, %r2, +2", { I(0x7e, 1, 2, 2, 0) }, 1 },
	{ "jlt32 %r1, 5, +2", { I(0xa6, 1, 0, 2, 5) }, 1 },
	{ "jlt32 %r1, %r2, +2", { I(0xae, 1, 2, 2, 0) }, 1 },
	{ "jle32 %r1, 5, +2", { I(0xb6, 1, 0, 2, 5) }, 1 },
	{ "jle32 %r1, %r2, +2", { I(0xbe, 1, 2, 2, 0) }, 1 },
	{ "jslt32 %r1, 5, +2", { I(0xc6, 1, 0, 2, 5) }, 1 },
	{ "jslt32 %r1, %r2, +2", { I(0xce, 1, 2, 2, 0) }, 1 },
	{ "jsle32 %r1, 5, +2", { I(0xd6, 1, 0, 2, 5) }, 1 },
	{ "jsle32 %r1, %r2, +2", { I(0xde, 1, 2, 2, 0) }, 1 },
	{ "call 5", { I(0x85, 0, 0, 0, 5) }, 1 },
	{ "call -1", { I(0x85, 0, 0, 0, -1) }, 1 },
	{ "call local +3", { I(0x85, 0, 1, 0, 3) }, 1 },
	{ "call %r2", { I(0x8d, 2, 0, 0, 0) }, 1 },
	{ "call kfunc 1234", { I(0x85, 0, 2, 0, 1234) }, 1 },
	{ "call kfunc 1234, 2", { I(0x85, 0, 2, 2, 1234) }, 1 },
	{ "exit", { I(0x95, 0, 0, 0, 0) }, 1 },
	{ "lock add [%r10-8], %r1", { I(0xdb, 10, 1, -8, 0x00) }, 1 },
	{ "lock add32 [%r10-4], %r1", { I(0xc3, 10, 1, -4, 0x00) }, 1 },
	{ "lock fetch add [%r1+0], %r2", { I(0xdb, 1, 2, 0, 0x01) }, 1 },
	{ "lock fetch add32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0x01) }, 1 },
	{ "lock or [%r1], %r2", { I(0xdb, 1, 2, 0, 0x40) }, 1 },
	{ "lock or32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0x40) }, 1 },
	{ "lock fetch or [%r1], %r2", { I(0xdb, 1, 2, 0, 0x41) }, 1 },
	{ "lock fetch or32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0x41) }, 1 },
	{ "lock and [%r1], %r2", { I(0xdb, 1, 2, 0, 0x50) }, 1 },
	{ "lock and32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0x50) }, 1 },
	{ "lock fetch and [%r1], %r2", { I(0xdb, 1, 2, 0, 0x51) }, 1 },
	{ "lock fetch and32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0x51) }, 1 },
	{ "lock xor [%r1], %r2", { I(0xdb, 1, 2, 0, 0xa0) }, 1 },
	{ "lock xor32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0xa0) }, 1 },
	{ "lock fetch xor [%r1], %r2", { I(0xdb, 1, 2, 0, 0xa1) }, 1 },
	{ "lock fetch xor32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0xa1) }, 1 },
	{ "lock xchg [%r1], %r2", { I(0xdb, 1, 2, 0, 0xe1) }, 1 },
	{ "lock xchg32 [%r1], %r2", { I(0xc3, 1, 2, 0, 0xe1) }, 1 },
	{ "lock cmpxchg [%r10-8], %r1", { I(0xdb, 10, 1, -8, 0xf1) }, 1 },
	{ "lock cmpxchg32 [%r10-8], %r1", { I(0xc3, 10, 1, -8, 0xf1) }, 1 },
	/* spacing and case are free where the suite's files use them */
	{ "  mov\t%r0 ,  1   # comment", { I(0xb7, 0, 0, 0, 1) }, 1 },
	{ "ldxw %r0, [ %r1 + 4 ]", { I(0x61, 0, 1, 4, 0) }, 1 },
	{ "mov %r0, 0XfF", { I(0xb7, 0, 0, 0, 255) }, 1 },
	/* the raw directive */
	{ ".insn 0x07, 0, 1, 1, 1", { I(0x07, 0, 1, 1, 1) }, 1 },
	{ ".insn 0x8e, 15, 15, -1, -2", { I(0x8e, 15, 15, -1, -2) }, 1 },
	{ ".insn 0xffff, 1, 2, 0x8000, 0xffffffff", { I(0xff, 0, 0, 0, 0) }, -1 },
	{ ".insn 0x5566778800000018", { I(0x18, 0, 0, 0, 0x55667788) }, 1 },
	{ ".insn 0x1122334400000000", { I(0, 0, 0, 0, 0x11223344) }, 1 },
};

/* ---- the pseudo-C syntax ------------------------------------------------------------ */

static const struct want pc_table[] = {
	{ "r0 = 1", { I(0xb7, 0, 0, 0, 1) }, 1 },
	{ "r0 = -1", { I(0xb7, 0, 0, 0, -1) }, 1 },
	{ "w0 = 0xffffffff", { I(0xb4, 0, 0, 0, -1) }, 1 },
	{ "r1 = r2", { I(0xbf, 1, 2, 0, 0) }, 1 },
	{ "w0 = w1", { I(0xbc, 0, 1, 0, 0) }, 1 },
	{ "w1 += 3", { I(0x04, 1, 0, 0, 3) }, 1 },
	{ "r1 += r2", { I(0x0f, 1, 2, 0, 0) }, 1 },
	{ "r1 -= 3", { I(0x17, 1, 0, 0, 3) }, 1 },
	{ "w1 -= w2", { I(0x1c, 1, 2, 0, 0) }, 1 },
	{ "r1 *= 3", { I(0x27, 1, 0, 0, 3) }, 1 },
	{ "r1 /= r3", { I(0x3f, 1, 3, 0, 0) }, 1 },
	{ "w1 /= 3", { I(0x34, 1, 0, 0, 3) }, 1 },
	{ "r0 s/= r1", { I(0x3f, 0, 1, 1, 0) }, 1 },
	{ "w0 s/= -3", { I(0x34, 0, 0, 1, -3) }, 1 },
	{ "r1 %= 7", { I(0x97, 1, 0, 0, 7) }, 1 },
	{ "r0 s%= 3", { I(0x97, 0, 0, 1, 3) }, 1 },
	{ "w0 s%= w2", { I(0x9c, 0, 2, 1, 0) }, 1 },
	{ "r1 |= 1", { I(0x47, 1, 0, 0, 1) }, 1 },
	{ "r1 &= r2", { I(0x5f, 1, 2, 0, 0) }, 1 },
	{ "r1 ^= -1", { I(0xa7, 1, 0, 0, -1) }, 1 },
	{ "r1 <<= 2", { I(0x67, 1, 0, 0, 2) }, 1 },
	{ "w1 >>= w2", { I(0x7c, 1, 2, 0, 0) }, 1 },
	{ "r1 s>>= 2", { I(0xc7, 1, 0, 0, 2) }, 1 },
	{ "w1 s>>= w3", { I(0xcc, 1, 3, 0, 0) }, 1 },
	{ "r0 -=-1", { I(0x17, 0, 0, 0, -1) }, 1 },
	{ "r0 = -r0", { I(0x87, 0, 0, 0, 0) }, 1 },
	{ "w3 = -w3", { I(0x84, 3, 0, 0, 0) }, 1 },
	{ "r0 = (s8)r1", { I(0xbf, 0, 1, 8, 0) }, 1 },
	{ "r0 = (s16)r1", { I(0xbf, 0, 1, 16, 0) }, 1 },
	{ "r0 = (s32)r1", { I(0xbf, 0, 1, 32, 0) }, 1 },
	{ "w0 = (s8)w1", { I(0xbc, 0, 1, 8, 0) }, 1 },
	{ "w0 = (s16)w1", { I(0xbc, 0, 1, 16, 0) }, 1 },
	{ "r0 = le16 r0", { I(0xd4, 0, 0, 0, 16) }, 1 },
	{ "r0 = le64 r0", { I(0xd4, 0, 0, 0, 64) }, 1 },
	{ "r0 = be32 r0", { I(0xdc, 0, 0, 0, 32) }, 1 },
	{ "w0 = be16 w0", { I(0xdc, 0, 0, 0, 16) }, 1 },
	{ "r0 = bswap64 r0", { I(0xd7, 0, 0, 0, 64) }, 1 },
	{ "r2 = bswap16 r2", { I(0xd7, 2, 0, 0, 16) }, 1 },
	{ "r1 = 0x1234 ll", { I(0x18, 1, 0, 0, 0x1234), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = 0x1122334455667788 ll", { I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, 2 },
	{ "r1 = -2 ll", { I(0x18, 1, 0, 0, -2), I(0, 0, 0, 0, -1) }, 2 },
	{ "r1 = map[fd:3] ll", { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = map[fd:3][0]+16 ll", { I(0x18, 1, 2, 0, 3), I(0, 0, 0, 0, 16) }, 2 },
	{ "r1 = btf_var[id:9] ll", { I(0x18, 1, 3, 0, 9), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = btf_var[id:9,fd:4] ll", { I(0x18, 1, 3, 0, 9), I(0, 0, 0, 0, 4) }, 2 },
	{ "r1 = func[pc+5] ll", { I(0x18, 1, 4, 0, 5), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = func[pc-3] ll", { I(0x18, 1, 4, 0, -3), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = map[idx:3] ll", { I(0x18, 1, 5, 0, 3), I(0, 0, 0, 0, 0) }, 2 },
	{ "r1 = map[idx:3][0]+16 ll", { I(0x18, 1, 6, 0, 3), I(0, 0, 0, 0, 16) }, 2 },
	{ "r1 = map[fd:3]", { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 0) }, 2 },
	{ "r0 = *(u32 *)(r1 + 4)", { I(0x61, 0, 1, 4, 0) }, 1 },
	{ "r0 = *(u32 *)(r1 +4)", { I(0x61, 0, 1, 4, 0) }, 1 },
	{ "r0 = *(u8 *)(r1)", { I(0x71, 0, 1, 0, 0) }, 1 },
	{ "r0 = *(u16 *)(r1 +0)", { I(0x69, 0, 1, 0, 0) }, 1 },
	{ "r0 = *(u64 *)(r10 -8)", { I(0x79, 0, 10, -8, 0) }, 1 },
	{ "w0 = *(u32 *)(r1 + 0)", { I(0x61, 0, 1, 0, 0) }, 1 },
	{ "r0 = *(s8 *)(r1 - 1)", { I(0x91, 0, 1, -1, 0) }, 1 },
	{ "r0 = *(s16 *)(r1 - 2)", { I(0x89, 0, 1, -2, 0) }, 1 },
	{ "r0 = *(s32 *)(r1 - 4)", { I(0x81, 0, 1, -4, 0) }, 1 },
	{ "*(u64 *)(r10 - 8) = r1", { I(0x7b, 10, 1, -8, 0) }, 1 },
	{ "*(u32 *)(r10 -8) = w1", { I(0x63, 10, 1, -8, 0) }, 1 },
	{ "*(u16 *)(r10 -8) = r1", { I(0x6b, 10, 1, -8, 0) }, 1 },
	{ "*(u8 *)(r10 -8) = r1", { I(0x73, 10, 1, -8, 0) }, 1 },
	{ "*(u8 *)(r1 + 0) = 7", { I(0x72, 1, 0, 0, 7) }, 1 },
	{ "*(u16 *)(r1 + 0) = -7", { I(0x6a, 1, 0, 0, -7) }, 1 },
	{ "*(u32 *)(r1 + 0) = 7", { I(0x62, 1, 0, 0, 7) }, 1 },
	{ "*(u64 *)(r1 + 0) = 7", { I(0x7a, 1, 0, 0, 7) }, 1 },
	{ "lock *(u64 *)(r0 + 0) += r1", { I(0xdb, 0, 1, 0, 0x00) }, 1 },
	{ "lock *(u32 *)(r0 +0) |= w1", { I(0xc3, 0, 1, 0, 0x40) }, 1 },
	{ "lock *(u32 *)(r0 +0) &= r1", { I(0xc3, 0, 1, 0, 0x50) }, 1 },
	{ "lock *(u64 *)(r0 -8) ^= r1", { I(0xdb, 0, 1, -8, 0xa0) }, 1 },
	{ "r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)", { I(0xdb, 0, 1, 0, 0x01) }, 1 },
	{ "w1 = atomic_fetch_xor((u32 *)(r0 +0), w1)", { I(0xc3, 0, 1, 0, 0xa1) }, 1 },
	{ "r2 = atomic_fetch_or((u32 *)(r3 -4), r2)", { I(0xc3, 3, 2, -4, 0x41) }, 1 },
	{ "r2 = atomic64_fetch_and((u64 *)(r3 -4), r2)", { I(0xdb, 3, 2, -4, 0x51) }, 1 },
	{ "r1 = atomic64_xchg((u64 *)(r0 +0), r1)", { I(0xdb, 0, 1, 0, 0xe1) }, 1 },
	{ "w1 = atomic_xchg((u32 *)(r0 +0), w1)", { I(0xc3, 0, 1, 0, 0xe1) }, 1 },
	{ "r0 = atomic64_cmpxchg((u64 *)(r0 +0), r0, r1)", { I(0xdb, 0, 1, 0, 0xf1) }, 1 },
	{ "r0 = atomic_cmpxchg((u32 *)(r2 +8), r0, r1)", { I(0xc3, 2, 1, 8, 0xf1) }, 1 },
	{ "if r1 > r2 goto +5", { I(0x2d, 1, 2, 5, 0) }, 1 },
	{ "if r1 == 0x5 goto pc+3", { I(0x15, 1, 0, 3, 5) }, 1 },
	{ "if w1 s< -1 goto pc-1", { I(0xc6, 1, 0, -1, -1) }, 1 },
	{ "if r1 & 4 goto -2", { I(0x45, 1, 0, -2, 4) }, 1 },
	{ "if r1 != r2 goto +0", { I(0x5d, 1, 2, 0, 0) }, 1 },
	{ "if r1 >= 1 goto +0", { I(0x35, 1, 0, 0, 1) }, 1 },
	{ "if r1 < 1 goto +0", { I(0xa5, 1, 0, 0, 1) }, 1 },
	{ "if r1 <= 1 goto +0", { I(0xb5, 1, 0, 0, 1) }, 1 },
	{ "if r1 s> 1 goto +0", { I(0x65, 1, 0, 0, 1) }, 1 },
	{ "if r1 s>= 1 goto +0", { I(0x75, 1, 0, 0, 1) }, 1 },
	{ "if r1 s<= r2 goto +0", { I(0xdd, 1, 2, 0, 0) }, 1 },
	{ "if w1 == w2 goto +1", { I(0x1e, 1, 2, 1, 0) }, 1 },
	{ "if w1 & 0xffffffff goto +1", { I(0x46, 1, 0, 1, -1) }, 1 },
	{ "goto +5", { I(0x05, 0, 0, 5, 0) }, 1 },
	{ "goto pc-3", { I(0x05, 0, 0, -3, 0) }, 1 },
	{ "goto +5 <LBB0_3>", { I(0x05, 0, 0, 5, 0) }, 1 },
	{ "gotol pc+70000", { I(0x06, 0, 0, 0, 70000) }, 1 },
	{ "call 1", { I(0x85, 0, 0, 0, 1) }, 1 },
	{ "call bpf_map_lookup_elem#1", { I(0x85, 0, 0, 0, 1) }, 1 },
	{ "call unknown#12345", { I(0x85, 0, 0, 0, 12345) }, 1 },
	{ "call pc+5", { I(0x85, 0, 1, 0, 5) }, 1 },
	{ "call pc-7", { I(0x85, 0, 1, 0, -7) }, 1 },
	{ "call kfunc[id:1234]", { I(0x85, 0, 2, 0, 1234) }, 1 },
	{ "call kfunc[id:1234,fd_idx:2]", { I(0x85, 0, 2, 2, 1234) }, 1 },
	{ "call kernel-function#99", { I(0x85, 0, 2, 0, 99) }, 1 },
	{ "callx r2", { I(0x8d, 2, 0, 0, 0) }, 1 },
	{ "exit", { I(0x95, 0, 0, 0, 0) }, 1 },
	{ "r0 = *(u32 *)skb[4]", { I(0x20, 0, 0, 0, 4) }, 1 },
	{ "r0 = *(u16 *)skb[4]", { I(0x28, 0, 0, 0, 4) }, 1 },
	{ "r0 = *(u8 *)skb[4]", { I(0x30, 0, 0, 0, 4) }, 1 },
	{ "r0 = *(u32 *)skb[r1 + 4]", { I(0x40, 0, 1, 0, 4) }, 1 },
	{ "r0 = *(u16 *)skb[r1 + 4]", { I(0x48, 0, 1, 0, 4) }, 1 },
	{ "r0 = *(u8 *)skb[r1 + -4]", { I(0x50, 0, 1, 0, -4) }, 1 },
	/* the verifier log's prefixes, comments, llvm-objdump's bytes */
	{ "12: (61) r0 = *(u32 *)(r1 +4)", { I(0x61, 0, 1, 4, 0) }, 1 },
	{ "3: (b7) r0 = 1 ; R0_w=1", { I(0xb7, 0, 0, 0, 1) }, 1 },
	{ "(bf) r6 = r1", { I(0xbf, 6, 1, 0, 0) }, 1 },
	{ "0: (18) r1 = 0x1122334455667788", { I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, 2 },
	{ "7: (85) call bpf_map_lookup_elem#1", { I(0x85, 0, 0, 0, 1) }, 1 },
	{ "  0:\tb7 00 00 00 01 00 00 00\tr0 = 1", { I(0xb7, 0, 0, 0, 1) }, 1 },
	{ "r0 = 1 // set r0", { I(0xb7, 0, 0, 0, 1) }, 1 },
	{ "r0 = 1 # set r0", { I(0xb7, 0, 0, 0, 1) }, 1 },
};

/* ---- labels and targets --------------------------------------------------------------- */

static void test_labels(void)
{
	/* forward and backward, in slots (lddw counts two) */
	struct bpf_insn w1[] = {
		I(0x05, 0, 0, 3, 0),		/* 0: ja fwd */
		I(0x18, 0, 0, 0, 1), I(0, 0, 0, 0, 0),	/* 1,2: lddw */
		I(0x05, 0, 0, -4, 0),		/* 3: ja back -> 0 */
		I(0x95, 0, 0, 0, 0),		/* 4: fwd: exit */
	};
	check_asm("back: ja fwd\nlddw %r0, 1\nja back\nfwd:\nexit\n", w1, 5, __LINE__);
	check_asm("back:\n goto fwd\n r0 = 1 ll\n goto back\nfwd: exit", w1, 5, __LINE__);
	check_asm("back:\n if r0 == 0 goto back\n", (struct bpf_insn[]){ I(0x15, 0, 0, -1, 0) }, 1,
		  __LINE__);

	/* "exit" names the first exit instruction unless it is a label */
	struct bpf_insn w2[] = {
		I(0x55, 1, 0, 2, 0),		/* jne %r1, 0, exit -> 3 */
		I(0xb7, 0, 0, 0, 1),
		I(0x05, 0, 0, 0, 0),		/* ja exit -> 3 */
		I(0x95, 0, 0, 0, 0),
		I(0x95, 0, 0, 0, 0),
	};
	check_asm("jne %r1, 0, exit\nmov %r0, 1\nja exit\nexit\nexit\n", w2, 5, __LINE__);
	struct bpf_insn w3[] = { I(0x05, 0, 0, 1, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) };
	check_asm("ja exit\nexit\nexit: exit\n", w3, 3, __LINE__);

	/* gotol and local calls take the target in imm */
	struct bpf_insn w4[] = {
		I(0x85, 0, 1, 0, 2),
		I(0x06, 0, 0, 0, -2),
		I(0x95, 0, 0, 0, 0),
		I(0xb7, 0, 0, 0, 0),
		I(0x95, 0, 0, 0, 0),
	};
	check_asm("top: call local fn\nja32 top\nexit\nfn:\nmov %r0, 0\nexit\n", w4, 5, __LINE__);
	check_asm("top: call fn\ngotol top\nexit\nfn:\nr0 = 0\nexit\n", w4, 5, __LINE__);

	/* lddw func[label] */
	struct bpf_insn w5[] = { I(0x18, 1, 4, 0, 2), I(0, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0),
				 I(0x95, 0, 0, 0, 0) };
	check_asm("r1 = func[f] ll\nexit\nf: exit\n", w5, 4, __LINE__);

	/* call NAME: a label first, else a registered helper's name */
	const char *name = bpfvm_helper__name(1);
	if (name) {
		char text[160];
		snprintf(text, sizeof(text), "call %s\nexit\n", name);
		struct bpf_insn w6[] = { I(0x85, 0, 0, 0, 1), I(0x95, 0, 0, 0, 0) };
		check_asm(text, w6, 2, __LINE__);
	}

	/* a label at the end is allowed (the validator judges the jump) */
	check_asm("ja end\nend:", (struct bpf_insn[]){ I(0x05, 0, 0, 0, 0) }, 1, __LINE__);
	/* several labels on one line, and a label before an instruction */
	check_asm("a: b: ja a\nc: ja b", (struct bpf_insn[]){ I(0x05, 0, 0, -1, 0), I(0x05, 0, 0, -2, 0) },
		  2, __LINE__);

	/* the farthest targets */
	size_t n = 32769;
	char *text = malloc(n * 12 + 64);
	struct bpf_insn *want = calloc(n + 1, sizeof(*want));
	if (text && want) {
		char *p = text;
		p += sprintf(p, "ja far\n");
		want[0] = (struct bpf_insn)I(0x05, 0, 0, 32767, 0);
		for (size_t i = 1; i < 32768; i++) {
			p += sprintf(p, "exit\n");
			want[i] = (struct bpf_insn)I(0x95, 0, 0, 0, 0);
		}
		p += sprintf(p, "far: exit\n");
		want[32768] = (struct bpf_insn)I(0x95, 0, 0, 0, 0);
		check_asm(text, want, 32769, __LINE__);
		/* one more instruction in between: out of range */
		p = text + sprintf(text, "ja far\nexit\n");
		for (size_t i = 1; i < 32768; i++)
			p += sprintf(p, "exit\n");
		sprintf(p, "far: exit\n");
		struct bpf_insn *got = NULL;
		size_t cnt;
		struct bpfvm_asm_opts o = { .sz = sizeof(o), .filename = "far.s" };
		test_log_clear();
		CHECK(bpfvm_asm(text, &o, &got, &cnt) == -EINVAL, "32768 slots forward accepted");
		CHECK_CONTAINS(test_log_last(), "far.s:1:4: jump offset out of range", "far label");
		free(got);
	}
	free(text);
	free(want);
}

/* ---- limits ------------------------------------------------------------------------------ */

static int asm_one(const char *text, struct bpf_insn *first)
{
	struct bpf_insn *got = NULL;
	size_t cnt = 0;
	int rc = bpfvm_asm(text, NULL, &got, &cnt);
	if (rc == 0 && first)
		*first = got[0];
	free(got);
	return rc;
}

static void test_limits(void)
{
	struct bpf_insn in;
	static const struct { const char *text; bool ok; int32_t imm; int off; } t[] = {
		{ "mov32 %r0, 0xffffffff", true, -1, 0 },
		{ "mov32 %r0, 0x100000000", false, 0, 0 },
		{ "mov32 %r0, -2147483648", true, INT32_MIN, 0 },
		{ "mov32 %r0, -2147483649", false, 0, 0 },
		{ "mov32 %r0, 2147483647", true, INT32_MAX, 0 },
		{ "mov32 %r0, 2147483648", false, 0, 0 },
		{ "mov %r0, -0x80000000", true, INT32_MIN, 0 },
		{ "mov %r0, -0x80000001", false, 0, 0 },
		{ "jeq %r0, 0xffffffff, +1", true, -1, 1 },
		{ "r0 = 0x100000000", false, 0, 0 },
		{ "r0 = 4294967295", false, 0, 0 },
		{ "ldxb %r0, [%r1+32767]", true, 0, 32767 },
		{ "ldxb %r0, [%r1-32768]", true, 0, -32768 },
		{ "ldxb %r0, [%r1+32768]", false, 0, 0 },
		{ "ldxb %r0, [%r1-32769]", false, 0, 0 },
		{ "ldxb %r0, [%r1+0x7fff]", true, 0, 32767 },
		{ "ldxb %r0, [%r1+0x10000]", false, 0, 0 },
		{ "r0 = *(u8 *)(r1 -32768)", true, 0, -32768 },
		{ "r0 = *(u8 *)(r1 +32768)", false, 0, 0 },
		{ "ja +32767", true, 0, 32767 },
		{ "ja -32768", true, 0, -32768 },
		{ "ja +32768", false, 0, 0 },
		{ "goto pc-32769", false, 0, 0 },
		{ "ja32 +2147483647", true, INT32_MAX, 0 },
		{ "ja32 -2147483648", true, INT32_MIN, 0 },
		{ "gotol pc+2147483648", false, 0, 0 },
		{ "call local -2147483648", true, INT32_MIN, 0 },
		{ "call 0xffffffff", true, -1, 0 },
		{ "call 4294967296", false, 0, 0 },
		{ "stdw [%r10-8], 0x100000000", false, 0, 0 },
		{ ".insn 0x100, 0, 0, 0, 0", false, 0, 0 },
		{ ".insn 0x07, 16, 0, 0, 0", false, 0, 0 },
		{ ".insn 0x07, 0, 0, 0xffff, 0", true, 0, -1 },
		{ ".insn 0x07, 0, 0, 0x10000, 0", false, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&in, 0, sizeof(in));
		int rc = asm_one(t[i].text, &in);
		if (t[i].ok) {
			CHECK(rc == 0, "'%s' rejected", t[i].text);
			CHECK(in.imm == t[i].imm && in.off == t[i].off, "'%s': imm %d off %d", t[i].text,
			      in.imm, in.off);
		} else {
			CHECK(rc == -EINVAL, "'%s' accepted (rc %d)", t[i].text, rc);
		}
	}

	/* lddw: the full 64 bits */
	static const struct { const char *text; bool ok; uint64_t v; } l[] = {
		{ "lddw %r0, 0xffffffffffffffff", true, UINT64_MAX },
		{ "lddw %r0, 0x10000000000000000", false, 0 },
		{ "lddw %r0, 18446744073709551615", true, UINT64_MAX },
		{ "lddw %r0, 18446744073709551616", false, 0 },
		{ "lddw %r0, -9223372036854775808", true, UINT64_C(1) << 63 },
		{ "lddw %r0, -9223372036854775809", false, 0 },
		{ "r0 = 0x8000000000000000 ll", true, UINT64_C(1) << 63 },
	};
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
		struct bpf_insn *got = NULL;
		size_t cnt = 0;
		int rc = bpfvm_asm(l[i].text, NULL, &got, &cnt);
		if (l[i].ok) {
			CHECK(rc == 0 && cnt == 2, "'%s' rejected", l[i].text);
			if (rc == 0 && cnt == 2)
				CHECK_U64((uint32_t)got[0].imm | ((uint64_t)(uint32_t)got[1].imm << 32), l[i].v,
					  "'%s'", l[i].text);
		} else {
			CHECK(rc == -EINVAL, "'%s' accepted", l[i].text);
		}
		free(got);
	}
}

/* ---- error messages: one line, file:line:col: message ------------------------------------------ */

static void test_errors(void)
{
	static const struct { const char *text, *msg; } t[] = {
		{ "mov %r0, 1\nor %r0, %r50\nexit", "t.s:2:9: invalid register '%r50'" },
		{ "r11 = 1", "t.s:1:1: invalid register 'r11'" },
		{ "r0 = *(u32 *)(r12 +0)", "t.s:1:15: invalid register 'r12'" },
		{ "mov %r0, %r01", "t.s:1:10: invalid register '%r01'" },
		{ "ldxb %r0, [%r14+8]", "t.s:1:12: invalid register '%r14'" },
		{ "call %x1", "t.s:1:6: invalid register '%x1'" },
		{ "# comment\n\nldxq %r0, %r1\nexit", "t.s:3:1: unknown mnemonic 'ldxq'" },
		{ "  foo", "t.s:1:3: unknown mnemonic 'foo'" },
		{ "lock fetch nand [%r1], %r2", "t.s:1:1: unknown mnemonic 'lock fetch nand'" },
		{ "mov32 %r0, 2147483648", "t.s:1:12: immediate 2147483648 out of range for a 32-bit field" },
		{ "mov32 %r0, 0x100000000", "t.s:1:12: immediate 0x100000000 out of range for a 32-bit field" },
		{ "r0 = 0x100000000", "t.s:1:6: immediate 0x100000000 out of range for a 32-bit field" },
		{ "lddw %r0, 0x10000000000000000", "t.s:1:11: immediate 0x10000000000000000 out of range for a 64-bit field" },
		{ "ldxb %r0, [%r1+0x10000]", "t.s:1:16: offset 0x10000 out of range (int16)" },
		{ "stb [%r1-32769], 1", "t.s:1:10: offset -32769 out of range (int16)" },
		{ "r0 = *(u8 *)(r1 + 40000)", "t.s:1:19: offset 40000 out of range (int16)" },
		{ "ja NOT_A_LABEL\nexit", "t.s:1:4: undefined label 'NOT_A_LABEL'" },
		{ "exit\nif r1 > r2 goto nowhere", "t.s:2:17: undefined label 'nowhere'" },
		{ "call nowhere", "t.s:1:6: undefined label 'nowhere'" },
		{ "ja exit", "t.s:1:4: undefined label 'exit'" },
		{ "lock or [%r10-8]\nexit", "t.s:1:1: invalid number of operands for lock" },
		{ "lock\nexit", "t.s:1:1: invalid number of operands for lock" },
		{ "lddw %r0\nexit", "t.s:1:1: invalid number of operands for lddw" },
		{ "add %r0, 1, 2", "t.s:1:13: invalid number of operands for add" },
		{ "exit 1", "t.s:1:6: unexpected '1' at end of instruction" },
		{ "ldxb %r0, %r1\nexit", "t.s:1:11: expected memory operand [%rN+off], got '%r1'" },
		{ "x:\nexit\n x :\nexit", "t.s:3:2: duplicate label 'x'" },
		{ "ja +32768", "t.s:1:4: jump offset out of range" },
		{ "goto pc-40000", "t.s:1:6: jump offset out of range" },
		{ "", "t.s:1:1: no instructions" },
		{ "# nothing\n", "t.s:1:1: no instructions" },
		{ ".foo 1", "t.s:1:1: unknown directive '.foo'" },
		{ "mov %r0, 1x", "t.s:1:10: invalid number '1x'" },
		{ "add %r0, , 1", "t.s:1:10: missing operand" },
		{ "neg %r0, %r1", "t.s:1:10: invalid number of operands for neg" },
		{ "movsx832 %r0, 5", "t.s:1:15: expected a register, got '5'" },
		{ "w0 = r1", "t.s:1:6: register width mismatch: 'r1' with 'w0'" },
		{ "if w0 > r1 goto +1", "t.s:1:9: register width mismatch" },
		{ "r0 <<<= 1", "t.s:1:4: unknown operator '<<<='" },
		{ "r0 = -r1", "t.s:1:7: negation is in place" },
		{ "r0 = le16 r1", "t.s:1:11: byte swap is in place" },
		{ "w0 = (s32)w1", "t.s:1:7: invalid sign extension '(s32)'" },
		{ "w1 = 1 ll", "t.s:1:1: a 64-bit load needs a 64-bit register" },
		{ "r0 = *(s64 *)(r1 +0)", "t.s:1:8: invalid access size 's64' for a load" },
		{ "*(s32 *)(r1 +0) = r2", "t.s:1:3: invalid access size 's32' for a store" },
		{ "r1 = *(u32 *)skb[4]", "t.s:1:1: legacy packet loads write r0" },
		{ "r2 = atomic64_fetch_add((u64 *)(r0 +0), r1)", "t.s:1:41: atomic64_fetch_add returns into its source register" },
		{ "r1 = atomic64_cmpxchg((u64 *)(r0 +0), r0, r1)", "t.s:1:1: cmpxchg writes r0" },
		{ "r1 = atomic_fetch_add((u64 *)(r0 +0), r1)", "t.s:1:24: access size 'u64' does not match atomic_fetch_add" },
		{ "r1 = atomic64_fetch_nand((u64 *)(r0 +0), r1)", "t.s:1:6: unknown atomic operation 'atomic64_fetch_nand'" },
		{ "lock *(u64 *)(r0 +0) -= r1", "t.s:1:22: unknown atomic operator '-='" },
		{ "if r1 ~ r2 goto +1", "t.s:1:7: expected a comparison operator" },
		{ "if r1 > r2 +1", "t.s:1:12: expected 'goto', got '+1'" },
		{ "r0 = *(u32 *)(r1 +4", "t.s:1:20: expected ')' at end of line" },
		{ "12: (61) r0 !", "t.s:1:13: expected an assignment operator after 'r0', got '!'" },
		{ "12: (61) r0 ==", "t.s:1:14: unexpected '=' after '='" },
		{ "mov %r0, 1\n\tr0 = foo", "t.s:2:7: unexpected 'foo' after '='" },
		{ "call", "t.s:1:5: invalid number of operands for call" },
		{ ".insn 1, 2, 3", "t.s:1:7: invalid number of operands for .insn" },
		{ "r1 = map[fd:3][1]+4 ll", "t.s:1:16: expected '0', got '1'" },
	};
	struct bpfvm_asm_opts o = { .sz = sizeof(o), .filename = "t.s" };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct bpf_insn *got = (struct bpf_insn *)&o;	/* must be reset to NULL */
		size_t cnt = 99;
		test_log_clear();
		int rc = bpfvm_asm(t[i].text, &o, &got, &cnt);
		CHECK(rc == -EINVAL, "'%s' gave %d", t[i].text, rc);
		CHECK(got == NULL && cnt == 0, "'%s': outputs not cleared", t[i].text);
		CHECK_CONTAINS(test_log_last(), t[i].msg, "'%s'", t[i].text);
		CHECK(!strchr(test_log_last(), '\n'), "message of '%s' is not one line", t[i].text);
	}

	/* default filename, NULL arguments, an opts struct too small for filename */
	test_log_clear();
	struct bpf_insn *got = NULL;
	size_t cnt;
	CHECK(bpfvm_asm("foo", NULL, &got, &cnt) == -EINVAL, "foo");
	CHECK_CONTAINS(test_log_last(), "<input>:1:1: unknown mnemonic 'foo'", "default name");
	struct bpfvm_asm_opts small = { .sz = sizeof(size_t), .filename = "ignored" };
	CHECK(bpfvm_asm("foo", &small, &got, &cnt) == -EINVAL, "foo");
	CHECK_CONTAINS(test_log_last(), "<input>:1:1:", "opts without filename");
	CHECK(bpfvm_asm(NULL, NULL, &got, &cnt) == -EINVAL, "NULL text");
	CHECK(bpfvm_asm("exit", NULL, NULL, &cnt) == -EINVAL, "NULL insns");
	CHECK(bpfvm_asm("exit", NULL, &got, NULL) == -EINVAL, "NULL cnt");
}

/* ---- mixing, CRLF, the raw table ----------------------------------------------------------------- */

static void test_misc(void)
{
	struct bpf_insn want[] = {
		I(0xb7, 0, 0, 0, 1),
		I(0x07, 0, 0, 0, 2),
		I(0x15, 0, 0, 1, 3),
		I(0x95, 0, 0, 0, 0),
		I(0x95, 0, 0, 0, 0),
	};
	check_asm("mov %r0, 1\r\nr0 += 2\r\nif r0 == 3 goto out\r\nexit\r\nout: exit\r\n", want, 5,
		  __LINE__);
	check_asm("mov %r0, 1 ; semicolon\nadd %r0, 2 // slashes\njeq %r0, 3, +1\nexit\nexit", want, 5,
		  __LINE__);
}

/* ---- the conformance suite ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the .data files in dir (NULL-terminated, free both). */
static char **list_data(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	size_t n = 0, cap = 16;
	char **v = malloc(cap * sizeof(*v));
	struct dirent *e;
	while (v && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".data"))
			continue;
		if (n + 1 >= cap) {
			char **t = realloc(v, (cap *= 2) * sizeof(*v));
			if (!t)
				break;
			v = t;
		}
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (!v)
		return NULL;
	qsort(v, n, sizeof(*v), cmp_str);
	v[n] = NULL;
	return v;
}

static void free_list(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void test_conformance(const char *dir)
{
	char path[4096], err[512];
	char **files = list_data(dir);
	int n = 0;
	CHECK(files != NULL, "cannot read %s", dir);
	for (size_t i = 0; files && files[i]; i++) {
		struct datafile df;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (datafile_parse(path, &df, err, sizeof(err))) {
			CHECK(0, "%s", err);
			continue;
		}
		if (df.asm_text) {
			struct bpf_insn *insns = NULL;
			size_t cnt = 0;
			struct bpfvm_asm_opts o = { .sz = sizeof(o), .filename = path };
			test_log_clear();
			int rc = bpfvm_asm(df.asm_text, &o, &insns, &cnt);
			CHECK(rc == 0 && cnt > 0, "%s: %s", files[i], test_log_last());
			/* where the file also has the raw bytes, they must agree */
			if (rc == 0 && df.raw) {
				bool eq = cnt == df.raw_cnt;
				for (size_t k = 0; eq && k < cnt; k++)
					eq = same(&insns[k], &df.raw[k]);
				CHECK(eq, "%s: asm and raw sections differ", files[i]);
			}
			free(insns);
			n++;
		}
		datafile_free(&df);
	}
	CHECK(n > 300, "only %d conformance programs assembled", n);
	free_list(files);

	/* negative/invalid_*.data: malformed programs must not assemble */
	snprintf(path, sizeof(path), "%s/negative", dir);
	files = list_data(path);
	CHECK(files != NULL, "cannot read %s", path);
	n = 0;
	for (size_t i = 0; files && files[i]; i++) {
		if (strncmp(files[i], "invalid_", 8))
			continue;
		struct datafile df;
		struct bpf_insn *insns = NULL;
		size_t cnt = 0;
		snprintf(path, sizeof(path), "%s/negative/%s", dir, files[i]);
		test_log_clear();
		bool rejected = datafile_parse(path, &df, err, sizeof(err)) != 0 ||
				datafile_program(&df, &insns, &cnt, err, sizeof(err)) != 0;
		CHECK(rejected, "%s assembled", files[i]);
		if (!strncmp(files[i], "invalid_lock", 12))
			CHECK_CONTAINS(err, "invalid number of operands for lock", "%s", files[i]);
		if (!strcmp(files[i], "invalid_register.data"))
			CHECK_CONTAINS(err, "invalid register '%r50'", "%s", files[i]);
		if (!strcmp(files[i], "invalid_label.data"))
			CHECK_CONTAINS(err, "undefined label 'NOT_A_LABEL'", "%s", files[i]);
		if (!strcmp(files[i], "invalid_mnemonic.data"))
			CHECK_CONTAINS(err, "invalid_mnemonic.data:5:1: unknown mnemonic 'ldxq'", "%s",
				       files[i]);
		free(insns);
		datafile_free(&df);
		n++;
	}
	CHECK(n >= 10, "only %d invalid_*.data files", n);
	free_list(files);
}

int main(int argc, char **argv)
{
	test_log_capture();
	check_table(conf_table, sizeof(conf_table) / sizeof(conf_table[0]) - 5);
	/* the raw-directive rows: .insn with out-of-range fields (n = -1) must fail */
	for (size_t i = sizeof(conf_table) / sizeof(conf_table[0]) - 5;
	     i < sizeof(conf_table) / sizeof(conf_table[0]); i++) {
		if (conf_table[i].n < 0)
			CHECK(asm_one(conf_table[i].text, NULL) == -EINVAL, "'%s' accepted",
			      conf_table[i].text);
		else
			check_asm(conf_table[i].text, conf_table[i].insn, 1, (int)i);
	}
	check_table(pc_table, sizeof(pc_table) / sizeof(pc_table[0]));
	test_labels();
	test_limits();
	test_errors();
	test_misc();
	if (argc > 1)
		test_conformance(argv[1]);
	else
		printf("no conformance directory given: suite checks skipped\n");
	return test_summary();
}
