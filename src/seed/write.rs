//! Writes the generated university in one transaction, in multi-row inserts with ids assigned
//! here (after whatever ids the tables already hold).

use super::DemoSummary;
use super::calendar::{Calendar, Ts};
use super::catalog::{Band, Catalog, Scale};
use super::people::Status;
use super::simulate::{ASSESSMENTS, EnrolStatus, University};
use crate::entity::{
    assessment_scores, assessments, course_prerequisites, courses, departments, enrolments, grades,
    grading_bands, grading_scales, groups, holds, learning_activity, majors, registration_events,
    section_meetings, sections, student_history, students, terms, user_groups, users,
};
use crate::error::{AppError, AppResult};
use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, Set, Statement, TransactionTrait,
};

const EMAIL_DOMAIN: &str = "demo-university.example";

/// Tables given explicit ids here; PostgreSQL's identity sequences are moved past them.
const TABLES: [&str; 17] = [
    "departments",
    "majors",
    "users",
    "students",
    "terms",
    "courses",
    "sections",
    "section_meetings",
    "enrolments",
    "registration_events",
    "holds",
    "grading_scales",
    "grading_bands",
    "assessments",
    "assessment_scores",
    "grades",
    "student_history",
];

/// The default grading scale already in the database, if there is one.
pub async fn existing_default_scale(db: &impl ConnectionTrait) -> AppResult<Option<(i64, Scale)>> {
    let Some(scale) = grading_scales::Entity::find()
        .filter(grading_scales::Column::IsDefault.eq(true))
        .order_by_asc(grading_scales::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let bands = grading_bands::Entity::find()
        .filter(grading_bands::Column::ScaleId.eq(scale.id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| Band {
            min_score: b.min_score,
            letter: b.letter,
            points: b.points,
        })
        .collect();
    let parsed = Scale {
        name: scale.name,
        pass_mark: scale.pass_mark,
        bands,
    }
    .sorted()?;
    Ok(Some((scale.id, parsed)))
}

/// Whether the database already holds students or terms (the demo then leaves it alone).
pub async fn already_seeded(db: &impl ConnectionTrait) -> AppResult<bool> {
    Ok(students::Entity::find().one(db).await?.is_some()
        || terms::Entity::find().one(db).await?.is_some())
}

async fn max_id(db: &impl ConnectionTrait, table: &str) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let sql = format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}");
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64>("", "m")?,
        None => 0,
    })
}

async fn pragma_cache_size(db: &impl ConnectionTrait) -> AppResult<Option<i64>> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA cache_size",
        ))
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get_by_index::<i64>(0)?),
        None => None,
    })
}

/// Inserts rows in statements of at most 500 rows and about 30,000 bound values.
///
/// NOTE: the rows are collected before the future is made, so the future holds only a `Vec`
/// and not the caller's borrowing iterator (which would make it non-`Send`).
fn insert_all<'a, A, I>(
    db: &'a DatabaseTransaction,
    columns: usize,
    rows: I,
) -> impl std::future::Future<Output = AppResult<u64>> + Send + 'a
where
    A: ActiveModelTrait + Send + 'a,
    I: IntoIterator<Item = A>,
{
    let rows: Vec<A> = rows.into_iter().collect();
    async move {
        let per = (30_000 / columns.max(1)).clamp(1, 500);
        let n = rows.len() as u64;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<A> = rows.by_ref().take(per).collect();
            A::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
        Ok(n)
    }
}

/// Inserts `n` rows made by `row(0..n)` in statements like `insert_all`, building one
/// statement's rows at a time so that large tables never sit in memory as models.
async fn insert_rows<A>(
    db: &DatabaseTransaction,
    columns: usize,
    n: usize,
    row: &(dyn Fn(usize) -> A + Sync),
) -> AppResult<u64>
where
    A: ActiveModelTrait + Send,
{
    let per = (30_000 / columns.max(1)).clamp(1, 500);
    let mut start = 0;
    while start < n {
        let end = (start + per).min(n);
        let chunk: Vec<A> = (start..end).map(row).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
        start = end;
    }
    Ok(n as u64)
}

