//! What to type next: the library's errors say what is wrong and name no command-line flag;
//! the CLI, which owns the flags, adds the one that fixes it.

use dovetail_port::arch::ArchError;
use dovetail_port::boot::BootError;
use dovetail_port::ci::CiError;
use dovetail_port::lint::LintError;
use dovetail_port::queue::QueueError;

/// The hint for the first error in `err`'s chain that has one.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<ArchError>() {
            arch(e)
        } else if let Some(e) = cause.downcast_ref::<BootError>() {
            boot(e)
        } else if let Some(e) = cause.downcast_ref::<CiError>() {
            ci(e)
        } else if let Some(e) = cause.downcast_ref::<LintError>() {
            lint(e)
        } else if let Some(QueueError::BranchExists(_)) = cause.downcast_ref::<QueueError>() {
            Some("choose another name with --branch, or pass --force to move it".into())
        } else {
            None
        }
    })
}

fn arch(e: &ArchError) -> Option<String> {
    match e {
        ArchError::NotAKernelTree { .. } => Some("give the kernel tree with --tree DIR".into()),
        ArchError::WouldOverwrite { .. } => {
            Some("re-run with --force to overwrite them, or with --dry-run to see the diff".into())
        }
        _ => None,
    }
}

fn boot(e: &BootError) -> Option<String> {
    match e {
        BootError::NoBusybox(_) => Some(
            "pass --busybox PATH with a statically linked busybox for the guest architecture"
                .into(),
        ),
        BootError::NoBusyboxForArch { arch } => Some(format!(
            "run `dovetail-port busybox --arch {arch}` to fetch it once, or pass --busybox PATH \
             (built for {arch})"
        )),
        BootError::Fetch { .. } => {
            Some("without apt, give `boot` and `test` a busybox with --busybox PATH".into())
        }
        _ => None,
    }
}

fn ci(e: &CiError) -> Option<String> {
    match e {
        CiError::ConfigExists(_) => Some("pass --force to overwrite it".into()),
        _ => None,
    }
}

fn lint(e: &LintError) -> Option<String> {
    match e {
        LintError::Unreadable { .. } | LintError::SpecialFile { .. } => {
            Some("or pass --skip-unreadable to lint without it".into())
        }
        LintError::Baseline { path, .. } => Some(format!(
            "regenerate it with --baseline {} --write-baseline",
            path.display()
        )),
        LintError::BaselineFile(e) => Some(format!(
            "regenerate it with --baseline {} --write-baseline",
            e.path().display()
        )),
        LintError::Diff { rev, .. } => Some(format!("check the revision given to --diff {rev}")),
        LintError::UnknownEntry(name) => Some(format!(
            "check the function named by --entry {name} (and that its file is linted)"
        )),
        LintError::Kconfig { path, .. } => Some(format!(
            "--kconfig {} must name a kernel .config",
            path.display()
        )),
        LintError::UnknownArch { arch, dir } => Some(format!(
            "--arch {arch}: no {} folder; give the kernel's spelling of the architecture",
            dir.display()
        )),
        _ => None,
    }
}
