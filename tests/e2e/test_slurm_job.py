"""gpu_watch job under a real Slurm (Debian's slurmctld, slurmd, slurm-client and
munge): a one-node cluster on 127.0.0.1 with two fake GPUs (mknod'ed character
devices named nvidia0/nvidia1), the gpu_watch service (--who --peaks) against the
fake nvidia-smi, and contrib/slurm's prolog and epilog installed. The job holds
one long process (listed by the fake) and a short-lived child that no sample sees,
which only the accounting records hold. The fake's GPU index 1 has minor number 0:
Slurm's GPU 0 must be reported as index 1. Skipped (with the reason) when the
Slurm binaries are absent or not root."""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
import unittest

from tests.e2e.gw import BIN, ROOT, GwTest

JOBFX = os.path.join(ROOT, "tests", "fixtures", "job")
CONTRIB = os.path.join(ROOT, "contrib", "slurm")
UA = "GPU-aaaaaaaa-1111-2222-3333-444444444444"
UB = "GPU-bbbbbbbb-1111-2222-3333-444444444444"
NEEDED = ("slurmctld", "slurmd", "sbatch", "scontrol", "munged")
OLD_PID = 99999  # a finished record of the job before, on the job's GPU


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class SlurmJob(GwTest):
    def setUp(self):
        missing = [b for b in NEEDED if not shutil.which(b)]
        if missing:
            self.skipTest("slurm binaries absent: " + ", ".join(missing))
        if os.geteuid() != 0:
            self.skipTest("a one-node Slurm needs root")
        super().setUp()
        os.chmod(self.tmp, 0o711)  # munged wants its socket's directory searchable
        self.daemons = []

    def tearDown(self):
        for p in reversed(self.daemons):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        super().tearDown()

    def write(self, name, text):
        """Replace a file at once: the fake and the daemons never see half."""
        tmp = self.path(name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path(name))

    def daemon(self, *argv, env=None):
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.daemons.append(p)
        return p

    def slurm_conf(self, host, sock):
        t = self.tmp
        os.mkdir(self.path("dev"))
        for n in (0, 1):  # gres.conf File= must be character devices
            os.mknod(self.path(f"dev/nvidia{n}"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        for d in ("ctld", "d", "spool"):
            os.mkdir(self.path(d))
        conf = f"""ClusterName=gwtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={t}/ctld
SlurmdSpoolDir={t}/d
SlurmctldPidFile={t}/ctld.pid
SlurmdPidFile={t}/d.pid
SlurmctldLogFile={t}/ctld.log
SlurmdLogFile={t}/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
MpiDefault=none
ReturnToService=2
GresTypes=gpu
Prolog={t}/prolog
Epilog={t}/epilog
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
        self.write("slurm.conf", conf)
        self.write("gres.conf", f"Name=gpu File={t}/dev/nvidia[0-1]\n")
        # The installed scripts, with their settings beside them.
        settings = f"""GPU_WATCH={BIN}
GPU_WATCH_LOG={t}/log.csv
GPU_WATCH_SPOOL={t}/spool
GPU_WATCH_ADMIN_COMMENT=yes
GPU_WATCH_TIMEOUT=5
GPU_WATCH_READER=smi
export PATH={self.fakebin}:/usr/sbin:/usr/bin:/sbin:/bin
export FAKE_SMI_DIR={t}/fx FAKE_SMI_ACCT=on SLURM_CONF={t}/slurm.conf
"""
        self.write("bin/sacctmgr", f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {t}/sacctmgr.args\n")
        os.chmod(self.path("bin/sacctmgr"), 0o755)
        for s in ("prolog", "epilog"):
            shutil.copy(os.path.join(CONTRIB, s), self.path(s))
            os.chmod(self.path(s), 0o755)
            self.write(s + ".conf", settings)

    def test_epilog_reports_bounds_processes_and_minor_mapping(self):
        t0 = time.monotonic()
        host = socket.gethostname().split(".")[0]
        sock = self.path("munge.sock")
        with open(self.path("munge.key"), "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(self.path("munge.key"), 0o400)
        self.daemon("munged", "-F", "--force", f"--key-file={self.path('munge.key')}",
                    f"--socket={sock}", f"--pid-file={self.path('munged.pid')}",
                    f"--log-file={self.path('munged.log')}",
                    f"--seed-file={self.path('munged.seed')}")
        self.assertTrue(wait_for(lambda: os.path.exists(sock), 10), "munged did not start")
        self.slurm_conf(host, sock)
        env = dict(os.environ, SLURM_CONF=self.path("slurm.conf"))

        # The fake driver: two GPUs, index 1 is minor 0 (q.txt); accounting
        # on; a finished record of the job before on the job's GPU, and one
        # on the other GPU.
        os.mkdir(self.path("fx"))
        for f in ("gpus.txt", "q.txt"):
            shutil.copy(os.path.join(JOBFX, f), self.path("fx/" + f))
        self.write("fx/apps.txt", "")
        self.write("fx/pmon.txt", "# gpu pid type sm mem enc dec command\n"
                                  "# Idx # C/G % % % % name\n")
        old = [f"{UB}, {OLD_PID}, 8000 MiB, 5000 ms", f"{UA}, 4242, 7000 MiB, 100 ms"]
        self.write_acct(old)

        self.daemon("slurmctld", "-D", "-f", self.path("slurm.conf"), env=env)
        self.daemon("slurmd", "-D", "-f", self.path("slurm.conf"), env=env)
        watcher = self.start_gw("--who", "--peaks", "--interval", "0.3", "-q", "-o",
                                self.path("log.csv"), fixture=self.path("fx"), proc=None,
                                FAKE_SMI_ACCT="on")

        def node_up():
            r = subprocess.run(["scontrol", "show", "node", host], env=env, capture_output=True,
                               text=True, timeout=10)
            return r.returncode == 0 and "State=IDLE" in r.stdout
        self.assertTrue(wait_for(node_up, 30, 0.5), self.slurm_logs())

        t = self.tmp
        script = f"""#!/bin/sh
echo $$ > {t}/long.pid
i=0; while [ ! -e {t}/listed ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 1
sh -c 'echo $$ > {t}/short.pid; sleep 0.2'
i=0; while [ ! -e {t}/recorded ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 1
"""
        self.write("job.sh", script)
        r = subprocess.run(["sbatch", "--parsable", "--gres=gpu:1", "-o", f"{t}/job.out",
                            f"{t}/job.sh"], env=env, capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr + self.slurm_logs())
        job = r.stdout.strip().split(";")[0]

        long_pid = int(wait_for(lambda: self.read("long.pid"), 20) or 0)
        self.assertTrue(long_pid, "the job did not start\n" + self.slurm_logs())
        # The fake lists the long process on GPU index 1 (minor 0: Slurm's 0).
        self.write("fx/apps.txt", f"{long_pid}, {UB}, 700\n")
        self.write("fx/pmon.txt", "# gpu pid type sm mem enc dec command\n"
                                  "# Idx # C/G % % % % name\n"
                                  f"    1 {long_pid} C 40 5 - - sh\n")
        self.write_acct(old + [f"{UB}, {long_pid}, 1200 MiB, 0 ms"])
        self.write("listed", "")
        short_pid = int(wait_for(lambda: self.read("short.pid"), 20) or 0)
        self.assertTrue(short_pid)
        # The short child ended between samples: only its record knows it.
        self.write_acct(old + [f"{UB}, {long_pid}, 1200 MiB, 0 ms",
                               f"{UB}, {short_pid}, 3000 MiB, 200 ms"])
        self.write("recorded", "")

        report = self.path(f"spool/{job}.json")
        self.assertTrue(wait_for(lambda: os.path.exists(report), 30),
                        "no report from the epilog\n" + self.read("spool/errors.log") +
                        self.slurm_logs())
        with open(report) as f:
            rep = json.load(f)
        self.assertEqual(rep["job_id"], job)
        self.assertEqual(rep["start_source"], "snapshot")
        self.assertEqual(len(rep["gpus"]), 1, rep)
        g = rep["gpus"][0]
        self.assertEqual((g["index"], g["minor"], g["uuid"], g["slurm"]), (1, 0, UB, True))
        procs = {p["pid"]: p for p in g["processes"]}
        self.assertEqual(sorted(procs), sorted([long_pid, short_pid]), g)
        lp, sp = procs[long_pid], procs[short_pid]
        self.assertEqual((lp["seen_by"], lp["sampled_peak_mib"], lp["driver_peak_mib"]),
                         ("samples", 700, 1200))
        self.assertGreaterEqual(lp["samples"], 2)
        self.assertIn("slurm_script", lp["cmd"])  # slurmd's copy of the batch script
        self.assertEqual(lp["user"], "root")
        self.assertEqual((sp["seen_by"], sp["driver_peak_mib"], sp["samples"], sp["user"]),
                         ("accounting", 3000, 0, "root"))
        # Lower: the short child's 3,000 MiB beat every sampled sum (700);
        # upper: 1,200 + 3,000.
        self.assertEqual(g["memory_mib"], {"lower": 3000, "lower_source": "driver",
                                           "upper": 4200, "upper_source": "driver",
                                           "upper_null_reason": None})
        self.assertEqual(rep["memory_mib"]["upper"], 4200)
        # samples_missing is right when a loaded machine made the watcher skip
        # samples; no other flag may be raised.
        self.assertLessEqual(set(rep["flags"]), {"job_id_claimed", "samples_missing"},
                             rep["flags"])
        # The owner's view and the AdminComment.
        r = subprocess.run([BIN, "job", "--spool", self.path("spool"), job], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("at least 3000 MiB (driver), at most 4200 MiB", r.stdout)
        self.assertFalse(os.path.exists(self.path(f"spool/{job}.before")))

        # The AdminComment: this cluster has no slurmdbd, so a stand-in
        # sacctmgr first in the epilog's PATH records what it was asked.
        args = wait_for(lambda: self.read("sacctmgr.args"), 10)
        self.assertEqual(args.split("\n"), [
            "-i", "update", "job", "where", f"jobid={job}", "set",
            "AdminComment=gpu_watch:lower_mib=3000,upper_mib=4200,gpus=1,procs=2,flags=" +
            "+".join(rep["flags"])])
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(10)
        self.assertLess(time.monotonic() - t0, 60)

    def write_acct(self, lines):
        self.write("fx/acct.txt", "gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n" +
                   "".join(line + "\n" for line in lines))

    def read(self, name):
        try:
            with open(self.path(name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def slurm_logs(self):
        return "\n--- ctld\n" + self.read("ctld.log")[-2000:] + "\n--- d\n" + \
            self.read("d.log")[-2000:]


if __name__ == "__main__":
    unittest.main()
