/*
 * core_user.bpf.c — CO-RE on an application's own struct, at a uprobe.
 *
 * An application's handle_request(struct request *req) is probed (SEC
 * "uprobe/..."; in bpfvm: a KPROBE-type program whose context is a struct
 * pt_regs with the first argument in rdi). The program reads the request out of
 * the application's memory with BPF_CORE_READ_USER (bpf_probe_read_user at
 * CO-RE-relocated offsets) and the path string with bpf_probe_read_user_str,
 * and records what it saw in last_request[0]; requests_seen (.bss) counts calls.
 *
 * struct request below is the program's own view: only the fields it uses, in
 * any order, marked preserve_access_index. Loading resolves every field against
 * the BTF of the application build at hand (bpfvm_object_open_opts.btf_custom_path,
 * libbpf's btf_custom_path: core_user_app.h compiled for APP_V1 or APP_V2), so the
 * one object reads both releases; trace_id only exists in v2, which
 * bpf_core_field_exists tells at load time. Without a custom BTF the object's own
 * BTF is the target, i.e. the layout below.
 *
 *	bpfvm prog run core_user.bpf.o on_request --data-in regs.bin
 *	bpfvm map dump core_user.bpf.o last_request
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct req_version {
	__u16 major;
	__u16 minor;
} __attribute__((preserve_access_index));

struct request {
	__u64 id;
	__u32 len;
	__u32 flags;
	const char *path;
	struct req_version ver;
	__u64 trace_id;
} __attribute__((preserve_access_index));

/* What the program saw; field offsets/sizes as relocated, for checking. */
struct req_info {
	__u64 id;
	__u64 trace_id;
	__u32 len;
	__u32 flags;
	__u16 major;
	__u16 minor;
	__u32 has_trace_id;	/* bpf_core_field_exists(req->trace_id) */
	__u32 off_len;		/* bpf_core_field_offset(req->len) */
	__u32 off_path;
	__u32 size_len;		/* bpf_core_field_size(req->len) */
	__u32 size_request;	/* bpf_core_type_size(struct request) */
	__s32 path_len;		/* bpf_probe_read_user_str's result */
	char path[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct req_info);
} last_request SEC(".maps");

__u64 requests_seen;

SEC("uprobe/handle_request")
int BPF_KPROBE(on_request, struct request *req)
{
	__u32 zero = 0;
	struct req_info *info = bpf_map_lookup_elem(&last_request, &zero);
	const char *path;

	if (!info)
		return 0;
	__builtin_memset(info, 0, sizeof(*info));
	info->id = BPF_CORE_READ_USER(req, id);
	info->len = BPF_CORE_READ_USER(req, len);
	info->flags = BPF_CORE_READ_USER(req, flags);
	info->major = BPF_CORE_READ_USER(req, ver.major);
	info->minor = BPF_CORE_READ_USER(req, ver.minor);
	if (bpf_core_field_exists(req->trace_id)) {
		info->has_trace_id = 1;
		info->trace_id = BPF_CORE_READ_USER(req, trace_id);
	}
	info->off_len = bpf_core_field_offset(req->len);
	info->off_path = bpf_core_field_offset(req->path);
	info->size_len = bpf_core_field_size(req->len);
	info->size_request = bpf_core_type_size(struct request);
	path = BPF_CORE_READ_USER(req, path);
	info->path_len = bpf_probe_read_user_str(info->path, sizeof(info->path), path);
	__sync_fetch_and_add(&requests_seen, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
