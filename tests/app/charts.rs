//! The server-drawn charts: the cluster scatter stays readable when one student is far out
//! (clipped axes, said under the chart), and bar-chart text is HTML text, not shrunken SVG.

use srm::charts::{bar_chart, robust_range, scatter};

/// The `(cx, cy, clipped)` of every circle in a scatter.
fn circles(svg: &str) -> Vec<(f64, f64, bool)> {
    svg.split("<circle ")
        .skip(1)
        .map(|c| {
            let attr = |name: &str| {
                let start = c.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
                let len = c[start..].find('"').expect("end");
                c[start..start + len].parse::<f64>().expect("number")
            };
            (attr("cx"), attr("cy"), c.contains("class=\"clipped\""))
        })
        .collect()
}

/// 200 students spread over [-1, 1]², in two clusters.
fn crowd() -> Vec<(f64, f64, usize)> {
    (0..200)
        .map(|i| {
            let x = (i % 20) as f64 / 9.5 - 1.0;
            let y = (i / 20) as f64 / 4.5 - 1.0;
            (x, y, i % 2)
        })
        .collect()
}

fn span(v: impl Iterator<Item = f64> + Clone) -> f64 {
    v.clone().fold(f64::MIN, f64::max) - v.fold(f64::MAX, f64::min)
}

#[test]
fn one_student_far_out_does_not_squeeze_the_cluster_scatter_and_the_chart_says_so() {
    let mut pts = crowd();
    pts.push((500.0, -400.0, 1));
    let legend = vec![
        "1 (100) — steady".to_string(),
        "2 (101) — <late>".to_string(),
    ];
    let html = scatter(&pts, &legend, "{n} far out, drawn at the edge");
    let c = circles(&html);
    assert_eq!(c.len(), 201);
    let inside: Vec<&(f64, f64, bool)> = c.iter().filter(|p| !p.2).collect();
    assert_eq!(inside.len(), 200, "only the far-out student is clipped");
    // The plot is 480 × 320 units inside its padding: the crowd uses most of it.
    assert!(span(inside.iter().map(|p| p.0)) > 400.0, "x spread");
    assert!(span(inside.iter().map(|p| p.1)) > 250.0, "y spread");
    let out = c.iter().find(|p| p.2).expect("the clipped one");
    assert!(
        (out.0 - 500.0).abs() < 0.5 && (out.1 - 340.0).abs() < 0.5,
        "at the corner: {out:?}"
    );
    assert!(
        html.contains(r#"<p class="chart-note">1 far out, drawn at the edge</p>"#),
        "{html}"
    );
    assert!(html.contains("2 (101) — &lt;late&gt;"), "legend escaped");
}

#[test]
fn a_scatter_without_anyone_far_out_uses_the_whole_range_and_adds_no_note() {
    let html = scatter(&crowd(), &[], "{n} far out");
    let c = circles(&html);
    assert!(c.iter().all(|p| !p.2));
    assert!(
        (span(c.iter().map(|p| p.0)) - 480.0).abs() < 0.5,
        "edge to edge"
    );
    assert!(!html.contains("chart-note"));
    assert_eq!(robust_range(&[1.0, 2.0, 3.0, 4.0]), (1.0, 4.0));
    assert_eq!(robust_range(&[]), (-1.0, 1.0));
    assert_eq!(robust_range(&[2.0, 2.0]), (1.0, 3.0));
    assert_eq!(
        robust_range(&[1.0, 2.0, 3.0, 4.0, 1000.0]),
        (1.0, 4.0),
        "the far-out value is cut off"
    );
}

#[test]
fn bar_chart_labels_and_values_are_page_text_with_one_small_bar_each() {
    let html = bar_chart(
        &[
            ("计算机学院".to_string(), 120.0),
            ("<Law>".to_string(), 30.0),
        ],
        "%",
    );
    assert!(html.starts_with(r#"<ul class="chart barchart">"#), "{html}");
    assert!(html.contains(r#"<span class="bar-label">计算机学院</span>"#));
    assert!(html.contains(r#"<span class="bar-label">&lt;Law&gt;</span>"#));
    assert!(html.contains(r#"<span class="bar-value">120%</span>"#));
    assert!(html.contains(r#"width="100.0""#) && html.contains(r#"width="25.0""#));
    assert!(!html.contains("<text"), "no text drawn inside SVG");
}
