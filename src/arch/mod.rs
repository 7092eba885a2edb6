//! `new-arch` and `arch-status`: scaffold and measure Dovetail architecture ports.
