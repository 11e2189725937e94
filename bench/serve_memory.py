#!/usr/bin/env python3
"""Peak RSS of `upfault serve` under clients that hold its memory without giving anything back.

  serve_memory.py UPFAULT stalled N [--half-hello] [-- SERVE_ARGS...]
      N TCP connections to the tls port that send nothing (or half a ClientHello) and never go on.
  serve_memory.py UPFAULT body {h1,tls,h2c} K [-- SERVE_ARGS...]
      K connections that each ask for a 16 MiB body and never read it.

Prints one line: what was done, the RSS before the clients (MiB), the peak (VmHWM, MiB), and how
many connections the server had accepted (its open sockets) when the peak was read. The open-file
limit is raised to the hard limit for both sides. Exit 0; the caller compares the figures.
"""
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time

BODY = 16 << 20
SCENARIOS = {
    "big-h1": "",
    "big-tls": '[upstream]\nprotocol = "https"\n',
    "big-h2c": '[upstream]\nprotocol = "h2c"\n',
}


def write_scenarios(d, size):
    for name, upstream in SCENARIOS.items():
        step = (f"h2_response = {{ status = 200, body_size = {size} }}" if name == "big-h2c"
                else f"response = {{ status = 200, body_size = {size} }}")
        with open(os.path.join(d, name + ".toml"), "w") as f:
            f.write(f'name = "{name}"\nsummary = "a 16 MiB body"\nrationale = "memory"\nlevel = "may"\n'
                    f'{upstream}\n[[upstream.steps]]\nread = "request"\n\n[[upstream.steps]]\n{step}\n\n'
                    f"[expect]\nstatus = 200\n")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def start_serve(upfault, d, extra):
    p = subprocess.Popen([upfault, "serve", d, "--tls-dir", os.path.join(d, "ca"), *extra], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, preexec_fn=raise_nofile)
    text = ""
    while "Ctrl-C" not in text:
        line = p.stdout.readline()
        if not line:
            sys.exit(f"upfault serve ended: {text}")
        text += line
    ports = {"scripted": int(re.search(r"upstream 127\.0\.0\.1:(\d+)", text).group(1)),
             "tls": int(re.search(r"/__tls/ :(\d+)", text).group(1))}
    return p, ports


def client_hello():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def stalled(port, n, half):
    hello = client_hello() if half else b""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    if hello:
        time.sleep(1)
        for s in socks:
            try:
                s.send(hello[: len(hello) // 2])
            except OSError:
                pass
    return socks


def h2c_request(path):
    def lit(index, value):
        v = value.encode()
        return bytes([index, len(v)]) + v
    block = b"\x82\x86" + lit(4, path) + lit(1, "localhost")
    headers = len(block).to_bytes(3, "big") + b"\x01\x05" + (1).to_bytes(4, "big") + block
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + headers


def body_clients(ports, mode, k):
    keep = []
    for _ in range(k):
        if mode == "h2c":
            s = socket.create_connection(("127.0.0.1", ports["scripted"]))
            s.sendall(h2c_request("/__h2c/__upfault/big-h2c/"))
        elif mode == "h1":
            s = socket.create_connection(("127.0.0.1", ports["scripted"]))
            s.sendall(b"GET /__upfault/big-h1/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", ports["tls"])), server_hostname="localhost")
            s.sendall(b"GET /__tls/__upfault/big-tls/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        keep.append(s)
    return keep


def main():
    args = sys.argv[1:]
    extra = args[args.index("--") + 1:] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    upfault, what = args[0], args[1]
    raise_nofile()
    with tempfile.TemporaryDirectory() as d:
        write_scenarios(d, BODY if what == "body" else 1)
        p, ports = start_serve(upfault, d, extra)
        try:
            time.sleep(0.5)
            base = status(p.pid, "VmRSS")
            if what == "stalled":
                n = int(args[2])
                keep = stalled(ports["tls"], n, "--half-hello" in args)
                label = f"{n} stalled TLS handshakes{' (half a ClientHello)' if '--half-hello' in args else ''}"
            else:
                mode, k = args[2], int(args[3])
                keep = body_clients(ports, mode, k)
                label = f"{k} non-reading {mode} clients of a 16 MiB body"
            time.sleep(5)
            peak, accepted = status(p.pid, "VmHWM"), open_sockets(p.pid)
            print(f"{label}: RSS {base:.1f} MiB before, peak {peak:.1f} MiB; {accepted} sockets open in serve "
                  f"(args: {' '.join(extra) or 'defaults'})")
            for s in keep:
                s.close()
        finally:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
