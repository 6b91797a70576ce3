//! The accounts-and-mailboxes tables of `loadgen report`: durable relays/s (hub against
//! JetStream at each durability), the backlog login, and the crowd's memory. Each figure is the
//! median over the runs in the files.

use std::fmt::Write as _;

use serde_json::Value;

/// Median of `field` (a JSON pointer) over the lines that `pick` selects.
fn median(lines: &[Value], pick: impl Fn(&Value) -> bool, field: &str) -> Option<f64> {
    let mut values: Vec<f64> = lines
        .iter()
        .filter(|l| pick(l))
        .filter_map(|l| l.pointer(field).and_then(Value::as_f64))
        .collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len().checked_sub(1)? / 2).copied()
}

fn runs(lines: &[Value], pick: impl Fn(&Value) -> bool) -> usize {
    lines.iter().filter(|l| pick(l)).count()
}

/// The durable columns: (target, sync label, heading).
const DURABLE: [(&str, &str, &str); 4] = [
    ("hub", "always", "hub (fsync per commit)"),
    ("jetstream", "always", "JetStream `sync_interval: always`"),
    (
        "jetstream",
        "default",
        "JetStream default (fsync every 2 min)",
    ),
    ("hub", "none", "hub `--ephemeral` (no disk)"),
];

