//! Seeding the demo university: the options, the summary, and the one call that writes it.

use super::{activity, attendance, calendar, catalog, people, simulate, write};
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
    /// Students who left in a past term (status `withdrawn`).
    pub leavers: usize,
}

/// The CSV (`student_no,decline_from_term_seq`) naming the students made to decline.
pub fn decliners_file(out_dir: &Path) -> PathBuf {
    out_dir.join("demo-decliners.csv")
}

/// The CSV (`student_no,term_seq,left_at`) naming the students who left in a past term (with the
/// instant) and those who will leave during the current term (empty `left_at`: that is the
/// future, which the database does not hold).
pub fn leavers_file(out_dir: &Path) -> PathBuf {
    out_dir.join("demo-leavers.csv")
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
    let (cat, cal, uni, att) = tokio::task::spawn_blocking(move || -> AppResult<_> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let students = people::students(&cat, &cal, n, &mut rng)?;
        let mut uni = simulate::simulate(&cat, &cal, students, &mut rng)?;
        // NOTE: students who begin to decline this term first, so that their attendance and
        // activity both follow it.
        activity::disengage_now(&mut uni, &cat, seed);
        uni.activity = activity::generate(&cal, &uni, seed);
        let att = attendance::generate(&cat, &cal, &uni, seed);
        Ok((cat, cal, uni, att))
    })
    .await
    .map_err(|e| AppError::internal(format!("demo generator stopped: {e}")))??;

    let Some(summary) =
        write::write(db, &cat, &cal, &uni, &att, &opts.password_hash, scale_id).await?
    else {
        return Ok(None);
    };

    let mut csv = String::from("student_no,decline_from_term_seq\n");
    for st in &uni.students {
        if let Some((from, _)) = st.decline {
            csv.push_str(&format!("{},{from}\n", st.no));
        }
    }
    let mut leavers = String::from("student_no,term_seq,left_at\n");
    for st in &uni.students {
        if let Some((seq, at)) = st.left {
            leavers.push_str(&format!("{},{seq},{}\n", st.no, at.to_rfc3339()));
        } else if st.leaves_later {
            leavers.push_str(&format!("{},{},\n", st.no, calendar::TERMS));
        }
    }
    for (path, text) in [
        (decliners_file(&opts.out_dir), csv),
        (leavers_file(&opts.out_dir), leavers),
    ] {
        std::fs::create_dir_all(&opts.out_dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| AppError::internal(format!("cannot write {}: {e}", path.display())))?;
    }
    // The lifecycle history and the matrix of the last two terms, reconstructed from the data
    // just written (no draw from the simulation's generator).
    crate::analytics::history::backfill(db).await?;
    Ok(Some(summary))
}