async fn group_id(db: &DatabaseTransaction, code: &str) -> AppResult<i64> {
    groups::Entity::find()
        .filter(groups::Column::Code.eq(code))
        .one(db)
        .await?
        .map(|g| g.id)
        .ok_or_else(|| {
            AppError::internal(format!(
                "built-in group {code:?} is missing; create the built-ins first"
            ))
        })
}

struct Ids {
    department: i64,
    major: i64,
    user: i64,
    student: i64,
    term: i64,
    course: i64,
    section: i64,
    meeting: i64,
    enrolment: i64,
    event: i64,
    hold: i64,
    scale: i64,
    band: i64,
    assessment: i64,
    score: i64,
    grade: i64,
    history: i64,
}

/// Writes everything in one transaction; `scale_id` is the default grading scale if one
/// already exists. Each step below writes one part of the university.
pub async fn write(
    db: &DatabaseConnection,
    cat: &Catalog,
    cal: &Calendar,
    uni: &University,
    attendance: &super::attendance::Attendance,
    password_hash: &str,
    scale_id: Option<i64>,
) -> AppResult<Option<DemoSummary>> {
    let txn = db.begin().await?;
    // NOTE: a larger page cache for the bulk insert speeds SQLite up (the index pages are hit
    // in random order); the connection gets its own setting back before the commit.
    let sqlite = txn.get_database_backend() == DbBackend::Sqlite;
    let cache_size = if sqlite {
        pragma_cache_size(&txn).await?
    } else {
        None
    };
    if cache_size.is_some() {
        txn.execute_unprepared("PRAGMA cache_size = -65536").await?;
    }
    // NOTE: checked again inside the transaction in case another instance seeded meanwhile.
    if already_seeded(&txn).await? {
        txn.rollback().await?;
        return Ok(None);
    }
    let ids = Ids::after_existing(&txn).await?;
    let w = Writer {
        txn: &txn,
        cat,
        cal,
        uni,
        ids,
    };
    let major_ids = w.departments().await?;
    let scale_id = w.scale(scale_id).await?;
    w.terms_and_courses().await?;
    let people = w.people(password_hash, &major_ids).await?;
    let published = w.sections(&people, scale_id).await?;
    w.registrations(&people).await?;
    w.results(&people, &published).await?;
    w.activity().await?;
    let (section, student) = (|x| w.ids.section(x), |s| w.ids.student(s));
    super::attendance::write(&txn, cal, uni, attendance, &section, &student).await?;

    if txn.get_database_backend() == DbBackend::Postgres {
        for t in TABLES {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {t}))"
            ))
            .await?;
        }
    }
    if let Some(size) = cache_size {
        txn.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
            .await?;
    }
    txn.commit().await?;

    Ok(Some(DemoSummary {
        students: uni.students.len(),
        teachers: uni.teachers.len(),
        departments: cat.departments.len(),
        courses: cat.courses.len(),
        terms: cal.terms.len(),
        sections: uni.sections.len(),
        enrolments: uni.enrolments.len(),
        grades: uni.grades.len(),
        decliners: uni.students.iter().filter(|s| s.decline.is_some()).count(),
        leavers: uni.students.iter().filter(|s| s.left.is_some()).count(),
    }))
}

impl Ids {
    /// The highest id each table already holds: the demo's rows are numbered after them.
    async fn after_existing(db: &impl ConnectionTrait) -> AppResult<Ids> {
        let mut base = [0i64; TABLES.len()];
        for (i, t) in TABLES.iter().enumerate() {
            base[i] = max_id(db, t).await?;
        }
        Ok(Ids {
            department: base[0],
            major: base[1],
            user: base[2],
            student: base[3],
            term: base[4],
            course: base[5],
            section: base[6],
            meeting: base[7],
            enrolment: base[8],
            event: base[9],
            hold: base[10],
            scale: base[11],
            band: base[12],
            assessment: base[13],
            score: base[14],
            grade: base[15],
            history: base[16],
        })
    }

    fn course(&self, c: usize) -> i64 {
        self.course + 1 + c as i64
    }

