//! The analysis store for the value matrix, the course portfolio, satisfaction and retention:
//! fact tables a snapshot writes in the same transaction as the others (the value matrix's
//! also whenever the matrix is computed), and on each snapshot the version of the facts it
//! wrote (1: the first store; 2: these tables too), so a page reads only facts that exist.
//!
//! - analysis_value_facts: per computed term × advisor (0: none) × cell × the cell of the
//!   computed term before ('' none), the students and when the term was computed;
//! - analysis_course_facts: per term × course, registrations, waitlisted, drops, published
//!   grades, passed ones and their scores added up in hundredths of a point;
//! - analysis_survey_facts: per term × course × answers a section received, the sections, their
//!   enrolled students, submissions and the sum of "overall" (so any anonymity floor applies
//!   when read);
//! - analysis_case_facts: per term × department, cases closed in the term's window, rated, and
//!   the sum of ratings;
//! - analysis_retention_facts: per term × department × major × cohort × advisor, the students
//!   and those still enrolled at the term's end;
//! - analysis_leaving_facts: per department × major × cohort × advisor × status left for, the
//!   students.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000001_analysis_store_pages"
    }
}

#[derive(DeriveIden)]
enum AnalysisSnapshots {
    Table,
    Facts,
}

#[derive(DeriveIden)]
enum AnalysisValueFacts {
    Table,
    Id,
    TermId,
    AdvisorId,
    Cell,
    PreviousCell,
    Students,
    ComputedAt,
}

#[derive(DeriveIden)]
enum AnalysisCourseFacts {
    Table,
    Id,
    TermId,
    CourseId,
    Registrations,
    Waitlisted,
    Drops,
    Graded,
    Passed,
    ScoreHundredths,
}

#[derive(DeriveIden)]
enum AnalysisSurveyFacts {
    Table,
    Id,
    TermId,
    CourseId,
    Answers,
    Sections,
    Enrolled,
    Submitted,
    Overall,
}

#[derive(DeriveIden)]
enum AnalysisCaseFacts {
    Table,
    Id,
    TermId,
    DepartmentId,
    Closed,
    Rated,
    RatingTotal,
}

#[derive(DeriveIden)]
enum AnalysisRetentionFacts {
    Table,
    Id,
    TermId,
    DepartmentId,
    MajorId,
    CohortYear,
    AdvisorId,
    Students,
    Kept,
}

#[derive(DeriveIden)]
enum AnalysisLeavingFacts {
    Table,
    Id,
    DepartmentId,
    MajorId,
    CohortYear,
    AdvisorId,
    Reason,
    Students,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AnalysisSnapshots::Table)
                    .add_column(big_integer(AnalysisSnapshots::Facts).default(1))
                    .to_owned(),
            )
            .await?;
        use AnalysisValueFacts as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(big_pk_auto(V::Id))
                    .col(big_integer(V::TermId))
                    .col(big_integer(V::AdvisorId))
                    .col(string_len(V::Cell, 16))
                    .col(string_len(V::PreviousCell, 16))
                    .col(big_integer(V::Students))
                    .col(timestamp_with_time_zone(V::ComputedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            V::Table,
            "term",
            vec![V::TermId, V::AdvisorId],
            false,
        )
        .await?;
        use AnalysisCourseFacts as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(big_pk_auto(C::Id))
                    .col(big_integer(C::TermId))
                    .col(big_integer(C::CourseId))
                    .col(big_integer(C::Registrations).default(0))
                    .col(big_integer(C::Waitlisted).default(0))
                    .col(big_integer(C::Drops).default(0))
                    .col(big_integer(C::Graded).default(0))
                    .col(big_integer(C::Passed).default(0))
                    .col(big_integer(C::ScoreHundredths).default(0))
                    .to_owned(),
            )
            .await?;
        index(manager, C::Table, "key", vec![C::TermId, C::CourseId], true).await?;
        use AnalysisSurveyFacts as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(big_pk_auto(S::Id))
                    .col(big_integer(S::TermId))
                    .col(big_integer(S::CourseId))
                    .col(big_integer(S::Answers))
                    .col(big_integer(S::Sections).default(0))
                    .col(big_integer(S::Enrolled).default(0))
                    .col(big_integer(S::Submitted).default(0))
                    .col(big_integer(S::Overall).default(0))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            S::Table,
            "key",
            vec![S::TermId, S::CourseId, S::Answers],
            true,
        )
        .await?;
        use AnalysisCaseFacts as K;
        manager
            .create_table(
                Table::create()
                    .table(K::Table)
                    .col(big_pk_auto(K::Id))
                    .col(big_integer(K::TermId))
                    .col(big_integer(K::DepartmentId))
                    .col(big_integer(K::Closed).default(0))
                    .col(big_integer(K::Rated).default(0))
                    .col(big_integer(K::RatingTotal).default(0))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            K::Table,
            "key",
            vec![K::TermId, K::DepartmentId],
            true,
        )
        .await?;
        use AnalysisRetentionFacts as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(big_pk_auto(R::Id))
                    .col(big_integer(R::TermId))
                    .col(big_integer(R::DepartmentId))
                    .col(big_integer(R::MajorId))
                    .col(big_integer(R::CohortYear))
                    .col(big_integer(R::AdvisorId))
                    .col(big_integer(R::Students).default(0))
                    .col(big_integer(R::Kept).default(0))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            R::Table,
            "key",
            vec![
                R::TermId,
                R::DepartmentId,
                R::MajorId,
                R::CohortYear,
                R::AdvisorId,
            ],
            true,
        )
        .await?;
        use AnalysisLeavingFacts as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(big_pk_auto(L::Id))
                    .col(big_integer(L::DepartmentId))
                    .col(big_integer(L::MajorId))
                    .col(big_integer(L::CohortYear))
                    .col(big_integer(L::AdvisorId))
                    .col(string_len(L::Reason, 32))
                    .col(big_integer(L::Students).default(0))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            L::Table,
            "key",
            vec![
                L::DepartmentId,
                L::MajorId,
                L::CohortYear,
                L::AdvisorId,
                L::Reason,
            ],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AnalysisLeavingFacts::Table.into_iden(),
            AnalysisRetentionFacts::Table.into_iden(),
            AnalysisCaseFacts::Table.into_iden(),
            AnalysisSurveyFacts::Table.into_iden(),
            AnalysisCourseFacts::Table.into_iden(),
            AnalysisValueFacts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(AnalysisSnapshots::Table)
                    .drop_column(AnalysisSnapshots::Facts)
                    .to_owned(),
            )
            .await
    }
}
