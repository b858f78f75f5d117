//! Students and teachers as people: names, identity numbers, contact details, cohorts and the
//! hidden traits (ability, engagement, decline) that drive their results.

use super::calendar::{Calendar, TERMS, Ts};
use super::catalog::{Catalog, Names};
use super::rng::{logistic, normal, pick_weighted};
use crate::error::{AppError, AppResult};
use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Withdrawn => "withdrawn",
        }
    }
}

pub struct Person {
    pub name_zh: String,
    pub name_en: String,
    pub male: bool,
}

pub struct Student {
    pub no: String,
    pub person: Person,
    pub birth_date: NaiveDate,
    pub national_id: String,
    pub phone: String,
    pub address: String,
    pub dept: usize,
    pub major: usize,
    pub cohort_year: i32,
    /// The seq of the student's first term; zero or negative for those who began before the
    /// first stored term.
    pub entry_seq: i64,
    pub status: Status,
    pub ability: f64,
    pub engagement: f64,
    /// (first term of the decline, its size in standard deviations of engagement)
    pub decline: Option<(i64, f64)>,
    /// (seq of the term, instant) the student left the university in, if they did (set by the
    /// simulation; the status is then `withdrawn`).
    pub left: Option<(i64, Ts)>,
    /// Whether the student will leave during the current term, after today (never stored).
    pub leaves_later: bool,
}

impl Student {
    /// The student's semester (1 = first) in the term with this seq.
    pub fn semester(&self, seq: i64) -> i64 {
        seq - self.entry_seq + 1
    }

    pub fn studies_in(&self, seq: i64) -> bool {
        seq >= self.entry_seq
            && self.left.is_none_or(|(s, _)| seq <= s)
            && (seq < TERMS as i64 || self.status == Status::Active)
    }

    /// The chance of leaving the university during the term with this seq (or before the next
    /// one): about 2% for most, several times that for a declining student (through their
    /// engagement), higher after failed courses in the term before.
    pub fn leave_chance(&self, seq: i64, failed_last_term: u32) -> f64 {
        logistic(
            -4.4 - 0.8 * self.engagement_in(seq) - 0.4 * self.ability
                + 0.35 * f64::from(failed_last_term.min(3)),
        )
    }

    /// Engagement in the term with this seq, after any decline.
    pub fn engagement_in(&self, seq: i64) -> f64 {
        match self.decline {
            // NOTE: from at most average, so that keen students visibly decline too.
            Some((from, size)) if seq >= from => {
                self.engagement.min(0.0) - size - 0.6 * (seq - from) as f64
            }
            _ => self.engagement,
        }
    }
}

pub fn person(names: &Names, male: bool, rng: &mut ChaCha8Rng) -> AppResult<Person> {
    let weights: Vec<f64> = names.surnames.iter().map(|s| s.weight).collect();
    let surname = names
        .surnames
        .get(pick_weighted(&weights, rng))
        .ok_or_else(|| AppError::internal("no surnames"))?;
    let wanted = if male { "m" } else { "f" };
    let chars: Vec<_> = names
        .given
        .iter()
        .filter(|c| c.gender == wanted || c.gender == "n")
        .collect();
    if chars.is_empty() {
        return Err(AppError::internal("no given-name characters"));
    }
    let len = if rng.random_bool(0.25) { 1 } else { 2 };
    let mut zh = surname.zh.clone();
    let mut en = String::new();
    for i in 0..len {
        let c = chars[rng.random_range(0..chars.len())];
        zh.push_str(&c.zh);
        // NOTE: pinyin marks a syllable starting with a vowel with an apostrophe (Xi'an).
        if i > 0 && c.pinyin.starts_with(['a', 'e', 'o']) {
            en.push('\'');
        }
        en.push_str(&c.pinyin);
    }
    let mut given = en.chars();
    let given = match given.next() {
        Some(first) => first.to_uppercase().chain(given).collect::<String>(),
        None => String::new(),
    };
    Ok(Person {
        name_zh: zh,
        name_en: format!("{} {given}", surname.pinyin),
        male,
    })
}

/// The 18th character of a Chinese resident identity number (ISO 7064 MOD 11-2).
fn id_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    (first17.len() == 17).then(|| CHECK[(sum % 11) as usize])
}

