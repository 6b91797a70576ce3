"""A hubbub client written from docs/PROTOCOL.md alone, to show the document is enough.

Run a hub, then this against it (standard library only, Python 3.8+):

    cargo run -p hub -- --listen 127.0.0.1:7878 &
    python3 docs/examples/protocol_client.py 7878

It opens fresh connections, exercises every request, a refusal, presence pushes and two
protocol errors, checks each answer and prints "ok".
"""

import socket
import struct
import sys

MAX_FRAME_LEN = 1_052_672


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

    def ids(self):
        return [self.var() for _ in range(self.var())]

    def kind(self):
        tag = self.var()
        return ("File", self.blob().decode()) if tag == 2 else ["Bytes", "Text"][tag]


def decode_hub(payload):
    r = Reader(payload)
    tag = r.var()
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
        10: lambda: ("Error", r.var() if r.byte() == 1 else None, r.var(), r.blob().decode()),
    }[tag]()
    assert r.at == len(payload), "trailing bytes"
    return fields


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        welcome = self.recv()
        assert welcome[0] == "Welcome" and welcome[1] == 1, welcome
        self.user_id, self.limits = welcome[2], welcome[3]

    def exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def recv(self):
        (length,) = struct.unpack(">I", self.exact(4))
        assert length <= MAX_FRAME_LEN
        return decode_hub(self.exact(length))

    def send(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def request(self, payload):
        self.send(payload)
        return self.recv()


def main(port):
    a, b = Conn(port), Conn(port)
    assert a.limits == (1_048_576, 255, 255, MAX_FRAME_LEN)
    ida, idb = a.user_id, b.user_id
    assert a.request(b"\x00" + varint(1)) == ("Identity", 1, ida)
    assert a.request(b"\x04" + varint(2)) == ("Peers", 2, [idb])
    assert b.request(b"\x01" + varint(3)) == ("Peers", 3, [ida])

    text = b"hello from python"
    relay = b"\x02" + varint(4) + varint(2) + varint(idb) + varint(10**9) + b"\x01" + blob(text)
    assert a.request(relay) == ("Relayed", 4, 1, [10**9], [])
    assert b.recv() == ("Message", ida, "Text", text)

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
    try:
        b.recv()
        raise AssertionError("the hub should close after Malformed")
    except EOFError:
        pass
    assert a.recv() == ("Left", idb)

    d = Conn(port)
    assert d.request(b"")[:3] == ("Error", None, 6)
    e = Conn(port)
    e.sock.sendall(b"\xff\xff\xff\xff")
    assert e.recv()[:3] == ("Error", None, 5)
    print("ok")


if __name__ == "__main__":
    main(int(sys.argv[1]))
