//! The types the grade services share: a section being graded, a row as sent, a refused row
//! and how refusals are worded. Below both `service` and `assess`, so neither imports the other
//! for them.

use super::scale::Scale;
use crate::entity::{courses, sections, terms};
use crate::i18n::Lang;
use serde::{Deserialize, Serialize};

/// A section with what grading it needs.
#[derive(Debug, Clone)]
pub struct Section {
    pub model: sections::Model,
    pub course: courses::Model,
    pub term: terms::Model,
    pub scale: Scale,
}

/// One row of a grade set as sent: the student by id or by number, and the score as text or
/// number. `line` is the CSV line or the 1-based position in the list.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct EntryIn {
    #[serde(default)]
    pub student_id: Option<i64>,
    #[serde(default)]
    pub student_no: Option<String>,
    #[serde(default)]
    pub score: Option<serde_json::Value>,
    #[serde(skip)]
    pub line: usize,
}

/// Why one row was refused: where (line, column), which student, and the reason. `column`
/// and `code` are stable names for programs; `column_label`, `student` (the student number,
/// never an internal id), `student_name` and `reason` are for people, in their language.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RowError {
    pub line: usize,
    pub column: String,
    pub column_label: String,
    pub student: String,
    pub student_name: String,
    pub code: String,
    pub reason: String,
}

/// How errors are worded: the reader's language and what they call the two columns (the
/// grid's headings, the CSV file's own header, or the API's field names).
#[derive(Debug, Clone)]
pub struct Labels {
    pub lang: Lang,
    pub student: String,
    pub score: String,
}

impl Labels {
    /// The grid's column headings.
    pub fn grid(lang: Lang) -> Labels {
        Labels {
            lang,
            student: lang.t("grades.student_no"),
            score: lang.t("grades.score"),
        }
    }

    /// The JSON API's field names.
    pub fn api(lang: Lang) -> Labels {
        Labels {
            lang,
            student: "student_no".into(),
            score: "score".into(),
        }
    }

    fn column(&self, column: &str) -> String {
        match column {
            "score" => self.score.clone(),
            "student_no" => self.student.clone(),
            other => other.to_string(),
        }
    }

    /// A translated message with `{name}` placeholders filled.
    pub fn say(&self, key: &str, pairs: &[(&str, String)]) -> String {
        fill(&self.lang.t(key), pairs)
    }

    pub fn error(
        &self,
        line: usize,
        column: &str,
        student: &str,
        student_name: &str,
        code: &str,
        reason: String,
    ) -> RowError {
        RowError {
            line,
            column: column.into(),
            column_label: self.column(column),
            student: student.into(),
            student_name: student_name.into(),
            code: code.into(),
            reason,
        }
    }
}

pub use crate::i18n::fill;
