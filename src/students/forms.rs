//! The fields of a student record as people type them (pages, JSON, CSV rows), parsed and
//! validated into `StudentInput`. A record's canonical text form (`Canonical`) is what the
//! export writes, what the history shows and what decides "unchanged" on re-import.

use crate::entity::students::StudentStatus;
use crate::entity::{departments, majors, students, users};
use crate::error::AppResult;
use chrono::{NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use std::collections::HashMap;

/// Field names in export/import order, each with the header names accepted on import.
pub const FIELDS: [(&str, &[&str]); 14] = [
    (
        "student_no",
        &["student_no", "学号", "student_number", "number"],
    ),
    (
        "national_id",
        &["national_id", "身份证号", "身份证", "id_card"],
    ),
    ("name_zh", &["name_zh", "姓名", "中文名", "name"]),
    (
        "name_en",
        &["name_en", "拼音", "英文名", "拼音名", "pinyin"],
    ),
    ("gender", &["gender", "性别", "sex"]),
    (
        "birth_date",
        &["birth_date", "出生日期", "生日", "birthday"],
    ),
    ("phone", &["phone", "电话", "手机", "手机号", "mobile"]),
    ("email", &["email", "邮箱", "电子邮件", "e_mail"]),
    ("address", &["address", "地址", "住址"]),
    ("department", &["department", "院系", "学院"]),
    ("major", &["major", "专业"]),
    ("cohort", &["cohort", "年级", "入学年份", "cohort_year"]),
    ("status", &["status", "状态", "学籍状态"]),
    ("advisor", &["advisor", "导师", "辅导员"]),
];

/// Columns an export writes that an import reads past (derived, never typed in).
pub const DERIVED: [(&str, &[&str]); 1] = [(
    "lifecycle_stage",
    &["lifecycle_stage", "生命周期阶段", "阶段"],
)];

/// Fields a student may be allowed to edit themselves (the administrator picks among these).
pub const SELF_EDITABLE: [&str; 4] = ["phone", "email", "address", "name_en"];

pub fn field_index(name: &str) -> Option<usize> {
    FIELDS.iter().position(|(f, _)| *f == name)
}

/// A record in canonical text form, one value per `FIELDS` entry.
pub type Canonical = [String; 14];

/// One problem with one field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

fn err(field: &'static str, code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        code,
        message: message.into(),
    }
}

/// Validated input, with names resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentInput {
    pub student_no: String,
    pub national_id: Option<String>,
    pub name_zh: String,
    pub name_en: String,
    pub gender: String,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub department_id: i64,
    pub major_id: i64,
    pub cohort_year: i64,
    pub status: StudentStatus,
    pub advisor_id: Option<i64>,
}

/// The canonical text form of a record's fields, read the same way from a stored record and
/// from validated input (the two have the same fields).
macro_rules! canonical {
    ($lookups:expr, $s:expr) => {{
        let (l, s) = ($lookups, $s);
        [
            s.student_no.clone(),
            s.national_id.clone().unwrap_or_default(),
            s.name_zh.clone(),
            s.name_en.clone(),
            s.gender.clone(),
            s.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            s.phone.clone().unwrap_or_default(),
            s.email.clone().unwrap_or_default(),
            s.address.clone().unwrap_or_default(),
            l.department_code(s.department_id),
            l.major_code(s.major_id),
            s.cohort_year.to_string(),
            s.status.as_str().to_string(),
            l.advisor_name(s.advisor_id),
        ]
    }};
}

/// Majors, departments and advisors, loaded once so parsing many rows needs no queries.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    majors: HashMap<i64, majors::Model>,
    major_by_key: HashMap<String, Option<i64>>,
    departments: HashMap<i64, departments::Model>,
    advisors: HashMap<i64, String>,
    advisor_by_name: HashMap<String, i64>,
}

impl Lookups {
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Lookups> {
        let majors = majors::Entity::find().all(db).await?;
        let departments = departments::Entity::find().all(db).await?;
        let advisors: Vec<(i64, String)> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .column(users::Column::Username)
            .filter(users::Column::Kind.ne("student"))
            .into_tuple()
            .all(db)
            .await?;
        let mut major_by_key: HashMap<String, Option<i64>> = HashMap::new();
        for m in &majors {
            major_by_key.insert(m.code.to_lowercase(), Some(m.id));
        }
        for m in &majors {
            for name in [m.name_zh.to_lowercase(), m.name_en.to_lowercase()] {
                // A name two majors share is ambiguous: only the code identifies them.
                major_by_key
                    .entry(name)
                    .and_modify(|v| {
                        if *v != Some(m.id) {
                            *v = None
                        }
                    })
                    .or_insert(Some(m.id));
            }
        }
        Ok(Lookups {
            major_by_key,
            majors: majors.into_iter().map(|m| (m.id, m)).collect(),
            departments: departments.into_iter().map(|d| (d.id, d)).collect(),
            advisor_by_name: advisors
                .iter()
                .map(|(i, u)| (u.to_lowercase(), *i))
                .collect(),
            advisors: advisors.into_iter().collect(),
        })
    }

