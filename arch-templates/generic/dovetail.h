/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alternate scheduling hooks for {{description}}.
 *
 * Scaffolded by dovetail-port new-arch: bodies marked TODO(dovetail-port) are still to
 * be written.
 *
 * Contract with kernel/dovetail.c, kernel/sched/core.c and fs/exec.c:
 *  - The trap numbers below are what the arch passes to oob_trap_notify() and
 *    oob_trap_unwind() around every trap and fault handler.
 *  - arch_dovetail_exec_prepare() runs in exec() before the new image starts.
 *  - arch_dovetail_switch_prepare(leave_inband) runs before a stage switch and
 *    arch_dovetail_switch_finish(enter_inband) after it, both with hard irqs off: this
 *    is where the FPU context ({{fpu_kind}}) changes hands between stages.
 */
#ifndef _ASM_{{ARCH}}_DOVETAIL_H
#define _ASM_{{ARCH}}_DOVETAIL_H

/* Traps reported to the companion core. */
{{trap_defines}}

#ifdef CONFIG_DOVETAIL

static inline void arch_dovetail_exec_prepare(void)
{
	/* TODO(dovetail-port): drop any FPU state the old image left pending. */
}

static inline void arch_dovetail_switch_prepare(int leave_inband)
{
	/* TODO(dovetail-port): save or suspend the in-band FPU context if leaving in-band. */
}

static inline void arch_dovetail_switch_finish(int enter_inband)
{
	/* TODO(dovetail-port): restore the FPU context of the task switched in. */
}

/* EVL ABI 32+ issues oob calls through prctl(): is @nr that syscall? */
static inline int arch_dovetail_is_syscall(unsigned int nr)
{
	/* TODO(dovetail-port): compare with __NR_prctl (and its compat number). */
	return 0;
}

#endif /* CONFIG_DOVETAIL */

#endif /* _ASM_{{ARCH}}_DOVETAIL_H */
