//! `ci`: the gate for a kernel fork and its pipeline emitters.
