/*
 * object.c — from a parsed ELF file and its BTF to an object description
 * (object.h): license and version, maps (BTF-defined in .maps, legacy in "maps",
 * one per global-data section), executable sections and their functions, and the
 * programs — one per function in each executable section other than .text — which
 * reloc.c links and relocates.
 *
 * Order: ELF → .BTF / .BTF.ext → license → maps → code sections (copies) → CO-RE →
 * programs (linking) → .values initialisers of maps (they name programs and maps).
 */
#include "loader/object.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "loader/le.h"
#include "log.h"

#define LEGACY_DEF_SIZE	20	/* struct bpf_map_def: 5 x u32 */

int ldr_object_find_map(const struct ldr_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->map_cnt; i++)
		if (strcmp(obj->maps[i].name, name) == 0)
			return (int)i;
	return -1;
}

int ldr_object_find_prog(const struct ldr_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->prog_cnt; i++)
		if (strcmp(obj->progs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void map_fini(struct ldr_map *m)
{
	if (m->inner) {
		map_fini(m->inner);
		free(m->inner);
	}
	free(m->slots);
}

void ldr_object_free(struct ldr_object *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->prog_cnt; i++) {
		free(obj->progs[i].insns);
		free(obj->progs[i].funcs);
		free(obj->progs[i].map_refs);
	}
	free(obj->progs);
	for (size_t i = 0; i < obj->map_cnt; i++)
		map_fini(&obj->maps[i]);
	free(obj->maps);
	free(obj->license);
	free(obj->core);
	btf_ext_free(obj->ext);
	btf_free(obj->btf);
	elf_free(&obj->elf);
	free(obj->buf);
	free(obj);
}

/* Grows *arr (of *cnt elements of size esz) by one zeroed element; NULL on ENOMEM. */
static void *push(void *arr, size_t *cnt, size_t esz)
{
	void **a = arr;
	void *n = realloc(*a, (*cnt + 1) * esz);
	if (!n)
		return NULL;
	*a = n;
	void *e = (char *)n + *cnt * esz;
	memset(e, 0, esz);
	(*cnt)++;
	return e;
}

static struct ldr_map *new_map(struct ldr_object *obj)
{
	return push(&obj->maps, &obj->map_cnt, sizeof(struct ldr_map));
}

/* ---- license, version --------------------------------------------------------------- */

static int parse_license(struct ldr_object *obj)
{
	const struct elf_sec *s = elf_sec_by_name(&obj->elf, "license");
	size_t n = 0;
	if (s && s->data) {
		const char *p = (const char *)s->data;
		while (n < s->size && p[n])
			n++;
	}
	obj->license = malloc(n + 1);
	if (!obj->license)
		return -ENOMEM;
	if (n)
		memcpy(obj->license, s->data, n);
	obj->license[n] = 0;
	s = elf_sec_by_name(&obj->elf, "version");
	if (s && s->data && s->size == 4)
		obj->kern_version = le32(s->data);
	else if (s)
		return vm_err(-EINVAL, "loader: section %u (version): %llu bytes, expected 4", s->idx,
			      (unsigned long long)s->size);
	return 0;
}

/* ---- BTF fix-ups ------------------------------------------------------------------------ */

/* clang leaves a DATASEC's size and its variables' offsets to the loader (they are
 * only known once the section is laid out): take them from the ELF section and
 * the variables' symbols, as libbpf does. */
static int fixup_datasecs(struct ldr_object *obj)
{
	struct btf *btf = obj->btf;
	const struct elf_file *ef = &obj->elf;
	for (uint32_t id = 1; btf && id < btf->nr_types; id++) {
		struct btf_ty *t = &btf->types[id];
		const struct elf_sec *s = t->kind == BTFK_DATASEC ? elf_sec_by_name(ef, t->name) : NULL;
		if (!s)
			continue;
		if (s->size > UINT32_MAX)
			return vm_err(-EINVAL, "loader: section %u (%s): too large", s->idx, s->name);
		t->size = (uint32_t)s->size;
		for (uint32_t i = 0; i < t->vlen; i++) {
			struct btf_item *vi = &t->items[i];
			const struct btf_ty *var = btf_type(btf, vi->type);
			if (var->kind != BTFK_VAR)
				continue;
			for (uint32_t k = 1; k < ef->sym_cnt; k++) {
				const struct elf_sym *sym = &ef->syms[k];
				if (sym->shndx == s->idx && sym->type == ELF_STT_OBJECT &&
				    strcmp(sym->name, var->name) == 0) {
					if (sym->value > s->size)
						return vm_err(-EINVAL, "loader: section %u (%s): variable "
							      "'%s' at offset 0x%llx is past its end",
							      s->idx, s->name, sym->name,
							      (unsigned long long)sym->value);
					vi->off = (uint32_t)sym->value;
					break;
				}
			}
		}
	}
	return 0;
}

/* ---- BTF-defined maps ------------------------------------------------------------------ */

/* `__uint(name, N)`: a pointer to an array of N elements. */
static int btf_uint(const struct btf *btf, const struct btf_item *m, const char *map,
		    uint32_t *val)
{
	const struct btf_ty *p = btf_skip_mods(btf, m->type, NULL);
	const struct btf_ty *a = p && p->kind == BTFK_PTR ? btf_skip_mods(btf, p->ref, NULL) : NULL;
	if (!a || a->kind != BTFK_ARRAY)
		return vm_err(-EINVAL, "loader: section .maps: map '%s': field '%s' is not __uint() (a pointer "
			      "to an array)", map, m->name);
	*val = a->nelems;
	return 0;
}

/* `__type(name, T)`: a pointer to T; *size = sizeof(T). */
static int btf_typed(const struct btf *btf, const struct btf_item *m, const char *map,
		     uint32_t *id, uint32_t *size)
{
	const struct btf_ty *p = btf_skip_mods(btf, m->type, NULL);
	uint64_t sz;
	if (!p || p->kind != BTFK_PTR || btf_type_size(btf, p->ref, &sz) || sz > UINT32_MAX)
		return vm_err(-EINVAL, "loader: section .maps: map '%s': field '%s' is not __type() of a sized "
			      "type", map, m->name);
	*id = p->ref;
	*size = (uint32_t)sz;
	return 0;
}

static int set_size(uint32_t *field, uint32_t val, const char *map, const char *what)
{
	if (*field && *field != val)
		return vm_err(-EINVAL, "loader: section .maps: map '%s': %s %u disagrees with %u", map, what,
			      *field, val);
	*field = val;
	return 0;
}

/* Fills m from the map-definition struct def (a BTF STRUCT). inner: a `values`
 * template's definition (no further nesting). values_off: byte offset of the
 * `values` member (UINT32_MAX if none). */
static int parse_btf_map_def(const struct btf *btf, const struct btf_ty *def, struct ldr_map *m,
			     bool inner, uint32_t *values_off)
{
	const char *mn = m->name;
	int err = 0;
	uint32_t id = 0, sz = 0;
	*values_off = UINT32_MAX;
	for (uint32_t i = 0; i < def->vlen && !err; i++) {
		const struct btf_item *f = &def->items[i];
		const char *n = f->name;
		if (strcmp(n, "type") == 0) {
			err = btf_uint(btf, f, mn, &m->type);
		} else if (strcmp(n, "max_entries") == 0) {
			err = btf_uint(btf, f, mn, &m->max_entries);
		} else if (strcmp(n, "map_flags") == 0) {
			err = btf_uint(btf, f, mn, &m->map_flags);
		} else if (strcmp(n, "numa_node") == 0) {
			err = btf_uint(btf, f, mn, &m->numa_node);
		} else if (strcmp(n, "pinning") == 0) {
			err = btf_uint(btf, f, mn, &m->pinning);
		} else if (strcmp(n, "map_extra") == 0) {
			uint32_t v = 0;
			err = btf_uint(btf, f, mn, &v);
			m->map_extra = v;
		} else if (strcmp(n, "key_size") == 0 || strcmp(n, "value_size") == 0) {
			bool key = n[0] == 'k';
			if (!(err = btf_uint(btf, f, mn, &sz)))
				err = set_size(key ? &m->key_size : &m->value_size, sz, mn, n);
		} else if (strcmp(n, "key") == 0 || strcmp(n, "value") == 0) {
			bool key = n[0] == 'k';
			if ((err = btf_typed(btf, f, mn, &id, &sz)))
				break;
			err = set_size(key ? &m->key_size : &m->value_size, sz, mn,
				       key ? "key_size" : "value_size");
			*(key ? &m->btf_key : &m->btf_value) = id;
		} else if (strcmp(n, "values") == 0 && !inner) {
			const struct btf_ty *a = btf_skip_mods(btf, f->type, NULL);
			const struct btf_ty *p = a && a->kind == BTFK_ARRAY ?
						 btf_skip_mods(btf, a->ref, NULL) : NULL;
			const struct btf_ty *t = p && p->kind == BTFK_PTR ?
						 btf_skip_mods(btf, p->ref, NULL) : NULL;
			if (!t || f->off % 64)
				return vm_err(-EINVAL, "loader: section .maps: map '%s': field 'values' is not "
					      "__array() of pointers", mn);
			*values_off = f->off / 8;
			if (m->value_size == 0)
				m->value_size = 4;
			if (t->kind == BTFK_STRUCT) {
				uint32_t unused;
				if (!(m->inner = calloc(1, sizeof(*m->inner))))
					return -ENOMEM;
				m->inner->name = m->name;
				m->inner->origin = LDR_MAP_BTF;
				err = parse_btf_map_def(btf, t, m->inner, true, &unused);
			} else if (t->kind != BTFK_FUNC_PROTO) {
				return vm_err(-EINVAL, "loader: section .maps: map '%s': 'values' points to %s, "
					      "not a map definition or a function", mn,
					      btf_kind_name(t->kind));
			}
		} else {
			return vm_err(-EINVAL, "loader: section .maps: map '%s': unknown field '%s'", mn, n);
		}
	}
	if (!err && m->type == 0)
		err = vm_err(-EINVAL, "loader: section .maps: map '%s' has no type", mn);
	return err;
}

static int parse_btf_maps(struct ldr_object *obj, uint32_t **values_offs)
{
	const struct elf_sec *s = elf_sec_by_name(&obj->elf, ".maps");
	const struct btf *btf = obj->btf;
	if (!s)
		return 0;
	long ds = btf ? btf_find(btf, ".maps", BTFK_DATASEC) : -ENOENT;
	if (ds < 0)
		return vm_err(-EINVAL, "loader: section %u (.maps): no BTF DATASEC '.maps' describes "
			      "it", s->idx);
	const struct btf_ty *sec = btf_type(btf, (uint32_t)ds);
	*values_offs = calloc(sec->vlen ? sec->vlen : 1, sizeof(**values_offs));
	if (!*values_offs)
		return -ENOMEM;
	for (uint32_t i = 0; i < sec->vlen; i++) {
		const struct btf_item *vi = &sec->items[i];
		const struct btf_ty *var = btf_type(btf, vi->type);
		if (var->kind != BTFK_VAR)
			return vm_err(-EINVAL, "loader: section %u (.maps): BTF entry %u is not a "
				      "variable", s->idx, i);
		const struct btf_ty *def = btf_skip_mods(btf, var->ref, NULL);
		if (!def || def->kind != BTFK_STRUCT)
			return vm_err(-EINVAL, "loader: section %u (.maps): map '%s' is not a struct",
				      s->idx, var->name);
		if ((uint64_t)vi->off + vi->size > s->size)
			return vm_err(-EINVAL, "loader: section %u (.maps): map '%s' at offset 0x%x "
				      "(%u bytes) lies past the end of the section (%llu bytes)",
				      s->idx, var->name, vi->off, vi->size,
				      (unsigned long long)s->size);
		struct ldr_map *m = new_map(obj);
		if (!m)
			return -ENOMEM;
		m->name = var->name;
		m->origin = LDR_MAP_BTF;
		m->sec = s->idx;
		m->sec_off = vi->off;
		m->sec_size = vi->size;
		int err = parse_btf_map_def(btf, def, m, false, &(*values_offs)[i]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- legacy maps ----------------------------------------------------------------------- */

static int parse_legacy_maps(struct ldr_object *obj)
{
	const struct elf_sec *s = elf_sec_by_name(&obj->elf, "maps");
	const struct elf_file *ef = &obj->elf;
	if (!s)
		return 0;
	if (!s->data)
		return vm_err(-EINVAL, "loader: section %u (maps) has no data", s->idx);
	size_t n = 0;
	for (uint32_t i = 1; i < ef->sym_cnt; i++)
		n += ef->syms[i].shndx == s->idx && ef->syms[i].type != ELF_STT_SECTION;
	if (n == 0)
		return s->size ? vm_err(-EINVAL, "loader: section %u (maps): no symbols name its "
					"maps", s->idx) : 0;
	uint64_t def = s->size / n;
	if (s->size % n || def < 4 || def % 4)
		return vm_err(-EINVAL, "loader: section %u (maps): %llu bytes do not divide into %zu "
			      "map definitions", s->idx, (unsigned long long)s->size, n);
	for (uint32_t i = 1; i < ef->sym_cnt; i++) {
		const struct elf_sym *sym = &ef->syms[i];
		if (sym->shndx != s->idx || sym->type == ELF_STT_SECTION)
			continue;
		if (sym->value % def || sym->value >= s->size)
			return vm_err(-EINVAL, "loader: section %u (maps): map '%s' at offset 0x%llx is "
				      "not on a %llu-byte definition boundary", s->idx, sym->name,
				      (unsigned long long)sym->value, (unsigned long long)def);
		const uint8_t *p = s->data + sym->value;
		uint32_t f[5] = { 0 };
		for (uint64_t k = 0; k < def / 4 && k < 5; k++)
			f[k] = le32(p + 4 * k);
		for (uint64_t k = LEGACY_DEF_SIZE; k < def; k++)
			if (p[k])
				return vm_err(-EINVAL, "loader: section %u (maps): map '%s': unknown "
					      "non-zero field at offset 0x%llx", s->idx, sym->name,
					      (unsigned long long)(sym->value + k));
		struct ldr_map *m = new_map(obj);
		if (!m)
			return -ENOMEM;
		m->name = sym->name;
		m->origin = LDR_MAP_LEGACY;
		m->type = f[0];
		m->key_size = f[1];
		m->value_size = f[2];
		m->max_entries = f[3];
		m->map_flags = f[4];
		m->sec = s->idx;
		m->sec_off = sym->value;
		m->sec_size = def;
	}
	return 0;
}

/* ---- global data ---------------------------------------------------------------------- */

static bool has_prefix(const char *s, const char *p)
{
	size_t n = strlen(p);
	return strncmp(s, p, n) == 0 && (s[n] == 0 || s[n] == '.');
}

static int parse_data_maps(struct ldr_object *obj)
{
	for (uint32_t i = 1; i < obj->elf.shnum; i++) {
		const struct elf_sec *s = &obj->elf.secs[i];
		enum ldr_map_origin o;
		if (has_prefix(s->name, ".rodata"))
			o = LDR_MAP_RODATA;
		else if (has_prefix(s->name, ".data"))
			o = LDR_MAP_DATA;
		else if (has_prefix(s->name, ".bss"))
			o = LDR_MAP_BSS;
		else
			continue;
		if (!(s->flags & ELF_SHF_ALLOC) || s->size == 0 ||
		    (s->type != ELF_SHT_PROGBITS && s->type != ELF_SHT_NOBITS))
			continue;
		if (s->size > UINT32_MAX)
			return vm_err(-EINVAL, "loader: section %u (%s): %llu bytes is too large for a "
				      "map value", i, s->name, (unsigned long long)s->size);
		struct ldr_map *m = new_map(obj);
		if (!m)
			return -ENOMEM;
		m->name = s->name;
		m->origin = s->type == ELF_SHT_NOBITS ? LDR_MAP_BSS : o;
		m->type = BPFVM_MAP_TYPE_ARRAY;
		m->key_size = 4;
		m->value_size = (uint32_t)s->size;
		m->max_entries = 1;
		m->init = s->data;
		m->sec = i;
		m->sec_size = s->size;
		if (o == LDR_MAP_RODATA) {
			m->map_flags = BPFVM_F_RDONLY_PROG;
			m->frozen = true;
		}
		long ds = obj->btf ? btf_find(obj->btf, s->name, BTFK_DATASEC) : -ENOENT;
		m->btf_value = ds > 0 ? (uint32_t)ds : 0;
	}
	return 0;
}

/* ---- code sections and programs -------------------------------------------------------- */

static int cmp_fsym(const void *a, const void *b)
{
	const struct ldr_fsym *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_rel(const void *a, const void *b)
{
	const struct elf_rel *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct ldr_code *ldr_code_of(struct ldr_build *b, uint32_t sec)
{
	for (size_t i = 0; i < b->code_cnt; i++)
		if (b->code[i].sec == sec)
			return &b->code[i];
	return NULL;
}

static bool is_code(const struct elf_sec *s)
{
	return s->type == ELF_SHT_PROGBITS && (s->flags & ELF_SHF_EXECINSTR) && s->size;
}

/* Copies one executable section, its functions and its relocations. */
static int load_code(struct ldr_build *b, const struct elf_sec *s)
{
	struct ldr_object *obj = b->obj;
	const struct elf_file *ef = &obj->elf;
	struct ldr_code *c = push(&b->code, &b->code_cnt, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sec = s->idx;
	if (s->size % 8)
		return vm_err(-EINVAL, "loader: section %u (%s): %llu bytes is not a whole number of "
			      "instructions", s->idx, s->name, (unsigned long long)s->size);
	c->cnt = s->size / 8;
	if (!(c->insns = malloc(s->size)))
		return -ENOMEM;
	memcpy(c->insns, s->data, s->size);
	for (uint32_t i = 1; i < ef->sym_cnt; i++) {
		const struct elf_sym *sym = &ef->syms[i];
		if (sym->shndx != s->idx || sym->type != ELF_STT_FUNC)
			continue;
		if (sym->value % 8 || sym->size % 8 || sym->size == 0 || sym->value > s->size ||
		    sym->size > s->size - sym->value)
			return vm_err(-EINVAL, "loader: section %u (%s): function '%s' (offset 0x%llx, "
				      "%llu bytes) is not whole instructions inside the section",
				      s->idx, s->name, sym->name, (unsigned long long)sym->value,
				      (unsigned long long)sym->size);
		struct ldr_fsym *f = push(&c->funcs, &c->func_cnt, sizeof(*f));
		if (!f)
			return -ENOMEM;
		*f = (struct ldr_fsym){ sym->name, (uint32_t)sym->value, (uint32_t)sym->size };
	}
	if (c->func_cnt == 0) {		/* hand-written: the section is one function */
		if (!(c->funcs = malloc(sizeof(*c->funcs))))
			return -ENOMEM;
		c->funcs[0] = (struct ldr_fsym){ s->name, 0, (uint32_t)s->size };
		c->func_cnt = 1;
	}
	qsort(c->funcs, c->func_cnt, sizeof(*c->funcs), cmp_fsym);
	for (size_t i = 1; i < c->func_cnt; i++)
		if (c->funcs[i].off < c->funcs[i - 1].off + c->funcs[i - 1].size)
			return vm_err(-EINVAL, "loader: section %u (%s): functions '%s' and '%s' "
				      "overlap at offset 0x%x", s->idx, s->name,
				      c->funcs[i - 1].name, c->funcs[i].name, c->funcs[i].off);
	for (uint32_t i = 1; i < ef->shnum; i++) {
		if (ef->secs[i].type != ELF_SHT_REL || ef->secs[i].info != s->idx)
			continue;
		struct elf_rel *r;
		size_t n;
		int err = elf_rels(ef, i, &r, &n);
		if (err)
			return err;
		struct elf_rel *all = realloc(c->rels, (c->rel_cnt + n) * sizeof(*all));
		if (!all) {
			free(r);
			return -ENOMEM;
		}
		if (n)
			memcpy(all + c->rel_cnt, r, n * sizeof(*r));
		free(r);
		c->rels = all;
		c->rel_cnt += n;
	}
	if (c->rel_cnt)
		qsort(c->rels, c->rel_cnt, sizeof(*c->rels), cmp_rel);
	for (size_t i = 0; i < c->rel_cnt; i++) {
		if (c->rels[i].offset % 8 || (i && c->rels[i].offset == c->rels[i - 1].offset))
			return vm_err(-EINVAL, "loader: section %u (%s): relocation at offset 0x%llx is "
				      "%s", s->idx, s->name, (unsigned long long)c->rels[i].offset,
				      c->rels[i].offset % 8 ? "not on an instruction" : "duplicated");
	}
	return 0;
}

static int build_programs(struct ldr_build *b)
{
	struct ldr_object *obj = b->obj;
	for (size_t ci = 0; ci < b->code_cnt; ci++) {
		const struct ldr_code *c = &b->code[ci];
		const struct elf_sec *s = &obj->elf.secs[c->sec];
		if (strcmp(s->name, ".text") == 0)
			continue;
		for (size_t fi = 0; fi < c->func_cnt; fi++) {
			struct ldr_prog *p = push(&obj->progs, &obj->prog_cnt, sizeof(*p));
			if (!p)
				return -ENOMEM;
			p->name = c->funcs[fi].name;
			p->sec_name = s->name;
			p->sec = c->sec;
			p->sec_off = c->funcs[fi].off;
			long id = obj->btf ? btf_find(obj->btf, p->name, BTFK_FUNC) : -ENOENT;
			p->btf_func = id > 0 ? (uint32_t)id : 0;
			int err = ldr_link_prog(b, p, c, fi);
			if (err)
				return err;
		}
	}
	return 0;
}

/* .values = { [k] = &x }: R_BPF_64_ABS64 relocations in .maps at the `values` slots. */
static int parse_map_values(struct ldr_object *obj, const uint32_t *values_offs)
{
	const struct elf_file *ef = &obj->elf;
	const struct elf_sec *ms = elf_sec_by_name(ef, ".maps");
	if (!ms)
		return 0;
	for (uint32_t ri = 1; ri < ef->shnum; ri++) {
		if (ef->secs[ri].type != ELF_SHT_REL || ef->secs[ri].info != ms->idx)
			continue;
		struct elf_rel *rels;
		size_t n;
		int err = elf_rels(ef, ri, &rels, &n);
		if (err)
			return err;
		for (size_t i = 0; i < n && !err; i++) {
			const struct elf_rel *r = &rels[i];
			const struct elf_sym *sym = &ef->syms[r->sym];
			struct ldr_map *m = NULL;
			size_t mi = 0, bi = 0;
			for (; mi < obj->map_cnt; mi++) {
				m = &obj->maps[mi];
				if (m->origin == LDR_MAP_BTF && m->sec == ms->idx &&
				    r->offset >= m->sec_off && r->offset < m->sec_off + m->sec_size)
					break;
				bi += m->origin == LDR_MAP_BTF;
			}
			uint64_t at = mi < obj->map_cnt ? r->offset - m->sec_off : 0;
			if (mi == obj->map_cnt || values_offs[bi] == UINT32_MAX ||
			    at < values_offs[bi] || (at - values_offs[bi]) % 8 ||
			    r->type != R_BPF_64_ABS64) {
				err = vm_err(-EINVAL, "loader: section %u (.maps): relocation %zu at offset "
					     "0x%llx (symbol '%s') is not in a map's 'values'", ms->idx,
					     i, (unsigned long long)r->offset, sym->name);
				break;
			}
			uint64_t key = (at - values_offs[bi]) / 8;
			int target = -1;
			if (m->type == BPFVM_MAP_TYPE_PROG_ARRAY) {
				for (size_t p = 0; p < obj->prog_cnt && target < 0; p++)
					if (obj->progs[p].sec == sym->shndx &&
					    obj->progs[p].sec_off == sym->value)
						target = (int)p;
			} else if (m->inner) {
				for (size_t k = 0; k < obj->map_cnt && target < 0; k++)
					if (obj->maps[k].origin == LDR_MAP_BTF &&
					    obj->maps[k].sec == sym->shndx &&
					    obj->maps[k].sec_off == sym->value)
						target = (int)k;
			}
			/* An index for arrays; a key for HASH_OF_MAPS (any value). */
			if (target < 0 || (key >= m->max_entries &&
					   m->type != BPFVM_MAP_TYPE_HASH_OF_MAPS)) {
				err = vm_err(-EINVAL, "loader: section %u (.maps): map '%s': slot %llu: "
					     "'%s' is %s", ms->idx, m->name, (unsigned long long)key,
					     sym->name, target < 0 ? "not a program or map it can hold"
					     : "past max_entries");
				break;
			}
			struct ldr_map_slot *slot = push(&m->slots, &m->slot_cnt, sizeof(*slot));
			if (!slot)
				err = -ENOMEM;
			else
				*slot = (struct ldr_map_slot){ (uint32_t)key, (uint32_t)target };
		}
		free(rels);
		if (err)
			return err;
	}
	return 0;
}

static int parse(struct ldr_object *obj, const struct ldr_opts *opts, struct ldr_build *b)
{
	char d[128];
	int err = elf_parse(&obj->elf, obj->buf, obj->len);
	if (err)
		return err;
	const struct elf_sec *s = elf_sec_by_name(&obj->elf, ".BTF");
	if (s && s->data) {
		obj->btf = btf_parse(s->data, s->size, elf_sec_desc(&obj->elf, s->idx, d, sizeof(d)));
		if (!obj->btf)
			return -errno;
		s = elf_sec_by_name(&obj->elf, ".BTF.ext");
		if (s && s->data) {
			obj->ext = btf_ext_parse(s->data, s->size, obj->btf,
						 elf_sec_desc(&obj->elf, s->idx, d, sizeof(d)));
			if (!obj->ext)
				return -errno;
		}
	}
	uint32_t *values_offs = NULL;
	if ((err = fixup_datasecs(obj)) || (err = parse_license(obj)) || (err = parse_btf_maps(obj, &values_offs)) ||
	    (err = parse_legacy_maps(obj)) || (err = parse_data_maps(obj)))
		goto out;
	for (uint32_t i = 1; i < obj->elf.shnum && !err; i++)
		if (is_code(&obj->elf.secs[i]))
			err = load_code(b, &obj->elf.secs[i]);
	if (!err)
		err = ldr_core_apply(b);
	if (!err)
		err = build_programs(b);
	if (!err)
		err = parse_map_values(obj, values_offs);
out:
	free(values_offs);
	return err;
}

int ldr_object_parse(const void *buf, size_t len, const struct ldr_opts *opts,
		     struct ldr_object **out)
{
	struct ldr_object *obj = calloc(1, sizeof(*obj));
	*out = NULL;
	if (!obj || !(obj->buf = malloc(len ? len : 1))) {
		free(obj);
		return -ENOMEM;
	}
	if (len)
		memcpy(obj->buf, buf, len);
	obj->len = len;
	struct ldr_build b = { .obj = obj, .target = opts ? opts->target : NULL };
	int err = parse(obj, opts, &b);
	for (size_t i = 0; i < b.code_cnt; i++) {
		free(b.code[i].insns);
		free(b.code[i].rels);
		free(b.code[i].funcs);
	}
	free(b.code);
	if (err) {
		ldr_object_free(obj);
		return err;
	}
	*out = obj;
	return 0;
}
