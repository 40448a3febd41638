/*
 * reloc.c — relocation: linking each program with the subprograms it calls, turning
 * lddw relocations into symbolic map references, and CO-RE (BPF Compile Once – Run
 * Everywhere) field/type/enum relocations from .BTF.ext.
 *
 * Linking. A program starts as its entry function's instructions. Walking every
 * instruction of every function linked so far (the list grows as we go):
 *  - call src=1: the callee is, with a relocation (R_BPF_64_32, or the older 2) on
 *    the call, instruction sym.value/8 + imm + 1 of the symbol's section — clang
 *    writes imm = -1 for a global function symbol and the callee's index - 1 for a
 *    static one (section symbol); without a relocation (a call clang resolved inside
 *    one section) it is pc + imm + 1 of the same section;
 *  - lddw with R_BPF_64_64 against a symbol in an executable section: a callback's
 *    address (imm holds the byte addend for section symbols) → src=4;
 *  - lddw against a map → src=5, imm = map index; against global data → src=6,
 *    imm = map index, second slot imm = sym.value + addend.
 * A callee not yet in the program is appended; call/lddw imm become relative
 * (target - (pc + 1)) as the kernel expects. Any other relocation in code is an error.
 *
 * CO-RE. Each record names an instruction (section + byte offset), a local root
 * type, an access string "0:1:2" and a kind. We compute the value from the object's
 * BTF (the "local" value: clang already put it in the instruction, which we check)
 * and from the target BTF (by names: candidates are same-kind types whose names
 * agree up to a "___flavour" suffix; members are matched by name, arrays by index),
 * then patch the instruction (ALU imm, memory off or lddw imm64). A field, type or
 * enumerator the target lacks makes *_EXISTS 0; other kinds then poison the
 * instruction (an invalid helper call, as libbpf does). Without a target BTF the
 * object's own BTF is the target — except for types only the kernel can describe
 * (task_struct & co., see kernel_types[]), which need one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "loader/object.h"
#include "log.h"
#include "prog.h"

#define CALL_INSN	(BPF_JMP | BPF_CALL)
#define LDDW_INSN	(BPF_LD | BPF_IMM | BPF_DW)
#define CORE_POISON	VM_CORE_POISON	/* libbpf's helper id for a failed relocation */
#define CORE_MAX_ACCESS	64

struct where {		/* an instruction, for messages */
	const struct elf_sec *sec;
	uint32_t off;
};
#define WHERE_FMT	"loader: section %u (%s): instruction %u (offset 0x%x): "
#define WHERE_ARGS(w)	(w).sec->idx, (w).sec->name, (w).off / 8, (w).off