/// Every table there is data for.
pub fn tables(lines: &[Value]) -> String {
    let mut out = String::new();
    let is = |w: &'static str| move |l: &Value| l["workload"] == w;
    if runs(lines, is("durable")) > 0 {
        out += &durable(lines);
    }
    if runs(lines, is("backlog")) > 0 {
        out += &backlog(lines);
    }
    if runs(lines, is("crowd")) + runs(lines, is("crowd_restarted")) > 0 {
        out += &crowd(lines);
    }
    out
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn thousands(v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    let digits = format!("{:.0}", v.round());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn durable(lines: &[Value]) -> String {
    let mut senders: Vec<u64> = lines
        .iter()
        .filter(|l| l["workload"] == "durable")
        .filter_map(|l| l["senders"].as_u64())
        .collect();
    senders.sort_unstable();
    senders.dedup();
    let pick = |t: &'static str, sync: &'static str, n: u64| {
        move |l: &Value| {
            l["workload"] == "durable" && l["target"] == t && l["sync"] == sync && l["senders"] == n
        }
    };
    let mut out = String::from(
        "\n### Durable queued relays/s, 1 KiB bodies, each sender waiting for every answer\n\n| senders |",
    );
    for (_, _, heading) in DURABLE {
        let _ = write!(out, " {heading} |");
    }
    out += " hub ÷ JetStream always | hub ÷ JetStream default |\n|---:|";
    out += &"---:|".repeat(DURABLE.len() + 2);
    out += "\n";
    for &n in &senders {
        let rates: Vec<Option<f64>> = DURABLE
            .iter()
            .map(|&(t, sync, _)| median(lines, pick(t, sync, n), "/rate_per_s"))
            .collect();
        let _ = write!(out, "| {n} |");
        for (i, &(t, sync, _)) in DURABLE.iter().enumerate() {
            let p50 = median(lines, pick(t, sync, n), "/p50_ms");
            let p99 = median(lines, pick(t, sync, n), "/p99_ms");
            let _ = write!(
                out,
                " {} (p50 {} / p99 {} ms) |",
                thousands(rates[i]),
                cell(p50, 2),
                cell(p99, 1)
            );
        }
        let ratio = |other: Option<f64>| match (rates[0], other) {
            (Some(h), Some(o)) if o > 0.0 => format!("{:.2}x", h / o),
            _ => "–".into(),
        };
        let _ = writeln!(out, " {} | {} |", ratio(rates[1]), ratio(rates[2]));
    }
    let lost: u64 = lines
        .iter()
        .filter(|l| l["workload"] == "durable")
        .filter_map(|l| l["not_stored"].as_u64())
        .sum();
    let _ =
        writeln!(
        out,
        "\nMedians of {} runs; each run checked that the mailbox or stream held exactly what was \
         acknowledged. Relays answered but not stored: {lost}.",
        runs(lines, pick("hub", "always", senders.first().copied().unwrap_or(1)))
    );
    out
}

fn backlog(lines: &[Value]) -> String {
    let pick = |l: &Value| l["workload"] == "backlog";
    let m = |field: &str| median(lines, pick, field);
    let mut out = String::from(
        "\n### Login with a full mailbox\n\n| messages × body | fill, messages/s | login → `LoggedIn`, ms | login → first `Stored`, ms | drain, messages/s | login → last `Done`, ms | hub RSS before login / peak, MiB |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let _ = writeln!(
        out,
        "| {} × {} B, ack every {} | {} | {} | {} | {} | {} | {} / {} |",
        thousands(m("/messages")),
        cell(m("/body"), 0),
        thousands(m("/ack_every")),
        thousands(m("/fill/rate_per_s")),
        cell(m("/logged_in_ms"), 2),
        cell(m("/first_stored_ms"), 2),
        thousands(m("/drain_rate_per_s")),
        cell(m("/all_acked_ms"), 0),
        cell(m("/memory_before/rss_kib").map(|k| k / 1024.0), 1),
        cell(m("/memory/peak_kib").map(|k| k / 1024.0), 1),
    );
    let _ = writeln!(out, "\nMedians of {} runs.", runs(lines, pick));
    out
}

/// Which lines a row takes.
type Pick = dyn Fn(&Value) -> bool;

fn crowd(lines: &[Value]) -> String {
    let fill = |l: &Value| l["workload"] == "crowd";
    let again = |l: &Value| l["workload"] == "crowd_restarted";
    let mib = |pick: &Pick, field: &str| cell(median(lines, pick, field).map(|k| k / 1024.0), 1);
    let accounts = thousands(median(lines, fill, "/accounts"));
    let messages = thousands(median(lines, fill, "/messages"));
    let mut out = format!(
        "\n### Hub memory with {accounts} accounts and {messages} queued messages\n\n| hub state | VmRSS, MiB | VmHWM, MiB | threads |\n|---|---:|---:|---:|\n"
    );
    let rows: [(&str, &Pick, &str); 5] = [
        ("idle, no accounts", &fill, "memory_empty"),
        ("idle, accounts registered", &fill, "memory_accounts"),
        ("right after filling", &fill, "memory_right_after_fill"),
        ("idle, mailboxes full", &fill, "memory_full"),
        ("restarted on that data, idle", &again, "memory_idle"),
    ];
    // The kernel's VmHWM is approximate (per-CPU counters) and was seen to fall by a few
    // hundred KiB; the peak of one process is the largest reading so far.
    let mut peak = 0.0f64;
    for (i, (title, pick, field)) in rows.into_iter().enumerate() {
        let hwm = median(lines, pick, &format!("/{field}/peak_kib"));
        if i == rows.len() - 1 {
            peak = 0.0; // another process
        }
        peak = peak.max(hwm.unwrap_or(0.0));
        let _ = writeln!(
            out,
            "| {title} | {} | {} | {} |",
            mib(pick, &format!("/{field}/rss_kib")),
            cell(hwm.map(|_| peak / 1024.0), 1),
            cell(median(lines, pick, &format!("/{field}/threads")), 0)
        );
    }
    let _ = writeln!(
        out,
        "\nBody {} B; registering took {} s, filling {} s ({} messages/s, {} senders, {} \
         account(s) per relay); RSS per account {} B, per queued message {} B; data files {} MiB \
         after filling, {} MiB after the restart (the log checkpointed).",
        cell(median(lines, fill, "/body"), 0),
        cell(median(lines, fill, "/registered_s"), 1),
        cell(median(lines, fill, "/fill/seconds"), 1),
        thousands(median(lines, fill, "/fill/rate_per_s")),
        cell(median(lines, fill, "/senders"), 0),
        cell(median(lines, fill, "/per_relay"), 0),
        cell(median(lines, fill, "/bytes_per_account"), 0),
        cell(median(lines, fill, "/bytes_per_message"), 1),
        cell(
            median(lines, fill, "/files/total").map(|b| b / 1048576.0),
            0
        ),
        cell(
            median(lines, again, "/files/total").map(|b| b / 1048576.0),
            0
        ),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Value> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    #[test]
    fn the_committed_run_gives_the_readmes_figures() {
        let run = tables(&lines(include_str!("../results/mailbox1.jsonl")));
        assert!(
            run.contains("| 1 | 1,915 (p50 0.41 / p99 2.8 ms) |"),
            "{run}"
        );
        assert!(run.contains(" 1.26x | 0.22x |"), "{run}");
        assert!(run.contains(" 3.90x | 0.49x |"), "{run}");
        assert!(run.contains("| 135,566 |"), "{run}");
        let crowd = tables(&lines(include_str!("../results/mailbox2-crowd.jsonl")));
        assert!(
            crowd.contains("| right after filling | 162.7 | 162.7 | 492 |"),
            "{crowd}"
        );
        assert!(
            crowd.contains("| restarted on that data, idle | 10.0 | 10.0 | 6 |"),
            "{crowd}"
        );
    }
}
