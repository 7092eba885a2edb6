//! The rebase accuracy benchmark's library part (`bench/accuracy`): a distribution's quilt
//! queue turned into commits ([`series`]), the change a patch or a ported commit makes as
//! line multisets ([`change`]), and the score of a forward-port against the maintainers' own
//! port ([`score`]).

pub mod change;
pub mod prepare;
pub mod score;
pub mod series;
