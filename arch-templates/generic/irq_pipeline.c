// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt pipeline glue for {{description}}.
 *
 * Scaffolded by dovetail-port new-arch: bodies marked TODO(dovetail-port) are still to
 * be written. Built when CONFIG_IRQ_PIPELINE is set (arch/{{arch}}/kernel/Makefile).
 *
 * Contract:
 *  - The arch interrupt entry hands every hardware interrupt to handle_irq_pipelined(),
 *    which runs oob handlers at once and logs in-band ones for replay.
 *  - arch_irq_pipeline_init() runs once from irq_pipeline_init(), after the irqchips are
 *    up: reserve the oob IPIs here if the IPI domain needs it.
 */
#include <linux/irq.h>
#include <linux/irq_pipeline.h>

{{#if classic_hooks}}
/*
 * Replay one in-band interrupt logged by the pipeline, on the in-band stage, with the
 * registers of the original event in irq_pipeline.tick_regs.
 */
void arch_do_IRQ_pipelined(struct irq_desc *desc)
{
	/* TODO(dovetail-port): enter the in-band irq context and run the flow handler. */
}

{{/if}}
{{#if modern_hooks}}
/*
 * Entry from the low-level interrupt vector when the pipeline is enabled: feed the
 * event to the pipeline, then run the in-band epilogue only if the in-band stage is
 * current and unstalled.
 */
void arch_handle_irq_pipelined(struct pt_regs *regs)
{
	/* TODO(dovetail-port): handle_irq_pipelined(regs) around the arch irq entry. */
}

{{/if}}
/* One-time arch setup of the pipeline. */
void arch_irq_pipeline_init(void)
{
	/* TODO(dovetail-port): set up the oob IPIs ({{ipi_mechanism}}). */
}
