//! A cache file's bytes, mapped into memory read-only instead of read: a kernel tree's index
//! is 100 MB, of which a search touches a few pages, and `--continue` opens two of them on
//! every call. Cache files are replaced by rename, never written in place, so a mapping keeps
//! the file it was made from.

use std::ops::Deref;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::sync::Arc;

/// Bytes read into memory or mapped from a file; cheap to clone.
#[derive(Clone)]
pub(super) enum Bytes {
    Owned(Vec<u8>),
    Mapped(Arc<Map>),
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Owned(Vec::new())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes::Owned(v)
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// A read-only private mapping of a whole file.
pub(super) struct Map {
    ptr: *const u8,
    len: usize,
}

// The mapping is read-only and lives until `drop`: shared references to it are plain bytes.
unsafe impl Send for Map {}
unsafe impl Sync for Map {}

impl Bytes {
    /// The file's bytes: mapped, or read when it is empty or cannot be mapped.
    pub(super) fn open(path: &Path) -> std::io::Result<Bytes> {
        let file = std::fs::File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        if len == 0 || len == usize::MAX {
            return std::fs::read(path).map(Bytes::Owned);
        }
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open file; the
        // result is checked before use and unmapped once, in `drop`.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return std::fs::read(path).map(Bytes::Owned);
        }
        Ok(Bytes::Mapped(Arc::new(Map {
            ptr: ptr as *const u8,
            len,
        })))
    }
}

impl Deref for Map {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, unmapped once.
        unsafe {
            libc::munmap(self.ptr as *mut libc::c_void, self.len);
        }
    }
}
