/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * EVL FPU test ABI for {{description}}, shared by the hectic driver and libevl's
 * FPU tests. Scaffolded by dovetail-port new-arch.
 *
 * Contract: evl_set_fpregs(features, val) loads @val into every FPU register the
 * feature bits cover ({{fptest_regs}}); evl_check_fpregs(features, val, bad) reads them
 * back and returns the first value that differs from @val in @bad (or @val).
 */
#ifndef _EVL_{{ARCH}}_ASM_UAPI_FPTEST_H
#define _EVL_{{ARCH}}_ASM_UAPI_FPTEST_H

#include <linux/types.h>

{{fpu_feature_defines}}

static inline void evl_set_fpregs(__u32 features, __u32 val)
{
	/* TODO(dovetail-port): load @val into {{fptest_regs}}. */
}

static inline __u32 evl_check_fpregs(__u32 features, __u32 val, __u32 bad)
{
	/* TODO(dovetail-port): compare {{fptest_regs}} with @val. */
	return val;
}

#endif /* _EVL_{{ARCH}}_ASM_UAPI_FPTEST_H */
