//! Reading any CSV into a [`Dataset`]: separator sniffing, numeric detection, one-hot encoding
//! of text columns, mean imputation, and a target defined by a class value or a comparison.

use super::{Dataset, MlError};

/// Values read as missing in any column.
const MISSING: [&str; 6] = ["", "na", "n/a", "nan", "null", "?"];
/// A text column with more distinct values than this is left out (an identifier or free text).
pub const MAX_LEVELS: usize = 50;

fn is_missing(v: &str) -> bool {
    MISSING.contains(&v.trim().to_ascii_lowercase().as_str())
}

fn number(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A number as people type them in spreadsheets: `12.5`, or `12,5` with a decimal comma.
fn lenient_number(v: &str) -> Option<f64> {
    let v = v.trim();
    number(v).or_else(|| {
        let (int, frac) = v.split_once(',')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let int_ok = digits(int.strip_prefix('-').unwrap_or(int));
        if int_ok && digits(frac) {
            number(&format!("{int}.{frac}"))
        } else {
            None
        }
    })
}

/// A column is numeric when at least this share of its present cells are numbers; the rest are
/// read as missing and reported.
const NUMERIC_SHARE: f64 = 0.9;

/// Decodes a file's bytes: UTF-8 (with or without BOM), else GBK; anything else is refused
/// with what to do about it.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), MlError> {
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(MlError::Invalid("the file is empty".into()));
    }
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        return Err(MlError::Invalid(
            "the file is UTF-16, which cannot be read; save it as CSV in UTF-8".into(),
        ));
    }
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok((s.to_string(), "UTF-8"));
    }
    match encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(body) {
        Some(s) => Ok((s.into_owned(), "GBK")),
        None => Err(MlError::Invalid(
            "the file is neither UTF-8 nor GBK text; save it as CSV in UTF-8".into(),
        )),
    }
}

/// A CSV file as text cells.
///
/// NOTE: the cells are kept in one string with their end offsets, not one `String` each: a
/// 200,000-row, 37-column file is 7.4 million cells, which as `String`s cost about 400 MB
/// (24 bytes each plus an allocation) and in one buffer about the file's size plus 4 bytes a
/// cell.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    /// Every cell's text, row by row.
    text: String,
    /// The end of each cell in `text` (cell `r · width + c`); its start is the previous end.
    ends: Vec<u32>,
    /// How the file's bytes were read (`UTF-8` or `GBK`).
    pub encoding: &'static str,
}

/// Which rows are positive: a class value (`Dropout`, `yes`, `1`) or a comparison with a
/// number (`<10`, `>=10`, `==0`, `!=0`).
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Value(String),
    Cmp(Op, f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl std::str::FromStr for Spec {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Spec, MlError> {
        let s = s.trim();
        for (text, op) in [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if let Some(rest) = s.strip_prefix(text) {
                return number(rest).map(|n| Spec::Cmp(op, n)).ok_or_else(|| {
                    MlError::Invalid(format!(
                        "--positive {s:?}: a comparison needs a number after {text}, e.g. <10"
                    ))
                });
            }
        }
        if s.is_empty() {
            return Err(MlError::Invalid(
                "--positive is empty: give a class value (Dropout) or a comparison (<10)".into(),
            ));
        }
        Ok(Spec::Value(s.to_string()))
    }
}

impl std::fmt::Display for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spec::Value(v) => write!(f, "= {v}"),
            Spec::Cmp(op, n) => {
                let o = match op {
                    Op::Lt => "<",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    Op::Eq => "==",
                    Op::Ne => "!=",
                };
                write!(f, "{o} {n}")
            }
        }
    }
}

impl Spec {
    /// Whether a cell is positive; `None` when it is missing, or not a number for a comparison.
    pub fn test(&self, cell: &str) -> Option<bool> {
        if is_missing(cell) {
            return None;
        }
        match self {
            Spec::Value(v) => {
                let cell = cell.trim();
                match (number(cell), number(v)) {
                    (Some(a), Some(b)) => Some(a == b),
                    _ => Some(cell == v),
                }
            }
            Spec::Cmp(op, n) => {
                let x = number(cell)?;
                Some(match op {
                    Op::Lt => x < *n,
                    Op::Le => x <= *n,
                    Op::Gt => x > *n,
                    Op::Ge => x >= *n,
                    Op::Eq => x == *n,
                    Op::Ne => x != *n,
                })
            }
        }
    }
}

