#!/bin/sh
# The job of `make demo`'s wrap-mode part: a stand-in for a CUDA program that
# lists its own processes (itself and a worker it starts) in the fixture
# directory that the fake nvidia-smi replays (FAKE_SMI_DIR: apps.txt,
# pmon.txt, acct.txt), as the real driver would list them. Its memory grows,
# and once it takes 6 GiB more for a moment no sample sees: the driver's
# accounting record (acct.txt) keeps that peak. Usage: demo_job.sh DIR PROM
set -eu
dir=$1
prom=$2
uuid=$(sed -n '1s/^[^,]*, *//p' "$dir/gpus.txt")
sleep 30 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT
# list MIB_SELF MIB_WORKER PEAK_SELF: what the driver says now. The files are
# replaced whole (rename), so a reader never sees half of one.
list() {
    printf '%s, %s, %s\n%s, %s, %s\n' $$ "$uuid" "$1" "$worker" "$uuid" "$2" >"$dir/apps.tmp"
    {
        echo '# gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command'
        echo '# Idx           #    C/G      %      %      %      %      %      %     MB     MB    name'
        printf '    0 %10s     C     80      9      -      -      -      -  %5s      0    sh\n' $$ "$1"
        printf '    0 %10s     C     10      1      -      -      -      -  %5s      0    sleep\n' "$worker" "$2"
    } >"$dir/pmon.tmp"
    {
        echo 'gpu_uuid, pid, max_memory_usage [MiB], time [ms]'
        printf '%s, %s, %s MiB, 0 ms\n%s, %s, %s MiB, 0 ms\n' "$uuid" $$ "$3" "$uuid" "$worker" "$2"
    } >"$dir/acct.tmp"
    mv "$dir/apps.tmp" "$dir/apps.txt"
    mv "$dir/pmon.tmp" "$dir/pmon.txt"
    mv "$dir/acct.tmp" "$dir/acct.txt"
}
list 1200 300 1200
sleep 1.2
list 2400 300 2400
sleep 0.6
# What node_exporter would read now: the metrics of the last sample.
echo "--- $prom while the job runs:"
grep -E '^gpu_watch_process_gpu_memory_(bytes|peak_bytes)' "$prom" || true
echo "---"
list 3600 300 9744 # the spike came and went between two samples
sleep 1.2
# The end: no process on the GPU; the records stay, finished (time: the life
# of each GPU context, ms), as the driver keeps them after the exit.
kill $worker 2>/dev/null || true
: >"$dir/apps.tmp"
sed -n '1,2p' "$dir/pmon.txt" >"$dir/pmon.tmp"
{
    echo 'gpu_uuid, pid, max_memory_usage [MiB], time [ms]'
    printf '%s, %s, 9744 MiB, 2500 ms\n%s, %s, 300 MiB, 2500 ms\n' "$uuid" $$ "$uuid" "$worker"
} >"$dir/acct.tmp"
mv "$dir/apps.tmp" "$dir/apps.txt"
mv "$dir/pmon.tmp" "$dir/pmon.txt"
mv "$dir/acct.tmp" "$dir/acct.txt"
