/*
 * btf.c — BTF and BTF.ext decoding, the walkers over decoded types, and the value
 * formatter (see btf.h).
 *
 * Decoding is two passes over the type section: the first sizes every record
 * (rejecting one that runs past the end) and counts types and items, the second
 * fills struct btf_ty / struct btf_item and checks every string offset and type id.
 * A final pass checks the references the kinds constrain (FUNC → FUNC_PROTO, DATASEC
 * entries → VAR/FUNC). Error messages give the byte offset inside the section.
 */
#include "loader/btf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/le.h"
#include "log.h"

#define BTF_MAGIC	0xeB9F
#define BTF_HDR_MIN	24
#define TYPE_HDR	12

static const char *const kind_names[BTFK__COUNT] = {
	"UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
	"VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT",
	"DECL_TAG", "TYPE_TAG", "ENUM64",
};

const char *btf_kind_name(unsigned kind)
{
	return kind < BTFK__COUNT ? kind_names[kind] : "?";
}

/* Bytes that follow the 12-byte header of a record of kind with vlen items. */
static uint64_t extra_size(unsigned kind, uint32_t vlen)
{
	switch (kind) {
	case BTFK_INT: case BTFK_VAR: case BTFK_DECL_TAG:
		return 4;
	case BTFK_ARRAY:
		return 12;
	case BTFK_STRUCT: case BTFK_UNION: case BTFK_DATASEC: case BTFK_ENUM64:
		return 12ull * vlen;
	case BTFK_ENUM: case BTFK_FUNC_PROTO:
		return 8ull * vlen;
	default:
		return 0;
	}
}

/* Kinds whose vlen counts items (struct btf_item) */
static bool has_items(unsigned kind)
{
	return kind == BTFK_STRUCT || kind == BTFK_UNION || kind == BTFK_ENUM ||
	       kind == BTFK_ENUM64 || kind == BTFK_FUNC_PROTO || kind == BTFK_DATASEC;
}

const char *btf_str(const struct btf *btf, uint32_t off)
{
	return off < btf->str_len ? btf->strs + off : NULL;
}

const struct btf_ty *btf_type(const struct btf *btf, uint32_t id)
{
	return id < btf->nr_types ? &btf->types[id] : NULL;
}

void btf_free(struct btf *btf)
{
	if (!btf)
		return;
	free(btf->raw);
	free(btf->types);
	free(btf->items);
	free(btf);
}

struct dec {		/* decoding state, for messages */
	struct btf *btf;
	const char *what;
	uint32_t type_base;	/* offset of the type section in the BTF section */
};

static int name_at(struct dec *d, uint32_t off, uint64_t at, const char **out)
{
	*out = btf_str(d->btf, off);
	if (!*out)
		return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": string offset 0x%x is outside "
			      "the string section (%u bytes)", d->what, at, off, d->btf->str_len);
	return 0;
}

static int id_at(struct dec *d, uint32_t id, uint64_t at, uint32_t self)
{
	if (id >= d->btf->nr_types)
		return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": type %u refers to type id %u, "
			      "out of range (%u types)", d->what, at, self, id, d->btf->nr_types - 1);
	return 0;
}

