//! The words an advisor reads beside a flag: only facts that speak for the risk (issue 17).

use srm::mining::features::FEATURES;
use srm::mining::reasons::top_reasons;

fn index(name: &str) -> usize {
    FEATURES.iter().position(|f| *f == name).expect("a feature")
}

/// A row of a student with a history, and every feature pushing the risk up by `weight`.
fn scored(set: &[(&str, f64)]) -> (Vec<f64>, Vec<(usize, f64)>) {
    let mut row = vec![0.0; FEATURES.len()];
    row[index("has_history")] = 1.0;
    row[index("prior_gpa")] = 2.1;
    row[index("gpa_trend")] = 0.4;
    for (name, value) in set {
        row[index(name)] = *value;
    }
    let contributions = (0..FEATURES.len()).map(|i| (i, 1.0)).collect();
    (row, contributions)
}

#[test]
fn a_count_of_zero_and_a_neutral_fact_are_never_a_reason() {
    let (row, contributions) = scored(&[
        ("term_late", 0.0),
        ("term_changes", 0.0),
        ("credits_attempted", 18.0),
        ("contacts", 3.0),
    ]);
    let reasons = top_reasons(&contributions, &row, FEATURES.len());
    let named: Vec<&str> = reasons.iter().map(|r| r.feature.as_str()).collect();
    for never in [
        "term_late",
        "term_changes",
        "credits_attempted",
        "credits_earned",
        "contacts",
        "has_history",
        "gpa_trend",
    ] {
        assert!(
            !named.contains(&never),
            "{never} offered as a reason: {named:?}"
        );
    }
    assert!(named.contains(&"prior_gpa"));
    for r in &reasons {
        assert!(
            !r.zh.contains(" 0 ") && !r.en.starts_with("0 "),
            "a zero: {}",
            r.en
        );
    }
}

#[test]
fn a_count_above_zero_and_a_falling_gpa_are_reasons_in_both_languages() {
    let (row, contributions) = scored(&[("term_late", 2.0), ("gpa_trend", -0.6)]);
    let reasons = top_reasons(&contributions, &row, FEATURES.len());
    let late = reasons
        .iter()
        .find(|r| r.feature == "term_late")
        .expect("late work is a reason");
    assert!(late.en.contains('2') && late.zh.contains('2'));
    let gpa = reasons
        .iter()
        .find(|r| r.feature == "gpa_trend")
        .expect("a falling GPA is a reason");
    assert!(gpa.en.contains("0.60"));
}
