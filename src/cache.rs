//! Where dovetail-port keeps what it builds once and reuses: the imported kernel trees, the
//! unpacked built-in data, definitions indexes, bisect verdicts. Its own module so that the
//! data layer and the kernel cache can both find it without importing each other.

use std::path::PathBuf;

/// The cache folder: `$DOVETAIL_PORT_CACHE`, else `$XDG_CACHE_HOME/dovetail-port`, else
/// `~/.cache/dovetail-port`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOVETAIL_PORT_CACHE") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("dovetail-port");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/dovetail-port")
}
