/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EVL thread helpers for {{description}}.
 * Scaffolded by dovetail-port new-arch.
 *
 * Contract (kernel/evl/thread.c): evl_is_breakpoint(trapnr) tells whether a trap
 * reported by oob_trap_notify() is a debugger breakpoint or single-step ({{breakpoint_list}}),
 * so a traced thread is not demoted as if it had faulted.
 */
#ifndef _EVL_{{ARCH}}_ASM_THREAD_H
#define _EVL_{{ARCH}}_ASM_THREAD_H

#include <asm/dovetail.h>

static inline int evl_is_breakpoint(int trapnr)
{
	/* TODO(dovetail-port): compare with {{breakpoint_list}}. */
	return 0;
}

#endif /* !_EVL_{{ARCH}}_ASM_THREAD_H */