/* Fills t from the record at p (rec = its offset in the section). */
static int decode_type(struct dec *d, struct btf_ty *t, const uint8_t *p, uint64_t rec,
		       struct btf_item *items)
{
	int err;
	uint32_t info = le32(p + 4);
	const uint8_t *x = p + TYPE_HDR;
	t->kind = (info >> 24) & 0x1f;
	t->kflag = info >> 31;
	uint16_t raw_vlen = info & 0xffff;
	t->vlen = has_items(t->kind) ? raw_vlen : 0;
	t->items = t->vlen ? items : NULL;
	if ((err = name_at(d, le32(p), rec, &t->name)))
		return err;
	uint32_t st = le32(p + 8);
	switch (t->kind) {
	case BTFK_INT: {
		uint32_t v = le32(x);
		t->size = st;
		t->int_enc = (v >> 24) & 0xf;
		t->int_off = (v >> 16) & 0xff;
		t->int_bits = v & 0xff;
		if ((st != 1 && st != 2 && st != 4 && st != 8 && st != 16) || t->int_bits > 128 ||
		    (uint32_t)t->int_off + t->int_bits > st * 8)
			return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": INT type %u has size %u, "
				      "%u bits at bit %u", d->what, rec, t->id, st, t->int_bits,
				      t->int_off);
		return 0;
	}
	case BTFK_ARRAY:
		t->ref = le32(x);
		t->index_type = le32(x + 4);
		t->nelems = le32(x + 8);
		if ((err = id_at(d, t->ref, rec, t->id)) || (err = id_at(d, t->index_type, rec, t->id)))
			return err;
		if (t->ref == 0)
			return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": ARRAY type %u of void",
				      d->what, rec, t->id);
		return 0;
	case BTFK_STRUCT: case BTFK_UNION:
		t->size = st;
		for (uint32_t i = 0; i < t->vlen; i++, x += 12) {
			struct btf_item *m = &items[i];
			uint32_t off = le32(x + 8);
			if ((err = name_at(d, le32(x), rec, &m->name)))
				return err;
			m->type = le32(x + 4);
			if ((err = id_at(d, m->type, rec, t->id)))
				return err;
			m->off = t->kflag ? off & 0xffffff : off;
			m->size = t->kflag ? off >> 24 : 0;
		}
		return 0;
	case BTFK_ENUM: case BTFK_ENUM64:
		t->size = st;
		if (st != 1 && st != 2 && st != 4 && st != 8)
			return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": %s type %u has size %u",
				      d->what, rec, kind_names[t->kind], t->id, st);
		for (uint32_t i = 0; i < t->vlen; i++) {
			struct btf_item *m = &items[i];
			if ((err = name_at(d, le32(x), rec, &m->name)))
				return err;
			if (t->kind == BTFK_ENUM) {
				uint32_t v = le32(x + 4);
				m->val = t->kflag ? (int64_t)(int32_t)v : (int64_t)v;
				x += 8;
			} else {
				m->val = (int64_t)(le32(x + 4) | (uint64_t)le32(x + 8) << 32);
				x += 12;
			}
		}
		return 0;
	case BTFK_FUNC_PROTO:
		t->ref = st;
		if ((err = id_at(d, t->ref, rec, t->id)))
			return err;
		for (uint32_t i = 0; i < t->vlen; i++, x += 8) {
			if ((err = name_at(d, le32(x), rec, &items[i].name)))
				return err;
			items[i].type = le32(x + 4);
			if ((err = id_at(d, items[i].type, rec, t->id)))
				return err;
		}
		return 0;
	case BTFK_DATASEC:
		t->size = st;
		for (uint32_t i = 0; i < t->vlen; i++, x += 12) {
			items[i].name = "";
			items[i].type = le32(x);
			items[i].off = le32(x + 4);
			items[i].size = le32(x + 8);
			if ((err = id_at(d, items[i].type, rec, t->id)))
				return err;
		}
		return 0;
	case BTFK_FLOAT:
		t->size = st;
		if (st != 2 && st != 4 && st != 8 && st != 12 && st != 16)
			return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": FLOAT type %u has size %u",
				      d->what, rec, t->id, st);
		return 0;
	case BTFK_FWD:
		return 0;
	case BTFK_VAR: case BTFK_FUNC:
		t->linkage = t->kind == BTFK_VAR ? le32(x) : raw_vlen;
		/* fall through */
	case BTFK_PTR: case BTFK_TYPEDEF: case BTFK_VOLATILE: case BTFK_CONST:
	case BTFK_RESTRICT: case BTFK_TYPE_TAG: case BTFK_DECL_TAG:
		t->ref = st;
		if (t->kind == BTFK_DECL_TAG)
			t->component = (int32_t)le32(x);
		return id_at(d, t->ref, rec, t->id);
	default:
		return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": type %u has unknown kind %u",
			      d->what, rec, t->id, t->kind);
	}
}

