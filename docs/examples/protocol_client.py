"""A hubbub client written from docs/PROTOCOL.md alone, to show the document is enough.

Run a hub, then this against it (Python 3.8+ and the `cryptography` package, for ed25519):

    cargo run -p hub -- --ephemeral --listen 127.0.0.1:7878 &
    python3 docs/examples/protocol_client.py 7878

It opens fresh connections, exercises every request of version 3, refusals, presence pushes,
a mailbox and two protocol errors, checks each answer and prints "ok".
"""

import re
import secrets
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_FRAME_LEN = 1_052_672
FIRST_ACCOUNT_ID = 2**32
HUB_TAGS = {1: 11, 2: 12, 3: 22}  # HubMsg variants of each version (section 12)
PUSHES = {"Message", "Joined", "Arrived", "Left", "Stored", "Outgoing"}
REGISTER, LOGIN, DELETE = b"hubbub register v1\0", b"hubbub login v1\0", b"hubbub delete v1\0"


def varint(n):
    """Unsigned LEB128, shortest form (PROTOCOL.md section 3)."""
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def blob(b):
    return varint(len(b)) + b


def text(s):
    return blob(s.encode())


def canonical(name):
    """Section 14, Names: ASCII lower-casing, then 1 to 32 of a-z 0-9 _ . -"""
    assert name.isascii() and re.fullmatch(r"[a-z0-9_.-]{1,32}", name.lower()), name
    return name.lower()


def public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(key, domain, nonce, name):
    """Section 14, What a client signs: domain, challenge, name length, name, public key."""
    name = canonical(name).encode()
    return key.sign(domain + nonce + bytes([len(name)]) + name + public(key))


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        self.at += 1
        return self.data[self.at - 1]

    def var(self):
        n = shift = 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def blob(self):
        n = self.var()
        self.at += n
        return bytes(self.data[self.at - n : self.at])

    def fixed(self, n):
        b = self.blob()
        assert len(b) == n, "wrong length"
        return b

    def flag(self):
        b = self.byte()
        assert b in (0, 1), "bad bool"
        return b == 1

    def option(self, read):
        return read() if self.flag() else None

    def ids(self):
        return [self.var() for _ in range(self.var())]

    def info(self):
        return (self.var(), self.blob().decode(), self.flag())

    def peer(self):
        return (self.var(), self.option(lambda: self.blob().decode()))

    def kind(self):
        tag = self.var()
        return ("File", self.blob().decode()) if tag == 2 else ["Bytes", "Text"][tag]


def decode_hub(payload, version):
    r = Reader(payload)
    tag = r.var()
    assert tag < HUB_TAGS[version], f"tag {tag} at version {version}"
    fields = {
        0: lambda: ("Welcome", r.var(), r.var(), (r.var(), r.var(), r.var(), r.var())),
        1: lambda: ("Identity", r.var(), r.var()),
        2: lambda: ("Peers", r.var(), r.ids()),
        3: lambda: ("Relayed", r.var(), r.var(), r.ids(), r.ids()),
        4: lambda: ("Echo", r.var(), r.blob()),
        5: lambda: ("Pong", r.var()),
        6: lambda: ("Message", r.var(), r.kind(), r.blob()),
        7: lambda: ("Joined", r.var()),
        8: lambda: ("Left", r.var()),
        9: lambda: ("KeepAlive",),
        10: lambda: ("Error", r.option(r.var), r.var(), r.blob().decode()),
        11: lambda: ("Hello", r.var(), r.var()),
        12: lambda: ("Challenge", r.var(), r.fixed(32)),
        13: lambda: ("LoggedIn", r.var(), r.var(), r.blob().decode(), r.var()),
        14: lambda: ("Account", r.var(), r.option(r.info)),
        15: lambda: ("Users", r.var(), [r.info() for _ in range(r.var())], r.flag()),
        16: lambda: ("Done", r.var()),
        17: lambda: ("Routed", r.var(), r.var(), r.ids(), r.ids(), r.ids(), r.ids()),
        18: lambda: ("Stored", r.var(), r.var(), r.var(), r.kind(), r.blob()),
        19: lambda: ("Present", r.var(), [r.peer() for _ in range(r.var())]),
        20: lambda: ("Arrived", r.var(), r.option(lambda: r.blob().decode())),
        21: lambda: ("Outgoing", r.ids(), r.kind(), r.blob()),
    }[tag]()
    assert r.at == len(payload), "trailing bytes"
    return fields


