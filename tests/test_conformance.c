/*
 * test_conformance.c — the ISA conformance suite (../shared/conformance) on every
 * interpreter engine: all positive tests must pass; every negative test must be
 * judged exactly as its file says (rejected when it has "-- error", failing
 * otherwise). Also checks that for files carrying both "-- asm" and "-- raw" the
 * assembler produces the raw bytes.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "datafile.h"
#include "testutil.h"

#define EXPECTED_POSITIVE 313
#define EXPECTED_NEGATIVE 60

static const enum bpfvm_engine engines[] = {
	BPFVM_ENGINE_INTERP,
	BPFVM_ENGINE_INTERP_SWITCH,
	BPFVM_ENGINE_JIT,
};
static const char *const engine_names[] = { "interp", "switch", "jit" };

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.data paths in dir; returns the count (0 if dir is missing). */
static size_t list_data(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	char **v = NULL;
	size_t n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".data"))
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n] = malloc(strlen(dir) + len + 2);
		sprintf(v[n++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void positive(const char *dir)
{
	char **files;
	size_t n = list_data(dir, &files);
	CHECK(n >= EXPECTED_POSITIVE, "found %zu conformance files in %s, expected %d", n, dir,
	      EXPECTED_POSITIVE);
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		size_t pass = 0;
		for (size_t i = 0; i < n; i++) {
			struct conf_result res;
			bool ok = conf_run_file(files[i], engines[e], &res);
			CHECK(ok, "%s on %s: %s", files[i], engine_names[e], res.message);
			pass += ok;
		}
		printf("conformance (%s): %zu of %zu passed\n", engine_names[e], pass, n);
	}
	/* asm and raw, where a file has both, must agree. */
	size_t both = 0;
	for (size_t i = 0; i < n; i++) {
		struct datafile df;
		char err[512];
		if (datafile_parse(files[i], &df, err, sizeof(err)) < 0 || !df.raw || !df.asm_text) {
			datafile_free(&df);
			continue;
		}
		struct bpf_insn *insns = NULL;
		size_t cnt = 0;
		struct bpfvm_asm_opts opts = { .sz = sizeof(opts), .filename = files[i] };
		int rc = bpfvm_asm(df.asm_text, &opts, &insns, &cnt);
		CHECK(rc == 0 && cnt == df.raw_cnt &&
		      memcmp(insns, df.raw, cnt * sizeof(*insns)) == 0,
		      "%s: assembled asm differs from its raw section", files[i]);
		both++;
		free(insns);
		datafile_free(&df);
	}
	CHECK(both >= 1, "no file has both asm and raw sections");
	free_list(files, n);
}

static void negative(const char *dir)
{
	char **files;
	size_t n = list_data(dir, &files), rejected = 0;
	CHECK(n >= EXPECTED_NEGATIVE, "found %zu negative files in %s, expected %d", n, dir,
	      EXPECTED_NEGATIVE);
	for (size_t i = 0; i < n; i++) {
		/* Does the file ask for an error? Read it plainly, independent of the parser. */
		FILE *f = fopen(files[i], "r");
		char line[512];
		bool wants_error = false;
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "-- error", 8) == 0)
				wants_error = true;
		if (f)
			fclose(f);
		for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
			struct conf_result res;
			bool ok = conf_run_file(files[i], engines[e], &res);
			/* Every negative program must be stopped before producing an answer
			 * that matches, and files that expect an error must see one. */
			CHECK(ok == wants_error, "%s on %s: judged %s, expected %s (%s)", files[i],
			      engine_names[e], ok ? "PASS" : "FAIL", wants_error ? "PASS" : "FAIL",
			      res.message);
			CHECK(res.stage != CONF_OK || !res.has_expected || res.retval != res.expected ||
			      wants_error, "%s: a negative test ran to its expected result", files[i]);
			if (e == 0 && res.stage != CONF_OK)
				rejected++;
		}
	}
	printf("negative: %zu files, %zu rejected before running to a result\n", n, rejected);
	free_list(files, n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_conformance CONFORMANCE-DIR\n");
		return 2;
	}
	char neg[4096];
	positive(argv[1]);
	snprintf(neg, sizeof(neg), "%s/negative", argv[1]);
	negative(neg);
	return test_summary();
}
