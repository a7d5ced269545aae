/* The pure half of the NVML source: NVML's answers decoded from raw bytes
 * at the stride each call version uses, checked, and the per-process
 * utilization samples filtered. No NVML, no I/O: unit-tested on byte
 * buffers shaped like the driver's (tests/test_nvml_records.c). */
#ifndef GPU_WATCH_NVML_RECORDS_H
#define GPU_WATCH_NVML_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* Record sizes (x86-64, nvml.h API 13): nvmlProcessInfo_v1_t is
 * {u32 pid @0; u64 usedGpuMemory @8}; v2 and v3 add
 * {u32 gpuInstanceId @16; u32 computeInstanceId @20}. */
#define NVML_PROC_V1_SIZE 16
#define NVML_PROC_V2_SIZE 24
/* nvmlProcessUtilizationSample_t (the old call):
 * {u32 pid @0; u64 timeStamp @8; u32 smUtil @16; memUtil @20; enc @24; dec @28}. */
#define NVML_UTIL_SAMPLE_SIZE 32
/* nvmlProcessUtilizationInfo_v1_t (driver 550+): timeStamp and pid swap
 * places: {u64 timeStamp @0; u32 pid @8; smUtil @12; memUtil @16; ...} to 40 B. */
#define NVML_UTIL_INFO_SIZE 40

/* nvmlAccountingStats_t: {u32 gpuUtilization @0; u32 memoryUtilization @4;
 * u64 maxMemoryUsage @8 (bytes); u64 time @16 (ms, 0 while running);
 * u64 startTime @24 (CPU us); u32 isRunning @32; u32 reserved[5]} to 56 B. */
#define NVML_ACCT_STATS_SIZE 56

/* NVML_VALUE_NOT_AVAILABLE: memory the driver cannot tell (WDDM). */
#define NVML_NOT_AVAILABLE UINT64_MAX
/* GPU / compute instance of a record off MIG. */
#define NVML_NO_INSTANCE 0xFFFFFFFFu

/* One process on one GPU, as the process list gave it. */
struct nvml_proc {
    uint32_t pid;
    uint64_t mem; /* bytes; NVML_NOT_AVAILABLE when unknown */
    uint32_t gi;  /* GPU instance (MIG); NVML_NO_INSTANCE off MIG or with v1 */
    uint32_t ci;  /* compute instance (MIG); as gi */
    int sm_pct;   /* from the utilization filter; -1 unknown */
    int mem_pct;  /* as sm_pct */
};

/* One utilization sample, either layout. */
struct nvml_util {
    uint32_t pid;
    uint64_t ts;  /* CPU time of the sample, microseconds */
    uint32_t sm;  /* % */
    uint32_t mem; /* % */
};

/* Decode n process records of size stride (NVML_PROC_V1_SIZE or
 * NVML_PROC_V2_SIZE) from raw into out[0..n). */
void nvml_decode_procs(const unsigned char *raw, size_t n, size_t stride, struct nvml_proc *out);

/* Decode n utilization samples, the old layout (NVML_UTIL_SAMPLE_SIZE) or
 * the new one (NVML_UTIL_INFO_SIZE), from raw into out[0..n). */
void nvml_decode_util(const unsigned char *raw, size_t n, size_t size, struct nvml_util *out);

/* Check a GPU's process list: every PID > 0 and <= pid_max, memory <=
 * total (bytes) unless not available, no PID twice on the GPU (on MIG: no
 * PID twice in one GPU/compute instance). 0, or -EPROTO with the first bad
 * record described in why ("PID 0", "PID 7 listed twice"). */
int nvml_check_procs(const struct nvml_proc *p, size_t n, long pid_max, uint64_t total, char *why,
                     size_t whylen);

/* Keep the samples that count: the PID is in procs, the sample is newer
 * than *last_seen (us), SM <= 100; the newest sample per PID wins and sets
 * sm_pct/mem_pct of every record of that PID. Records without a kept
 * sample keep -1 (unknown: the driver lists only processes that used the
 * GPU, and stale entries fill the rest of the buffer). *last_seen becomes
 * the newest kept timestamp. Returns how many records got figures. */
size_t nvml_filter_util(const struct nvml_util *u, size_t nu, struct nvml_proc *procs, size_t np,
                        uint64_t *last_seen);

/* The peak, MiB (rounded as nvml_mib), of one accounting record (raw:
 * NVML_ACCT_STATS_SIZE bytes, nvmlDeviceGetAccountingStats's answer for a
 * listed, so running, process), or -1 unknown: the record is not running
 * (a finished record of a reused PID is another process's), or its
 * maxMemoryUsage is 0 (seen for finished processes, never a real peak) or
 * NVML_NOT_AVAILABLE. An all-zero record (no answer) is unknown. */
int64_t nvml_acct_peak(const unsigned char *raw);

/* The startTime (us since the epoch) of a running accounting record (raw
 * as for nvml_acct_peak), or 0 unknown (not running, or no answer). */
uint64_t nvml_acct_start(const unsigned char *raw);

/* Bytes to MiB, as nvidia-smi shows them (rounded down); -1 when not available. */
int64_t nvml_mib(uint64_t bytes);

#endif
