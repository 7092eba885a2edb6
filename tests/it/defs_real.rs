//! The definitions index on the real Debian 6.1 and 6.12 trees: what a kernel maintainer
//! knows is defined is found, and an API 6.12 removed is defined in 6.1 only.

use crate::common;

use dovetail_port::queue::range;
use dovetail_port::syntax::defs::{Defs, Kind};

#[test]
fn the_6_1_tree_is_indexed_and_6_12_lost_strlcpy() {
    if !common::kernel_tier() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = common::real_repo(tmp.path());
    let repo = git2::Repository::open(&path).unwrap();
    let tree = |name: &str| {
        let id = range::resolve(&repo, name).unwrap();
        repo.find_commit(id).unwrap().tree().unwrap().id()
    };
    let cache = tmp.path().join("defs");
    let started = std::time::Instant::now();
    let old = Defs::cached(repo.path(), tree("v6.1"), &cache).unwrap();
    eprintln!(
        "v6.1: {} names indexed in {:.2}s",
        old.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, kind) in [
        ("schedule", Kind::Function),
        ("kmalloc", Kind::Function),
        ("task_struct", Kind::Type),
        ("irq_desc", Kind::Type),
        ("pid", Kind::Member),
        ("GFP_KERNEL", Kind::Macro),
        ("printk", Kind::Macro),
        ("IRQ_DOMAIN", Kind::Kconfig),
        ("SLOB", Kind::Kconfig),
        ("strlcpy", Kind::Function),
        ("__kmalloc", Kind::Export),
        ("jiffies", Kind::Variable),
        ("sys_openat", Kind::Function),
    ] {
        assert!(
            old.has(name, kind),
            "v6.1 defines {name} as a {}",
            kind.as_str()
        );
    }
    // The second read comes from the cache and says the same.
    let again = Defs::cached(repo.path(), tree("v6.1"), &cache).unwrap();
    assert_eq!(again.len(), old.len());
    let new = Defs::cached(repo.path(), tree("v6.12"), &cache).unwrap();
    assert!(new.has("schedule", Kind::Function) && new.has("strscpy", Kind::Macro));
    assert!(
        !new.has_c("strlcpy"),
        "6.12 removed strlcpy: {:?}",
        new.kinds("strlcpy")
    );
    assert!(!new.has("SLOB", Kind::Kconfig), "6.12 removed SLOB");
}
