//! Charts drawn on the server (HTML text and SVG shapes): readable without JavaScript and without
//! any CDN.
//! Every label is escaped here, so templates may insert the result with `| safe`.

use crate::web::escape;

/// A horizontal bar chart, one bar per (label, value). The labels and values are HTML text, so
/// they are the size of the body text and wrap on a phone; only each bar is a small SVG.
pub fn bar_chart(bars: &[(String, f64)], value_suffix: &str) -> String {
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let mut html = String::from(r#"<ul class="chart barchart">"#);
    for (label, value) in bars {
        let pct = (value / max * 100.0).clamp(0.5, 100.0);
        html.push_str(&format!(
            r#"<li><span class="bar-label">{label}</span><svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect x="0" y="0" width="{pct:.1}" height="10" class="chart-bar"/></svg><span class="bar-value">{value}{suffix}</span></li>"#,
            label = escape(label),
            value = format_value(*value),
            suffix = escape(value_suffix),
        ));
    }
    html.push_str("</ul>");
    html
}

fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

const COLOURS: [&str; 6] = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#9c36b5", "#e67700", "#0c8599",
];

/// The range an axis shows: from the lowest to the highest value within Tukey's far-out fences
/// (3 × the interquartile range beyond the quartiles), so one student far away does not squeeze
/// everybody else into a dot; with nobody that far out, the data's own range.
pub fn robust_range(values: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let (Some(&lo), Some(&hi)) = (v.first(), v.last()) else {
        return (-1.0, 1.0);
    };
    if hi <= lo {
        return (lo - 1.0, hi + 1.0);
    }
    let q = |p: f64| {
        let i = p * (v.len() - 1) as f64;
        let (a, b) = (i.floor() as usize, i.ceil() as usize);
        v[a] + (v[b] - v[a]) * (i - a as f64)
    };
    let (q1, q3) = (q(0.25), q(0.75));
    let iqr = q3 - q1;
    if iqr <= 0.0 {
        return (lo, hi);
    }
    let (fence_lo, fence_hi) = (q1 - 3.0 * iqr, q3 + 3.0 * iqr);
    let mut inside = v.iter().filter(|x| **x >= fence_lo && **x <= fence_hi);
    match (inside.next(), inside.next_back()) {
        (Some(&a), Some(&b)) if b > a => (a, b),
        _ => (lo, hi),
    }
}