    pub fn major_code(&self, id: i64) -> String {
        self.majors
            .get(&id)
            .map(|m| m.code.clone())
            .unwrap_or_default()
    }
    /// A major's name in `lang` (the Chinese name in Chinese, the English one in English).
    pub fn major_name(&self, id: i64, lang: crate::i18n::Lang) -> String {
        self.majors
            .get(&id)
            .map(|m| match lang {
                crate::i18n::Lang::Zh => m.name_zh.clone(),
                crate::i18n::Lang::En => m.name_en.clone(),
            })
            .unwrap_or_default()
    }
    /// A department's name in `lang`.
    pub fn department_name(&self, id: i64, lang: crate::i18n::Lang) -> String {
        self.departments
            .get(&id)
            .map(|d| match lang {
                crate::i18n::Lang::Zh => d.name_zh.clone(),
                crate::i18n::Lang::En => d.name_en.clone(),
            })
            .unwrap_or_default()
    }
    pub fn department_code(&self, id: i64) -> String {
        self.departments
            .get(&id)
            .map(|d| d.code.clone())
            .unwrap_or_default()
    }
    pub fn advisor_name(&self, id: Option<i64>) -> String {
        id.and_then(|i| self.advisors.get(&i).cloned())
            .unwrap_or_default()
    }
    pub fn majors(&self) -> Vec<&majors::Model> {
        let mut v: Vec<_> = self.majors.values().collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }
    pub fn departments(&self) -> Vec<&departments::Model> {
        let mut v: Vec<_> = self.departments.values().collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }

    /// The canonical text form of a stored record.
    pub fn canonical(&self, s: &students::Model) -> Canonical {
        canonical!(self, s)
    }

    /// The canonical text form of validated input.
    pub fn canonical_input(&self, s: &StudentInput) -> Canonical {
        canonical!(self, s)
    }

