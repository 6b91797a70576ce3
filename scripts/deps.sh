#!/usr/bin/env bash
# The Debian packages the build and the tests need, installed when missing (apt-get update
# first); nothing happens when they are all there. Used by scripts/test.sh and .ci/run.
set -euo pipefail
need=()
# The NATS server the clustered hub and its JetStream store are tested against (testkit::nats).
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || need+=(nats-server)
# HAProxy in TCP mode in front of hubs, with docs/examples/haproxy.cfg (tui-client/tests/haproxy.rs).
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v python3 >/dev/null || need+=(python3)
# ed25519 for docs/examples/protocol_client.py (hub/tests/python_client.rs).
python3 -c 'import cryptography' 2>/dev/null || need+=(python3-cryptography)
# A C compiler and make: the bundled SQLite of the hub's store and the jemalloc allocator.
command -v cc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
# `openssl s_client -tls1_3` checks the hub's TLS from outside (hub/tests/tls.rs).
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
