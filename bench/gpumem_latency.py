#!/usr/bin/env python3
"""The cost of the nvidia-smi source's GPU memory query (the unattributed
memory: --prom-textfile, or a child PID namespace) per sample: wall ms of
one sample (bench_sample latency) without and with it, the fake nvidia-smi
sleeping the H100's latencies (compute-apps 24 ms, pmon 70, GPU query 23,
the memory query as a GPU query: 23). Run after `make build/bench/bench_sample
build/tests/fake-nvidia-smi/nvidia-smi`:

    python3 bench/gpumem_latency.py [SAMPLES [ROUNDS]]

BENCH=path picks another bench_sample (to compare two builds)."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE = os.path.join(ROOT, "build", "tests", "fake-nvidia-smi", "nvidia-smi")
BENCH = os.environ.get("BENCH", os.path.join(ROOT, "build", "bench", "bench_sample"))


def main():
    n = sys.argv[1] if len(sys.argv) > 1 else "25"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(tmp + "/bin")
        shutil.copy(FAKE, tmp + "/bin/nvidia-smi")
        shutil.copy(FAKE, tmp + "/bin/ps")
        rep = tmp + "/rep"
        shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "replay", "busy"), rep)
        with open(rep + "/gpumem.txt", "w") as f:
            f.write("0, 7512, 512\n")
        env = dict(os.environ, PATH=tmp + "/bin:" + os.environ["PATH"], FAKE_SMI_DIR=rep,
                   FAKE_SMI_LATENCY="apps=24,pmon=70,gpus=23,ps=8,gpumem=23")
        env.pop("FAKE_SMI_STATE", None)
        wall, cpu = {}, {}
        for _ in range(rounds):
            for mode in ("without", "with"):
                args = [BENCH, "latency", "nvidia-smi", "ps",
                        os.path.join(ROOT, "tests", "fixtures", "proc", "busy"), n]
                out = subprocess.run(args + (["gpumem"] if mode == "with" else []), env=env,
                                     capture_output=True, text=True, check=True).stdout.splitlines()
                wall.setdefault(mode, []).extend(float(x) for x in out[0].split())
                cpu.setdefault(mode, []).append([float(x) for x in out[2].split()[:2]])
        for mode in ("without", "with"):
            xs = sorted(wall[mode])
            k = len(xs)
            print(f"{mode:7s} the memory query: {k} samples, median {statistics.median(xs):.1f} ms "
                  f"(p10 {xs[k // 10]:.1f}, p90 {xs[k * 9 // 10]:.1f}); CPU per sample: self "
                  f"{statistics.median(c[0] for c in cpu[mode]):.2f} ms, children "
                  f"{statistics.median(c[1] for c in cpu[mode]):.2f} ms")


if __name__ == "__main__":
    main()
