//! The cluster's tables (`bench/cluster.sh`): W1–W4 with the clients spread over 3 hubs
//! against the same on 1 clustered hub, 1 plain hub, NATS and Redis; the NATS traffic of the
//! 3-hub runs; presence convergence after a hub is killed; failover of many clients.

use serde_json::Value;

use crate::report::{median, Results, ROWS};

/// The sides, in the table's order (see [`crate::report::side`]).
const SIDES: [&str; 5] = ["cluster3", "cluster1", "hub", "nats", "redis"];

/// The workloads of the table.
const WORKLOADS: [&str; 5] = ["w1", "w2", "w3", "w4", "w4l"];

/// Whether these results hold cluster runs.
pub fn any(r: &Results) -> bool {
    ["cluster3", "cluster1"]
        .iter()
        .any(|side| WORKLOADS.iter().any(|w| r.runs(side, w).next().is_some()))
}

/// One row per figure of W1–W4 any side ran, the worst loss of each side, then the NATS
/// traffic of the 3-hub runs.
pub fn table(r: &Results) -> String {
    let mut out = String::from(
        "| workload | 3 hubs | 1 clustered hub | 1 plain hub | NATS | Redis | 3 hubs / 1 clustered | \
         1 clustered / plain | 3 hubs vs NATS | 3 hubs vs Redis |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in ROWS
        .iter()
        .filter(|row| WORKLOADS.contains(&row.workload) && !row.field.starts_with("/memory"))
    {
        let values = SIDES.map(|side| {
            r.median(side, row.workload, row.field)
                .map(|v| v * row.scale)
        });
        if values.iter().all(Option::is_none) {
            continue;
        }
        let digits = row.digits;
        let cell = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.digits$}"));
        // The quotient as it stands: below 1 for throughput is a loss, above 1 for latency a
        // cost.
        let quotient = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        // "Times better", as in the servers' table: above 1 means the 3 hubs win.
        let versus = |other: Option<f64>| match (values[0], other) {
            (Some(h), Some(o)) if h > 0.0 && o > 0.0 => {
                format!("{:.2}x", if row.higher_better { h / o } else { o / h })
            }
            _ => "–".into(),
        };
        let [three, one, plain, nats, redis] = values;
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.title,
            cell(three),
            cell(one),
            cell(plain),
            cell(nats),
            cell(redis),
            quotient(three, one),
            quotient(one, plain),
            versus(nats),
            versus(redis),
        );
    }
    let loss = SIDES.map(|side| {
        let lost: Vec<f64> = WORKLOADS
            .iter()
            .filter_map(|w| r.max(side, w, "/loss"))
            .collect();
        match lost.is_empty() {
            true => "–".into(),
            false => format!("{:.0}", lost.iter().sum::<f64>()),
        }
    });
    out += &format!(
        "| messages lost (worst run of each workload, summed) | {} | | | | |\n",
        loss.join(" | ")
    );
    out += "\n3 hubs / 1 clustered and 1 clustered / plain are quotients as they stand (below 1 \
            for throughput is a loss, above 1 for latency a cost); vs NATS and vs Redis are \
            \"times better\" (above 1 means the 3 hubs win).\n";
    out += &traffic(r);
    out += &sweep_table(r);
    out
}

