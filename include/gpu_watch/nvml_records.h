/* The pure half of the NVML source: NVML's records declared (one header
 * for the source, the job command and the fake library), its answers
 * decoded from raw bytes at the stride each call version uses, checked,
 * and the per-process utilization samples filtered. No NVML, no I/O: unit-tested on byte
 * buffers shaped like the driver's (tests/test_nvml_records.c). */
#ifndef GPU_WATCH_NVML_RECORDS_H
#define GPU_WATCH_NVML_RECORDS_H

#include <stddef.h> /* offsetof */
#include <stdint.h>

/* NVML's records, declared as nvml.h (API 13) lays them out on x86-64 and
 * arm64 (LP64), without nvml.h: the checks below fail the build, not a
 * sample, if a layout differs. A record is copied out of the driver's buffer
 * with memcpy at the stride of the call version that wrote it (a driver
 * that writes v3 records at the v1 stride is caught by nvml_check_procs). */

/* nvmlProcessInfo_v1_t: nvmlDeviceGetComputeRunningProcesses (v1), 16 B. */
struct nvml_proc_info_v1 {
    uint32_t pid;
    uint64_t used_gpu_memory; /* bytes; NVML_NOT_AVAILABLE when unknown */
};

/* nvmlProcessInfo_v2_t, also the _v3 call's record (driver 535+), 24 B. */
struct nvml_proc_info_v2 {
    uint32_t pid;
    uint64_t used_gpu_memory;     /* bytes; NVML_NOT_AVAILABLE when unknown */
    uint32_t gpu_instance_id;     /* MIG; NVML_NO_INSTANCE off MIG */
    uint32_t compute_instance_id; /* as gpu_instance_id */
};

/* nvmlProcessUtilizationSample_t: nvmlDeviceGetProcessUtilization, 32 B. */
struct nvml_util_sample {
    uint32_t pid;
    uint64_t time_stamp; /* CPU time, microseconds */
    uint32_t sm_util;    /* % */
    uint32_t mem_util;   /* % */
    uint32_t enc_util;   /* % */
    uint32_t dec_util;   /* % */
};

/* nvmlProcessUtilizationInfo_v1_t (driver 550+), 40 B: time_stamp and pid
 * swap places against nvml_util_sample. */
struct nvml_util_info_entry {
    uint64_t time_stamp; /* CPU time, microseconds */
    uint32_t pid;
    uint32_t sm_util; /* % */
    uint32_t mem_util;
    uint32_t enc_util;
    uint32_t dec_util;
    uint32_t jpg_util;
    uint32_t ofa_util;
};

/* nvmlProcessesUtilizationInfo_v1_t: nvmlDeviceGetProcessesUtilizationInfo's
 * argument, 24 B; version NVML_UTIL_INFO_VERSION. In: the room in
 * proc_util_array (entries) and the last time stamp seen; out: the count
 * written (or needed, with INSUFFICIENT_SIZE). */
struct nvml_util_info {
    uint32_t version;
    uint32_t process_samples_count;
    uint64_t last_seen_time_stamp; /* microseconds */
    void *proc_util_array;         /* struct nvml_util_info_entry[], as raw bytes */
};

/* nvmlAccountingStats_t: nvmlDeviceGetAccountingStats, 56 B. */
struct nvml_acct_stats {
    uint32_t gpu_utilization;    /* %, over the process's life */
    uint32_t memory_utilization; /* % */
    uint64_t max_memory_usage;   /* bytes; 0 or NVML_NOT_AVAILABLE: unknown */
    uint64_t time;               /* ms; 0 while running */
    uint64_t start_time;         /* CPU time, microseconds */
    uint32_t is_running;         /* 1 running */
    uint32_t reserved[5];
};

/* nvmlMemory_t: nvmlDeviceGetMemoryInfo (v1), bytes; used counts the
 * driver's reserved part. 24 B. */
struct nvml_memory {
    uint64_t total, free, used;
};

/* nvmlMemory_v2_t: nvmlDeviceGetMemoryInfo_v2 (R510+), bytes; used without
 * the reserved part. 40 B; version NVML_MEMORY_V2_VERSION. */
struct nvml_memory_v2 {
    uint32_t version;
    uint64_t total, reserved, free, used;
};

/* NVML_STRUCT_VERSION(T, v) = sizeof(T) | v << 24: 0x01000018 and
 * 0x02000028 (a bare 2 answers FUNCTION_NOT_FOUND). */
#define NVML_UTIL_INFO_VERSION ((uint32_t)(sizeof(struct nvml_util_info) | 1u << 24))
#define NVML_MEMORY_V2_VERSION ((uint32_t)(sizeof(struct nvml_memory_v2) | 2u << 24))

/* The strides of the calls' buffers. */
#define NVML_PROC_V1_SIZE     sizeof(struct nvml_proc_info_v1)
#define NVML_PROC_V2_SIZE     sizeof(struct nvml_proc_info_v2)
#define NVML_UTIL_SAMPLE_SIZE sizeof(struct nvml_util_sample)
#define NVML_UTIL_INFO_SIZE   sizeof(struct nvml_util_info_entry)
#define NVML_ACCT_STATS_SIZE  sizeof(struct nvml_acct_stats)