class Conn:
    def __init__(self, port, version=1):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.version, self.req, self.pushes = 1, 0, []
        welcome = self.recv()
        assert welcome[0] == "Welcome" and welcome[1] == 1, welcome
        self.user_id, self.limits = welcome[2], welcome[3]
        if version > 1:  # Hello, req 0, first of all; its answer may use the newer tags
            self.send(b"\x07\x00" + varint(version))
            self.version = version
            assert self.answer(0) == ("Hello", version), "the hub speaks an older version"

    def exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def recv(self):
        while True:
            (length,) = struct.unpack(">I", self.exact(4))
            assert length <= MAX_FRAME_LEN
            msg = decode_hub(self.exact(length), self.version)
            if msg != ("KeepAlive",):
                return msg
            self.send(b"\x06")

    def send(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def request(self, payload):
        self.send(payload)
        return self.recv()

    def call(self, tag, *fields):
        """Send request `tag` with a fresh req; its answer, without the req."""
        self.req += 1
        self.send(varint(tag) + varint(self.req) + b"".join(fields))
        return self.answer(self.req)

    def answer(self, req):
        while True:
            msg = self.recv()
            if msg[0] not in PUSHES:
                assert msg[1] == req, msg
                return (msg[0],) + msg[2:]
            self.pushes.append(msg)

    def push(self):
        return self.pushes.pop(0) if self.pushes else self.recv()

    def closed(self):
        try:
            self.recv()
        except (EOFError, ConnectionResetError):  # a reset counts as an end (section 5)
            return True

    def login(self, name, key, register=False, receive=True):
        tag, nonce = self.call(8)
        assert tag == "Challenge", tag
        if register:
            signature = sign(key, REGISTER, nonce, name)
            return self.call(9, text(name), blob(public(key)), blob(signature))
        flag = b"\x01" if receive else b"\x00"
        return self.call(10, text(name), blob(sign(key, LOGIN, nonce, name)), flag)


def main(port):
    a, b = Conn(port), Conn(port)
    assert a.limits == (1_048_576, 255, 255, MAX_FRAME_LEN)
    ida, idb = a.user_id, b.user_id
    assert a.request(b"\x00" + varint(1)) == ("Identity", 1, ida)
    assert a.request(b"\x04" + varint(2)) == ("Peers", 2, [idb])
    assert b.request(b"\x01" + varint(3)) == ("Peers", 3, [ida])

    words = b"hello from python"
    relay = b"\x02" + varint(4) + varint(2) + varint(idb) + varint(10**9) + b"\x01" + blob(words)
    assert a.request(relay) == ("Relayed", 4, 1, [10**9], [])
    assert b.recv() == ("Message", ida, "Text", words)

    relay = b"\x02" + varint(5) + varint(1) + varint(ida) + b"\x02" + blob(b"a.txt") + blob(b"\0\xff")
    assert b.request(relay) == ("Relayed", 5, 1, [], [])
    assert a.recv() == ("Message", idb, ("File", "a.txt"), b"\0\xff")

    dup = b"\x02" + varint(6) + varint(2) + varint(idb) + varint(idb) + b"\x00" + blob(b"")
    assert a.request(dup)[:3] == ("Error", 6, 2)
    assert a.request(b"\x03" + varint(7) + blob(b"abc")) == ("Echo", 7, b"abc")
    assert a.request(b"\x05" + varint(8)) == ("Pong", 8)
    a.send(b"\x06")

    c = Conn(port)
    assert a.recv() == ("Joined", c.user_id)
    c.sock.close()
    assert a.recv() == ("Left", c.user_id)

    assert b.request(b"\x05\x08\x00")[:3] == ("Error", None, 6)
    assert b.closed(), "the hub should close after Malformed"
    assert a.recv() == ("Left", idb)

    d = Conn(port)
    assert d.request(b"")[:3] == ("Error", None, 6)
    e = Conn(port)
    e.sock.sendall(b"\xff\xff\xff\xff")
    assert e.recv()[:3] == ("Error", None, 5)
    accounts(port)
    print("ok")


EXAMPLE_KEY = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
EXAMPLE_SIGNATURE = (
    "b233e9612ae3187c8982b36a127c120c3d433234d87e7aaac3f76035b4cade0e"
    "c29daa7ecc23938246e6c7b7cc6cef586adae39200a180316acd48eda0ea020a"
)


def accounts(port):
    """Version 3 (section 14): register, log in twice, a mailbox, the directory, delete."""
    example = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    assert public(example).hex() == EXAMPLE_KEY
    assert sign(example, LOGIN, b"\x33" * 32, "Alice").hex() == EXAMPLE_SIGNATURE

    name, key = "Py" + secrets.token_hex(4), Ed25519PrivateKey.generate()
    s = Conn(port, 3)
    answer = s.login(name, key, register=True)  # a refusal here is likely RateLimited
    assert answer[0] == "LoggedIn", answer
    uid, canon = answer[1], answer[2]
    assert uid >= FIRST_ACCOUNT_ID and canon == name.lower() and answer[3] == 0
    t = Conn(port, 3)
    assert t.login(name.upper(), key) == ("LoggedIn", uid, canon, 0)
    assert t.call(0) == ("Identity", uid)

    x = Conn(port, 3)  # anonymous
    assert x.login(name, Ed25519PrivateKey.generate())[:2] == ("Error", 14)  # LoginFailed
    # What one session relays, the account's other sessions see as Outgoing.
    copy = s.call(2, b"\x01" + varint(x.user_id), b"\x01", blob(b"copy"))
    assert copy == ("Routed", 1, [], [], [], []), copy
    assert t.push() == ("Outgoing", [x.user_id], "Text", b"copy")
    assert x.push() == ("Message", uid, "Text", b"copy")
    present = x.call(4)  # Watch: its Left says the last session is gone (section 14)
    assert present[0] == "Present" and (uid, canon) in present[1], present
    s.sock.close()
    t.sock.close()
    while x.push() != ("Left", uid):
        pass
    body = b"kept for later"
    routed = x.call(2, b"\x01" + varint(uid), b"\x01", blob(body))  # Relay, Text, to uid
    assert routed == ("Routed", 0, [uid], [], [], [])  # queued for the account

    s = Conn(port, 3)
    assert s.login(name, key) == ("LoggedIn", uid, canon, 1)
    tag, seq, sender, sent_at_ms, kind, got = s.push()
    assert (tag, sender, kind, got) == ("Stored", x.user_id, "Text", body)
    assert abs(sent_at_ms - time.time() * 1000) < 60_000
    assert s.call(14, varint(seq)) == ("Done",)  # Ack
    t = Conn(port, 3)
    assert t.login(name, key) == ("LoggedIn", uid, canon, 0)

    info = (uid, canon, True)
    assert x.call(11, b"\x00" + text(name.upper())) == ("Account", info)  # Lookup by name
    assert x.call(11, b"\x01" + varint(uid)) == ("Account", info)  # and by id
    assert x.call(12, text(name.upper()[:-1] + "?")) == ("Users", [info], False)

    tag, nonce = t.call(8)
    assert t.call(13, blob(sign(key, DELETE, nonce, canon))) == ("Done",)  # DeleteAccount
    for session in (t, s):
        assert session.push()[:3] == ("Error", None, 18) and session.closed()  # AccountDeleted
    assert x.call(11, b"\x01" + varint(uid)) == ("Account", None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
