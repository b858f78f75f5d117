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

/// A CSV file as text cells.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
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
        let bytes = std::fs::read(path)
            .map_err(|e| MlError::Invalid(format!("cannot read {}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&bytes);
        Table::parse(text.trim_start_matches('\u{feff}'), sep)
    }

    pub fn parse(text: &str, sep: Option<u8>) -> Result<Table, MlError> {
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
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| MlError::Invalid(format!("line {}: {e}", i + 2)))?;
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
            rows.push(rec.iter().map(|c| c.to_string()).collect());
        }
        if rows.is_empty() {
            return Err(MlError::Empty);
        }
        Ok(Table { headers, rows })
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
    /// What was done that the user should know (left-out columns and rows, imputation).
    pub notes: Vec<String>,
}

/// Encodes every column except the target and `drop`: a column whose present values all parse
/// as numbers is numeric (missing values → the column mean, plus a `<col> missing` 0/1 column);
/// any other column is text, one-hot encoded (two levels → one 0/1 column for the second level
/// in sorted order; more → one column per level; over [`MAX_LEVELS`] levels → left out). A
/// constant column is left out.
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
    for (i, row) in table.rows.iter().enumerate() {
        match positive.test(&row[t]) {
            Some(v) => {
                source_rows.push(i);
                y.push(v);
            }
            None if is_missing(&row[t]) => {}
            None => {
                return Err(MlError::Invalid(format!(
                    "line {}: target {target:?} is {:?}, not a number as \"{positive}\" needs",
                    i + 2,
                    row[t]
                )));
            }
        }
    }
    let dropped = table.rows.len() - source_rows.len();
    if dropped > 0 {
        notes.push(format!("{dropped} row(s) with a missing target left out"));
    }
    if source_rows.is_empty() {
        return Err(MlError::Empty);
    }
    let mut names = Vec::new();
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for (j, header) in table.headers.iter().enumerate() {
        if skip[j] {
            continue;
        }
        let cells: Vec<&str> = source_rows
            .iter()
            .map(|&i| table.rows[i][j].as_str())
            .collect();
        let present: Vec<&str> = cells.iter().copied().filter(|c| !is_missing(c)).collect();
        if present.iter().all(|c| number(c).is_some()) && !present.is_empty() {
            let vals: Vec<Option<f64>> = cells.iter().map(|c| number(c)).collect();
            let mean = present.iter().filter_map(|c| number(c)).sum::<f64>() / present.len() as f64;
            let col: Vec<f64> = vals.iter().map(|v| v.unwrap_or(mean)).collect();
            if col.iter().all(|v| *v == col[0]) {
                notes.push(format!("column {header:?} is constant, left out"));
                continue;
            }
            let missing = vals.iter().filter(|v| v.is_none()).count();
            names.push(header.clone());
            cols.push(col);
            if missing > 0 {
                notes.push(format!(
                    "column {header:?}: {missing} missing value(s) set to the mean"
                ));
                names.push(format!("{header} missing"));
                cols.push(
                    vals.iter()
                        .map(|v| if v.is_none() { 1.0 } else { 0.0 })
                        .collect(),
                );
            }
        } else {
            let norm: Vec<String> = cells
                .iter()
                .map(|c| {
                    if is_missing(c) {
                        "(missing)".to_string()
                    } else {
                        c.trim().to_string()
                    }
                })
                .collect();
            let mut levels: Vec<String> = norm.clone();
            levels.sort();
            levels.dedup();
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
            let used = if levels.len() == 2 {
                &levels[1..]
            } else {
                &levels[..]
            };
            for level in used {
                names.push(format!("{header}={level}"));
                cols.push(
                    norm.iter()
                        .map(|v| if v == level { 1.0 } else { 0.0 })
                        .collect(),
                );
            }
        }
    }
    if cols.is_empty() {
        return Err(MlError::NoFeatures);
    }
    let x = (0..source_rows.len())
        .map(|i| cols.iter().map(|c| c[i]).collect())
        .collect();
    Ok(Encoded {
        data: Dataset {
            feature_names: names,
            x,
            y,
        },
        source_rows,
        notes,
    })
}
