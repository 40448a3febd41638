/*
 * test_validate.c — structural validation: every error bpfvm_prog__new reports,
 * with the instruction index and reason it must name, and programs at the edges
 * that must be accepted.
 */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "testlog.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MOV0 BPF_MOV64_IMM(0, 0)
#define EXIT BPF_EXIT_INSN()

static uint64_t dummy_helper(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + b + c + d + e;
}

static void reject(const struct bpf_insn *insns, size_t cnt, int err, const char *msg,
		   const char *what)
{
	struct bpfvm_helper h = { .id = 7, .name = "seven", .fn = dummy_helper };
	struct bpfvm_prog_opts opts = { .sz = sizeof(opts), .helpers = &h, .helper_cnt = 1 };
	test_log_clear();
	errno = 0;
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, &opts);
	CHECK(p == NULL, "%s: accepted", what);
	CHECK(errno == err, "%s: errno %d, expected %d", what, errno, err);
	CHECK_CONTAINS(test_log_last(), msg, "%s", what);
	bpfvm_prog__free(p);
}

static void accept(const struct bpf_insn *insns, size_t cnt, const char *what)
{
	struct bpfvm_helper h = { .id = 7, .name = "seven", .fn = dummy_helper };
	struct bpfvm_prog_opts opts = { .sz = sizeof(opts), .helpers = &h, .helper_cnt = 1 };
	test_log_clear();
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, &opts);
	CHECK(p != NULL, "%s: rejected: %s", what, test_log_last());
	bpfvm_prog__free(p);
}

