/*
 * elf.c — the ELF64 reader (see elf.h). Every multi-byte field is read with an
 * explicit little-endian load from a range already checked to lie inside the
 * buffer, so misaligned or truncated input cannot make us read out of bounds.
 * Order of checks: file header → section header table → section name table →
 * each section's file range and name → symbol table and its strings → REL sections
 * (shape here, each entry in elf_rels()).
 */
#include "loader/elf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/le.h"
#include "log.h"

#define EHDR_SIZE	64
#define SHDR_SIZE	64
#define SYM_SIZE	24
#define REL_SIZE	16
#define RELA_SIZE	24

/* [off, off + size) inside [0, len)? Overflow-safe. */
static bool in_range(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

const char *elf_sec_desc(const struct elf_file *ef, uint32_t idx, char *buf, size_t len)
{
	const char *name = idx < ef->shnum && ef->secs[idx].name ? ef->secs[idx].name : "?";
	snprintf(buf, len, "section %u (%s)", idx, name);
	return buf;
}

/* NUL-terminated string at off in string table sec, or NULL. */
static const char *str_at(const struct elf_sec *sec, uint64_t off)
{
	if (!sec->data || off >= sec->size)
		return NULL;
	if (!memchr(sec->data + off, 0, sec->size - off))
		return NULL;
	return (const char *)sec->data + off;
}

static int parse_header(struct elf_file *ef, uint64_t *shoff, uint32_t *shstrndx)
{
	const uint8_t *b = ef->buf;
	if (ef->len < EHDR_SIZE)
		return vm_err(-EINVAL, "elf: offset 0x0: file is %zu bytes, shorter than the 64-byte ELF header",
			      ef->len);
	if (memcmp(b, "\177ELF", 4) != 0)
		return vm_err(-EINVAL, "elf: offset 0x0: not an ELF file (bad magic)");
	if (b[4] != 2)
		return vm_err(-EINVAL, "elf: offset 0x4: not a 64-bit ELF file (class %u)", b[4]);
	if (b[5] != 1)
		return vm_err(-EINVAL, "elf: offset 0x5: not a little-endian ELF file (data %u)", b[5]);
	if (b[6] != 1)
		return vm_err(-EINVAL, "elf: offset 0x6: unknown ELF version %u", b[6]);
	uint16_t type = le16(b + 16), machine = le16(b + 18);
	if (type != 1)
		return vm_err(-EINVAL, "elf: offset 0x10: e_type %u is not a relocatable object (1)",
			      type);
	if (machine != ELF_EM_BPF)
		return vm_err(-EINVAL, "elf: offset 0x12: e_machine %u is not BPF (247)", machine);
	*shoff = le64(b + 40);
	uint16_t shentsize = le16(b + 58), shnum = le16(b + 60);
	*shstrndx = le16(b + 62);
	if (shentsize != SHDR_SIZE)
		return vm_err(-EINVAL, "elf: offset 0x3a: e_shentsize %u, expected 64", shentsize);
	if (shnum == 0)
		return vm_err(-EINVAL, "elf: offset 0x3c: no section headers (e_shnum 0%s)",
			      *shoff ? ", extended numbering is not supported" : "");
	if (!in_range(*shoff, (uint64_t)shnum * SHDR_SIZE, ef->len))
		return vm_err(-EINVAL, "elf: offset 0x28: section header table (0x%llx, %u entries) "
			      "lies past the end of the file (%zu bytes)",
			      (unsigned long long)*shoff, shnum, ef->len);
	if (*shstrndx >= shnum)
		return vm_err(-EINVAL, "elf: offset 0x3e: e_shstrndx %u is not a section (%u sections)",
			      *shstrndx, shnum);
	ef->shnum = shnum;
	return 0;
}

static int parse_sections(struct elf_file *ef, uint64_t shoff, uint32_t shstrndx)
{
	ef->secs = calloc(ef->shnum, sizeof(*ef->secs));
	if (!ef->secs)
		return -ENOMEM;
	for (uint32_t i = 0; i < ef->shnum; i++) {
		const uint8_t *h = ef->buf + shoff + (uint64_t)i * SHDR_SIZE;
		struct elf_sec *s = &ef->secs[i];
		s->idx = i;
		s->name = "";
		s->type = le32(h + 4);
		s->flags = le64(h + 8);
		s->offset = le64(h + 24);
		s->size = le64(h + 32);
		s->link = le32(h + 40);
		s->info = le32(h + 44);
		s->addralign = le64(h + 48);
		s->entsize = le64(h + 56);
		if (s->type == ELF_SHT_NULL || s->type == ELF_SHT_NOBITS)
			continue;
		if (!in_range(s->offset, s->size, ef->len))
			return vm_err(-EINVAL, "elf: section %u: data at offset 0x%llx, %llu bytes, lies "
				      "past the end of the file (%zu bytes)", i,
				      (unsigned long long)s->offset, (unsigned long long)s->size,
				      ef->len);
		s->data = ef->buf + s->offset;
	}
	const struct elf_sec *strs = &ef->secs[shstrndx];
	if (strs->type != ELF_SHT_STRTAB)
		return vm_err(-EINVAL, "elf: e_shstrndx %u names section of type %u, not a string table",
			      shstrndx, strs->type);
	for (uint32_t i = 1; i < ef->shnum; i++) {
		uint32_t off = le32(ef->buf + shoff + (uint64_t)i * SHDR_SIZE);
		const char *name = str_at(strs, off);
		if (!name)
			return vm_err(-EINVAL, "elf: section %u: name offset 0x%x is outside the section "
				      "name table (section %u, %llu bytes)", i, off, shstrndx,
				      (unsigned long long)strs->size);
		ef->secs[i].name = name;
	}
	return 0;
}

static int parse_symtab(struct elf_file *ef)
{
	char d[128], d2[128];
	for (uint32_t i = 1; i < ef->shnum; i++) {
		if (ef->secs[i].type != ELF_SHT_SYMTAB)
			continue;
		if (ef->symtab)
			return vm_err(-EINVAL, "elf: %s: a second symbol table (first: section %u)",
				      elf_sec_desc(ef, i, d, sizeof(d)), ef->symtab);
		ef->symtab = i;
	}
	if (!ef->symtab)
		return vm_err(-EINVAL, "elf: no symbol table section (.symtab)");
	const struct elf_sec *st = &ef->secs[ef->symtab];
	elf_sec_desc(ef, ef->symtab, d, sizeof(d));
	if (st->entsize != SYM_SIZE || st->size % SYM_SIZE)
		return vm_err(-EINVAL, "elf: %s: entry size %llu and size %llu, expected entries of 24 "
			      "bytes", d, (unsigned long long)st->entsize,
			      (unsigned long long)st->size);
	if (st->link == 0 || st->link >= ef->shnum || ef->secs[st->link].type != ELF_SHT_STRTAB)
		return vm_err(-EINVAL, "elf: %s: sh_link %u is not a string table", d, st->link);
	const struct elf_sec *strs = &ef->secs[st->link];
	if (st->size / SYM_SIZE > UINT32_MAX)
		return vm_err(-EINVAL, "elf: %s: too many symbols", d);
	ef->sym_cnt = (uint32_t)(st->size / SYM_SIZE);
	ef->syms = calloc(ef->sym_cnt ? ef->sym_cnt : 1, sizeof(*ef->syms));
	if (!ef->syms)
		return -ENOMEM;
	for (uint32_t i = 0; i < ef->sym_cnt; i++) {
		const uint8_t *p = st->data + (uint64_t)i * SYM_SIZE;
		struct elf_sym *sym = &ef->syms[i];
		uint32_t name_off = le32(p);
		sym->name = str_at(strs, name_off);
		if (!sym->name)
			return vm_err(-EINVAL, "elf: %s: symbol %u at offset 0x%x: name offset 0x%x is "
				      "outside %s (%llu bytes)", d, i, i * SYM_SIZE, name_off,
				      elf_sec_desc(ef, st->link, d2, sizeof(d2)),
				      (unsigned long long)strs->size);
		sym->bind = p[4] >> 4;
		sym->type = p[4] & 0xf;
		sym->shndx = le16(p + 6);
		sym->value = le64(p + 8);
		sym->size = le64(p + 16);
		bool special = sym->shndx == ELF_SHN_UNDEF || sym->shndx == ELF_SHN_ABS ||
			       sym->shndx == ELF_SHN_COMMON;
		if (!special && sym->shndx >= ef->shnum)
			return vm_err(-EINVAL, "elf: %s: symbol %u (%s) at offset 0x%x: section index %u "
				      "is out of range (%u sections)", d, i, sym->name, i * SYM_SIZE,
				      sym->shndx, ef->shnum);
	}
	return 0;
}

static int check_rel_sections(struct elf_file *ef)
{
	char d[128];
	for (uint32_t i = 1; i < ef->shnum; i++) {
		const struct elf_sec *s = &ef->secs[i];
		elf_sec_desc(ef, i, d, sizeof(d));
		if (s->type == ELF_SHT_RELA)
			return vm_err(-EINVAL, "elf: %s: RELA relocations are not supported (BPF objects "
				      "use REL)", d);
		if (s->type != ELF_SHT_REL)
			continue;
		if (s->entsize != REL_SIZE || s->size % REL_SIZE)
			return vm_err(-EINVAL, "elf: %s: entry size %llu and size %llu, expected entries "
				      "of 16 bytes", d, (unsigned long long)s->entsize,
				      (unsigned long long)s->size);
		if (s->link != ef->symtab)
			return vm_err(-EINVAL, "elf: %s: sh_link %u is not the symbol table (section %u)",
				      d, s->link, ef->symtab);
		if (s->info == 0 || s->info >= ef->shnum)
			return vm_err(-EINVAL, "elf: %s: sh_info %u is not a section (%u sections)", d,
				      s->info, ef->shnum);
	}
	return 0;
}

int elf_parse(struct elf_file *ef, const void *buf, size_t len)
{
	memset(ef, 0, sizeof(*ef));
	ef->buf = buf;
	ef->len = len;
	uint64_t shoff = 0;
	uint32_t shstrndx = 0;
	int err = parse_header(ef, &shoff, &shstrndx);
	if (!err)
		err = parse_sections(ef, shoff, shstrndx);
	if (!err)
		err = parse_symtab(ef);
	if (!err)
		err = check_rel_sections(ef);
	if (err)
		elf_free(ef);
	return err;
}

void elf_free(struct elf_file *ef)
{
	free(ef->secs);
	free(ef->syms);
	memset(ef, 0, sizeof(*ef));
}

const struct elf_sec *elf_sec_by_name(const struct elf_file *ef, const char *name)
{
	for (uint32_t i = 1; i < ef->shnum; i++)
		if (strcmp(ef->secs[i].name, name) == 0)
			return &ef->secs[i];
	return NULL;
}

int elf_rels(const struct elf_file *ef, uint32_t rel_idx, struct elf_rel **out, size_t *cnt)
{
	const struct elf_sec *s = &ef->secs[rel_idx], *tgt = &ef->secs[s->info];
	char d[128];
	*out = NULL;
	*cnt = s->size / REL_SIZE;
	if (!*cnt)
		return 0;
	struct elf_rel *r = calloc(*cnt, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < *cnt; i++) {
		const uint8_t *p = s->data + i * REL_SIZE;
		uint64_t info = le64(p + 8);
		r[i].offset = le64(p);
		r[i].type = (uint32_t)info;
		uint64_t sym = info >> 32;
		if (sym >= ef->sym_cnt || sym == 0) {
			vm_err(-EINVAL, "elf: %s: relocation %zu at offset 0x%zx: symbol index %llu is "
			       "out of range (%u symbols)", elf_sec_desc(ef, rel_idx, d, sizeof(d)), i,
			       i * REL_SIZE, (unsigned long long)sym, ef->sym_cnt);
			free(r);
			return -EINVAL;
		}
		r[i].sym = (uint32_t)sym;
		uint64_t width = r[i].type == R_BPF_64_ABS32 || r[i].type == R_BPF_64_NODYLD32 ? 4 : 8;
		if (!in_range(r[i].offset, width, tgt->size)) {
			vm_err(-EINVAL, "elf: %s: relocation %zu at offset 0x%zx points past the end of "
			       "section %u (%s, %llu bytes)", elf_sec_desc(ef, rel_idx, d, sizeof(d)), i,
			       i * REL_SIZE, s->info, tgt->name, (unsigned long long)tgt->size);
			free(r);
			return -EINVAL;
		}
	}
	*out = r;
	return 0;
}
