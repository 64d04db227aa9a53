//! Stopping a run on Ctrl-C (SIGINT) or SIGTERM without losing anything.
//!
//! The first signal only sets the stop flag that the engine's workers check
//! between blocks of trials, and records which signal it was: the run then
//! unwinds normally, its staged results folders are removed by their `Drop`,
//! the previous results stay where they were, and the process exits with
//! 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
//!
//! A second signal means "stop now": the watcher thread removes the
//! temporary files and folders still registered here and exits at once.
//! Renaming staged results into place runs under [`critical`], which the
//! forced exit waits for, so even then a results folder is either the old
//! one or the new one, never missing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// SIGINT's number, for the exit status of an interrupted run.
pub const SIGINT: i32 = 2;
/// SIGTERM's number.
pub const SIGTERM: i32 = 15;

/// The signal that stopped the run (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Temporary paths (staged folders, files being written) to remove if the
/// process must exit without unwinding.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Installs the handlers of SIGINT and SIGTERM: the first sets `stop`, the
/// second cleans up and exits. Does nothing on platforms without signals.
pub fn install(stop: &'static AtomicBool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::iterator::Signals;
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if stop.load(Ordering::SeqCst) {
                        force_exit(sig);
                    }
                    // The signal first, so that whoever sees the flag sees it too.
                    SIGNAL.store(sig, Ordering::SeqCst);
                    stop.store(true, Ordering::SeqCst);
                }
            })?;
    }
    #[cfg(not(unix))]
    let _ = stop;
    Ok(())
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit status of a run stopped by a signal: 128 + its number, 130 when
/// the stop came from elsewhere (a library caller's own flag).
pub fn exit_status() -> i32 {
    128 + received().unwrap_or(SIGINT)
}

/// The signal's name for messages.
pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGINT => "SIGINT (Ctrl-C)".into(),
        SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere while holding the lock leaves the list usable.
    TEMPORARY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a temporary path to remove on a forced exit.
pub fn register_temporary(path: &Path) {
    lock().push(path.to_path_buf());
}

/// Forgets a temporary path (removed or renamed into place).
pub fn unregister_temporary(path: &Path) {
    let mut list = lock();
    if let Some(i) = list.iter().position(|p| p == path) {
        list.swap_remove(i);
    }
}

/// Runs `f` with forced exits held off, e.g. while results are renamed into
/// place, so that the process never ends between two renames. `f` must not
/// register or unregister paths: it runs under the registry's lock.
pub fn critical<T>(f: impl FnOnce() -> T) -> T {
    let _guard = lock();
    f()
}

/// Removes every registered temporary path; returns the registry's lock,
/// still held, so that nothing starts a commit before the process exits.
fn remove_registered() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    remove_registered_where(|_| true)
}

/// Removes (and forgets) the registered temporary paths that `select`
/// picks; returns the registry's lock, still held. The unit test removes only
/// its own paths: other tests running in parallel register theirs too.
fn remove_registered_where(
    select: impl Fn(&Path) -> bool,
) -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    let mut list = lock();
    list.retain(|p| {
        if !select(p) {
            return true;
        }
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(p);
        } else {
            let _ = std::fs::remove_file(p);
        }
        false
    });
    list
}

/// The second signal: remove what is registered and exit now.
#[cfg(unix)]
fn force_exit(sig: i32) -> ! {
    let _held = remove_registered();
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\nerror: {} again: stopped at once; previous results are untouched",
        signal_name(sig)
    );
    std::process::exit(128 + sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test for the registry (tests run in parallel and share it).
    #[test]
    fn registered_paths_are_forgotten_once_done_or_removed_on_a_forced_exit() {
        let p = Path::new("/nonexistent/.x.tmp-1");
        register_temporary(p);
        assert!(lock().iter().any(|x| x == p));
        unregister_temporary(p);
        assert!(!lock().iter().any(|x| x == p));
        assert_eq!(critical(|| 7), 7);

        let tmp = std::env::temp_dir().join(format!("tradeflow-interrupt-{}", std::process::id()));
        let (dir, file) = (tmp.join(".x.tmp-1"), tmp.join(".y.csv.tmp-1"));
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("sub/a.csv"), b"1").expect("write");
        std::fs::write(&file, b"2").expect("write");
        std::fs::write(tmp.join("keep.csv"), b"3").expect("write");
        register_temporary(&dir);
        register_temporary(&file);
        register_temporary(&tmp.join("never-created"));
        // Only this test's paths: a chart test may have a file registered now.
        drop(remove_registered_where(|p| p.starts_with(&tmp)));
        assert!(!dir.exists() && !file.exists());
        assert!(tmp.join("keep.csv").exists());
        assert!(!lock().iter().any(|p| p.starts_with(&tmp)));
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn statuses_follow_the_shell_convention() {
        assert_eq!(signal_name(SIGTERM), "SIGTERM");
        assert!(exit_status() == 130 || exit_status() == 143);
    }
}
