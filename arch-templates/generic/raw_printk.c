// SPDX-License-Identifier: GPL-2.0
/*
 * Raw console for {{description}}: synchronous output usable from any stage
 * (CONFIG_RAW_PRINTK), for debugging the pipeline before the regular console is safe.
 *
 * Scaffolded by dovetail-port new-arch: bodies marked TODO(dovetail-port) are still to
 * be written.
 */
#include <linux/console.h>
#include <linux/init.h>

static void raw_console_write(struct console *co, const char *s, unsigned int count)
{
	/* TODO(dovetail-port): poll the early/debug UART, never sleep, never take locks. */
}

static struct console raw_console = {
	.name = "rawcon",
	.write_raw = raw_console_write,
	.flags = CON_PRINTBUFFER | CON_ENABLED,
	.index = -1,
};

static int raw_console_init(void)
{
	register_console(&raw_console);
	return 0;
}
console_initcall(raw_console_init);
