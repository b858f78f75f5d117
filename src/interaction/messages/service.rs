//! Conversations: one-to-one between a student and their teachers or advisor, and from staff to
//! a section, a course or a saved student segment (one private conversation per recipient, so
//! replies stay between the two). Plain text only; templates escape it.

pub use super::dto::{ConversationRow, ConversationView, MemberView, MessageView, NewConversation};
use crate::access::Permission;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::db::write_txn;
use crate::entity::{
    conversation_members, conversations, enrolments, messages, sections, segments, students, terms,
};
use crate::error::{AppError, AppResult};
use crate::interaction::util::{now, text};
use crate::students::query::{Scope, StudentFilter, all_matching};
use crate::students::service::can_view;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// At most this many recipients in one group message.
pub const MAX_RECIPIENTS: usize = 5000;

/// The teachers (of sections the student is or was in, not dropped) and the advisor of a
/// student: the people a student may write to.
pub async fn student_contacts(
    db: &impl ConnectionTrait,
    student_id: i64,
) -> AppResult<BTreeSet<i64>> {
    let mut out: BTreeSet<i64> = sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.ne("dropped"))
        .select_only()
        .column(sections::Column::TeacherId)
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    if let Some(Some(a)) = students::Entity::find_by_id(student_id)
        .select_only()
        .column(students::Column::AdvisorId)
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
    {
        out.insert(a);
    }
    Ok(out)
}

fn is_staff(user: &CurrentUser) -> bool {
    user.student_id.is_none()
        && (user.can(Permission::ViewScopedStudents) || user.can(Permission::ViewAnyStudent))
}

