/*
 * embed_hook.bpf.c — a policy program for the host's own hook (see embed.c): it
 * decides whether an upload may go ahead. Not a kernel program type: SEC("upload")
 * is the host's section prefix, struct upload_ctx its context, host_quota its
 * helper; the C is written exactly as for the kernel.
 *
 * Policy: file names starting with '.' are refused; a user without a quota is
 * refused; otherwise the upload is allowed while the user's total stays within
 * the quota. usage[user] keeps bytes accepted, uploads accepted and uploads
 * refused. The verdict is returned and also written into the context.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "upload_hook.h"

/* The host's helper, declared the way bpf_helper_defs.h declares the kernel's. */
static long (*host_quota)(__u32 user_id) = (void *)UPLOAD_HELPER_QUOTA;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct upload_usage);
} usage SEC(".maps");

static __always_inline int decide(struct upload_ctx *ctx, __u32 verdict, __u32 reason)
{
	ctx->verdict = verdict;
	ctx->reason = reason;
	return verdict;
}

SEC("upload/policy")
int upload_policy(struct upload_ctx *ctx)
{
	struct upload_usage *u, fresh = { 0 };
	__u32 user = ctx->user_id;
	long quota;

	u = bpf_map_lookup_elem(&usage, &user);
	if (!u) {
		bpf_map_update_elem(&usage, &user, &fresh, BPF_NOEXIST);
		u = bpf_map_lookup_elem(&usage, &user);
		if (!u)
			return decide(ctx, UPLOAD_DENY, REASON_NO_QUOTA);
	}
	if (ctx->name[0] == '.') {
		u->denied++;
		return decide(ctx, UPLOAD_DENY, REASON_HIDDEN_FILE);
	}
	quota = host_quota(user);
	if (quota <= 0) {
		u->denied++;
		return decide(ctx, UPLOAD_DENY, REASON_NO_QUOTA);
	}
	if (u->bytes + ctx->bytes > (__u64)quota) {
		u->denied++;
		return decide(ctx, UPLOAD_DENY, REASON_OVER_QUOTA);
	}
	u->bytes += ctx->bytes;
	u->uploads++;
	return decide(ctx, UPLOAD_ALLOW, REASON_OK);
}

char LICENSE[] SEC("license") = "GPL";
