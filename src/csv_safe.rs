//! Cells of every CSV the portal writes are neutralised against spreadsheet formula injection:
//! Excel and WPS run a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a
//! formula, so such a cell gets a leading `'` and shows as text.

use std::borrow::Cow;

/// The cell as it is safe to write.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}
