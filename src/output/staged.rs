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
        sweep_abandoned(parent, &name);
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

/// Removes what a killed run (SIGKILL, a power cut: no chance to clean up)
/// left of `name` in `parent`: `.NAME.tmp-PID…` entries, and restores
/// `.NAME.old-PID` (the previous results, moved aside in the instant before
/// the new ones were renamed into place) when `NAME` itself is missing, else
/// removes it. Only entries of processes that no longer run are touched, so
/// a concurrent run's staging is safe; where that cannot be told (no
/// `/proc`), nothing is.
pub(crate) fn sweep_abandoned(parent: &Path, name: &str) {
    if name.is_empty() || !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let (tmp_prefix, old_prefix) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let (rest, old) = if let Some(rest) = file_name.strip_prefix(&tmp_prefix) {
            (rest, false)
        } else if let Some(rest) = file_name.strip_prefix(&old_prefix) {
            (rest, true)
        } else {
            continue;
        };
        // The process id, then nothing, or `-N.ext` (a chart's temporary file).
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &rest[digits..];
        let Ok(pid) = rest[..digits].parse::<u32>() else {
            continue;
        };
        if pid == std::process::id()
            || !(tail.is_empty() || (!old && tail.starts_with('-')))
            || Path::new(&format!("/proc/{pid}")).exists()
        {
            continue;
        }
        let path = entry.path();
        let target = parent.join(name);
        if old && !target.exists() {
            let _ = std::fs::rename(&path, &target);
        } else if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
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
    sweep_abandoned(parent, &name);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A killed run's leftovers are cleared, a live process's are kept, and
    /// results moved aside just before the kill are put back.
    #[test]
    fn abandoned_temporaries_are_swept_and_moved_aside_results_restored() {
        if !Path::new("/proc/self").exists() {
            return; // Nothing is swept where liveness cannot be told.
        }
        let dir = std::env::temp_dir().join(format!("tradeflow-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        // Beyond any pid_max (2^22): a process that cannot exist.
        let dead = 4_000_000_000u32;
        let me = std::process::id();
        let dirs = [
            (format!(".baseline.tmp-{dead}"), false),
            (format!(".baseline.tmp-{me}"), true),
            (".baseline.tmp-1".to_string(), true), // init runs
            (format!(".other.tmp-{dead}"), true),  // another name
            (format!(".baseline.tmp-{dead}x"), true),
        ];
        for (d, _) in &dirs {
            std::fs::create_dir_all(dir.join(d).join("sub")).expect("mkdir");
        }
        std::fs::write(dir.join(format!(".comparison.csv.tmp-{dead}")), b"x").expect("write");
        std::fs::write(dir.join(format!(".baseline.tmp-{dead}-3.png")), b"x").expect("write");
        std::fs::create_dir_all(dir.join(format!(".baseline.old-{dead}"))).expect("mkdir");
        std::fs::write(
            dir.join(format!(".baseline.old-{dead}/summary.csv")),
            b"old",
        )
        .expect("write");

        sweep_abandoned(&dir, "baseline");
        for (d, kept) in &dirs {
            assert_eq!(dir.join(d).exists(), *kept, "{d}");
        }
        assert!(!dir.join(format!(".baseline.tmp-{dead}-3.png")).exists());
        assert!(!dir.join(format!(".baseline.old-{dead}")).exists());
        let restored = std::fs::read(dir.join("baseline/summary.csv")).expect("restored");
        assert_eq!(restored, b"old");
        assert!(dir.join(format!(".comparison.csv.tmp-{dead}")).exists());
        sweep_abandoned(&dir, "comparison.csv");
        assert!(!dir.join(format!(".comparison.csv.tmp-{dead}")).exists());

        // With the results in place, a moved-aside copy is stale: removed.
        std::fs::create_dir_all(dir.join(format!(".baseline.old-{dead}"))).expect("mkdir");
        sweep_abandoned(&dir, "baseline");
        assert!(!dir.join(format!(".baseline.old-{dead}")).exists());
        assert!(dir.join("baseline/summary.csv").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
