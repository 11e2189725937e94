#!/usr/bin/env python3
"""A relay that holds every client's request until N requests are in flight at once, then relays
each to the upstream. Scenarios run one after another never meet here: the first waits alone until
its client gives up, so they can all pass only when they run concurrently. The readiness check
(a connection that sends nothing) is not counted.
Usage: gate.py LISTEN_HOST:PORT UPSTREAM_HOST:PORT N
"""
import socket
import sys
import threading


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


listen, upstream, needed = address(sys.argv[1]), address(sys.argv[2]), int(sys.argv[3])
arrived = 0
gate = threading.Condition()


def pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client):
    global arrived
    with client:
        first = client.recv(65536)
        if not first:
            return
        with gate:
            arrived += 1
            gate.notify_all()
            gate.wait_for(lambda: arrived >= needed)
        with socket.create_connection(upstream) as up:
            up.sendall(first)
            back = threading.Thread(target=pump, args=(up, client), daemon=True)
            back.start()
            pump(client, up)
            back.join()


server = socket.create_server(listen)
while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
