#!/usr/bin/env bash
# Capture /proc/<pid>/{cmdline,stat,status} and task/<tid>/stat of a
# multi-threaded process on this machine, with meminfo and uptime, into
# tests/fixtures/proc/local/ (committed; re-run to refresh).
set -eu
cd "$(dirname "$0")/../.."
dst=tests/fixtures/proc/local
rm -rf "$dst"
python3 -c '
import hashlib, threading, time
def spin():  # hashing large buffers releases the GIL: threads run on several CPUs
    t = time.time() + 3
    while time.time() < t: hashlib.sha256(b"x" * 20000000).digest()
ts = [threading.Thread(target=spin) for _ in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
time.sleep(30)' &
pid=$!
sleep 2.5
mkdir -p "$dst/$pid/task"
for f in cmdline stat status; do cat "/proc/$pid/$f" >"$dst/$pid/$f"; done
for t in /proc/$pid/task/*; do
    mkdir -p "$dst/$pid/task/$(basename "$t")"
    cat "$t/stat" >"$dst/$pid/task/$(basename "$t")/stat"
done
cat /proc/meminfo >"$dst/meminfo"
cat /proc/uptime >"$dst/uptime"
kill "$pid"
echo "captured pid $pid with $(ls "$dst/$pid/task" | wc -l) threads into $dst"
