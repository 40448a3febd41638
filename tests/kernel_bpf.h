/*
 * kernel_bpf.h — the small slice of the Linux bpf() system call that the kernel
 * differential test (tests/test_kernel_diff.c) and the benchmark runner (bench/bench.c)
 * need: probe, array maps, loading an XDP program from instructions, and
 * BPF_PROG_TEST_RUN. Raw syscall(__NR_bpf, ...) — no libbpf.
 *
 * Include this header BEFORE any bpfvm header: it brings in <linux/bpf.h>, whose
 * struct bpf_insn bpfvm/insn.h then reuses (see the note there).
 *
 * Every function returns a non-negative value (0 or a file descriptor) on success and
 * a negative errno on failure; none prints. On a system without bpf() (another OS,
 * seccomp, no privilege) every function fails with -ENOSYS/-EPERM and callers skip.
 */
#ifndef BPFVM_TESTS_KERNEL_BPF_H
#define BPFVM_TESTS_KERNEL_BPF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __linux__
#include <linux/bpf.h>
#endif

/* Whether bpf() can load and test-run an XDP program here. 0 if it can; otherwise a
 * negative errno and a short reason ("EPERM: Operation not permitted ...") in
 * reason[0..len). */
int kbpf_probe(char *reason, size_t len);

/* Creates an ARRAY map of max_entries values of value_size bytes (zeroed). fd or
 * negative errno. The caller close()s it. */
int kbpf_array_create(uint32_t value_size, uint32_t max_entries);
/* Writes / reads the value at index key of an array map (value_size bytes). */
int kbpf_array_update(int map_fd, uint32_t key, const void *value);
int kbpf_array_lookup(int map_fd, uint32_t key, void *value);

#ifdef __linux__
/* Loads insns[0..cnt) as a GPL XDP program. fd, or a negative errno; on failure the
 * verifier's log (NUL-terminated, possibly empty) is in log[0..log_len) when log is
 * not NULL. */
int kbpf_prog_load_xdp(const struct bpf_insn *insns, size_t cnt, char *log, size_t log_len);
#endif

/* BPF_PROG_TEST_RUN: runs prog_fd repeat times (0 = 1) over a copy of
 * data[0..data_len). *retval = the program's (32-bit) return value of the last run,
 * *duration_ns = the kernel's mean time per run. Either out pointer may be NULL. */
int kbpf_prog_test_run(int prog_fd, const void *data, uint32_t data_len, uint32_t repeat,
		       uint32_t *retval, uint32_t *duration_ns);

/*
 * A "raw" program (bpfvm's raw program type: r1 = memory, r2 = its length, the
 * conformance suite's convention) run by the kernel. The kernel has no such program
 * type, so the memory lives in a one-entry ARRAY map of exactly mem_len bytes (the
 * verifier then rejects any access outside it, as bpfvm's checked mode faults), the
 * result in a second one-entry map of 8 bytes, and the program is wrapped into an
 * XDP program:
 *
 *	r6 = &result[0]			lddw src=BPF_PSEUDO_MAP_VALUE (no helper call)
 *	r1 = &mem[0]			lddw src=BPF_PSEUDO_MAP_VALUE; r1 = 0 if mem_len is 0
 *	r2 = mem_len
 *	call prog			bpf-to-bpf call: prog is appended as a subprogram
 *	*(u64 *)(r6 + 0) = r0		the full 64-bit result (r6 is callee-saved)
 *	r0 = XDP_PASS
 *	exit
 */
#define KBPF_RAW_PROLOG_CNT 9	/* wrapper instructions before the program */
#define KBPF_RAW_MAX_MEM (1u << 20)

struct kbpf_raw {
	int mem_map_fd;		/* -1 when absent (mem_len 0) */
	int res_map_fd;		/* -1 when not created */
	int prog_fd;		/* -1 when not loaded */
	size_t mem_len;
};

#ifdef __linux__
/* Creates the maps and loads insns[0..cnt) wrapped as above. 0, or a negative errno
 * with kr released; on a verifier rejection the log is in log[0..log_len) (see
 * kbpf_prog_load_xdp; kbpf_log_reason() extracts the one-line reason). */
