//! The saved scoring formulas in use: each mining run stores, per flag, the score of the active
//! formula that applied to the student (their department's, else the all-department one), whether
//! it flags them, and which formula it was.

use crate::common::index;
use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_formula_flags"
    }
}

#[derive(DeriveIden)]
enum RiskFlags {
    Table,
    RunId,
    FormulaId,
    FormulaScore,
    FormulaFlagged,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // NOTE: one column per statement; SQLite alters one thing at a time.
        for col in [
            big_integer_null(RiskFlags::FormulaId),
            double_null(RiskFlags::FormulaScore),
            boolean_null(RiskFlags::FormulaFlagged),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(RiskFlags::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        index(
            manager,
            RiskFlags::Table,
            "run_formula",
            vec![RiskFlags::RunId, RiskFlags::FormulaFlagged],
            false,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_risk_flags_run_formula")
                    .table(RiskFlags::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            RiskFlags::FormulaFlagged,
            RiskFlags::FormulaScore,
            RiskFlags::FormulaId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RiskFlags::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
