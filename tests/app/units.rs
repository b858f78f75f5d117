//! Tests of the pure functions under the services (scales, GPA, statistics, timetables,
//! packed readers), with no database or HTTP: they live in this one test binary because the
//! library is built without a test harness of its own.

/// `attendance/meetings.rs`
mod attendance_meetings {
    use chrono::NaiveDate;
    use srm::attendance::meetings::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn weeks_count_from_the_first_day_of_the_term() {
        // 2026-09-07 is a Monday.
        assert_eq!(date_of(d(2026, 9, 7), 1, 1), Some(d(2026, 9, 7)));
        assert_eq!(date_of(d(2026, 9, 7), 2, 3), Some(d(2026, 9, 16)));
        // A term starting on a Wednesday: week 1's Monday is the Monday after.
        assert_eq!(date_of(d(2026, 9, 9), 1, 1), Some(d(2026, 9, 14)));
        assert_eq!(date_of(d(2026, 9, 9), 1, 3), Some(d(2026, 9, 9)));
        assert_eq!(date_of(d(2026, 9, 9), 0, 3), None);
    }

    #[test]
    fn dates_are_sorted_and_inside_the_term() {
        let p = Pattern {
            weekday: 2,
            start_period: 1,
            end_period: 2,
            start_week: 1,
            end_week: 3,
        };
        let q = Pattern { weekday: 4, ..p };
        let got = dates(d(2026, 9, 7), d(2026, 9, 20), &[q, p]);
        assert_eq!(
            got,
            vec![
                d(2026, 9, 8),
                d(2026, 9, 10),
                d(2026, 9, 15),
                d(2026, 9, 17)
            ]
        );
        assert_eq!(patterns_on(d(2026, 9, 7), d(2026, 9, 10), &[q, p]), vec![q]);
    }
}

/// `courses/timetable.rs`
mod courses_timetable {
    #[test]
    fn periods_have_clock_times() {
        assert_eq!(
            srm::courses::timetable::clock(1, 2).as_deref(),
            Some("08:00–09:35")
        );
        assert_eq!(
            srm::courses::timetable::clock(6, 6).as_deref(),
            Some("14:00–14:45")
        );
        assert_eq!(srm::courses::timetable::clock(0, 2), None);
        assert_eq!(srm::courses::timetable::clock(1, 13), None);
    }
}

/// `mining/features.rs`
mod mining_features {
    use srm::mining::features::*;

    /// Entries with a field too few or too many, or a day that is not one, fail the read with
    /// the first of them named; the others are kept, a year past 9999 included (with its sign,
    /// as sqlx writes it). Without the sign, BC or infinite (PostgreSQL's own text) it does not
    /// read.
    #[test]
    fn a_packed_entry_that_does_not_read_is_named_once_the_read_is_over() {
        let packed = "1,2024-09-01,absent;2,2024-09-0x,late;3,2024-09-02;4,2024-09-03,late,x;\
                      5,+12024-01-01,late;6,12024-01-02,late;7,0044-03-15 BC,late;8,infinity,late";
        let mut entries = Entries::default();
        let mut kept = Vec::new();
        entries.each(packed, read_dated, |(student, day, mark)| {
            kept.push((student, day.to_string(), mark))
        });
        assert_eq!(
            kept,
            [
                (1, "2024-09-01".to_string(), "absent"),
                (5, "+12024-01-01".to_string(), "late")
            ]
        );
        let refused = entries
            .read("an attendance mark")
            .map_err(|e| e.to_string());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("an attendance mark") && e.contains("2,2024-09-0x,late")),
            "{refused:?}"
        );
        assert!(Entries::default().read("nothing").is_ok());
    }

    /// A date-time reads as sqlx reads it from SQLite, in every form it takes.
    #[test]
    fn a_packed_date_time_reads_in_every_form_sqlite_may_hold() {
        let at = |text: &str| read_time(text).map(|t| t.to_rfc3339());
        for (text, read) in [
            (
                "2024-08-17T00:08:33.123456+08:00",
                "2024-08-17T00:08:33.123456+08:00",
            ),
            ("2024-09-01 08:00:00", "2024-09-01T08:00:00+00:00"),
            ("2024-09-01T08:00", "2024-09-01T08:00:00+00:00"),
            ("2024-09-01 08:00+02:00", "2024-09-01T08:00:00+02:00"),
            ("1725177600", "2024-09-01T08:00:00+00:00"),
            ("2460554.5", "2024-09-01T00:00:00+00:00"),
            (
                "+12024-01-01T00:00:00.000000+00:00",
                "+12024-01-01T00:00:00+00:00",
            ),
        ] {
            assert_eq!(at(text).as_deref(), Some(read), "{text}");
        }
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "NaN",
            "1e300",
            "12024-01-01T00:00:00.000000+00:00",
            "infinity",
            "-infinity",
            "0044-03-15 00:00:00+00 BC",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}

/// `grades/stats.rs`
mod grades_stats {
    use srm::grades::stats::summarise;

    #[test]
    fn one_pass_statistics_match_hand_computed_values() {
        // Scores 40, 60, 60, 95 and 100: mean 71, median 60, population sd sqrt(2620 / 5) = 22.89.
        let s = summarise(&[
            (40.0, 1, Some(0)),
            (60.0, 2, Some(2)),
            (95.0, 1, Some(1)),
            (100.0, 1, Some(1)),
        ]);
        assert_eq!(
            (s.count, s.mean, s.median, s.std_dev),
            (5, Some(71.0), Some(60.0), Some(22.89))
        );
        assert_eq!(
            (s.min, s.max, s.pass_rate),
            (Some(40.0), Some(100.0), Some(0.8))
        );
        let bins: Vec<i64> = s.histogram.iter().map(|b| b.count).collect();
        assert_eq!(bins, vec![0, 0, 0, 0, 1, 0, 2, 0, 0, 2]);
        assert_eq!(summarise(&[]).mean, None);
    }
}

