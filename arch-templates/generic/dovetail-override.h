/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dovetail hook types for {{description}}: the EVL core's when it is built, the
 * generic (empty) ones otherwise. Scaffolded by dovetail-port new-arch.
 */
#ifndef _{{ARCH}}_DOVETAIL_{{HOOK}}_H
#define _{{ARCH}}_DOVETAIL_{{HOOK}}_H

#ifdef CONFIG_EVL
#include <asm-generic/evl/{{hook}}.h>
#else
#include_next <dovetail/{{hook}}.h>
#endif

#endif /* !_{{ARCH}}_DOVETAIL_{{HOOK}}_H */
