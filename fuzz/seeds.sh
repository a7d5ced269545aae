#!/usr/bin/env bash
# Builds the seed corpus of one fuzz harness from the test fixtures (real
# H100 captures and the replay trees), plus the committed seeds and every
# regression input: fuzz/seeds/<name>/ and fuzz/regress/<name>/.
# Usage: fuzz/seeds.sh NAME DIR   (DIR is created; existing files are kept,
# so a corpus grown by earlier runs carries on growing)
set -eu
name=$1
dir=$2
cd "$(dirname "$0")/.."
mkdir -p "$dir"
F=tests/fixtures
shopt -s nullglob
case $name in
smi_apps) files=($F/h100-580/*/apps*.txt $F/h100-580/series/*.apps $F/replay/*/apps.txt $F/replay/*/*.apps) ;;
smi_pmon) files=($F/h100-580/*/pmon*.txt $F/h100-580/series/*.pmon $F/replay/*/pmon.txt $F/replay/*/*.pmon $F/h100-580/busy/dmon.txt) ;;
smi_gpus) files=($F/h100-580/*/gpus*.txt $F/replay/*/gpus.txt $F/replay/*/*.gpus) ;;
ps_args) files=($F/h100-580/*/ps_*.txt $F/h100-580/series/*.ps $F/h100-580/many/cmdlines_rs.txt) ;;
procfs_cmdline | csv_field) files=($F/proc/*/*/cmdline $F/h100-580/*/proc_*_cmdline.txt) ;;
procparse) files=($F/proc/*/*/stat $F/proc/*/*/status $F/proc/*/*/task/*/stat $F/proc/*/meminfo $F/proc/*/uptime $F/h100-580/busy/proc_*_stat.txt $F/h100-580/busy/proc_*_status.txt $F/h100-580/busy/meminfo.txt $F/h100-580/busy/proc_stat_head.txt) ;;
logread) files=($F/logs/*.csv $F/summary/*.csv) ;;
owner) files=($F/cgroup/* $F/proc/who/*/cgroup $F/proc/who/*/environ $F/proc/who/*/status) ;;
job) files=($F/job/q.txt) ;;
smi_acct) files=($F/h200-580/accounting/accounted*.txt $F/peaks/*/acct.txt $F/h100-580/busy/accounted.txt) ;;
*) files=() ;;
esac
files+=(fuzz/seeds/"$name"/* fuzz/regress/"$name"/*)
for f in "${files[@]}"; do
    # Name each seed by its content, so re-seeding adds no duplicates.
    cp "$f" "$dir/seed-$(sha1sum <"$f" | cut -c1-16)"
done
