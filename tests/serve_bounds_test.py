#!/usr/bin/env python3
"""`upfault serve` bounded like a server.

  serve_bounds_test.py UPFAULT caps
      With --max-handshakes 6, --max-connections 24 and --handshake-timeout 1s: stalled TLS
      connections are never served past the handshake cap, the stalled handshakes are closed, a real
      TLS request is served once they are gone, and silent plaintext connections never past the
      connection cap. (Runs under the sanitizers.)
  serve_bounds_test.py UPFAULT memory
      With 256 handshakes at once: thousands of TLS connections that send half a ClientHello, and
      clients of a 16 MiB body over TLS and h2c that do not read, raise serve's peak RSS (VmHWM) by
      under 16 MiB.

Every wait is for an event (a line serve prints, a count it reaches, bytes or an end seen by the
client); ctest's timeout ends a run where the event never comes. Prints FAIL: on failure.
"""
import os
import queue
import resource
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SCENARIOS = {
    "ok-tls": ('[upstream]\nprotocol = "https"\n', 'response = { status = 200, body = "ok" }'),
    "big-tls": ('[upstream]\nprotocol = "https"\n', "response = { status = 200, body_size = 16777216 }"),
    "big-h2c": ('[upstream]\nprotocol = "h2c"\n', "h2_response = { status = 200, body_size = 16777216 }"),
}


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def write_scenarios(d, names):
    for name in names:
        upstream, step = SCENARIOS[name]
        with open(os.path.join(d, name + ".toml"), "w") as f:
            f.write(f'name = "{name}"\nsummary = "s"\nrationale = "r"\nlevel = "may"\n{upstream}\n'
                    f'[[upstream.steps]]\nread = "request"\n\n[[upstream.steps]]\n{step}\n\n[expect]\nstatus = 200\n')


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Serve:
    """`upfault serve` on port 0; its stderr lines are read as they come."""

    def __init__(self, upfault, d, args):
        self.p = subprocess.Popen([upfault, "serve", d, "--tls-dir", os.path.join(d, "ca"), *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
        text = ""
        while "Ctrl-C" not in text:
            line = self.p.stdout.readline()
            if not line:
                fail(f"upfault serve ended: {text}{self.p.stderr.read()}")
            text += line
        first = text.split("upstream 127.0.0.1:")[1]
        self.port = int(first.split(";")[0])
        self.tls = int(text.split("/__tls/ :")[1].split(",")[0])
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(l) for l in self.p.stderr], daemon=True).start()
        self.listening = self.sockets()

    def sockets(self):
        n = 0
        for fd in os.listdir(f"/proc/{self.p.pid}/fd"):
            try:
                n += os.readlink(f"/proc/{self.p.pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass
        return n

    def status(self, key):
        with open(f"/proc/{self.p.pid}/status") as f:
            return next(int(l.split()[1]) / 1024 for l in f if l.startswith(key + ":"))

    def wait_for_line(self, text, bound, what):
        """Waits for a stderr line holding `text`; fails at once if serve holds over `bound` accepted sockets."""
        worst, seen = 0, False
        while True:
            worst = max(worst, self.sockets() - self.listening)  # after the line too: what it holds at the cap
            if worst > bound:
                fail(f"{what}: serve holds {worst} accepted connections, over the cap (at most {bound})")
            if seen:
                return worst
            try:
                seen = text in self.lines.get(timeout=0.05)
            except queue.Empty:
                pass

    def stop(self):
        self.p.terminate()
        self.p.wait()


def silent(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def tls_client(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=120), server_hostname="localhost")


def caps(upfault, d):
    write_scenarios(d, ["ok-tls"])
    serve = Serve(upfault, d, ["--max-connections", "24", "--max-handshakes", "6", "--handshake-timeout", "1s"])
    try:
        stalled = silent(serve.tls, 40)
        # One more than the cap: an accept loop may hold one connection it accepted while it waits for room.
        worst = serve.wait_for_line("TLS handshakes in progress (the cap", 6 + 1, "40 stalled TLS handshakes")
        # The stalled handshakes are closed: each client sees the end of its connection.
        ended, pending = 0, list(stalled)
        while ended < 6:
            readable, _, _ = select.select(pending, [], [])
            for s in readable:
                try:
                    data = s.recv(1)
                except OSError:
                    data = b""
                if not data:
                    ended += 1
                    pending.remove(s)
        for s in stalled:
            s.close()
        c = tls_client(serve.tls)
        c.sendall(b"GET /__tls/__upfault/ok-tls/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head = c.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            fail(f"after the stalled handshakes, a TLS request got {head[:40]!r}, not a 200")
        c.close()
        print(f"handshakes: at most {worst} accepted at once (cap 6), stalled ones closed, then a request served")
        quiet = silent(serve.port, 60)
        # Two more than the cap: the plaintext and the TLS port's loops may each hold one.
        worst = serve.wait_for_line("connections open (the cap", 24 + 2, "60 silent plaintext connections")
        print(f"connections: at most {worst} accepted at once (cap 24)")
        for s in quiet:
            s.close()
    finally:
        serve.stop()


def half_hello():
    ctx = ssl.create_default_context()
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    return hello[: len(hello) // 2]


def h2c_request(path):
    block = b"\x82\x86" + bytes([4, len(path)]) + path + bytes([1, 9]) + b"localhost"
    headers = len(block).to_bytes(3, "big") + b"\x01\x05" + (1).to_bytes(4, "big") + block
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + headers


def started_body(s, want=16384):
    got = 0
    while got < want:  # the response has begun: the server has done whatever it does before the first byte
        data = s.recv(want - got)
        if not data:
            fail("a 16 MiB body's connection ended before 16 KiB of it came")
        got += len(data)


def memory(upfault, d):
    hard = raise_nofile()
    n = min(3000, hard - 200)
    write_scenarios(d, ["big-tls", "big-h2c"])
    serve = Serve(upfault, d, ["--max-handshakes", "256"])
    try:
        before = serve.status("VmRSS")
        readers = []
        for _ in range(4):
            t = tls_client(serve.tls)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            t.sendall(b"GET /__tls/__upfault/big-tls/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
            h = socket.create_connection(("127.0.0.1", serve.port), timeout=120)
            h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            h.sendall(h2c_request(b"/__h2c/__upfault/big-h2c/"))
            readers += [t, h]
        for s in readers:
            started_body(s)
        hello, stalled = half_hello(), silent(serve.tls, n)
        connecting, left = select.poll(), {s.fileno(): s for s in stalled}
        for s in stalled:
            connecting.register(s, select.POLLOUT)
        while left:  # each connect completes: the kernel's queue has room for all
            for fd, _ in connecting.poll():
                connecting.unregister(fd)
                left.pop(fd).send(hello)
        # Either every connection was taken (no cap) or the handshake cap was reached.
        while serve.sockets() - serve.listening < n + len(readers):
            try:
                if "TLS handshakes in progress (the cap" in serve.lines.get(timeout=0.05):
                    break
            except queue.Empty:
                pass
        peak = serve.status("VmHWM")
        print(f"{n} stalled TLS handshakes and 4 + 4 non-reading TLS and h2c clients of a 16 MiB body: "
              f"RSS {before:.1f} MiB before, peak {peak:.1f} MiB")
        if peak - before >= 16:
            fail(f"peak RSS grew by {peak - before:.1f} MiB, not under 16 MiB")
        for s in stalled + readers:
            s.close()
    finally:
        serve.stop()


def main():
    upfault, mode = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as d:
        caps(upfault, d) if mode == "caps" else memory(upfault, d)
    print("PASS")


if __name__ == "__main__":
    main()
