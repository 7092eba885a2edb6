//! git's own file merge (`xdl_merge`, from the xdiff library git and libgit2 share), called in
//! process with the options `git merge-file --diff3 --diff-algorithm=histogram` uses, so a
//! merge costs no child process. libgit2's public `git_merge_file` offers only Myers and
//! patience diffs; the histogram diff merge-ort uses is in the same vendored xdiff, so it is
//! called directly. libgit2 is always built from its vendored sources (Cargo.toml enables
//! `vendored-libgit2`), which makes the symbol part of this binary.
//!
//! `DOVETAIL_PORT_CHECK_MERGE_FILE=1` runs `git merge-file` beside every in-process merge and
//! reports any difference on stderr (git's result is then used): the check that both give
//! the same bytes and the same conflict count.

use std::ffi::{c_char, c_int, c_long, c_ulong, CString};

/// xdiff's `mmfile_t` and `mmbuffer_t`: a byte buffer and its length.
#[repr(C)]
struct MmFile {
    ptr: *mut c_char,
    size: c_long,
}

/// xdiff's `xpparam_t`: diff flags, no ignore regexes, no anchors.
#[repr(C)]
struct XpParam {
    flags: c_ulong,
    ignore_regex: *mut *mut std::ffi::c_void,
    ignore_regex_nr: usize,
    anchors: *mut *mut c_char,
    anchors_nr: usize,
}

/// xdiff's `xmparam_t`.
#[repr(C)]
struct XmParam {
    xpp: XpParam,
    marker_size: c_int,
    level: c_int,
    favor: c_int,
    style: c_int,
    ancestor: *const c_char,
    file1: *const c_char,
    file2: *const c_char,
}

extern "C" {
    fn xdl_merge(
        orig: *mut MmFile,
        mf1: *mut MmFile,
        mf2: *mut MmFile,
        xmp: *const XmParam,
        result: *mut MmFile,
    ) -> c_int;
    /// The C library's `free`: libgit2's default allocator is the C library's malloc.
    fn free(ptr: *mut std::ffi::c_void);
}

/// `XDF_HISTOGRAM_DIFF`, what `--diff-algorithm=histogram` sets.
const XDF_HISTOGRAM_DIFF: c_ulong = 1 << 15;
/// `XDL_MERGE_ZEALOUS_ALNUM`, git merge-file's level.
const XDL_MERGE_ZEALOUS_ALNUM: c_int = 3;
/// `XDL_MERGE_DIFF3`, what `--diff3` sets.
const XDL_MERGE_DIFF3: c_int = 1;
/// `DEFAULT_CONFLICT_MARKER_SIZE`.
const MARKER_SIZE: c_int = 7;
/// git merge-file refuses larger inputs (`MAX_XDIFF_SIZE`, 1 GiB); so does this.
const MAX_SIZE: usize = 1 << 30;

/// The merged text and its number of conflict regions, as `git merge-file --diff3
/// --diff-algorithm=histogram -L ours -L base -L theirs` gives them. None when xdiff fails
/// (out of memory), an input is too large, or a label holds a NUL: the caller asks git.
pub fn merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    labels: [&str; 3],
) -> Option<(Vec<u8>, usize)> {
    if [base, ours, theirs].iter().any(|b| b.len() >= MAX_SIZE) {
        return None;
    }
    let [l_ours, l_base, l_theirs] = labels.map(|l| CString::new(l).ok());
    let (l_ours, l_base, l_theirs) = (l_ours?, l_base?, l_theirs?);
    // xdiff reads the inputs only; the casts to `*mut` follow its C signature.
    let file = |b: &[u8]| MmFile {
        ptr: b.as_ptr() as *mut c_char,
        size: b.len() as c_long,
    };
    let (mut b, mut o, mut t) = (file(base), file(ours), file(theirs));
    let params = XmParam {
        xpp: XpParam {
            flags: XDF_HISTOGRAM_DIFF,
            ignore_regex: std::ptr::null_mut(),
            ignore_regex_nr: 0,
            anchors: std::ptr::null_mut(),
            anchors_nr: 0,
        },
        marker_size: MARKER_SIZE,
        level: XDL_MERGE_ZEALOUS_ALNUM,
        favor: 0,
        style: XDL_MERGE_DIFF3,
        ancestor: l_base.as_ptr(),
        file1: l_ours.as_ptr(),
        file2: l_theirs.as_ptr(),
    };
    let mut out = MmFile {
        ptr: std::ptr::null_mut(),
        size: 0,
    };
    // xdiff allocates through libgit2's allocator, which libgit2's initialisation sets up;
    // git2 initialises libgit2 (once) in any call that reaches it, this one included.
    git2::Oid::from_bytes(&[0; 20]).ok()?;
    // SAFETY: the three inputs are live buffers of the given sizes that xdl_merge only reads,
    // the labels are NUL-terminated strings that outlive the call, and `out` receives a
    // buffer xdl_merge allocates with libgit2's allocator (the C library's malloc), which is
    // copied and then freed once below.
    let conflicts = unsafe { xdl_merge(&mut b, &mut o, &mut t, &params, &mut out) };
    let text = if out.ptr.is_null() || out.size <= 0 {
        Vec::new()
    } else {
        // SAFETY: xdl_merge returned `out.size` initialised bytes at `out.ptr`.
        unsafe { std::slice::from_raw_parts(out.ptr as *const u8, out.size as usize) }.to_vec()
    };
    if !out.ptr.is_null() {
        // SAFETY: allocated by xdl_merge with malloc, not used after this.
        unsafe { free(out.ptr.cast()) };
    }
    usize::try_from(conflicts).ok().map(|n| (text, n))
}

