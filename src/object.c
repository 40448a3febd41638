/*
 * object.c — the public object API (bpfvm_object__*): what the loader describes
 * (src/loader, struct ldr_object) made real.
 *
 *   open   parse + link + CO-RE (ldr_object_parse); create every map (map-in-map
 *          inner shapes from their templates), fill global data, fill map-in-map
 *          slots from .values; one unloaded struct bpfvm_prog per program with its
 *          type from SEC() (progtypes). Global data can still be changed.
 *   load   prepare every program (helpers, the object's maps as its map table so
 *          lddw src 5/6 resolve, validation, JIT); freeze .rodata; PROG_ARRAY
 *          slots from .values. All or nothing.
 *   close  empty the object's PROG_ARRAYs (they hold raw program pointers), detach
 *          the BTF from maps that outlive the object, free programs, drop maps.
 *
 * Maps and programs keep the object's order, so index i of the loader's maps is
 * index i of the map table every program gets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/btf.h"
#include "loader/elf.h"
#include "loader/object.h"
#include "log.h"
#include "maps/map.h"
#include "prog.h"
#include "progtypes/progtype.h"

struct bpfvm_object {
	char *name;
	struct ldr_object *ldr;
	struct btf *target;		/* btf_custom_path, owned */
	struct bpfvm_prog **progs;
	size_t prog_cnt;
	struct bpfvm_map **maps;
	size_t map_cnt;
	struct bpfvm_helper *helpers;
	size_t helper_cnt;
	bool no_jit;
	bool loaded;
};

/* Reads a whole file; NULL + *err. */
static uint8_t *read_all(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = vm_err(-errno, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *b = cap < (SIZE_MAX >> 1) ? realloc(buf, cap *= 2) : NULL;
		if (!b) {
			free(buf);
			buf = NULL;
		} else {
			buf = b;
		}
	}
	int rd_err = ferror(f);
	fclose(f);
	if (!buf) {
		*err = vm_err(-ENOMEM, "%s: out of memory reading it", path);
		return NULL;
	}
	if (rd_err) {
		free(buf);
		*err = vm_err(-EIO, "%s: read error", path);
		return NULL;
	}
	*len = n;
	return buf;
}

/* A target BTF: a raw BTF file (magic 0xeb9f) or an ELF object's .BTF section. */
static struct btf *load_target_btf(const char *path, int *err)
{
	size_t len = 0;
	uint8_t *buf = read_all(path, &len, err);
	if (!buf)
		return NULL;
	struct btf *btf = NULL;
	char what[256];
	if (len >= 2 && buf[0] == 0x9f && buf[1] == 0xeb) {
		snprintf(what, sizeof(what), "%s", path);
		btf = btf_parse(buf, len, what);
	} else if (len >= 4 && memcmp(buf, "\177ELF", 4) == 0) {
		struct elf_file ef;
		const struct elf_sec *s;
		int perr = elf_parse(&ef, buf, len);
		if (!perr && (s = elf_sec_by_name(&ef, ".BTF"))) {
			snprintf(what, sizeof(what), "%s: section .BTF", path);
			btf = btf_parse(buf + s->offset, s->size, what);
		} else {
			vm_err(-EINVAL, "%s: an ELF file without a .BTF section", path);
			errno = EINVAL;
		}
		if (!perr)
			elf_free(&ef);
	} else {
		vm_err(-EINVAL, "%s: neither raw BTF (magic 0xeb9f) nor an ELF file", path);
		errno = EINVAL;
	}
	free(buf);
	if (!btf)
		*err = -errno;
	return btf;
}

static struct bpfvm_map *create_map(const struct ldr_map *m, int *err)
{
	struct bpfvm_map *inner = NULL;
	if (m->inner) {
		inner = create_map(m->inner, err);
		if (!inner)
			return NULL;
	}
	struct bpfvm_map_create_opts o = { .sz = sizeof(o), .map_flags = m->map_flags,
					   .inner_map = inner };
	struct bpfvm_map *map = bpfvm_map__create(m->type, m->name, m->key_size, m->value_size,
						  m->max_entries, &o);
	if (!map)
		*err = vm_err(-errno, "map '%s': cannot create it", m->name);
	bpfvm_map__free(inner);
	return map;
}