/* References the kinds constrain, once every type is decoded. */
static int check_refs(struct dec *d, const struct btf_ty *t)
{
	const struct btf *btf = d->btf;
	const char *k = kind_names[t->kind];
	switch (t->kind) {
	case BTFK_FUNC:
		if (btf->types[t->ref].kind != BTFK_FUNC_PROTO)
			return vm_err(-EINVAL, "btf: %s: FUNC type %u (%s) refers to type %u, not a "
				      "FUNC_PROTO", d->what, t->id, t->name, t->ref);
		return 0;
	case BTFK_DATASEC:
		for (uint32_t i = 0; i < t->vlen; i++) {
			unsigned kk = btf->types[t->items[i].type].kind;
			if (kk != BTFK_VAR && kk != BTFK_FUNC)
				return vm_err(-EINVAL, "btf: %s: DATASEC type %u (%s) entry %u is type %u, "
					      "not a VAR", d->what, t->id, t->name, i,
					      t->items[i].type);
		}
		return 0;
	case BTFK_VAR: case BTFK_PTR: case BTFK_TYPEDEF: case BTFK_VOLATILE: case BTFK_CONST:
	case BTFK_RESTRICT: case BTFK_TYPE_TAG: case BTFK_ARRAY: {
		unsigned kk = btf->types[t->ref].kind;
		if (kk == BTFK_VAR || kk == BTFK_DATASEC || kk == BTFK_DECL_TAG || kk == BTFK_FUNC)
			return vm_err(-EINVAL, "btf: %s: %s type %u refers to type %u of kind %s",
				      d->what, k, t->id, t->ref, kind_names[kk]);
		return 0;
	}
	default:
		return 0;
	}
}

struct btf *btf_parse(const void *data, size_t size, const char *what)
{
	struct btf *btf = calloc(1, sizeof(*btf));
	struct dec d = { .btf = btf, .what = what };
	if (!btf || !(btf->raw = malloc(size ? size : 1)))
		goto nomem;
	memcpy(btf->raw, data, size);
	btf->raw_len = size;
	const uint8_t *b = btf->raw;
	if (size < BTF_HDR_MIN) {
		vm_err(-EINVAL, "btf: %s: %zu bytes, shorter than the 24-byte header", what, size);
		goto inval;
	}
	if (le16(b) != BTF_MAGIC || b[2] != 1) {
		vm_err(-EINVAL, "btf: %s: offset 0x0: bad magic 0x%x or version %u", what, le16(b), b[2]);
		goto inval;
	}
	uint32_t hdr_len = le32(b + 4), type_off = le32(b + 8), type_len = le32(b + 12);
	uint32_t str_off = le32(b + 16), str_len = le32(b + 20);
	uint64_t end = size;
	if (hdr_len < BTF_HDR_MIN || hdr_len > end || (uint64_t)hdr_len + type_off + type_len > end ||
	    (uint64_t)hdr_len + str_off + str_len > end || type_len % 4) {
		vm_err(-EINVAL, "btf: %s: offset 0x4: header (length %u, types at 0x%x+%u, strings at "
		       "0x%x+%u) does not fit the section (%zu bytes)", what, hdr_len, type_off,
		       type_len, str_off, str_len, size);
		goto inval;
	}
	for (uint32_t i = BTF_HDR_MIN; i < hdr_len; i++)
		if (b[i]) {
			vm_err(-EINVAL, "btf: %s: offset 0x%x: unknown non-zero header field", what, i);
			goto inval;
		}
	btf->strs = (const char *)b + hdr_len + str_off;
	btf->str_len = str_len;
	if (str_len == 0 || btf->strs[0] || btf->strs[str_len - 1]) {
		vm_err(-EINVAL, "btf: %s: offset 0x%x: string section must start and end with NUL",
		       what, hdr_len + str_off);
		goto inval;
	}
	d.type_base = hdr_len + type_off;
	const uint8_t *types = b + d.type_base;
	/* pass 1: count and bound records */
	uint64_t nr = 1, nitems = 0;
	for (uint64_t off = 0; off < type_len;) {
		if (type_len - off < TYPE_HDR) {
			vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": type record truncated", what,
			       d.type_base + off);
			goto inval;
		}
		uint32_t info = le32(types + off + 4);
		unsigned kind = (info >> 24) & 0x1f;
		uint32_t vlen = info & 0xffff;
		uint64_t rec = TYPE_HDR + extra_size(kind, vlen);
		if (rec > type_len - off) {
			vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": type %" PRIu64 " (%s, %u items) runs "
			       "past the end of the type section", what, d.type_base + off, nr,
			       btf_kind_name(kind), vlen);
			goto inval;
		}
		if (has_items(kind))
			nitems += vlen;
		nr++;
		off += rec;
	}
	if (nr > 0x7fffffff) {
		vm_err(-EINVAL, "btf: %s: too many types", what);
		goto inval;
	}
	btf->nr_types = (uint32_t)nr;
	btf->types = calloc(nr, sizeof(*btf->types));
	btf->items = calloc(nitems ? nitems : 1, sizeof(*btf->items));
	if (!btf->types || !btf->items)
		goto nomem;
	btf->types[0].name = "";
	/* pass 2: decode */
	struct btf_item *items = btf->items;
	uint64_t off = 0;
	for (uint32_t id = 1; id < nr; id++) {
		struct btf_ty *t = &btf->types[id];
		const uint8_t *p = types + off;
		t->id = id;
		if (decode_type(&d, t, p, d.type_base + off, items))
			goto inval;
		items += t->items ? t->vlen : 0;
		off += TYPE_HDR + extra_size(t->kind, le32(p + 4) & 0xffff);
	}
	for (uint32_t id = 1; id < nr; id++)
		if (check_refs(&d, &btf->types[id]))
			goto inval;
	return btf;
