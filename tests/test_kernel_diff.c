/*
 * test_kernel_diff.c — the kernel as the reference: every positive conformance file
 * (the *.data files of DIR with a "-- result"; DIR/negative/ is not read) runs in
 * bpfvm on every engine of the table below and in the Linux kernel (wrapped as an XDP
 * program whose memory is an array map value, see tests/kernel_bpf.h), and both must
 * end with the same full 64-bit r0 and the same memory bytes.
 *
 * Programs the kernel cannot run are classified, not failed:
 *  - not comparable: calls helpers (helper 5 is the conformance suite's "unwind", which
 *    means something else in the kernel), callx, kfunc calls, lddw of a pseudo source;
 *  - kernel-rejected: the kernel's verifier refused it (printed with its reason).
 * A disagreement (both ran, results differ) fails the test, and so does comparing
 * fewer than half of the files (the test must not pass by skipping everything).
 *
 * Usage: test_kernel_diff CONFORMANCE_DIR. Exits 77 (skipped) where bpf() does not
 * work: not Linux, not root, seccomp, no BPF_PROG_TEST_RUN.
 */
#include "kernel_bpf.h"	/* before the bpfvm headers: brings <linux/bpf.h> */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "conformance.h"
#include "datafile.h"
#include "testutil.h"

/* The bpfvm engines compared with the kernel. */
#include "test_engines.h"

#define LOG_SIZE (1u << 20)
#define RUN_BUDGET 100000000u	/* the kernel verified termination; this is a backstop */

static unsigned n_agree, n_disagree, n_rejected, n_not_comparable, n_bpfvm_error;

/* Why the kernel cannot run prog the way bpfvm does, or NULL if it can. */
static const char *not_comparable(const struct bpf_insn *insns, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++) {
		const struct bpf_insn *in = &insns[i];

		if (in->code == (BPF_JMP | BPF_CALL)) {
			if (in->src_reg == 0)
				return "calls a helper";
			if (in->src_reg != BPF_PSEUDO_CALL)
				return "calls a kfunc";
		}
		if (in->code == (BPF_JMP | BPF_CALL | BPF_X))
			return "uses callx";
		if (in->code == (BPF_LD | BPF_DW | BPF_IMM)) {
			if (in->src_reg != 0)
				return "lddw of a pseudo source";
			i++;	/* second slot */
		}
	}
	return NULL;
}

static void hexdump_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i, shown = 0;

	for (i = 0; i < len && shown < 8; i++) {
		if (a[i] != b[i]) {
			fprintf(stderr, "    mem[%zu]: bpfvm 0x%02x, kernel 0x%02x\n", i, a[i], b[i]);
			shown++;
		}
	}
}

