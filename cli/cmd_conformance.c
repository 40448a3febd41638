/*
 * cmd_conformance.c — `bpfvm conformance`: runs conformance .data files (or every
 * *.data in the directories given), prints PASS/FAIL per file with expected and
 * actual values for failures, and ends with "N passed, M failed".
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "conformance.h"

static void help(FILE *f)
{
	fprintf(f,
		"Usage: bpfvm conformance DIR|FILE... [--interp | --jit | --engine NAME] [-q] [-j]\n\n"
		"Runs conformance tests (.data files; a directory means every *.data in it) and\n"
		"prints PASS or FAIL for each, then \"N passed, M failed\". Exit status 0 when\n"
		"all passed.\n\n"
		"  --interp       the interpreter (default until the JIT exists)\n"
		"  --jit          the x86-64 JIT\n"
		"  --engine NAME  interp, switch, jit\n"
		"  -q, --quiet    print failures and the summary only\n"
		"  -j, --json     print JSON\n");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add(char ***v, size_t *n, const char *path)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv || !(nv[*n] = strdup(path)))
		return -1;
	*v = nv;
	(*n)++;
	return 0;
}

/* Expands directories into their *.data files, sorted. */
static int collect(char **args, int nargs, char ***files, size_t *nfiles)
{
	for (int i = 0; i < nargs; i++) {
		struct stat st;
		if (stat(args[i], &st) < 0) {
			fprintf(stderr, "bpfvm conformance: %s: no such file or directory\n", args[i]);
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (add(files, nfiles, args[i]) < 0)
				return -1;
			continue;
		}
		DIR *d = opendir(args[i]);
		if (!d) {
			fprintf(stderr, "bpfvm conformance: %s: cannot open directory\n", args[i]);
			return -1;
		}
		size_t first = *nfiles;
		for (struct dirent *e; (e = readdir(d));) {
			size_t n = strlen(e->d_name);
			if (n <= 5 || strcmp(e->d_name + n - 5, ".data") != 0)
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", args[i], e->d_name);
			if (add(files, nfiles, path) < 0) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
		qsort(*files + first, *nfiles - first, sizeof(char *), cmp_str);
	}
	return 0;
}

int cmd_conformance(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interp", no_argument, NULL, 'i' },
		{ "jit", no_argument, NULL, 'J' },
		{ "engine", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum bpfvm_engine engine = BPFVM_ENGINE_DEFAULT;
	bool quiet = false, json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': engine = BPFVM_ENGINE_INTERP; break;
		case 'J': engine = BPFVM_ENGINE_JIT; break;
		case 'e':
			if (parse_engine(optarg, &engine) < 0)
				return usage_error("conformance", "unknown engine '%s'", optarg);
			break;
		case 'q': quiet = true; break;
		case 'j': json = true; break;
		case 'h': help(stdout); return 0;
		default: return usage_error("conformance", "bad option");
		}
	}
	if (optind >= argc)
		return usage_error("conformance", "missing DIR or FILE");

	char **files = NULL;
	size_t nfiles = 0, passed = 0, failed = 0;
	if (collect(argv + optind, argc - optind, &files, &nfiles) < 0) {
		for (size_t i = 0; i < nfiles; i++)
			free(files[i]);
		free(files);
		return EXIT_USAGE;
	}
	if (json)
		printf("{\"engine\":\"%s\",\"results\":[", engine_name(engine));
	for (size_t i = 0; i < nfiles; i++) {
		struct conf_result res;
		bool ok = conf_run_file(files[i], engine, &res);
		ok ? passed++ : failed++;
		if (json) {
			printf("%s{\"file\":", i ? "," : "");
			json_string(stdout, files[i]);
			printf(",\"pass\":%s", ok ? "true" : "false");
			if (res.stage == CONF_OK)
				printf(",\"retval\":%" PRIu64, res.retval);
			if (res.message[0]) {
				printf(",\"message\":");
				json_string(stdout, res.message);
			}
			printf("}");
		} else if (!ok) {
			/* Parser and assembler messages already start with the path. */
			const char *msg = res.message[0] ? res.message : "failed";
			size_t n = strlen(files[i]);
			if (strncmp(msg, files[i], n) == 0 && msg[n] == ':')
				msg += n + 1 + (msg[n + 1] == ' ');
			printf("FAIL %s: %s\n", files[i], msg);
		} else if (!quiet) {
			if (res.stage != CONF_OK && res.message[0])
				printf("PASS %s (rejected: %s)\n", files[i], res.message);
			else
				printf("PASS %s\n", files[i]);
		}
		free(files[i]);
	}
	free(files);
	if (json)
		printf("],\"passed\":%zu,\"failed\":%zu}\n", passed, failed);
	else
		printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? EXIT_FAIL : 0;
}