static const struct elf_rel *find_rel(const struct ldr_code *c, uint64_t off)
{
	size_t lo = 0, hi = c->rel_cnt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->rels[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->rel_cnt && c->rels[lo].offset == off ? &c->rels[lo] : NULL;
}

/* Index of the function starting at byte off in c, or -1. */
static int func_at(const struct ldr_code *c, int64_t off)
{
	for (size_t i = 0; i < c->func_cnt; i++)
		if (c->funcs[i].off == off)
			return (int)i;
	return -1;
}

/* Start of function fi of c in prog, appending it if it is not linked yet. */
static int add_func(struct ldr_prog *p, const struct ldr_code *c, size_t fi, uint32_t *start)
{
	const struct ldr_fsym *f = &c->funcs[fi];
	for (size_t i = 0; i < p->func_cnt; i++)
		if (p->funcs[i].sec == c->sec && p->funcs[i].sec_off == f->off) {
			*start = p->funcs[i].start;
			return 0;
		}
	size_t n = f->size / 8;
	if (p->insn_cnt + n > BPFVM_MAX_INSNS)
		return vm_err(-E2BIG, "loader: program '%s': more than %d instructions once '%s' is "
			      "linked", p->name, BPFVM_MAX_INSNS, f->name);
	struct bpf_insn *insns = realloc(p->insns, (p->insn_cnt + n) * sizeof(*insns));
	if (!insns)
		return -ENOMEM;
	p->insns = insns;
	struct ldr_func *funcs = realloc(p->funcs, (p->func_cnt + 1) * sizeof(*funcs));
	if (!funcs)
		return -ENOMEM;
	p->funcs = funcs;
	memcpy(insns + p->insn_cnt, c->insns + f->off / 8, n * sizeof(*insns));
	*start = (uint32_t)p->insn_cnt;
	funcs[p->func_cnt++] = (struct ldr_func){ f->name, *start, (uint32_t)n, c->sec, f->off };
	p->insn_cnt += n;
	return 0;
}

/* Links the function at byte offset target_off of section sec into p; *rel =
 * its start relative to idx + 1. */
static int link_target(struct ldr_build *b, struct ldr_prog *p, struct where w, uint32_t sec,
		       int64_t target_off, uint32_t idx, int32_t *rel)
{
	const struct ldr_code *c = ldr_code_of(b, sec);
	int fi = c ? func_at(c, target_off) : -1;
	if (fi < 0)
		return vm_err(-EINVAL, WHERE_FMT "target offset %" PRId64 " in section %u (%s) is not "
			      "the start of a function", WHERE_ARGS(w), target_off, sec,
			      b->obj->elf.secs[sec].name);
	uint32_t start;
	int err = add_func(p, c, (size_t)fi, &start);
	*rel = (int32_t)((int64_t)start - (int64_t)idx - 1);
	return err;
}

static int add_ref(struct ldr_prog *p, uint32_t insn, uint32_t map, uint32_t off, bool value)
{
	struct ldr_map_ref *r = realloc(p->map_refs, (p->map_ref_cnt + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	p->map_refs = r;
	r[p->map_ref_cnt++] = (struct ldr_map_ref){ insn, map, off, value };
	return 0;
}

static int link_call(struct ldr_build *b, struct ldr_prog *p, struct where w,
		     const struct ldr_code *c, const struct elf_rel *r, uint32_t idx)
{
	const struct elf_file *ef = &b->obj->elf;
	int32_t imm = p->insns[idx].imm, rel;
	uint32_t sec = c->sec;
	int64_t target;
	if (r) {
		const struct elf_sym *sym = &ef->syms[r->sym];
		if (r->type != R_BPF_64_32 && r->type != R_BPF_64_ABS64)
			return vm_err(-EINVAL, WHERE_FMT "call has relocation type %u", WHERE_ARGS(w),
				      r->type);
		if (sym->shndx == ELF_SHN_UNDEF || !ldr_code_of(b, sym->shndx) || sym->value % 8)
			return vm_err(-EINVAL, WHERE_FMT "call to '%s', which is not a function in this "
				      "object", WHERE_ARGS(w), sym->name);
		sec = sym->shndx;
		target = (int64_t)sym->value + ((int64_t)imm + 1) * 8;
	} else {
		target = (int64_t)w.off + ((int64_t)imm + 1) * 8;
	}
	int err = link_target(b, p, w, sec, target, idx, &rel);
	if (!err)
		p->insns[idx].imm = rel;
	return err;
}

static int link_lddw(struct ldr_build *b, struct ldr_prog *p, struct where w,
		     const struct elf_rel *r, uint32_t idx)
{
	struct ldr_object *obj = b->obj;
	const struct elf_sym *sym = &obj->elf.syms[r->sym];
	struct bpf_insn *in = &p->insns[idx];
	int64_t off = (int64_t)sym->value + in->imm;
	int err;
	if (r->type != R_BPF_64_64)
		return vm_err(-EINVAL, WHERE_FMT "lddw has relocation type %u", WHERE_ARGS(w), r->type);
	if (sym->shndx == ELF_SHN_UNDEF)
		return vm_err(-EINVAL, WHERE_FMT "lddw refers to undefined symbol '%s' (externs, "
			      ".kconfig and .ksyms are not supported)", WHERE_ARGS(w), sym->name);
	if (ldr_code_of(b, sym->shndx)) {	/* a callback's address */
		int32_t rel;
		if ((err = link_target(b, p, w, sym->shndx, off, idx, &rel)))
			return err;
		in = &p->insns[idx];
		in[0].src_reg = BPF_PSEUDO_FUNC;
		in[0].imm = rel;
		in[1].imm = 0;
		return 0;
	}
	for (size_t mi = 0; mi < obj->map_cnt; mi++) {
		const struct ldr_map *m = &obj->maps[mi];
		if (m->sec != sym->shndx)
			continue;
		bool data = m->origin == LDR_MAP_DATA || m->origin == LDR_MAP_RODATA ||
			    m->origin == LDR_MAP_BSS;
		if (data) {
			if (off < 0 || off > m->value_size)
				return vm_err(-EINVAL, WHERE_FMT "offset %" PRId64 " of '%s' is outside %s "
					      "(%u bytes)", WHERE_ARGS(w), off, sym->name, m->name,
					      m->value_size);
			in[0].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
			in[0].imm = (int32_t)mi;
			in[1].imm = (int32_t)off;
			return add_ref(p, idx, (uint32_t)mi, (uint32_t)off, true);
		}
		if (m->sec_off == (uint64_t)off) {
			in[0].src_reg = BPF_PSEUDO_MAP_IDX;
			in[0].imm = (int32_t)mi;
			in[1].imm = 0;
			return add_ref(p, idx, (uint32_t)mi, 0, false);
		}
	}
	return vm_err(-EINVAL, WHERE_FMT "lddw refers to '%s' (section %u, offset %" PRId64 "), which "
		      "is not a map, global data or a function", WHERE_ARGS(w), sym->name,
		      sym->shndx, off);
}

int ldr_link_prog(struct ldr_build *b, struct ldr_prog *prog, const struct ldr_code *code,
		  size_t fi)
{
	uint32_t start;
	int err = add_func(prog, code, fi, &start);
	for (size_t k = 0; !err && k < prog->func_cnt; k++) {
		struct ldr_func f = prog->funcs[k];	/* copy: funcs grows */
		const struct ldr_code *c = ldr_code_of(b, f.sec);
		struct where w = { &b->obj->elf.secs[f.sec], 0 };
		for (uint32_t j = 0; !err && j < f.cnt; j++) {
			uint32_t idx = f.start + j;
			w.off = f.sec_off + j * 8;
			const struct elf_rel *r = find_rel(c, w.off);
			const struct bpf_insn in = prog->insns[idx];
			if (in.code == CALL_INSN && in.src_reg == BPF_PSEUDO_CALL) {
				err = link_call(b, prog, w, c, r, idx);
			} else if (in.code == LDDW_INSN) {
				if (j + 1 >= f.cnt)
					return vm_err(-EINVAL, WHERE_FMT "lddw is cut off by the end of "
						      "function '%s'", WHERE_ARGS(w), f.name);
				if (find_rel(c, w.off + 8))
					return vm_err(-EINVAL, WHERE_FMT "relocation on the second half "
						      "of lddw", WHERE_ARGS(w));
				if (r) {
					err = link_lddw(b, prog, w, r, idx);
				} else if (in.src_reg == BPF_PSEUDO_FUNC) {
					int32_t rel;
					int64_t t = (int64_t)w.off + ((int64_t)in.imm + 1) * 8;
					err = link_target(b, prog, w, f.sec, t, idx, &rel);
					if (!err)
						prog->insns[idx].imm = rel;
				}
				j++;
			} else if (r) {
				return vm_err(-EINVAL, WHERE_FMT "relocation (type %u, symbol '%s') on an "
					      "instruction that is neither lddw nor a call",
					      WHERE_ARGS(w), r->type, b->obj->elf.syms[r->sym].name);
			}
		}
	}
	return err;
}

/* ---- CO-RE ---------------------------------------------------------------------------- */

/* Types that exist only in a kernel's BTF: resolving them against the object's own
 * copy would silently use whatever layout the object was compiled with. */
static const char *const kernel_types[] = {
	"task_struct", "sk_buff", "sock", "sock_common", "file", "inode", "dentry",
	"mm_struct", "cred", "net_device", "super_block", "vfsmount", "path", "socket",
	"pid", "nsproxy", "cgroup", "css_set", "bpf_map", "bpf_prog",
};

/* Length of name without a "___flavour" suffix. */
static size_t essence_len(const char *name)
{
	const char *s = strstr(name, "___");
	return s ? (size_t)(s - name) : strlen(name);
}

static bool same_essence(const char *a, const char *b)
{
	size_t n = essence_len(a);
	return n == essence_len(b) && strncmp(a, b, n) == 0;
}

static bool is_kernel_type(const char *name)
{
	for (size_t i = 0; i < sizeof(kernel_types) / sizeof(kernel_types[0]); i++)
		if (same_essence(name, kernel_types[i]))
			return true;
	return false;
}

static bool is_field_kind(uint32_t k) { return k <= BTF_CORE_FIELD_RSHIFT_U64; }
static bool is_enum_kind(uint32_t k)
{
	return k == BTF_CORE_ENUMVAL_EXISTS || k == BTF_CORE_ENUMVAL_VALUE;
}

struct spec {
	uint32_t acc[CORE_MAX_ACCESS];
	int n;
};

static int parse_access(const char *s, struct spec *sp)
{
	sp->n = 0;
	while (*s) {
		uint64_t v = 0;
		if (*s < '0' || *s > '9' || sp->n == CORE_MAX_ACCESS)
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (uint64_t)(*s++ - '0');
			if (v > UINT32_MAX)
				return -EINVAL;
		}
		sp->acc[sp->n++] = (uint32_t)v;
		if (*s == ':')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return sp->n ? 0 : -EINVAL;
}

/* Where the field of a field relocation lies. */
struct field {
	uint64_t bit_off;
	uint32_t type;		/* the field's type id */
	uint32_t bf_size;	/* bitfield bits, 0 if not a bitfield */
};

/* Walks sp over root type id of btf. With local == NULL the accessors are indices
 * (the object's own BTF); otherwise member accessors are matched by the names they
 * have in local (whose root is local_root). 1 = found, 0 = no such field, <0 error. */
static int walk_field(const struct btf *btf, uint32_t root, const struct btf *local,
		      uint32_t local_root, const struct spec *sp, struct field *f)
{
	uint64_t sz;
	const struct btf_ty *t, *lt = NULL;
	uint32_t id = root, lid = local_root;
	if (btf_type_size(btf, root, &sz))
		return -EINVAL;
	f->bit_off = (uint64_t)sp->acc[0] * sz * 8;
	f->bf_size = 0;
	for (int i = 1; i < sp->n; i++) {
		if (!(t = btf_skip_mods(btf, id, &id)) || (local && !(lt = btf_skip_mods(local, lid, &lid))))
			return -EINVAL;
		uint32_t a = sp->acc[i];
		if (t->kind == BTFK_STRUCT || t->kind == BTFK_UNION) {
			int mi = (int)a;
			if (local) {
				if (lt->kind != BTFK_STRUCT && lt->kind != BTFK_UNION)
					return -EINVAL;
				if (a >= lt->vlen)
					return -EINVAL;
				lid = lt->items[a].type;
				mi = btf_member_index(t, lt->items[a].name);
				if (mi < 0)
					return 0;
			} else if (a >= t->vlen) {
				return -EINVAL;
			}
			f->bit_off += t->items[mi].off;
			f->bf_size = t->items[mi].size;
			id = t->items[mi].type;
		} else if (t->kind == BTFK_ARRAY) {
			if (local) {
				if (lt->kind != BTFK_ARRAY)
					return -EINVAL;
				lid = lt->ref;
			}
			if (a >= t->nelems && t->nelems)
				return local ? 0 : -EINVAL;
			if (btf_type_size(btf, t->ref, &sz))
				return -EINVAL;
			f->bit_off += (uint64_t)a * sz * 8;
			f->bf_size = 0;
			id = t->ref;
		} else {
			return local ? 0 : -EINVAL;
		}
		if (f->bit_off > UINT32_MAX * 8ull)
			return -EINVAL;
	}
	f->type = id;
	return 1;
}

/* The value of a field relocation of kind k. */
static int field_value(const struct btf *btf, const struct field *f, uint32_t k, uint64_t *v)
{
	uint64_t byte_sz, byte_off, bit_sz;
	const struct btf_ty *t = btf_skip_mods(btf, f->type, NULL);
	if (!t || btf_type_size(btf, f->type, &byte_sz))
		return -EINVAL;
	if (f->bf_size) {
		if (byte_sz == 0 || byte_sz > 8)
			return -EINVAL;
		bit_sz = f->bf_size;
		byte_off = f->bit_off / 8 / byte_sz * byte_sz;
		while (f->bit_off + bit_sz - byte_off * 8 > byte_sz * 8) {
			if (byte_sz >= 8)
				return -EINVAL;
			byte_sz *= 2;
			byte_off = f->bit_off / 8 / byte_sz * byte_sz;
		}
	} else {
		byte_off = f->bit_off / 8;
		bit_sz = byte_sz * 8;
	}
	switch (k) {
	case BTF_CORE_FIELD_BYTE_OFFSET: *v = byte_off; break;
	case BTF_CORE_FIELD_BYTE_SIZE: *v = byte_sz; break;
	case BTF_CORE_FIELD_EXISTS: *v = 1; break;
	case BTF_CORE_FIELD_SIGNED:
		*v = (t->kind == BTFK_INT && (t->int_enc & BTF_INT_SIGNED)) ||
		     ((t->kind == BTFK_ENUM || t->kind == BTFK_ENUM64) && t->kflag);
		break;
	case BTF_CORE_FIELD_LSHIFT_U64:
		if (f->bit_off + bit_sz - byte_off * 8 > 64)
			return -EINVAL;
		*v = 64 - (f->bit_off + bit_sz - byte_off * 8);
		break;
	default: /* RSHIFT */
		if (bit_sz > 64)
			return -EINVAL;
		*v = 64 - bit_sz;
		break;
	}
	return 0;
}

/* Computes the value of relocation kind k over root type id of btf; when local is
 * set, matches local's root (local_root) by names. 1 = value, 0 = no match. */
static int core_value(const struct btf *btf, uint32_t root, const struct btf *local,
		      uint32_t local_root, uint32_t k, const struct spec *sp, uint64_t *v)
{
	if (is_field_kind(k)) {
		struct field f;
		int r = walk_field(btf, root, local, local_root, sp, &f);
		if (r <= 0)
			return r;
		return field_value(btf, &f, k, v) ? -EINVAL : 1;
	}
	const struct btf_ty *t = btf_skip_mods(btf, root, &root);
	if (!t)
		return -EINVAL;
	if (is_enum_kind(k)) {
		const struct btf_ty *lt = local ? btf_skip_mods(local, local_root, NULL) : t;
		uint32_t a = sp->acc[0];
		if (!lt || (lt->kind != BTFK_ENUM && lt->kind != BTFK_ENUM64) || a >= lt->vlen ||
		    (t->kind != BTFK_ENUM && t->kind != BTFK_ENUM64))
			return -EINVAL;
		for (uint32_t i = 0; i < t->vlen; i++)
			if (strcmp(t->items[i].name, lt->items[a].name) == 0) {
				*v = k == BTF_CORE_ENUMVAL_EXISTS ? 1 : (uint64_t)t->items[i].val;
				return 1;
			}
		return 0;
	}
	uint64_t sz;
	switch (k) {
	case BTF_CORE_TYPE_ID_LOCAL: case BTF_CORE_TYPE_ID_TARGET: *v = root; return 1;
	case BTF_CORE_TYPE_EXISTS: case BTF_CORE_TYPE_MATCHES: *v = 1; return 1;
	default: /* TYPE_SIZE */
		if (btf_type_size(btf, root, &sz))
			return -EINVAL;
		*v = sz;
		return 1;
	}
}

static bool kinds_compatible(unsigned a, unsigned b)
{
	bool ea = a == BTFK_ENUM || a == BTFK_ENUM64, eb = b == BTFK_ENUM || b == BTFK_ENUM64;
	return a == b || (ea && eb);
}

/* The value of the relocation against the target BTF: the first candidate that
 * matches. 1 = found, 0 = no candidate matched. */
static int core_target(const struct btf *tgt, const struct btf *local, uint32_t local_root,
		       uint32_t k, const struct spec *sp, uint64_t *v)
{
	const struct btf_ty *lt = btf_skip_mods(local, local_root, NULL);
	if (!lt)
		return -EINVAL;
	if (lt->name[0] == 0)	/* anonymous: can't be looked up by name */
		return -EINVAL;
	for (uint32_t id = 1; id < tgt->nr_types; id++) {
		const struct btf_ty *t = &tgt->types[id];
		if (!kinds_compatible(t->kind, lt->kind) || !same_essence(t->name, lt->name))
			continue;
		int r = core_value(tgt, id, local, local_root, k, sp, v);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Writes val into the instruction at insns[i] (an ALU imm, a memory offset or an
 * lddw's 64-bit imm), after checking that it holds orig. */
static int patch(struct bpf_insn *insns, size_t cnt, size_t i, uint64_t orig, uint64_t val,
		 const char *where)
{
	struct bpf_insn *in = &insns[i];
	uint8_t cls = in->code & 7;
	if (in->code == LDDW_INSN) {
		if (i + 1 >= cnt)
			return vm_err(-EINVAL, "%s: lddw truncated", where);
		uint64_t cur = (uint32_t)in[0].imm | (uint64_t)(uint32_t)in[1].imm << 32;
		if (cur != orig)
			goto mismatch;
		in[0].imm = (int32_t)(uint32_t)val;
		in[1].imm = (int32_t)(uint32_t)(val >> 32);
		return 0;
	}
	if ((cls == BPF_ALU || cls == BPF_ALU64) && !(in->code & BPF_X)) {
		if ((uint64_t)(int64_t)in->imm != orig && (uint32_t)in->imm != orig)
			goto mismatch;
		if (val > UINT32_MAX)
			return vm_err(-EINVAL, "%s: value %" PRIu64 " does not fit the immediate", where,
				      val);
		in->imm = (int32_t)(uint32_t)val;
		return 0;
	}
	if (cls == BPF_LDX || cls == BPF_ST || cls == BPF_STX) {
		if ((int64_t)in->off != (int64_t)orig)
			goto mismatch;
		if (val > INT16_MAX)
			return vm_err(-EINVAL, "%s: offset %" PRIu64 " does not fit the instruction",
				      where, val);
		in->off = (int16_t)val;
		return 0;
	}
	return vm_err(-EINVAL, "%s: instruction (opcode 0x%02x) cannot be relocated", where,
		      in->code);
mismatch:
	return vm_err(-EINVAL, "%s: instruction does not hold the expected local value %" PRIu64,
		      where, orig);
}

static void poison(struct bpf_insn *insns, size_t cnt, size_t i)
{
	bool wide = insns[i].code == LDDW_INSN && i + 1 < cnt;
	insns[i] = BPFVM_INSN(CALL_INSN, 0, 0, 0, CORE_POISON);
	if (wide)
		insns[i + 1] = BPFVM_INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
}

static struct ldr_code *code_by_name(struct ldr_build *b, const char *name)
{
	for (size_t i = 0; i < b->code_cnt; i++)
		if (strcmp(b->obj->elf.secs[b->code[i].sec].name, name) == 0)
			return &b->code[i];
	return NULL;
}

int ldr_core_apply(struct ldr_build *b)
{
	struct ldr_object *obj = b->obj;
	const struct btf_ext *ext = obj->ext;
	if (!ext || !ext->core_cnt)
		return 0;
	if (!(obj->core = calloc(ext->core_cnt, sizeof(*obj->core))))
		return -ENOMEM;
	for (size_t i = 0; i < ext->core_cnt; i++) {
		const struct btf_ext_core *cr = &ext->cores[i];
		struct ldr_code *c = code_by_name(b, cr->sec);
		char where[160];
		snprintf(where, sizeof(where), "loader: CO-RE relocation %zu in section %s at offset "
			 "0x%x", i, cr->sec, cr->insn_off);
		if (!c || cr->insn_off % 8 || cr->insn_off / 8 >= c->cnt)
			return vm_err(-EINVAL, "%s: not an instruction of an executable section", where);
		const struct btf_ty *root = btf_skip_mods(obj->btf, cr->type_id, NULL);
		struct spec sp;
		if (!root || parse_access(cr->access, &sp))
			return vm_err(-EINVAL, "%s: bad type %u or access string '%s'", where,
				      cr->type_id, cr->access);
		if (!b->target && cr->kind != BTF_CORE_TYPE_ID_LOCAL && is_kernel_type(root->name))
			return vm_err(-EINVAL, "CO-RE relocation %zu in section %s needs target BTF "
				      "(--btf FILE): type '%s' is the kernel's", i, cr->sec,
				      root->name);
		uint64_t local = 0, target = 0;
		if (core_value(obj->btf, cr->type_id, NULL, 0, cr->kind, &sp, &local) != 1)
			return vm_err(-EINVAL, "%s: access '%s' does not fit local type %u (%s)", where,
				      cr->access, cr->type_id, root->name);
		int found = 1;
		if (cr->kind == BTF_CORE_TYPE_ID_LOCAL)
			target = local;
		else if (!b->target)
			target = local;
		else if ((found = core_target(b->target, obj->btf, cr->type_id, cr->kind, &sp,
					      &target)) < 0)
			return vm_err(-EINVAL, "%s: cannot match type %u (%s) in the target BTF", where,
				      cr->type_id, root->name);
		bool exists_kind = cr->kind == BTF_CORE_FIELD_EXISTS ||
				   cr->kind == BTF_CORE_TYPE_EXISTS ||
				   cr->kind == BTF_CORE_ENUMVAL_EXISTS ||
				   cr->kind == BTF_CORE_TYPE_MATCHES;
		struct ldr_core_res *res = &obj->core[obj->core_cnt++];
		*res = (struct ldr_core_res){ cr->sec, cr->insn_off, cr->kind, local, target, false };
		size_t idx = cr->insn_off / 8;
		if (!found && !exists_kind) {
			res->poisoned = true;
			poison(c->insns, c->cnt, idx);
			continue;
		}
		if (!found)
			res->target = target = 0;
		int err = patch(c->insns, c->cnt, idx, local, target, where);
		if (err)
			return err;
	}
	return 0;
}
