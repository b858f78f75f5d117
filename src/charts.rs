//! Charts drawn on the server as SVG: readable without JavaScript and without any CDN.
//! Every label is escaped here, so templates may insert the result with `| safe`.

use crate::web::escape;

/// A horizontal bar chart, one bar per (label, value).
pub fn bar_chart(bars: &[(String, f64)], value_suffix: &str) -> String {
    let row_h = 26.0;
    // Wide enough for the longest label (CJK characters count double), within reason.
    let widest = bars
        .iter()
        .map(|(l, _)| {
            l.chars()
                .map(|c| if c.is_ascii() { 1.0 } else { 2.0 })
                .sum::<f64>()
        })
        .fold(0.0_f64, f64::max);
    let label_w = (widest * 6.5 + 16.0).clamp(80.0, 320.0);
    let chart_w = 420.0;
    let height = (bars.len() as f64 * row_h + 10.0).max(40.0);
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut svg = format!(
        r#"<svg class="chart" role="img" viewBox="0 0 {w} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">"#,
        w = label_w + chart_w + 70.0
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let w = (value / max * chart_w).max(1.0);
        svg.push_str(&format!(
            r#"<text x="{lx}" y="{ty}" text-anchor="end" class="chart-label">{label}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{bh}" class="chart-bar"><title>{label}: {value}</title></rect><text x="{vx:.1}" y="{ty}" class="chart-value">{value}{suffix}</text>"#,
            lx = label_w - 8.0,
            ty = y + 15.0,
            label = escape(label),
            bh = row_h - 8.0,
            vx = label_w + w + 6.0,
            value = format_value(*value),
            suffix = escape(value_suffix),
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}
