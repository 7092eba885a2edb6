//! Collateral evolution: upstream code that arrived between the queue's old base and the
//! target, falls under what the queue does, and conflicted with nothing because it is new
//! (an irqchip driver added since, without the pipeline-safe flag the queue gave its siblings;
//! new `local_irq_*` calls in the entry code directories the queue patches). Rules are data
//! (`patchsets/collateral.toml`); only the subtrees their path globs name are read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use git2::{Oid, Repository, Tree};
use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CollateralError {
    #[error(transparent)]
    DataFile(#[from] crate::data::DataFileError),
    #[error("{path}: {message}")]
    Rules {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{0}")]
    Git(#[from] git2::Error),
}

type Result<T> = std::result::Result<T, CollateralError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Marker,
    NewLines,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleData {
    id: String,
    kind: Kind,
    paths: Vec<String>,
    #[serde(default)]
    needs: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    why: String,
    todo: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<RuleData>,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub kind: Kind,
    globs: GlobSet,
    /// The fixed leading directories of each glob: only those subtrees are walked.
    roots: Vec<String>,
    /// `marker`: what a file must contain to need the marker; `new-lines`: the lines to list.
    pattern: Regex,
    marker: Option<Regex>,
    pub why: String,
    pub todo: String,
}

/// One thing to look at in the ported tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    pub rule: String,
    pub path: String,
    /// 1-based line in the target's file.
    pub line: usize,
    /// What was found, in one sentence.
    pub what: String,
    pub why: String,
    pub todo: String,
}

pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn builtin() -> Result<Rules> {
        Self::load(&crate::data::file("patchsets/collateral.toml"))
    }

    /// Reads the rules file at `path`: a TOML error names its line, a bad pattern its rule.
    pub fn load(path: &Path) -> Result<Rules> {
        let file: RulesFile = crate::data::read_toml(path)?;
        Self::compile(file).map_err(|message| CollateralError::Rules {
            path: path.to_path_buf(),
            message,
        })
    }

    fn compile(file: RulesFile) -> std::result::Result<Rules, String> {
        let mut rules = Vec::new();
        for r in file.rule {
            let bad = |what: &str| format!("rule `{}`: {what}", r.id);
            let regex = |field: &str, s: &Option<String>| -> std::result::Result<Regex, String> {
                let s = s
                    .as_deref()
                    .ok_or_else(|| bad(&format!("needs `{field}`")))?;
                Regex::new(s).map_err(|e| bad(&format!("`{field}`: {e}")))
            };
            let (pattern, marker) = match r.kind {
                Kind::Marker => (regex("needs", &r.needs)?, Some(regex("marker", &r.marker)?)),
                Kind::NewLines => (regex("pattern", &r.pattern)?, None),
            };
            let mut globs = GlobSetBuilder::new();
            let mut roots = Vec::new();
            for p in &r.paths {
                globs.add(Glob::new(p).map_err(|e| bad(&format!("path glob `{p}`: {e}")))?);
                roots.push(literal_root(p));
            }
            roots.sort();
            roots.dedup();
            rules.push(Rule {
                globs: globs.build().map_err(|e| bad(&e.to_string()))?,
                roots,
                pattern,
                marker,
                id: r.id,
                kind: r.kind,
                why: r.why,
                todo: r.todo,
            });
        }
        Ok(Rules(rules))
    }

    /// Scans `target` for what the queue (`old_base` → `queue_head`) should also have covered.
    pub fn scan(
        &self,
        repo: &Repository,
        old_base: Oid,
        queue_head: Oid,
        target: Oid,
    ) -> Result<Vec<Todo>> {
        let old = repo.find_commit(old_base)?.tree()?;
        let head = repo.find_commit(queue_head)?.tree()?;
        let new = repo.find_commit(target)?.tree()?;
        let queue = QueueDiff::new(repo, &old, &head)?;
        let mut out = Vec::new();
        for rule in &self.0 {
            let touched: Vec<&String> = queue
                .added
                .keys()
                .filter(|p| rule.globs.is_match(p.as_str()))
                .collect();
            if touched.is_empty() {
                continue;
            }
            match rule.kind {
                Kind::Marker => {
                    let marker = rule.marker.as_ref().expect("marker rules have one");
                    let mut markers: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
                    for path in &touched {
                        for line in &queue.added[*path] {
                            for m in marker.find_iter(line) {
                                markers
                                    .entry(m.as_str().to_string())
                                    .or_default()
                                    .insert(path);
                            }
                        }
                    }
                    if markers.is_empty() {
                        continue;
                    }
                    for path in rule.files(repo, &new)? {
                        if old.get_path(Path::new(&path)).is_ok() {
                            continue;
                        }
                        let Some(text) = blob_text(repo, &new, &path) else {
                            continue;
                        };
                        out.extend(marker_todos(rule, &path, &text, &markers));
                    }
                }
                Kind::NewLines => {
                    // Only directories the queue patches: a queue touching the generic entry
                    // code says nothing about another architecture's.
                    let dirs: BTreeSet<&str> = touched.iter().map(|p| parent(p)).collect();
                    for path in rule.files(repo, &new)? {
                        if !dirs.contains(parent(&path)) {
                            continue;
                        }
                        let Some(text) = blob_text(repo, &new, &path) else {
                            continue;
                        };
                        let before = blob_text(repo, &old, &path).unwrap_or_default();
                        out.extend(new_line_todos(rule, &path, &before, &text));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Rule {
    /// Paths of the tree's files this rule covers, reading only the subtrees it names.
    fn files(&self, repo: &Repository, tree: &Tree<'_>) -> Result<Vec<String>> {
        let mut out = BTreeSet::new();
        for root in &self.roots {
            let sub = if root.is_empty() {
                tree.clone()
            } else {
                match tree.get_path(Path::new(root)) {
                    Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => repo.find_tree(e.id())?,
                    _ => continue,
                }
            };
            sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.kind() == Some(git2::ObjectType::Blob) {
                    let name = entry.name().unwrap_or_default();
                    let path = if root.is_empty() {
                        format!("{dir}{name}")
                    } else {
                        format!("{root}/{dir}{name}")
                    };
                    if self.globs.is_match(&path) {
                        out.insert(path);
                    }
                }
                git2::TreeWalkResult::Ok
            })?;
        }
        Ok(out.into_iter().collect())
    }
}

/// The leading directories of a glob before its first wildcard (`arch/*/x.c` → `arch`).
fn literal_root(glob: &str) -> String {
    let parts: Vec<&str> = glob.split('/').collect();
    let fixed = parts
        .iter()
        .take(parts.len().saturating_sub(1))
        .take_while(|p| !p.contains(['*', '?', '[', '{']))
        .copied()
        .collect::<Vec<_>>();
    fixed.join("/")
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn blob_text(repo: &Repository, tree: &Tree<'_>, path: &str) -> Option<String> {
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

/// The lines the whole queue adds, per file it changes.
struct QueueDiff {
    added: HashMap<String, Vec<String>>,
}

impl QueueDiff {
    fn new(repo: &Repository, old: &Tree<'_>, head: &Tree<'_>) -> Result<QueueDiff> {
        let diff = repo.diff_tree_to_tree(Some(old), Some(head), None)?;
        let mut added: HashMap<String, Vec<String>> = HashMap::new();
        diff.print(git2::DiffFormat::Patch, |delta, _, line| {
            if let Some(p) = delta.new_file().path() {
                let lines = added.entry(p.to_string_lossy().into_owned()).or_default();
                if line.origin() == '+' {
                    lines.push(String::from_utf8_lossy(line.content()).into_owned());
                }
            }
            true
        })?;
        Ok(QueueDiff { added })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn marker_todos(
    rule: &Rule,
    path: &str,
    text: &str,
    markers: &BTreeMap<String, BTreeSet<&str>>,
) -> Vec<Todo> {
    if markers.keys().any(|m| text.contains(m.as_str())) {
        return Vec::new();
    }
    let (marker, siblings) = markers
        .iter()
        .max_by_key(|(_, files)| files.len())
        .expect("at least one marker");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in rule.pattern.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let name = c.get(1).map_or("", |m| m.as_str());
        if !seen.insert(name.to_string()) {
            continue;
        }
        out.push(Todo {
            rule: rule.id.clone(),
            path: path.to_string(),
            line: line_of(text, whole.start()),
            what: format!(
                "new since the old base: `{}` without {marker}, which the queue adds in {} sibling file(s) ({})",
                if name.is_empty() { whole.as_str() } else { name },
                siblings.len(),
                siblings.iter().take(3).copied().collect::<Vec<_>>().join(", ")
            ),
            why: rule.why.clone(),
            todo: rule.todo.replace("{marker}", marker),
        });
    }
    out
}

fn new_line_todos(rule: &Rule, path: &str, before: &str, text: &str) -> Vec<Todo> {
    let norm = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut old_counts: HashMap<String, usize> = HashMap::new();
    for l in before.lines() {
        if rule.pattern.is_match(l) {
            *old_counts.entry(norm(l)).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let Some(m) = rule.pattern.find(l) else {
            continue;
        };
        let left = old_counts.entry(norm(l)).or_default();
        if *left > 0 {
            *left -= 1;
            continue;
        }
        out.push(Todo {
            rule: rule.id.clone(),
            path: path.to_string(),
            line: n + 1,
            what: format!("new since the old base: `{}`", l.trim()),
            why: rule.why.clone(),
            todo: rule.todo.replace("{match}", m.as_str()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse() {
        let rules = Rules::builtin().unwrap();
        assert!(rules.0.iter().any(|r| r.id == "irqchip-pipeline-safe"));
        let entry = rules
            .0
            .iter()
            .find(|r| r.id == "entry-irq-virtualisation")
            .unwrap();
        assert!(entry.roots.contains(&"arch".to_string()));
        assert!(entry.roots.contains(&"kernel/sched".to_string()));
    }

    #[test]
    fn bad_rules_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collateral.toml");
        std::fs::write(
            &path,
            "[[rule]]\nid = \"x\"\nkind = \"marker\"\npaths = [\"a/*.c\"]\nneeds = \"(\"\nmarker = \"M\"\nwhy = \"\"\ntodo = \"\"\n",
        )
        .unwrap();
        let err = Rules::load(&path).err().unwrap().to_string();
        assert!(err.contains("collateral.toml: rule `x`: `needs`"), "{err}");
        std::fs::write(&path, "[[rule]]\nid = \"x\"\nknd = \"marker\"\n").unwrap();
        let err = Rules::load(&path).err().unwrap().to_string();
        assert!(err.contains("collateral.toml:3"), "{err}");
        assert!(err.contains("knd"), "{err}");
    }

    #[test]
    fn literal_roots() {
        assert_eq!(literal_root("drivers/irqchip/**/*.c"), "drivers/irqchip");
        assert_eq!(literal_root("arch/*/kernel/idle.c"), "arch");
        assert_eq!(literal_root("kernel/sched/idle.c"), "kernel/sched");
        assert_eq!(literal_root("*.c"), "");
    }

    #[test]
    fn new_lines_count_repeats() {
        let rules = Rules::builtin().unwrap();
        let rule = rules
            .0
            .iter()
            .find(|r| r.id == "entry-irq-virtualisation")
            .unwrap();
        let before = "a();\n\tlocal_irq_enable();\n";
        let after = "a();\n  local_irq_enable();\nb();\n\tlocal_irq_enable();\n\traw_local_irq_disable();\n";
        let todos = new_line_todos(rule, "kernel/entry/common.c", before, after);
        let lines: Vec<usize> = todos.iter().map(|t| t.line).collect();
        assert_eq!(lines, vec![4, 5], "the reindented old call is not new");
        assert!(todos[1].todo.contains("raw_local_irq_disable"));
    }

    #[test]
    fn marker_todos_name_the_object_and_the_siblings() {
        let rules = Rules::builtin().unwrap();
        let rule = &rules.0[0];
        let mut markers = BTreeMap::new();
        markers.insert(
            "IRQCHIP_PIPELINE_SAFE".to_string(),
            BTreeSet::from(["drivers/irqchip/irq-a.c"]),
        );
        let text = "x\nstatic struct irq_chip foo_chip = {\n\t.name = \"foo\",\n};\n";
        let todos = marker_todos(rule, "drivers/irqchip/irq-foo.c", text, &markers);
        assert_eq!(todos.len(), 1);
        assert_eq!(todos[0].line, 2);
        assert!(todos[0]
            .what
            .contains("`foo_chip` without IRQCHIP_PIPELINE_SAFE"));
        let marked = text.replace("\"foo\",", "\"foo\",\n\t.flags = IRQCHIP_PIPELINE_SAFE,");
        assert!(marker_todos(rule, "drivers/irqchip/irq-foo.c", &marked, &markers).is_empty());
    }
}
