//! The collateral-evolution scan on a small real repository: upstream adds an irqchip driver
//! and new `local_irq_*` calls while the queue marks the existing chip pipeline-safe and
//! patches the entry code; the report lists exactly the new code, with file and line.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const CHIP: &str =
    "static struct irq_chip old_chip = {\n\t.name = \"old\",\n\t.flags = IRQCHIP_EOI,\n};\n";
const ENTRY: &str = "void enter(void)\n{\n\tlocal_irq_disable();\n\twork();\n}\n";

fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    write(dir, "drivers/irqchip/irq-old.c", CHIP);
    write(dir, "kernel/entry/common.c", ENTRY);
    write(dir, "arch/x/kernel/entry.c", ENTRY);
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    write(
        dir,
        "drivers/irqchip/irq-old.c",
        &replace_line(CHIP, "IRQCHIP_EOI,", "IRQCHIP_EOI | IRQCHIP_PIPELINE_SAFE,"),
    );
    write(
        dir,
        "kernel/entry/common.c",
        &replace_line(ENTRY, "\twork();\n", "\tif (!running_oob())\n\t\twork();\n"),
    );
    commit_all(dir, "irq_pipeline: mark the old chip, skip work from oob");
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    write(
        dir,
        "drivers/irqchip/irq-new.c",
        "#include <x.h>\n\nstatic const struct irq_chip new_chip = {\n\t.name = \"new\",\n};\n",
    );
    // Reindented, one new call: only the new call is new.
    let entry = "void enter(void)\n{\n    local_irq_disable();\n\twork();\n}\n\nvoid leave(void)\n{\n\tlocal_irq_enable();\n}\n";
    write(dir, "kernel/entry/common.c", entry);
    // An architecture the queue does not touch.
    write(dir, "arch/x/kernel/entry.c", entry);
    commit_all(dir, "v2");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);
}

fn rebase(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["rebase", "v2", "--queue", "v1..queue", "--force"];
    args.extend_from_slice(extra);
    let out = tool(dir, &args);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (code, v, stdout(&out) + &stderr(&out))
}

#[test]
fn new_upstream_code_the_queue_covers_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);
    let (code, report, all) = rebase(dir, &["--report", "json"]);
    assert_eq!(code, 0, "{all}");
    let todos: Vec<(String, u64, String)> = report["collateral"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["path"].as_str().unwrap().to_string(),
                t["line"].as_u64().unwrap(),
                t["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        todos,
        [
            (
                "drivers/irqchip/irq-new.c".to_string(),
                3,
                "irqchip-pipeline-safe".to_string()
            ),
            (
                "kernel/entry/common.c".to_string(),
                9,
                "entry-irq-virtualisation".to_string()
            ),
        ]
    );
    let what = report["collateral"][0]["what"].as_str().unwrap();
    assert!(
        what.contains("`new_chip` without IRQCHIP_PIPELINE_SAFE"),
        "{what}"
    );
    assert!(what.contains("drivers/irqchip/irq-old.c"), "{what}");

    let (_, _, human) = rebase(dir, &["--branch", "human"]);
    assert!(
        human.contains("to-do: 2 place(s) of new upstream code"),
        "{human}"
    );
    assert!(
        human.contains("kernel/entry/common.c:9 [entry-irq-virtualisation]"),
        "{human}"
    );

    // A rules file of one's own replaces the built-in one; a broken one is named.
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, "[[rule]]\nid = \"only-chips\"\nkind = \"marker\"\npaths = [\"drivers/irqchip/*.c\"]\nneeds = 'struct\\s+irq_chip\\s+(\\w+)'\nmarker = 'IRQCHIP_PIPELINE_SAFE'\nwhy = \"w\"\ntodo = \"add {marker}\"\n").unwrap();
    let rules_arg = rules.to_str().unwrap();
    let (code, report, all) = rebase(
        dir,
        &[
            "--report",
            "json",
            "--branch",
            "own",
            "--collateral",
            rules_arg,
        ],
    );
    assert_eq!(code, 0, "{all}");
    let todos = report["collateral"].as_array().unwrap();
    assert_eq!(todos.len(), 1, "{todos:?}");
    assert_eq!(todos[0]["todo"], "add IRQCHIP_PIPELINE_SAFE");
    std::fs::write(&rules, "[[rule]]\nid = \"x\"\n").unwrap();
    let (code, _, all) = rebase(dir, &["--branch", "bad", "--collateral", rules_arg]);
    assert_eq!(code, 2, "{all}");
    assert!(all.contains("rules.toml"), "{all}");
    assert!(
        git(dir, &["branch", "--list", "bad"]).is_empty(),
        "nothing is replayed with bad rules"
    );
}