static void object_free(struct bpfvm_object *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->map_cnt; i++) {
		struct bpfvm_map *m = obj->maps[i];
		if (!m)
			continue;
		if (m->type == BPFVM_MAP_TYPE_PROG_ARRAY)
			for (uint32_t k = 0; k < m->max_entries; k++)
				bpfvm_map__delete_elem(m, &k, sizeof(k), 0);
		atomic_store(&m->btf, NULL);
	}
	for (size_t i = 0; i < obj->prog_cnt; i++)
		vm_prog_destroy(obj->progs[i]);
	for (size_t i = 0; i < obj->map_cnt; i++)
		bpfvm_map__free(obj->maps[i]);
	free(obj->progs);
	free(obj->maps);
	free(obj->helpers);
	free(obj->name);
	ldr_object_free(obj->ldr);
	btf_free(obj->target);
	free(obj);
}

static int make_maps(struct bpfvm_object *obj)
{
	const struct ldr_object *l = obj->ldr;
	int err = 0;
	obj->maps = calloc(l->map_cnt ? l->map_cnt : 1, sizeof(*obj->maps));
	if (!obj->maps)
		return vm_err(-ENOMEM, "out of memory creating maps");
	for (size_t i = 0; i < l->map_cnt; i++) {
		const struct ldr_map *m = &l->maps[i];
		struct bpfvm_map *map = create_map(m, &err);
		if (!map)
			return err;
		obj->maps[obj->map_cnt++] = map;
		map->btf_key = m->btf_key;
		map->btf_value = m->btf_value;
		atomic_store(&map->btf, l->btf);
		if (m->origin == LDR_MAP_DATA || m->origin == LDR_MAP_RODATA ||
		    m->origin == LDR_MAP_BSS) {
			uint32_t key = 0;
			if (m->init && (err = bpfvm_map__update_elem(map, &key, sizeof(key), m->init,
								    m->value_size, BPFVM_ANY)))
				return vm_err(err, "map '%s': cannot set its initial value", m->name);
		}
	}
	/* Map-in-map slots, now that every map exists. */
	for (size_t i = 0; i < l->map_cnt; i++) {
		const struct ldr_map *m = &l->maps[i];
		if (m->type != BPFVM_MAP_TYPE_ARRAY_OF_MAPS &&
		    m->type != BPFVM_MAP_TYPE_HASH_OF_MAPS)
			continue;
		for (size_t k = 0; k < m->slot_cnt; k++) {
			const struct ldr_map_slot *s = &m->slots[k];
			err = bpfvm_map__update_inner_map(obj->maps[i], &s->key, sizeof(s->key),
							  obj->maps[s->target], BPFVM_ANY);
			if (err)
				return vm_err(err, "map '%s': cannot put map '%s' at key %u",
					      m->name, l->maps[s->target].name, s->key);
		}
	}
	return 0;
}

static int make_progs(struct bpfvm_object *obj)
{
	const struct ldr_object *l = obj->ldr;
	obj->progs = calloc(l->prog_cnt ? l->prog_cnt : 1, sizeof(*obj->progs));
	if (!obj->progs)
		return vm_err(-ENOMEM, "out of memory creating programs");
	for (size_t i = 0; i < l->prog_cnt; i++) {
		const struct ldr_prog *p = &l->progs[i];
		struct bpfvm_prog *prog = vm_prog_alloc(p->insns, p->insn_cnt, p->name);
		if (!prog)
			return vm_err(-ENOMEM, "out of memory creating programs");
		obj->progs[obj->prog_cnt++] = prog;
		prog->obj = obj;
		free(prog->sec_name);
		if (!(prog->sec_name = strdup(p->sec_name)))
			return vm_err(-ENOMEM, "out of memory creating programs");
		prog->type = vm_prog_type_of_section(p->sec_name);	/* NULL: unknown */
	}
	return 0;
}

/* "dir/xdp_count.bpf.o" → "xdp_count", as libbpf names objects. */
static char *name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, base, n);
		s[n] = 0;
	}
	return s;
}

