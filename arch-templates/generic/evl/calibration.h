/* SPDX-License-Identifier: GPL-2.0 */
/*
 * EVL clock calibration default for {{description}}.
 * Scaffolded by dovetail-port new-arch.
 *
 * Contract: evl_get_default_clock_gravity() returns the default anticipation (ns)
 * applied to timer shots, before `latmus` calibrates the real one (x86 and arm64 use
 * 3000 ns, SMP arm 6000 ns).
 */
#ifndef _EVL_{{ARCH}}_ASM_CALIBRATION_H
#define _EVL_{{ARCH}}_ASM_CALIBRATION_H

static inline unsigned int evl_get_default_clock_gravity(void)
{
	/* TODO(dovetail-port): measure on the target and pick a default. */
	return 3000;
}

#endif /* !_EVL_{{ARCH}}_ASM_CALIBRATION_H */
