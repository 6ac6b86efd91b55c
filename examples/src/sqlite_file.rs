//! The benchmarks' SQLite store: a file in a fresh directory under the
//! system's temporary directory, measured on disk after the run and removed
//! when the handle is dropped (also when the run failed).

use scopelink_core::StoreError;
use scopelink_store_sqlite::SqliteStore;
use std::path::PathBuf;

/// The store file could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteFileError {
    /// The directory could not be created or read.
    #[error("the benchmark's SQLite directory: {0}")]
    Io(#[from] std::io::Error),
    /// The store refused to open the file.
    #[error("the benchmark's SQLite file: {0}")]
    Store(#[from] StoreError),
}

/// The directory that holds the store's file; removed on drop.
#[derive(Debug)]
pub struct SqliteFile {
    dir: PathBuf,
}

impl SqliteFile {
    /// Creates the directory `name` under the temporary directory and opens
    /// a store in a new file there.
    ///
    /// # Errors
    /// [`SqliteFileError`] if the directory or the store cannot be made.
    pub async fn create(name: &str) -> Result<(Self, SqliteStore), SqliteFileError> {
        let file = Self {
            dir: std::env::temp_dir().join(name),
        };
        std::fs::create_dir_all(&file.dir)?;
        let store = SqliteStore::open(file.dir.join("bench.sqlite3")).await?;
        Ok((file, store))
    }

    /// Bytes of every file in the directory: the database, its write-ahead
    /// log and shared memory.
    ///
    /// # Errors
    /// If the directory cannot be read.
    pub fn bytes_on_disk(&self) -> std::io::Result<u64> {
        Ok(std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum())
    }

    /// How the benchmarks name this store in their report:
    /// `SqliteStore (a file; 12 MiB on disk)`.
    ///
    /// # Errors
    /// If the directory cannot be read.
    pub fn label(&self) -> std::io::Result<String> {
        Ok(format!(
            "SqliteStore (a file; {:.0} MiB on disk)",
            self.bytes_on_disk()? as f64 / 1_048_576.0
        ))
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_is_measured_then_removed_with_its_directory() {
        let name = format!("scopelink-examples-test-{}", std::process::id());
        let (file, store) = SqliteFile::create(&name).await.unwrap();
        let dir = file.dir.clone();
        assert!(file.bytes_on_disk().unwrap() > 0, "the schema is written");
        assert!(file.label().unwrap().starts_with("SqliteStore (a file; "));
        drop(store);
        drop(file);
        assert!(!dir.exists(), "{} is removed", dir.display());
    }
}
