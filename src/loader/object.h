/*
 * object.h — the loader's product: what a clang-compiled eBPF object describes,
 * parsed, linked and relocated, but not yet bound to anything at run time.
 *
 *   ldr_object_parse(buf, len, opts, &obj)   ELF (elf.c) + BTF (btf.c) → programs,
 *                                            maps, license; calls linked and CO-RE
 *                                            applied (reloc.c)
 *
 * A program's instructions are complete and self-contained: every subprogram it
 * calls (directly, or as a callback via lddw src=4) is appended after it and the
 * call / lddw immediates point at the copies. Map and global-data references are
 * left symbolic for the object layer above to bind:
 *
 *   lddw src=BPF_PSEUDO_MAP_IDX (5),       imm = map index            (the map itself)
 *   lddw src=BPF_PSEUDO_MAP_IDX_VALUE (6), imm = map index,
 *                                          next slot's imm = byte offset (into the value)
 *
 * and each such lddw is also listed in prog->map_refs. Binding = for each ref, put
 * the real map's handle/address into the lddw (and create the maps from ldr_map).
 *
 * Everything is owned by the object; names point into its private copy of the file.
 */
#ifndef BPFVM_LOADER_OBJECT_H
#define BPFVM_LOADER_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/insn.h"
#include "btf.h"
#include "elf.h"

/* A function linked into a program: funcs[0] is the entry, then the appended
 * subprograms in the order first referenced. */
struct ldr_func {
	const char *name;
	uint32_t start;		/* first instruction in prog->insns */
	uint32_t cnt;		/* instructions */
	uint32_t sec;		/* where it came from: ELF section index ... */
	uint32_t sec_off;	/* ... and byte offset in it */
};

/* One lddw that refers to a map (off = 0) or into a global-data map's value. */
struct ldr_map_ref {
	uint32_t insn;		/* index of the lddw in prog->insns */
	uint32_t map;		/* index in obj->maps */
	uint32_t off;		/* byte offset into the value (MAP_IDX_VALUE) */
	bool value;		/* true: lddw src=6 (address of the value + off) */
};

struct ldr_prog {
	const char *name;	/* the entry function's symbol */
	const char *sec_name;	/* SEC() */
	uint32_t sec;		/* ELF section index of the entry */
	uint32_t sec_off;	/* byte offset of the entry in it */
	uint32_t btf_func;	/* BTF FUNC type id of the entry, 0 if none */
	struct bpf_insn *insns;	/* linked */
	size_t insn_cnt;
	struct ldr_func *funcs;
	size_t func_cnt;
	struct ldr_map_ref *map_refs;
	size_t map_ref_cnt;
};

enum ldr_map_origin {
	LDR_MAP_BTF,		/* a BTF-defined map in .maps */
	LDR_MAP_LEGACY,		/* struct bpf_map_def in "maps" */
	LDR_MAP_DATA,		/* .data, .data.*: one-entry array, value = section */
	LDR_MAP_RODATA,		/* .rodata, .rodata.*: same, read-only for programs, frozen */
	LDR_MAP_BSS,		/* .bss, .bss.*: same, zero-filled */
};

/* An initial slot of a map-in-map (a map) or PROG_ARRAY (a program), from
 * `.values = { [key] = &x }`. */
struct ldr_map_slot {
	uint32_t key;
	uint32_t target;	/* index in obj->maps, or in obj->progs for PROG_ARRAY */
};

struct ldr_map {
	const char *name;	/* variable name; data maps: the section name (".rodata") */
	enum ldr_map_origin origin;
	uint32_t type;		/* enum bpfvm_map_type numbering (the kernel's) */
	uint32_t key_size, value_size, max_entries, map_flags;
	uint32_t numa_node;	/* reported, not used */
	uint32_t pinning;	/* reported, ignored */
	uint64_t map_extra;
	uint32_t btf_key, btf_value;	/* BTF type ids for printing, 0 if unknown;
					 * data maps: btf_value = the DATASEC */
	struct ldr_map *inner;	/* ARRAY_OF_MAPS / HASH_OF_MAPS: template (owned) */
	const uint8_t *init;	/* data maps: value_size initial bytes (NULL: zeroes) */
	struct ldr_map_slot *slots;
	size_t slot_cnt;
	uint32_t sec;		/* ELF section it came from ... */
	uint64_t sec_off;	/* ... and its offset there */
	uint64_t sec_size;	/* bytes it takes there */
	bool frozen;		/* .rodata: user space may not change it after load */
};

/* The outcome of one CO-RE relocation, for tests and tools. */
struct ldr_core_res {
	const char *sec;
	uint32_t insn_off;	/* byte offset in sec */
	uint32_t kind;		/* enum btf_core_kind */
	uint64_t local;		/* value computed from the object's BTF */
	uint64_t target;	/* value written into the instruction */
	bool poisoned;		/* target had no match: insn replaced by an invalid call */
};

struct ldr_object {
	uint8_t *buf;		/* private copy of the file */
	size_t len;
	struct elf_file elf;
	struct btf *btf;	/* .BTF, or NULL */
	struct btf_ext *ext;	/* .BTF.ext, or NULL */
	struct ldr_prog *progs;
	size_t prog_cnt;
	struct ldr_map *maps;
	size_t map_cnt;
	char *license;		/* "" when the object has no license section */
	uint32_t kern_version;	/* "version" section, 0 if none */
	struct ldr_core_res *core;
	size_t core_cnt;
};

struct ldr_opts {
	/* BTF to resolve CO-RE relocations against (NULL: the object's own BTF;
	 * kernel types then fail). Borrowed for the call only. */
	const struct btf *target;
};

/* Parses, links and relocates the object in buf[0..len) (copied). 0, or -EINVAL
 * (malformed or unsupported: the log names the section and byte offset),
 * -E2BIG (a linked program longer than BPFVM_MAX_INSNS), -ENOMEM. */
int ldr_object_parse(const void *buf, size_t len, const struct ldr_opts *opts,
		     struct ldr_object **out);
void ldr_object_free(struct ldr_object *obj);

/* Index of the map / program called name, or -1. */
int ldr_object_find_map(const struct ldr_object *obj, const char *name);
int ldr_object_find_prog(const struct ldr_object *obj, const char *name);

/* ---- between object.c and reloc.c ------------------------------------------------- */

/* A function symbol inside an executable section. */
struct ldr_fsym {
	const char *name;
	uint32_t off, size;	/* bytes, multiples of 8, inside the section */
};

/* An executable section while the object is being built: a private copy of its
 * instructions (CO-RE patches them before programs are linked from them), its
 * relocations sorted by offset, and its functions sorted by offset. */
struct ldr_code {
	uint32_t sec;
	struct bpf_insn *insns;
	size_t cnt;
	struct elf_rel *rels;
	size_t rel_cnt;
	struct ldr_fsym *funcs;
	size_t func_cnt;
};

struct ldr_build {
	struct ldr_object *obj;
	struct ldr_code *code;	/* one per executable section */
	size_t code_cnt;
	const struct btf *target;
};

struct ldr_code *ldr_code_of(struct ldr_build *b, uint32_t sec);
/* Links prog (name, sec, sec_off set; its function is code->funcs[fi]). */
int ldr_link_prog(struct ldr_build *b, struct ldr_prog *prog, const struct ldr_code *code,
		  size_t fi);
/* Applies .BTF.ext CO-RE relocations to the code copies. */
int ldr_core_apply(struct ldr_build *b);

#endif