/// `grades/gpa.rs`
mod grades_gpa {
    use srm::grades::gpa::*;

    fn at(id: i64, course: i64, seq: i64, credits: f64, points: f64) -> Attempt {
        Attempt {
            grade_id: id,
            course_id: course,
            term_seq: seq,
            credits,
            points,
        }
    }

    #[test]
    fn a_retake_replaces_the_earlier_attempt_and_zero_credit_courses_do_not_count() {
        let a = [
            at(1, 10, 1, 3.0, 0.0), // failed
            at(2, 11, 1, 2.0, 4.0), // A
            at(3, 12, 1, 0.0, 1.0), // zero credits
            at(4, 10, 2, 3.0, 3.0), // retake: B
        ];
        assert_eq!(superseded(&a), vec![1]);
        // (3×3 + 2×4) / 5 = 3.4
        assert_eq!(cumulative(&a).map(round2), Some(3.4));
        // term 1 counts what was earned then: (0 + 8) / 5 = 1.6
        assert_eq!(gpa_of(a.iter().filter(|x| x.term_seq == 1)), Some(1.6));
        assert_eq!(gpa_of(&[at(9, 1, 1, 0.0, 4.0)]), None);
    }
}

/// `grades/scale.rs`
mod grades_scale {
    use srm::grades::scale::*;

    #[test]
    fn the_builtin_scale_maps_scores_to_letters() {
        let s = Scale::builtin();
        assert_eq!(s.band(95.0), ("A".into(), 4.0));
        assert_eq!(s.band(84.9), ("B+".into(), 3.3));
        assert_eq!(s.band(60.0), ("D".into(), 1.0));
        assert_eq!(s.band(59.9), ("F".into(), 0.0));
        assert!(s.passes(60.0) && !s.passes(59.5));
        assert!(s.validate().is_ok());
    }
}

/// `grades/csv_import.rs`
mod grades_csv_import {
    use srm::grades::csv_import::*;
    use srm::i18n::Lang;

    #[test]
    fn reads_chinese_headers_and_reports_lines() {
        let p = parse("学号;成绩\n001;90\n002;\n".as_bytes(), Lang::Zh).unwrap_or_default();
        assert!(p.unreadable.is_empty());
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[1].line, 3);
        assert!(p.rows[1].score.is_none());
        assert_eq!(p.labels.map(|l| l.score), Some("成绩".to_string()));
        assert!(parse(b"name,x\n", Lang::En).is_err());
    }
}

/// `grades/assess.rs`
mod grades_assess {
    use srm::grades::assess::weighted;

    #[test]
    fn weights_are_normalised_and_missing_scores_count_zero() {
        // homework 20% 80/100, midterm 30% 35/50 (=70), final 50% 90 → 16 + 21 + 45 = 82
        let p = [
            (20.0, 100.0, Some(80.0)),
            (30.0, 50.0, Some(35.0)),
            (50.0, 100.0, Some(90.0)),
        ];
        assert_eq!(weighted(&p), Some(82.0));
        let f = [
            (0.2, 100.0, Some(80.0)),
            (0.3, 50.0, Some(35.0)),
            (0.5, 100.0, Some(90.0)),
        ];
        assert_eq!(weighted(&f), Some(82.0));
        assert_eq!(
            weighted(&[(1.0, 100.0, None), (1.0, 100.0, Some(90.0))]),
            Some(45.0)
        );
        assert_eq!(weighted(&[]), None);
    }
}

/// `analytics/sql.rs`
mod analytics_sql {
    use sea_orm::DbBackend;
    use srm::analytics::sql::*;

    #[test]
    fn postgres_placeholders_are_numbered_in_order() {
        let s = statement(
            DbBackend::Postgres,
            "SELECT 1 WHERE a = ? AND b = ?",
            vec![1i64.into(), 2i64.into()],
        );
        assert_eq!(s.sql, "SELECT 1 WHERE a = $1 AND b = $2");
        let s = statement(DbBackend::Sqlite, "SELECT ?", vec![1i64.into()]);
        assert_eq!(s.sql, "SELECT ?");
    }
}

/// `analytics/score.rs`
mod analytics_score {
    use srm::analytics::score::*;
    use srm::analytics::settings::{ValueSettings, Weights};

    #[test]
    fn a_student_without_data_sits_in_the_middle_of_standing() {
        let s = ValueSettings::default();
        let out = score(&Inputs::default(), &s);
        assert_eq!(out.standing, 50.0);
        // Contacts and messages are counts: zero is data.
        assert_eq!(out.relationship, 0.0);
    }

    #[test]
    fn weights_pick_what_counts() {
        let s = ValueSettings {
            weights: Weights {
                gpa: 1.0,
                trend: 0.0,
                credits: 0.0,
                attendance: 0.0,
                submissions: 0.0,
                ..Weights::default()
            },
            ..ValueSettings::default()
        };
        let i = Inputs {
            gpa: Some(3.0),
            meetings: 10,
            absences: 10,
            ..Inputs::default()
        };
        assert_eq!(score(&i, &s).standing, 75.0);
    }
}
