//! How long `ClientMsg::decode_borrowed`, the hub's per-frame decode, takes on three typical
//! requests. Run with `cargo run --release -p shared --example decode_speed`.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use shared::{BodyKind, ClientMsg, RequestId, UserId};

fn main() {
    let ping = ClientMsg::<Bytes>::Ping {
        req: RequestId(300),
    };
    let small = ClientMsg::Relay {
        req: RequestId(70_000),
        to: vec![UserId(42)],
        kind: BodyKind::Text,
        body: Bytes::from(vec![b'x'; 64]),
    };
    let fanout = ClientMsg::Relay {
        req: RequestId(70_000),
        to: (1..=255).map(UserId).collect(),
        kind: BodyKind::File {
            name: "photo.jpg".into(),
        },
        body: Bytes::from(vec![7u8; 1024]),
    };
    for (name, msg) in [
        ("ping", ping),
        ("relay 1 x 64 B", small),
        ("relay 255 x 1 KiB", fanout),
    ] {
        let frame = msg.to_frame().expect("encodes");
        let payload = &frame[4..];
        let rounds = 2_000_000 / (1 + payload.len() / 64) as u32;
        let mut best = f64::MAX;
        for _ in 0..7 {
            let start = Instant::now();
            for _ in 0..rounds {
                let msg = ClientMsg::decode_borrowed(black_box(payload)).expect("decodes");
                black_box(&msg);
            }
            best = best.min(start.elapsed().as_nanos() as f64 / f64::from(rounds));
        }
        println!("{name:>18}: {best:8.1} ns per decode (best of 7 runs of {rounds})");
    }
}
