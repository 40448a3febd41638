/*
 * bench_prog.h — the frame of one benchmark program. Each bench/progs/NAME.c defines
 * exactly one entry function with bpfvm's raw program signature (r1 = mem, r2 = len):
 *
 *	BENCH_PROG(NAME) { ... return r0; }
 *
 * and is compiled twice from the same source: by clang -target bpf (the entry lands
 * in its own section "bench/NAME" and is extracted into NAME.bin at build time, see
 * bench/CMakeLists.txt) and natively into the runner as bench_NAME().
 *
 * Rules, so that the extracted section is a complete program with no relocations:
 *  - no globals, no string literals, no helper calls, no library calls;
 *  - the entry function comes first in the file (the program starts at insn 0);
 *  - other functions are declared BENCH_FUNC(NAME) (static, noinline, same section:
 *    clang resolves such calls itself, as bpf-to-bpf calls with src=1) or are
 *    static inline BENCH_INLINE;
 *  - a program that writes into mem must be idempotent (a run may follow a run on the
 *    same memory: the interpreter's and the kernel's repeat loops do that).
 */
#ifndef BPFVM_BENCH_PROG_H
#define BPFVM_BENCH_PROG_H

#ifdef __bpf__
/* No libc headers for the BPF target. */
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT64_TYPE__ int64_t;
#define BENCH_SEC(name) __attribute__((section("bench/" #name)))
#else
#include <stdint.h>
#define BENCH_SEC(name)
#endif

#define BENCH_PROG(name) \
	uint64_t bench_##name(uint8_t *mem, uint64_t len); \
	BENCH_SEC(name) uint64_t bench_##name(uint8_t *mem, uint64_t len)

#define BENCH_FUNC(name) BENCH_SEC(name) __attribute__((noinline)) static
#define BENCH_INLINE static inline __attribute__((always_inline))

/* Loads from mem; p must be aligned to the access size (the runner's buffers are). */
BENCH_INLINE uint16_t bench_ld16(const uint8_t *p) { return *(const uint16_t *)p; }
BENCH_INLINE uint32_t bench_ld32(const uint8_t *p) { return *(const uint32_t *)p; }
BENCH_INLINE uint64_t bench_ld64(const uint8_t *p) { return *(const uint64_t *)p; }
/* Network byte order, byte by byte (any alignment). */
BENCH_INLINE uint16_t bench_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
BENCH_INLINE uint32_t bench_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