/// The NATS traffic and CPU of the cluster runs, per workload: what the cost model is made of.
fn traffic(r: &Results) -> String {
    let mut out = String::from(
        "\n| workload, 3 hubs | relays | NATS messages in per relay | out per relay | \
         NATS bytes in per relay | NATS CPU per message in, µs | hubs' CPU per relay, µs | \
         1 clustered hub's CPU per relay, µs |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut any = false;
    // W3's few relays are outweighed by the presence traffic of its 256 clients joining.
    for workload in WORKLOADS.into_iter().filter(|&w| w != "w3") {
        let runs: Vec<&Value> = r.runs("cluster3", workload).collect();
        if runs.is_empty() {
            continue;
        }
        any = true;
        // Per run of `side`, then the median of the runs.
        let per_on = |side: &str, f: &dyn Fn(&Value, f64) -> Option<f64>| {
            median(
                r.runs(side, workload)
                    .filter_map(|l| {
                        let relays = l["sent"].as_f64().or_else(|| l["sends"].as_f64())?;
                        (relays > 0.0).then(|| f(l, relays)).flatten()
                    })
                    .collect(),
            )
        };
        let per = |f: &dyn Fn(&Value, f64) -> Option<f64>| per_on("cluster3", f);
        let nats = |field: &'static str| {
            move |l: &Value, relays: f64| Some(l["nats"][field].as_f64()? / relays)
        };
        let relays = per(&|_, relays| Some(relays));
        let cpu_per_msg = per(&|l, _| {
            let msgs = l["nats"]["in_msgs"].as_f64()?;
            let cpu = l["nats"]["cpu_s"].as_f64()?;
            (msgs > 0.0).then(|| 1e6 * cpu / msgs)
        });
        let hubs_per_relay = |l: &Value, relays: f64| {
            let hubs: f64 = l["hubs_cpu_s"]
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .sum();
            Some(1e6 * hubs / relays)
        };
        let cell =
            |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
        out += &format!(
            "| {workload} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(relays, 0),
            cell(per(&nats("in_msgs")), 2),
            cell(per(&nats("out_msgs")), 2),
            cell(per(&nats("in_bytes")), 0),
            cell(cpu_per_msg, 2),
            cell(per(&hubs_per_relay), 1),
            cell(per_on("cluster1", &hubs_per_relay), 1),
        );
    }
    match any {
        true => out,
        false => String::new(),
    }
}

/// W4 at several offered loads (`run --rate`, recorded as `w4sweep` by the script): p50 / p99
/// per side, medians of the runs at each load, and 3 hubs over 1 clustered hub.
pub fn sweep_table(r: &Results) -> String {
    let sides = ["cluster3", "cluster1", "hub"];
    let mut loads: Vec<f64> = sides
        .iter()
        .flat_map(|side| r.runs(side, "w4sweep"))
        .filter_map(|l| l["offered_per_s"].as_f64())
        .collect();
    loads.sort_by(f64::total_cmp);
    loads.dedup();
    if loads.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n| W4, offered deliveries/s | 3 hubs p50 / p99, ms | 1 clustered hub | 1 plain hub | \
         3 hubs / 1 clustered |\n|---:|---:|---:|---:|---:|\n",
    );
    for load in loads {
        let at = |side: &str, field: &str| {
            median(
                r.runs(side, "w4sweep")
                    .filter(|l| l["offered_per_s"].as_f64() == Some(load))
                    .filter_map(|l| l[field].as_f64())
                    .collect(),
            )
        };
        let pair = |side: &str| match (at(side, "p50_ms"), at(side, "p99_ms")) {
            (Some(a), Some(b)) => format!("{a:.3} / {b:.2}"),
            _ => "–".into(),
        };
        let quotient = |field: &str| match (at("cluster3", field), at("cluster1", field)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "–".into(),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} / {} |\n",
            thousands(load),
            pair("cluster3"),
            pair("cluster1"),
            pair("hub"),
            quotient("p50_ms"),
            quotient("p99_ms"),
        );
    }
    out
}

/// `n` rounded, with a comma every three digits.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Median, least and most of `field` over `lines`, as "median (least–most)".
fn spread(lines: &[&Value], field: &str, digits: usize) -> String {
    let values: Vec<f64> = lines
        .iter()
        .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
        .collect();
    let (Some(m), Some(lo), Some(hi)) = (
        median(values.clone()),
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return "–".into();
    };
    format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
}

