//! The data files under `seed/`, compiled into the binary and parsed into typed lists.

use crate::error::{AppError, AppResult};
use serde::Deserialize;

const DEPARTMENTS: &str = include_str!("../../seed/departments.json");
const COURSES: &str = include_str!("../../seed/courses.csv");
const NAMES: &str = include_str!("../../seed/names.json");
const PLACES: &str = include_str!("../../seed/places.json");
const GRADING_SCALE: &str = include_str!("../../seed/grading_scale.json");

/// Course sets are kept as bitsets of this many bits per student.
pub const MAX_COURSES: usize = 256;

#[derive(Debug, Deserialize)]
pub struct Department {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Relative share of the student body.
    pub student_weight: f64,
    pub male_share: f64,
    pub majors: Vec<Major>,
}

#[derive(Debug, Deserialize)]
pub struct Major {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Who must take a course in its semester.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience {
    /// Every student.
    All,
    /// Students of the owning department.
    Major,
    /// Students of the listed departments (indexes into `Catalog::departments`).
    Departments(Vec<usize>),
    /// Anyone from `semester` on, by choice.
    Elective,
}

#[derive(Debug)]
pub struct Course {
    pub code: String,
    pub dept: usize,
    pub title_zh: String,
    pub title_en: String,
    pub credits: f64,
    /// 1 (easy) to 5 (hard).
    pub difficulty: f64,
    pub audience: Audience,
    /// The semester (1-8) in which it is taken; for electives, the earliest one.
    pub semester: i64,
    /// (course index, minimum score)
    pub prerequisites: Vec<(usize, f64)>,
}

impl Course {
    /// Whether a student of department `dept` must take this course in its semester.
    pub fn required_for(&self, dept: usize) -> bool {
        match &self.audience {
            Audience::All => true,
            Audience::Major => self.dept == dept,
            Audience::Departments(list) => list.contains(&dept),
            Audience::Elective => false,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Surname {
    pub zh: String,
    pub pinyin: String,
    pub weight: f64,
}

#[derive(Debug, Deserialize)]
pub struct GivenChar {
    pub zh: String,
    pub pinyin: String,
    /// "m", "f" or "n" (either)
    pub gender: String,
}

#[derive(Debug, Deserialize)]
pub struct Names {
    pub surnames: Vec<Surname>,
    pub given: Vec<GivenChar>,
}

#[derive(Debug, Deserialize)]
pub struct Region {
    /// The six-digit administrative code that starts a national id.
    pub code: String,
    pub address: String,
}

#[derive(Debug, Deserialize)]
pub struct Places {
    pub regions: Vec<Region>,
    pub streets: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Band {
    pub min_score: f64,
    pub letter: String,
    pub points: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scale {
    pub name: String,
    pub pass_mark: f64,
    /// Sorted by `min_score`, highest first, after loading.
    pub bands: Vec<Band>,
}

impl Scale {
    /// The index into `bands` of the band a score falls in.
    pub fn band_of(&self, score: f64) -> usize {
        self.bands
            .iter()
            .position(|b| score >= b.min_score)
            .unwrap_or(self.bands.len().saturating_sub(1))
    }

    pub fn sorted(mut self) -> AppResult<Self> {
        self.bands
            .sort_by(|a, b| b.min_score.total_cmp(&a.min_score));
        if self.bands.is_empty() {
            return Err(AppError::internal(format!(
                "grading scale {} has no bands",
                self.name
            )));
        }
        Ok(self)
    }
}

/// Everything the generator reads from `seed/`.
pub struct Catalog {
    pub departments: Vec<Department>,
    pub courses: Vec<Course>,
    pub names: Names,
    pub places: Places,
    pub scale: Scale,
}

fn bad(file: &str, what: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("seed/{file}: {what}"))
}

impl Catalog {
    pub fn load() -> AppResult<Self> {
        let departments: Vec<Department> =
            serde_json::from_str(DEPARTMENTS).map_err(|e| bad("departments.json", e))?;
        if departments.is_empty()
            || departments
                .iter()
                .any(|d| d.majors.is_empty() || d.student_weight <= 0.0)
        {
            return Err(bad(
                "departments.json",
                "every department needs majors and a positive student_weight",
            ));
        }
        let names: Names = serde_json::from_str(NAMES).map_err(|e| bad("names.json", e))?;
        if names.surnames.is_empty()
            || ["m", "f"].iter().any(|g| {
                !names
                    .given
                    .iter()
                    .any(|c| c.gender == *g || c.gender == "n")
            })
        {
            return Err(bad(
                "names.json",
                "needs surnames and given-name characters for both genders",
            ));
        }
        let places: Places = serde_json::from_str(PLACES).map_err(|e| bad("places.json", e))?;
        if places.regions.is_empty()
            || places.streets.is_empty()
            || places.regions.iter().any(|r| r.code.len() != 6)
        {
            return Err(bad(
                "places.json",
                "needs regions with six-digit codes and streets",
            ));
        }
        let scale: Scale =
            serde_json::from_str(GRADING_SCALE).map_err(|e| bad("grading_scale.json", e))?;
        let scale = scale.sorted()?;
        let courses = parse_courses(&departments)?;
        Ok(Catalog {
            departments,
            courses,
            names,
            places,
            scale,
        })
    }
}

fn parse_courses(departments: &[Department]) -> AppResult<Vec<Course>> {
    let file = "courses.csv";
    let dept_index = |code: &str, line: usize| {
        departments
            .iter()
            .position(|d| d.code == code)
            .ok_or_else(|| bad(file, format!("line {line}: unknown department {code}")))
    };
    let mut reader = csv::Reader::from_reader(COURSES.as_bytes());
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for rec in reader.records() {
        rows.push(rec.map_err(|e| bad(file, e))?);
    }
    let codes: Vec<String> = rows
        .iter()
        .map(|r| r.get(0).unwrap_or_default().trim().to_string())
        .collect();
    let mut courses = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        let field = |n: usize| {
            r.get(n)
                .map(str::trim)
                .ok_or_else(|| bad(file, format!("line {line}: too few fields")))
        };
        let number = |n: usize| -> AppResult<f64> {
            let v = field(n)?;
            v.parse::<f64>()
                .map_err(|_| bad(file, format!("line {line}: {v:?} is not a number")))
        };
        let credits = number(4)?;
        let difficulty = number(5)?;
        let semester = number(7)? as i64;
        if !(0.0..=5.0).contains(&credits)
            || !(1.0..=5.0).contains(&difficulty)
            || !(1..=8).contains(&semester)
        {
            return Err(bad(
                file,
                format!("line {line}: credits 0-5, difficulty 1-5 and semester 1-8 expected"),
            ));
        }
        let dept = dept_index(field(1)?, line)?;
        let audience = match field(6)? {
            "all" => Audience::All,
            "major" => Audience::Major,
            "elective" => Audience::Elective,
            list => Audience::Departments(
                list.split('|')
                    .map(|c| dept_index(c.trim(), line))
                    .collect::<AppResult<Vec<_>>>()?,
            ),
        };
        let mut prerequisites = Vec::new();
        for p in field(8)?
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (code, min) = p.split_once(':').unwrap_or((p, "60"));
            let idx = codes
                .iter()
                .position(|c| c == code)
                .ok_or_else(|| bad(file, format!("line {line}: unknown prerequisite {code}")))?;
            let min = min
                .parse::<f64>()
                .map_err(|_| bad(file, format!("line {line}: bad minimum score {min}")))?;
            prerequisites.push((idx, min));
        }
        if codes[..i].contains(&codes[i]) || codes[i].is_empty() {
            return Err(bad(
                file,
                format!("line {line}: empty or repeated course code {}", codes[i]),
            ));
        }
        courses.push(Course {
            code: codes[i].clone(),
            dept,
            title_zh: field(2)?.to_string(),
            title_en: field(3)?.to_string(),
            credits,
            difficulty,
            audience,
            semester,
            prerequisites,
        });
    }
    if courses.is_empty() || courses.len() > MAX_COURSES {
        return Err(bad(
            file,
            format!("between 1 and {MAX_COURSES} courses expected"),
        ));
    }
    Ok(courses)
}