static struct bpfvm_object *open_common(const void *buf, size_t len, const char *path,
					const struct bpfvm_object_open_opts *opts)
{
	int err = 0;
	if (opts && opts->sz < sizeof(size_t)) {
		errno = -vm_err(-EINVAL, "bpfvm_object__open: opts.sz is not set");
		return NULL;
	}
	if (OPTS_HAS(opts, helper_cnt) && opts->helper_cnt && !opts->helpers) {
		errno = -vm_err(-EINVAL, "bpfvm_object__open: helper_cnt without helpers");
		return NULL;
	}
	struct bpfvm_object *obj = calloc(1, sizeof(*obj));
	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	const char *name = OPTS_HAS(opts, object_name) && opts->object_name ? opts->object_name
										: NULL;
	obj->name = name ? strdup(name) : path ? name_from_path(path) : strdup("obj");
	obj->no_jit = OPTS_HAS(opts, no_jit) && opts->no_jit;
	if (!obj->name) {
		err = vm_err(-ENOMEM, "out of memory opening an object");
		goto fail;
	}
	if (OPTS_HAS(opts, helper_cnt) && opts->helper_cnt) {
		obj->helpers = calloc(opts->helper_cnt, sizeof(*obj->helpers));
		if (!obj->helpers) {
			err = vm_err(-ENOMEM, "out of memory opening an object");
			goto fail;
		}
		memcpy(obj->helpers, opts->helpers, opts->helper_cnt * sizeof(*obj->helpers));
		obj->helper_cnt = opts->helper_cnt;
	}
	if (OPTS_HAS(opts, btf_custom_path) && opts->btf_custom_path &&
	    !(obj->target = load_target_btf(opts->btf_custom_path, &err)))
		goto fail;
	struct ldr_opts lo = { .target = obj->target };
	if ((err = ldr_object_parse(buf, len, &lo, &obj->ldr)))
		goto fail;
	if ((err = make_maps(obj)) || (err = make_progs(obj)))
		goto fail;
	return obj;
fail:
	object_free(obj);
	errno = -err;
	return NULL;
}

struct bpfvm_object *bpfvm_object__open_mem(const void *buf, size_t len,
					    const struct bpfvm_object_open_opts *opts)
{
	if (!buf || !len) {
		errno = -vm_err(-EINVAL, "bpfvm_object__open_mem: empty buffer");
		return NULL;
	}
	return open_common(buf, len, NULL, opts);
}

struct bpfvm_object *bpfvm_object__open_file(const char *path,
					     const struct bpfvm_object_open_opts *opts)
{
	int err = 0;
	size_t len = 0;
	if (!path) {
		errno = -vm_err(-EINVAL, "bpfvm_object__open_file: no path");
		return NULL;
	}
	uint8_t *buf = read_all(path, &len, &err);
	if (!buf) {
		errno = -err;
		return NULL;
	}
	struct bpfvm_object *obj = open_common(buf, len, path, opts);
	int saved = errno;
	free(buf);
	errno = saved;
	return obj;
}

/* PROG_ARRAY slots from .values, once every program is ready. */
static int fill_prog_arrays(struct bpfvm_object *obj)
{
	const struct ldr_object *l = obj->ldr;
	for (size_t i = 0; i < l->map_cnt; i++) {
		const struct ldr_map *m = &l->maps[i];
		if (m->type != BPFVM_MAP_TYPE_PROG_ARRAY)
			continue;
		for (size_t k = 0; k < m->slot_cnt; k++) {
			const struct ldr_map_slot *s = &m->slots[k];
			int err = bpfvm_map__update_prog(obj->maps[i], s->key, obj->progs[s->target],
							 BPFVM_ANY);
			if (err)
				return vm_err(err, "map '%s': cannot put program '%s' at index %u",
					      m->name, obj->progs[s->target]->name, s->key);
		}
	}
	return 0;
}

