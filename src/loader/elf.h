/*
 * elf.h — a bounds-checked reader for ELF64 little-endian relocatable objects
 * (EM_BPF), as clang -target bpf writes them.
 *
 * elf_parse() validates everything up front — header, section table, section names,
 * the symbol table and its string table, every REL section's shape — and decodes
 * them into plain arrays; afterwards nothing reads the raw bytes without the checks
 * having been made. The reader borrows the caller's buffer (which must stay alive
 * and unchanged while the elf_file is used); section data pointers point into it.
 * Errors go to vm_err() and name the section ("section 7 (.rel.text)") and the byte
 * offset concerned.
 */
#ifndef BPFVM_LOADER_ELF_H
#define BPFVM_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Section types and flags we look at */
#define ELF_SHT_NULL		0
#define ELF_SHT_PROGBITS	1
#define ELF_SHT_SYMTAB		2
#define ELF_SHT_STRTAB		3
#define ELF_SHT_RELA		4
#define ELF_SHT_NOBITS		8
#define ELF_SHT_REL		9
#define ELF_SHF_WRITE		0x1
#define ELF_SHF_ALLOC		0x2
#define ELF_SHF_EXECINSTR	0x4

/* Symbols */
#define ELF_SHN_UNDEF		0
#define ELF_SHN_LORESERVE	0xff00
#define ELF_SHN_ABS		0xfff1
#define ELF_SHN_COMMON		0xfff2
#define ELF_STB_LOCAL		0
#define ELF_STB_GLOBAL		1
#define ELF_STB_WEAK		2
#define ELF_STT_NOTYPE		0
#define ELF_STT_OBJECT		1
#define ELF_STT_FUNC		2
#define ELF_STT_SECTION		3

/* BPF relocation types (llvm's names) */
#define R_BPF_NONE		0
#define R_BPF_64_64		1	/* lddw imm64: map, global data, function address */
#define R_BPF_64_ABS64		2	/* 64-bit data word (.maps .values, debug); old calls */
#define R_BPF_64_ABS32		3	/* 32-bit data word (debug info, .BTF) */
#define R_BPF_64_NODYLD32	4	/* 32-bit data word (.BTF.ext) */
#define R_BPF_64_32		10	/* call imm: bpf-to-bpf call */

#define ELF_EM_BPF		247

struct elf_sec {
	uint32_t idx;
	const char *name;	/* never NULL ("" for the null section) */
	uint32_t type;		/* ELF_SHT_* */
	uint64_t flags;		/* ELF_SHF_* */
	uint64_t offset;	/* in the file */
	uint64_t size;		/* bytes (NOBITS: the size it takes in memory) */
	uint32_t link, info;
	uint64_t addralign, entsize;
	const uint8_t *data;	/* size bytes in the file; NULL for NOBITS and NULL */
};

struct elf_sym {
	const char *name;	/* never NULL */
	uint64_t value, size;
	uint16_t shndx;		/* already checked: < shnum, or UNDEF/ABS/COMMON */
	uint8_t bind, type;	/* ELF_STB_*, ELF_STT_* */
};

struct elf_rel {
	uint64_t offset;	/* in the target section; offset + 8 <= its size */
	uint32_t sym;		/* index into elf_file.syms; already checked */
	uint32_t type;		/* R_BPF_* */
};

struct elf_file {
	const uint8_t *buf;
	size_t len;
	struct elf_sec *secs;	/* shnum entries */
	uint32_t shnum;
	uint32_t symtab;	/* section index of .symtab, 0 if none */
	struct elf_sym *syms;	/* sym_cnt entries (entry 0 is the null symbol) */
	uint32_t sym_cnt;
};

/* Parses and validates buf[0..len) (borrowed). 0, or -EINVAL / -ENOMEM with a
 * logged reason; on failure *ef holds nothing to free. */
int elf_parse(struct elf_file *ef, const void *buf, size_t len);
void elf_free(struct elf_file *ef);

/* First section called name, or NULL. */
const struct elf_sec *elf_sec_by_name(const struct elf_file *ef, const char *name);

/* The relocations of REL section rel_idx (sh_info names the target), validated:
 * symbol indices in range, each offset + 8 within the target section. *out is
 * malloc'd (free it; NULL when cnt is 0). -EINVAL / -ENOMEM. */
int elf_rels(const struct elf_file *ef, uint32_t rel_idx, struct elf_rel **out, size_t *cnt);

/* "section 7 (.rel.text)" into buf, for error messages; returns buf. */
const char *elf_sec_desc(const struct elf_file *ef, uint32_t idx, char *buf, size_t len);

#endif
