/* CO-RE on a kernel type (as vmlinux.h declares it): needs a target BTF. */
#include "bpf_defs.h"

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

SEC("uprobe/kernel")
int read_tgid(struct task_struct *t)
{
	return t->tgid;
}

char LICENSE[] SEC("license") = "GPL";