/// A scatter of `(x, y, group)` points (the cluster chart), with one legend line per group.
/// Points beyond `robust_range` are drawn at the edge as open circles, and `clipped_note`
/// (with `{n}` replaced by their count) says so in a paragraph under the chart.
pub fn scatter(points: &[(f64, f64, usize)], legend: &[String], clipped_note: &str) -> String {
    let pts: Vec<(f64, f64, usize)> = points
        .iter()
        .copied()
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
        .collect();
    let (w, h, pad) = (520.0, 360.0, 20.0);
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let (x0, x1) = robust_range(&xs);
    let (y0, y1) = robust_range(&ys);
    let clipped = pts
        .iter()
        .filter(|(x, y, _)| *x < x0 || *x > x1 || *y < y0 || *y > y1)
        .count();
    let mut svg = format!(
        r##"<svg class="chart scatter" role="img" aria-label="{label}" viewBox="0 0 {w} {h}" width="{w}" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="0" width="{w}" height="{h}" fill="none" stroke="#d0d7de"/>"##,
        label = escape(&legend.join("; "))
    );
    for (x, y, c) in &pts {
        let out = *x < x0 || *x > x1 || *y < y0 || *y > y1;
        let cx = pad + (x.clamp(x0, x1) - x0) / (x1 - x0) * (w - 2.0 * pad);
        let cy = h - pad - (y.clamp(y0, y1) - y0) / (y1 - y0) * (h - 2.0 * pad);
        let colour = COLOURS[c % COLOURS.len()];
        if out {
            svg.push_str(&format!(
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4.5" fill="none" stroke="{colour}" stroke-width="1.6" class="clipped"/>"#
            ));
        } else {
            svg.push_str(&format!(
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3" fill="{colour}" fill-opacity="0.65"/>"#
            ));
        }
    }
    svg.push_str("</svg>");
    // NOTE: the legend is HTML so long cluster descriptions wrap on a phone.
    svg.push_str(r#"<ul class="chart-legend">"#);
    for (i, label) in legend.iter().enumerate() {
        svg.push_str(&format!(
            r#"<li><span class="swatch c{}" aria-hidden="true"></span>{}</li>"#,
            i % COLOURS.len(),
            escape(label)
        ));
    }
    svg.push_str("</ul>");
    if clipped > 0 {
        svg.push_str(&format!(
            r#"<p class="chart-note">{}</p>"#,
            escape(&clipped_note.replace("{n}", &clipped.to_string()))
        ));
    }
    svg
}

/// A line chart: one line per `(name, points)` over the same x axis (ticks at `x_ticks`), y
/// from `y_range.0` to `y_range.1` with a grid line every `y_step`. The legend is HTML, as in
/// [`scatter`], and each line also has its own marker shape so colour is not the only cue.
pub fn line_chart(
    series: &[(String, Vec<(f64, f64)>)],
    x_ticks: &[f64],
    y_range: (f64, f64),
    y_step: f64,
    label: &str,
) -> String {
    let (w, h) = (520.0, 300.0);
    let (left, right, top, bottom) = (44.0, 16.0, 12.0, 30.0);
    let (x0, x1) = match (x_ticks.first(), x_ticks.last()) {
        (Some(&a), Some(&b)) if b > a => (a, b),
        (Some(&a), _) => (a - 1.0, a + 1.0),
        _ => (0.0, 1.0),
    };
    let (y0, y1) = if y_range.1 > y_range.0 {
        y_range
    } else {
        (0.0, 1.0)
    };
    let px = |x: f64| left + (x.clamp(x0, x1) - x0) / (x1 - x0) * (w - left - right);
    let py = |y: f64| h - bottom - (y.clamp(y0, y1) - y0) / (y1 - y0) * (h - top - bottom);
    let mut svg = format!(
        r##"<svg class="chart lines" role="img" aria-label="{label}" viewBox="0 0 {w} {h}" width="{w}" xmlns="http://www.w3.org/2000/svg">"##,
        label = escape(label)
    );
    let steps = if y_step > 0.0 {
        ((y1 - y0) / y_step).round() as usize
    } else {
        0
    };
    for i in 0..=steps.min(20) {
        let v = y0 + i as f64 * y_step;
        let y = py(v);
        svg.push_str(&format!(
            r##"<line x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#d0d7de"/><text x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11">{v}</text>"##,
            x2 = w - right,
            tx = left - 6.0,
            ty = y + 4.0,
            v = if y_step >= 0.1 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        ));
    }
    for &t in x_ticks {
        svg.push_str(&format!(
            r#"<text x="{x:.1}" y="{y}" text-anchor="middle" font-size="11">{t}</text>"#,
            x = px(t),
            y = h - 10.0,
            t = format_value(t)
        ));
    }
    for (i, (_, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if i == 0 {
            ""
        } else {
            r#" stroke-dasharray="6 4""#
        };
        svg.push_str(&format!(
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        ));
        for (x, y) in points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
        {
            let (cx, cy) = (px(*x), py(*y));
            let marker = match i % 3 {
                0 => format!(r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{colour}"/>"#),
                1 => format!(
                    r#"<rect x="{:.1}" y="{:.1}" width="7" height="7" fill="{colour}"/>"#,
                    cx - 3.5,
                    cy - 3.5
                ),
                _ => format!(
                    r#"<polygon points="{cx:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="{colour}"/>"#,
                    cy - 4.5,
                    cx - 4.5,
                    cy + 3.5,
                    cx + 4.5,
                    cy + 3.5
                ),
            };
            svg.push_str(&marker);
        }
    }
    svg.push_str("</svg>");
    svg.push_str(r#"<ul class="chart-legend">"#);
    for (i, (name, _)) in series.iter().enumerate() {
        svg.push_str(&format!(
            r#"<li><span class="swatch c{}" aria-hidden="true"></span>{}</li>"#,
            i % COLOURS.len(),
            escape(name)
        ));
    }
    svg.push_str("</ul>");
    svg
}
