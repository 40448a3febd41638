/*
 * validate.c — structural validation of a program, done for every program before
 * it may run, and the decoding that the engines execute.
 *
 * Checks, each error naming the instruction index:
 *  - size: not empty, at most BPFVM_MAX_INSNS slots;
 *  - each instruction: a known opcode and selector (isa.def), reserved fields zero,
 *    registers r0..r10, no write to the frame pointer r10, lddw complete with a
 *    well-formed second slot, helper ids known;
 *  - control flow: jump, call and callback (lddw src 4) targets inside the
 *    program and never into the second slot of lddw, jumps stay inside their
 *    subprogram, no subprogram falls off its end;
 *  - registers: no instruction reads a register that is not written on every path
 *    to it (a must-be-written data-flow analysis, as the kernel's "!read_ok").
 * Map references (lddw src 1/2/5/6) become the constants they stand for
 * (vm_prog_map_ref), callbacks their tokens (VM_FUNC_TOKEN; their targets start
 * subprograms, listed in prog->func_starts); legacy packet loads need a program
 * type that has a packet;
 * BTF variables and kfunc calls are refused with the reason.
 *
 * On success prog->decoded holds the slots with code = enum isa_op and helper
 * calls resolved to prog->helper_fns indexes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "log.h"
#include "prog.h"
#include "progtypes/progtype.h"

#define R(n) ((uint16_t)(1u << (n)))
#define ARGS (R(1) | R(2) | R(3) | R(4) | R(5))
#define ALL_REGS ((uint16_t)0x7ff)

static const char *sel_field_name(int sel)
{
	switch (sel) {
	case ISA_SEL_OFF: return "off";
	case ISA_SEL_IMM: return "imm";
	case ISA_SEL_SRC: return "src";
	default: return "field";
	}
}

static int unknown_insn(const struct bpf_insn *in, size_t i)
{
	/* Known opcode with an unknown selector value, or an unknown opcode? */
	for (int r = 0; r < ISA__COUNT; r++) {
		if (isa_rows[r].opcode != in->code)
			continue;
		int sel = isa_rows[r].sel;
		int32_t v = sel == ISA_SEL_OFF ? in->off : sel == ISA_SEL_IMM ? in->imm : in->src_reg;
		return vm_err(-EINVAL, "insn %zu: invalid %s %d for opcode 0x%02x (%s)", i,
			      sel_field_name(sel), v, in->code, isa_rows[r].conf);
	}
	return vm_err(-EINVAL, "insn %zu: unknown opcode 0x%02x", i, in->code);
}

