//! Configurations already worked out in one build folder, keyed by the contents of
//! everything the configure step reads: the setup (arch, base, toolchain), the base config
//! file and fragments, the environment kbuild recorded, and every Kconfig file of the tree.
//!
//! A tree whose Kconfig files were seen before gets its `.config` back without the base
//! target and `syncconfig` (three Kconfig parses, 10-20 s): a bisection moves back and forth
//! over a few Kconfig states, and switching branches and back is common. Contents, not
//! mtimes, because a checkout rewrites a file that changes and changes back.

use std::path::{Path, PathBuf};

/// Entries kept per build folder; the least recently used go first.
const KEEP: usize = 32;

/// The memo of one build folder (`<out>/.dovetail-port-configs/`).
pub struct ConfigMemo {
    dir: PathBuf,
}

impl ConfigMemo {
    pub fn new(out: &Path) -> Self {
        ConfigMemo {
            dir: out.join(".dovetail-port-configs"),
        }
    }

    /// The final `.config` once produced for `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        let path = self.dir.join(key);
        let text = std::fs::read_to_string(&path).ok()?;
        // Recently used: the pruning keeps it.
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
        Some(text)
    }

    /// Records `config` for `key`; a failure only costs a later configure.
    pub fn put(&self, key: &str, config: &str) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let Ok(mut tmp) = tempfile::NamedTempFile::new_in(&self.dir) else {
            return;
        };
        if std::io::Write::write_all(&mut tmp, config.as_bytes()).is_err() {
            return;
        }
        let _ = tmp.persist(self.dir.join(key));
        self.prune();
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= KEEP {
            return;
        }
        files.sort();
        for (_, path) in &files[..files.len() - KEEP] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The memo key of a configure step: `setup` (everything of the options that is not a
/// file), the contents of `inputs` (base config file, fragments), and kbuild's record of the
/// last configuration in `out` (`include/config/auto.conf.cmd`: the environment it read and
/// every Kconfig file it parsed), with those Kconfig files' contents in `tree`. None before
/// kbuild has written that record, or when a file cannot be read.
///
/// Equal contents of every Kconfig file of the record (the root `Kconfig` among them) mean
/// the same Kconfig input: a file added or dropped is sourced from one that changed.
pub fn key(setup: &str, inputs: &[PathBuf], tree: &Path, out: &Path) -> Option<String> {
    let record = std::fs::read(out.join("include/config/auto.conf.cmd")).ok()?;
    let mut text = format!("{setup}\n").into_bytes();
    for f in inputs {
        text.extend_from_slice(blob_id(&std::fs::read(f).ok()?)?.as_bytes());
        text.push(b'\n');
    }
    text.extend_from_slice(&record);
    let mut kconfigs = 0;
    for word in String::from_utf8_lossy(&record).split_whitespace() {
        if !word.contains("Kconfig") {
            continue;
        }
        let path = if Path::new(word).is_absolute() {
            PathBuf::from(word)
        } else {
            tree.join(word)
        };
        let id = blob_id(&std::fs::read(&path).ok()?)?;
        text.extend_from_slice(format!("{word} {id}\n").as_bytes());
        kconfigs += 1;
    }
    (kconfigs > 0).then(|| blob_id(&text)).flatten()
}

/// git's blob id of some bytes: a content hash that is the same in every build of ours.
fn blob_id(bytes: &[u8]) -> Option<String> {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .ok()
        .map(|o| o.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        let out = tmp.path().join("out");
        std::fs::create_dir_all(tree.join("kernel/irq")).unwrap();
        std::fs::create_dir_all(out.join("include/config")).unwrap();
        std::fs::write(tree.join("Kconfig"), "source \"kernel/irq/Kconfig\"\n").unwrap();
        std::fs::write(tree.join("kernel/irq/Kconfig"), "config A\n\tbool\n").unwrap();
        std::fs::write(
            out.join("include/config/auto.conf.cmd"),
            "deps_config := \\\n\tKconfig \\\n\tkernel/irq/Kconfig\n\n\
             ifneq \"$(CC_VERSION_TEXT)\" \"gcc 14\"\ninclude/config/auto.conf: FORCE\nendif\n",
        )
        .unwrap();
        (tmp, tree, out)
    }

    #[test]
    fn the_key_follows_kconfig_contents_not_their_mtimes() {
        let (tmp, tree, out) = setup();
        let frag = tmp.path().join("frag.config");
        std::fs::write(&frag, "CONFIG_A=y\n").unwrap();
        let inputs = [frag.clone()];
        let k1 = key("x86_64|tinyconfig", &inputs, &tree, &out).unwrap();
        // Rewritten with the same text (a checkout there and back): same key.
        let irq = tree.join("kernel/irq/Kconfig");
        std::fs::write(&irq, "config B\n\tbool\n").unwrap();
        let k2 = key("x86_64|tinyconfig", &inputs, &tree, &out).unwrap();
        assert_ne!(k1, k2);
        std::fs::write(&irq, "config A\n\tbool\n").unwrap();
        assert_eq!(key("x86_64|tinyconfig", &inputs, &tree, &out).unwrap(), k1);
        // Another setup, fragment or toolchain: another key.
        assert_ne!(key("x86_64|defconfig", &inputs, &tree, &out).unwrap(), k1);
        std::fs::write(&frag, "CONFIG_A=n\n").unwrap();
        assert_ne!(key("x86_64|tinyconfig", &inputs, &tree, &out).unwrap(), k1);
        std::fs::write(&frag, "CONFIG_A=y\n").unwrap();
        let cmd = out.join("include/config/auto.conf.cmd");
        let record = std::fs::read_to_string(&cmd).unwrap();
        std::fs::write(&cmd, record.replace("gcc 14", "gcc 15")).unwrap();
        assert_ne!(key("x86_64|tinyconfig", &inputs, &tree, &out).unwrap(), k1);
        // A Kconfig file gone: no key, configure from scratch.
        std::fs::remove_file(&irq).unwrap();
        assert!(key("x86_64|tinyconfig", &inputs, &tree, &out).is_none());
        // No record yet: no key.
        std::fs::remove_file(&cmd).unwrap();
        assert!(key("x86_64|tinyconfig", &inputs, &tree, &out).is_none());
    }

    #[test]
    fn the_memo_returns_what_was_put_and_keeps_the_most_recent() {
        let (_tmp, _tree, out) = setup();
        let memo = ConfigMemo::new(&out);
        assert!(memo.get("k").is_none());
        memo.put("k", "CONFIG_A=y\n");
        assert_eq!(memo.get("k").as_deref(), Some("CONFIG_A=y\n"));
        let old = std::time::SystemTime::UNIX_EPOCH;
        for i in 0..KEEP + 3 {
            memo.put(&format!("e{i}"), "x");
            // The first ones are the least recently used.
            if i < 3 {
                let f = std::fs::File::options()
                    .write(true)
                    .open(out.join(".dovetail-port-configs").join(format!("e{i}")))
                    .unwrap();
                f.set_modified(old).unwrap();
            }
        }
        let left = std::fs::read_dir(out.join(".dovetail-port-configs"))
            .unwrap()
            .count();
        assert_eq!(left, KEEP);
        assert!(memo.get("e0").is_none());
        assert!(memo.get(&format!("e{}", KEEP + 2)).is_some());
    }
}
