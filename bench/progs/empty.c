/* empty: returns 0 — what one run costs: entry, exit and the engine's call overhead. */
#include "bench_prog.h"

BENCH_PROG(empty)
{
	(void)mem;
	(void)len;
	return 0;
}
