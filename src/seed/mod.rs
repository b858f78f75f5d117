//! The demo university: a deterministic generator, driven by the data files in `seed/` and a
//! fixed random seed, that fills an empty database with departments, courses, teachers,
//! students, three past terms of results and a current term open for registration.
//!
//! Each student has a hidden ability and engagement; about 12% of those with two or more past
//! terms "decline" from some term on. Their list goes to [`decliners_file`] so that tests can
//! check the mining module finds them; the portal itself never reads it.

mod calendar;
mod catalog;
mod people;
mod rng;
mod simulate;
mod timetable;
mod write;

use crate::error::{AppError, AppResult};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sea_orm::DatabaseConnection;
use std::path::{Path, PathBuf};

/// The seed used unless another is asked for.
pub const DEFAULT_SEED: u64 = 20261124;

pub struct DemoOptions {
    /// Number of students (2,000 for the ordinary demo).
    pub students: usize,
    /// A precomputed password hash shared by every demo account.
    pub password_hash: String,
    /// Where the list of declining students is written.
    pub out_dir: PathBuf,
    pub seed: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub students: usize,
    pub teachers: usize,
    pub departments: usize,
    pub courses: usize,
    pub terms: usize,
    pub sections: usize,
    pub enrolments: usize,
    pub grades: usize,
    pub decliners: usize,
}

/// The CSV (`student_no,decline_from_term_seq`) naming the students made to decline.
pub fn decliners_file(out_dir: &Path) -> PathBuf {
    out_dir.join("demo-decliners.csv")
}

/// Fills an empty, migrated database. Returns Ok(None) and does nothing if any student (or any
/// term) already exists. The built-in groups must exist.
pub async fn seed_demo(
    db: &DatabaseConnection,
    opts: &DemoOptions,
) -> AppResult<Option<DemoSummary>> {
    if write::already_seeded(db).await? {
        return Ok(None);
    }
    let mut cat = catalog::Catalog::load()?;
    let existing_scale = write::existing_default_scale(db).await?;
    let scale_id = existing_scale.as_ref().map(|(id, _)| *id);
    if let Some((_, scale)) = existing_scale {
        cat.scale = scale;
    }
    let cal = calendar::Calendar::new(chrono::Utc::now())?;
    let (n, seed) = (opts.students, opts.seed);
    // NOTE: the generation is CPU work (about a second for 50,000 students): keep it off the
    // async workers.
    let (cat, cal, uni) = tokio::task::spawn_blocking(move || -> AppResult<_> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let students = people::students(&cat, &cal, n, &mut rng)?;
        let uni = simulate::simulate(&cat, &cal, students, &mut rng)?;
        Ok((cat, cal, uni))
    })
    .await
    .map_err(|e| AppError::internal(format!("demo generator stopped: {e}")))??;

    let Some(summary) = write::write(db, &cat, &cal, &uni, &opts.password_hash, scale_id).await?
    else {
        return Ok(None);
    };

    let mut csv = String::from("student_no,decline_from_term_seq\n");
    for st in &uni.students {
        if let Some((from, _)) = st.decline {
            csv.push_str(&format!("{},{from}\n", st.no));
        }
    }
    let path = decliners_file(&opts.out_dir);
    std::fs::create_dir_all(&opts.out_dir)
        .and_then(|()| std::fs::write(&path, csv))
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(Some(summary))
}
