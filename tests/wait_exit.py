#!/usr/bin/env python3
"""Waits for processes to exit, as an event: a pidfd (Linux 5.3+) becomes readable when its
process ends, whoever its parent is. Usage: wait_exit.py PID...; exits 0 once every PID has
ended. It sets no time limit of its own: a process that never ends is a hung test, which
ctest's per-test timeout ends."""
import os, select, sys

pids = [int(p) for p in sys.argv[1:]]
poller, fds = select.poll(), {}
for pid in pids:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        continue  # already gone (and reaped)
    fds[fd] = pid
    poller.register(fd, select.POLLIN)
while fds:
    for fd, _ in poller.poll():
        poller.unregister(fd)
        os.close(fd)
        del fds[fd]
