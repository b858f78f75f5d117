//! Reading one history file row by row with bounded memory: the encoding is detected on the
//! file's first 64 KiB (as the student import detects it: UTF-8, else GBK, Big5 or Latin-1),
//! the rest is decoded in chunks by encoding_rs's streaming decoder, and the csv reader reads
//! records from that stream one at a time.

use crate::error::{AppError, AppResult};
use encoding_rs::{Decoder, Encoding};
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

const HEAD: usize = 64 * 1024;

/// A `Read` of UTF-8 text decoded on the fly from another encoding's bytes.
struct DecodeReader<R> {
    inner: R,
    decoder: Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.raw)?;
            let last = n == 0;
            let need = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
            self.out.clear();
            self.out.resize(need, 0);
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.raw[..n], &mut self.out, last);
            self.out.truncate(written);
            self.pos = 0;
            self.done = last;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// An open history file: its header, the columns found, and a record reader.
pub struct Source {
    pub name: &'static str,
    pub header: Vec<String>,
    pub encoding: String,
    pub delimiter: String,
    /// The file's size in bytes (for progress).
    pub bytes: u64,
    at: HashMap<String, usize>,
    reader: csv::Reader<Box<dyn Read + Send + Sync>>,
    record: csv::StringRecord,
}

/// One data row: its line in the file and its cells.
pub struct Row<'a> {
    pub line: u64,
    record: &'a csv::StringRecord,
    at: &'a HashMap<String, usize>,
}

impl Row<'_> {
    /// The trimmed cell of `column` (empty when the column or the cell is missing).
    pub fn get(&self, column: &str) -> &str {
        self.at
            .get(column)
            .and_then(|i| self.record.get(*i))
            .map(str::trim)
            .unwrap_or("")
    }

    /// Whether the file has `column`.
    pub fn has(&self, column: &str) -> bool {
        self.at.contains_key(column)
    }

    /// The row's cells as written.
    pub fn values(&self) -> Vec<String> {
        self.record.iter().map(str::to_string).collect()
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::unprocessable(
        "bad_history_file",
        format!("cannot read {}: {e}", path.display()),
    )
}

impl Source {
    /// Opens `dir/name` when it exists (`None` otherwise).
    pub fn open(dir: &Path, name: &'static str) -> AppResult<Option<Source>> {
        let path = dir.join(name);
        if !path.is_file() {
            return Ok(None);
        }
        let mut file = File::open(&path).map_err(|e| io_error(&path, e))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = Vec::with_capacity(HEAD);
        (&mut file)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| io_error(&path, e))?;
        // NOTE: detect on whole lines, so a multi-byte character cut at 64 KiB is not taken
        // for a sign of another encoding.
        let cut = if head.len() < HEAD {
            head.len()
        } else {
            head.iter()
                .rposition(|b| *b == b'\n')
                .map_or(head.len(), |i| i + 1)
        };
        let (text, encoding) = crate::students::import::decode(&head[..cut])?;
        let delim = crate::students::import::sniff_delimiter(&text);
        let label = encoding.split(' ').next().unwrap_or("UTF-8");
        let enc: &'static Encoding =
            Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::UTF_8);
        let stream = std::io::Cursor::new(head).chain(file);
        let reader: Box<dyn Read + Send + Sync> = Box::new(DecodeReader {
            inner: stream,
            decoder: enc.new_decoder_with_bom_removal(),
            raw: vec![0; HEAD],
            out: Vec::new(),
            pos: 0,
            done: false,
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delim)
            .flexible(true)
            .has_headers(true)
            .from_reader(reader);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| io_error(&path, e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut at = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            at.entry(h.to_lowercase().replace([' ', '-'], "_"))
                .or_insert(i);
        }
        Ok(Some(Source {
            name,
            header,
            encoding,
            delimiter: match delim {
                b';' => ";".into(),
                b'\t' => "tab".into(),
                _ => ",".into(),
            },
            bytes,
            at,
            reader,
            record: csv::StringRecord::new(),
        }))
    }

    /// Whether the header has `column`.
    pub fn has(&self, column: &str) -> bool {
        self.at.contains_key(column)
    }

    /// The first of `columns` the header lacks.
    pub fn lacks<'c>(&self, columns: &[&'c str]) -> Option<&'c str> {
        columns.iter().find(|c| !self.has(c)).copied()
    }

    /// Bytes of decoded text read so far.
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next non-blank row, or `None` at the end. A row the csv reader cannot read
    /// (broken quoting, bad bytes) is an error with its line.
    pub fn next_row(&mut self) -> AppResult<Option<Row<'_>>> {
        loop {
            let more = self.reader.read_record(&mut self.record).map_err(|e| {
                AppError::unprocessable("bad_history_file", format!("{}: {e}", self.name))
            })?;
            if !more {
                return Ok(None);
            }
            if self.record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let line = self.record.position().map_or(0, |p| p.line());
            return Ok(Some(Row {
                line,
                record: &self.record,
                at: &self.at,
            }));
        }
    }
}

/// The most a zip of history files may unpack to (the upload itself is at most 1 GiB).
pub const MAX_UNZIPPED: u64 = 16 * 1024 * 1024 * 1024;

fn bad_zip(why: &'static str) -> AppError {
    AppError::unprocessable("bad_zip", format!("the zip file cannot be used ({why})"))
        .arg("why", why)
}

/// Unpacks the history files of the zip at `zip` into `dir` (a file's folder inside the zip
/// does not matter), at most [`MAX_UNZIPPED`] bytes in all, then removes the zip. Answers the
/// files unpacked and the names it does not know (a Mac's `__MACOSX/` and dot files aside).
/// Blocking: call it from `spawn_blocking`.
pub fn unzip(zip: &Path, dir: &Path, known: &[&str]) -> AppResult<(Vec<String>, Vec<String>)> {
    let file = File::open(zip).map_err(|e| io_error(zip, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|_| bad_zip("unreadable"))?;
    let (mut files, mut unknown) = (Vec::new(), Vec::new());
    let mut left = MAX_UNZIPPED;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| bad_zip("unreadable"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(|_| bad_zip("unreadable"))?.to_string();
        let base = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_lowercase();
        if base.is_empty() || base.starts_with('.') || name.starts_with("__MACOSX/") {
            continue;
        }
        let Some(known) = known.iter().find(|f| **f == base) else {
            unknown.push(base);
            continue;
        };
        if files.iter().any(|f| f == known) {
            return Err(bad_zip("twice"));
        }
        let path = dir.join(known);
        let mut out = File::create(&path).map_err(|e| io_error(&path, e))?;
        let n = std::io::copy(&mut (&mut entry).take(left + 1), &mut out)
            .map_err(|_| bad_zip("unreadable"))?;
        if n > left {
            return Err(bad_zip("too_large"));
        }
        left -= n;
        files.push((*known).to_string());
    }
    let _ = std::fs::remove_file(zip);
    Ok((files, unknown))
}
