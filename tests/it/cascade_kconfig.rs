//! A Kconfig file merged entry by entry, end to end on a small real git repository: upstream
//! sorts a driver menu (as 6.1 did to drivers/media/usb/dvb-usb/Kconfig) and edits one entry;
//! queue patches add `depends on BROKEN` to entries that moved. Git conflicts on each; the
//! cascade carries each change into the entry of that name, and refuses the entry both sides
//! changed on the same line.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::Value;

const MENU: &str = "\
menu \"USB DVB drivers\"

config DVB_USB_OPERA1
\ttristate \"Opera1 DVB-S USB2.0 receiver\"
\tdepends on DVB_USB
\thelp
\t  Say Y here to support the Opera DVB-S USB2.0 receiver.

config DVB_USB_AF9005
\ttristate \"Afatech AF9005 DVB-T USB1.1 support\"
\tdepends on DVB_USB
\tselect MEDIA_TUNER_MT2060 if MEDIA_SUBDRV_AUTOSELECT
\thelp
\t  Say Y here to support the Afatech AF9005 based DVB-T USB1.1 receiver.

config DVB_USB_DTV5100
\ttristate \"AME DTV-5100 USB2.0 DVB-T support\"
\tdepends on DVB_USB
\thelp
\t  Say Y here to support the AME DTV-5100 USB2.0 DVB-T receiver.

config DVB_USB_CXUSB
\ttristate \"Conexant USB2.0 hybrid reference design support\"
\tdepends on DVB_USB
\thelp
\t  Say Y here to support the Conexant USB2.0 hybrid reference design.

endmenu

config DVB_USB
\ttristate \"USB DVB\"

config BROKEN
\tbool

config MEDIA_TUNER_MT2060
\ttristate

config MEDIA_SUBDRV_AUTOSELECT
\tbool

config I2C
\tbool
";

/// Upstream: the menu sorted (DTV5100 first, OPERA1 last: git sees those two deleted and added
/// elsewhere), DTV5100 now also depends on I2C.
fn upstream() -> String {
    let entry = |name: &str| {
        let start = MENU.find(&format!("config {name}\n")).unwrap();
        let len = MENU[start..].find("\n\n").unwrap() + 2;
        MENU[start..start + len].to_string()
    };
    let (opera, af, dtv, cx) = (
        entry("DVB_USB_OPERA1"),
        entry("DVB_USB_AF9005"),
        entry("DVB_USB_DTV5100"),
        entry("DVB_USB_CXUSB"),
    );
    MENU.replace(
        &format!("{opera}{af}{dtv}{cx}"),
        &format!("{dtv}{af}{cx}{opera}"),
    )
    .replace(
        "\tdepends on DVB_USB\n\thelp\n\t  Say Y here to support the AME",
        "\tdepends on DVB_USB && I2C\n\thelp\n\t  Say Y here to support the AME",
    )
}

/// (subject, queue version of the file), each patch on top of the base.
fn cases() -> Vec<(&'static str, String)> {
    vec![
        (
            "dvb-usb-opera1: mark as broken",
            MENU.replace(
                "\ttristate \"Opera1",
                "\tdepends on BROKEN\n\ttristate \"Opera1",
            ),
        ),
        (
            "dvb-usb-dtv5100: mark as broken",
            MENU.replace(
                "config DVB_USB_DTV5100\n",
                "config DVB_USB_DTV5100\n\tdepends on BROKEN\n",
            ),
        ),
        (
            "dvb-usb-dtv5100: depend on PCI",
            MENU.replace(
                "\tdepends on DVB_USB\n\thelp\n\t  Say Y here to support the AME",
                "\tdepends on DVB_USB && PCI\n\thelp\n\t  Say Y here to support the AME",
            ),
        ),
    ]
}

/// Each patch changes its own copy of the menu, so each replays against the sorted file.
fn file(i: usize) -> String {
    format!("drivers/media/usb/dvb-usb-{i}/Kconfig")
}

fn fixture(dir: &Path) {
    git(dir, &["init", "-q", "-b", "master"]);
    for i in 0..cases().len() {
        write(dir, &file(i), MENU);
    }
    commit_all(dir, "v1");
    git(dir, &["tag", "v1"]);
    git(dir, &["checkout", "-q", "-b", "queue"]);
    for (i, (subject, text)) in cases().into_iter().enumerate() {
        write(dir, &file(i), &text);
        commit_all(dir, subject);
    }
    git(dir, &["checkout", "-q", "-b", "upstream", "v1"]);
    for i in 0..cases().len() {
        write(dir, &file(i), &upstream());
    }
    commit_all(dir, "media: sort the USB DVB drivers");
    git(dir, &["tag", "v2"]);
    git(dir, &["checkout", "-q", "queue"]);
}

fn run(dir: &Path, extra: &[&str]) -> Value {
    rebase_v2_json(dir, extra)
}

fn path(report: &Value, i: usize) -> &Value {
    &report["patches"][i]["paths"][0]
}

#[test]
fn entries_the_target_moved_get_the_patch_s_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixture(dir);

    // Git: every patch conflicts on the sorted file.
    let strict = run(dir, &["--strict"]);
    assert_eq!(verdicts(&strict), ["conflict"; 3]);

    let r = run(dir, &[]);
    assert_eq!(verdicts(&r), ["relocated", "relocated", "conflict"]);
    let opera = r["patches"][0]["new_commit"].as_str().unwrap();
    assert_eq!(
        git(dir, &["show", &format!("{opera}:{}", file(0))]) + "\n",
        upstream().replace(
            "\ttristate \"Opera1",
            "\tdepends on BROKEN\n\ttristate \"Opera1"
        )
    );
    let p = &path(&r, 0)["placements"][0];
    assert_eq!(p["method"], "kconfig-entry");
    assert_eq!(p["confidence"], "high");
    assert_eq!(p["line"], 22, "the entry's line in the sorted file");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("config DVB_USB_OPERA1"));

    // DTV5100: upstream edited the entry too; both edits are kept, read at medium confidence.
    let dtv = r["patches"][1]["new_commit"].as_str().unwrap();
    assert!((git(dir, &["show", &format!("{dtv}:{}", file(1))]) + "\n").contains(
        "config DVB_USB_DTV5100\n\tdepends on BROKEN\n\ttristate \"AME DTV-5100 USB2.0 DVB-T support\"\n\tdepends on DVB_USB && I2C\n"
    ));
    assert_eq!(path(&r, 1)["placements"][0]["confidence"], "medium");

    // The same line changed on both sides stays a conflict.
    let refused = path(&r, 2);
    assert!(
        refused["placements"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{refused}"
    );
}
