//! A client written in Python from docs/PROTOCOL.md alone talks to a real hub: proof that the
//! document is enough to implement the protocol in another language.

use std::process::Command;

use testkit::TestHub;

#[tokio::test]
async fn the_python_client_from_the_protocol_doc_passes_against_the_hub() {
    let hub = TestHub::start().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/protocol_client.py"
    );
    let port = hub.addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, &port])
            .output()
            .expect("python3 runs (CI installs it; see .ci/run)")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "ok", "{stderr}");
    hub.stop().await;
}
