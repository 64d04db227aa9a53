//! Write-beside-then-rename, for files and folders.

use super::OutputError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A folder being written beside its final place; removed on drop unless committed.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Creates a fresh staging folder next to `target`.
    pub fn new(target: &Path) -> Result<Self, OutputError> {
        let parent = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| OutputError::io(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| OutputError::io(&staging, e))?;
        crate::interrupt::register_temporary(&staging);
        Ok(StagedDir {
            staging,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Where files are being written.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final folder.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the staged folder into place, replacing any previous results.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        // Move the old folder aside first: rename cannot replace a non-empty folder.
        let old = self.target.with_file_name(format!(
            ".{}.old-{}",
            self.target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let had_old = self.target.exists();
        if had_old {
            // Registered before it exists: `critical` holds the registry's
            // lock, so nothing may be registered inside it.
            crate::interrupt::register_temporary(&old);
        }
        // No forced exit (a second Ctrl-C) between the two renames: the
        // results folder is always the old one or the new one.
        let renamed = crate::interrupt::critical(|| {
            if had_old {
                std::fs::rename(&self.target, &old)
                    .map_err(|e| OutputError::io(&self.target, e))?;
            }
            if let Err(e) = std::fs::rename(&self.staging, &self.target) {
                if had_old {
                    let _ = std::fs::rename(&old, &self.target);
                }
                return Err(OutputError::io(&self.target, e));
            }
            Ok(())
        });
        if let Err(e) = renamed {
            crate::interrupt::unregister_temporary(&old);
            return Err(e);
        }
        self.committed = true;
        crate::interrupt::unregister_temporary(&self.staging);
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
            crate::interrupt::unregister_temporary(&old);
        }
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
            crate::interrupt::unregister_temporary(&self.staging);
        }
    }
}

/// Writes `path` whole or not at all: into a temporary file beside it, then renamed.
pub fn write_file_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    crate::interrupt::register_temporary(&tmp);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        write(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        crate::interrupt::critical(|| std::fs::rename(&tmp, path))
    })();
    let result = result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        OutputError::io(path, e)
    });
    crate::interrupt::unregister_temporary(&tmp);
    result
}
