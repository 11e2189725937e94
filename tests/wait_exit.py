#!/usr/bin/env python3
"""Waits for processes to exit, as an event: a pidfd (Linux 5.3+) becomes readable when its
process ends, whoever its parent is. Usage: wait_exit.py LIMIT_SECONDS PID...; exits 0 once
every PID has ended, 1 (naming the ones still running) when LIMIT_SECONDS pass first: the limit
only ends a test that would otherwise hang."""
import os, select, sys

limit, pids = float(sys.argv[1]), [int(p) for p in sys.argv[2:]]
poller, fds = select.poll(), {}
for pid in pids:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        continue  # already gone (and reaped)
    fds[fd] = pid
    poller.register(fd, select.POLLIN)
while fds:
    ready = poller.poll(limit * 1000)
    if not ready:
        print(f"still running after {limit:g} s: {sorted(fds.values())}")
        sys.exit(1)
    for fd, _ in ready:
        poller.unregister(fd)
        os.close(fd)
        del fds[fd]
