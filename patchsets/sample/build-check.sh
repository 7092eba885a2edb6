#!/bin/bash
# Compile check for the sample queue: x86_64 tinyconfig plus every option that builds a file
# the queue touches, then bzImage. Never writes into SRCDIR (out-of-tree build with O=).
#
#   build-check.sh SRCDIR OUTDIR
#
# SRCDIR: a kernel tree with the queue applied (6.1 + series, or the tree written by
#         `verify.sh --export-target DIR`). The serial console options make the image
#         bootable under QEMU (console=ttyS0) to see the irq_pipeline_sample KUnit results.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 2; }
src=$1
out=$2
jobs=${JOBS:-2}
mkdir -p "$out"
make -C "$src" O="$out" ARCH=x86_64 tinyconfig >/dev/null
cfg=("$src/scripts/config" --file "$out/.config")
"${cfg[@]}" -e 64BIT -e PRINTK -e SMP -e HOTPLUG_CPU -e PREEMPT -e DEBUG_KERNEL -e DEBUG_PREEMPT \
	-e PERF_EVENTS -e X86_LOCAL_APIC -e HARDLOCKUP_DETECTOR -e KUNIT \
	-e IRQ_PIPELINE_SAMPLE -e IRQ_PIPELINE_SAMPLE_KUNIT_TEST -e DEBUG_EVL_SAMPLE \
	-e TTY -e SERIAL_8250 -e SERIAL_8250_CONSOLE
make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" olddefconfig >/dev/null
for sym in IRQ_PIPELINE_SAMPLE IRQ_PIPELINE_SAMPLE_KUNIT_TEST DEBUG_EVL_SAMPLE KUNIT \
	HARDLOCKUP_DETECTOR_PERF DEBUG_PREEMPT HOTPLUG_CPU; do
	grep -q "^CONFIG_$sym=y" "$out/.config" || { echo "build-check.sh: CONFIG_$sym did not stick" >&2; exit 1; }
done
make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" bzImage
echo "built $out/arch/x86/boot/bzImage"
