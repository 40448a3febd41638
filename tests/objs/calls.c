/* bpf-to-bpf calls: two static subprograms and a global one in .text, called from
 * two programs in different sections (each program gets its own linked copy). */
#include "bpf_defs.h"

static __noinline __u64 square(__u64 x)
{
	return x * x;
}

static __noinline __u64 add3(__u64 a, __u64 b, __u64 c)
{
	return a + b + c;
}

__noinline __u64 global_sum(__u64 x)
{
	return add3(x, square(x), 1);
}

SEC("tc")
int tc_main(struct __sk_buff *skb)
{
	return (int)(square(skb->len) + global_sum(skb->len));
}

SEC("uprobe/libc.so.6:malloc")
int probe_malloc(void *ctx)
{
	return (int)add3(1, 2, 3);
}

char LICENSE[] SEC("license") = "GPL";
