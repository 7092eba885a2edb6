/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EVL syscall helpers for {{description}}.
 * Scaffolded by dovetail-port new-arch.
 *
 * Contract (kernel/evl/syscall.c and the services taking user pointers):
 *  - raw_put_user()/raw_get_user() copy a scalar without might_fault() checks, usable
 *    from the oob stage on memory known to be mapped and committed.
 *  - is_valid_inband_syscall(nr) tells whether @nr is a regular in-band syscall.
 *  - is_compat_oob_call() tells whether the current oob call comes from a compat task.
 */
#ifndef _EVL_{{ARCH}}_ASM_SYSCALL_H
#define _EVL_{{ARCH}}_ASM_SYSCALL_H

#include <linux/uaccess.h>
#include <asm/unistd.h>
#include <asm/ptrace.h>

#define raw_put_user(src, dst)	__put_user(src, dst) /* TODO(dovetail-port): check oob-safe */
#define raw_get_user(dst, src)	__get_user(dst, src) /* TODO(dovetail-port): check oob-safe */

static inline int is_valid_inband_syscall(unsigned int nr)
{
	/* TODO(dovetail-port): nr < NR_syscalls, minus arch-private ranges. */
	return 0;
}

static inline int is_compat_oob_call(void)
{
	/* TODO(dovetail-port): in_compat_syscall() where compat tasks exist. */
	return 0;
}

#endif /* !_EVL_{{ARCH}}_ASM_SYSCALL_H */
