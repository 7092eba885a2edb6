/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EVL kernel-side FPU test helpers for {{description}} ({{fpu_kind}}).
 * Scaffolded by dovetail-port new-arch.
 *
 * Contract (drivers/evl/hectic.c, kernel/evl/control.c):
 *  - evl_begin_fpu()/evl_end_fpu() bracket kernel use of the FPU; evl_begin_fpu()
 *    returns false when the kernel may not use the FPU at all.
 *  - evl_detect_fpu() returns the feature bits of <uapi/asm/evl/fptest.h> this CPU has.
 */
#ifndef _EVL_{{ARCH}}_ASM_FPTEST_H
#define _EVL_{{ARCH}}_ASM_FPTEST_H

#include <uapi/asm/evl/fptest.h>

static inline int evl_begin_fpu(void)
{
	/* TODO(dovetail-port): enable kernel FPU use, or return 0 if unsupported. */
	return 0;
}

static inline void evl_end_fpu(void)
{
	/* TODO(dovetail-port): undo evl_begin_fpu(). */
}

static inline unsigned int evl_detect_fpu(void)
{
	/* TODO(dovetail-port): report the {{fpu_feature_list}} bits from the CPU caps. */
	return 0;
}

#endif /* _EVL_{{ARCH}}_ASM_FPTEST_H */