nomem:
	btf_free(btf);
	errno = ENOMEM;
	return NULL;
inval:
	btf_free(btf);
	errno = EINVAL;
	return NULL;
}

/* ---- walkers ------------------------------------------------------------------- */

static bool is_mod(unsigned kind)
{
	return kind == BTFK_TYPEDEF || kind == BTFK_VOLATILE || kind == BTFK_CONST ||
	       kind == BTFK_RESTRICT || kind == BTFK_TYPE_TAG;
}

const struct btf_ty *btf_skip_mods(const struct btf *btf, uint32_t id, uint32_t *out_id)
{
	for (int depth = 0; depth <= BTF_MAX_DEPTH; depth++) {
		const struct btf_ty *t = btf_type(btf, id);
		if (!t)
			return NULL;
		if (!is_mod(t->kind)) {
			if (out_id)
				*out_id = id;
			return t;
		}
		id = t->ref;
	}
	return NULL;
}

static int type_size(const struct btf *btf, uint32_t id, uint64_t *size, int depth)
{
	const struct btf_ty *t = btf_skip_mods(btf, id, NULL);
	if (!t || depth > BTF_MAX_DEPTH)
		return -EINVAL;
	switch (t->kind) {
	case BTFK_INT: case BTFK_STRUCT: case BTFK_UNION: case BTFK_ENUM: case BTFK_ENUM64:
	case BTFK_FLOAT: case BTFK_DATASEC:
		*size = t->size;
		return 0;
	case BTFK_PTR:
		*size = 8;
		return 0;
	case BTFK_VAR:
		return type_size(btf, t->ref, size, depth + 1);
	case BTFK_ARRAY: {
		uint64_t elem;
		int err = type_size(btf, t->ref, &elem, depth + 1);
		if (err)
			return err;
		if (elem && t->nelems > UINT32_MAX / elem)
			return -EINVAL;
		*size = elem * t->nelems;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int btf_type_size(const struct btf *btf, uint32_t id, uint64_t *size)
{
	return type_size(btf, id, size, 0);
}

int btf_member_index(const struct btf_ty *t, const char *name)
{
	if (t->kind != BTFK_STRUCT && t->kind != BTFK_UNION)
		return -1;
	for (int i = 0; i < t->vlen; i++)
		if (strcmp(t->items[i].name, name) == 0)
			return i;
	return -1;
}

long btf_find(const struct btf *btf, const char *name, enum btf_kind kind)
{
	for (uint32_t id = 1; id < btf->nr_types; id++)
		if (btf->types[id].kind == kind && strcmp(btf->types[id].name, name) == 0)
			return id;
	return -ENOENT;
}

/* ---- formatting --------------------------------------------------------------------
 * One walker prints a value in either of two notations, chosen by struct out's json
 * flag: C initialiser syntax for btf_format ({.a = 1, .s = "x"}, 'c', RED, 0x1000)
 * and JSON for btf_format_json, the "formatted" form bpftool prints maps in
 * ({"a": 1, "s": "x"}, "c", "RED", 4096). The few places where the two differ ask
 * o->json; everything else (sizes, bounds, bitfields, recursion limits) is shared.
 */

struct out {
	char *buf;
	size_t len, pos;	/* pos may pass len: then the text was cut */
	bool json;
};

static void put(struct out *o, const char *fmt, ...) BPFVM_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

static bool full(const struct out *o) { return o->pos + 1 >= o->len; }

static uint64_t load_uint(const uint8_t *p, uint32_t size)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t sext(uint64_t v, unsigned bits)
{
	if (bits == 0 || bits >= 64)
		return (int64_t)v;
	uint64_t m = 1ull << (bits - 1);
	v &= (1ull << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

/* One character inside quote ('"' always in JSON), escaped as C or JSON wants. */
static void put_char(struct out *o, unsigned c, char quote)
{
	if (c == (unsigned char)quote || c == '\\')
		put(o, "\\%c", c);
	else if (c >= 0x20 && c < 0x7f)
		put(o, "%c", c);
	else if (c == '\n')
		put(o, "\\n");
	else if (o->json)
		put(o, "\\u%04x", c);
	else
		put(o, "\\x%02x", c);
}

/* A name from the BTF (enumerator, member, variable): bare in C, a JSON string
 * (escaped: names are untrusted input) in JSON. */
static void put_name(struct out *o, const char *name)
{
	if (!o->json) {
		put(o, "%s", name);
		return;
	}
	put(o, "\"");
	for (; *name && !full(o); name++)
		put_char(o, (unsigned char)*name, '"');
	put(o, "\"");
}

/* A member's or variable's label before its value: ".a = " or "\"a\": ". */
static void put_label(struct out *o, const char *name)
{
	if (o->json) {
		put_name(o, name);
		put(o, ": ");
	} else {
		put(o, ".%s = ", name);
	}
}

static void put_int(struct out *o, const struct btf_ty *t, uint64_t v, unsigned bits)
{
	bool is_chr = t->kind == BTFK_INT && (t->int_enc & BTF_INT_CHAR) && bits == 8;
	if (t->kind == BTFK_INT && (t->int_enc & BTF_INT_BOOL)) {
		put(o, "%s", v ? "true" : "false");
	} else if (is_chr && (o->json || (v >= 0x20 && v < 0x7f))) {
		char q = o->json ? '"' : '\'';
		put(o, "%c", q);
		put_char(o, (unsigned)v, q);
		put(o, "%c", q);
	} else if ((t->kind == BTFK_INT && (t->int_enc & BTF_INT_SIGNED)) ||
		   ((t->kind == BTFK_ENUM || t->kind == BTFK_ENUM64) && t->kflag)) {
		put(o, "%" PRId64, sext(v, bits));
	} else {
		put(o, "%" PRIu64, v);
	}
}

static void put_float(struct out *o, double f)
{
	bool finite = f == f && f - f == 0;	/* not NaN, not infinite */
	if (o->json && !finite)
		put(o, "\"%g\"", f);		/* JSON has no NaN or infinity */
	else
		put(o, "%g", f);
}

static int format(const struct btf *btf, uint32_t id, const uint8_t *p, size_t size,
		  struct out *o, int depth);

/* Is elem (modifiers skipped) a 1-byte char-like integer? */
static bool is_char(const struct btf_ty *t)
{
	return t && t->kind == BTFK_INT && t->size == 1 && !(t->int_enc & BTF_INT_BOOL);
}

static int format_array(const struct btf *btf, const struct btf_ty *t, const uint8_t *p,
			size_t size, struct out *o, int depth)
{
	uint64_t esz;
	int err = btf_type_size(btf, t->ref, &esz);
	if (err)
		return err;
	if (is_char(btf_skip_mods(btf, t->ref, NULL))) {
		put(o, "\"");
		for (uint32_t i = 0; i < t->nelems && p[i] && !full(o); i++)
			put_char(o, p[i], '"');
		put(o, "\"");
		return 0;
	}
	put(o, "[");
	for (uint32_t i = 0; i < t->nelems && !full(o); i++) {
		if (i)
			put(o, ", ");
		if ((err = format(btf, t->ref, p + i * esz, esz, o, depth + 1)))
			return err;
	}
	put(o, "]");
	return 0;
}

/* The members of STRUCT/UNION t at p, each preceded by ", " unless *first. In JSON
 * an anonymous struct or union member's members are listed in place (as C lets
 * them be named) and an anonymous bitfield (padding) is left out, so that every
 * value has a key. */
static int format_members(const struct btf *btf, const struct btf_ty *t, const uint8_t *p,
			  struct out *o, int depth, bool *first)
{
	if (depth > BTF_MAX_DEPTH)
		return -EINVAL;
	for (uint32_t i = 0; i < t->vlen && !full(o); i++) {
		const struct btf_item *m = &t->items[i];
		uint32_t byte = m->off / 8;
		uint64_t msz;
		int err = btf_type_size(btf, m->type, &msz);
		if (err)
			return err;
		bool bitfield = m->size || m->off % 8;
		const struct btf_ty *mt = btf_skip_mods(btf, m->type, NULL);
		if (!mt)
			return -EINVAL;
		if (o->json && !m->name[0]) {
			if (bitfield || (mt->kind != BTFK_STRUCT && mt->kind != BTFK_UNION))
				continue;
			if (byte > t->size || msz > t->size - byte)
				return -EINVAL;
			if ((err = format_members(btf, mt, p + byte, o, depth + 1, first)))
				return err;
			continue;
		}
		if (!*first)
			put(o, ", ");
		*first = false;
		if (m->name[0])
			put_label(o, m->name);
		if (bitfield) {	/* read the bits it spans */
			uint32_t bits = m->size ? m->size : (uint32_t)msz * 8;
			if (bits > 64 || ((uint64_t)m->off + bits + 7) / 8 > t->size)
				return -EINVAL;
			uint32_t span = (m->off % 8 + bits + 7) / 8;
			uint64_t v = 0;
			for (uint32_t k = 0; k < span && k < 8; k++)
				v |= (uint64_t)p[byte + k] << (8 * k);
			if (span > 8)
				v = (v >> (m->off % 8)) | (uint64_t)p[byte + 8] << (64 - m->off % 8);
			else
				v >>= m->off % 8;
			if (bits < 64)
				v &= (1ull << bits) - 1;
			put_int(o, mt, v, bits);
			continue;
		}
		if (byte > t->size || msz > t->size - byte)
			return -EINVAL;
		if ((err = format(btf, m->type, p + byte, msz, o, depth + 1)))
			return err;
	}
	return 0;
}

static int format_struct(const struct btf *btf, const struct btf_ty *t, const uint8_t *p,
			 struct out *o, int depth)
{
	bool first = true;
	put(o, "{");
	int err = format_members(btf, t, p, o, depth, &first);
	if (err)
		return err;
	put(o, "}");
	return 0;
}

static int format(const struct btf *btf, uint32_t id, const uint8_t *p, size_t size,
		  struct out *o, int depth)
{
	uint64_t need;
	const struct btf_ty *t = btf_skip_mods(btf, id, NULL);
	if (!t || depth > BTF_MAX_DEPTH || btf_type_size(btf, id, &need) || need > size)
		return -EINVAL;
	switch (t->kind) {
	case BTFK_INT:
		if (t->size > 8) {
			put(o, o->json ? "\"0x" : "0x");
			for (uint32_t i = t->size; i-- > 0;)
				put(o, "%02x", p[i]);
			if (o->json)
				put(o, "\"");
			return 0;
		}
		{
			unsigned bits = t->int_bits ? t->int_bits : t->size * 8;
			uint64_t v = t->int_off < 64 ? load_uint(p, t->size) >> t->int_off : 0;
			if (bits < 64)
				v &= (1ull << bits) - 1;
			put_int(o, t, v, bits);
		}
		return 0;
	case BTFK_ENUM: case BTFK_ENUM64: {
		uint64_t v = load_uint(p, t->size);
		for (uint32_t i = 0; i < t->vlen; i++)
			if ((uint64_t)t->items[i].val == v ||
			    (t->size < 8 && (uint64_t)t->items[i].val ==
					    (uint64_t)sext(v, t->size * 8))) {
				put_name(o, t->items[i].name);
				return 0;
			}
		put_int(o, t, v, t->size * 8);
		return 0;
	}
	case BTFK_PTR:
		if (o->json)
			put(o, "%" PRIu64, load_uint(p, 8));
		else
			put(o, "0x%" PRIx64, load_uint(p, 8));
		return 0;
	case BTFK_FLOAT:
		if (t->size == 4) {
			float f;
			memcpy(&f, p, 4);
			put_float(o, (double)f);
		} else if (t->size == 8) {
			double f;
			memcpy(&f, p, 8);
			put_float(o, f);
		} else {
			return -EINVAL;
		}
		return 0;
	case BTFK_ARRAY:
		return format_array(btf, t, p, size, o, depth);
	case BTFK_STRUCT: case BTFK_UNION:
		return format_struct(btf, t, p, o, depth);
	case BTFK_VAR:
		return format(btf, t->ref, p, size, o, depth + 1);
	case BTFK_DATASEC:
		put(o, "{");
		for (uint32_t i = 0; i < t->vlen && !full(o); i++) {
			const struct btf_item *v = &t->items[i];
			if (v->off > size || v->size > size - v->off)
				return -EINVAL;
			if (i)
				put(o, ", ");
			put_label(o, btf->types[v->type].name);
			int err = format(btf, v->type, p + v->off, v->size, o, depth + 1);
			if (err)
				return err;
		}
		put(o, "}");
		return 0;
	default:
		return -EINVAL;
	}
}

int btf_format_value(const struct btf *btf, uint32_t id, const void *data, size_t size,
		     bool json, char *buf, size_t len)
{
	struct out o = { buf, len, 0, json };
	if (len)
		buf[0] = 0;
	int err = format(btf, id, data, size, &o, 0);
	if (len)
		buf[o.pos < len ? o.pos : len - 1] = 0;
	return err ? err : o.pos >= len ? -ENOSPC : 0;
}

int btf_format(const struct btf *btf, uint32_t id, const void *data, size_t size, char *buf,
	       size_t len)
{
	int err = btf_format_value(btf, id, data, size, false, buf, len);
	return err == -ENOSPC ? 0 : err;
}

int btf_format_json(const struct btf *btf, uint32_t id, const void *data, size_t size,
		    char *buf, size_t len)
{
	return btf_format_value(btf, id, data, size, true, buf, len);
}

/* ---- .BTF.ext ----------------------------------------------------------------------- */

void btf_ext_free(struct btf_ext *ext)
{
	if (!ext)
		return;
	free(ext->funcs);
	free(ext->lines);
	free(ext->cores);
	free(ext);
}

enum ext_part { EXT_FUNC, EXT_LINE, EXT_CORE };
static const uint32_t ext_min_rec[] = { 8, 16, 16 };
static const char *const ext_part_name[] = { "func_info", "line_info", "core_relo" };

/* Decodes one part (sub-section) at b[off..off+len): rec_size, then per-section
 * blocks {sec_name_off, num_info, records}. Two passes: count, then fill. */
static int ext_part(struct btf_ext *ext, const struct btf *btf, const uint8_t *b, uint32_t off,
		    uint32_t len, enum ext_part part, const char *what)
{
	const char *pn = ext_part_name[part];
	if (len == 0)
		return 0;
	if (len < 4)
		return vm_err(-EINVAL, "btf: %s: offset 0x%x: %s truncated", what, off, pn);
	uint32_t rec = le32(b + off);
	if (rec < ext_min_rec[part] || rec % 4)
		return vm_err(-EINVAL, "btf: %s: offset 0x%x: %s record size %u", what, off, pn, rec);
	size_t total = 0;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		if (pass == 1) {
			size_t esz = part == EXT_FUNC ? sizeof(*ext->funcs) :
				     part == EXT_LINE ? sizeof(*ext->lines) : sizeof(*ext->cores);
			void *arr = calloc(total ? total : 1, esz);
			if (!arr)
				return -ENOMEM;
			if (part == EXT_FUNC)
				ext->funcs = arr, ext->func_cnt = total;
			else if (part == EXT_LINE)
				ext->lines = arr, ext->line_cnt = total;
			else
				ext->cores = arr, ext->core_cnt = total;
		}
		for (uint64_t p = 4; p < len;) {
			uint64_t at = off + p;
			if (len - p < 8)
				return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": %s block header "
					      "truncated", what, at, pn);
			const char *sec = btf_str(btf, le32(b + at));
			uint32_t num = le32(b + at + 4);
			if (!sec)
				return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": %s section name "
					      "offset 0x%x out of range", what, at, pn, le32(b + at));
			p += 8;
			if ((uint64_t)num * rec > len - p)
				return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": %s block for %s: %u "
					      "records of %u bytes run past the end", what, at, pn,
					      sec, num, rec);
			if (pass == 0) {
				total += num;
				p += (uint64_t)num * rec;
				continue;
			}
			for (uint32_t i = 0; i < num; i++, n++, p += rec) {
				const uint8_t *r = b + off + p;
				uint64_t ra = off + p;
				if (part == EXT_FUNC) {
					struct btf_ext_func *f = &ext->funcs[n];
					f->sec = sec;
					f->insn_off = le32(r);
					f->type_id = le32(r + 4);
					if (f->type_id >= btf->nr_types)
						return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": "
							      "func_info type id %u out of range",
							      what, ra, f->type_id);
				} else if (part == EXT_LINE) {
					struct btf_ext_line *l = &ext->lines[n];
					l->sec = sec;
					l->insn_off = le32(r);
					l->file = btf_str(btf, le32(r + 4));
					l->line = btf_str(btf, le32(r + 8));
					l->line_no = le32(r + 12) >> 10;
					l->col = le32(r + 12) & 0x3ff;
					if (!l->file || !l->line)
						return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": "
							      "line_info string offset out of range",
							      what, ra);
				} else {
					struct btf_ext_core *c = &ext->cores[n];
					c->sec = sec;
					c->insn_off = le32(r);
					c->type_id = le32(r + 4);
					c->access = btf_str(btf, le32(r + 8));
					c->kind = le32(r + 12);
					if (c->type_id >= btf->nr_types || !c->access ||
					    c->kind >= BTF_CORE__COUNT)
						return vm_err(-EINVAL, "btf: %s: offset 0x%" PRIx64 ": "
							      "core_relo record (type %u, kind %u) "
							      "is invalid", what, ra, c->type_id,
							      c->kind);
				}
			}
		}
	}
	return 0;
}

