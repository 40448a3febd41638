/* Global data: .rodata config (const volatile, as libbpf skeletons use), an
 * initialised .data counter, a zeroed .bss buffer, and a custom .data.extra section. */
#include "bpf_defs.h"

const volatile __u32 cfg_limit = 100;
const volatile __u64 cfg_mask = 0xff00;
__u64 hits = 7;
__u64 misses;
__u32 last_len[4];
__u32 extra_val SEC(".data.extra") = 0x1234;

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	last_len[len & 3] = len;
	if (len > cfg_limit) {
		misses++;
		return 0;
	}
	hits += cfg_mask & len;
	extra_val++;
	return (int)len;
}

char _license[] SEC("license") = "Dual BSD/GPL";