int main(void)
{
	test_log_capture();

	/* size */
	reject(NULL, 0, EINVAL, "program is empty", "empty");
	{
		size_t n = BPFVM_MAX_INSNS + 1;
		struct bpf_insn *big = calloc(n, sizeof(*big));
		for (size_t i = 0; i < n; i++)
			big[i] = MOV0;
		big[n - 1] = EXIT;
		reject(big, n, E2BIG, "more than the limit of 1000000", "too long");
		accept(big + 1, n - 1, "exactly 1,000,000 instructions");
		free(big);
	}

	/* single instructions */
	{
		struct bpf_insn p[] = { MOV0, BPFVM_INSN(0xff, 0, 0, 0, 0), EXIT };
		reject(p, N(p), EINVAL, "insn 1: unknown opcode 0xff", "unknown opcode");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_ATOMIC_OP(BPF_DW, 0x22, 10, 0, -8), EXIT };
		reject(p, N(p), EINVAL, "insn 1: invalid imm 34 for opcode 0xdb", "bad atomic op");
	}
	{
		struct bpf_insn p[] = { MOV0, BPFVM_INSN(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 2, 1), EXIT };
		reject(p, N(p), EINVAL, "insn 1: invalid off 2 for opcode 0x07", "off on add");
	}
	{
		struct bpf_insn p[] = { MOV0, BPFVM_INSN(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 5), EXIT };
		reject(p, N(p), EINVAL, "insn 1: add: reserved field 'imm' is 5, must be 0",
		       "imm on add reg");
	}
	{
		struct bpf_insn p[] = { MOV0, BPFVM_INSN(BPF_JMP | BPF_CALL, 1, 0, 0, 7), EXIT };
		reject(p, N(p), EINVAL, "insn 1: call: reserved field 'dst' is r1, must be r0",
		       "dst on call");
	}
	{
		struct bpf_insn p[] = { BPFVM_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 1) };
		reject(p, N(p), EINVAL, "insn 0: exit: reserved field 'imm' is 1", "imm on exit");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_IMM(11, 1), MOV0, EXIT };
		reject(p, N(p), EINVAL, "insn 0: invalid register r11", "dst r11");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_REG(0, 12), EXIT };
		reject(p, N(p), EINVAL, "insn 0: invalid register r12", "src r12");
	}
	{
		struct bpf_insn p[] = { BPF_ALU64_IMM(BPF_ADD, 10, 8), MOV0, EXIT };
		reject(p, N(p), EINVAL, "insn 0: frame pointer r10 is read-only", "write r10");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_LDX_MEM(BPF_DW, 10, 1, 0), EXIT };
		reject(p, N(p), EINVAL, "insn 1: frame pointer r10 is read-only", "load into r10");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_STX_MEM(BPF_DW, 10, 0, -8), EXIT };
		accept(p, N(p), "store through r10");
	}

	/* lddw */
	{
		struct bpf_insn p[] = { MOV0, EXIT, BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 1) };
		reject(p, N(p), EINVAL, "insn 2: lddw is truncated", "truncated lddw");
	}
	{
		struct bpf_insn p[] = { BPFVM_INSN(BPF_LD | BPF_DW | BPF_IMM, 0, 0, 0, 1),
					BPFVM_INSN(0, 1, 0, 0, 0), EXIT };
		reject(p, N(p), EINVAL, "insn 0: invalid second slot of lddw at insn 1", "lddw slot 2");
	}
	{
		struct bpf_insn p[] = { BPF_LD_IMM64_RAW(1, BPF_PSEUDO_MAP_FD, 3), MOV0, EXIT };
		reject(p, N(p), EINVAL, "insn 0: lddw refers to map 3, but the program has 0 maps",
		       "map fd lddw without maps");
	}
	{
		struct bpf_insn p[] = { BPF_LD_IMM64(0, 0x123456789ull), EXIT };
		accept(p, N(p), "lddw");
	}

	/* control flow */
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP_A(5), EXIT };
		reject(p, N(p), EINVAL, "insn 1: jump to insn 7 is out of range (program has 3 "
		       "instructions)", "jump past end");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP_IMM(BPF_JEQ, 0, 0, -3), EXIT };
		reject(p, N(p), EINVAL, "insn 1: jump to insn -1 is out of range", "jump before start");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP_A(1), BPF_LD_IMM64(0, 1), EXIT };
		reject(p, N(p), EINVAL, "insn 1: jump into the second slot of lddw at insn 3",
		       "jump into lddw");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP32_A(100000), EXIT };
		reject(p, N(p), EINVAL, "insn 1: jump to insn 100002 is out of range", "gotol range");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP32_A(0), EXIT };
		accept(p, N(p), "gotol +0");
	}
	{
		struct bpf_insn p[] = { MOV0 };
		reject(p, N(p), EINVAL, "insn 0: execution falls off the end of the program", "no exit");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP_IMM(BPF_JEQ, 0, 0, -1) };
		reject(p, N(p), EINVAL, "insn 1: execution falls off the end", "cond jump last");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_LD_IMM64(0, 1) };
		reject(p, N(p), EINVAL, "insn 1: execution falls off the end", "lddw last");
	}
	{
		struct bpf_insn p[] = { MOV0, BPF_JMP_A(-2) };
		accept(p, N(p), "loop as last instruction");
	}
	/* subprograms */
	{
		/* the subprogram at 2 returns without writing r0 */
		struct bpf_insn p[] = { BPF_CALL_REL(1), EXIT, EXIT };
		reject(p, N(p), EINVAL, "insn 2: r0 is read before it is written", "subprog r0");
	}
	{
		struct bpf_insn p[] = { BPF_CALL_REL(1), EXIT, BPF_MOV64_IMM(0, 1), BPF_JMP_A(-3) };
		reject(p, N(p), EINVAL, "insn 3: jump to insn 1 leaves the subprogram starting at insn 2",
		       "jump out of subprog");
	}
	{
		struct bpf_insn p[] = { BPF_CALL_REL(1), BPF_MOV64_IMM(0, 1), BPF_MOV64_IMM(0, 2), EXIT };
		reject(p, N(p), EINVAL, "insn 1: execution falls through into the subprogram at insn 2",
		       "fall into subprog");
	}
	{
		struct bpf_insn p[] = { BPF_CALL_REL(5), EXIT };
		reject(p, N(p), EINVAL, "insn 0: call to insn 6 is out of range", "call range");
	}
	{
		struct bpf_insn p[] = { BPF_CALL_REL(1), EXIT, BPF_LD_IMM64(0, 1), EXIT };
		accept(p, N(p), "call, subprogram with lddw");
	}
	{
		struct bpf_insn p[] = { BPF_LD_IMM64(0, 1), BPF_CALL_REL(-2), EXIT };
		reject(p, N(p), EINVAL, "call into the second slot of lddw", "call into lddw");
	}
	/* helpers */
	{
		struct bpf_insn p[] = { BPF_CALL_HELPER(99), EXIT };
		reject(p, N(p), EINVAL, "insn 0: unknown helper id 99", "unknown helper");
	}
	{
		struct bpf_insn p[] = { BPF_CALL_HELPER(7), EXIT };
		accept(p, N(p), "known helper");
	}
	{
		struct bpf_insn p[] = { BPFVM_INSN(BPF_JMP | BPF_CALL, 0, 2, 0, 1234), EXIT };
		reject(p, N(p), EINVAL, "insn 0: kfunc call (BTF id 1234) needs kernel BTF", "kfunc");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_REG(6, 1), BPFVM_INSN(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 4),
					EXIT };
		reject(p, N(p), EINVAL, "insn 1: legacy packet load ldabsw needs a socket_filter or sched_cls program; raw "
		       "programs cannot use it",
		       "ld_abs");
	}
	/* registers written before read */
	{
		struct bpf_insn p[] = { BPF_ALU64_REG(BPF_OR, 0, 10), EXIT };
		reject(p, N(p), EINVAL, "insn 0: r0 is read before it is written", "r0 uninit");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_REG(0, 3), EXIT };
		reject(p, N(p), EINVAL, "insn 0: r3 is read before it is written on some path (R3 !read_ok)",
		       "r3 uninit in raw program");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_REG(0, 2), BPF_ALU64_REG(BPF_ADD, 0, 1), EXIT };
		accept(p, N(p), "r1 and r2 are the arguments");
	}
	{
		/* written on one path only */
		struct bpf_insn p[] = { BPF_JMP_IMM(BPF_JEQ, 1, 0, 1), BPF_MOV64_IMM(0, 1), EXIT };
		reject(p, N(p), EINVAL, "insn 2: r0 is read before it is written on some path",
		       "r0 on one path");
	}
	{
		/* a helper call clobbers r1-r5 */
		struct bpf_insn p[] = { BPF_MOV64_IMM(3, 1), BPF_CALL_HELPER(7), BPF_MOV64_REG(0, 3), EXIT };
		reject(p, N(p), EINVAL, "insn 2: r3 is read before it is written", "r3 after call");
	}
	{
		struct bpf_insn p[] = { BPF_MOV64_IMM(6, 1), BPF_CALL_HELPER(7), BPF_MOV64_REG(0, 6), EXIT };
		accept(p, N(p), "r6 survives a call");
	}
	{
		/* loop that writes r0 before the exit on every path */
		struct bpf_insn p[] = { BPF_MOV64_IMM(0, 0), BPF_ALU64_IMM(BPF_ADD, 0, 1),
					BPF_JMP_IMM(BPF_JLT, 0, 10, -2), EXIT };
		accept(p, N(p), "counting loop");
	}
	/* run options that contradict each other */
	{
		struct bpf_insn p[] = { MOV0, EXIT };
		struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), NULL);
		struct bpfvm_run_opts run = { .sz = sizeof(run), .mem_len = 4 };
		test_log_clear();
		CHECK(bpfvm_prog__run_opts(prog, &run) == -EINVAL, "mem_len without mem runs");
		CHECK_CONTAINS(test_log_last(), "mem_len 4 without mem", "mem_len without mem");
		struct bpfvm_run_opts nosz = { 0 };
		CHECK(bpfvm_prog__run_opts(prog, &nosz) == -EINVAL, "opts without sz runs");
		struct bpfvm_run_opts jit = { .sz = sizeof(jit), .engine = BPFVM_ENGINE_JIT };
		int jerr = bpfvm_prog__run_opts(prog, &jit);
		if (bpfvm_engine_available(BPFVM_ENGINE_JIT))
			CHECK(jerr == 0, "JIT run failed: %d", jerr);
		else
			CHECK(jerr == -EOPNOTSUPP, "JIT unavailable, but the run said %d", jerr);
		bpfvm_prog__free(prog);
	}
	return test_summary();
}
