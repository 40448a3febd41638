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

/* The first line of a verifier log that says why it rejected the program: the last
 * non-empty line not starting with "processed " / "verification time" etc. Copies it
 * into out[0..len). */
void kbpf_log_reason(const char *log, char *out, size_t len);

#endif
