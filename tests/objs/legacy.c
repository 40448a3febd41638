/* The legacy map definition: struct bpf_map_def in a "maps" section, two maps. */
#include "bpf_defs.h"

struct bpf_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16,
};
struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 8, .value_size = 16, .max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(void *ctx)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&legacy_array, &k);
	if (v)
		(*v)++;
	__u64 hk = 42;
	bpf_map_lookup_elem(&legacy_hash, &hk);
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;