/* Returns the helper_fns index for helper id, adding it if new. */
static int helper_slot(struct bpfvm_prog *prog, const struct bpfvm_helper *h)
{
	for (size_t k = 0; k < prog->helper_fn_cnt; k++)
		if (prog->helper_fns[k] == h->fn)
			return (int)k;
	bpfvm_helper_fn *v = realloc(prog->helper_fns, (prog->helper_fn_cnt + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	prog->helper_fns = v;
	v[prog->helper_fn_cnt] = h->fn;
	return (int)prog->helper_fn_cnt++;
}

static const char *lddw_pseudo_name(int src)
{
	static const char *const names[] = { "imm64", "map fd", "map value", "BTF variable",
					     "function", "map index", "map index value" };
	return src >= 0 && src < 7 ? names[src] : "?";
}

/* Pass 1: each instruction on its own. Fills prog->decoded. */
static int check_insns(struct bpfvm_prog *prog)
{
	const struct bpf_insn *insns = prog->insns;
	struct bpf_insn *dec = prog->decoded;
	size_t cnt = prog->cnt;
	char why[128];

	for (size_t i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];
		int row = isa_decode(in);
		if (row < 0)
			return unknown_insn(in, i);
		const struct isa_row *r = &isa_rows[row];
		if (isa_check_fields(in, row, why, sizeof(why)))
			return vm_err(-EINVAL, "insn %zu: %s: %s", i, r->conf, why);
		/* Register fields in use (pseudo sources were decoded as selectors). */
		if (in->dst_reg > 10)
			return vm_err(-EINVAL, "insn %zu: invalid register r%u", i, in->dst_reg);
		if (r->sel != ISA_SEL_SRC && in->src_reg > 10)
			return vm_err(-EINVAL, "insn %zu: invalid register r%u", i, in->src_reg);
		if (isa_regs_written(in, row) & R(10))
			return vm_err(-EINVAL, "insn %zu: frame pointer r10 is read-only", i);

		dec[i] = *in;
		dec[i].code = (uint8_t)row;
		switch (r->fmt) {
		case ISA_FMT_LDDW:
			if (i + 1 >= cnt)
				return vm_err(-EINVAL, "insn %zu: lddw is truncated: its second slot is missing", i);
			if (insns[i + 1].code || insns[i + 1].dst_reg || insns[i + 1].src_reg ||
			    insns[i + 1].off)
				return vm_err(-EINVAL, "insn %zu: invalid second slot of lddw at insn %zu "
					      "(only imm may be set)", i, i + 1);
			dec[i + 1] = insns[i + 1];
			dec[i + 1].code = ISA_LDDW_HI;
			if (row == ISA_LDDW_MAP_FD || row == ISA_LDDW_MAP_IDX ||
			    row == ISA_LDDW_MAP_VALUE || row == ISA_LDDW_MAP_IDX_VALUE) {
				/* A map reference becomes the constant it stands for. */
				uint64_t v;
				int err = vm_prog_map_ref(prog, i, row == ISA_LDDW_MAP_VALUE ||
							  row == ISA_LDDW_MAP_IDX_VALUE, &v);
				if (err)
					return err;
				dec[i].code = ISA_LDDW;
				dec[i].src_reg = 0;
				dec[i].imm = (int32_t)(uint32_t)v;
				dec[i + 1].imm = (int32_t)(uint32_t)(v >> 32);
			} else if (row == ISA_LDDW_FUNC) {
				/* A callback (src 4, BPF_PSEUDO_FUNC, imm relative to the
				 * next slot) becomes its token (prog.h); check_flow checks
				 * the target and makes it a subprogram. */
				uint64_t v = VM_FUNC_TOKEN((uint32_t)((int64_t)i + 1 + in->imm));
				dec[i].code = ISA_LDDW;
				dec[i].src_reg = 0;
				dec[i].imm = (int32_t)(uint32_t)v;
				dec[i + 1].imm = (int32_t)(uint32_t)(v >> 32);
			} else if (row != ISA_LDDW) {
				return vm_err(-EINVAL, "insn %zu: lddw with pseudo source %u (%s) is "
					      "not supported", i, in->src_reg,
					      lddw_pseudo_name(in->src_reg));
			}
			i++;
			break;
		case ISA_FMT_CALL: {
			const struct bpfvm_helper *h = vm_prog_helper(prog, (uint32_t)in->imm);
			if (!h && (uint32_t)in->imm == VM_CORE_POISON) {
				/* A failed CO-RE relocation (libbpf's and our loader's mark),
				 * usually in code the program never reaches: accepted, and
				 * it stops the run if reached (as an unsupported instruction). */
				dec[i].code = ISA_CALL_KFUNC;
				break;
			}
			if (!h)
				return vm_err(-EINVAL, "insn %zu: unknown helper id %d", i, in->imm);
			int slot = helper_slot(prog, h);
			if (slot < 0)
				return vm_err(slot, "out of memory");
			dec[i].imm = slot;
			break;
		}
		case ISA_FMT_CALL_KFUNC:
			return vm_err(-EINVAL, "insn %zu: kfunc call (BTF id %d) needs kernel BTF; "
				      "raw programs cannot use it", i, in->imm);
		case ISA_FMT_LDABS:
		case ISA_FMT_LDIND:
			if (!prog->type || !prog->type->ld_abs)
				return vm_err(-EINVAL, "insn %zu: legacy packet load %s needs a "
					      "socket_filter or sched_cls program; %s programs cannot "
					      "use it", i, r->conf,
					      prog->type ? prog->type->name : "raw");
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Whether decoded slot i is lddw src=4 (a callback; decoded as a plain lddw). */
static bool is_func_ref(const struct bpfvm_prog *prog, size_t i)
{
	return prog->decoded[i].code == ISA_LDDW && prog->insns[i].src_reg == BPF_PSEUDO_FUNC;
}

#define START_FUNC 2u	/* is_start bit: a callback starts here (1: any subprogram) */

/* Collects the callback starts (is_start & START_FUNC) into prog->func_starts. */
static int collect_funcs(struct bpfvm_prog *prog, const uint8_t *is_start)
{
	size_t n = 0;
	for (size_t i = 0; i < prog->cnt; i++)
		n += (is_start[i] & START_FUNC) != 0;
	if (!n)
		return 0;
	prog->func_starts = malloc(n * sizeof(*prog->func_starts));
	if (!prog->func_starts)
		return vm_err(-ENOMEM, "out of memory validating %zu instructions", prog->cnt);
	for (size_t i = 0; i < prog->cnt; i++)
		if (is_start[i] & START_FUNC)
			prog->func_starts[prog->func_start_cnt++] = (uint32_t)i;
	return 0;
}

/* Pass 2: jump and call targets, callbacks (lddw src=4), subprogram boundaries.
 * subprog_of[i] = start. */
static int check_flow(struct bpfvm_prog *prog, uint32_t *subprog_of, uint8_t *is_start)
{
	const struct bpf_insn *dec = prog->decoded;
	size_t cnt = prog->cnt;

	is_start[0] = 1;
	for (size_t i = 0; i < cnt; i++) {
		int row = dec[i].code;
		bool func = is_func_ref(prog, i);
		if (row == ISA_LDDW_HI || (!func && isa_rows[row].fmt != ISA_FMT_CALL_LOCAL))
			continue;
		const char *what = func ? "callback" : "call";
		int64_t t = func ? (int64_t)i + 1 + prog->insns[i].imm : isa_target(&dec[i], row, i);
		if (t < 0 || (uint64_t)t >= cnt)
			return vm_err(-EINVAL, "insn %zu: %s to insn %lld is out of range "
				      "(program has %zu instructions)", i, what, (long long)t, cnt);
		if (dec[t].code == ISA_LDDW_HI)
			return vm_err(-EINVAL, "insn %zu: %s into the second slot of lddw at insn %lld",
				      i, what, (long long)t);
		is_start[t] |= func ? 1 | START_FUNC : 1;
	}
	int err = collect_funcs(prog, is_start);
	if (err)
		return err;
	uint32_t cur = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (is_start[i])
			cur = (uint32_t)i;
		subprog_of[i] = cur;
	}
	for (size_t i = 0; i < cnt; i++) {
		int row = dec[i].code;
		if (row == ISA_LDDW_HI)
			continue;
		if (isa_is_jump(row)) {
			int64_t t = isa_target(&dec[i], row, i);
			if (t < 0 || (uint64_t)t >= cnt)
				return vm_err(-EINVAL, "insn %zu: jump to insn %lld is out of range "
					      "(program has %zu instructions)", i, (long long)t, cnt);
			if (dec[t].code == ISA_LDDW_HI)
				return vm_err(-EINVAL, "insn %zu: jump into the second slot of lddw "
					      "at insn %lld", i, (long long)t);
			if (subprog_of[t] != subprog_of[i])
				return vm_err(-EINVAL, "insn %zu: jump to insn %lld leaves the "
					      "subprogram starting at insn %u", i, (long long)t,
					      subprog_of[i]);
		}
		/* The last slot of each subprogram must not fall through. */
		size_t last = i + (row == ISA_LDDW ? 1 : 0);
		bool at_end = last + 1 == cnt || is_start[last + 1];
		int fmt = isa_rows[row].fmt;
		if (at_end && fmt != ISA_FMT_EXIT && fmt != ISA_FMT_JA && fmt != ISA_FMT_JA32) {
			if (last + 1 == cnt)
				return vm_err(-EINVAL, "insn %zu: execution falls off the end of the "
					      "program (last instruction is not exit or goto)", i);
			return vm_err(-EINVAL, "insn %zu: execution falls through into the "
				      "subprogram at insn %zu", i, last + 1);
		}
	}
	return 0;
}

/* Pass 3: must-be-written registers. in[i] = registers written on every path to i. */
static int check_regs(const struct bpfvm_prog *prog, const uint8_t *is_start)
{
	const struct bpf_insn *dec = prog->decoded;
	size_t cnt = prog->cnt;
	uint16_t *in = calloc(cnt, sizeof(*in));
	uint8_t *seen = calloc(cnt, 1);
	uint32_t *work = malloc(cnt * sizeof(*work));
	uint8_t *queued = calloc(cnt, 1);
	size_t top = 0;
	int err = 0;

	if (!in || !seen || !work || !queued) {
		err = vm_err(-ENOMEM, "out of memory validating %zu instructions", cnt);
		goto out;
	}
#define FLOW(t, mask) do { \
	size_t t_ = (t); uint16_t m_ = (mask); \
	uint16_t n_ = seen[t_] ? (uint16_t)(in[t_] & m_) : m_; \
	if (!seen[t_] || n_ != in[t_]) { \
		seen[t_] = 1; in[t_] = n_; \
		if (!queued[t_]) { queued[t_] = 1; work[top++] = (uint32_t)t_; } \
	} } while (0)

	/* Raw programs start with r1 = memory, r2 = its length, the other types with
	 * r1 = the context; subprograms with their arguments r1-r5. r10 is always
	 * valid. */
	FLOW(0, (!prog->type || prog->type->raw ? R(1) | R(2) : R(1)) | R(10));
	for (size_t i = 1; i < cnt; i++)
		if (is_start[i])
			FLOW(i, ARGS | R(10));
	while (top) {
		size_t i = work[--top];
		queued[i] = 0;
		int row = dec[i].code;
		const struct isa_row *r = &isa_rows[row];
		uint16_t reads = isa_regs_read(&dec[i], row), have = in[i];
		if (reads & ~have) {
			int reg = __builtin_ctz(reads & ~have);
			err = vm_err(-EINVAL, "insn %zu: r%d is read before it is written on some "
				     "path (R%d !read_ok)", i, reg, reg);
			goto out;
		}
		uint16_t out_mask = have | isa_regs_written(&dec[i], row);
		if (r->fmt == ISA_FMT_CALL || r->fmt == ISA_FMT_CALL_LOCAL || r->fmt == ISA_FMT_CALLX)
			out_mask = (uint16_t)((have & ~ARGS) | R(0));
		switch (r->fmt) {
		case ISA_FMT_EXIT:
			break;
		case ISA_FMT_JA:
		case ISA_FMT_JA32:
			FLOW((size_t)isa_target(&dec[i], row, i), out_mask);
			break;
		case ISA_FMT_JCOND_K:
		case ISA_FMT_JCOND_X:
			FLOW((size_t)isa_target(&dec[i], row, i), out_mask);
			FLOW(i + 1, out_mask);
			break;
		case ISA_FMT_LDDW:
			FLOW(i + 2, out_mask);
			break;
		default:
			FLOW(i + 1, out_mask);
			break;
		}
	}
#undef FLOW
out:
	free(in);
	free(seen);
	free(work);
	free(queued);
	return err;
}

int vm_validate(struct bpfvm_prog *prog)
{
	size_t cnt = prog->cnt;
	if (cnt == 0)
		return vm_err(-EINVAL, "program is empty");
	if (cnt > BPFVM_MAX_INSNS)
		return vm_err(-E2BIG, "program has %zu instructions, more than the limit of %d",
			      cnt, BPFVM_MAX_INSNS);
	prog->decoded = calloc(cnt, sizeof(*prog->decoded));
	uint32_t *subprog_of = malloc(cnt * sizeof(*subprog_of));
	uint8_t *is_start = calloc(cnt, 1);
	int err;
	if (!prog->decoded || !subprog_of || !is_start)
		err = vm_err(-ENOMEM, "out of memory validating %zu instructions", cnt);
	else if (!(err = check_insns(prog)) && !(err = check_flow(prog, subprog_of, is_start)))
		err = check_regs(prog, is_start);
	free(subprog_of);
	free(is_start);
	return err;
}
