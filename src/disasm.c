/*
 * disasm.c — the disassembler: bpfvm_disasm_insn() and bpfvm_disasm().
 *
 * Two syntaxes, both read back by the assembler (asm.c) into the same bytes:
 *
 *   BPFVM_SYNTAX_KERNEL       what the kernel's verifier log prints (kernel/bpf/
 *                             disasm.c): "r0 = *(u32 *)(r1 +4)", "if r1 == 0x5 goto
 *                             pc+3", "call bpf_map_lookup_elem#1", "w0 = w1"; plus
 *                             the few spellings the kernel has none for or loses
 *                             information in: lddw "r1 = 0x... ll" and its pseudo
 *                             sources "r1 = map[fd:3] ll", "callx r2", "call
 *                             kfunc[id:N]" (see docs/asm.md)
 *   BPFVM_SYNTAX_CONFORMANCE  the conformance suite's: "ldxw %r0, [%r1+4]"
 *
 * A line is prefixed with "IDX: " (unless no_index) and "(61) " (the opcode, with
 * opcodes), as in the verifier log. Every name, operator and width comes from the
 * instruction's isa.def row (CONF and KOP columns, FMT, BITS).
 *
 * A slot that is not a valid instruction — unknown opcode, a reserved field not
 * zero, a register above r10, lddw without a proper second slot — is written raw as
 * ".insn 0xCODE, DST, SRC, OFF, IMM", which the assembler reads back to the same
 * slot; bpfvm_disasm_insn then returns -EINVAL, while the listing just goes on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "log.h"

/* Bounded output: pos keeps counting past the end, trunc says it did. */
struct out {
	char *buf;
	size_t len, pos;
	bool trunc;
};

static void put(struct out *o, const char *fmt, ...) BPFVM_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= room)
		o->trunc = true;
	o->pos += (size_t)n;
}

/* Options, as far as the caller's struct has them. */
struct dopts {
	bool conf, opcodes, no_index;
};

static struct dopts read_opts(const struct bpfvm_disasm_opts *opts)
{
	struct dopts d = { 0 };
#define HAS(f) (opts && opts->sz >= offsetof(struct bpfvm_disasm_opts, f) + sizeof(opts->f))
	if (HAS(syntax))
		d.conf = opts->syntax == BPFVM_SYNTAX_CONFORMANCE;
	if (HAS(opcodes))
		d.opcodes = opts->opcodes;
	if (HAS(no_index))
		d.no_index = opts->no_index;
#undef HAS
	return d;
}

/* The helper's registered name if it reads back as one token, else "unknown"
 * (the kernel's word for a helper it does not know). */
