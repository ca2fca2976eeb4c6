//! Charts drawn with plotters' SVG backend into strings the HTML page embeds inline.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// A chart that could not be drawn (plotters reports drawing errors as text).
#[derive(Debug, thiserror::Error)]
#[error("could not draw the {chart} chart: {message}")]
pub struct ChartError {
    /// Which chart.
    pub chart: &'static str,
    /// What plotters said.
    pub message: String,
}

fn err(chart: &'static str) -> impl Fn(String) -> ChartError {
    move |message| ChartError { chart, message }
}

/// One bar: label, value, colour.
pub struct Bar {
    /// The category.
    pub label: String,
    /// Its count.
    pub value: f64,
    /// Its colour.
    pub color: RGBColor,
}

/// Severity colours, shared by the charts and the page's badges.
pub fn severity_color(s: infraqa_core::Severity) -> RGBColor {
    match s {
        infraqa_core::Severity::Critical => RGBColor(0x8b, 0x00, 0x00),
        infraqa_core::Severity::High => RGBColor(0xd9, 0x48, 0x1f),
        infraqa_core::Severity::Medium => RGBColor(0xe0, 0xa1, 0x00),
        infraqa_core::Severity::Low => RGBColor(0x4a, 0x7f, 0xb5),
    }
}

/// The neutral bar colour.
pub const NEUTRAL: RGBColor = RGBColor(0x3b, 0x6e, 0x8f);

/// A horizontal bar chart, one row per bar, in the given order.
pub fn bars(title: &str, bars: &[Bar], chart: &'static str) -> Result<String, ChartError> {
    let mut svg = String::new();
    let rows = bars.len().max(1);
    let height = 60 + 26 * rows as u32;
    let label_width = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40) as u32
        * 7
        + 10;
    {
        let root = SVGBackend::with_string(&mut svg, (560, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(chart)(e.to_string()))?;
        let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0) * 1.1;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..max, (0..rows as i32).into_segmented())
            .map_err(|e| err(chart)(e.to_string()))?;
        // Row 0 is drawn at the bottom: reverse so the first bar is on top.
        let labels: Vec<String> = bars.iter().rev().map(|b| b.label.clone()).collect();
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels
                    .get(usize::try_from(*i).unwrap_or(usize::MAX))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(|e| err(chart)(e.to_string()))?;
        c.draw_series(bars.iter().rev().enumerate().map(|(i, b)| {
            let i = i as i32;
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (b.value, SegmentValue::Exact(i + 1)),
                ],
                b.color.filled(),
            );
            r.set_margin(3, 3, 0, 0);
            r
        }))
        .map_err(|e| err(chart)(e.to_string()))?;
        root.present().map_err(|e| err(chart)(e.to_string()))?;
    }
    Ok(svg)
}

/// The compliance score over past runs (oldest first), 0-100.
pub fn score_trend(points: &[(String, f64)]) -> Result<String, ChartError> {
    const CHART: &str = "score trend";
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(CHART)(e.to_string()))?;
        let n = points.len().max(1);
        let mut c = ChartBuilder::on(&root)
            .caption("Compliance score per run", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(|e| err(CHART)(e.to_string()))?;
        let labels: Vec<String> = points.iter().map(|(l, _)| l.clone()).collect();
        c.configure_mesh()
            .x_labels(n.min(8))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                labels.get(i as usize).cloned().unwrap_or_default()
            })
            .y_desc("score")
            .draw()
            .map_err(|e| err(CHART)(e.to_string()))?;
        let line = RGBColor(0x1f, 0x6f, 0x43);
        c.draw_series(LineSeries::new(
            points.iter().enumerate().map(|(i, (_, s))| (i as f64, *s)),
            line.stroke_width(2),
        ))
        .map_err(|e| err(CHART)(e.to_string()))?;
        c.draw_series(
            points
                .iter()
                .enumerate()
                .map(|(i, (_, s))| Circle::new((i as f64, *s), 4, line.filled())),
        )
        .map_err(|e| err(CHART)(e.to_string()))?;
        root.present().map_err(|e| err(CHART)(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_lines_are_svg_with_their_labels() {
        let svg = bars(
            "By severity",
            &[
                Bar {
                    label: "critical".into(),
                    value: 3.0,
                    color: NEUTRAL,
                },
                Bar {
                    label: "low".into(),
                    value: 0.0,
                    color: NEUTRAL,
                },
            ],
            "test",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("critical") && svg.contains("By severity"));
        let line = score_trend(&[("11-01".into(), 50.0), ("11-02".into(), 75.0)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            line.contains("<polyline") || line.contains("<path"),
            "a line"
        );
        assert!(line.contains("11-02"));
        // An empty chart still draws (first run, nothing found).
        assert!(bars("none", &[], "empty").is_ok());
        assert!(score_trend(&[]).is_ok());
    }
}
