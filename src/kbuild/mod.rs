//! Kernel configuration, fragments, make and toolchains.
