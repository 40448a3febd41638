/*
 * btf.h — BTF (the BPF Type Format) and BTF.ext, as clang writes them into .BTF and
 * .BTF.ext, decoded into plain arrays after validation.
 *
 * btf_parse() checks the header, that every type record fits, that every string
 * offset lands in the string section, and that every type id a record names
 * exists; the decoded types (struct btf_ty) then need no further checks to be
 * walked — except for cycles, which only the walkers below can see: each of them
 * is bounded (a chain of modifiers or nested arrays/structs deeper than
 * BTF_MAX_DEPTH is an error), so hostile BTF can't make them loop.
 *
 * Type ids are as in the file: 0 is void, 1..btf->nr_types-1 are the records.
 */
#ifndef BPFVM_LOADER_BTF_H
#define BPFVM_LOADER_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum btf_kind {
	BTFK_UNKN, BTFK_INT, BTFK_PTR, BTFK_ARRAY, BTFK_STRUCT, BTFK_UNION, BTFK_ENUM,
	BTFK_FWD, BTFK_TYPEDEF, BTFK_VOLATILE, BTFK_CONST, BTFK_RESTRICT, BTFK_FUNC,
	BTFK_FUNC_PROTO, BTFK_VAR, BTFK_DATASEC, BTFK_FLOAT, BTFK_DECL_TAG, BTFK_TYPE_TAG,
	BTFK_ENUM64,
	BTFK__COUNT
};

/* INT encoding bits */
#define BTF_INT_SIGNED	0x1
#define BTF_INT_CHAR	0x2
#define BTF_INT_BOOL	0x4

#define BTF_MAX_DEPTH	32	/* modifiers / nesting followed before giving up */

/* One member (STRUCT/UNION), enumerator (ENUM/ENUM64), parameter (FUNC_PROTO) or
 * variable (DATASEC). Fields not used by the kind are 0. */
struct btf_item {
	const char *name;	/* never NULL ("" when anonymous) */
	uint32_t type;		/* member / parameter / secinfo type */
	uint32_t off;		/* member: bit offset; secinfo: byte offset */
	uint32_t size;		/* member: bitfield size (0 = not a bitfield); secinfo: bytes */
	int64_t val;		/* enumerator value (ENUM64: the u64 bits) */
};

struct btf_ty {
	uint32_t id;
	uint8_t kind;		/* enum btf_kind */
	bool kflag;
	uint16_t vlen;		/* items */
	const char *name;	/* never NULL */
	uint32_t size;		/* INT STRUCT UNION ENUM ENUM64 DATASEC FLOAT */
	uint32_t ref;		/* PTR TYPEDEF modifiers FUNC VAR DECL_TAG TYPE_TAG; FUNC_PROTO: return;
				 * ARRAY: element type */
	uint32_t index_type, nelems;	/* ARRAY */
	uint8_t int_enc, int_off, int_bits;	/* INT */
	uint32_t linkage;	/* VAR, FUNC */
	int32_t component;	/* DECL_TAG: member/param index, -1 for the type itself */
	struct btf_item *items;	/* vlen of them */
};

struct btf {
	uint8_t *raw;		/* owned copy of the section */
	size_t raw_len;
	const char *strs;	/* string section (last byte NUL) */
	uint32_t str_len;
	struct btf_ty *types;	/* nr_types entries; types[0] is void */
	uint32_t nr_types;
	struct btf_item *items;	/* pool behind every type's items */
};

/* Parses data[0..size) (copied). NULL + errno (EINVAL, ENOMEM), logged with the byte
 * offset, prefixed by what ("section 9 (.BTF)"). */
struct btf *btf_parse(const void *data, size_t size, const char *what);
void btf_free(struct btf *btf);

/* Type id, or NULL if id is out of range. */
const struct btf_ty *btf_type(const struct btf *btf, uint32_t id);
/* String at off, or NULL. */
const char *btf_str(const struct btf *btf, uint32_t off);
/* The type behind typedefs and CV/type-tag modifiers; *out_id (may be NULL) gets its id.
 * NULL if the chain is too deep (a loop). */
