//! Test result parsers (KTAP, TAP, evl test) and crash detection.