static const char *helper_name(int32_t id)
{
	const char *name = bpfvm_helper__name((uint32_t)id);
	size_t n = 0;
	if (!name || !(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
		       (name[0] >= 'a' && name[0] <= 'z')))
		return "unknown";
	for (; name[n]; n++) {
		char ch = name[n];
		bool ok = ch == '_' || ch == '.' || (ch >= '0' && ch <= '9') ||
			  (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
		if (!ok || n >= 128)
			return "unknown";
	}
	return name;
}

/* The value of lddw: a 64-bit number, or its pseudo source spelled after the row's
 * KOP (docs/asm.md). False if the second slot's imm is not allowed for it. */
static bool lddw_value(const struct isa_row *r, int32_t lo, int32_t hi, char *buf, size_t len)
{
	const char *k = r->kop;
	if (!*k) {
		uint64_t v = (uint64_t)(uint32_t)lo | ((uint64_t)(uint32_t)hi << 32);
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
	} else if (!strcmp(k, "map_fd") || !strcmp(k, "map_idx")) {
		if (hi)
			return false;
		snprintf(buf, len, "map[%s:%d]", k[4] == 'f' ? "fd" : "idx", lo);
	} else if (!strcmp(k, "map_value") || !strcmp(k, "map_idx_value")) {
		if (hi >= 0)
			snprintf(buf, len, "map[%s:%d][0]+%d", k[4] == 'v' ? "fd" : "idx", lo, hi);
		else
			snprintf(buf, len, "map[%s:%d][0]+0x%x", k[4] == 'v' ? "fd" : "idx", lo,
				 (uint32_t)hi);
	} else if (!strcmp(k, "btf_var")) {
		if (hi)
			snprintf(buf, len, "btf_var[id:%d,fd:%d]", lo, hi);
		else
			snprintf(buf, len, "btf_var[id:%d]", lo);
	} else if (!strcmp(k, "func")) {
		if (hi)
			return false;
		snprintf(buf, len, "func[pc%+d]", lo);
	} else {
		return false;
	}
	return true;
}

/* "atomic64_fetch_add" / "atomic_xchg" ... from the CONF column
 * ("lock fetch add32" -> "atomic_fetch_add"). */
static void atomic_fn(const struct isa_row *r, char *buf, size_t len)
{
	const char *op = r->conf + (strncmp(r->conf, "lock ", 5) ? 0 : 5);
	size_t n = strlen(op);
	if (r->bits == 32 && n > 2 && !strcmp(op + n - 2, "32"))
		n -= 2;
	int k = snprintf(buf, len, "atomic%s_", r->bits == 64 ? "64" : "");
	for (size_t i = 0; i < n && k > 0 && (size_t)k + 1 < len; i++)
		buf[k++] = op[i] == ' ' ? '_' : op[i];
	if (k > 0 && (size_t)k < len)
		buf[k] = 0;
}

static void kernel_insn(struct out *o, const struct bpf_insn *in, const struct isa_row *r,
			const char *val)
{
	char w = r->bits == 32 ? 'w' : 'r';
	int d = in->dst_reg, s = in->src_reg;
	char fn[64];

	switch (r->fmt) {
	case ISA_FMT_ALU_K:
		put(o, "%c%d %s= %d", w, d, r->kop, in->imm);
		break;
	case ISA_FMT_ALU_X:
		put(o, "%c%d %s= %c%d", w, d, r->kop, w, s);
		break;
	case ISA_FMT_MOVSX:
		put(o, "%c%d = (%s)%c%d", w, d, r->kop, w, s);
		break;
	case ISA_FMT_NEG:
		put(o, "%c%d = -%c%d", w, d, w, d);
		break;
	case ISA_FMT_END:
		put(o, "r%d = %s%d r%d", d, r->kop, r->bits, d);
		break;
	case ISA_FMT_LDDW:
		put(o, "r%d = %s ll", d, val);
		break;
	case ISA_FMT_LDABS:
		put(o, "r0 = *(%s *)skb[%d]", r->kop, in->imm);
		break;
	case ISA_FMT_LDIND:
		put(o, "r0 = *(%s *)skb[r%d + %d]", r->kop, s, in->imm);
		break;
	case ISA_FMT_LDX:
		put(o, "r%d = *(%s *)(r%d %+d)", d, r->kop, s, in->off);
		break;
	case ISA_FMT_ST:
		put(o, "*(%s *)(r%d %+d) = %d", r->kop, d, in->off, in->imm);
		break;
	case ISA_FMT_STX:
		put(o, "*(%s *)(r%d %+d) = r%d", r->kop, d, in->off, s);
		break;
	case ISA_FMT_ATOMIC:
		if (!(r->selval & BPF_FETCH)) {
			put(o, "lock *(u%d *)(r%d %+d) %s= r%d", r->bits, d, in->off, r->kop, s);
			break;
		}
		atomic_fn(r, fn, sizeof(fn));
		if (!strcmp(r->kop, "cmpxchg"))
			put(o, "r0 = %s((u%d *)(r%d %+d), r0, r%d)", fn, r->bits, d, in->off, s);
		else
			put(o, "r%d = %s((u%d *)(r%d %+d), r%d)", s, fn, r->bits, d, in->off, s);
		break;
	case ISA_FMT_JA:
		put(o, "goto pc%+d", in->off);
		break;
	case ISA_FMT_JA32:
		put(o, "gotol pc%+d", in->imm);
		break;
	case ISA_FMT_JCOND_K:
		put(o, "if %c%d %s 0x%x goto pc%+d", w, d, r->kop, (uint32_t)in->imm, in->off);
		break;
	case ISA_FMT_JCOND_X:
		put(o, "if %c%d %s %c%d goto pc%+d", w, d, r->kop, w, s, in->off);
		break;
	case ISA_FMT_CALL:
		put(o, "call %s#%d", helper_name(in->imm), in->imm);
		break;
	case ISA_FMT_CALL_LOCAL:
		put(o, "call pc%+d", in->imm);
		break;
	case ISA_FMT_CALL_KFUNC:
		if (in->off)
			put(o, "call kfunc[id:%d,fd_idx:%d]", in->imm, in->off);
		else
			put(o, "call kfunc[id:%d]", in->imm);
		break;
	case ISA_FMT_CALLX:
		put(o, "callx r%d", d);
		break;
	case ISA_FMT_EXIT:
		put(o, "exit");
		break;
	}
}

static void conf_insn(struct out *o, const struct bpf_insn *in, const struct isa_row *r,
		      const char *val)
{
	int d = in->dst_reg, s = in->src_reg;

	switch (r->fmt) {
	case ISA_FMT_ALU_K:
		put(o, "%s %%r%d, %d", r->conf, d, in->imm);
		break;
	case ISA_FMT_ALU_X:
	case ISA_FMT_MOVSX:
		put(o, "%s %%r%d, %%r%d", r->conf, d, s);
		break;
	case ISA_FMT_NEG:
	case ISA_FMT_END:
		put(o, "%s %%r%d", r->conf, d);
		break;
	case ISA_FMT_LDDW:
		put(o, "%s %%r%d, %s", r->conf, d, val);
		break;
	case ISA_FMT_LDABS:
		put(o, "%s %d", r->conf, in->imm);
		break;
	case ISA_FMT_LDIND:
		put(o, "%s %%r%d, %d", r->conf, s, in->imm);
		break;
	case ISA_FMT_LDX:
		put(o, "%s %%r%d, [%%r%d%+d]", r->conf, d, s, in->off);
		break;
	case ISA_FMT_ST:
		put(o, "%s [%%r%d%+d], %d", r->conf, d, in->off, in->imm);
		break;
	case ISA_FMT_STX:
	case ISA_FMT_ATOMIC:
		put(o, "%s [%%r%d%+d], %%r%d", r->conf, d, in->off, s);
		break;
	case ISA_FMT_JA:
		put(o, "%s %+d", r->conf, in->off);
		break;
	case ISA_FMT_JA32:
		put(o, "%s %+d", r->conf, in->imm);
		break;
	case ISA_FMT_JCOND_K:
		put(o, "%s %%r%d, 0x%x, %+d", r->conf, d, (uint32_t)in->imm, in->off);
		break;
	case ISA_FMT_JCOND_X:
		put(o, "%s %%r%d, %%r%d, %+d", r->conf, d, s, in->off);
		break;
	case ISA_FMT_CALL:
		put(o, "%s %d", r->conf, in->imm);
		break;
	case ISA_FMT_CALL_LOCAL:
		put(o, "%s %+d", r->conf, in->imm);
		break;
	case ISA_FMT_CALL_KFUNC:
		if (in->off)
			put(o, "%s %d, %d", r->conf, in->imm, in->off);
		else
			put(o, "%s %d", r->conf, in->imm);
		break;
	case ISA_FMT_CALLX:
		put(o, "%s %%r%d", r->conf, d);
		break;
	case ISA_FMT_EXIT:
		put(o, "%s", r->conf);
		break;
	}
}

/* Writes slot idx without prefixes. Returns the slots used, or -EINVAL with the
 * raw form written and the reason in why. */
static int dis_body(const struct bpf_insn *insns, size_t cnt, size_t idx, bool conf,
		    struct out *o, char *why, size_t whylen)
{
	const struct bpf_insn *in = &insns[idx];
	char val[96] = "";
	int row = isa_decode(in), slots = 1;

	if (row < 0) {
		snprintf(why, whylen, "unknown opcode 0x%02x", in->code);
		goto raw;
	}
	if (isa_check_fields(in, row, why, whylen))
		goto raw;
	if (in->dst_reg > 10 || in->src_reg > 10) {
		snprintf(why, whylen, "register r%u does not exist",
			 in->dst_reg > 10 ? in->dst_reg : in->src_reg);
		goto raw;
	}
	const struct isa_row *r = &isa_rows[row];
	if (r->fmt == ISA_FMT_LDDW) {
		const struct bpf_insn *hi = idx + 1 < cnt ? &insns[idx + 1] : NULL;
		if (!hi) {
			snprintf(why, whylen, "lddw is missing its second slot");
			goto raw;
		}
		if (hi->code || hi->dst_reg || hi->src_reg || hi->off) {
			snprintf(why, whylen, "second slot of lddw must hold only imm");
			goto raw;
		}
		if (!lddw_value(r, in->imm, hi->imm, val, sizeof(val))) {
			snprintf(why, whylen, "second slot of lddw (%s) must be 0", r->kop);
			goto raw;
		}
		slots = 2;
	}
	if (conf)
		conf_insn(o, in, r, val);
	else
		kernel_insn(o, in, r, val);
	return slots;
raw:
	put(o, ".insn 0x%02x, %u, %u, %d, %d", in->code, in->dst_reg, in->src_reg, in->off,
	    in->imm);
	return -EINVAL;
}

/* Prefixes and body of one line. */
static int dis_line(const struct bpf_insn *insns, size_t cnt, size_t idx, const struct dopts *d,
		    struct out *o, char *why, size_t whylen)
{
	if (!d->no_index)
		put(o, "%zu: ", idx);
	if (d->opcodes)
		put(o, "(%02x) ", insns[idx].code);
	return dis_body(insns, cnt, idx, d->conf, o, why, whylen);
}

int bpfvm_disasm_insn(const struct bpf_insn *insns, size_t cnt, size_t idx, char *buf,
		      size_t len, const struct bpfvm_disasm_opts *opts)
{
	if (!buf || !len)
		return vm_err(-EINVAL, "disasm: no output buffer");
	buf[0] = 0;
	if (!insns || idx >= cnt)
		return vm_err(-EINVAL, "disasm: instruction %zu out of range (program of %zu)", idx,
			      cnt);
	struct dopts d = read_opts(opts);
	struct out o = { buf, len, 0, false };
	char why[160] = "";
	int r = dis_line(insns, cnt, idx, &d, &o, why, sizeof(why));
	if (o.trunc)
		return vm_err(-ENOSPC, "disasm: instruction %zu needs %zu bytes, buffer has %zu", idx,
			      o.pos + 1, len);
	if (r < 0)
		return vm_err(r, "disasm: instruction %zu: %s", idx, why);
	return r;
}

char *bpfvm_disasm(const struct bpf_insn *insns, size_t cnt, const struct bpfvm_disasm_opts *opts)
{
	if (!insns && cnt) {
		vm_err(-EINVAL, "disasm: no instructions given");
		errno = EINVAL;
		return NULL;
	}
	struct dopts d = read_opts(opts);
	size_t cap = 256, pos = 0;
	char *text = malloc(cap);
	if (!text)
		goto nomem;
	text[0] = 0;
	for (size_t idx = 0; idx < cnt;) {
		char line[512], why[160];
		struct out o = { line, sizeof(line), 0, false };
		if (idx)
			put(&o, "\n");
		int r = dis_line(insns, cnt, idx, &d, &o, why, sizeof(why));
		if (o.trunc) {	/* cannot happen: names are capped at 128 characters */
			free(text);
			vm_err(-ENOSPC, "disasm: instruction %zu does not fit a line", idx);
			errno = ENOSPC;
			return NULL;
		}
		if (pos + o.pos + 1 > cap) {
			while (pos + o.pos + 1 > cap)
				cap *= 2;
			char *t = realloc(text, cap);
			if (!t)
				goto nomem;
			text = t;
		}
		memcpy(text + pos, line, o.pos + 1);
		pos += o.pos;
		idx += r > 0 ? (size_t)r : 1;
	}
	return text;
nomem:
	free(text);
	vm_err(-ENOMEM, "disasm: out of memory");
	errno = ENOMEM;
	return NULL;
}