const struct btf_ty *btf_skip_mods(const struct btf *btf, uint32_t id, uint32_t *out_id);
/* Size in bytes of a value of type id (arrays multiplied out; VAR: its type).
 * -EINVAL for void, functions, forward declarations, overflow or loops. */
int btf_type_size(const struct btf *btf, uint32_t id, uint64_t *size);
/* Index of the member called name in STRUCT/UNION t, or -1. */
int btf_member_index(const struct btf_ty *t, const char *name);
/* Id of the first type of kind called name, or -ENOENT. */
long btf_find(const struct btf *btf, const char *name, enum btf_kind kind);
/* Name of a kind ("STRUCT"), for messages. */
const char *btf_kind_name(unsigned kind);

/* Writes the value data[0..size) of type id as text into buf (NUL-terminated,
 * truncated to len): 42, -1, true, 'a', "str", [1, 2], {.a = 1, .b = "x"}, RED,
 * 0x1000 (pointers). Returns 0, or -EINVAL if size is too small for the type or
 * the type cannot be printed. */
int btf_format(const struct btf *btf, uint32_t id, const void *data, size_t size, char *buf,
	       size_t len);
/* The same value as JSON, bpftool's "formatted" form: structs and unions are
 * objects keyed by member name (an anonymous struct/union member's members are
 * listed in place, anonymous bitfields left out), arrays are arrays, char arrays
 * strings (up to the first NUL), a char-encoded int a one-character string, enums
 * their enumerator's name as a string (or the number), bools true/false, pointers
 * numbers, ints wider than 64 bits "0x..." strings, non-finite floats strings,
 * DATASECs objects keyed by variable name. 0, -EINVAL as btf_format, or -ENOSPC
 * when the text was cut to fit len (then it is not valid JSON). */
int btf_format_json(const struct btf *btf, uint32_t id, const void *data, size_t size,
		    char *buf, size_t len);
/* Either notation (json false: btf_format's), reporting a cut with -ENOSPC in both:
 * the shape of bpfvm_map__format. */
int btf_format_value(const struct btf *btf, uint32_t id, const void *data, size_t size,
		     bool json, char *buf, size_t len);

/* ---- .BTF.ext ---------------------------------------------------------------- */
enum btf_core_kind {
	BTF_CORE_FIELD_BYTE_OFFSET, BTF_CORE_FIELD_BYTE_SIZE, BTF_CORE_FIELD_EXISTS,
	BTF_CORE_FIELD_SIGNED, BTF_CORE_FIELD_LSHIFT_U64, BTF_CORE_FIELD_RSHIFT_U64,
	BTF_CORE_TYPE_ID_LOCAL, BTF_CORE_TYPE_ID_TARGET, BTF_CORE_TYPE_EXISTS,
	BTF_CORE_TYPE_SIZE, BTF_CORE_ENUMVAL_EXISTS, BTF_CORE_ENUMVAL_VALUE,
	BTF_CORE_TYPE_MATCHES,
	BTF_CORE__COUNT
};

struct btf_ext_func { const char *sec; uint32_t insn_off; uint32_t type_id; };
struct btf_ext_line {
	const char *sec;
	uint32_t insn_off;	/* bytes from the start of the section */
	const char *file, *line;
	uint32_t line_no, col;
};
struct btf_ext_core {
	const char *sec;
	uint32_t insn_off;	/* bytes from the start of the section */
	uint32_t type_id;	/* local (the object's) root type */
	const char *access;	/* "0:1:2" */
	uint32_t kind;		/* enum btf_core_kind */
};

struct btf_ext {
	struct btf_ext_func *funcs;
	size_t func_cnt;
	struct btf_ext_line *lines;
	size_t line_cnt;
	struct btf_ext_core *cores;
	size_t core_cnt;
};

/* Parses .BTF.ext (strings and type ids checked against btf). NULL + errno. */
struct btf_ext *btf_ext_parse(const void *data, size_t size, const struct btf *btf,
			      const char *what);
void btf_ext_free(struct btf_ext *ext);

#endif
