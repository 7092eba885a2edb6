//! A cache file's bytes, mapped into memory read-only instead of read: a kernel tree's index
//! is 100 MB, of which a search touches a few pages, and `--continue` opens two of them on
//! every call. Cache files are replaced by rename, never written in place, so a mapping keeps
//! the file it was made from.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// Bytes read into memory or mapped from a file; cheap to clone.
#[derive(Clone)]
pub(super) enum Bytes {
    Owned(Vec<u8>),
    Mapped(Arc<memmap2::Mmap>),
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

impl Bytes {
    /// The file's bytes: mapped, or read when it is empty or cannot be mapped.
    pub(super) fn open(path: &Path) -> std::io::Result<Bytes> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Bytes::Owned(Vec::new()));
        }
        // SAFETY: cache files are replaced by rename, never written in place, so the mapped
        // file does not change under the mapping.
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(map) => Ok(Bytes::Mapped(Arc::new(map))),
            Err(_) => std::fs::read(path).map(Bytes::Owned),
        }
    }
}