struct btf_ext *btf_ext_parse(const void *data, size_t size, const struct btf *btf,
			      const char *what)
{
	const uint8_t *b = data;
	struct btf_ext *ext = calloc(1, sizeof(*ext));
	int err = -EINVAL;
	if (!ext) {
		errno = ENOMEM;
		return NULL;
	}
	if (size < 24 || le16(b) != BTF_MAGIC || b[2] != 1) {
		vm_err(-EINVAL, "btf: %s: offset 0x0: bad header (size %zu)", what, size);
		goto fail;
	}
	uint32_t hdr_len = le32(b + 4);
	if (hdr_len < 24 || hdr_len > size) {
		vm_err(-EINVAL, "btf: %s: offset 0x4: header length %u", what, hdr_len);
		goto fail;
	}
	for (int part = EXT_FUNC; part <= EXT_CORE; part++) {
		uint32_t at = 8 + 8 * part;
		if (at + 8 > hdr_len)
			break;		/* older headers have no core_relo part */
		uint32_t off = le32(b + at), len = le32(b + at + 4);
		if ((uint64_t)hdr_len + off + len > size) {
			vm_err(-EINVAL, "btf: %s: offset 0x%x: %s (0x%x+%u) lies past the end (%zu "
			       "bytes)", what, at, ext_part_name[part], off, len, size);
			goto fail;
		}
		if ((err = ext_part(ext, btf, b, hdr_len + off, len, part, what)))
			goto fail;
	}
	return ext;
fail:
	btf_ext_free(ext);
	errno = err == -ENOMEM ? ENOMEM : EINVAL;
	return NULL;
}
