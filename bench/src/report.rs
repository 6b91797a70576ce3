//! The markdown tables. The fan-out workloads: one row per workload, one column per server,
//! and the hub's ratio to each; if some runs were logged in (`run --login`), a second table
//! holds them to the anonymous ones. The accounts-and-mailboxes workloads (durable, backlog,
//! crowd): a table each. Where a workload was run several times, each figure is the median of
//! its runs.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

/// The columns of a table: the sides compared (see [`side`]), their headers, and the header of
/// the first side's ratio to each of the others.
pub(crate) struct Columns {
    pub sides: &'static [&'static str],
    names: &'static [&'static str],
    ratios: &'static [&'static str],
}

/// The servers, side by side.
const SERVERS: Columns = Columns {
    sides: &["hub", "nats", "redis", "minimal"],
    names: &["hub", "NATS", "Redis", "minimal relay"],
    ratios: &["hub vs NATS", "hub vs Redis", "hub vs minimal"],
};

/// The hub with its clients logged in, and anonymous.
const LOGIN: Columns = Columns {
    sides: &["hub-login", "hub"],
    names: &["hub logged in", "hub anonymous"],
    ratios: &["logged in vs anonymous"],
};

/// Which side a result line belongs to: its server, for the hub whether its clients were
/// logged in, and for the hub and NATS whether they spoke TLS (`run --tls`).
pub(crate) fn side(line: &Value) -> &str {
    match (
        line["target"].as_str(),
        line["login"].as_bool(),
        line["tls"].as_bool(),
    ) {
        (Some("hub"), Some(true), _) => "hub-login",
        (Some("hub"), _, Some(true)) => "hub-tls",
        (Some("nats"), _, Some(true)) => "nats-tls",
        (Some(target), _, _) => target,
        _ => "",
    }
}

/// The median of `values`.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len().checked_sub(1)? / 2).copied()
}

/// All results of a run, as parsed from the JSON lines.
pub(crate) struct Results {
    /// Runs at full speed.
    lines: Vec<Value>,
    /// Runs whose server ran under valgrind: their instruction counts, not their speed.
    pub counted: Vec<Value>,
}

impl Results {
    /// The runs of `workload` on `side`.
    pub(crate) fn runs<'a>(
        &'a self,
        side: &'a str,
        workload: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.lines
            .iter()
            .filter(move |l| self::side(l) == side && l["workload"] == workload)
    }

    /// Median of `field` (a JSON pointer) over the runs of `workload` on `side`.
    pub(crate) fn median(&self, side: &str, workload: &str, field: &str) -> Option<f64> {
        median(
            self.runs(side, workload)
                .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
                .collect(),
        )
    }

    /// Largest `field` over the runs (for losses: any loss shows).
    pub(crate) fn max(&self, side: &str, workload: &str, field: &str) -> Option<f64> {
        self.runs(side, workload)
            .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
            .reduce(f64::max)
    }

    /// Whether every W6 run on `side` saw the slow receiver dropped.
    fn slow_dropped(&self, side: &str) -> Option<bool> {
        let runs: Vec<bool> = self
            .runs(side, "w6")
            .filter_map(|l| l.pointer("/slow/dropped").and_then(Value::as_bool))
            .collect();
        (!runs.is_empty()).then(|| runs.iter().all(|&d| d))
    }

    fn iperf_gbytes(&self) -> Option<f64> {
        let values: Vec<f64> = self
            .lines
            .iter()
            .filter_map(|l| l.pointer("/iperf/end/sum_received/bits_per_second"))
            .filter_map(Value::as_f64)
            .map(|bps| bps / 8.0 / 1e9)
            .collect();
        median(values)
    }
}

/// How to show one row.
pub(crate) struct Row {
    pub title: &'static str,
    pub workload: &'static str,
    pub field: &'static str,
    pub scale: f64,
    pub digits: usize,
    /// Larger is better (throughput) or smaller is better (latency, memory).
    pub higher_better: bool,
}

pub(crate) const ROWS: [Row; 11] = [
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
        "W4 light chat p50 latency, ms",
        "w4l",
        "/p50_ms",
        1.0,
        3,
        false,
    ),
    row(
        "W4 light chat p99 latency, ms",
        "w4l",
        "/p99_ms",
        1.0,
        3,
        false,
    ),
    row(
        "W4 light chat max latency, ms",
        "w4l",
        "/max_ms",
        1.0,
        2,
        false,
    ),
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
    let mut lines: Vec<Value> = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines.push(serde_json::from_str(line).with_context(|| format!("parsing {path:?}"))?);
        }
    }
    Ok(table_of(lines))
}