/* The layouts, byte for byte (as NVIDIA's nvml.h declares them; the asserts below are the
 * reference). */
#define NVML_FIELD_AT(type, field, off)                                                            \
    _Static_assert(offsetof(struct type, field) == (off), #type "." #field " at byte " #off)
_Static_assert(sizeof(struct nvml_proc_info_v1) == 16, "nvmlProcessInfo_v1_t is 16 bytes");
NVML_FIELD_AT(nvml_proc_info_v1, pid, 0);
NVML_FIELD_AT(nvml_proc_info_v1, used_gpu_memory, 8);
_Static_assert(sizeof(struct nvml_proc_info_v2) == 24, "nvmlProcessInfo_v2_t is 24 bytes");
NVML_FIELD_AT(nvml_proc_info_v2, pid, 0);
NVML_FIELD_AT(nvml_proc_info_v2, used_gpu_memory, 8);
NVML_FIELD_AT(nvml_proc_info_v2, gpu_instance_id, 16);
NVML_FIELD_AT(nvml_proc_info_v2, compute_instance_id, 20);
_Static_assert(sizeof(struct nvml_util_sample) == 32, "nvmlProcessUtilizationSample_t is 32 bytes");
NVML_FIELD_AT(nvml_util_sample, pid, 0);
NVML_FIELD_AT(nvml_util_sample, time_stamp, 8);
NVML_FIELD_AT(nvml_util_sample, sm_util, 16);
NVML_FIELD_AT(nvml_util_sample, mem_util, 20);
NVML_FIELD_AT(nvml_util_sample, enc_util, 24);
NVML_FIELD_AT(nvml_util_sample, dec_util, 28);
_Static_assert(sizeof(struct nvml_util_info_entry) == 40,
               "nvmlProcessUtilizationInfo_v1_t is 40 bytes");
NVML_FIELD_AT(nvml_util_info_entry, time_stamp, 0);
NVML_FIELD_AT(nvml_util_info_entry, pid, 8);
NVML_FIELD_AT(nvml_util_info_entry, sm_util, 12);
NVML_FIELD_AT(nvml_util_info_entry, mem_util, 16);
NVML_FIELD_AT(nvml_util_info_entry, enc_util, 20);
NVML_FIELD_AT(nvml_util_info_entry, dec_util, 24);
NVML_FIELD_AT(nvml_util_info_entry, jpg_util, 28);
NVML_FIELD_AT(nvml_util_info_entry, ofa_util, 32);
_Static_assert(sizeof(struct nvml_util_info) == 24,
               "nvmlProcessesUtilizationInfo_v1_t is 24 bytes");
NVML_FIELD_AT(nvml_util_info, version, 0);
NVML_FIELD_AT(nvml_util_info, process_samples_count, 4);
NVML_FIELD_AT(nvml_util_info, last_seen_time_stamp, 8);
NVML_FIELD_AT(nvml_util_info, proc_util_array, 16);
_Static_assert(NVML_UTIL_INFO_VERSION == 0x01000018u, "nvmlProcessesUtilizationInfo_v1 version");
_Static_assert(sizeof(struct nvml_acct_stats) == 56, "nvmlAccountingStats_t is 56 bytes");
NVML_FIELD_AT(nvml_acct_stats, gpu_utilization, 0);
NVML_FIELD_AT(nvml_acct_stats, memory_utilization, 4);
NVML_FIELD_AT(nvml_acct_stats, max_memory_usage, 8);
NVML_FIELD_AT(nvml_acct_stats, time, 16);
NVML_FIELD_AT(nvml_acct_stats, start_time, 24);
NVML_FIELD_AT(nvml_acct_stats, is_running, 32);
NVML_FIELD_AT(nvml_acct_stats, reserved, 36);
_Static_assert(sizeof(struct nvml_memory) == 24, "nvmlMemory_t is 24 bytes");
NVML_FIELD_AT(nvml_memory, total, 0);
NVML_FIELD_AT(nvml_memory, free, 8);
NVML_FIELD_AT(nvml_memory, used, 16);
_Static_assert(sizeof(struct nvml_memory_v2) == 40, "nvmlMemory_v2_t is 40 bytes");
NVML_FIELD_AT(nvml_memory_v2, version, 0);
NVML_FIELD_AT(nvml_memory_v2, total, 8);
NVML_FIELD_AT(nvml_memory_v2, reserved, 16);
NVML_FIELD_AT(nvml_memory_v2, free, 24);
NVML_FIELD_AT(nvml_memory_v2, used, 32);
_Static_assert(NVML_MEMORY_V2_VERSION == 0x02000028u, "nvmlMemory_v2 version");

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

/* The PID of the process record at rec (any version). */
uint32_t nvml_raw_pid(const unsigned char *rec);

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
