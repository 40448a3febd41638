/*
 * replay.c — runs a libFuzzer harness without libFuzzer: each file named on the
 * command line (or each file in a directory named there) is fed to
 * LLVMFuzzerTestOneInput once. Linked with each harness in the normal build, so
 * CTest replays fuzz/corpus/ — every input a fuzzer ever found — on every run; a
 * harness that aborts fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	uint8_t chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, errors = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			for (struct dirent *e; d && (e = readdir(d));) {
				if (e->d_name[0] == '.')
					continue;
				char path[4096];
				snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
				errors += replay_file(path) < 0;
				files++;
			}
			if (d)
				closedir(d);
		} else {
			errors += replay_file(argv[i]) < 0;
			files++;
		}
	}
	printf("%d passed, %d failed\n", files - errors, errors);
	return errors ? 1 : 0;
}
