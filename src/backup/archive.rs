//! The archive: one zstd-compressed tar holding `manifest.json` first, then one JSON Lines file
//! per table (`tables/<name>.jsonl`: a header line naming the columns and their types, then one
//! JSON array per row). Reading it checks every table file against the manifest's row count
//! and SHA-256 before anything is trusted.

use super::catalog::Column;
use crate::error::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "srm-backup";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The newest migration applied to the database the backup was taken from.
    pub schema_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub portal_version: String,
    /// `sqlite` or `postgres`.
    pub source: String,
    pub tables: Vec<TableEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableEntry {
    pub name: String,
    pub file: String,
    pub rows: u64,
    pub sha256: String,
}

/// The first line of each table file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableHeader {
    pub table: String,
    pub columns: Vec<Column>,
}

pub fn table_file(name: &str) -> String {
    format!("tables/{name}.jsonl")
}

fn damaged(msg: impl std::fmt::Display) -> AppError {
    AppError::unprocessable(
        "backup_damaged",
        format!("the backup file is damaged or incomplete: {msg}"),
    )
}

fn io(what: &str, path: &Path, e: std::io::Error) -> AppError {
    AppError::internal(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes one table's file, hashing and counting as it goes.
pub struct TableWriter {
    out: BufWriter<File>,
    hash: Sha256,
    rows: u64,
    path: PathBuf,
}

impl TableWriter {
    pub fn create(path: PathBuf, header: &TableHeader) -> AppResult<TableWriter> {
        let file = File::create(&path).map_err(|e| io("create", &path, e))?;
        let mut w = TableWriter {
            out: BufWriter::new(file),
            hash: Sha256::new(),
            rows: 0,
            path,
        };
        w.line(&serde_json::to_vec(header).map_err(AppError::internal)?)?;
        Ok(w)
    }

    fn line(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.hash.update(bytes);
        self.hash.update(b"\n");
        self.out
            .write_all(bytes)
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| io("write", &self.path, e))
    }

    pub fn row(&mut self, cells: &[serde_json::Value]) -> AppResult<()> {
        let bytes = serde_json::to_vec(cells).map_err(AppError::internal)?;
        self.line(&bytes)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes the file; returns its row count and SHA-256 (hex).
    pub fn finish(mut self) -> AppResult<(u64, String)> {
        self.out.flush().map_err(|e| io("write", &self.path, e))?;
        Ok((self.rows, hex(&self.hash.finalize())))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `path` readable and writable by its owner only: a backup holds every password hash
/// and every student's record.
pub fn create_private(path: &Path) -> AppResult<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|e| io("create", path, e))
}

/// Packs the manifest and the table files (in `dir`) into `out`, written to a partial file
/// first and renamed when complete, so a crash never leaves a plausible half archive.
pub fn pack(out: &Path, manifest: &Manifest, dir: &Path) -> AppResult<u64> {
    let partial = out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let file = create_private(&partial)?;
    let result = (|| -> std::io::Result<()> {
        let enc = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL)?;
        let mut tar = tar::Builder::new(enc);
        let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest_bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, manifest_bytes.as_slice())?;
        for t in &manifest.tables {
            let mut f = File::open(dir.join(format!("{}.jsonl", t.name)))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(f.metadata()?.len());
            header.set_mode(0o600);
            header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
            header.set_cksum();
            tar.append_data(&mut header, &t.file, &mut f)?;
        }
        let enc = tar.into_inner()?;
        let file = enc.finish()?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(io("write", &partial, e));
    }
    std::fs::rename(&partial, out).map_err(|e| io("rename", out, e))?;
    Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
}

/// Reads the whole archive, checking each table file's row count and SHA-256 against the
/// manifest. With `extract_to`, the table files are written there (`<name>.jsonl`) for the
/// restore to read; without it they are only checked.
pub fn verify(path: &Path, extract_to: Option<&Path>) -> AppResult<Manifest> {
    let file = File::open(path).map_err(|e| io("open", path, e))?;
    let dec = zstd::stream::read::Decoder::new(file).map_err(damaged)?;
    let mut tar = tar::Archive::new(dec);
    let mut manifest: Option<Manifest> = None;
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for entry in tar.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        if name == MANIFEST {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(damaged)?;
            let m: Manifest = serde_json::from_str(&text)
                .map_err(|e| damaged(format!("the manifest cannot be read ({e})")))?;
            if m.format != FORMAT {
                return Err(damaged("this is not an srm backup"));
            }
            if m.format_version > FORMAT_VERSION {
                return Err(AppError::unprocessable(
                    "backup_newer",
                    format!(
                        "the backup was written in format {} by a newer portal; this portal reads format {FORMAT_VERSION}",
                        m.format_version
                    ),
                ));
            }
            manifest = Some(m);
            continue;
        }
        let Some(table) = name
            .strip_prefix("tables/")
            .and_then(|n| n.strip_suffix(".jsonl"))
            .filter(|n| super::catalog::quote(n).is_ok())
            .map(str::to_string)
        else {
            return Err(damaged(format!("unexpected entry {name:?}")));
        };
        let mut sink: Box<dyn Write> = match extract_to {
            Some(dir) => {
                let p = dir.join(format!("{table}.jsonl"));
                Box::new(BufWriter::new(create_private(&p)?))
            }
            None => Box::new(std::io::sink()),
        };
        let mut hash = Sha256::new();
        let mut newlines = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = entry.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            newlines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            sink.write_all(&buf[..n])
                .map_err(|e| AppError::internal(format!("cannot unpack the backup: {e}")))?;
        }
        sink.flush()
            .map_err(|e| AppError::internal(format!("cannot unpack the backup: {e}")))?;
        // The header line is not a row.
        seen.insert(table, (newlines.saturating_sub(1), hex(&hash.finalize())));
    }
    let manifest = manifest.ok_or_else(|| damaged("it has no manifest"))?;
    for t in &manifest.tables {
        let Some((rows, sha)) = seen.remove(&t.name) else {
            return Err(damaged(format!("the table {} is missing", t.name)));
        };
        if *sha != t.sha256 {
            return Err(damaged(format!(
                "the table {} does not match its checksum",
                t.name
            )));
        }
        if rows != t.rows {
            return Err(damaged(format!(
                "the table {} has {rows} rows where the manifest says {}",
                t.name, t.rows
            )));
        }
    }
    if let Some(extra) = seen.keys().next() {
        return Err(damaged(format!("the table {extra} is not in the manifest")));
    }
    Ok(manifest)
}