/// Presence convergence (`loadgen converge`) and failover (`loadgen failover`), if any ran.
pub fn failure_tables(lines: &[Value]) -> String {
    let of = |workload: &str| -> Vec<&Value> {
        lines.iter().filter(|l| l["workload"] == workload).collect()
    };
    let mut out = String::new();
    let converge = of("converge");
    if !converge.is_empty() {
        let within = converge
            .iter()
            .filter(|l| l["within_bound"] == true)
            .count();
        let failed: u64 = converge.iter().filter_map(|l| l["failed"].as_u64()).sum();
        out += &format!(
            "\n| a hub killed (SIGKILL), {} runs | clients on it | watchers on the others | \
             first leave seen, s | every watcher saw every leave, s | bound, s | runs within it | \
             watchers failed |\n|---|---:|---:|---:|---:|---:|---:|---:|\n\
             | median (least–most) | {} | {} | {} | {} | {} | {within} of {} | {failed} |\n",
            converge.len(),
            spread(&converge, "/clients", 0),
            spread(&converge, "/watchers", 0),
            spread(&converge, "/first_left_s", 2),
            spread(&converge, "/all_left_s", 2),
            spread(&converge, "/bound_s", 1),
            converge.len(),
        );
    }
    let failover = of("failover");
    if !failover.is_empty() {
        let failed: u64 = failover.iter().filter_map(|l| l["failed"].as_u64()).sum();
        let attempts = median(
            failover
                .iter()
                .filter_map(|l| Some(l["attempts"].as_f64()? / l["clients"].as_f64()?))
                .collect(),
        );
        out += &format!(
            "\n| hub 1 killed (SIGKILL), {} runs | clients | all on hub 2, s | hub 2 lists them \
             all, s | hub 2 lists none of their old ids, s | attempts per client | hub 2 CPU, s | \
             hub 2 RSS before, MiB | hub 2 peak RSS, MiB | clients failed |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
             | median (least–most) | {} | {} | {} | {} | {} | {} | {} | {} | {failed} |\n",
            failover.len(),
            spread(&failover, "/clients", 0),
            spread(&failover, "/all_connected_s", 2),
            spread(&failover, "/all_listed_s", 2),
            spread(&failover, "/old_unlisted_s", 2),
            attempts.map_or("–".into(), |a| format!("{a:.2}")),
            spread(&failover, "/hub2_cpu_s", 2),
            mib(&failover, "/hub2_rss_before_kib"),
            mib(&failover, "/hub2_memory/peak_kib"),
        );
    }
    out
}

