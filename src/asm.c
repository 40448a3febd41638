/*
 * asm.c — the text assembler: bpfvm_asm().
 *
 * Two syntaxes are read, detected line by line and freely mixed (docs/asm.md):
 *
 *   conformance   mov %r0, 1 / ldxw %r0, [%r1+4] / jeq %r1, 0x5, +3 / lock add [%r1], %r2
 *   pseudo-C      r0 = 1 / r0 = *(u32 *)(r1 +4) / if r1 == 0x5 goto pc+3 (kernel
 *                 verifier log and llvm-objdump spellings)
 *
 * plus the raw directive ".insn CODE, DST, SRC, OFF, IMM" (or ".insn 0x<u64>") that
 * the disassembler writes for slots that do not decode.
 *
 * Every mnemonic, operator and width comes from isa.def through isa_rows: a
 * conformance mnemonic is a row's CONF string, a pseudo-C operator or access size is
 * a row's KOP string, and the row's FMT says which operands it takes. Nothing here
 * knows an opcode value.
 *
 * Work is done in two passes. Pass 1 reads line by line: it strips comments ('#'
 * at the start of a line or after a blank, ';', '//'), the verifier log's "12: "
 * index and "(61) " opcode prefixes (and llvm-objdump's hex bytes after an index),
 * defines labels ("name:") and appends the instruction's slots; jumps and calls to a
 * label leave a fixup. Pass 2 resolves the fixups (offsets count slots; lddw takes
 * two). A target named "exit" that is not a label names the first exit
 * instruction, as in the conformance suite.
 *
 * The first error stops assembly: one line "FILE:LINE:COL: message" goes to the log
 * (vm_err) and bpfvm_asm returns -EINVAL.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "log.h"

/* ---- state ---------------------------------------------------------------------- */

enum fix_kind {
	FIX_OFF,	/* jump: off = target - (slot + 1), int16 */
	FIX_IMM,	/* gotol, call local, lddw func: imm = target - (slot + 1) */
	FIX_CALL,	/* "call NAME": a local call to label NAME, else helper NAME */
};

struct fixup {
	size_t slot;
	char *name;
	int kind;
	int line, col;
};

struct label {
	char *name;	/* NULL: free hash slot */
	size_t slot;
	int line;
};

struct asm_ctx {
	const char *file;
	int line;		/* current line, 1-based */
	const char *lbase;	/* column 1 of the current line */
	uint8_t hint;		/* opcode of a "(18) " prefix; 0 if none */
	bool has_hint;

	struct bpf_insn *out;
	size_t cnt, cap;
	long long first_exit;	/* slot of the first exit, -1 if none yet */

	struct fixup *fix;
	size_t fix_cnt, fix_cap;

	struct label *lab;	/* open-addressing hash table */
	size_t lab_cnt, lab_cap;

	bool nomem;		/* an allocation failed (reported as -ENOMEM) */
};

static int oom(struct asm_ctx *c)
{
	c->nomem = true;
	return vm_err(-ENOMEM, "%s: out of memory", c->file);
}

/* ---- errors --------------------------------------------------------------------- */

static int err_at_line(struct asm_ctx *c, int line, int col, const char *fmt, ...)
	BPFVM_PRINTF(4, 5);
static int err_at_line(struct asm_ctx *c, int line, int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vm_err(-EINVAL, "%s:%d:%d: %s", c->file, line, col, msg);
}

/* Error at position `at` of the current line. */
static int err(struct asm_ctx *c, const char *at, const char *fmt, ...) BPFVM_PRINTF(3, 4);
static int err(struct asm_ctx *c, const char *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int col = at && at >= c->lbase ? (int)(at - c->lbase) + 1 : 1;
	return vm_err(-EINVAL, "%s:%d:%d: %s", c->file, c->line, col, msg);
}

/* ---- characters and tokens ------------------------------------------------------ */

