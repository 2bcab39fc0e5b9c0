//! The only place temporary files live. Every temporary file or folder of a
//! run (the output being written, rewritten tables, a spooled stdin, a dry
//! run's throw-away archive) sits in a scratch folder named
//! `.convex-snapshot-<random>`, which holds a `lock` file locked for as long
//! as the folder is in use.
//!
//! Such folders hold users' documents as plain JSONL, so none may be left
//! behind:
//! - dropping a [`Scratch`] removes its folder (errors and panics unwind
//!   through it);
//! - on SIGINT, SIGTERM or SIGHUP, [`install_signal_cleanup`]'s handler
//!   removes every live scratch folder and exits with 130;
//! - a run killed outright (SIGKILL, power loss) leaves its folder, but the
//!   lock dies with the process: [`sweep`] removes folders whose lock nobody
//!   holds and that are older than this process, before a run writes beside
//!   them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// The prefix of every scratch folder.
pub const PREFIX: &str = ".convex-snapshot-";
/// The lock file inside a scratch folder.
const LOCK: &str = "lock";

/// Scratch folders alive in this process, for the signal handler.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// When this process started (for telling leftovers from folders being made).
static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Notes the process start time and removes every live scratch folder on
/// SIGINT, SIGTERM or SIGHUP, then exits with 130. Call once, early.
pub fn install_signal_cleanup() {
    STARTED.get_or_init(SystemTime::now);
    // A second installation (tests calling `run` twice) is harmless.
    let _ = ctrlc::set_handler(|| {
        remove_live();
        std::process::exit(130);
    });
}

/// Removes every live scratch folder (twice: a worker may have been
/// creating a file in one while the first removal ran).
fn remove_live() {
    let live = match LIVE.lock() {
        Ok(l) => l.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    for _ in 0..2 {
        for path in &live {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn started() -> SystemTime {
    *STARTED.get_or_init(SystemTime::now)
}

/// A scratch folder, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
    /// Held locked while the folder lives.
    _lock: File,
}

impl Scratch {
    /// Makes a scratch folder inside `parent` (after sweeping leftovers of
    /// interrupted runs there).
    pub fn new_in(parent: &Path) -> Result<Scratch> {
        sweep(parent);
        let werr = |source| Error::Write {
            path: parent.to_owned(),
            source,
        };
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(parent)
            .map_err(werr)?;
        let lock_path = dir.path().join(LOCK);
        let lock = File::create(&lock_path).map_err(werr)?;
        lock.lock().map_err(werr)?;
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(dir.path().to_owned());
        Ok(Scratch {
            dir: Some(dir),
            _lock: lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("live until dropped").path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_owned();
            drop(dir); // removes the folder
            let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
            live.retain(|p| *p != path);
        }
    }
}

/// Removes, from `parent`, scratch folders left by runs that were killed:
/// named with our prefix, holding a `lock` file that no process holds, and
/// last changed before this process started. Anything else is left alone.
pub fn sweep(parent: &Path) {
    let Ok(items) = std::fs::read_dir(parent) else {
        return;
    };
    let started = started();
    for item in items.flatten() {
        let name = item.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = item.path();
        if is_stale(&path, started) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn is_stale(path: &Path, started: SystemTime) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    let lock_path = path.join(LOCK);
    let Ok(lock_meta) = std::fs::symlink_metadata(&lock_path) else {
        return false; // not ours, or being made right now
    };
    let older = |m: &std::fs::Metadata| m.modified().is_ok_and(|t| t < started);
    if !lock_meta.is_file() || !older(&meta) || !older(&lock_meta) {
        return false;
    }
    let Ok(lock) = File::open(&lock_path) else {
        return false;
    };
    // Held by a live run: not a leftover. Free: its run is gone.
    lock.try_lock().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_folder_is_locked_while_alive_and_removed_when_dropped() {
        let parent = tempfile::tempdir().unwrap();
        let s = Scratch::new_in(parent.path()).unwrap();
        let path = s.path().to_owned();
        assert!(path.join(LOCK).is_file());
        assert!(LIVE.lock().unwrap().contains(&path));
        // Alive and locked: a sweep (even one that thinks it is later) keeps it.
        assert!(!is_stale(
            &path,
            SystemTime::now() + std::time::Duration::from_secs(60)
        ));
        drop(s);
        assert!(!path.exists());
        assert!(!LIVE.lock().unwrap().contains(&path));
    }

    #[test]
    fn sweeps_only_unlocked_older_folders_of_ours() {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        // A leftover: our name, a free lock.
        let left = p.join(format!("{PREFIX}left"));
        std::fs::create_dir(&left).unwrap();
        std::fs::write(left.join(LOCK), "").unwrap();
        std::fs::write(left.join("documents.jsonl"), "{}").unwrap();
        // Not ours: no lock file, or another name, or a plain file.
        let no_lock = p.join(format!("{PREFIX}nolock"));
        std::fs::create_dir(&no_lock).unwrap();
        let other = p.join("convex-snapshot-other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(LOCK), "").unwrap();
        let file = p.join(format!("{PREFIX}file"));
        std::fs::write(&file, "").unwrap();
        // Made after this process started: left alone.
        assert!(!is_stale(&left, SystemTime::UNIX_EPOCH));
        assert!(is_stale(&left, later));
        assert!(!is_stale(&no_lock, later));
        assert!(!is_stale(&file, later));
        let held = File::open(left.join(LOCK)).unwrap();
        held.lock().unwrap();
        assert!(!is_stale(&left, later), "a held lock is a live run");
        drop(held);
        assert!(is_stale(&left, later));
        assert!(other.exists() && no_lock.exists() && file.exists());
    }
}