    fn department(&self, d: usize) -> i64 {
        self.department + 1 + d as i64
    }

    fn student(&self, s: u32) -> i64 {
        self.student + 1 + i64::from(s)
    }

    fn section(&self, x: u32) -> i64 {
        self.section + 1 + i64::from(x)
    }
}

/// The generated university and where its rows go.
struct Writer<'a> {
    txn: &'a DatabaseTransaction,
    cat: &'a Catalog,
    cal: &'a Calendar,
    uni: &'a University,
    ids: Ids,
}

/// The accounts' ids, fixed once the people are written.
struct People {
    first_teacher: i64,
    first_student_user: i64,
    teacher_rank: Vec<usize>,
}

impl People {
    fn teacher_uid(&self, t: usize) -> i64 {
        self.first_teacher + self.teacher_rank[t] as i64
    }

    fn student_uid(&self, s: usize) -> i64 {
        self.first_student_user + s as i64
    }
}

impl Writer<'_> {
    /// Departments and their majors; returns each department's major ids.
    async fn departments(&self) -> AppResult<Vec<Vec<i64>>> {
        let (txn, cat, ids) = (self.txn, self.cat, &self.ids);
        insert_all(
            txn,
            4,
            cat.departments
                .iter()
                .enumerate()
                .map(|(i, d)| departments::ActiveModel {
                    id: Set(ids.department(i)),
                    code: Set(d.code.clone()),
                    name_zh: Set(d.name_zh.clone()),
                    name_en: Set(d.name_en.clone()),
                }),
        )
        .await?;
        let mut major_ids: Vec<Vec<i64>> = Vec::new();
        let mut major_rows = Vec::new();
        let mut next = ids.major;
        for (di, d) in cat.departments.iter().enumerate() {
            let mut list = Vec::new();
            for m in &d.majors {
                next += 1;
                list.push(next);
                major_rows.push(majors::ActiveModel {
                    id: Set(next),
                    code: Set(m.code.clone()),
                    department_id: Set(ids.department(di)),
                    name_zh: Set(m.name_zh.clone()),
                    name_en: Set(m.name_en.clone()),
                });
            }
            major_ids.push(list);
        }
        insert_all(txn, 5, major_rows).await?;

        Ok(major_ids)
    }

    /// The default grading scale with its bands, unless one exists; returns its id.
    async fn scale(&self, scale_id: Option<i64>) -> AppResult<i64> {
        let (txn, cat, ids) = (self.txn, self.cat, &self.ids);
        let scale_id =
            match scale_id {
                Some(id) => id,
                None => {
                    let id = ids.scale + 1;
                    insert_all(
                        txn,
                        4,
                        [grading_scales::ActiveModel {
                            id: Set(id),
                            name: Set(cat.scale.name.clone()),
                            pass_mark: Set(cat.scale.pass_mark),
                            is_default: Set(true),
                        }],
                    )
                    .await?;
                    insert_all(
                        txn,
                        5,
                        cat.scale.bands.iter().enumerate().map(|(i, b)| {
                            grading_bands::ActiveModel {
                                id: Set(ids.band + 1 + i as i64),
                                scale_id: Set(id),
                                min_score: Set(b.min_score),
                                letter: Set(b.letter.clone()),
                                points: Set(b.points),
                            }
                        }),
                    )
                    .await?;
                    id
                }
            };

        Ok(scale_id)
    }

    /// The terms, the courses and their prerequisites.
    async fn terms_and_courses(&self) -> AppResult<()> {
        let (txn, cat, cal, ids) = (self.txn, self.cat, self.cal, &self.ids);
        insert_all(
            txn,
            13,
            cal.terms.iter().map(|t| terms::ActiveModel {
                id: Set(ids.term + t.seq),
                code: Set(t.code.clone()),
                name_zh: Set(t.name_zh.clone()),
                name_en: Set(t.name_en.clone()),
                seq: Set(t.seq),
                starts_on: Set(t.starts_on),
                ends_on: Set(t.ends_on),
                registration_opens_at: Set(t.registration_opens_at),
                registration_closes_at: Set(t.registration_closes_at),
                add_drop_deadline: Set(t.add_drop_deadline),
                credit_limit: Set(t.credit_limit),
                is_current: Set(t.is_current),
            }),
        )
        .await?;
        insert_all(
            txn,
            9,
            cat.courses
                .iter()
                .enumerate()
                .map(|(i, c)| courses::ActiveModel {
                    id: Set(ids.course(i)),
                    code: Set(c.code.clone()),
                    department_id: Set(ids.department(c.dept)),
                    title_zh: Set(c.title_zh.clone()),
                    title_en: Set(c.title_en.clone()),
                    credits: Set(c.credits),
                    description: Set(course_description(cat, i)),
                    is_active: Set(true),
                }),
        )
        .await?;
        insert_all(
            txn,
            3,
            cat.courses.iter().enumerate().flat_map(|(i, c)| {
                c.prerequisites
                    .iter()
                    .map(move |&(p, min)| course_prerequisites::ActiveModel {
                        course_id: Set(ids.course(i)),
                        prerequisite_id: Set(ids.course(p)),
                        min_score: Set(min),
                    })
            }),
        )
        .await?;

        Ok(())
    }

    /// The administrator (unless one exists), teachers and students with their accounts,
    /// groups, status history and holds.
    async fn people(&self, password_hash: &str, major_ids: &[Vec<i64>]) -> AppResult<People> {
        let (txn, cal, uni, ids) = (self.txn, self.cal, self.uni, &self.ids);
        // People: the administrator, teachers and students, with their accounts and groups.
        let existing_admin = users::Entity::find()
            .filter(users::Column::Username.eq("admin"))
            .one(txn)
            .await?;
        let admin_id = existing_admin.as_ref().map_or(ids.user + 1, |u| u.id);
        let first_teacher = if existing_admin.is_some() {
            ids.user + 1
        } else {
            ids.user + 2
        };
        let people = People {
            first_teacher,
            first_student_user: first_teacher + uni.teachers.len() as i64,
            teacher_rank: uni.teacher_rank.clone(),
        };
        let staff_since = cal.at(cal.start_of(-6)?, 9, 0)?;
        let user = |id: i64,
                    username: String,
                    name: String,
                    email: String,
                    kind: &str,
                    dept: Option<i64>,
                    active: bool,
                    at: Ts| {
            users::ActiveModel {
                id: Set(id),
                username_folded: Set(Some(users::fold(&username))),
                username: Set(username),
                password_hash: Set(password_hash.to_string()),
                display_name: Set(name),
                email: Set(Some(email)),
                kind: Set(kind.to_string()),
                department_id: Set(dept),
                is_active: Set(active),
                token_version: Set(0),
                locale: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                last_login_at: Set(None),
            }
        };
        let mut admin_rows = Vec::new();
        if existing_admin.is_none() {
            admin_rows.push(user(
                admin_id,
                "admin".into(),
                "系统管理员".into(),
                format!("admin@{EMAIL_DOMAIN}"),
                "admin",
                None,
                true,
                staff_since,
            ));
        }
        insert_all(txn, 14, admin_rows).await?;
        let mut teacher_order: Vec<usize> = (0..uni.teachers.len()).collect();
        teacher_order.sort_by_key(|&t| uni.teacher_rank[t]);
        insert_all(
            txn,
            14,
            teacher_order.iter().map(|&t| {
                let n = uni.teacher_rank[t] + 1;
                let p = &uni.teachers[t].person;
                let dept = Some(ids.department(uni.teachers[t].dept));
                user(
                    people.teacher_uid(t),
                    format!("teacher{n}"),
                    p.name_zh.clone(),
                    format!("teacher{n}@{EMAIL_DOMAIN}"),
                    "teacher",
                    dept,
                    true,
                    staff_since,
                )
            }),
        )
        .await?;
        let mut joined: Vec<Ts> = Vec::with_capacity(uni.students.len());
        for st in &uni.students {
            joined.push(cal.at(cal.start_of(st.entry_seq)? - Duration::days(14), 9, 0)?);
        }
        insert_rows(txn, 14, uni.students.len(), &|i| {
            let st = &uni.students[i];
            user(
                people.student_uid(i),
                st.no.clone(),
                st.person.name_zh.clone(),
                format!("{}@stu.{EMAIL_DOMAIN}", st.no),
                "student",
                Some(ids.department(st.dept)),
                st.status != Status::Withdrawn,
                joined[i],
            )
        })
        .await?;
        let (g_student, g_teacher, g_admin) = (
            group_id(txn, "student").await?,
            group_id(txn, "teacher").await?,
            group_id(txn, "admin").await?,
        );
        let memberships = std::iter::once((admin_id, g_admin))
            .filter(|_| existing_admin.is_none())
            .chain(
                teacher_order
                    .iter()
                    .map(|&t| (people.teacher_uid(t), g_teacher)),
            )
            .chain((0..uni.students.len()).map(|i| (people.student_uid(i), g_student)));
        insert_all(
            txn,
            2,
            memberships.map(|(u, g)| user_groups::ActiveModel {
                user_id: Set(u),
                group_id: Set(g),
            }),
        )
        .await?;
        let term_start = cal.at(cal.term(super::calendar::TERMS as i64)?.starts_on, 9, 0)?;
        let changed_at = |i: usize| {
            let st = &uni.students[i];
            match (st.status, st.left) {
                (Status::Active, _) => joined[i],
                (_, Some((_, at))) => at,
                _ => term_start - Duration::days(3),
            }
        };
        insert_rows(txn, 21, uni.students.len(), &|i| {
            let st = &uni.students[i];
            let changed = changed_at(i);
            students::ActiveModel {
                id: Set(ids.student(i as u32)),
                user_id: Set(Some(people.student_uid(i))),
                student_no: Set(st.no.clone()),
                national_id: Set(Some(st.national_id.clone())),
                name_zh: Set(st.person.name_zh.clone()),
                name_en: Set(st.person.name_en.clone()),
                gender: Set(if st.person.male { "M" } else { "F" }.to_string()),
                birth_date: Set(Some(st.birth_date)),
                phone: Set(Some(st.phone.clone())),
                email: Set(Some(format!("{}@stu.{EMAIL_DOMAIN}", st.no))),
                address: Set(Some(st.address.clone())),
                department_id: Set(ids.department(st.dept)),
                major_id: Set(major_ids
                    .get(st.dept)
                    .and_then(|m| m.get(st.major))
                    .copied()
                    .unwrap_or_default()),
                cohort_year: Set(i64::from(st.cohort_year)),
                status: Set(st.status.as_str().parse().unwrap_or_default()),
                status_changed_at: Set(changed),
                advisor_id: Set(uni
                    .advisors
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|t| people.teacher_uid(t))),
                merged_into_id: Set(None),
                created_at: Set(joined[i]),
                updated_at: Set(changed),
            }
        })
        .await?;
        // Each status change has its history row (the mining run's leaving target reads them).
        let changed: Vec<usize> = (0..uni.students.len())
            .filter(|&i| uni.students[i].status != Status::Active)
            .collect();
        insert_rows(txn, 7, changed.len(), &|k| {
            let i = changed[k];
            student_history::ActiveModel {
                id: Set(ids.history + 1 + k as i64),
                student_id: Set(ids.student(i as u32)),
                at: Set(changed_at(i)),
                actor_id: Set(Some(admin_id)),
                field: Set("status".to_string()),
                old_value: Set(Some("active".to_string())),
                new_value: Set(Some(uni.students[i].status.as_str().to_string())),
            }
        })
        .await?;
        insert_all(
            txn,
            7,
            uni.holds
                .iter()
                .enumerate()
                .map(|(i, h)| holds::ActiveModel {
                    id: Set(ids.hold + 1 + i as i64),
                    student_id: Set(ids.student(h.student)),
                    reason: Set(h.reason.to_string()),
                    placed_by: Set(Some(admin_id)),
                    placed_at: Set(h.placed_at),
                    lifted_by: Set(h.lifted_at.map(|_| admin_id)),
                    lifted_at: Set(h.lifted_at),
                }),
        )
        .await?;

        Ok(people)
    }

    /// The sections and their timetable; returns when each term's grades were published.
    async fn sections(&self, people: &People, scale_id: i64) -> AppResult<Vec<Option<Ts>>> {
        let (txn, cat, cal, uni, ids) = (self.txn, self.cat, self.cal, self.uni, &self.ids);
        // Sections and their timetable.
        let mut published: Vec<Option<Ts>> = Vec::new();
        for t in &cal.terms {
            published.push(if t.is_current {
                None
            } else {
                Some(cal.at(t.ends_on + Duration::days(7), 10, 0)?)
            });
        }
        insert_all(
            txn,
            14,
            uni.sections
                .iter()
                .enumerate()
                .map(|(x, s)| sections::ActiveModel {
                    id: Set(ids.section(x as u32)),
                    term_id: Set(ids.term + 1 + s.term as i64),
                    course_id: Set(ids.course(s.course)),
                    section_no: Set(format!("{:02}", s.no)),
                    teacher_id: Set(Some(people.teacher_uid(s.teacher))),
                    capacity: Set(s.capacity),
                    waitlist_capacity: Set(s.waitlist_capacity),
                    enrolled_count: Set(s.enrolled),
                    waitlist_count: Set(s.waitlisted),
                    override_count: Set(0),
                    room: Set(s.room.clone()),
                    grading_scale_id: Set(Some(scale_id)),
                    grades_published_at: Set(published.get(s.term).copied().flatten()),
                }),
        )
        .await?;
        let meetings = uni.sections.iter().enumerate().flat_map(|(x, s)| {
            s.meetings(&cat.courses[s.course])
                .into_iter()
                .map(move |m| (x, m))
        });
        insert_all(
            txn,
            7,
            meetings
                .enumerate()
                .map(|(i, (x, m))| section_meetings::ActiveModel {
                    id: Set(ids.meeting + 1 + i as i64),
                    section_id: Set(ids.section(x as u32)),
                    weekday: Set(m.weekday),
                    start_period: Set(m.start_period),
                    end_period: Set(m.end_period),
                    start_week: Set(m.start_week),
                    end_week: Set(m.end_week),
                }),
        )
        .await?;

        Ok(published)
    }

    /// Enrolments and the registration events that made them.
    async fn registrations(&self, people: &People) -> AppResult<()> {
        let (txn, uni, ids) = (self.txn, self.uni, &self.ids);
        // Registration: enrolments and the events that made them.
        insert_rows(txn, 10, uni.enrolments.len(), &|i| {
            let e = &uni.enrolments[i];
            enrolments::ActiveModel {
                id: Set(ids.enrolment + 1 + i as i64),
                student_id: Set(ids.student(e.student)),
                section_id: Set(ids.section(e.section)),
                status: Set(e
                    .status
                    .as_str()
                    .parse()
                    .unwrap_or(enrolments::EnrolmentStatus::Dropped)),
                waitlist_position: Set(e.waitlist_position),
                created_at: Set(e.created_at),
                updated_at: Set(e.dropped_at.unwrap_or(e.created_at)),
                dropped_at: Set(e.dropped_at),
                override_reason: Set(None),
            }
        })
        .await?;
        // (enrolment, whether this is its drop)
        let events: Vec<(usize, bool)> = uni
            .enrolments
            .iter()
            .enumerate()
            .flat_map(|(i, e)| std::iter::once((i, false)).chain(e.dropped_at.map(|_| (i, true))))
            .collect();
        insert_rows(txn, 7, events.len(), &|i| {
            let (k, is_drop) = events[i];
            let e = &uni.enrolments[k];
            let (action, code, at) = match (is_drop, e.status) {
                (true, _) => ("drop", "dropped", e.dropped_at.unwrap_or(e.created_at)),
                (false, EnrolStatus::Waitlisted) => ("waitlist", "waitlisted", e.created_at),
                (false, _) => ("add", "enrolled", e.created_at),
            };
            registration_events::ActiveModel {
                id: Set(ids.event + 1 + i as i64),
                student_id: Set(ids.student(e.student)),
                section_id: Set(ids.section(e.section)),
                action: Set(action.to_string()),
                code: Set(code.to_string()),
                at: Set(at),
                actor_id: Set(Some(people.student_uid(e.student as usize))),
            }
        })
        .await?;

        Ok(())
    }

    /// Assessments, their scores and the final grades.
    async fn results(&self, people: &People, published: &[Option<Ts>]) -> AppResult<()> {
        let (txn, cat, uni, ids, now) = (self.txn, self.cat, self.uni, &self.ids, self.cal.now);
        // Assessments, their scores and the final grades.
        insert_all(
            txn,
            6,
            uni.assessments
                .iter()
                .enumerate()
                .map(|(i, a)| assessments::ActiveModel {
                    id: Set(ids.assessment + 1 + i as i64),
                    section_id: Set(ids.section(a.section)),
                    name: Set(ASSESSMENTS[a.kind].0.to_string()),
                    weight: Set(ASSESSMENTS[a.kind].1),
                    due_at: Set(Some(a.due_at)),
                    max_score: Set(100.0),
                    kind: Set(None),
                }),
        )
        .await?;
        insert_rows(txn, 8, uni.scores.len(), &|i| {
            let s = &uni.scores[i];
            let due = uni
                .assessments
                .get(s.assessment as usize)
                .map_or(now, |a| a.due_at);
            let submitted = s
                .score
                .map(|_| due + Duration::minutes(i64::from(s.submitted_offset_min)));
            assessment_scores::ActiveModel {
                id: Set(ids.score + 1 + i as i64),
                assessment_id: Set(ids.assessment + 1 + i64::from(s.assessment)),
                student_id: Set(ids.student(s.student)),
                score: Set(s.score.map(f64::from)),
                status: Set(s.status.as_str().to_string()),
                submitted_at: Set(submitted),
                updated_at: Set((due + Duration::days(3)).min(now)),
            }
        })
        .await?;
        insert_rows(txn, 11, uni.grades.len(), &|i| {
            let g = &uni.grades[i];
            let s = &uni.sections[g.section as usize];
            let band = cat.scale.bands.get(g.band);
            let at = published.get(s.term).copied().flatten().unwrap_or(now);
            grades::ActiveModel {
                id: Set(ids.grade + 1 + i as i64),
                section_id: Set(ids.section(g.section)),
                student_id: Set(ids.student(g.student)),
                score: Set(g.score),
                letter: Set(band.map_or_else(|| "F".to_string(), |b| b.letter.clone())),
                points: Set(band.map_or(0.0, |b| b.points)),
                status: Set(grades::GradeStatus::Published),
                entered_by: Set(Some(people.teacher_uid(s.teacher))),
                updated_at: Set(at),
                published_at: Set(Some(at)),
            }
        })
        .await?;

        Ok(())
    }

    /// Weekly learning-platform activity (numbered by the database: nothing refers to it).
    async fn activity(&self) -> AppResult<()> {
        let (txn, uni, ids) = (self.txn, self.uni, &self.ids);
        insert_rows(txn, 5, uni.activity.len(), &|i| {
            let a = &uni.activity[i];
            learning_activity::ActiveModel {
                student_id: Set(ids.student(a.student)),
                section_id: Set(ids.section(a.section)),
                day: Set(a.day),
                kind: Set("all".to_string()),
                count: Set(i64::from(a.count)),
                ..Default::default()
            }
        })
        .await?;
        Ok(())
    }
}

fn course_description(cat: &Catalog, i: usize) -> String {
    let c = &cat.courses[i];
    let dept = cat
        .departments
        .get(c.dept)
        .map_or("", |d| d.name_zh.as_str());
    let kind = match c.audience {
        super::catalog::Audience::All => "全校必修 / Required for all students",
        super::catalog::Audience::Departments(_) => "公共基础必修 / Required foundation course",
        super::catalog::Audience::Major => "专业必修 / Required for the major",
        super::catalog::Audience::Elective => "选修 / Elective",
    };
    format!(
        "{dept} · {kind} · 建议第{}学期 / suggested semester {}",
        c.semester, c.semester
    )
}