impl Table {
    /// Reads a CSV file. `sep` None: the most frequent of `;`, `,`, tab in the header line.
    pub fn read(path: &std::path::Path, sep: Option<u8>) -> Result<Table, MlError> {
        let mut bytes = std::fs::read(path)
            .map_err(|e| MlError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        // UTF-8 without a copy of the file; anything else through `decode`
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            bytes.drain(..3);
        }
        let (text, encoding) = match String::from_utf8(bytes) {
            Ok(s) if !s.trim().is_empty() => (s, "UTF-8"),
            Ok(s) => decode(s.as_bytes())?,
            Err(e) => decode(e.as_bytes())?,
        };
        let mut table = Table::parse(&text, sep)?;
        table.encoding = encoding;
        Ok(table)
    }

    pub fn parse(text: &str, sep: Option<u8>) -> Result<Table, MlError> {
        if text.trim().is_empty() {
            return Err(MlError::Invalid("the file is empty".into()));
        }
        let sep = sep.unwrap_or_else(|| {
            let head = text.lines().next().unwrap_or("");
            [b';', b',', b'\t']
                .into_iter()
                .max_by_key(|c| head.bytes().filter(|b| b == c).count())
                .unwrap_or(b',')
        });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sep)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| MlError::Invalid(format!("cannot read the header line: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.len() < 2 {
            return Err(MlError::Invalid(format!(
                "the header has {} column(s); is the separator right (--sep)?",
                headers.len()
            )));
        }
        let mut cells = String::new();
        let mut ends: Vec<u32> = Vec::new();
        let mut rec = csv::StringRecord::new();
        let mut i = 0usize;
        loop {
            let more = reader
                .read_record(&mut rec)
                .map_err(|e| MlError::Invalid(format!("line {}: {e}", i + 2)))?;
            if !more {
                break;
            }
            i += 1;
            let i = i - 1;
            if rec.len() == 1 && rec.get(0).is_some_and(|c| c.trim().is_empty()) {
                continue; // a blank line
            }
            if rec.len() != headers.len() {
                return Err(MlError::Invalid(format!(
                    "line {} has {} fields but the header has {}",
                    i + 2,
                    rec.len(),
                    headers.len()
                )));
            }
            for c in rec.iter() {
                cells.push_str(c);
                ends.push(u32::try_from(cells.len()).map_err(|_| {
                    MlError::Invalid("the file is too big (over 4 GB of cells)".into())
                })?);
            }
        }
        if ends.is_empty() {
            return Err(MlError::Empty);
        }
        Ok(Table {
            headers,
            text: cells,
            ends,
            encoding: "UTF-8",
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.ends.len() / self.headers.len().max(1)
    }

    /// Whether there are no data rows (never, for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The text of row `r`'s cell in column `c` (empty outside the table).
    pub fn cell(&self, r: usize, c: usize) -> &str {
        let w = self.headers.len();
        if c >= w {
            return "";
        }
        let k = r * w + c;
        let Some(&end) = self.ends.get(k) else {
            return "";
        };
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// The index of a column by name (exact, then case-insensitive).
    pub fn column(&self, name: &str) -> Result<usize, MlError> {
        let name = name.trim();
        self.headers
            .iter()
            .position(|h| h == name)
            .or_else(|| {
                self.headers
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| {
                MlError::Invalid(format!(
                    "no column {name:?}; the columns are: {}",
                    self.headers.join(", ")
                ))
            })
    }
}

/// A table turned into a dataset.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub data: Dataset,
    /// The table row of each dataset row (rows with a missing target are left out).
    pub source_rows: Vec<usize>,
    /// What was done that the user should know (left-out columns and rows, imputation, cells
    /// that are not numbers).
    pub notes: Vec<String>,
    /// The columns that are not features (the target and `drop`).
    skip: Vec<bool>,
}

impl Encoded {
    /// The training and test datasets of one fold, with the encoding (which columns are
    /// numbers, their means, the text levels, which columns are constant) learned from the
    /// training rows alone, so nothing about the test rows leaks into what the model sees.
    /// `train` and `test` are positions in [`Encoded::data`].
    pub fn fold(
        &self,
        table: &Table,
        train: &[usize],
        test: &[usize],
    ) -> Result<(Dataset, Dataset), MlError> {
        let rows =
            |pos: &[usize]| -> Vec<usize> { pos.iter().map(|&i| self.source_rows[i]).collect() };
        let (train_rows, test_rows) = (rows(train), rows(test));
        let (encoder, _) = Encoder::fit(table, &train_rows, &self.skip);
        if encoder.names.is_empty() {
            return Err(MlError::NoFeatures);
        }
        let y = |pos: &[usize]| -> Vec<bool> { pos.iter().map(|&i| self.data.y[i]).collect() };
        Ok((
            Dataset {
                feature_names: encoder.names.clone(),
                x: encoder.transform(table, &train_rows),
                y: y(train),
            },
            Dataset {
                feature_names: encoder.names.clone(),
                x: encoder.transform(table, &test_rows),
                y: y(test),
            },
        ))
    }
}

/// How one column becomes features.
#[derive(Debug, Clone)]
enum Plan {
    /// Numbers; a missing (or unreadable) cell becomes `mean`, and `flag` adds a
    /// `<col> missing` 0/1 column.
    Numeric { col: usize, mean: f64, flag: bool },
    /// One 0/1 column per level.
    Levels { col: usize, levels: Vec<String> },
}

/// Column plans learned from a set of rows, applied to any rows.
#[derive(Debug, Clone)]
struct Encoder {
    plans: Vec<Plan>,
    names: Vec<String>,
}

impl Encoder {
    /// Learns every column's plan from `rows` (table rows); notes say what was left out,
    /// imputed or unreadable.
    fn fit(table: &Table, rows: &[usize], skip: &[bool]) -> (Encoder, Vec<String>) {
        let mut notes = Vec::new();
        let mut enc = Encoder {
            plans: Vec::new(),
            names: Vec::new(),
        };
        for (j, header) in table.headers.iter().enumerate() {
            if skip[j] {
                continue;
            }
            let cells: Vec<(usize, &str)> = rows.iter().map(|&i| (i, table.cell(i, j))).collect();
            let present: Vec<(usize, &str)> = cells
                .iter()
                .copied()
                .filter(|(_, c)| !is_missing(c))
                .collect();
            let numbers: Vec<f64> = present
                .iter()
                .filter_map(|(_, c)| lenient_number(c))
                .collect();
            let numeric =
                !numbers.is_empty() && numbers.len() as f64 >= NUMERIC_SHARE * present.len() as f64;
            if numeric {
                let bad: Vec<(usize, &str)> = present
                    .iter()
                    .copied()
                    .filter(|(_, c)| lenient_number(c).is_none())
                    .collect();
                let mean = numbers.iter().sum::<f64>() / numbers.len() as f64;
                let missing = cells.len() - numbers.len();
                let first = numbers[0];
                if numbers.iter().all(|v| *v == first) {
                    notes.push(format!("column {header:?} is constant, left out"));
                    continue;
                }
                if !bad.is_empty() {
                    let examples: Vec<String> = bad
                        .iter()
                        .take(3)
                        .map(|(i, c)| format!("line {}: {c:?}", i + 2))
                        .collect();
                    notes.push(format!(
                        "column {header:?}: {} cell(s) are not numbers and were read as missing ({}{})",
                        bad.len(),
                        examples.join(", "),
                        if bad.len() > 3 { ", …" } else { "" }
                    ));
                }
                enc.names.push(header.clone());
                if missing > 0 {
                    notes.push(format!(
                        "column {header:?}: {missing} missing value(s) set to the mean"
                    ));
                    enc.names.push(format!("{header} missing"));
                }
                enc.plans.push(Plan::Numeric {
                    col: j,
                    mean,
                    flag: missing > 0,
                });
            } else {
                let mut seen = std::collections::BTreeSet::new();
                for (_, c) in &cells {
                    let level = if is_missing(c) { "(missing)" } else { c.trim() };
                    if !seen.contains(level) {
                        seen.insert(level);
                    }
                }
                let mut levels: Vec<String> = seen.into_iter().map(str::to_string).collect();
                if levels.len() < 2 {
                    notes.push(format!("column {header:?} is constant, left out"));
                    continue;
                }
                if levels.len() > MAX_LEVELS {
                    notes.push(format!(
                        "column {header:?} has {} distinct text values (over {MAX_LEVELS}), left out",
                        levels.len()
                    ));
                    continue;
                }
                if levels.len() == 2 {
                    levels.remove(0);
                }
                for level in &levels {
                    enc.names.push(format!("{header}={level}"));
                }
                enc.plans.push(Plan::Levels { col: j, levels });
            }
        }
        (enc, notes)
    }

    /// The feature rows of `rows` (table rows).
    fn transform(&self, table: &Table, rows: &[usize]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|&i| {
                let mut x = Vec::with_capacity(self.names.len());
                for plan in &self.plans {
                    match plan {
                        Plan::Numeric { col, mean, flag } => {
                            let cell = table.cell(i, *col);
                            let v = if is_missing(cell) {
                                None
                            } else {
                                lenient_number(cell)
                            };
                            x.push(v.unwrap_or(*mean));
                            if *flag {
                                x.push(if v.is_none() { 1.0 } else { 0.0 });
                            }
                        }
                        Plan::Levels { col, levels } => {
                            let cell = table.cell(i, *col);
                            let level = if is_missing(cell) {
                                "(missing)"
                            } else {
                                cell.trim()
                            };
                            x.extend(levels.iter().map(|l| if l == level { 1.0 } else { 0.0 }));
                        }
                    }
                }
                x
            })
            .collect()
    }
}

/// Encodes every column except the target and `drop`: a column of which at least
/// [`NUMERIC_SHARE`] of the present cells are numbers (`12.5` or `12,5`) is numeric (other cells
/// are reported and read as missing; missing values → the column mean, plus a `<col> missing`
/// 0/1 column); any other column is text, one-hot encoded (two levels → one 0/1 column for the
/// second level in sorted order; more → one column per level; over [`MAX_LEVELS`] levels → left
/// out). A constant column is left out. The plan is learned from all rows here; cross-validation
/// relearns it on each fold's training rows ([`Encoded::fold`]).
pub fn encode(
    table: &Table,
    target: &str,
    positive: &Spec,
    drop: &[String],
) -> Result<Encoded, MlError> {
    let t = table.column(target)?;
    let mut skip = vec![false; table.headers.len()];
    skip[t] = true;
    for d in drop.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        skip[table.column(d)?] = true;
    }
    let mut notes = Vec::new();
    let mut source_rows = Vec::new();
    let mut y = Vec::new();
    for i in 0..table.len() {
        let cell = table.cell(i, t);
        match positive.test(cell) {
            Some(v) => {
                source_rows.push(i);
                y.push(v);
            }
            None if is_missing(cell) => {}
            None => {
                return Err(MlError::Invalid(format!(
                    "line {}: target {target:?} is {:?}, not a number as \"{positive}\" needs",
                    i + 2,
                    cell
                )));
            }
        }
    }
    let dropped = table.len() - source_rows.len();
    if dropped > 0 {
        notes.push(format!("{dropped} row(s) with a missing target left out"));
    }
    if source_rows.is_empty() {
        return Err(MlError::Empty);
    }
    if table.encoding != "UTF-8" {
        notes.push(format!("the file was read as {}", table.encoding));
    }
    let (encoder, found) = Encoder::fit(table, &source_rows, &skip);
    notes.extend(found);
    if encoder.names.is_empty() {
        return Err(MlError::NoFeatures);
    }
    let x = encoder.transform(table, &source_rows);
    Ok(Encoded {
        data: Dataset {
            feature_names: encoder.names,
            x,
            y,
        },
        source_rows,
        notes,
        skip,
    })
}