int bpfvm_object__load(struct bpfvm_object *obj)
{
	if (!obj)
		return vm_err(-EINVAL, "bpfvm_object__load: no object");
	if (obj->loaded)
		return vm_err(-EBUSY, "object '%s' is already loaded", obj->name);
	int err = 0;
	for (size_t i = 0; i < obj->prog_cnt && !err; i++)
		if (!obj->progs[i]->type)
			err = vm_err(-EINVAL, "program '%s': section '%s' does not name a program "
				     "type (set one with bpfvm_prog__set_type)",
				     obj->progs[i]->name, obj->progs[i]->sec_name);
	struct vm_prepare a = { .helpers = obj->helpers, .helper_cnt = obj->helper_cnt,
				.maps = obj->maps, .map_cnt = obj->map_cnt,
				.no_jit = obj->no_jit };
	for (size_t i = 0; i < obj->prog_cnt && !err; i++) {
		struct bpfvm_prog *p = obj->progs[i];
		if ((err = vm_prog_prepare(p, &a)))
			vm_err(err, "program '%s' (section '%s') of object '%s' failed to load",
			       p->name, p->sec_name, obj->name);
	}
	if (!err)
		err = fill_prog_arrays(obj);
	for (size_t i = 0; i < obj->ldr->map_cnt && !err; i++)
		if (obj->ldr->maps[i].frozen)
			err = bpfvm_map__freeze(obj->maps[i]);
	if (err) {
		for (size_t i = 0; i < obj->map_cnt; i++)
			if (obj->maps[i]->type == BPFVM_MAP_TYPE_PROG_ARRAY)
				for (uint32_t k = 0; k < obj->maps[i]->max_entries; k++)
					bpfvm_map__delete_elem(obj->maps[i], &k, sizeof(k), 0);
		for (size_t i = 0; i < obj->prog_cnt; i++)
			vm_prog_unprepare(obj->progs[i]);
		return err;
	}
	obj->loaded = true;
	return 0;
}

void bpfvm_object__close(struct bpfvm_object *obj)
{
	object_free(obj);
}

struct bpfvm_map *const *vm_object_maps(const struct bpfvm_object *obj, size_t *cnt)
{
	*cnt = obj->map_cnt;
	return obj->maps;
}

const char *bpfvm_object__name(const struct bpfvm_object *obj) { return obj->name; }
const char *bpfvm_object__license(const struct bpfvm_object *obj) { return obj->ldr->license; }

/* Index of x in v[0..n), n + 1 for NULL (so the next is the first), n if absent. */
static size_t index_after(void *const *v, size_t n, const void *x)
{
	if (!x)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return i + 1;
	return n;
}

struct bpfvm_prog *bpfvm_object__next_program(const struct bpfvm_object *obj,
					      const struct bpfvm_prog *prev)
{
	size_t i = index_after((void *const *)obj->progs, obj->prog_cnt, prev);
	return i < obj->prog_cnt ? obj->progs[i] : NULL;
}

struct bpfvm_map *bpfvm_object__next_map(const struct bpfvm_object *obj,
					 const struct bpfvm_map *prev)
{
	size_t i = index_after((void *const *)obj->maps, obj->map_cnt, prev);
	return i < obj->map_cnt ? obj->maps[i] : NULL;
}

struct bpfvm_prog *bpfvm_object__find_program_by_name(const struct bpfvm_object *obj,
						      const char *name)
{
	int i = obj && name ? ldr_object_find_prog(obj->ldr, name) : -1;
	if (i < 0) {
		errno = ENOENT;
		return NULL;
	}
	return obj->progs[i];
}

struct bpfvm_map *bpfvm_object__find_map_by_name(const struct bpfvm_object *obj,
						 const char *name)
{
	int i = obj && name ? ldr_object_find_map(obj->ldr, name) : -1;
	if (i < 0) {
		errno = ENOENT;
		return NULL;
	}
	return obj->maps[i];
}

int bpfvm_map__format(const struct bpfvm_map *map, bool value, const void *data, size_t size,
		      unsigned flags, char *buf, size_t len)
{
	if (!map || !data || !buf || !len)
		return -EINVAL;
	const struct btf *btf = atomic_load(&((struct bpfvm_map *)map)->btf);
	uint32_t id = value ? map->btf_value : map->btf_key;
	if (!btf || !id)
		return -ENOENT;
	int err = flags & BPFVM_FORMAT_JSON ? btf_format_json(btf, id, data, size, buf, len)
					    : btf_format(btf, id, data, size, buf, len);
	if (err)
		return err;
	return strlen(buf) + 1 >= len ? -ENOSPC : 0;
}