/// Whether every in-process merge is checked against `git merge-file`.
pub fn checking() -> bool {
    super::check_flag("DOVETAIL_PORT_CHECK_MERGE_FILE")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: [&str; 3] = ["ours", "base", "theirs"];

    #[test]
    fn clean_merge_takes_both_sides() {
        let base = b"a\nb\nc\nd\ne\nf\ng\n";
        let ours = b"A\nb\nc\nd\ne\nf\ng\n";
        let theirs = b"a\nb\nc\nd\ne\nf\nG\n";
        let (text, n) = merge(base, ours, theirs, LABELS).unwrap();
        assert_eq!(n, 0);
        assert_eq!(text, b"A\nb\nc\nd\ne\nf\nG\n");
    }

    #[test]
    fn conflict_is_diff3_with_the_labels() {
        let (text, n) = merge(b"x\n", b"y\n", b"z\n", LABELS).unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "<<<<<<< ours\ny\n||||||| base\nx\n=======\nz\n>>>>>>> theirs\n"
        );
    }

    #[test]
    fn empty_and_unterminated_inputs() {
        assert_eq!(merge(b"", b"", b"", LABELS).unwrap(), (Vec::new(), 0));
        let (text, n) = merge(b"a", b"a", b"b", LABELS).unwrap();
        assert_eq!((text.as_slice(), n), (b"b".as_slice(), 0));
        assert!(merge(b"", b"", b"", ["a\0b", "b", "c"]).is_none());
    }

    /// The same bytes and conflict count as `git merge-file` itself, over generated edits of
    /// one text (lines changed, inserted and deleted on both sides, close together).
    #[test]
    fn same_as_git_merge_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let base: Vec<String> = (0..40).map(|i| format!("line {}\n", i % 7)).collect();
        for case in 0..60 {
            let mut edit = |mut lines: Vec<String>| {
                for _ in 0..1 + next(4) {
                    let at = next(lines.len() as u64) as usize;
                    match next(3) {
                        0 => lines[at] = format!("changed {case} {}\n", next(3)),
                        1 => lines.insert(at, format!("new {}\n", next(5))),
                        _ => {
                            lines.remove(at);
                        }
                    }
                }
                lines.concat().into_bytes()
            };
            let (ours, theirs) = (edit(base.clone()), edit(base.clone()));
            let base = base.concat().into_bytes();
            let paths = ["ours", "base", "theirs"].map(|n| dir.path().join(n));
            for (p, text) in paths.iter().zip([&ours, &base, &theirs]) {
                std::fs::write(p, text).unwrap();
            }
            let git = std::process::Command::new("git")
                .args(["merge-file", "-p", "--diff3", "--diff-algorithm=histogram"])
                .args(["-L", "ours", "-L", "base", "-L", "theirs"])
                .args(&paths)
                .output()
                .unwrap();
            let (text, n) = merge(&base, &ours, &theirs, LABELS).unwrap();
            assert_eq!(text, git.stdout, "case {case}");
            assert_eq!(Some(n.min(127) as i32), git.status.code(), "case {case}");
        }
    }
}
