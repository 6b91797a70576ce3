//! The markdown tables. The fan-out workloads: one row per workload, one column per server,
//! and the hub's ratio to each. The accounts-and-mailboxes workloads (durable, backlog, crowd):
//! a table each. Where a workload was run several times, each figure is the median of its runs.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

const TARGETS: [&str; 3] = ["hub", "nats", "redis"];

/// All results of a run, as parsed from the JSON lines.
struct Results {
    lines: Vec<Value>,
}

impl Results {
    /// Median of `field` (a JSON pointer) over the runs of `workload` against `target`.
    fn median(&self, target: &str, workload: &str, field: &str) -> Option<f64> {
        let mut values: Vec<f64> = self
            .lines
            .iter()
            .filter(|l| l["target"] == target && l["workload"] == workload)
            .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len().checked_sub(1)? / 2).copied()
    }

    /// Largest `field` over the runs (for losses: any loss shows).
    fn max(&self, target: &str, workload: &str, field: &str) -> Option<f64> {
        self.lines
            .iter()
            .filter(|l| l["target"] == target && l["workload"] == workload)
            .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
            .reduce(f64::max)
    }

    /// Whether every W6 run against `target` saw the slow receiver dropped.
    fn slow_dropped(&self, target: &str) -> Option<bool> {
        let runs: Vec<bool> = self
            .lines
            .iter()
            .filter(|l| l["target"] == target && l["workload"] == "w6")
            .filter_map(|l| l.pointer("/slow/dropped").and_then(Value::as_bool))
            .collect();
        (!runs.is_empty()).then(|| runs.iter().all(|&d| d))
    }

    fn iperf_gbytes(&self) -> Option<f64> {
        let mut values: Vec<f64> = self
            .lines
            .iter()
            .filter_map(|l| l.pointer("/iperf/end/sum_received/bits_per_second"))
            .filter_map(Value::as_f64)
            .map(|bps| bps / 8.0 / 1e9)
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len().checked_sub(1)? / 2).copied()
    }
}

/// How to show one row.
struct Row {
    title: &'static str,
    workload: &'static str,
    field: &'static str,
    scale: f64,
    digits: usize,
    /// Larger is better (throughput) or smaller is better (latency, memory).
    higher_better: bool,
}

const ROWS: [Row; 8] = [
    row(
        "W1 fan-out 6 B → 49, M deliveries/s",
        "w1",
        "/rate_per_s",
        1e-6,
        2,
        true,
    ),
    row(
        "W2 fan-out 2 KiB → 49, M deliveries/s",
        "w2",
        "/rate_per_s",
        1e-6,
        3,
        true,
    ),
    row(
        "W3 files 1 MiB → 255, GB/s",
        "w3",
        "/gbytes_per_s",
        1.0,
        2,
        true,
    ),
    row(
        "W3 server peak RSS, MiB",
        "w3",
        "/memory/peak_kib",
        1.0 / 1024.0,
        1,
        false,
    ),
    row("W4 chat p50 latency, ms", "w4", "/p50_ms", 1.0, 3, false),
    row("W4 chat p99 latency, ms", "w4", "/p99_ms", 1.0, 3, false),
    row("W4 chat max latency, ms", "w4", "/max_ms", 1.0, 2, false),
    row(
        "W5 RSS per idle connection, KiB",
        "w5",
        "/kib_per_connection",
        1.0,
        1,
        false,
    ),
];

const fn row(
    title: &'static str,
    workload: &'static str,
    field: &'static str,
    scale: f64,
    digits: usize,
    higher_better: bool,
) -> Row {
    Row {
        title,
        workload,
        field,
        scale,
        digits,
        higher_better,
    }
}

/// Render the table for the JSON lines in `paths`, taken together.
pub fn table(paths: &[PathBuf]) -> anyhow::Result<String> {
    let mut lines = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines.push(serde_json::from_str(line).with_context(|| format!("parsing {path:?}"))?);
        }
    }
    let r = Results { lines };
    let fan_out = r.lines.iter().any(|l| {
        l.get("iperf").is_some()
            || l["workload"]
                .as_str()
                .is_some_and(|w| w.len() == 2 && w.starts_with('w'))
    });
    let mut out = if fan_out {
        fan_out_table(&r)
    } else {
        String::new()
    };
    out += &crate::report_mailbox::tables(&r.lines);
    Ok(out)
}

fn fan_out_table(r: &Results) -> String {
    let mut out = String::from(
        "| workload | hub | NATS | Redis | hub vs NATS | hub vs Redis |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for row in &ROWS {
        out += &render_row(r, row);
    }
    out += &slow_row(r);
    out += &loss_row(r);
    if let Some(ceiling) = r.iperf_gbytes() {
        let hub = r.median("hub", "w3", "/gbytes_per_s").unwrap_or(f64::NAN);
        out += &format!(
            "| loopback ceiling (iperf3, 1 stream), GB/s | {ceiling:.2} | | | hub W3 = {:.0}% of it | |\n",
            100.0 * hub / ceiling
        );
    }
    out += "\nRatios are \"times better\": hub ÷ other for throughput, other ÷ hub for latency \
            and memory, so above 1 means the hub wins.\n";
    out
}

fn render_row(r: &Results, row: &Row) -> String {
    let values: Vec<Option<f64>> = TARGETS
        .iter()
        .map(|t| r.median(t, row.workload, row.field).map(|v| v * row.scale))
        .collect();
    let cell = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.*}", row.digits));
    let ratio = |other: Option<f64>| match (values[0], other) {
        (Some(h), Some(o)) if h > 0.0 && o > 0.0 => {
            format!("{:.2}x", if row.higher_better { h / o } else { o / h })
        }
        _ => "–".into(),
    };
    format!(
        "| {} | {} | {} | {} | {} | {} |\n",
        row.title,
        cell(values[0]),
        cell(values[1]),
        cell(values[2]),
        ratio(values[1]),
        ratio(values[2])
    )
}

/// W6: the readers' rate as a share of W1's, whether the slow one was dropped, peak RSS.
fn slow_row(r: &Results) -> String {
    let cells: Vec<String> = TARGETS
        .iter()
        .map(|t| {
            let w6 = r.median(t, "w6", "/rate_per_s");
            let w1 = r.median(t, "w1", "/rate_per_s");
            let peak = r.median(t, "w6", "/memory/peak_kib");
            match (w6, w1, peak) {
                (Some(w6), Some(w1), Some(peak)) => format!(
                    "{:.0}% of W1, {}, peak {:.0} MiB",
                    100.0 * w6 / w1,
                    match r.slow_dropped(t) {
                        Some(true) => "slow one dropped",
                        _ => "slow one NOT dropped",
                    },
                    peak / 1024.0
                ),
                _ => "–".into(),
            }
        })
        .collect();
    format!(
        "| W6 slow consumer: others' rate, drop, memory | {} | {} | {} | | |\n",
        cells[0], cells[1], cells[2]
    )
}

/// Messages lost in any run, per target (W6 counts only the receivers that kept reading).
fn loss_row(r: &Results) -> String {
    let cells: Vec<String> = TARGETS
        .iter()
        .map(|t| {
            let lost: f64 = ["w1", "w2", "w3", "w4", "w6"]
                .iter()
                .filter_map(|w| r.max(t, w, "/loss"))
                .sum();
            format!("{lost:.0}")
        })
        .collect();
    format!(
        "| messages lost (W1–W4, W6) | {} | {} | {} | | |\n",
        cells[0], cells[1], cells[2]
    )
}
