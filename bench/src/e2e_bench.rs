//! Envelope throughput: seal (encrypt, wrap, sign) and open (verify, unwrap, decrypt) rates
//! and overhead bytes for 1 KiB and 1 MiB bodies to 1 and 255 receivers. No hub, no socket:
//! this is the cryptography a client adds to each message.
//!
//!   cargo run --release -p bench --bin e2e-bench [-- --seconds S]

use std::time::{Duration, Instant};

use e2e::{seal, Envelope, Kind, ReceiverSecret};
use ed25519_dalek::SigningKey;
use shared::UserId;

const SENDER: UserId = UserId((1 << 32) + 1);

fn main() {
    let seconds: f64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .map(|s| s.parse().expect("--seconds takes a number"))
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);
    let identity = SigningKey::from_bytes(&[5; 32]);
    let receivers: Vec<(UserId, ReceiverSecret)> = (0..255u64)
        .map(|i| (UserId((1 << 32) + 10 + i), ReceiverSecret::generate()))
        .collect();
    println!("| body | receivers | envelope bytes | overhead bytes | seal MB/s | seal per msg | open MB/s | open per msg |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, len) in [("1 KiB", 1024usize), ("1 MiB", 1 << 20)] {
        for n in [1usize, 255] {
            // A 1 MiB body to 255 receivers does not fit the 1024 KiB limit: measure the
            // largest that does.
            let len = len.min(e2e::max_plaintext(n));
            let body = vec![0x5a; len];
            let to: Vec<_> = receivers[..n]
                .iter()
                .map(|(id, s)| (*id, s.public()))
                .collect();
            let (seal_time, envelope) = time_loop(budget, || {
                seal(SENDER, &identity, Kind::Text, &to, &body).expect("the body fits")
            });
            let (me, secret) = &receivers[n - 1];
            let vk = identity.verifying_key();
            let (open_time, opened) = time_loop(budget, || {
                Envelope::decode(&envelope)
                    .and_then(|e| e.open(SENDER, &vk, *me, secret))
                    .expect("a receiver opens it")
            });
            assert_eq!(opened.plaintext.len(), len);
            let mbps = |t: Duration| len as f64 / t.as_secs_f64() / 1e6;
            println!(
                "| {label}{} | {n} | {} | {} | {:.2} | {:.0} µs | {:.1} | {:.0} µs |",
                if len == 1 << 20 || len == 1024 {
                    String::new()
                } else {
                    format!(" ({len} B)")
                },
                envelope.len(),
                envelope.len() - len,
                mbps(seal_time),
                seal_time.as_secs_f64() * 1e6,
                mbps(open_time),
                open_time.as_secs_f64() * 1e6,
            );
        }
    }
}

/// Run `f` until `budget` is spent (at least 3 times); the mean time of one run and its last
/// result.
fn time_loop<T>(budget: Duration, mut f: impl FnMut() -> T) -> (Duration, T) {
    let start = Instant::now();
    let mut runs = 0u32;
    let mut last = f();
    runs += 1;
    while start.elapsed() < budget || runs < 3 {
        last = std::hint::black_box(f());
        runs += 1;
    }
    (start.elapsed() / runs, last)
}
