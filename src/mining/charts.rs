//! The cluster chart: a 2-D PCA projection drawn as SVG on the server (numbers only, so the
//! result may be inserted with `| safe`; the legend text is escaped).

use crate::web::escape;
use serde_json::Value;

const COLOURS: [&str; 6] = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0c8599",
];

/// `points`: `[x, y, cluster]` triples; `legend`: one label per cluster.
pub fn scatter(points: &[Value], legend: &[String]) -> String {
    let pts: Vec<(f64, f64, usize)> = points
        .iter()
        .filter_map(|p| {
            Some((
                p.get(0)?.as_f64()?,
                p.get(1)?.as_f64()?,
                p.get(2)?.as_u64()? as usize,
            ))
        })
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
        .collect();
    let (w, h, pad) = (520.0, 360.0, 20.0);
    let span = |f: fn(&(f64, f64, usize)) -> f64| {
        let lo = pts.iter().map(f).fold(f64::INFINITY, f64::min);
        let hi = pts.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (-1.0, 1.0)
        }
    };
    let (x0, x1) = span(|p| p.0);
    let (y0, y1) = span(|p| p.1);
    let legend_h = 18.0 * legend.len() as f64;
    let mut svg = format!(
        r##"<svg class="chart" role="img" viewBox="0 0 {w} {th}" width="100%" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="0" width="{w}" height="{h}" fill="none" stroke="#d0d7de"/>"##,
        th = h + legend_h + 10.0
    );
    for (x, y, c) in &pts {
        let cx = pad + (x - x0) / (x1 - x0) * (w - 2.0 * pad);
        let cy = h - pad - (y - y0) / (y1 - y0) * (h - 2.0 * pad);
        svg.push_str(&format!(
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="2.6" fill="{}" fill-opacity="0.65"/>"#,
            COLOURS[c % COLOURS.len()]
        ));
    }
    for (i, label) in legend.iter().enumerate() {
        let y = h + 16.0 + i as f64 * 18.0;
        svg.push_str(&format!(
            r#"<rect x="6" y="{ry:.1}" width="10" height="10" fill="{}"/><text x="22" y="{y:.1}" class="chart-label">{}</text>"#,
            COLOURS[i % COLOURS.len()],
            escape(label),
            ry = y - 9.0
        ));
    }
    svg.push_str("</svg>");
    svg
}