/// Render the table for these result lines.
pub(crate) fn table_of(lines: Vec<Value>) -> String {
    let (counted, lines): (Vec<Value>, Vec<Value>) =
        lines.into_iter().partition(|l| l.get("valgrind").is_some());
    let r = Results { lines, counted };
    let fan_out = r.lines.iter().chain(&r.counted).any(|l| {
        l.get("iperf").is_some()
            || l["workload"]
                .as_str()
                .and_then(|w| w.strip_prefix('w'))
                .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
    });
    let login = r
        .lines
        .iter()
        .chain(&r.counted)
        .any(|l| side(l) == "hub-login");
    // With the hub alone and some runs logged in, the login table says it all.
    let others = r
        .lines
        .iter()
        .any(|l| matches!(side(l), "nats" | "redis" | "minimal"));
    let mut out = String::new();
    if crate::report_cluster::any(&r) {
        out += &crate::report_cluster::table(&r);
    } else if fan_out && (others || !login) {
        out += &fan_out_table(&r, &SERVERS);
        out +=
            "\nRatios are \"times better\": hub ÷ other for throughput, other ÷ hub for latency, \
                memory and cost, so above 1 means the hub wins.\n";
    }
    if login {
        if !out.is_empty() {
            out += "\n";
        }
        out += &fan_out_table(&r, &LOGIN);
        out +=
            "\nThe same ratios with the hub's clients logged in against anonymous ones: above 1 \
                means logged in is better.\n";
    }
    if r.lines.iter().any(|l| l["workload"] == "setup") {
        if !out.is_empty() {
            out += "\n";
        }
        out += &crate::report_tls::setup_table(&r.lines);
    }
    if r.lines
        .iter()
        .any(|l| matches!(side(l), "hub-tls" | "nats-tls"))
    {
        if !out.is_empty() {
            out += "\n";
        }
        out += &crate::report_tls::table(&r);
    }
    out += &crate::report_mailbox::tables(&r.lines);
    out += &crate::report_cluster::failure_tables(&r.lines);
    out
}

fn fan_out_table(r: &Results, columns: &Columns) -> String {
    let mut out = format!(
        "| workload | {} | {} |\n|---|{}{}\n",
        columns.names.join(" | "),
        columns.ratios.join(" | "),
        "---:|".repeat(columns.names.len()),
        "---:|".repeat(columns.ratios.len()),
    );
    for row in &ROWS {
        let values: Vec<Option<f64>> = columns
            .sides
            .iter()
            .map(|t| r.median(t, row.workload, row.field).map(|v| v * row.scale))
            .collect();
        out += &render_row(row.title, &values, row.digits, row.higher_better);
    }
    out += &slow_row(r, columns);
    out += &loss_row(r, columns);
    out += &crate::report_cost::rows(r, columns);
    if let Some(ceiling) = r.iperf_gbytes() {
        let hub = r.median("hub", "w3", "/gbytes_per_s").unwrap_or(f64::NAN);
        out += &format!(
            "| loopback ceiling (iperf3, 1 stream), GB/s | {ceiling:.2} |{} hub W3 = {:.0}% of it |{}\n",
            " |".repeat(columns.sides.len() - 1),
            100.0 * hub / ceiling,
            " |".repeat(columns.ratios.len() - 1),
        );
    }
    out
}

/// One row: a value per side (`None` for none), then the first side's ratio to each other.
pub(crate) fn render_row(
    title: &str,
    values: &[Option<f64>],
    digits: usize,
    higher_better: bool,
) -> String {
    let cell = |v: &Option<f64>| v.map_or("–".into(), |v| format!("{v:.digits$}"));
    let ratio = |other: &Option<f64>| match (values[0], *other) {
        (Some(h), Some(o)) if h > 0.0 && o > 0.0 => {
            format!("{:.2}x", if higher_better { h / o } else { o / h })
        }
        _ => "–".into(),
    };
    let cells: Vec<String> = values.iter().map(cell).collect();
    let ratios: Vec<String> = values[1..].iter().map(ratio).collect();
    format!(
        "| {title} | {} | {} |\n",
        cells.join(" | "),
        ratios.join(" | ")
    )
}

/// A row of text cells, with empty ratio cells.
fn text_row(title: &str, cells: &[String], columns: &Columns) -> String {
    format!(
        "| {title} | {} |{}\n",
        cells.join(" | "),
        " |".repeat(columns.ratios.len())
    )
}

/// W6: the readers' rate as a share of W1's, whether the slow one was dropped, peak RSS.
fn slow_row(r: &Results, columns: &Columns) -> String {
    let cells: Vec<String> = columns
        .sides
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
    text_row(
        "W6 slow consumer: others' rate, drop, memory",
        &cells,
        columns,
    )
}

/// Messages lost in any run, per side (W6 counts only the receivers that kept reading).
fn loss_row(r: &Results, columns: &Columns) -> String {
    let cells: Vec<String> = columns
        .sides
        .iter()
        .map(|t| {
            let lost: Vec<f64> = ["w1", "w2", "w3", "w4", "w6"]
                .iter()
                .filter_map(|w| r.max(t, w, "/loss"))
                .collect();
            match lost.is_empty() {
                true => "–".into(),
                false => format!("{:.0}", lost.iter().sum::<f64>()),
            }
        })
        .collect();
    text_row("messages lost (W1–W4, W6)", &cells, columns)
}