/// The median of a KiB `field`, in MiB.
fn mib(lines: &[&Value], field: &str) -> String {
    median(
        lines
            .iter()
            .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
            .collect(),
    )
    .map_or("–".into(), |k| format!("{:.1}", k / 1024.0))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    fn run(target: &str, workload: &str, rate: f64, p99: f64, loss: u64) -> Value {
        json!({"target": target, "workload": workload, "rate_per_s": rate, "p99_ms": p99,
               "loss": loss, "sent": 100, "nats": {"in_msgs": 400, "out_msgs": 402,
               "in_bytes": 1000, "cpu_s": 0.004}, "hubs_cpu_s": [0.01, 0.005, 0.005]})
    }

    /// The quotients compare 3 hubs with 1 clustered hub and that with the plain one, medians
    /// of each side's runs; a loss in any run shows; the traffic is per relay.
    #[test]
    fn quotients_losses_and_traffic_per_relay() {
        let mut lines = vec![
            run("cluster3", "w1", 1e6, 0.0, 0),
            run("cluster3", "w1", 2e6, 0.0, 3),
            run("cluster3", "w1", 9e6, 0.0, 0),
            run("cluster1", "w1", 8e6, 0.0, 0),
            run("hub", "w1", 10e6, 0.0, 0),
            run("nats", "w1", 4e6, 0.0, 0),
            run("redis", "w1", 1e6, 0.0, 0),
        ];
        // The clustered hub alone spent 10 ms.
        lines[3]["hubs_cpu_s"] = json!([0.01]);
        lines.push(run("cluster3", "w4", 0.0, 3.0, 0));
        lines.push(run("cluster1", "w4", 0.0, 1.0, 0));
        let out = crate::report::table_of(lines);
        assert!(
            out.contains("| W1 fan-out 6 B → 49, M deliveries/s | 2.00 | 8.00 | 10.00 | 4.00 | 1.00 | 0.25 | 0.80 | 0.50x | 2.00x |"),
            "{out}"
        );
        assert!(
            out.contains(
                "| W4 chat p99 latency, ms | 3.000 | 1.000 | – | – | – | 3.00 | – | – | – |"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "| messages lost (worst run of each workload, summed) | 3 | 0 | 0 | 0 | 0 |"
            ),
            "{out}"
        );
        // 400 messages in for 100 relays, 4 ms of NATS CPU for 400 messages, 20 ms of hubs'.
        assert!(
            out.contains("| w1 | 100 | 4.00 | 4.02 | 10 | 10.00 | 200.0 |"),
            "{out}"
        );
    }

    /// The sweep: one row per offered load, medians of that load's runs only.
    #[test]
    fn the_sweep_has_a_row_per_load() {
        let w4 = |target: &str, load: f64, p50: f64| {
            json!({"target": target, "workload": "w4sweep", "offered_per_s": load,
                   "p50_ms": p50, "p99_ms": 10.0 * p50, "loss": 0})
        };
        let lines = vec![
            run("cluster3", "w1", 1e6, 0.0, 0),
            w4("cluster3", 10000.0, 0.3),
            w4("cluster3", 10000.0, 0.5),
            w4("cluster3", 10000.0, 0.4),
            w4("cluster1", 10000.0, 0.2),
            w4("cluster3", 100000.0, 3.0),
            w4("cluster1", 100000.0, 1.0),
        ];
        let out = crate::report::table_of(lines);
        assert!(
            out.contains("| 10,000 | 0.400 / 4.00 | 0.200 / 2.00 | – | 2.00 / 2.00 |"),
            "{out}"
        );
        assert!(
            out.contains("| 100,000 | 3.000 / 30.00 | 1.000 / 10.00 | – | 3.00 / 3.00 |"),
            "{out}"
        );
    }

    /// Every row of the cluster tables that the committed runs give is in the README as it is.
    #[test]
    fn the_committed_runs_give_the_readmes_cluster_tables() {
        let readme = include_str!("../README.md");
        let lines: Vec<Value> = [
            include_str!("../results/cluster1.jsonl"),
            include_str!("../results/cluster2.jsonl"),
            include_str!("../results/cluster3.jsonl"),
        ]
        .iter()
        .flat_map(|text| text.lines())
        .map(|l| serde_json::from_str(l).expect("a result line"))
        .collect();
        let out = crate::report::table_of(lines);
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
        // Headers and rows: 9 workload rows and the loss; 4 traffic rows; 2 loads; convergence;
        // failover.
        assert_eq!(rows.len(), 11 + 5 + 3 + 2 + 2, "{out}");
        for row in rows {
            assert!(readme.contains(row), "not in bench/README.md: {row}");
        }
        // The convergence of 10,000, a run of its own.
        let lines: Vec<Value> = include_str!("../results/cluster4-converge.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a result line"))
            .collect();
        let out = crate::report::table_of(lines);
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(rows.len(), 2, "{out}");
        for row in rows {
            assert!(readme.contains(row), "not in bench/README.md: {row}");
        }
    }

    /// Convergence and failover: median (least–most) of the runs, and the runs within bound.
    #[test]
    fn failure_tables_give_median_and_range() {
        let converge = |t: f64| {
            json!({"workload": "converge", "clients": 1000, "watchers": 10,
            "first_left_s": t - 0.5, "all_left_s": t, "bound_s": 4.0, "within_bound": t <= 4.0,
            "failed": 0})
        };
        let failover = |t: f64| {
            json!({"workload": "failover", "clients": 10000, "attempts": 11000,
            "all_connected_s": t, "all_listed_s": t + 0.1, "old_unlisted_s": 3.5,
            "hub2_cpu_s": 1.0, "hub2_rss_before_kib": 10240, "hub2_memory": {"peak_kib": 65536},
            "failed": 0})
        };
        let lines = [
            converge(3.0),
            converge(4.5),
            converge(3.5),
            failover(0.5),
            failover(0.7),
            failover(0.6),
        ];
        let out = super::failure_tables(&lines);
        assert!(out.contains("| median (least–most) | 1000 (1000–1000) | 10 (10–10) | 3.00 (2.50–4.00) | 3.50 (3.00–4.50) | 4.0 (4.0–4.0) | 2 of 3 | 0 |"), "{out}");
        assert!(out.contains("| 0.60 (0.50–0.70) | 0.70 (0.60–0.80) | 3.50 (3.50–3.50) | 1.10 | 1.00 (1.00–1.00) | 10.0 | 64.0 | 0 |"), "{out}");
    }
}
