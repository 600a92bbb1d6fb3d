//! Everything a build writes: sharded Parquet, the manifest, and the atomic
//! commit of the output folder (build in a hidden temporary folder beside
//! it, rename into place at the end).

pub mod batch;
pub mod readback;
pub mod shards;

use std::path::{Path, PathBuf};

pub use shards::{ShardInfo, ShardWriter};

/// Failures while writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{context}: {detail}")]
    Parquet { context: String, detail: String },
    #[error("{0}")]
    Config(String),
    #[error("{0} exists and is not an adamame output folder (no manifest.json); choose another --out or remove it")]
    NotOurs(PathBuf),
}

impl SinkError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
        move |source| SinkError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn parquet_at<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> SinkError + '_ {
        move |e| SinkError::Parquet {
            context: path.display().to_string(),
            detail: e.to_string(),
        }
    }

    pub fn parquet<E: std::fmt::Display>(context: &str) -> impl FnOnce(E) -> SinkError + '_ {
        move |e| SinkError::Parquet {
            context: context.to_string(),
            detail: e.to_string(),
        }
    }
}

/// An output folder under construction. Dropping it without
/// [`StagedDir::commit`] removes the temporary folder, so a failed run
/// leaves nothing behind; a killed run leaves only a hidden
/// `.NAME.partial-PID` folder, which the next run removes.
pub struct StagedDir {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl StagedDir {
    pub fn new(target: &Path) -> Result<Self, SinkError> {
        if target.exists() && !target.join("manifest.json").is_file() {
            let empty = std::fs::read_dir(target)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if !empty {
                return Err(SinkError::NotOurs(target.to_path_buf()));
            }
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(SinkError::io(&parent))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "adamame-out".into());
        recover_and_clean(&parent, &name, target)?;
        let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(SinkError::io(&temp))?;
        }
        std::fs::create_dir_all(&temp).map_err(SinkError::io(&temp))?;
        Ok(StagedDir {
            target: target.to_path_buf(),
            temp,
            committed: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The final location.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the finished folder into place, replacing an earlier output:
    /// the earlier one is moved aside first, so a run killed between the two
    /// renames leaves it in `.NAME.old-PID`, which the next run restores.
    pub fn commit(mut self) -> Result<PathBuf, SinkError> {
        let name = self.temp.file_name().unwrap_or_default().to_string_lossy();
        let old = self
            .temp
            .with_file_name(name.replacen(".partial-", ".old-", 1));
        if self.target.exists() {
            std::fs::rename(&self.target, &old).map_err(SinkError::io(&self.target))?;
        }
        std::fs::rename(&self.temp, &self.target).map_err(SinkError::io(&self.target))?;
        self.committed = true;
        // The new output is in place; an earlier one that cannot be removed
        // now (a busy file on NFS) is removed by the next run.
        let _ = std::fs::remove_dir_all(&old);
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// Tidies what earlier runs left beside `target`: a run killed between
/// [`StagedDir::commit`]'s two renames left the previous output in
/// `.NAME.old-*` and none at `target`, so it is put back; the other
/// `.NAME.old-*` and `.NAME.partial-*` folders (killed runs, removals that
/// failed) are deleted.
fn recover_and_clean(parent: &Path, name: &str, target: &Path) -> Result<(), SinkError> {
    let (partial, old) = (format!(".{name}.partial-"), format!(".{name}.old-"));
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    let mut olds = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with(&partial) {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if file_name.starts_with(&old) {
            olds.push(entry.path());
        }
    }
    olds.sort();
    if !target.exists() {
        if let Some(previous) = olds.iter().find(|p| p.join("manifest.json").is_file()) {
            std::fs::rename(previous, target).map_err(SinkError::io(previous))?;
        }
    }
    for path in olds.iter().filter(|p| p.exists()) {
        let _ = std::fs::remove_dir_all(path);
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    write_file_atomic(path, |mut file, temp| {
        std::io::Write::write_all(&mut file, bytes).map_err(SinkError::io(temp))
    })
}

/// Writes `path` atomically: `write` fills `.NAME.tmp` beside it (given the
/// file and its path), which is then renamed into place. On any error the
/// temporary file is removed, so a failed write leaves nothing behind.
pub fn write_file_atomic<E: From<SinkError>>(
    path: &Path,
    write: impl FnOnce(std::fs::File, &Path) -> Result<(), E>,
) -> Result<(), E> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let file = std::fs::File::create(&temp).map_err(SinkError::io(&temp))?;
    let written = write(file, &temp).and_then(|()| {
        std::fs::rename(&temp, path)
            .map_err(SinkError::io(path))
            .map_err(E::from)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_dir_is_invisible_until_commit_and_cleaned_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        {
            let staged = StagedDir::new(&target).unwrap();
            std::fs::write(staged.path().join("x"), "1").unwrap();
            assert!(!target.exists());
        }
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            0,
            "dropped run leaves nothing"
        );
        let staged = StagedDir::new(&target).unwrap();
        std::fs::write(staged.path().join("manifest.json"), "{}").unwrap();
        staged.commit().unwrap();
        assert!(target.join("manifest.json").is_file());
        // A second run replaces the first.
        let staged = StagedDir::new(&target).unwrap();
        std::fs::write(staged.path().join("manifest.json"), "{\"v\":2}").unwrap();
        staged.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("manifest.json")).unwrap(),
            "{\"v\":2}"
        );
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_run_killed_between_the_renames_loses_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        // Killed after moving the previous output aside, before the new one
        // arrived: the next run puts the previous output back.
        let aside = root.path().join(".out.old-4242");
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("manifest.json"), "{\"v\":1}").unwrap();
        let staged = StagedDir::new(&target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("manifest.json")).unwrap(),
            "{\"v\":1}"
        );
        assert!(!aside.exists());
        drop(staged);
        // A leftover that could not be removed does not block the next commit.
        let stuck = root.path().join(".out.old-7");
        std::fs::create_dir(&stuck).unwrap();
        std::fs::write(stuck.join("manifest.json"), "{}").unwrap();
        let staged = StagedDir::new(&target).unwrap();
        std::fs::write(staged.path().join("manifest.json"), "{\"v\":2}").unwrap();
        staged.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("manifest.json")).unwrap(),
            "{\"v\":2}"
        );
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn a_failed_atomic_write_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("x.parquet");
        let failed: Result<(), SinkError> = write_file_atomic(&path, |_, temp| {
            assert!(temp.exists());
            Err(SinkError::io(temp)(std::io::Error::other("disk full")))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        write_atomic(&path, b"ok").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"ok");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_to_replace_foreign_folders() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("precious.txt"), "x").unwrap();
        assert!(matches!(
            StagedDir::new(root.path()),
            Err(SinkError::NotOurs(_))
        ));
    }
}
