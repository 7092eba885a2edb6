/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupt pipeline: virtual interrupt state for {{description}}.
 *
 * Scaffolded by dovetail-port new-arch. Every body marked TODO(dovetail-port) is still
 * to be written; `dovetail-port arch-status {{arch}}` counts those as stubs, not done.
 *
 * Contract with the generic pipeline core (include/asm-generic/irq_pipeline.h,
 * kernel/irq/pipeline.c):
 *  - <asm/irqflags.h> keeps the real interrupt control as native_irq_*(),
 *    native_save_flags() and native_irqs_disabled[_flags]() (the former arch_local_*
 *    bodies) and includes this header at its end.
 *  - With CONFIG_IRQ_PIPELINE, arch_local_*() act on the in-band stage's stall bit
 *    (inband_irq_*()), never on {{flags_register}}.
 *  - Merged flags: arch_irqs_virtual_to_native_flags() encodes the virtual state in a
 *    native flags word ({{enable_mask}} clear means stalled), and
 *    arch_irqs_native_to_virtual_flags() gives back the stall state; the generic
 *    irqs_merge_flags()/irqs_split_flags() also use bit {{stall_bit}} for the hard state.
 *
 * Functions found in this tree's irqflags header, to rename to native_*:
{{native_rename_list}}
 */
#ifndef _ASM_{{ARCH}}_IRQ_PIPELINE_H
#define _ASM_{{ARCH}}_IRQ_PIPELINE_H

#include <asm-generic/irq_pipeline.h>

/*
 * Out-of-band IPIs. Mechanism: {{ipi_mechanism}}.
 * The IPI numbers are virtual IRQs starting after the in-band ones at {{ipi_base}}.
 */
#define OOB_NR_IPI	{{oob_nr_ipi}}
#define OOB_IPI_OFFSET	1 /* TODO(dovetail-port): first IPI source left to oob */
{{oob_ipi_defines}}

#ifdef CONFIG_IRQ_PIPELINE

#include <asm/ptrace.h>

/* Encode the virtual stall state as native flags ({{enable_bit}}). */
static inline unsigned long arch_irqs_virtual_to_native_flags(int stalled)
{
	/* TODO(dovetail-port): stalled => {{enable_mask}} clear, else set. */
	return 0;
}

/* Decode native flags into the virtual stall state (non-zero = stalled). */
static inline unsigned long arch_irqs_native_to_virtual_flags(unsigned long flags)
{
	/* TODO(dovetail-port): test the hard-off state of @flags (bit {{stall_bit}}). */
	return 0;
}

/* Stall the in-band stage, return the previous state as native flags. */
static inline unsigned long arch_local_irq_save(void)
{
	/* TODO(dovetail-port): inband_irq_save(), then encode the old stall state. */
	return 0;
}

/* Unstall the in-band stage, replaying interrupts logged meanwhile. */
static inline void arch_local_irq_enable(void)
{
	/* TODO(dovetail-port): compiler barrier, then inband_irq_enable(). */
}

/* Stall the in-band stage; the CPU keeps taking (oob) interrupts. */
static inline void arch_local_irq_disable(void)
{
	/* TODO(dovetail-port): inband_irq_disable(), then a compiler barrier. */
}

/* The current virtual state, as native flags. */
static inline unsigned long arch_local_save_flags(void)
{
	/* TODO(dovetail-port): encode inband_irqs_disabled(). */
	return 0;
}

static inline int arch_irqs_disabled_flags(unsigned long flags)
{
	return native_irqs_disabled_flags(flags);
}

/* Restore a state returned by arch_local_irq_save(). */
static inline void arch_local_irq_restore(unsigned long flags)
{
	/* TODO(dovetail-port): inband_irq_restore(arch_irqs_disabled_flags(flags)). */
}

/* Keep what the pipeline needs of the registers of a proxied tick ({{timer_regs}}). */
static inline void arch_save_timer_regs(struct pt_regs *dst, struct pt_regs *src)
{
	/* TODO(dovetail-port): copy {{timer_regs}} from @src to @dst. */
}

/* Whether the tick interrupted code running with hard irqs off. */
static inline int arch_steal_pipelined_tick(struct pt_regs *regs)
{
	/* TODO(dovetail-port): test {{enable_mask}} in regs->{{status_field}}. */
	return 0;
}

/* Last arch check before the oob stage is installed; 0 or -errno. */
static inline int arch_enable_oob_stage(void)
{
	/* TODO(dovetail-port): refuse if the platform cannot run an oob stage. */
	return 0;
}

#else /* !CONFIG_IRQ_PIPELINE */

static inline unsigned long arch_local_irq_save(void)
{
	return native_irq_save();
}

static inline void arch_local_irq_enable(void)
{
	native_irq_enable();
}

static inline void arch_local_irq_disable(void)
{
	native_irq_disable();
}

static inline unsigned long arch_local_save_flags(void)
{
	return native_save_flags();
}

static inline void arch_local_irq_restore(unsigned long flags)
{
	native_irq_restore(flags);
}

static inline int arch_irqs_disabled_flags(unsigned long flags)
{
	return native_irqs_disabled_flags(flags);
}

#endif /* !CONFIG_IRQ_PIPELINE */

static inline int arch_irqs_disabled(void)
{
	return arch_irqs_disabled_flags(arch_local_save_flags());
}

#endif /* _ASM_{{ARCH}}_IRQ_PIPELINE_H */
