/*
 * upload_hook.h — the contract between the host (embed.c) and its programs
 * (embed_hook.bpf.c): the context of the "upload" hook, the program type's and
 * the helper's numbers, verdicts. Included by both sides (__u32 and friends come
 * from <linux/types.h> there and here).
 */
#ifndef UPLOAD_HOOK_H
#define UPLOAD_HOOK_H

#include <linux/types.h>

/* The host's program type (>= BPFVM_PROG_TYPE_USER_BASE) and SEC() prefix. */
#define UPLOAD_PROG_TYPE	0x10100
#define UPLOAD_SEC_PREFIX	"upload"

/* long host_quota(__u32 user_id): the user's quota in bytes, 0 for none
 * (id >= BPFVM_HELPER_USER_BASE). */
#define UPLOAD_HELPER_QUOTA	0x10001

enum upload_verdict {
	UPLOAD_ALLOW = 0,
	UPLOAD_DENY = 1,
};

enum upload_reason {
	REASON_OK = 0,
	REASON_OVER_QUOTA = 1,
	REASON_NO_QUOTA = 2,
	REASON_HIDDEN_FILE = 3,
};

/* The context: r1 points to one of these. The program may write verdict and
 * reason (the host reads them back); the rest is input. */
struct upload_ctx {
	__u32 user_id;
	__u32 bytes;
	char name[16];		/* NUL-terminated file name */
	__u32 verdict;		/* out: enum upload_verdict */
	__u32 reason;		/* out: enum upload_reason */
};

/* Per user, in the HASH map "usage". */
struct upload_usage {
	__u64 bytes;
	__u64 uploads;
	__u64 denied;
};

#endif