int kbpf_raw_load(struct kbpf_raw *kr, const struct bpf_insn *insns, size_t cnt,
		  size_t mem_len, char *log, size_t log_len);
#endif
/* Copies mem[0..mem_len) into the map, test-runs the wrapper repeat times (0 = 1)
 * over 64 zero bytes of packet, and copies the map's memory back into mem. *r0 = the
 * program's 64-bit result (of the last run), *duration_ns = the kernel's mean time
 * per run (wrapper included). mem may be NULL when mem_len is 0. -EIO if the wrapper
 * did not return XDP_PASS. */
int kbpf_raw_run(struct kbpf_raw *kr, void *mem, uint32_t repeat, uint64_t *r0,
		 uint32_t *duration_ns);
/* Releases the maps and the program; kr may be re-used. NULL-safe. */
void kbpf_raw_close(struct kbpf_raw *kr);

/*
 * Generic maps and programs (the map benchmark, bench/bench_maps.c). The map type,
 * flags and update flags are the kernel's numbers (BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC,
 * BPF_ANY ...); keys and values are key_size / value_size bytes, and per-CPU values
 * are kbpf_num_possible_cpus() values of round_up(value_size, 8) bytes each, as
 * bpf(2) has them.
 */
/* BPF_MAP_CREATE. fd or negative errno; the caller close()s it. */
int kbpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
		    uint32_t max_entries, uint32_t map_flags);
/* BPF_MAP_UPDATE_ELEM / _LOOKUP_ELEM / _DELETE_ELEM: 0 or a negative errno
 * (-ENOENT: no such key, -EEXIST, -E2BIG ...). */
int kbpf_map_update(int map_fd, const void *key, const void *value, uint64_t flags);
int kbpf_map_lookup(int map_fd, const void *key, void *value);
int kbpf_map_delete(int map_fd, const void *key);
/* The kernel's possible CPUs (/sys/devices/system/cpu/possible): how many values a
 * per-CPU map's element has from user space. A negative errno if unknown. */
int kbpf_num_possible_cpus(void);

#ifdef __linux__
/* Loads insns[0..cnt) as a GPL program of prog_type (BPF_PROG_TYPE_XDP ...). The
 * instructions may refer to maps by fd: lddw with src_reg BPF_PSEUDO_MAP_FD and imm
 * = the fd (BPF_PSEUDO_MAP_VALUE: the address of a value). fd, or a negative errno
 * with the verifier's log in log[0..log_len) as kbpf_prog_load_xdp. */
int kbpf_prog_load(uint32_t prog_type, const struct bpf_insn *insns, size_t cnt,
		   char *log, size_t log_len);
#endif

/*
 * ---- Program types (tests/test_progtypes.c) --------------------------------------
 * BPF_PROG_TEST_RUN with all its inputs and outputs, as bpf_attr.test has them.
 * data_size_out / ctx_size_out: in, the room in data_out / ctx_out (the kernel
 * copies everything when data_size_out is 0); out, the bytes the kernel produced.
 * The outputs are filled even when the call fails with -ENOSPC (as the kernel does).
 */
struct kbpf_test_run {
	const void *data_in;
	uint32_t data_size_in;
	void *data_out;
	uint32_t data_size_out;		/* in: room; out: bytes */
	const void *ctx_in;
	uint32_t ctx_size_in;
	void *ctx_out;
	uint32_t ctx_size_out;		/* in: room; out: bytes */
	uint32_t repeat;		/* 0 = 1 */
	uint32_t retval;		/* out: the last run's (32-bit) return value */
	uint32_t duration_ns;		/* out: mean per run */
};
/* 0 or a negative errno (-EINVAL for inputs the program type refuses, -ENOSPC ...). */
int kbpf_test_run_full(int prog_fd, struct kbpf_test_run *t);

/* The first line of a verifier log that says why it rejected the program: the last
 * non-empty line not starting with "processed " / "verification time" etc. Copies it
 * into out[0..len). */
void kbpf_log_reason(const char *log, char *out, size_t len);

#endif
