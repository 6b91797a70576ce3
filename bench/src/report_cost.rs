//! The rows of what a delivery costs the server, for runs that measured it (`bench/ab.sh` with
//! `PERF=1` or `VALGRIND=1`): CPU time per delivery from `perf stat` and `/proc`, and
//! instructions per delivery from valgrind. Figures of CPU time still move with the machine's
//! load; instruction counts do not, but they are counted on a server slowed down 50-fold.

use serde_json::Value;

use crate::report::{median, render_row, Columns, Results};

/// The workloads whose runs count deliveries.
const WORKLOADS: [&str; 5] = ["w1", "w2", "w3", "w4", "w6"];

/// The CPU fields `ab.sh` adds with `PERF=1`: pointer, title, and factor to nanoseconds.
const CPU: [(&str, &str, f64); 3] = [
    ("/cpu/task_clock_ms", "server CPU per delivery, ns", 1e6),
    ("/cpu/user_s", "server user CPU per delivery, ns", 1e9),
    ("/cpu/sys_s", "server kernel CPU per delivery, ns", 1e9),
];

/// Every cost row that some side has figures for.
pub fn rows(r: &Results, columns: &Columns) -> String {
    let mut out = String::new();
    for workload in WORKLOADS {
        for (field, title, to_ns) in CPU {
            let values: Vec<Option<f64>> = columns
                .sides
                .iter()
                .map(|side| {
                    let per: Vec<f64> = r
                        .runs(side, workload)
                        .filter_map(|l| Some(l.pointer(field)?.as_f64()? * to_ns / deliveries(l)?))
                        .collect();
                    median(per)
                })
                .collect();
            if values.iter().any(Option::is_some) {
                let title = format!("{} {title}", workload.to_uppercase());
                out += &render_row(&title, &values, 1, false);
            }
        }
        let values: Vec<Option<f64>> = columns
            .sides
            .iter()
            .map(|side| instructions(r, side, workload))
            .collect();
        if values.iter().any(Option::is_some) {
            let title = format!(
                "{} server instructions per delivery (valgrind, user space)",
                workload.to_uppercase()
            );
            out += &render_row(&title, &values, 0, false);
        }
    }
    out
}

fn deliveries(line: &Value) -> Option<f64> {
    line["deliveries"].as_f64().filter(|&d| d > 0.0)
}

/// Instructions per delivery on `side`, counted under valgrind over the server's whole life:
/// the median of the runs that sent one message (start-up, connecting and logging in,
/// shutdown) is taken off the median of the full runs, over the deliveries that adds.
fn instructions(r: &Results, side: &str, workload: &str) -> Option<f64> {
    let (base, full): (Vec<&Value>, Vec<&Value>) = r
        .counted
        .iter()
        .filter(|l| crate::report::side(l) == side && l["workload"] == workload)
        .partition(|l| l["messages"] == 1);
    let figure = |runs: &[&Value], field: &str| {
        median(
            runs.iter()
                .filter_map(|l| l.pointer(field)?.as_f64())
                .collect(),
        )
    };
    let (i, d) = (
        figure(&full, "/valgrind/instructions")?,
        figure(&full, "/deliveries")?,
    );
    let (i0, d0) = (
        figure(&base, "/valgrind/instructions").unwrap_or(0.0),
        figure(&base, "/deliveries").unwrap_or(0.0),
    );
    (d > d0).then(|| (i - i0) / (d - d0))
}
