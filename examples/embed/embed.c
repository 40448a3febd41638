/*
 * embed.c — embedding bpfvm in an application, with the public API only.
 *
 * The application is an upload service. It gives eBPF programs its own hook:
 *  1. a program type (bpfvm_prog_type__register): programs in SEC("upload...")
 *     get a struct upload_ctx (upload_hook.h) at r1, which they may write;
 *  2. a helper only programs of that type see, host_quota (id >=
 *     BPFVM_HELPER_USER_BASE), answered from the host's own table;
 *  3. it opens and loads the object like libbpf would, then runs a tiny event
 *     loop: one bpfvm_prog__run per upload, the verdict from r0 and the context;
 *  4. finally it reads what the program kept per user from its HASH map.
 *
 * Usage: embed OBJ (embed_hook.bpf.o). The output is deterministic; the test
 * suite compares it with embed.expected.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfvm/bpfvm.h>

#include "upload_hook.h"

/* The host's quota table, what host_quota answers from. */
static const struct {
	uint32_t user;
	uint64_t quota;
} quotas[] = {
	{ 1001, 1000 },
	{ 1002, 50000 },
	{ 1003, 0 },		/* suspended */
};

static uint64_t host_quota(uint64_t user, uint64_t r2, uint64_t r3, uint64_t r4,
			   uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	for (size_t i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++)
		if (quotas[i].user == (uint32_t)user)
			return quotas[i].quota;
	return 0;
}

static const struct bpfvm_helper upload_helpers[] = {
	{
		.id = UPLOAD_HELPER_QUOTA,
		.name = "host_quota",
		.fn = host_quota,
		.ret = BPFVM_RET_INTEGER,
		.args = { BPFVM_ARG_ANYTHING },
	},
};

/* The events the loop delivers, as a real service would get them from clients. */
static const struct {
	uint32_t user;
	uint32_t bytes;
	const char *name;
} uploads[] = {
	{ 1001, 400, "report.pdf" },
	{ 1002, 30000, "video.mp4" },
	{ 1001, 500, "notes.txt" },
	{ 1001, 200, "photo.jpg" },	/* 400 + 500 + 200 > 1000 */
	{ 1003, 10, "a.txt" },		/* quota 0 */
	{ 1002, 100, ".bashrc" },	/* hidden */
	{ 1004, 1, "b.txt" },		/* unknown user */
	{ 1002, 20000, "backup.tar" },	/* 50000 exactly */
	{ 1001, 100, "last.txt" },	/* 900 + 100 = 1000: fits */
};

static const char *const reasons[] = {
	[REASON_OK] = "ok",
	[REASON_OVER_QUOTA] = "over quota",
	[REASON_NO_QUOTA] = "no quota",
	[REASON_HIDDEN_FILE] = "hidden file",
};

static void log_to_stderr(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		fprintf(stderr, "bpfvm: %s\n", msg);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Prints usage[user] for every user, in user order. */
static int print_usage(const struct bpfvm_map *usage)
{
	uint32_t keys[64], key, *prev = NULL;
	size_t n = 0;

	while (n < 64 && bpfvm_map__get_next_key(usage, prev, &key, sizeof(key)) == 0) {
		keys[n] = key;
		prev = &keys[n++];
	}
	qsort(keys, n, sizeof(keys[0]), cmp_u32);
	printf("usage:\n");
	for (size_t i = 0; i < n; i++) {
		struct upload_usage u;
		int err = bpfvm_map__lookup_elem(usage, &keys[i], sizeof(keys[i]), &u,
						 sizeof(u), 0);
		if (err) {
			fprintf(stderr, "embed: lookup of user %u: %s\n", keys[i], strerror(-err));
			return -1;
		}
		printf("  user %u: %llu bytes in %llu uploads, %llu refused\n", keys[i],
		       (unsigned long long)u.bytes, (unsigned long long)u.uploads,
		       (unsigned long long)u.denied);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bpfvm_prog_type_def def = {
		.sz = sizeof(def),
		.type = UPLOAD_PROG_TYPE,
		.name = "upload",
		.sec_prefix = UPLOAD_SEC_PREFIX,
		.ctx_size = sizeof(struct upload_ctx),
		.ctx_writable = true,
		.helpers = upload_helpers,
		.helper_cnt = sizeof(upload_helpers) / sizeof(upload_helpers[0]),
	};
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpfvm_map *usage;
	int err, status = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s embed_hook.bpf.o\n", argv[0]);
		return 2;
	}
	bpfvm_set_log(log_to_stderr, NULL);

	/* 1-2: the hook's program type, with its helper. */
	err = bpfvm_prog_type__register(&def);
	if (err) {
		fprintf(stderr, "embed: registering the program type: %s\n", strerror(-err));
		return 1;
	}

	/* 3: open and load, as with libbpf. SEC("upload/policy") gets our type. */
	obj = bpfvm_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "embed: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	err = bpfvm_object__load(obj);
	if (err) {
		fprintf(stderr, "embed: loading %s: %s\n", argv[1], strerror(-err));
		goto out;
	}
	prog = bpfvm_object__find_program_by_name(obj, "upload_policy");
	usage = bpfvm_object__find_map_by_name(obj, "usage");
	if (!prog || !usage) {
		fprintf(stderr, "embed: %s has no program upload_policy or map usage\n", argv[1]);
		goto out;
	}
	printf("program %s, type %s, section %s\n", bpfvm_prog__name(prog),
	       bpfvm_prog_type__name(bpfvm_prog__type(prog)), bpfvm_prog__section_name(prog));

	/* The event loop: one run per upload. */
	for (size_t i = 0; i < sizeof(uploads) / sizeof(uploads[0]); i++) {
		struct upload_ctx ctx;
		uint64_t ret;

		memset(&ctx, 0, sizeof(ctx));
		ctx.user_id = uploads[i].user;
		ctx.bytes = uploads[i].bytes;
		snprintf(ctx.name, sizeof(ctx.name), "%s", uploads[i].name);
		ctx.verdict = ctx.reason = 0xffffffff;	/* the program must set them */
		err = bpfvm_prog__run(prog, &ctx, &ret);
		if (err) {
			fprintf(stderr, "embed: run %zu: %s\n", i + 1, strerror(-err));
			goto out;
		}
		if (ret != ctx.verdict || ctx.reason >= sizeof(reasons) / sizeof(reasons[0])) {
			fprintf(stderr, "embed: run %zu: r0 %llu, verdict %u, reason %u\n", i + 1,
				(unsigned long long)ret, ctx.verdict, ctx.reason);
			goto out;
		}
		printf("upload %zu: user %u, %u bytes, \"%s\": %s (%s)\n", i + 1, ctx.user_id,
		       ctx.bytes, ctx.name, ret == UPLOAD_ALLOW ? "allowed" : "refused",
		       reasons[ctx.reason]);
	}

	/* 4: what the program kept. */
	if (print_usage(usage) == 0)
		status = 0;
out:
	bpfvm_object__close(obj);
	return status;
}
