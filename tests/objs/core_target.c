/* A "newer" layout of core.c's struct, for CO-RE against a target BTF: a field
 * inserted in front, bits_hi gone, CORE_BLUE renumbered. Only its .BTF is used. */
#include "bpf_defs.h"

enum core_color { CORE_RED = 1, CORE_BLUE = 20 };
struct core_inner { unsigned int x; unsigned long long y; };
struct core_rec {
	unsigned long long pad;
	unsigned char a;
	unsigned long long b;
	struct core_inner inner;
	unsigned short arr[5];
	unsigned int flags;
	int bits_lo : 3;
};

SEC("uprobe/target")
int use_types(struct core_rec *r, enum core_color c)
{
	return r->a + c;
}

char LICENSE[] SEC("license") = "GPL";