async fn enrolled_users(db: &impl ConnectionTrait, section_ids: Vec<i64>) -> AppResult<Vec<i64>> {
    Ok(students::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::SectionId.is_in(section_ids))
        .filter(enrolments::Column::Status.eq("enrolled"))
        .select_only()
        .column(students::Column::UserId)
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Who a new conversation goes to, checked against the sender's rights.
async fn recipients(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    n: &NewConversation,
) -> AppResult<(String, Vec<i64>)> {
    let targets = [
        n.to_user_id.is_some(),
        n.student_id.is_some(),
        n.section_id.is_some(),
        n.course_id.is_some(),
        n.segment_id.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if targets != 1 {
        return Err(AppError::unprocessable(
            "invalid_recipient",
            "give exactly one of to_user_id, student_id, section_id, course_id, segment_id",
        ));
    }
    if let Some(sid) = user.student_id {
        let Some(to) = n.to_user_id else {
            return Err(AppError::Forbidden);
        };
        if !student_contacts(db, sid).await?.contains(&to) {
            return Err(AppError::unprocessable(
                "invalid_recipient",
                "you can write to your teachers and your advisor",
            ));
        }
        return Ok(("direct".into(), vec![to]));
    }
    if !is_staff(user) {
        return Err(AppError::Forbidden);
    }
    let all = user.can(Permission::ViewAnyStudent);
    if let Some(to) = n.to_user_id {
        let sid = students::Entity::find()
            .filter(students::Column::UserId.eq(to))
            .one(db)
            .await?
            .map(|s| s.id);
        return match sid {
            Some(sid) if can_view(db, user, sid).await? => Ok(("direct".into(), vec![to])),
            _ => Err(AppError::unprocessable(
                "invalid_recipient",
                "you can write to students you teach or advise",
            )),
        };
    }
    if let Some(sid) = n.student_id {
        let s = students::Entity::find_by_id(sid).one(db).await?;
        return match s {
            Some(s) if can_view(db, user, sid).await? => match s.user_id {
                Some(u) => Ok(("direct".into(), vec![u])),
                None => Err(AppError::unprocessable(
                    "no_account",
                    "this student has no account to write to",
                )),
            },
            _ => Err(AppError::unprocessable(
                "invalid_recipient",
                "you can write to students you teach or advise",
            )),
        };
    }
    if let Some(sec) = n.section_id {
        let s = sections::Entity::find_by_id(sec).one(db).await?;
        return match s {
            Some(s) if all || s.teacher_id == Some(user.id) => {
                Ok(("section".into(), enrolled_users(db, vec![s.id]).await?))
            }
            _ => Err(AppError::unprocessable(
                "invalid_recipient",
                "you can write to sections you teach",
            )),
        };
    }
    if let Some(course) = n.course_id {
        let mut q = sections::Entity::find()
            .inner_join(terms::Entity)
            .filter(terms::Column::IsCurrent.eq(true))
            .filter(sections::Column::CourseId.eq(course));
        if !all {
            q = q.filter(sections::Column::TeacherId.eq(user.id));
        }
        let ids: Vec<i64> = q
            .select_only()
            .column(sections::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Err(AppError::unprocessable(
                "invalid_recipient",
                "you teach no section of this course this term",
            ));
        }
        return Ok(("course".into(), enrolled_users(db, ids).await?));
    }
    if let Some(seg) = n.segment_id {
        let s = segments::Entity::find_by_id(seg).one(db).await?;
        let Some(s) = s.filter(|s| s.owner_id == user.id) else {
            return Err(AppError::unprocessable(
                "invalid_recipient",
                "you can write to segments you saved",
            ));
        };
        let filter: StudentFilter = serde_json::from_str(&s.filter)
            .map_err(|_| AppError::unprocessable("invalid_segment", "the segment is unreadable"))?;
        let list = all_matching(db, Scope::of(user)?, &filter).await?;
        return Ok((
            "segment".into(),
            list.into_iter().filter_map(|(m, _)| m.user_id).collect(),
        ));
    }
    Err(AppError::unprocessable("invalid_recipient", "no recipient"))
}

/// Starts one conversation per recipient in one transaction; returns their ids.
pub async fn start(
    db: &DatabaseConnection,
    user: &CurrentUser,
    n: &NewConversation,
) -> AppResult<Vec<i64>> {
    let subject = text("subject", &n.subject, 200)?;
    let body = text("body", &n.body, 5000)?;
    let (kind, mut to) = recipients(db, user, n).await?;
    to.sort_unstable();
    to.dedup();
    to.retain(|u| *u != user.id);
    if to.is_empty() {
        return Err(AppError::unprocessable(
            "no_recipients",
            "nobody to send this to",
        ));
    }
    if to.len() > MAX_RECIPIENTS {
        return Err(AppError::unprocessable(
            "too_many_recipients",
            format!("at most {MAX_RECIPIENTS} recipients"),
        ));
    }
    let at = now();
    let txn = write_txn(db).await?;
    let mut ids = Vec::with_capacity(to.len());
    for r in &to {
        let c = conversations::ActiveModel {
            subject: Set(subject.clone()),
            kind: Set(kind.clone()),
            created_by: Set(user.id),
            created_at: Set(at),
            last_message_at: Set(at),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        conversation_members::Entity::insert_many([
            conversation_members::ActiveModel {
                conversation_id: Set(c.id),
                user_id: Set(user.id),
                last_read_at: Set(Some(at)),
            },
            conversation_members::ActiveModel {
                conversation_id: Set(c.id),
                user_id: Set(*r),
                last_read_at: Set(None),
            },
        ])
        .exec(&txn)
        .await?;
        messages::ActiveModel {
            conversation_id: Set(c.id),
            sender_id: Set(user.id),
            body: Set(body.clone()),
            sent_at: Set(at),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        ids.push(c.id);
    }
    Entry::new(Some(user.id), "messages.start", "conversation")
        .id(ids.first().copied().unwrap_or_default())
        .detail(json!({"kind": kind, "recipients": to.len(), "target": {
            "to_user_id": n.to_user_id, "student_id": n.student_id, "section_id": n.section_id,
            "course_id": n.course_id, "segment_id": n.segment_id}}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(ids)
}

/// The caller's conversations, most recent first.
pub async fn list(db: &impl ConnectionTrait, user_id: i64) -> AppResult<Vec<ConversationRow>> {
    let rows: Vec<(conversations::Model, Option<conversation_members::Model>)> =
        conversations::Entity::find()
            .find_also_related(conversation_members::Entity)
            .filter(conversation_members::Column::UserId.eq(user_id))
            .order_by_desc(conversations::Column::LastMessageAt)
            .order_by_desc(conversations::Column::Id)
            .limit(500)
            .all(db)
            .await?;
    let read: HashMap<i64, Option<_>> = rows
        .iter()
        .map(|(c, m)| (c.id, m.as_ref().and_then(|m| m.last_read_at)))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|(c, _)| c.id).collect();
    let convs: Vec<conversations::Model> = rows.into_iter().map(|(c, _)| c).collect();
    let others = conversation_members::Entity::find()
        .filter(conversation_members::Column::ConversationId.is_in(ids))
        .filter(conversation_members::Column::UserId.ne(user_id))
        .all(db)
        .await?;
    let names = crate::interaction::util::user_names(db, others.iter().map(|m| m.user_id)).await?;
    let mut with: HashMap<i64, Vec<String>> = HashMap::new();
    for m in others {
        with.entry(m.conversation_id)
            .or_default()
            .push(names.get(&m.user_id).cloned().unwrap_or_default());
    }
    Ok(convs
        .into_iter()
        .map(|c| ConversationRow {
            unread: match read.get(&c.id) {
                Some(Some(t)) => *t < c.last_message_at,
                _ => true,
            },
            id: c.id,
            subject: c.subject,
            kind: c.kind,
            last_message_at: crate::interaction::util::fmt(&c.last_message_at),
            with: with.remove(&c.id).unwrap_or_default(),
        })
        .collect())
}

async fn member(db: &impl ConnectionTrait, user_id: i64, id: i64) -> AppResult<()> {
    conversation_members::Entity::find_by_id((id, user_id))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The members of a conversation as `viewer` sees them: role, whether they advise a student
/// member, and the courses (titles in `zh` or English) one of them teaches the other.
async fn member_views(
    db: &impl ConnectionTrait,
    viewer: i64,
    member_ids: &[i64],
    zh: bool,
) -> AppResult<Vec<MemberView>> {
    use crate::entity::{courses, users};
    let people: Vec<(i64, String, String)> = users::Entity::find()
        .filter(users::Column::Id.is_in(member_ids.iter().copied()))
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::DisplayName)
        .column(users::Column::Kind)
        .order_by_asc(users::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    // (student record, its account, its advisor) of the student members.
    let records: Vec<(i64, Option<i64>, Option<i64>)> = students::Entity::find()
        .filter(students::Column::UserId.is_in(member_ids.iter().copied()))
        .select_only()
        .column(students::Column::Id)
        .column(students::Column::UserId)
        .column(students::Column::AdvisorId)
        .into_tuple()
        .all(db)
        .await?;
    let account: HashMap<i64, i64> = records
        .iter()
        .filter_map(|(sid, uid, _)| uid.map(|u| (*sid, u)))
        .collect();
    let advisors: BTreeSet<i64> = records
        .iter()
        .filter_map(|(_, _, a)| *a)
        .filter(|a| member_ids.contains(a))
        .collect();
    // (student record, teacher, code, title zh, title en) of the members' shared sections.
    let taught: Vec<(i64, Option<i64>, String, String, String)> = enrolments::Entity::find()
        .inner_join(sections::Entity)
        .join(
            sea_orm::JoinType::InnerJoin,
            sea_orm::RelationTrait::def(&sections::Relation::Courses),
        )
        .filter(enrolments::Column::StudentId.is_in(account.keys().copied()))
        .filter(enrolments::Column::Status.ne("dropped"))
        .filter(sections::Column::TeacherId.is_in(member_ids.iter().copied()))
        .select_only()
        .column(enrolments::Column::StudentId)
        .column(sections::Column::TeacherId)
        .column(courses::Column::Code)
        .column(courses::Column::TitleZh)
        .column(courses::Column::TitleEn)
        .order_by_asc(courses::Column::Code)
        .into_tuple()
        .all(db)
        .await?;
    let mut shared: HashMap<i64, Vec<String>> = HashMap::new();
    for (student, teacher, code, title_zh, title_en) in taught {
        let (Some(student_user), Some(teacher)) = (account.get(&student).copied(), teacher) else {
            continue;
        };
        let other = match (student_user == viewer, teacher == viewer) {
            (true, false) => teacher,
            (false, true) => student_user,
            _ => continue,
        };
        let label = format!("{code} {}", if zh { title_zh } else { title_en });
        let list = shared.entry(other).or_default();
        if !list.contains(&label) {
            list.push(label);
        }
    }
    Ok(people
        .into_iter()
        .map(|(user_id, name, role)| MemberView {
            user_id,
            name,
            role,
            advisor: advisors.contains(&user_id),
            courses: shared.remove(&user_id).unwrap_or_default(),
        })
        .collect())
}

/// One conversation, for its members only (404 for anyone else); marks it read. Course titles
/// in `lang`.
pub async fn show(
    db: &impl ConnectionTrait,
    user_id: i64,
    id: i64,
    lang: crate::i18n::Lang,
) -> AppResult<ConversationView> {
    member(db, user_id, id).await?;
    let c = conversations::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let msgs = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(id))
        .order_by_asc(messages::Column::SentAt)
        .order_by_asc(messages::Column::Id)
        .all(db)
        .await?;
    let member_ids: Vec<i64> = conversation_members::Entity::find()
        .filter(conversation_members::Column::ConversationId.eq(id))
        .select_only()
        .column(conversation_members::Column::UserId)
        .into_tuple()
        .all(db)
        .await?;
    let names = crate::interaction::util::user_names(db, member_ids.iter().copied()).await?;
    let people = member_views(db, user_id, &member_ids, lang == crate::i18n::Lang::Zh).await?;
    conversation_members::Entity::update_many()
        .col_expr(conversation_members::Column::LastReadAt, Expr::value(now()))
        .filter(conversation_members::Column::ConversationId.eq(id))
        .filter(conversation_members::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(ConversationView {
        id: c.id,
        subject: c.subject,
        kind: c.kind,
        members: member_ids
            .iter()
            .filter_map(|u| names.get(u).cloned())
            .collect(),
        people,
        messages: msgs
            .into_iter()
            .map(|m| MessageView {
                id: m.id,
                sender_id: m.sender_id,
                sender: names.get(&m.sender_id).cloned().unwrap_or_default(),
                body: m.body,
                sent_at: crate::interaction::util::fmt(&m.sent_at),
                mine: m.sender_id == user_id,
            })
            .collect(),
    })
}

/// Adds a message to a conversation the caller is a member of.
pub async fn reply(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: i64,
    body: &str,
) -> AppResult<i64> {
    let body = text("body", body, 5000)?;
    let txn = write_txn(db).await?;
    member(&txn, user.id, id).await?;
    let at = now();
    let m = messages::ActiveModel {
        conversation_id: Set(id),
        sender_id: Set(user.id),
        body: Set(body),
        sent_at: Set(at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    conversations::Entity::update_many()
        .col_expr(conversations::Column::LastMessageAt, Expr::value(at))
        .filter(conversations::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    conversation_members::Entity::update_many()
        .col_expr(conversation_members::Column::LastReadAt, Expr::value(at))
        .filter(conversation_members::Column::ConversationId.eq(id))
        .filter(conversation_members::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    Entry::new(Some(user.id), "messages.send", "conversation")
        .id(id)
        .detail(json!({"message": m.id}))
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(m.id)
}

/// Saves a filter of the student list as a segment owned by the caller.
pub async fn save_segment(
    db: &DatabaseConnection,
    user: &CurrentUser,
    name: &str,
    filter: &StudentFilter,
) -> AppResult<segments::Model> {
    Scope::of(user)?;
    let name = text("name", name, 100)?;
    let mut f = filter.clone();
    f.page = None;
    f.per_page = None;
    let txn = write_txn(db).await?;
    let s = segments::ActiveModel {
        name: Set(name),
        owner_id: Set(user.id),
        filter: Set(serde_json::to_string(&f).map_err(AppError::internal)?),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    Entry::new(Some(user.id), "segments.save", "segment")
        .id(s.id)
        .write(&txn)
        .await?;
    txn.commit().await?;
    Ok(s)
}

pub async fn my_segments(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> AppResult<Vec<segments::Model>> {
    Ok(segments::Entity::find()
        .filter(segments::Column::OwnerId.eq(user_id))
        .order_by_asc(segments::Column::Name)
        .all(db)
        .await?)
}

/// The sections a teacher teaches this term, as `{id, label}` for the message form.
pub async fn teacher_sections(
    db: &impl ConnectionTrait,
    teacher_id: i64,
    zh: bool,
) -> AppResult<Vec<serde_json::Value>> {
    use crate::entity::{courses, sections, terms};
    let list = sections::Entity::find()
        .inner_join(terms::Entity)
        .filter(terms::Column::IsCurrent.eq(true))
        .filter(sections::Column::TeacherId.eq(teacher_id))
        .order_by_asc(sections::Column::Id)
        .find_also_related(courses::Entity)
        .all(db)
        .await?;
    Ok(list
        .into_iter()
        .map(|(s, c)| {
            let label = c
                .map(|c| {
                    let title = if zh { c.title_zh } else { c.title_en };
                    format!("{}-{} {title}", c.code, s.section_no)
                })
                .unwrap_or_default();
            json!({"id": s.id, "label": label})
        })
        .collect())
}

/// The student with this number: `Some(-1)` (matches nobody) when none has it, `None` when no
/// number was given.
pub async fn student_by_number(db: &impl ConnectionTrait, no: &str) -> AppResult<Option<i64>> {
    let no = no.trim();
    if no.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        students::Entity::find()
            .filter(students::Column::StudentNo.eq(no))
            .one(db)
            .await?
            .map(|s| s.id)
            .unwrap_or(-1),
    ))
}

/// Someone a student may write to, with why: their advisor, and/or the teacher of courses.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub advisor: bool,
    /// "CODE Title" of the student's (not dropped) courses this person teaches.
    pub courses: Vec<String>,
}

/// The people a student may write to (see [`student_contacts`]), with their role and courses.
pub async fn contact_options(
    db: &impl ConnectionTrait,
    student_id: i64,
    zh: bool,
) -> AppResult<Vec<Contact>> {
    use crate::entity::courses;
    let taught = sections::Entity::find()
        .inner_join(enrolments::Entity)
        .filter(enrolments::Column::StudentId.eq(student_id))
        .filter(enrolments::Column::Status.ne("dropped"))
        .find_also_related(courses::Entity)
        .all(db)
        .await?;
    let advisor = students::Entity::find_by_id(student_id)
        .one(db)
        .await?
        .and_then(|s| s.advisor_id);
    let mut by_person: std::collections::BTreeMap<i64, Contact> = Default::default();
    for (s, c) in taught {
        let (Some(teacher), Some(c)) = (s.teacher_id, c) else {
            continue;
        };
        let label = format!("{} {}", c.code, if zh { c.title_zh } else { c.title_en });
        let entry = by_person.entry(teacher).or_insert_with(|| Contact {
            id: teacher,
            name: String::new(),
            advisor: false,
            courses: Vec::new(),
        });
        if !entry.courses.contains(&label) {
            entry.courses.push(label);
        }
    }
    if let Some(a) = advisor {
        by_person
            .entry(a)
            .or_insert_with(|| Contact {
                id: a,
                name: String::new(),
                advisor: false,
                courses: Vec::new(),
            })
            .advisor = true;
    }
    let names = crate::interaction::util::user_names(db, by_person.keys().copied()).await?;
    Ok(by_person
        .into_values()
        .map(|mut c| {
            c.name = names.get(&c.id).cloned().unwrap_or_default();
            c
        })
        .collect())
}
