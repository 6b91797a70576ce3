//! The TLS table (`bench/tls.sh`): the hub and nats-server each over plain TCP and over TLS,
//! what TLS costs each (TLS ÷ plain), and the hub over TLS against NATS over TLS.

use serde_json::Value;

use crate::report::{median, Results, ROWS};

/// The four sides, in the table's order (see [`crate::report::side`]).
const SIDES: [&str; 4] = ["hub", "hub-tls", "nats", "nats-tls"];

/// One row per workload any side ran, then the worst loss of each side.
pub fn table(r: &Results) -> String {
    let mut out = String::from(
        "| workload | hub plain | hub TLS | hub TLS / plain | NATS plain | NATS TLS | \
         NATS TLS / plain | hub TLS vs NATS TLS |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &ROWS {
        let [hub, hub_tls, nats, nats_tls] = SIDES.map(|side| {
            r.median(side, row.workload, row.field)
                .map(|v| v * row.scale)
        });
        if [hub, hub_tls, nats, nats_tls].iter().all(Option::is_none) {
            continue;
        }
        let digits = row.digits;
        let cell = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.digits$}"));
        // TLS ÷ plain as it stands: below 1 is a loss of throughput, above 1 a cost in
        // latency or memory.
        let quotient = |tls: Option<f64>, plain: Option<f64>| match (tls, plain) {
            (Some(t), Some(p)) if p > 0.0 => format!("{:.2}", t / p),
            _ => "–".into(),
        };
        // "Times better", as in the servers' table: above 1 means the hub wins.
        let versus = match (hub_tls, nats_tls) {
            (Some(h), Some(n)) if h > 0.0 && n > 0.0 => {
                format!("{:.2}x", if row.higher_better { h / n } else { n / h })
            }
            _ => "–".into(),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {versus} |\n",
            row.title,
            cell(hub),
            cell(hub_tls),
            quotient(hub_tls, hub),
            cell(nats),
            cell(nats_tls),
            quotient(nats_tls, nats),
        );
    }
    let loss = SIDES.map(|side| {
        ["w1", "w2", "w3", "w4"]
            .iter()
            .filter_map(|w| r.max(side, w, "/loss"))
            .reduce(f64::max)
            .map_or("–".into(), |l| format!("{l:.0}"))
    });
    out += &format!(
        "| loss, worst run of W1–W4 | {} | {} | | {} | {} | | |\n",
        loss[0], loss[1], loss[2], loss[3]
    );
    out += "\nTLS / plain is the quotient as it stands (below 1 for throughput is a loss, above 1 \
            for latency and memory a cost); hub TLS vs NATS TLS is \"times better\" (above 1 \
            means the hub wins).\n";
    out
}

/// Connection set-up (`loadgen setup`), median of its runs: plain, logged in, TLS, and both.
pub fn setup_table(lines: &[Value]) -> String {
    let runs = |tls: bool, login: bool, field: &str| {
        median(
            lines
                .iter()
                .filter(|l| l["workload"] == "setup" && l["tls"] == tls && l["login"] == login)
                .filter_map(|l| l[field].as_f64())
                .collect(),
        )
    };
    let (plain_rate, plain_p50) = (runs(false, false, "per_s"), runs(false, false, "p50_ms"));
    let times = |v: Option<f64>, base: Option<f64>| match (v, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}", v / b),
        _ => "–".into(),
    };
    let mut out = String::from(
        "| set-up | connections/s | × plain | p50 ms | × plain | p99 ms |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for (title, tls, login) in [
        ("plain", false, false),
        ("plain + login", false, true),
        ("TLS", true, false),
        ("TLS + login", true, true),
    ] {
        let (rate, p50, p99) = (
            runs(tls, login, "per_s"),
            runs(tls, login, "p50_ms"),
            runs(tls, login, "p99_ms"),
        );
        if rate.is_none() {
            continue;
        }
        let cell =
            |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
        out += &format!(
            "| {title} | {} | {} | {} | {} | {} |\n",
            cell(rate, 0),
            times(rate, plain_rate),
            cell(p50, 2),
            times(p50, plain_p50),
            cell(p99, 2),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    /// Every table row this module renders from the committed run is in the README as it is.
    #[test]
    fn the_committed_run_gives_the_readmes_tls_tables() {
        let readme = include_str!("../README.md");
        let lines = |text: &str| -> Vec<serde_json::Value> {
            text.lines()
                .map(|l| serde_json::from_str(l).expect("a result line"))
                .collect()
        };
        let setup = super::setup_table(&lines(include_str!("../results/tls3-setup.jsonl")));
        let fanout = crate::report::table_of(lines(include_str!("../results/tls3-fanout.jsonl")));
        let tls = &fanout[fanout
            .find("| workload | hub plain |")
            .expect("the TLS table")..];
        let rows: Vec<&str> = setup
            .lines()
            .chain(tls.lines())
            .filter(|l| l.starts_with("| "))
            .collect();
        // Each table's header and its rows: 4 set-ups; 7 workload rows and the loss.
        assert_eq!(rows.len(), 5 + 9, "{setup}{tls}");
        for row in rows {
            assert!(readme.contains(row), "not in bench/README.md: {row}");
        }
        // W5's rows (printed by bench/tls.sh): side and connections, then KiB per connection.
        for idle in lines(include_str!("../results/tls3-idle.jsonl")) {
            let side = if idle["tls"] == true { "TLS" } else { "plain" };
            let n = idle["connections"].as_u64().expect("connections");
            let head = format!("| {side} | {},{:03} |", n / 1000, n % 1000);
            let per = idle["kib_per_connection"].as_f64().expect("KiB");
            let tail = format!("| {per:.1} |");
            assert!(
                readme
                    .lines()
                    .any(|l| l.starts_with(&head) && l.ends_with(&tail)),
                "no W5 row {head} … {tail} in bench/README.md"
            );
        }
    }
}
