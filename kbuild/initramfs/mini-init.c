/*
 * Minimal /init for guests without a busybox of their architecture: built by
 * `dovetail-port build` against the tree's nolibc (tools/include/nolibc) with the cross
 * compiler. The kernel's boot-time tests (KUnit) have run by the time init starts, so all it
 * does is print the completion markers the host waits for and reboot (QEMU runs -no-reboot).
 */
int main(void)
{
	static const char begin[] = "@@dpt@@ begin\n";
	static const char done[] = "@@dpt@@ done 0\n";

	write(1, begin, sizeof(begin) - 1);
	write(1, done, sizeof(done) - 1);
	reboot(LINUX_REBOOT_CMD_RESTART);
	return 0;
}
