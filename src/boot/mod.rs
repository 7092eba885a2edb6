//! QEMU profiles, initramfs and console capture.
