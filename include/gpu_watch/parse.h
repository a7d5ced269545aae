/* Parsers for the text that nvidia-smi and ps print. Pure functions: a
 * buffer and its length in, structs out; no I/O, no printing. */
#ifndef GPU_WATCH_PARSE_H
#define GPU_WATCH_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A value nvidia-smi did not report ([N/A], [Not Supported], -, ...). Every
 * numeric field below is either >= 0 or GW_UNKNOWN: never a made-up 0. */
#define GW_UNKNOWN (-1)

#define GW_UUID_MAX 96

/* One line of --query-compute-apps=pid,gpu_uuid,used_memory. */
struct smi_app {
    long pid;
    char uuid[GW_UUID_MAX];
    int64_t mem_mib;
};

/* One process row of pmon -s um (or -s u, -s m). */
struct pmon_row {
    int gpu; /* GPU index as pmon prints it */
    long pid;
    int64_t sm_pct;
    int64_t mem_pct;
    int64_t fb_mib;
    char type[4];  /* "C", "G", "C+G"; "" if pmon printed no type column */
    char name[64]; /* pmon's (truncated) command name, "" if none */
};

/* One line of --query-gpu=index,uuid (or index,uuid,accounting.mode). */
struct gpu_entry {
    int index;
    char uuid[GW_UUID_MAX];
    int acct; /* accounting mode: 1 Enabled, 0 Disabled, GW_UNKNOWN not asked or [N/A] */
};

/* One record of --query-accounted-apps (the driver's accounting buffer:
 * running and finished processes, kept after they exit). */
struct acct_rec {
    char uuid[GW_UUID_MAX];
    long pid;
    int64_t max_mib; /* max_memory_usage, MiB: the process's peak; GW_UNKNOWN if not read */
    int64_t time_ms; /* time, ms: life of its GPU context; 0 while it runs; GW_UNKNOWN */
};

/* One line of ps -o pid=,args=. */
struct ps_entry {
    long pid;
    const char *args; /* points into the parsed buffer (not NUL-terminated) */
    size_t args_len;
};

/* A growable array of T: v[0..n), with room for cap; bad counts lines that
 * could not be read. A zeroed struct is empty; free v with free(). */
#define GW_LIST(name, T)                                                                           \
    struct name {                                                                                  \
        T *v;                                                                                      \
        size_t n;                                                                                  \
        size_t cap;                                                                                \
        size_t bad;                                                                                \
    }
GW_LIST(smi_app_list, struct smi_app);
GW_LIST(pmon_list, struct pmon_row);
GW_LIST(gpu_list, struct gpu_entry);
GW_LIST(ps_list, struct ps_entry);
GW_LIST(acct_list, struct acct_rec);

/* One GPU's memory (--query-gpu=index,memory.used,memory.reserved), MiB. */
struct smi_gpu_mem {
    int index;
    int64_t used_mib;     /* GW_UNKNOWN when not reported */
    int64_t reserved_mib; /* GW_UNKNOWN when not reported (drivers before R510) */
};
GW_LIST(gpu_mem_list, struct smi_gpu_mem);

/* Parse a number field of nvidia-smi output, trimmed of blanks: a decimal
 * integer, optionally followed by " MiB"/" %"; anything else ([N/A], -,
 * [Not Supported], garbage) gives GW_UNKNOWN. */
int64_t smi_parse_value(const char *s, size_t len);

/* Parse the csv,noheader,nounits output of
 * --query-compute-apps=pid,gpu_uuid,used_memory, appending to out (which is
 * emptied first). Lines that are not "pid, uuid, value" are counted in
 * out->bad. Returns 0 or -ENOMEM. */
int smi_parse_apps(const char *buf, size_t len, struct smi_app_list *out);

/* Parse pmon output (any -s selection, -o DT, -c N, CRLF line ends). The
 * columns are found by name from the "# gpu pid ..." header: gpu, pid,
 * type, sm, mem, fb, command. Placeholder rows ("0 - - ...") of idle GPUs
 * are skipped. Returns 0, -ENOMEM, or -EINVAL when no header with gpu and pid
 * columns was found (out->bad then counts the data lines seen). */
int smi_parse_pmon(const char *buf, size_t len, struct pmon_list *out);

/* Parse --query-gpu=index,uuid --format=csv,noheader. Returns 0 or -ENOMEM. */
int smi_parse_gpus(const char *buf, size_t len, struct gpu_list *out);

/* Parse --query-gpu=index,uuid,accounting.mode --format=csv,noheader:
 * like smi_parse_gpus, with each GPU's accounting mode ("Enabled" 1,
 * "Disabled" 0, anything else such as [N/A] GW_UNKNOWN). 0 or -ENOMEM. */
int smi_parse_gpus_acct(const char *buf, size_t len, struct gpu_list *out);

/* Parse --query-gpu=index,memory.used[,memory.reserved]
 * --format=csv,noheader,nounits: "0, 1234, 512" ("[N/A]" unknown); lines
 * without an index in out->bad. 0 or -ENOMEM. */
int smi_parse_gpu_mem(const char *buf, size_t len, struct gpu_mem_list *out);

/* Parse --query-accounted-apps=gpu_uuid,pid,max_memory_usage,time
 * --format=csv (with its header; units or nounits; other columns ignored):
 * the columns are found by name in the header. Returns 0, -ENOMEM, or
 * -EINVAL when lines came but no header naming gpu_uuid and pid (out->bad
 * then counts them). Lines that cannot be read are counted in out->bad. */
int smi_parse_accounted(const char *buf, size_t len, struct acct_list *out);

/* Parse ps -o pid=,args= output. Entries point into buf. 0 or -ENOMEM. */
int ps_parse_args(const char *buf, size_t len, struct ps_list *out);

/* The index of uuid in gpus, or -1. */
int gpu_list_index(const struct gpu_list *gpus, const char *uuid);

#endif
