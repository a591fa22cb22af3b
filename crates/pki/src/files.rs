//! Files that hold secrets (private keys, sealed key rings, passphrase-protected stores):
//! written whole or not at all, and readable by the owner only from the moment they exist.
//!
//! Creating a file with the default mode and narrowing it afterwards leaves a window in
//! which another local user can open it (and keep the descriptor); here the temporary file
//! is created with mode 0600, filled, synced, and renamed over the target (issue 13, item 10).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `contents` to `path` atomically, mode 0600 on Unix from creation on.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_whole_and_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "old, world-readable").unwrap();
        write_private(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // nothing left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // a directory that does not exist: an error naming the cause, nothing written
        assert!(write_private(&dir.path().join("missing/key.pem"), b"x").is_err());
    }
}
