//! `loadgen chart`: latency against offered load, one line per server, from the JSON lines of
//! a sweep (bench/sweep.sh): p50 above, p99 below, both axes logarithmic. Each point is the
//! median of that server's runs at that load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;
use serde_json::Value;

use crate::report::{median, side};

/// One server's line: offered deliveries/s → its runs' (p50, p99) in ms.
type Line = BTreeMap<u64, Vec<(f64, f64)>>;

/// Which of a run's (p50, p99) a panel shows.
type Pick = fn(&(f64, f64)) -> f64;

/// The servers in the order they are drawn, with their colours; others are skipped.
const SERVERS: [(&str, RGBColor); 4] = [
    ("hub", RGBColor(0xd6, 0x27, 0x28)),
    ("minimal", RGBColor(0x55, 0x55, 0x55)),
    ("nats", RGBColor(0x1f, 0x77, 0xb4)),
    ("redis", RGBColor(0x2c, 0xa0, 0x2c)),
];

/// Draw the sweep in `results` to the SVG file `out`.
pub fn draw(results: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let lines = read(results)?;
    anyhow::ensure!(
        !lines.is_empty(),
        "no chat runs with an offered load in the results"
    );
    let points = |server: &str, pick: Pick| -> Vec<(f64, f64)> {
        lines.get(server).map_or_else(Vec::new, |line| {
            line.iter()
                .filter_map(|(&load, runs)| {
                    let ms = median(runs.iter().map(pick).collect())?;
                    Some((load as f64, ms))
                })
                .collect()
        })
    };
    let loads = lines.values().flat_map(|l| l.keys().copied());
    let (lo, hi) = loads.fold((u64::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let root = SVGBackend::new(out, (900, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 1));
    let kinds: [(&str, Pick); 2] = [("p50", |r| r.0), ("p99", |r| r.1)];
    for (panel, (kind, pick)) in panels.iter().zip(kinds) {
        let ms: Vec<f64> = lines
            .values()
            .flat_map(|l| l.values().flatten().map(pick))
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .collect();
        let ms_lo = ms.iter().copied().fold(f64::INFINITY, f64::min) * 0.8;
        let ms_hi = ms.iter().copied().fold(0.0, f64::max) * 1.25;
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("chat latency {kind} against offered load (500 clients, 5 receivers)"),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (lo as f64 * 0.8..hi as f64 * 1.25).log_scale(),
                (ms_lo..ms_hi).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_desc("offered load, deliveries/s")
            .x_label_formatter(&|load| thousands(*load))
            .y_desc(format!("{kind} latency, ms"))
            .draw()?;
        for (server, colour) in SERVERS {
            let line = points(server, pick);
            if line.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(line.clone(), colour.stroke_width(2)))?
                .label(server)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present().context("writing the chart")?;
    Ok(())
}

/// 1000 as "1k", 200000 as "200k".
fn thousands(n: f64) -> String {
    if n >= 1000.0 {
        format!("{}k", (n / 1000.0).round())
    } else {
        format!("{}", n.round())
    }
}

/// The chat runs of `results` that name their offered load, by server.
fn read(results: &[PathBuf]) -> anyhow::Result<BTreeMap<String, Line>> {
    let mut lines: BTreeMap<String, Line> = BTreeMap::new();
    for path in results {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for json in text.lines().filter(|l| !l.trim().is_empty()) {
            let run: Value = serde_json::from_str(json)
                .with_context(|| format!("a line of {}", path.display()))?;
            let (Some(load), Some(p50), Some(p99)) = (
                run["offered_per_s"].as_f64(),
                run["p50_ms"].as_f64(),
                run["p99_ms"].as_f64(),
            ) else {
                continue;
            };
            lines
                .entry(side(&run).to_owned())
                .or_default()
                .entry(load.round() as u64)
                .or_default()
                .push((p50, p99));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_becomes_an_svg_with_a_line_per_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let results = dir.path().join("sweep.jsonl");
        let mut text = String::new();
        for (target, base) in [("hub", 0.2), ("minimal", 0.15), ("nats", 0.25)] {
            for load in [1000.0, 10000.0, 100000.0] {
                text += &format!(
                    "{{\"target\":\"{target}\",\"workload\":\"w4\",\"offered_per_s\":{load},\
                     \"p50_ms\":{},\"p99_ms\":{}}}\n",
                    base * load / 1000.0,
                    base * load / 100.0
                );
            }
        }
        // A fan-out run in the same file is not a point of the sweep.
        text += "{\"target\":\"hub\",\"workload\":\"w1\",\"rate_per_s\":9e6}\n";
        std::fs::write(&results, text).expect("write");
        let out = dir.path().join("sweep.svg");
        draw(&[results], &out).expect("draw");
        let svg = std::fs::read_to_string(&out).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        // Two panels, each with a line and a legend entry per server that ran.
        let strokes = |(_, c): (&str, RGBColor)| {
            let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
            svg.matches(&format!("<polyline fill=\"none\" opacity=\"1\" {stroke}"))
                .count()
        };
        let drawn: Vec<usize> = SERVERS.into_iter().map(strokes).collect();
        assert_eq!(drawn, [4, 4, 4, 0], "hub, minimal, nats, redis (no runs)");
        for name in ["hub", "minimal", "nats", "p50", "p99"] {
            assert!(svg.contains(name), "{name} missing");
        }
        assert!(!svg.contains("redis"), "no runs, no legend entry");
    }

    #[test]
    fn results_without_a_sweep_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let results = dir.path().join("w1.jsonl");
        std::fs::write(&results, "{\"target\":\"hub\",\"workload\":\"w1\"}\n").expect("write");
        let err = draw(&[results], &dir.path().join("x.svg")).expect_err("nothing to draw");
        assert!(err.to_string().contains("no chat runs"), "{err}");
    }
}
