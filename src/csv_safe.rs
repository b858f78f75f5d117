//! Every CSV the portal writes goes through here, so a cell a user typed (`=HYPERLINK(..)`,
//! `@SUM(..)`, `+cmd|..`) is shown by Excel and WPS as text, never evaluated as a formula
//! (OWASP "CSV injection").
//!
//! Rule: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`,
//! except a plain decimal number (`-3`, `+4.5`), which a spreadsheet reads as that number
//! and nothing else. The import strips that `'` again (`restore`), so an export still imports
//! back unchanged.

use crate::error::{AppError, AppResult};
use std::borrow::Cow;

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `s` is a plain decimal number: optional sign, digits, optional fraction.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The cell as a spreadsheet must show it: prefixed with `'` when it could start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(TRIGGERS) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of `neutralise` for a cell read back from one of our own exports.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(TRIGGERS) && !is_plain_number(rest) => rest,
        _ => cell,
    }
}

/// A CSV writer (UTF-8 with BOM, so Excel shows Chinese) that neutralises every cell: the
/// one way the portal writes a CSV.
pub struct SafeCsv {
    w: csv::Writer<Vec<u8>>,
}

impl Default for SafeCsv {
    fn default() -> Self {
        SafeCsv::new()
    }
}

impl SafeCsv {
    pub fn new() -> SafeCsv {
        SafeCsv {
            w: csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]),
        }
    }

    /// Writes one row, every cell neutralised.
    pub fn row<I, S>(&mut self, cells: I) -> AppResult<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.w.write_record(&cells).map_err(AppError::internal)
    }

    /// The finished file.
    pub fn finish(self) -> AppResult<Vec<u8>> {
        self.w.into_inner().map_err(AppError::internal)
    }
}