/* One file. Returns silently for files that are not positive tests. */
static void diff_file(const char *path, const char *name, char *log)
{
	struct datafile df;
	struct bpf_insn *insns = NULL;
	size_t cnt = 0, e;
	char err[512], reason[512];
	const char *why;
	struct kbpf_raw kr;
	uint8_t *kmem = NULL, *vmem = NULL;
	uint64_t kr0 = 0;
	bool agree = true;
	int rc;

	if (datafile_parse(path, &df, err, sizeof(err)) < 0) {
		n_bpfvm_error++;
		CHECK(0, "%s: %s", name, err);
		datafile_free(&df);
		return;
	}
	if (df.has_error || !df.has_result)
		goto out;	/* negative test: nothing to compare */
	if (datafile_program(&df, &insns, &cnt, err, sizeof(err)) < 0) {
		n_bpfvm_error++;
		CHECK(0, "%s: cannot assemble: %s", name, err);
		goto out;
	}
	why = not_comparable(insns, cnt);
	if (why) {
		n_not_comparable++;
		printf("  %-40s not comparable: %s\n", name, why);
		goto out;
	}

	/* The kernel. */
	rc = kbpf_raw_load(&kr, insns, cnt, df.mem_len, log, LOG_SIZE);
	if (rc < 0) {
		kbpf_log_reason(log, reason, sizeof(reason));
		/* 524 = the kernel's internal ENOTSUPP */
		if (reason[0] || rc == -EACCES || rc == -EINVAL || rc == -E2BIG ||
		    rc == -EOPNOTSUPP || rc == -524) {
			n_rejected++;
			printf("  %-40s kernel-rejected: %s\n", name,
			       reason[0] ? reason : strerror(-rc));
		} else {
			/* not the verifier: a broken harness or a system limit */
			n_bpfvm_error++;
			CHECK(0, "%s: kernel load failed: %s%s%s", name, strerror(-rc),
			      reason[0] ? ": " : "", reason);
		}
		goto out;
	}
	kmem = malloc(df.mem_len + 1);
	vmem = malloc(df.mem_len + 1);
	if (!kmem || !vmem) {
		CHECK(0, "%s: out of memory", name);
		kbpf_raw_close(&kr);
		goto out;
	}
	if (df.mem_len)
		memcpy(kmem, df.mem, df.mem_len);
	rc = kbpf_raw_run(&kr, df.mem_len ? kmem : NULL, 1, &kr0, NULL);
	kbpf_raw_close(&kr);
	if (rc < 0) {
		n_bpfvm_error++;
		CHECK(0, "%s: kernel test run failed: %s", name, strerror(-rc));
		goto out;
	}

	/* bpfvm, on every engine. */
	for (e = 0; e < N_ENGINES; e++) {
		struct bpfvm_prog_opts popts = {
			.sz = sizeof(popts), .name = name,
			.helpers = conf_helpers, .helper_cnt = conf_helper_cnt,
		};
		struct bpfvm_run_opts ropts;
		struct bpfvm_prog *prog;
		char fault[256];

		prog = bpfvm_prog__new(insns, cnt, &popts);
		if (!prog) {
			agree = false;
			fprintf(stderr, "  %s [%s]: DISAGREE: the kernel ran it (r0 = 0x%" PRIx64
				"), bpfvm rejected it: %s\n", name, engines[e].name, kr0,
				strerror(errno));
			continue;
		}
		if (df.mem_len)
			memcpy(vmem, df.mem, df.mem_len);
		memset(&ropts, 0, sizeof(ropts));
		ropts.sz = sizeof(ropts);
		ropts.mem = df.mem_len ? vmem : NULL;
		ropts.mem_len = df.mem_len;
		ropts.engine = engines[e].engine;
		ropts.budget = RUN_BUDGET;
		rc = bpfvm_prog__run_opts(prog, &ropts);
		bpfvm_prog__free(prog);
		if (rc < 0) {
			agree = false;
			bpfvm_fault__str(&ropts.fault, fault, sizeof(fault));
			fprintf(stderr, "  %s [%s]: DISAGREE: the kernel ran it (r0 = 0x%" PRIx64
				"), bpfvm stopped: %s (%s)\n", name, engines[e].name, kr0,
				strerror(-rc), fault);
			continue;
		}
		if (ropts.retval != kr0) {
			agree = false;
			fprintf(stderr, "  %s [%s]: DISAGREE: r0 bpfvm 0x%" PRIx64 ", kernel 0x%"
				PRIx64 "\n", name, engines[e].name, ropts.retval, kr0);
		}
		if (df.mem_len && memcmp(vmem, kmem, df.mem_len) != 0) {
			agree = false;
			fprintf(stderr, "  %s [%s]: DISAGREE: final memory differs\n", name,
				engines[e].name);
			hexdump_diff(vmem, kmem, df.mem_len);
		}
	}
	if (agree)
		n_agree++;
	else
		n_disagree++;
	CHECK(agree, "%s: bpfvm and the kernel disagree (see above)", name);
out:
	free(kmem);
	free(vmem);
	free(insns);
	datafile_free(&df);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char reason[256];
	char **names = NULL;
	size_t n = 0, cap = 0, i, compared, total;
	struct dirent *de;
	char *log;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFORMANCE_DIR\n", argv[0]);
		return 2;
	}
	if (kbpf_probe(reason, sizeof(reason)) < 0) {
		printf("test_kernel_diff: skipped: bpf() unavailable (%s)\n", reason);
		return TEST_SKIP;
	}
	d = opendir(argv[1]);
	if (!d) {
		fprintf(stderr, "test_kernel_diff: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l <= 5 || strcmp(de->d_name + l - 5, ".data") != 0)
			continue;
		if (n == cap) {
			char **nn;
			cap = cap ? 2 * cap : 256;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				return 1;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			return 1;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	log = malloc(LOG_SIZE);
	if (!log)
		return 1;

	for (i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		diff_file(path, names[i], log);
		free(names[i]);
	}
	free(names);
	free(log);

	compared = n_agree + n_disagree;
	total = compared + n_rejected + n_not_comparable + n_bpfvm_error;
	printf("kernel differential: %u agree, %u disagree, %u kernel-rejected, "
	       "%u not comparable", n_agree, n_disagree, n_rejected, n_not_comparable);
	if (n_bpfvm_error)
		printf(", %u errors", n_bpfvm_error);
	printf(" (%zu positive files, %zu engines)\n", total, N_ENGINES);
	CHECK(total > 0, "no positive .data files in %s", argv[1]);
	CHECK(compared * 2 >= total, "only %zu of %zu files were compared with the kernel",
	      compared, total);
	return test_summary();
}