static bool is_ws(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Identifiers (labels, mnemonics): a letter, '_', '.' or '$', then also digits. */
static bool is_id0(int ch)
{
	return isalpha((unsigned char)ch) || ch == '_' || ch == '.' || ch == '$';
}

static bool is_idc(int ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '$';
}

static bool is_dig(int ch) { return isdigit((unsigned char)ch) != 0; }
static bool is_hex(int ch) { return isxdigit((unsigned char)ch) != 0; }

static const char *skip_ws(const char *p)
{
	while (is_ws(*p))
		p++;
	return p;
}

/* Length of the token at p, for messages: up to a blank or a separator. */
static int tok_len(const char *p)
{
	int n = 0;
	while (p[n] && !is_ws(p[n]) && !strchr(",()[]", p[n]))
		n++;
	return n ? n : (p[0] ? 1 : 0);
}

/* Length of the identifier at p (0 if none). */
static size_t id_len(const char *p)
{
	size_t n = 0;
	if (!is_id0(p[0]))
		return 0;
	while (is_idc(p[n]))
		n++;
	return n;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* Consumes literal s (after blanks) at *pp. */
static bool accept(const char **pp, const char *s)
{
	const char *p = skip_ws(*pp);
	size_t n = strlen(s);
	if (strncmp(p, s, n) != 0)
		return false;
	*pp = p + n;
	return true;
}

/* Consumes the keyword w (a whole identifier) at *pp. */
static bool accept_word(const char **pp, const char *w)
{
	const char *p = skip_ws(*pp);
	size_t n = strlen(w);
	if (strncmp(p, w, n) != 0 || is_idc(p[n]))
		return false;
	*pp = p + n;
	return true;
}

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* Error unless only blanks remain at p. */
static int expect_end(struct asm_ctx *c, const char *p)
{
	p = skip_ws(p);
	if (*p)
		return err(c, p, "unexpected '%.*s' at end of instruction", tok_len(p), p);
	return 0;
}

static int expect(struct asm_ctx *c, const char **pp, const char *s, const char *what)
{
	if (accept(pp, s))
		return 0;
	const char *p = skip_ws(*pp);
	if (!*p)
		return err(c, p, "expected %s at end of line", what);
	return err(c, p, "expected %s, got '%.*s'", what, tok_len(p), p);
}

/* ---- numbers ---------------------------------------------------------------------- */

struct num {
	const char *s, *e;	/* the token as written, sign included */
	uint64_t mag;		/* magnitude */
	bool neg, hex, ovf;	/* ovf: more than 64 bits */
};

/* Parses [+-](0x<hex>|<decimal>) at *pp. Returns 1 on success, 0 if there is no
 * number here (nothing consumed), -1 after logging a malformed number. */
static int parse_num(struct asm_ctx *c, const char **pp, struct num *n)
{
	const char *p = *pp;
	memset(n, 0, sizeof(*n));
	n->s = p;
	if (*p == '-' || *p == '+') {
		n->neg = *p == '-';
		p = skip_ws(p + 1);
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && is_hex(p[2])) {
		n->hex = true;
		for (p += 2; is_hex(*p); p++) {
			int d = is_dig(*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
			if (n->mag >> 60)
				n->ovf = true;
			n->mag = (n->mag << 4) | (uint64_t)d;
		}
	} else if (is_dig(*p)) {
		for (; is_dig(*p); p++) {
			uint64_t d = (uint64_t)(*p - '0');
			if (n->mag > (UINT64_MAX - d) / 10)
				n->ovf = true;
			n->mag = n->mag * 10 + d;
		}
	} else {
		return 0;
	}
	n->e = p;
	if (is_idc(*p)) {
		const char *e = p;
		while (is_idc(*e))
			e++;
		err(c, n->s, "invalid number '%.*s'", (int)(e - n->s), n->s);
		return -1;
	}
	*pp = p;
	return 1;
}

#define NUM_ARGS(n) (int)((n)->e - (n)->s), (n)->s

/* imm: 0x<hex> up to 32 bits (stored as the int32 with those bits), or a decimal
 * int32; a leading '-' negates. */
static int num_imm32(struct asm_ctx *c, const struct num *n, int32_t *out, const char *hint)
{
	bool ok;
	if (n->ovf)
		ok = false;
	else if (!n->neg)
		ok = n->hex ? n->mag <= 0xffffffffu : n->mag <= 0x7fffffffu;
	else
		ok = n->mag <= 0x80000000u;
	if (!ok)
		return err(c, n->s, "immediate %.*s out of range for a 32-bit field%s", NUM_ARGS(n),
			   hint ? hint : "");
	uint32_t u = n->neg ? (uint32_t)(0u - (uint32_t)n->mag) : (uint32_t)n->mag;
	*out = (int32_t)u;
	return 0;
}

/* lddw: any 64-bit value, hex or decimal, signed or unsigned. */
static int num_imm64(struct asm_ctx *c, const struct num *n, uint64_t *out)
{
	if (n->ovf || (n->neg && n->mag > (UINT64_C(1) << 63)))
		return err(c, n->s, "immediate %.*s out of range for a 64-bit field", NUM_ARGS(n));
	*out = n->neg ? 0 - n->mag : n->mag;
	return 0;
}

/* A signed value in [lo, hi] (no hex-as-bits rule). */
static bool num_signed(const struct num *n, bool neg, long long lo, long long hi, long long *v)
{
	bool negative = n->neg != neg;
	if (n->ovf || n->mag > (1ull << 40))
		return false;
	long long x = negative ? -(long long)n->mag : (long long)n->mag;
	if (x < lo || x > hi)
		return false;
	*v = x;
	return true;
}

/* A small unsigned field of .insn (code, dst, src). */
static int num_field(struct asm_ctx *c, const struct num *n, unsigned max, const char *what,
		     unsigned *out)
{
	if (n->neg || n->ovf || n->mag > max)
		return err(c, n->s, "%s %.*s out of range (0..%u)", what, NUM_ARGS(n), max);
	*out = (unsigned)n->mag;
	return 0;
}

/* Parses a number at *pp that must be there. */
static int need_num(struct asm_ctx *c, const char **pp, struct num *n, const char *what)
{
	*pp = skip_ws(*pp);
	int r = parse_num(c, pp, n);
	if (r < 0)
		return -EINVAL;
	if (r == 0) {
		if (!**pp)
			return err(c, *pp, "expected %s at end of line", what);
		return err(c, *pp, "expected %s, got '%.*s'", what, tok_len(*pp), *pp);
	}
	return 0;
}

/* ---- registers -------------------------------------------------------------------- */

enum { STYLE_CONF, STYLE_PSEUDO };

/* Does *p look like a register of the style? (%name, or [rw]<digits>) */
static bool looks_reg(const char *p, int style)
{
	if (style == STYLE_CONF)
		return p[0] == '%';
	if (p[0] != 'r' && p[0] != 'w')
		return false;
	size_t k = 1;
	while (is_dig(p[k]))
		k++;
	return k > 1 && !is_idc(p[k]);
}

/* Parses a register at *pp: %r0..%r10 (conformance) or r0..r10 / w0..w10 (pseudo-C;
 * *width = 'r' or 'w'). Returns the number, or a negative errno after logging. */
static int parse_reg(struct asm_ctx *c, const char **pp, int style, char *width, const char *what)
{
	const char *p = skip_ws(*pp);
	if (!looks_reg(p, style)) {
		if (!*p)
			return err(c, p, "expected %s at end of line", what);
		return err(c, p, "expected %s, got '%.*s'", what, tok_len(p), p);
	}
	const char *q = style == STYLE_CONF ? p + 1 : p;
	size_t k = 1;
	while (is_dig(q[k]))
		k++;
	bool ok = q[0] == 'r' || (style == STYLE_PSEUDO && q[0] == 'w');
	ok = ok && k >= 2 && k <= 3 && !is_idc(q[k]) && !(k == 3 && q[1] == '0');
	int num = ok ? atoi(q + 1) : -1;
	if (!ok || num > 10) {
		int len = (int)(q - p);
		while (is_idc(p[len]))
			len++;
		return err(c, p, "invalid register '%.*s'", len, p);
	}
	if (width)
		*width = q[0];
	*pp = q + k;
	return num;
}

/* ---- isa_rows lookups -------------------------------------------------------------- */

/* First row with this conformance mnemonic (len bytes at name) and, unless fmt < 0,
 * this format. */
static int find_conf(const char *name, size_t len, int fmt)
{
	for (int r = 0; r < ISA__COUNT; r++)
		if (word_is(name, len, isa_rows[r].conf) && (fmt < 0 || isa_rows[r].fmt == fmt))
			return r;
	return -1;
}

/* First row of format fmt with this KOP and, unless bits is 0, this width. */
static int find_kop(int fmt, const char *kop, size_t len, int bits)
{
	for (int r = 0; r < ISA__COUNT; r++)
		if (isa_rows[r].fmt == fmt && word_is(kop, len, isa_rows[r].kop) &&
		    (!bits || isa_rows[r].bits == bits))
			return r;
	return -1;
}

/* The instruction of row with the operand fields given; the row's selector field
 * gets the row's selector value. */
static struct bpf_insn mk(int row, int dst, int src, int off, int32_t imm)
{
	struct bpf_insn in = { .dst_reg = (uint8_t)(dst & 0xf), .src_reg = (uint8_t)(src & 0xf),
			       .off = (int16_t)off, .imm = imm };
	isa_set_row(&in, row);
	return in;
}

/* ---- output ------------------------------------------------------------------------ */

static int push(struct asm_ctx *c, struct bpf_insn in)
{
	if (c->cnt == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct bpf_insn *v = realloc(c->out, cap * sizeof(*v));
		if (!v)
			return oom(c);
		c->out = v;
		c->cap = cap;
	}
	c->out[c->cnt++] = in;
	return 0;
}

/* Emits row with these fields (two slots for lddw: imm64). */
static int emit(struct asm_ctx *c, int row, int dst, int src, int off, int32_t imm)
{
	if (isa_rows[row].fmt == ISA_FMT_EXIT && c->first_exit < 0)
		c->first_exit = (long long)c->cnt;
	return push(c, mk(row, dst, src, off, imm));
}

static int emit_lddw(struct asm_ctx *c, int row, int dst, uint64_t v)
{
	int e = push(c, mk(row, dst, 0, 0, (int32_t)(uint32_t)v));
	if (!e)
		e = push(c, (struct bpf_insn){ .imm = (int32_t)(uint32_t)(v >> 32) });
	return e;
}

/* Records that the slot just emitted (the last one, or the first of lddw) needs
 * label `name` resolved. */
static int add_fixup(struct asm_ctx *c, size_t slot, int kind, const char *name, size_t len,
		     const char *at)
{
	if (c->fix_cnt == c->fix_cap) {
		size_t cap = c->fix_cap ? c->fix_cap * 2 : 32;
		struct fixup *v = realloc(c->fix, cap * sizeof(*v));
		if (!v)
			return oom(c);
		c->fix = v;
		c->fix_cap = cap;
	}
	char *s = dupn(name, len);
	if (!s)
		return oom(c);
	c->fix[c->fix_cnt++] = (struct fixup){ .slot = slot, .name = s, .kind = kind,
		.line = c->line, .col = (int)(at - c->lbase) + 1 };
	return 0;
}

/* ---- labels ------------------------------------------------------------------------ */

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct label *label_slot(struct label *tab, size_t cap, const char *s, size_t n)
{
	size_t i = (size_t)hash_str(s, n) & (cap - 1);
	while (tab[i].name && !word_is(s, n, tab[i].name))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static const struct label *label_find(const struct asm_ctx *c, const char *s, size_t n)
{
	if (!c->lab_cap)
		return NULL;
	const struct label *l = label_slot(c->lab, c->lab_cap, s, n);
	return l->name ? l : NULL;
}

static int label_define(struct asm_ctx *c, const char *s, size_t n)
{
	const struct label *old = label_find(c, s, n);
	if (old)
		return err(c, s, "duplicate label '%.*s' (first defined on line %d)", (int)n, s,
			   old->line);
	if ((c->lab_cnt + 1) * 2 > c->lab_cap) {
		size_t cap = c->lab_cap ? c->lab_cap * 2 : 64;
		struct label *t = calloc(cap, sizeof(*t));
		if (!t)
			return oom(c);
		for (size_t i = 0; i < c->lab_cap; i++)
			if (c->lab[i].name)
				*label_slot(t, cap, c->lab[i].name, strlen(c->lab[i].name)) = c->lab[i];
		free(c->lab);
		c->lab = t;
		c->lab_cap = cap;
	}
	struct label *l = label_slot(c->lab, c->lab_cap, s, n);
	l->name = dupn(s, n);
	if (!l->name)
		return oom(c);
	l->slot = c->cnt;
	l->line = c->line;
	c->lab_cnt++;
	return 0;
}

/* ---- operands shared by both syntaxes ----------------------------------------------- */

/* A jump or call target: [pc]+N / [pc]-N (relative, in slots) or a label. */
struct target {
	const char *s;		/* token, for messages */
	int len;
	bool is_label;
	long long rel;		/* numeric: the offset */
	struct num n;
};

static int parse_target(struct asm_ctx *c, const char **pp, struct target *t)
{
	const char *p = skip_ws(*pp);
	memset(t, 0, sizeof(*t));
	t->s = p;
	if (p[0] == 'p' && p[1] == 'c' && (p[2] == '+' || p[2] == '-'))
		p += 2;
	if (*p == '+' || *p == '-') {
		int r = parse_num(c, &p, &t->n);
		if (r < 0)
			return -EINVAL;
		if (r == 0)
			return err(c, t->s, "invalid jump target '%.*s'", tok_len(t->s), t->s);
		t->len = (int)(p - t->s);
		t->rel = t->n.ovf || t->n.mag > (1ull << 40) ? (1ll << 40)
			 : (t->n.neg ? -(long long)t->n.mag : (long long)t->n.mag);
	} else {
		size_t n = id_len(p);
		if (!n) {
			if (!*p)
				return err(c, p, "expected a jump target at end of line");
			return err(c, p, "invalid jump target '%.*s'", tok_len(p), p);
		}
		t->is_label = true;
		t->len = (int)n;
		p += n;
	}
	/* llvm-objdump annotates targets: "goto +5 <LBB0_3>" */
	const char *q = skip_ws(p);
	if (*q == '<') {
		const char *e = strchr(q, '>');
		if (e)
			p = e + 1;
	}
	*pp = p;
	return 0;
}

/* Sets the target of slot: a value now, or a fixup. 32-bit targets (gotol, call
 * local, lddw func) go to imm, 16-bit ones to off. */
static int apply_target_at(struct asm_ctx *c, const struct target *t, bool wide, size_t slot)
{
	if (t->is_label)
		return add_fixup(c, slot, wide ? FIX_IMM : FIX_OFF, t->s, (size_t)t->len, t->s);
	if (wide) {
		if (t->rel < INT32_MIN || t->rel > INT32_MAX)
			return err(c, t->s, "jump offset out of range: %.*s (int32)", t->len, t->s);
		c->out[slot].imm = (int32_t)t->rel;
	} else {
		if (t->rel < INT16_MIN || t->rel > INT16_MAX)
			return err(c, t->s, "jump offset out of range: %.*s (int16)", t->len, t->s);
		c->out[slot].off = (int16_t)t->rel;
	}
	return 0;
}

/* ... of the slot just emitted. */
static int apply_target(struct asm_ctx *c, const struct target *t, bool wide)
{
	return apply_target_at(c, t, wide, c->cnt - 1);
}

/* An offset after a base register: [+-] number, range int16. `sign` is the '+'
 * or '-' already read (at sp); the number may carry its own sign ("r1 + -4"). */
static int parse_off(struct asm_ctx *c, const char **pp, const char *sp, int *off)
{
	struct num n;
	if (need_num(c, pp, &n, "an offset"))
		return -EINVAL;
	long long v;
	if (!num_signed(&n, *sp == '-', INT16_MIN, INT16_MAX, &v))
		return err(c, n.s, "offset %s%.*s out of range (int16)", *sp == '-' ? "-" : "",
			   NUM_ARGS(&n));
	*off = (int)v;
	return 0;
}

/* The lddw pseudo operands (docs/asm.md), spelled after isa.def's KOP column:
 *   map[fd:N]          map_fd          map[fd:N][0]+OFF   map_value
 *   map[idx:N]         map_idx         map[idx:N][0]+OFF  map_idx_value
 *   btf_var[id:N]      btf_var         btf_var[id:N,fd:M] (M in the second slot)
 *   func[pc+N] | func[LABEL]           func
 * Returns 1 if one was parsed (emitted), 0 if there is none at *pp. */
static int parse_lddw_pseudo(struct asm_ctx *c, const char **pp, int dst)
{
	const char *p = skip_ws(*pp), *start = p;
	size_t n = id_len(p);
	const char *kop;
	struct num a, b;
	int32_t lo = 0, hi = 0;
	bool have_hi = false;
	struct target t;
	bool is_func = false;

	if (p[n] != '[' || !(word_is(p, n, "map") || word_is(p, n, "btf_var") ||
			     word_is(p, n, "func")))
		return 0;
	if (word_is(p, n, "func")) {
		p += n + 1;
		if (parse_target(c, &p, &t) || expect(c, &p, "]", "']'"))
			return -EINVAL;
		kop = "func";
		is_func = true;
	} else if (word_is(p, n, "btf_var")) {
		p += n + 1;
		if (expect(c, &p, "id:", "'id:'") || need_num(c, &p, &a, "a BTF id") ||
		    num_imm32(c, &a, &lo, NULL))
			return -EINVAL;
		if (accept(&p, ",")) {
			if (expect(c, &p, "fd:", "'fd:'") || need_num(c, &p, &b, "a BTF fd") ||
			    num_imm32(c, &b, &hi, NULL))
				return -EINVAL;
		}
		if (expect(c, &p, "]", "']'"))
			return -EINVAL;
		kop = "btf_var";
	} else {
		p += n + 1;
		bool idx;
		if (accept(&p, "fd:"))
			idx = false;
		else if (accept(&p, "idx:"))
			idx = true;
		else
			return err(c, skip_ws(p), "expected 'fd:' or 'idx:' in map[...]");
		if (need_num(c, &p, &a, idx ? "a map index" : "a map fd") ||
		    num_imm32(c, &a, &lo, NULL) || expect(c, &p, "]", "']'"))
			return -EINVAL;
		if (accept(&p, "[")) {
			if (expect(c, &p, "0", "'0'") || expect(c, &p, "]", "']'") ||
			    expect(c, &p, "+", "'+'") ||
			    need_num(c, &p, &b, "a value offset") || num_imm32(c, &b, &hi, NULL))
				return -EINVAL;
			have_hi = true;
		}
		kop = idx ? (have_hi ? "map_idx_value" : "map_idx")
			  : (have_hi ? "map_value" : "map_fd");
	}
	int row = find_kop(ISA_FMT_LDDW, kop, strlen(kop), 0);
	if (row < 0)
		return err(c, start, "no lddw form for '%.*s'", (int)(p - start), start);
	if (emit_lddw(c, row, dst, (uint64_t)(uint32_t)lo | ((uint64_t)(uint32_t)hi << 32)))
		return -ENOMEM;
	/* func: the relative target lives in the first slot's imm */
	if (is_func && apply_target_at(c, &t, true, c->cnt - 2))
		return -EINVAL;
	*pp = p;
	return 1;
}

/* ---- calls (both syntaxes) ------------------------------------------------------------ */

/* After "call": %rN (callx), local TARGET, kfunc N[, M], kfunc[id:N(,fd_idx:M)],
 * pc+N, N (helper), NAME#N (helper N; kernel-function#N is a kfunc), NAME (a local
 * label, else a registered helper of that name). */
static int parse_call(struct asm_ctx *c, const char *p)
{
	int row;
	struct num n;
	int32_t imm = 0;
	p = skip_ws(p);
	if (*p == '%') {
		int r = parse_reg(c, &p, STYLE_CONF, NULL, "a register");
		if (r < 0 || (row = find_kop(ISA_FMT_CALLX, "", 0, 0)) < 0)
			return r < 0 ? r : err(c, p, "no callx instruction");
		return emit(c, row, r, 0, 0, 0) ? -ENOMEM : expect_end(c, p);
	}
	/* NAME#N: the kernel's "call bpf_map_lookup_elem#1" / "call unknown#5" */
	const char *e = p;
	while (*e && !is_ws(*e) && *e != '#')
		e++;
	if (*e == '#' && e > p) {
		bool kfunc = word_is(p, (size_t)(e - p), "kernel-function");
		const char *q = e + 1;
		if (need_num(c, &q, &n, "a helper id") || num_imm32(c, &n, &imm, NULL))
			return -EINVAL;
		row = kfunc ? find_kop(ISA_FMT_CALL_KFUNC, "", 0, 0) : find_kop(ISA_FMT_CALL, "", 0, 0);
		return emit(c, row, 0, 0, 0, imm) ? -ENOMEM : expect_end(c, q);
	}
	if (accept_word(&p, "local")) {
		struct target t;
		if (parse_target(c, &p, &t))
			return -EINVAL;
		row = find_kop(ISA_FMT_CALL_LOCAL, "", 0, 0);
		if (emit(c, row, 0, 0, 0, 0) || apply_target(c, &t, true))
			return -EINVAL;
		return expect_end(c, p);
	}
	if (accept_word(&p, "kfunc")) {
		int off = 0;
		long long v;
		row = find_kop(ISA_FMT_CALL_KFUNC, "", 0, 0);
		if (accept(&p, "[")) {
			if (expect(c, &p, "id:", "'id:'") || need_num(c, &p, &n, "a BTF id") ||
			    num_imm32(c, &n, &imm, NULL))
				return -EINVAL;
			if (accept(&p, ",")) {
				if (expect(c, &p, "fd_idx:", "'fd_idx:'") ||
				    need_num(c, &p, &n, "a BTF fd index"))
					return -EINVAL;
				if (!num_signed(&n, false, INT16_MIN, INT16_MAX, &v))
					return err(c, n.s, "offset %.*s out of range (int16)",
						   NUM_ARGS(&n));
				off = (int)v;
			}
			if (expect(c, &p, "]", "']'"))
				return -EINVAL;
		} else {
			if (need_num(c, &p, &n, "a BTF id") || num_imm32(c, &n, &imm, NULL))
				return -EINVAL;
			if (accept(&p, ",")) {
				if (need_num(c, &p, &n, "a BTF fd index"))
					return -EINVAL;
				if (!num_signed(&n, false, INT16_MIN, INT16_MAX, &v))
					return err(c, n.s, "offset %.*s out of range (int16)",
						   NUM_ARGS(&n));
				off = (int)v;
			}
		}
		return emit(c, row, 0, 0, off, imm) ? -ENOMEM : expect_end(c, p);
	}
	if (p[0] == 'p' && p[1] == 'c' && (p[2] == '+' || p[2] == '-')) {
		struct target t;
		if (parse_target(c, &p, &t))
			return -EINVAL;
		row = find_kop(ISA_FMT_CALL_LOCAL, "", 0, 0);
		if (emit(c, row, 0, 0, 0, 0) || apply_target(c, &t, true))
			return -EINVAL;
		return expect_end(c, p);
	}
	int r = parse_num(c, &p, &n);
	if (r < 0)
		return -EINVAL;
	if (r > 0) {
		if (num_imm32(c, &n, &imm, NULL))
			return -EINVAL;
		row = find_kop(ISA_FMT_CALL, "", 0, 0);
		return emit(c, row, 0, 0, 0, imm) ? -ENOMEM : expect_end(c, p);
	}
	size_t len = id_len(p);
	if (!len) {
		if (!*p)
			return err(c, p, "invalid number of operands for call: expected 1, got 0");
		return err(c, p, "invalid call target '%.*s'", tok_len(p), p);
	}
	row = find_kop(ISA_FMT_CALL, "", 0, 0);
	if (emit(c, row, 0, 0, 0, 0) || add_fixup(c, c->cnt - 1, FIX_CALL, p, len, p))
		return -EINVAL;
	return expect_end(c, p + len);
}

/* ---- the raw directive ------------------------------------------------------------------ */

/* .insn CODE, DST, SRC, OFF, IMM  |  .insn 0x<u64> (the raw section's little-endian
 * slot: code in the low byte, imm in the high half). */
static int parse_insn_directive(struct asm_ctx *c, const char *p)
{
	struct num n[5];
	int k = 0;
	for (;;) {
		if (need_num(c, &p, &n[k], k == 0 ? "an opcode" : "a field"))
			return -EINVAL;
		k++;
		if (k == 5 || !accept(&p, ","))
			break;
	}
	if (expect_end(c, p))
		return -EINVAL;
	struct bpf_insn in = { 0 };
	if (k == 1) {
		uint64_t v = 0;
		if (num_imm64(c, &n[0], &v))
			return -EINVAL;
		in.code = (uint8_t)v;
		in.dst_reg = (uint8_t)((v >> 8) & 0xf);
		in.src_reg = (uint8_t)((v >> 12) & 0xf);
		in.off = (int16_t)(uint16_t)(v >> 16);
		in.imm = (int32_t)(uint32_t)(v >> 32);
		return push(c, in);
	}
	if (k != 5)
		return err(c, n[0].s, "invalid number of operands for .insn: expected 5, got %d", k);
	unsigned code = 0, dst = 0, src = 0;
	long long off;
	if (num_field(c, &n[0], 0xff, "opcode", &code) || num_field(c, &n[1], 15, "register", &dst) ||
	    num_field(c, &n[2], 15, "register", &src))
		return -EINVAL;
	if (n[3].hex && !n[3].neg && !n[3].ovf && n[3].mag <= 0xffff)
		off = (int16_t)(uint16_t)n[3].mag;
	else if (!num_signed(&n[3], false, INT16_MIN, INT16_MAX, &off))
		return err(c, n[3].s, "offset %.*s out of range (int16)", NUM_ARGS(&n[3]));
	in.code = (uint8_t)code;
	in.dst_reg = (uint8_t)dst;
	in.src_reg = (uint8_t)src;
	in.off = (int16_t)off;
	return num_imm32(c, &n[4], &in.imm, NULL) ? -EINVAL : push(c, in);
}

/* ---- conformance syntax ------------------------------------------------------------------ */

static int fmt_operands(int fmt)
{
	switch (fmt) {
	case ISA_FMT_NEG: case ISA_FMT_END: case ISA_FMT_LDABS: case ISA_FMT_JA:
	case ISA_FMT_JA32: case ISA_FMT_CALL: case ISA_FMT_CALLX: case ISA_FMT_CALL_LOCAL:
		return 1;
	case ISA_FMT_JCOND_K: case ISA_FMT_JCOND_X:
		return 3;
	case ISA_FMT_EXIT:
		return 0;
	default:
		return 2;
	}
}

/* The inside of a memory operand in either syntax: a base register, then an
 * optional signed offset ("r1 + 4", "%r1-8", "r10"). */
static int base_off(struct asm_ctx *c, const char **pp, int style, int *reg, int *off)
{
	const char *p = *pp;
	*reg = parse_reg(c, &p, style, NULL, "a base register");
	if (*reg < 0)
		return -EINVAL;
	*off = 0;
	p = skip_ws(p);
	if (*p == '+' || *p == '-') {
		const char *sp = p++;
		if (parse_off(c, &p, sp, off))
			return -EINVAL;
	}
	*pp = p;
	return 0;
}

/* [%rN], [%rN+off], [%rN-off] */
static int conf_mem(struct asm_ctx *c, const char *s, int *reg, int *off)
{
	const char *p = skip_ws(s);
	if (*p != '[')
		return err(c, p, "expected memory operand [%%rN+off], got '%.*s'", tok_len(p), p);
	p++;
	if (base_off(c, &p, STYLE_CONF, reg, off) || expect(c, &p, "]", "']'"))
		return -EINVAL;
	return expect_end(c, p);
}

static int conf_reg(struct asm_ctx *c, const char *s)
{
	const char *p = s;
	int r = parse_reg(c, &p, STYLE_CONF, NULL, "a register");
	if (r >= 0 && expect_end(c, p))
		return -EINVAL;
	return r;
}

static int conf_imm(struct asm_ctx *c, const char *s, int32_t *imm)
{
	const char *p = s;
	struct num n;
	if (need_num(c, &p, &n, "an immediate") || num_imm32(c, &n, imm, NULL))
		return -EINVAL;
	return expect_end(c, p);
}

static int conf_target(struct asm_ctx *c, const char *s, bool wide)
{
	const char *p = s;
	struct target t;
	if (parse_target(c, &p, &t) || expect_end(c, p))
		return -EINVAL;
	return apply_target(c, &t, wide);
}

/* Splits the operands at p (in place) on top-level commas into ops[]. */
static int split_ops(struct asm_ctx *c, char *p, char **ops, int max, int *nops)
{
	int n = 0, depth = 0;
	p = (char *)skip_ws(p);
	if (!*p) {
		*nops = 0;
		return 0;
	}
	char *start = p;
	for (;; p++) {
		if (*p == '[' || *p == '(')
			depth++;
		else if ((*p == ']' || *p == ')') && depth > 0)
			depth--;
		if ((*p == ',' && depth == 0) || !*p) {
			bool end = !*p;
			char *e = p;
			while (e > start && is_ws(e[-1]))
				e--;
			if (e == start)
				return err(c, start, "missing operand");
			if (n < max)
				ops[n] = start;
			n++;
			*e = 0;
			if (end)
				break;
			start = (char *)skip_ws(p + 1);
			p = start - 1;
		}
	}
	*nops = n;
	return 0;
}

static int conf_line(struct asm_ctx *c, char *p)
{
	char name[64];
	const char *mn = p;
	size_t n = id_len(p);
	char *ops[4];
	int nops = 0;

	if (n >= sizeof(name) - 16)
		return err(c, p, "unknown mnemonic '%.*s'", (int)n, p);
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	if (!strcmp(name, "lock")) {
		/* lock [fetch] op[32] */
		for (;;) {
			char *q = (char *)skip_ws(p);
			size_t k = id_len(q);
			if (!k)
				break;
			if (strlen(name) + 1 + k >= sizeof(name))
				return err(c, mn, "unknown mnemonic '%.*s'", (int)(q + k - mn), mn);
			strcat(name, " ");
			strncat(name, q, k);
			p = q + k;
		}
		if (!strcmp(name, "lock"))
			return err(c, mn, "invalid number of operands for lock");
	} else if (!strncmp(name, "swap", 4)) {
		/* "swap16" is the suite's other spelling of "bswap16" */
		memmove(name + 1, name, n + 1);
		name[0] = 'b';
	}
	int row = find_conf(name, strlen(name), -1);
	if (row < 0)
		return err(c, mn, "unknown mnemonic '%.*s'", (int)(p - mn), mn);
	const char *shown = strncmp(name, "lock", 4) ? name : "lock";
	if (split_ops(c, p, ops, 4, &nops))
		return -EINVAL;
	int want = fmt_operands(isa_rows[row].fmt);
	if (nops != want)
		return err(c, nops > want ? ops[want] : mn,
			   "invalid number of operands for %s: expected %d, got %d", shown, want, nops);

	int fmt = isa_rows[row].fmt;
	/* rows sharing a mnemonic: the register form when the operand is a register */
	if (fmt == ISA_FMT_ALU_K || fmt == ISA_FMT_JCOND_K) {
		if (*skip_ws(ops[1]) == '%') {
			int x = find_conf(name, strlen(name),
					  fmt == ISA_FMT_ALU_K ? ISA_FMT_ALU_X : ISA_FMT_JCOND_X);
			if (x < 0)
				return err(c, ops[1], "%s takes an immediate, not a register", name);
			row = x;
			fmt = isa_rows[row].fmt;
		}
	}

	int dst = 0, src = 0, off = 0;
	int32_t imm = 0;
	switch (fmt) {
	case ISA_FMT_ALU_K:
		if ((dst = conf_reg(c, ops[0])) < 0 || conf_imm(c, ops[1], &imm))
			return -EINVAL;
		return emit(c, row, dst, 0, 0, imm);
	case ISA_FMT_ALU_X:
	case ISA_FMT_MOVSX:
		if ((dst = conf_reg(c, ops[0])) < 0 || (src = conf_reg(c, ops[1])) < 0)
			return -EINVAL;
		return emit(c, row, dst, src, 0, 0);
	case ISA_FMT_NEG:
	case ISA_FMT_END:
		if ((dst = conf_reg(c, ops[0])) < 0)
			return -EINVAL;
		return emit(c, row, dst, 0, 0, 0);
	case ISA_FMT_LDDW: {
		if ((dst = conf_reg(c, ops[0])) < 0)
			return -EINVAL;
		const char *q = ops[1];
		int r = parse_lddw_pseudo(c, &q, dst);
		if (r)
			return r < 0 ? r : expect_end(c, q);
		struct num nm;
		uint64_t v = 0;
		if (need_num(c, &q, &nm, "an immediate") || num_imm64(c, &nm, &v) ||
		    expect_end(c, q))
			return -EINVAL;
		return emit_lddw(c, row, dst, v);
	}
	case ISA_FMT_LDABS:
		if (conf_imm(c, ops[0], &imm))
			return -EINVAL;
		return emit(c, row, 0, 0, 0, imm);
	case ISA_FMT_LDIND:
		if ((src = conf_reg(c, ops[0])) < 0 || conf_imm(c, ops[1], &imm))
			return -EINVAL;
		return emit(c, row, 0, src, 0, imm);
	case ISA_FMT_LDX:
		if ((dst = conf_reg(c, ops[0])) < 0 || conf_mem(c, ops[1], &src, &off))
			return -EINVAL;
		return emit(c, row, dst, src, off, 0);
	case ISA_FMT_ST:
		if (conf_mem(c, ops[0], &dst, &off) || conf_imm(c, ops[1], &imm))
			return -EINVAL;
		return emit(c, row, dst, 0, off, imm);
	case ISA_FMT_STX:
	case ISA_FMT_ATOMIC:
		if (conf_mem(c, ops[0], &dst, &off) || (src = conf_reg(c, ops[1])) < 0)
			return -EINVAL;
		return emit(c, row, dst, src, off, 0);
	case ISA_FMT_JA:
	case ISA_FMT_JA32:
		if (emit(c, row, 0, 0, 0, 0))
			return -ENOMEM;
		return conf_target(c, ops[0], fmt == ISA_FMT_JA32);
	case ISA_FMT_JCOND_K:
		if ((dst = conf_reg(c, ops[0])) < 0 || conf_imm(c, ops[1], &imm) ||
		    emit(c, row, dst, 0, 0, imm))
			return -EINVAL;
		return conf_target(c, ops[2], false);
	case ISA_FMT_JCOND_X:
		if ((dst = conf_reg(c, ops[0])) < 0 || (src = conf_reg(c, ops[1])) < 0 ||
		    emit(c, row, dst, src, 0, 0))
			return -EINVAL;
		return conf_target(c, ops[2], false);
	case ISA_FMT_EXIT:
		return emit(c, row, 0, 0, 0, 0);
	default:
		return err(c, mn, "'%s' cannot be written in this form", name);
	}
}

/* ---- pseudo-C syntax --------------------------------------------------------------------- */

/* The cast "*(SIZE *)": returns the size word (u8 ... u64, s8 ... s32). */
static int pc_size_cast(struct asm_ctx *c, const char **pp, const char **sz, size_t *szlen)
{
	if (expect(c, pp, "*", "'*'") || expect(c, pp, "(", "'('"))
		return -EINVAL;
	const char *p = skip_ws(*pp);
	size_t n = id_len(p);
	if (!n)
		return err(c, p, "expected an access size (u8, u16, u32, u64), got '%.*s'",
			   tok_len(p), p);
	*sz = p;
	*szlen = n;
	p += n;
	if (expect(c, &p, "*", "'*'") || expect(c, &p, ")", "')'"))
		return -EINVAL;
	*pp = p;
	return 0;
}

/* (rN +off) / (rN - off) / (rN) */
static int pc_mem(struct asm_ctx *c, const char **pp, int *reg, int *off)
{
	const char *p = *pp;
	if (expect(c, &p, "(", "memory operand (rN +off)"))
		return -EINVAL;
	if (base_off(c, &p, STYLE_PSEUDO, reg, off) || expect(c, &p, ")", "')'"))
		return -EINVAL;
	*pp = p;
	return 0;
}

/* Width of an access size word "u32" / "s16": the number, or 0. */
static int size_bits(const char *sz, size_t n)
{
	if (n < 2 || (sz[0] != 'u' && sz[0] != 's'))
		return 0;
	int b = 0;
	for (size_t i = 1; i < n; i++) {
		if (!is_dig(sz[i]))
			return 0;
		b = b * 10 + (sz[i] - '0');
		if (b > 64)
			return 0;
	}
	return b;
}

/* dst = *(SIZE *)(src +off) | *(SIZE *)skb[imm] | *(SIZE *)skb[rS + imm] */
static int pc_load(struct asm_ctx *c, const char *p, const char *dp, int dst)
{
	const char *sz;
	size_t szn;
	if (pc_size_cast(c, &p, &sz, &szn))
		return -EINVAL;
	if (accept(&p, "skb")) {
		struct num n;
		int32_t imm = 0;
		int src = -1;
		if (expect(c, &p, "[", "'['"))
			return -EINVAL;
		p = skip_ws(p);
		if (looks_reg(p, STYLE_PSEUDO)) {
			src = parse_reg(c, &p, STYLE_PSEUDO, NULL, "a register");
			if (src < 0 || expect(c, &p, "+", "'+'"))
				return -EINVAL;
		}
		if (need_num(c, &p, &n, "an offset") || num_imm32(c, &n, &imm, NULL) ||
		    expect(c, &p, "]", "']'"))
			return -EINVAL;
		int fmt = src < 0 ? ISA_FMT_LDABS : ISA_FMT_LDIND;
		int row = find_kop(fmt, sz, szn, 0);
		if (row < 0)
			return err(c, sz, "invalid access size '%.*s' for a packet load", (int)szn, sz);
		if (dst != 0)
			return err(c, dp, "legacy packet loads write r0, not 'r%d'", dst);
		if (emit(c, row, 0, src < 0 ? 0 : src, 0, imm))
			return -ENOMEM;
		return expect_end(c, p);
	}
	int src, off;
	if (pc_mem(c, &p, &src, &off))
		return -EINVAL;
	int row = find_kop(ISA_FMT_LDX, sz, szn, 0);
	if (row < 0)
		return err(c, sz, "invalid access size '%.*s' for a load", (int)szn, sz);
	if (emit(c, row, dst, src, off, 0))
		return -ENOMEM;
	return expect_end(c, p);
}

/* dst = atomic[64]_fetch_OP((SIZE *)(rD +off), rS) / _xchg(...) / _cmpxchg(..., r0, rS) */
static int pc_atomic_call(struct asm_ctx *c, const char *p, const char *dp, int dst)
{
	const char *fn = p;
	size_t n = id_len(p);
	char conf[64];
	bool wide = !strncmp(p, "atomic64_", 9);
	const char *op = p + (wide ? 9 : 7);
	size_t opn = n - (size_t)(op - p);
	bool cmpxchg = false;

	if (n >= 40)
		return err(c, fn, "unknown atomic operation '%.*s'", (int)n, fn);
	if (opn > 6 && !strncmp(op, "fetch_", 6))
		snprintf(conf, sizeof(conf), "lock fetch %.*s%s", (int)opn - 6, op + 6, wide ? "" : "32");
	else
		snprintf(conf, sizeof(conf), "lock %.*s%s", (int)opn, op, wide ? "" : "32");
	cmpxchg = word_is(op, opn, "cmpxchg");
	int row = find_conf(conf, strlen(conf), ISA_FMT_ATOMIC);
	bool fetch_form = row >= 0 && (isa_rows[row].selval & BPF_FETCH);
	if (row < 0 || !fetch_form)
		return err(c, fn, "unknown atomic operation '%.*s'", (int)n, fn);
	p += n;
	int base, off, src;
	/* "((SIZE *)(rD +off), ..." */
	if (expect(c, &p, "(", "'('") || expect(c, &p, "(", "'('"))
		return -EINVAL;
	const char *sz = skip_ws(p);
	size_t szn = id_len(sz);
	if (!szn)
		return err(c, sz, "expected an access size, got '%.*s'", tok_len(sz), sz);
	p = sz + szn;
	if (expect(c, &p, "*", "'*'") || expect(c, &p, ")", "')'"))
		return -EINVAL;
	if (size_bits(sz, szn) != isa_rows[row].bits || sz[0] != 'u')
		return err(c, sz, "access size '%.*s' does not match %.*s", (int)szn, sz, (int)n, fn);
	if (pc_mem(c, &p, &base, &off) || expect(c, &p, ",", "','"))
		return -EINVAL;
	if (cmpxchg) {
		const char *r0p = skip_ws(p);
		int r0 = parse_reg(c, &p, STYLE_PSEUDO, NULL, "r0");
		if (r0 < 0)
			return -EINVAL;
		if (r0 != 0)
			return err(c, r0p, "cmpxchg compares with r0, not '%.*s'", tok_len(r0p), r0p);
		if (expect(c, &p, ",", "','"))
			return -EINVAL;
	}
	const char *sp = skip_ws(p);
	src = parse_reg(c, &p, STYLE_PSEUDO, NULL, "a register");
	if (src < 0 || expect(c, &p, ")", "')'"))
		return -EINVAL;
	if (cmpxchg && dst != 0)
		return err(c, dp, "cmpxchg writes r0, not 'r%d'", dst);
	if (!cmpxchg && dst != src)
		return err(c, sp, "%.*s returns into its source register: expected 'r%d', got 'r%d'",
			   (int)n, fn, dst, src);
	if (emit(c, row, base, src, off, 0))
		return -ENOMEM;
	return expect_end(c, p);
}

/* Length of the operator at p: an optional 's' (signed) and characters of set; with
 * stop_eq, it ends after the first '=' ("-=" in "r0 -=-1"). */
static size_t op_len(const char *p, const char *set, bool stop_eq)
{
	size_t n = 0;
	if (p[0] == 's' && p[1] && strchr(set, p[1]))
		n = 1;
	while (p[n] && strchr(set, p[n])) {
		if (stop_eq && p[n++] == '=')
			break;
		if (!stop_eq)
			n++;
	}
	return n;
}

/* rD OP= ... / rD = ... */
static int pc_assign(struct asm_ctx *c, const char *p)
{
	const char *dp = skip_ws(p);
	char wd, ws;
	int dst = parse_reg(c, &p, STYLE_PSEUDO, &wd, "a register");
	if (dst < 0)
		return -EINVAL;
	int bits = wd == 'w' ? 32 : 64;
	p = skip_ws(p);
	const char *opp = p;
	size_t on = op_len(p, "+-*/%|&^<>=", true);
	if (!on || p[on - 1] != '=')
		return err(c, p, "expected an assignment operator after '%.*s', got '%.*s'",
			   tok_len(dp), dp, tok_len(p), p);
	p += on;

	if (on > 1) {
		/* compound: dst OP= src|imm */
		int row;
		p = skip_ws(p);
		if (looks_reg(p, STYLE_PSEUDO)) {
			const char *sp = p;
			int src = parse_reg(c, &p, STYLE_PSEUDO, &ws, "a register");
			if (src < 0)
				return -EINVAL;
			row = find_kop(ISA_FMT_ALU_X, opp, on - 1, bits);
			if (row < 0)
				return err(c, opp, "unknown operator '%.*s'", (int)on, opp);
			if (ws != wd)
				return err(c, sp, "register width mismatch: '%.*s' with '%.*s'",
					   tok_len(sp), sp, tok_len(dp), dp);
			return emit(c, row, dst, src, 0, 0) ? -ENOMEM : expect_end(c, p);
		}
		struct num n;
		int32_t imm = 0;
		row = find_kop(ISA_FMT_ALU_K, opp, on - 1, bits);
		if (row < 0)
			return err(c, opp, "unknown operator '%.*s'", (int)on, opp);
		if (need_num(c, &p, &n, "a register or an immediate") || num_imm32(c, &n, &imm, NULL))
			return -EINVAL;
		return emit(c, row, dst, 0, 0, imm) ? -ENOMEM : expect_end(c, p);
	}

	/* plain '=' */
	p = skip_ws(p);
	const char *rp = p;
	size_t idn = id_len(p);
	int row;

	if (*p == '-' && looks_reg(skip_ws(p + 1), STYLE_PSEUDO)) {	/* neg */
		p = skip_ws(p + 1);
		const char *sp = p;
		int r = parse_reg(c, &p, STYLE_PSEUDO, &ws, "a register");
		if (r < 0)
			return -EINVAL;
		if (r != dst || ws != wd)
			return err(c, sp, "negation is in place: expected '%c%d', got '%.*s'", wd, dst,
				   tok_len(sp), sp);
		row = find_kop(ISA_FMT_NEG, "-", 1, bits);
		return emit(c, row, dst, 0, 0, 0) ? -ENOMEM : expect_end(c, p);
	}
	if (*p == '(') {						/* movsx */
		p = skip_ws(p + 1);
		const char *kp = p;
		size_t kn = id_len(p);
		p += kn;
		if (expect(c, &p, ")", "')'"))
			return -EINVAL;
		row = find_kop(ISA_FMT_MOVSX, kp, kn, bits);
		if (row < 0)
			return err(c, kp, "invalid sign extension '(%.*s)' into '%.*s'", (int)kn, kp,
				   tok_len(dp), dp);
		int src = parse_reg(c, &p, STYLE_PSEUDO, &ws, "a register");
		if (src < 0)
			return -EINVAL;
		return emit(c, row, dst, src, 0, 0) ? -ENOMEM : expect_end(c, p);
	}
	if (*p == '*')							/* load */
		return pc_load(c, p, dp, dst);
	if (idn && (!strncmp(p, "atomic_", 7) || !strncmp(p, "atomic64_", 9)))
		return pc_atomic_call(c, p, dp, dst);
	if (idn > 2 && is_dig(p[idn - 1])) {				/* le16 r0, bswap64 r0 */
		size_t k = idn;
		while (is_dig(p[k - 1]))
			k--;
		int w = atoi(p + k);
		row = find_kop(ISA_FMT_END, p, k, w);
		if (row >= 0) {
			p += idn;
			const char *sp = skip_ws(p);
			int r = parse_reg(c, &p, STYLE_PSEUDO, NULL, "a register");
			if (r < 0)
				return -EINVAL;
			if (r != dst)
				return err(c, sp, "byte swap is in place: expected 'r%d', got '%.*s'",
					   dst, tok_len(sp), sp);
			return emit(c, row, dst, 0, 0, 0) ? -ENOMEM : expect_end(c, p);
		}
	}
	int r = parse_lddw_pseudo(c, &p, dst);
	if (r) {
		if (r < 0)
			return r;
		if (wd != 'r')
			return err(c, dp, "a 64-bit load needs a 64-bit register, not '%.*s'",
				   tok_len(dp), dp);
		accept_word(&p, "ll");
		return expect_end(c, p);
	}
	if (looks_reg(p, STYLE_PSEUDO)) {				/* mov reg */
		const char *sp = p;
		int src = parse_reg(c, &p, STYLE_PSEUDO, &ws, "a register");
		if (src < 0)
			return -EINVAL;
		if (ws != wd)
			return err(c, sp, "register width mismatch: '%.*s' with '%.*s'", tok_len(sp),
				   sp, tok_len(dp), dp);
		row = find_kop(ISA_FMT_ALU_X, "", 0, bits);
		return emit(c, row, dst, src, 0, 0) ? -ENOMEM : expect_end(c, p);
	}
	struct num n;
	int rn = parse_num(c, &p, &n);
	if (rn < 0)
		return -EINVAL;
	if (rn == 0) {
		if (!*p)
			return err(c, p, "expected a value after '='");
		return err(c, rp, "unexpected '%.*s' after '='", tok_len(rp), rp);
	}
	bool ll = accept_word(&p, "ll");
	if (ll || (c->has_hint && c->hint == isa_rows[find_kop(ISA_FMT_LDDW, "", 0, 0)].opcode)) {
		uint64_t v = 0;
		if (wd != 'r')
			return err(c, dp, "a 64-bit load needs a 64-bit register, not '%.*s'",
				   tok_len(dp), dp);
		if (num_imm64(c, &n, &v))
			return -EINVAL;
		row = find_kop(ISA_FMT_LDDW, "", 0, 0);
		return emit_lddw(c, row, dst, v) ? -ENOMEM : expect_end(c, p);
	}
	int32_t imm = 0;
	if (num_imm32(c, &n, &imm, wd == 'r' ? " (add 'll' for a 64-bit load)" : NULL))
		return -EINVAL;
	row = find_kop(ISA_FMT_ALU_K, "", 0, bits);
	return emit(c, row, dst, 0, 0, imm) ? -ENOMEM : expect_end(c, p);
}

/* *(SIZE *)(rD +off) = rS | imm */
static int pc_store(struct asm_ctx *c, const char *p)
{
	const char *sz;
	size_t szn;
	int dst, off;
	if (pc_size_cast(c, &p, &sz, &szn) || pc_mem(c, &p, &dst, &off) ||
	    expect(c, &p, "=", "'='"))
		return -EINVAL;
	p = skip_ws(p);
	if (looks_reg(p, STYLE_PSEUDO)) {
		int src = parse_reg(c, &p, STYLE_PSEUDO, NULL, "a register");
		int row = find_kop(ISA_FMT_STX, sz, szn, 0);
		if (src < 0)
			return -EINVAL;
		if (row < 0)
			return err(c, sz, "invalid access size '%.*s' for a store", (int)szn, sz);
		return emit(c, row, dst, src, off, 0) ? -ENOMEM : expect_end(c, p);
	}
	struct num n;
	int32_t imm = 0;
	int row = find_kop(ISA_FMT_ST, sz, szn, 0);
	if (row < 0)
		return err(c, sz, "invalid access size '%.*s' for a store", (int)szn, sz);
	if (need_num(c, &p, &n, "a register or an immediate") || num_imm32(c, &n, &imm, NULL))
		return -EINVAL;
	return emit(c, row, dst, 0, off, imm) ? -ENOMEM : expect_end(c, p);
}

/* lock *(SIZE *)(rD +off) OP= rS */
static int pc_lock(struct asm_ctx *c, const char *p)
{
	const char *sz;
	size_t szn;
	int dst, off;
	if (pc_size_cast(c, &p, &sz, &szn) || pc_mem(c, &p, &dst, &off))
		return -EINVAL;
	p = skip_ws(p);
	const char *opp = p;
	size_t on = op_len(p, "+-*/%|&^<>=", true);
	if (on < 2 || p[on - 1] != '=')
		return err(c, p, "expected an atomic operator (+=, |=, &=, ^=), got '%.*s'",
			   tok_len(p), p);
	p += on;
	int bits = size_bits(sz, szn), row = -1;
	if (sz[0] == 'u')
		for (int r = 0; r < ISA__COUNT && row < 0; r++)
			if (isa_rows[r].fmt == ISA_FMT_ATOMIC && isa_rows[r].bits == bits &&
			    !(isa_rows[r].selval & BPF_FETCH) && word_is(opp, on - 1, isa_rows[r].kop))
				row = r;
	if (row < 0) {
		if (find_kop(ISA_FMT_ATOMIC, opp, on - 1, 0) < 0)
			return err(c, opp, "unknown atomic operator '%.*s'", (int)on, opp);
		return err(c, sz, "invalid access size '%.*s' for an atomic operation", (int)szn, sz);
	}
	int src = parse_reg(c, &p, STYLE_PSEUDO, NULL, "a register");
	if (src < 0)
		return -EINVAL;
	return emit(c, row, dst, src, off, 0) ? -ENOMEM : expect_end(c, p);
}

/* if rD OP rS|imm goto TARGET */
static int pc_if(struct asm_ctx *c, const char *p)
{
	char wd, ws;
	const char *dp = skip_ws(p);
	int dst = parse_reg(c, &p, STYLE_PSEUDO, &wd, "a register");
	if (dst < 0)
		return -EINVAL;
	p = skip_ws(p);
	const char *opp = p;
	size_t on = op_len(p, "=!<>&", false);
	if (!on)
		return err(c, p, "expected a comparison operator, got '%.*s'", tok_len(p), p);
	p = skip_ws(p + on);
	int bits = wd == 'w' ? 32 : 64, row, src = 0;
	int32_t imm = 0;
	if (looks_reg(p, STYLE_PSEUDO)) {
		const char *sp = p;
		src = parse_reg(c, &p, STYLE_PSEUDO, &ws, "a register");
		if (src < 0)
			return -EINVAL;
		if (ws != wd)
			return err(c, sp, "register width mismatch: '%.*s' with '%.*s'", tok_len(sp),
				   sp, tok_len(dp), dp);
		row = find_kop(ISA_FMT_JCOND_X, opp, on, bits);
	} else {
		struct num n;
		if (need_num(c, &p, &n, "a register or an immediate") || num_imm32(c, &n, &imm, NULL))
			return -EINVAL;
		row = find_kop(ISA_FMT_JCOND_K, opp, on, bits);
	}
	if (row < 0)
		return err(c, opp, "unknown comparison operator '%.*s'", (int)on, opp);
	if (!accept_word(&p, "goto")) {
		p = skip_ws(p);
		return err(c, p, "expected 'goto', got '%.*s'", tok_len(p), p);
	}
	struct target t;
	if (parse_target(c, &p, &t) || emit(c, row, dst, src, 0, imm) || apply_target(c, &t, false))
		return -EINVAL;
	return expect_end(c, p);
}

/* ---- one line ------------------------------------------------------------------------ */

static int asm_line(struct asm_ctx *c, char *line)
{
	/* comments: '#' at the start or after a blank (not in "call name#1"), ';', '//' */
	for (char *q = line; *q; q++) {
		if (*q == ';' || (*q == '/' && q[1] == '/') ||
		    (*q == '#' && (q == line || is_ws(q[-1])))) {
			*q = 0;
			break;
		}
	}
	char *p = (char *)skip_ws(line);
	c->has_hint = false;

	/* verifier log "12: (61) ..." and llvm-objdump "12: 61 01 04 00 ... " prefixes */
	if (is_dig(*p)) {
		char *q = p;
		while (is_dig(*q))
			q++;
		q = (char *)skip_ws(q);
		if (*q == ':') {
			p = (char *)skip_ws(q + 1);
			while (is_hex(p[0]) && is_hex(p[1]) && is_ws(p[2]))
				p = (char *)skip_ws(p + 2);
		}
	}
	if (p[0] == '(' && is_hex(p[1]) && (p[2] == ')' || (is_hex(p[2]) && p[3] == ')'))) {
		c->hint = (uint8_t)strtoul(p + 1, NULL, 16);
		c->has_hint = true;
		p = (char *)skip_ws(p + (p[2] == ')' ? 3 : 4));
	}

	/* labels */
	for (;;) {
		size_t n = id_len(p);
		const char *q = skip_ws(p + n);
		if (!n || *q != ':')
			break;
		if (label_define(c, p, n))
			return -EINVAL;
		p = (char *)skip_ws(q + 1);
	}
	if (!*p)
		return 0;

	if (*p == '.') {
		size_t n = id_len(p);
		if (word_is(p, n, ".insn"))
			return parse_insn_directive(c, p + n);
		return err(c, p, "unknown directive '%.*s'", tok_len(p), p);
	}
	if (*p == '*')
		return pc_store(c, p);
	size_t n = id_len(p);
	if (!n && *p == '%')
		return err(c, p, "unknown mnemonic '%.*s'", tok_len(p), p);
	if (!n)
		return err(c, p, "unexpected '%.*s'", tok_len(p), p);
	if (looks_reg(p, STYLE_PSEUDO))
		return pc_assign(c, p);
	if (word_is(p, n, "if"))
		return pc_if(c, p + n);
	if (word_is(p, n, "goto") || word_is(p, n, "gotol")) {
		int row = find_kop(n == 4 ? ISA_FMT_JA : ISA_FMT_JA32, "", 0, 0);
		const char *q = p + n;
		struct target t;
		if (parse_target(c, &q, &t) || emit(c, row, 0, 0, 0, 0) ||
		    apply_target(c, &t, n != 4))
			return -EINVAL;
		return expect_end(c, q);
	}
	if (word_is(p, n, "callx")) {
		const char *q = p + n;
		int r = parse_reg(c, &q, STYLE_PSEUDO, NULL, "a register");
		if (r < 0)
			return -EINVAL;
		return emit(c, find_kop(ISA_FMT_CALLX, "", 0, 0), r, 0, 0, 0) ? -ENOMEM
									      : expect_end(c, q);
	}
	if (word_is(p, n, "call"))
		return parse_call(c, p + n);
	if (word_is(p, n, "lock") && *skip_ws(p + n) == '*')
		return pc_lock(c, skip_ws(p + n));
	if (word_is(p, n, "exit")) {
		if (emit(c, find_kop(ISA_FMT_EXIT, "", 0, 0), 0, 0, 0, 0))
			return -ENOMEM;
		return expect_end(c, p + n);
	}
	return conf_line(c, p);
}

/* ---- pass 2 -------------------------------------------------------------------------- */

static int resolve(struct asm_ctx *c)
{
	for (size_t i = 0; i < c->fix_cnt; i++) {
		struct fixup *f = &c->fix[i];
		const struct label *l = label_find(c, f->name, strlen(f->name));
		long long target;
		if (l) {
			target = (long long)l->slot;
		} else if (f->kind == FIX_CALL) {
			long long id = bpfvm_helper__id(f->name);
			if (id < 0)
				return err_at_line(c, f->line, f->col,
						   "undefined label '%s' (nor a known helper)", f->name);
			c->out[f->slot] = mk(find_kop(ISA_FMT_CALL, "", 0, 0), 0, 0, 0, (int32_t)id);
			continue;
		} else if (!strcmp(f->name, "exit") && c->first_exit >= 0) {
			target = c->first_exit;
		} else {
			return err_at_line(c, f->line, f->col, "undefined label '%s'", f->name);
		}
		long long rel = target - ((long long)f->slot + 1);
		if (f->kind == FIX_OFF) {
			if (rel < INT16_MIN || rel > INT16_MAX)
				return err_at_line(c, f->line, f->col,
						   "jump offset out of range: label '%s' is %lld slots away (int16)",
						   f->name, rel);
			c->out[f->slot].off = (int16_t)rel;
		} else {
			if (rel < INT32_MIN || rel > INT32_MAX)
				return err_at_line(c, f->line, f->col,
						   "jump offset out of range: label '%s' is %lld slots away (int32)",
						   f->name, rel);
			if (f->kind == FIX_CALL)
				c->out[f->slot] = mk(find_kop(ISA_FMT_CALL_LOCAL, "", 0, 0), 0, 0, 0, 0);
			c->out[f->slot].imm = (int32_t)rel;
		}
	}
	return 0;
}

/* ---- entry point ----------------------------------------------------------------------- */

static void ctx_free(struct asm_ctx *c)
{
	for (size_t i = 0; i < c->fix_cnt; i++)
		free(c->fix[i].name);
	free(c->fix);
	for (size_t i = 0; i < c->lab_cap; i++)
		free(c->lab[i].name);
	free(c->lab);
	free(c->out);
}

int bpfvm_asm(const char *text, const struct bpfvm_asm_opts *opts, struct bpf_insn **insns,
	      size_t *cnt)
{
	struct asm_ctx c = { .file = "<input>", .first_exit = -1 };
	char *buf = NULL;
	size_t bufcap = 0;
	int e = 0;

	if (insns)
		*insns = NULL;
	if (cnt)
		*cnt = 0;
	if (!text || !insns || !cnt)
		return vm_err(-EINVAL, "bpfvm_asm: text, insns and cnt must not be NULL");
	if (opts && opts->sz >= offsetof(struct bpfvm_asm_opts, filename) + sizeof(opts->filename) &&
	    opts->filename)
		c.file = opts->filename;

	for (const char *s = text; *s || s == text;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		c.line++;
		if (n + 1 > bufcap) {
			size_t cap = n + 1 < 256 ? 256 : n + 1;
			char *b = realloc(buf, cap);
			if (!b) {
				e = oom(&c);
				break;
			}
			buf = b;
			bufcap = cap;
		}
		memcpy(buf, s, n);
		buf[n] = 0;
		c.lbase = buf;
		e = asm_line(&c, buf);
		if (e)
			break;
		if (!nl)
			break;
		s = nl + 1;
	}
	free(buf);
	if (!e && c.cnt == 0)
		e = vm_err(-EINVAL, "%s:%d:1: no instructions", c.file, c.line > 0 ? c.line : 1);
	if (!e)
		e = resolve(&c);
	if (e) {
		ctx_free(&c);
		return c.nomem ? -ENOMEM : -EINVAL;
	}
	*insns = c.out;
	*cnt = c.cnt;
	c.out = NULL;
	ctx_free(&c);
	return 0;
}
