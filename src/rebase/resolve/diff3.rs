//! Parsing `git merge-file --diff3` output into plain runs and conflict regions.

/// One conflict region: the three versions of the lines, each line with its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub ours: Vec<String>,
    pub base: Vec<String>,
    pub theirs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Plain(Vec<String>),
    Conflict(Region),
}

/// Splits a diff3 merge result; `None` when the markers are not well formed (then nothing is
/// resolved automatically).
pub fn parse(text: &str) -> Option<Vec<Segment>> {
    #[derive(PartialEq)]
    enum State {
        Plain,
        Ours,
        Base,
        Theirs,
    }
    let mut out = Vec::new();
    let mut plain = Vec::new();
    let mut region = Region {
        ours: vec![],
        base: vec![],
        theirs: vec![],
    };
    let mut state = State::Plain;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        match state {
            State::Plain if bare.starts_with("<<<<<<< ") || bare == "<<<<<<<" => {
                out.push(Segment::Plain(std::mem::take(&mut plain)));
                state = State::Ours;
            }
            State::Plain => plain.push(line.to_string()),
            State::Ours if bare.starts_with("||||||| ") || bare == "|||||||" => state = State::Base,
            State::Ours if bare == "=======" => return None,
            State::Ours => region.ours.push(line.to_string()),
            State::Base if bare == "=======" => state = State::Theirs,
            State::Base => region.base.push(line.to_string()),
            State::Theirs if bare.starts_with(">>>>>>> ") || bare == ">>>>>>>" => {
                out.push(Segment::Conflict(std::mem::replace(
                    &mut region,
                    Region {
                        ours: vec![],
                        base: vec![],
                        theirs: vec![],
                    },
                )));
                state = State::Plain;
            }
            State::Theirs => region.theirs.push(line.to_string()),
        }
    }
    if state != State::Plain {
        return None;
    }
    out.push(Segment::Plain(plain));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_regions() {
        let t = "a\n<<<<<<< o\nx\n||||||| b\ny\n=======\nz\n>>>>>>> t\nc\n";
        let s = parse(t).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[1],
            Segment::Conflict(Region {
                ours: vec!["x\n".into()],
                base: vec!["y\n".into()],
                theirs: vec!["z\n".into()],
            })
        );
    }

    #[test]
    fn two_way_markers_are_not_parsed() {
        assert!(parse("<<<<<<< o\nx\n=======\nz\n>>>>>>> t\n").is_none());
        assert!(parse("<<<<<<< o\nx\n").is_none());
    }
}
