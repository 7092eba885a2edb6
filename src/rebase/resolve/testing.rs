//! What the stages' unit tests share: a region from lists of lines, run through one stage.

use super::{Confidence, Context, Decision, Region, Stage};

/// Lines, each given its newline.
pub fn v(s: &[&str]) -> Vec<String> {
    s.iter().map(|l| format!("{l}\n")).collect()
}

/// `stage` on the region (ours, base, theirs) of `path`, after `before`, without a target tree.
pub fn run(stage: Stage, path: &str, before: &str, [ours, base, theirs]: [&[&str]; 3]) -> Decision {
    let ctx = Context {
        path,
        before: before.to_string(),
        after: String::new(),
        at_end: false,
        target: None,
    };
    stage(
        &ctx,
        &Region {
            ours: v(ours),
            base: v(base),
            theirs: v(theirs),
        },
    )
}

/// The lines, confidence and detail of a resolution; a refusal or pass fails the test.
pub fn resolved(d: Decision) -> (Vec<String>, Confidence, String) {
    match d {
        Decision::Resolve {
            lines,
            confidence,
            detail,
        } => (lines, confidence, detail),
        Decision::Refuse(why) => panic!("refused: {why}"),
        Decision::Pass => panic!("passed"),
    }
}
