//! Topic rules: which part of the Dovetail/EVL queue a patch belongs to.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::{QueueError, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFile {
    topic: Vec<TopicSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicSpec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    subject_prefixes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
}

#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub description: String,
    subject_prefixes: Vec<String>,
    paths: GlobSet,
}

/// The ordered topic rules.
#[derive(Debug)]
pub struct Topics {
    topics: Vec<Topic>,
}

pub const OTHER: &str = "other";

impl Topics {
    /// The rules shipped in `patchsets/dovetail.toml`.
    pub fn builtin() -> Result<Self> {
        Self::load(&crate::data::file("patchsets/dovetail.toml"))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| QueueError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// The rules in `text`, the contents of `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let file: TopicFile = crate::data::parse_toml(path, text)?;
        let bad = |message: String| QueueError::Topics {
            path: path.to_path_buf(),
            message,
        };
        let mut topics = Vec::new();
        for spec in file.topic {
            let mut builder = GlobSetBuilder::new();
            for pattern in &spec.paths {
                let glob = Glob::new(pattern).map_err(|e| {
                    bad(format!(
                        "topic {}: bad path glob `{pattern}`: {e}",
                        spec.name
                    ))
                })?;
                builder.add(glob);
            }
            let paths = builder
                .build()
                .map_err(|e| bad(format!("topic {}: {e}", spec.name)))?;
            topics.push(Topic {
                name: spec.name,
                description: spec.description,
                subject_prefixes: spec.subject_prefixes,
                paths,
            });
        }
        Ok(Topics { topics })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Topic> {
        self.topics.iter()
    }

    /// Subject prefix first (the author said what it is), then the topic matching most paths.
    pub fn classify(&self, subject: &str, paths: &[String]) -> String {
        let lowered = subject.to_ascii_lowercase();
        for topic in &self.topics {
            if topic
                .subject_prefixes
                .iter()
                .any(|p| lowered.starts_with(&p.to_ascii_lowercase()))
            {
                return topic.name.clone();
            }
        }
        let mut best: Option<(&Topic, usize)> = None;
        for topic in &self.topics {
            let hits = paths.iter().filter(|p| topic.paths.is_match(p)).count();
            if hits > 0 && best.is_none_or(|(_, n)| hits > n) {
                best = Some((topic, hits));
            }
        }
        best.map_or_else(|| OTHER.to_string(), |(t, _)| t.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use crate::data::load::testing::{assert_points_at, misspelled};

    #[test]
    fn a_misspelled_field_names_file_line_and_field() {
        let (_tmp, path, line) = misspelled("patchsets/dovetail.toml", "\npaths = ", "\npath = ");
        let err = Topics::load(&path).unwrap_err();
        assert_points_at(&err, &path, line, "path");
    }

    use super::*;

    #[test]
    fn subject_prefix_wins_over_paths() {
        let topics = Topics::builtin().unwrap();
        let paths = vec!["arch/x86/kernel/irq.c".to_string()];
        assert_eq!(
            topics.classify("irq_pipeline: hook x86 entry", &paths),
            "irq_pipeline"
        );
        assert_eq!(topics.classify("Add a hook", &paths), "arch-x86");
        assert_eq!(
            topics.classify("Add a hook", &["fs/exec.c".to_string()]),
            OTHER
        );
    }

    #[test]
    fn majority_of_paths_decides() {
        let topics = Topics::builtin().unwrap();
        let paths = vec![
            "kernel/sched/core.c".to_string(),
            "kernel/entry/common.c".to_string(),
            "kernel/irq/chip.c".to_string(),
        ];
        assert_eq!(topics.classify("misc", &paths), "dovetail");
    }

    #[test]
    fn bad_glob_is_reported_with_topic_name() {
        let t = Path::new("t.toml");
        let err = Topics::parse(t, "[[topic]]\nname = \"x\"\npaths = [\"a/[\"]\n").unwrap_err();
        assert!(err.to_string().contains("topic x"), "{err}");
    }
}