    /// Parses and validates raw values (indexed like `FIELDS`; `None` = column absent).
    /// Every problem is returned, not only the first.
    pub fn parse(&self, raw: &[Option<String>; 14]) -> Result<StudentInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let get = |name: &str| -> String {
            field_index(name)
                .and_then(|i| raw[i].as_deref())
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let opt = |v: String| if v.is_empty() { None } else { Some(v) };

        let student_no = get("student_no");
        if student_no.is_empty() {
            errors.push(err("student_no", "required", "student number is required"));
        } else if !(4..=20).contains(&student_no.chars().count())
            || !student_no
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            errors.push(err(
                "student_no",
                "invalid",
                "student number must be 4–20 letters, digits or '-'",
            ));
        }
        let national_id = opt(get("national_id").to_uppercase());
        if let Some(n) = &national_id {
            let ok = (n.len() == 18 || n.len() == 15)
                && n.chars()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (i == n.len() - 1 && c == 'X'));
            if !ok {
                errors.push(err(
                    "national_id",
                    "invalid",
                    "national id must be 18 digits (the last may be X) or 15 digits",
                ));
            }
        }
        let name_zh = get("name_zh");
        if name_zh.is_empty() {
            errors.push(err("name_zh", "required", "name is required"));
        } else if name_zh.chars().count() > 50 {
            errors.push(err(
                "name_zh",
                "too_long",
                "name is longer than 50 characters",
            ));
        }
        let name_en = get("name_en");
        // NOTE: a zero-width or control character makes a name look right and never match a
        // search (`吴\u{200b}升`).
        for (field, value) in [("name_zh", &name_zh), ("name_en", &name_en)] {
            if crate::auth::username::has_invisible(value) {
                errors.push(err(
                    field,
                    "invisible",
                    "the name contains an invisible or control character (such as a zero-width space); type it again without it",
                ));
            }
        }
        if name_en.chars().count() > 100 {
            errors.push(err(
                "name_en",
                "too_long",
                "pinyin name is longer than 100 characters",
            ));
        }
        let gender = match get("gender").to_lowercase().as_str() {
            "" => String::new(),
            "m" | "male" | "男" => "M".to_string(),
            "f" | "female" | "女" => "F".to_string(),
            other => {
                errors.push(err(
                    "gender",
                    "invalid",
                    format!("gender '{other}' is not M, F, 男 or 女"),
                ));
                String::new()
            }
        };
        let birth_raw = get("birth_date");
        let birth_date = if birth_raw.is_empty() {
            None
        } else {
            match ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(&birth_raw, f).ok())
            {
                Some(d)
                    if d > NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
                        && d <= Utc::now().date_naive() =>
                {
                    Some(d)
                }
                _ => {
                    errors.push(err(
                        "birth_date",
                        "bad_date",
                        format!("'{birth_raw}' is not a date (YYYY-MM-DD) between 1900 and today"),
                    ));
                    None
                }
            }
        };
        let phone = opt(get("phone"));
        if let Some(p) = &phone
            && (!(5..=20).contains(&p.chars().count())
                || !p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)))
        {
            errors.push(err(
                "phone",
                "invalid",
                "phone must be 5–20 digits, spaces, '+', '-' or brackets",
            ));
        }
        let email = opt(get("email"));
        if let Some(e) = &email {
            let ok = e.len() <= 100
                && !e.contains(char::is_whitespace)
                && e.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                });
            if !ok {
                errors.push(err(
                    "email",
                    "invalid",
                    format!("'{e}' is not an email address"),
                ));
            }
        }
        let address = opt(get("address"));
        if address.as_ref().is_some_and(|a| a.chars().count() > 200) {
            errors.push(err(
                "address",
                "too_long",
                "address is longer than 200 characters",
            ));
        }
        let major_raw = get("major");
        let major = if major_raw.is_empty() {
            errors.push(err("major", "required", "major is required"));
            None
        } else {
            match self.major_by_key.get(&major_raw.to_lowercase()) {
                Some(Some(id)) => self.majors.get(id),
                Some(None) => {
                    errors.push(err(
                        "major",
                        "ambiguous",
                        format!(
                            "major name '{major_raw}' is shared by several majors; use its code"
                        ),
                    ));
                    None
                }
                None => {
                    errors.push(err(
                        "major",
                        "unknown_major",
                        format!("unknown major '{major_raw}'"),
                    ));
                    None
                }
            }
        };
        let dept_raw = get("department");
        if let (Some(m), false) = (major, dept_raw.is_empty()) {
            let matches = self.departments.get(&m.department_id).is_some_and(|d| {
                [&d.code, &d.name_zh, &d.name_en]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&dept_raw))
            });
            if !matches {
                errors.push(err(
                    "department",
                    "wrong_department",
                    format!(
                        "major {} does not belong to department '{dept_raw}'",
                        m.code
                    ),
                ));
            }
        }
        let cohort_raw = get("cohort");
        let cohort_year = if cohort_raw.is_empty() {
            errors.push(err("cohort", "required", "cohort year is required"));
            0
        } else {
            match cohort_raw.parse::<i64>() {
                Ok(y) if (1950..=2100).contains(&y) => y,
                Ok(_) => {
                    errors.push(err(
                        "cohort",
                        "out_of_range",
                        "cohort year must be 1950–2100",
                    ));
                    0
                }
                Err(_) => {
                    errors.push(err(
                        "cohort",
                        "not_a_number",
                        format!("cohort '{cohort_raw}' is not a whole number"),
                    ));
                    0
                }
            }
        };
        let status = match get("status").to_lowercase().as_str() {
            "" | "active" | "在读" | "在校" => StudentStatus::Active,
            "suspended" | "休学" => StudentStatus::Suspended,
            "withdrawn" | "退学" => StudentStatus::Withdrawn,
            "graduated" | "毕业" | "已毕业" => StudentStatus::Graduated,
            other => {
                errors.push(err(
                    "status",
                    "invalid",
                    format!("status '{other}' is not active, suspended, withdrawn or graduated"),
                ));
                StudentStatus::Active
            }
        };
        let advisor_raw = get("advisor");
        let advisor_id = if advisor_raw.is_empty() {
            None
        } else {
            match self.advisor_by_name.get(&advisor_raw.to_lowercase()) {
                Some(id) => Some(*id),
                None => {
                    errors.push(err(
                        "advisor",
                        "unknown_advisor",
                        format!("no staff account named '{advisor_raw}'"),
                    ));
                    None
                }
            }
        };
        match (errors.is_empty(), major) {
            (true, Some(m)) => Ok(StudentInput {
                student_no,
                national_id,
                name_zh,
                name_en,
                gender,
                birth_date,
                phone,
                email,
                address,
                department_id: m.department_id,
                major_id: m.id,
                cohort_year,
                status,
                advisor_id,
            }),
            _ => Err(errors),
        }
    }
}

/// Raw values from a name → value map (a page form or JSON body).
pub fn raw_from_map(values: &HashMap<String, String>) -> [Option<String>; 14] {
    std::array::from_fn(|i| values.get(FIELDS[i].0).cloned())
}

/// Raw values taken from a stored record, with `changes` laid over it (for partial edits).
pub fn raw_with_changes(
    current: &Canonical,
    changes: &HashMap<String, String>,
) -> [Option<String>; 14] {
    std::array::from_fn(|i| {
        Some(
            changes
                .get(FIELDS[i].0)
                .cloned()
                .unwrap_or_else(|| current[i].clone()),
        )
    })
}