/// Generates `n` students, ordered by student number.
pub fn students(
    cat: &Catalog,
    cal: &Calendar,
    n: usize,
    rng: &mut ChaCha8Rng,
) -> AppResult<Vec<Student>> {
    let dept_weights: Vec<f64> = cat.departments.iter().map(|d| d.student_weight).collect();
    // Entry terms: a share in their first (current) term, most in the three autumn intakes
    // before it, a few in spring intakes.
    let current = TERMS as i64;
    let autumns: Vec<i64> = (-4..current)
        .rev()
        .filter(|s| cal.is_autumn(*s))
        .take(3)
        .collect();
    let springs: Vec<i64> = (1..current)
        .rev()
        .filter(|s| !cal.is_autumn(*s))
        .take(2)
        .collect();
    let mut entries = vec![(current, 0.15)];
    entries.extend(autumns.iter().map(|s| (*s, 0.79 / autumns.len() as f64)));
    entries.extend(
        springs
            .iter()
            .map(|s| (*s, 0.06 / springs.len().max(1) as f64)),
    );
    let entry_weights: Vec<f64> = entries.iter().map(|e| e.1).collect();

    let mut taken_ids: HashSet<String> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let dept = pick_weighted(&dept_weights, rng);
        let d = &cat.departments[dept];
        let major = rng.random_range(0..d.majors.len());
        let entry_seq = entries[pick_weighted(&entry_weights, rng)].0;
        let cohort_year = cal.academic_year(entry_seq);
        let male = rng.random_bool(d.male_share.clamp(0.0, 1.0));
        let person = person(&cat.names, male, rng)?;
        let first_day = NaiveDate::from_ymd_opt(cohort_year - 19, 9, 1)
            .ok_or_else(|| AppError::internal("bad cohort year"))?;
        let birth_date = first_day + Duration::days(rng.random_range(0..540));
        let region = &cat.places.regions[rng.random_range(0..cat.places.regions.len())];
        let mut national_id = String::new();
        for _ in 0..1000 {
            let mut seq: u32 = rng.random_range(0..500) * 2;
            if male {
                seq += 1;
            }
            let first17 = format!("{}{}{seq:03}", region.code, birth_date.format("%Y%m%d"));
            let check = id_check_char(&first17)
                .ok_or_else(|| AppError::internal("bad national id digits"))?;
            let id = format!("{first17}{check}");
            if taken_ids.insert(id.clone()) {
                national_id = id;
                break;
            }
        }
        if national_id.is_empty() {
            return Err(AppError::internal("could not draw a unique national id"));
        }
        let phone = format!(
            "1{}{}{:08}",
            [3, 5, 7, 8, 9][rng.random_range(0..5)],
            rng.random_range(0..10),
            rng.random_range(0..100_000_000u32)
        );
        let street = &cat.places.streets[rng.random_range(0..cat.places.streets.len())];
        let address = format!(
            "{}{street}{}号{}栋{}室",
            region.address,
            rng.random_range(1..300),
            rng.random_range(1..20),
            rng.random_range(101..1800)
        );
        let ability = normal(rng);
        let engagement = 0.3 * ability + 0.95 * normal(rng);
        let past_terms = (current - entry_seq.max(1)).max(0);
        let decline = if past_terms >= 2 && rng.random_bool(0.12) {
            let from = rng.random_range(entry_seq.max(1) + 1..current);
            Some((from, rng.random_range(1.2..2.2)))
        } else {
            None
        };
        // NOTE: leaving (withdrawn) is decided term by term by the simulation.
        let status = if past_terms >= 1 {
            let risk = if decline.is_some() { 4.0 } else { 1.0 };
            let r: f64 = rng.random();
            if r < 0.010 * risk {
                Status::Suspended
            } else {
                Status::Active
            }
        } else {
            Status::Active
        };
        out.push(Student {
            no: String::new(),
            person,
            birth_date,
            national_id,
            phone,
            address,
            dept,
            major,
            cohort_year,
            entry_seq,
            status,
            ability,
            engagement,
            decline,
            left: None,
            leaves_later: false,
        });
    }
    // Student numbers: cohort year, department, then a running number within the two.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| (out[i].cohort_year, out[i].dept, i));
    let mut last = (i32::MIN, usize::MAX);
    let mut running = 0;
    for i in order {
        let key = (out[i].cohort_year, out[i].dept);
        if key != last {
            last = key;
            running = 0;
        }
        running += 1;
        out[i].no = format!("{}{:02}{running:04}", key.0, key.1 + 1);
    }
    out.sort_by(|a, b| a.no.cmp(&b.no));
    Ok(out)
}
