/* PID namespaces: whether gpu_watch runs in a child PID namespace (a
 * container without --pid=host), and which of the driver's answers then
 * carry host PIDs rather than ours. Parsers are pure; pidns_self reads. */
#ifndef GPU_WATCH_PIDNS_H
#define GPU_WATCH_PIDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The inode of the kernel's initial PID namespace (PROC_PID_INIT_INO in
 * include/linux/proc_ns.h), fixed since Linux 3.8. */
#define PIDNS_INIT_INO 4026531836ULL

/* The inode of a /proc/<pid>/ns/pid link's text, "pid:[4026531836]".
 * 0 or -EINVAL. */
int pidns_parse_link(const char *s, size_t len, unsigned long long *ino);

/* Whether the reader of root ("/proc", or a fixture tree) is in a child PID
 * namespace: root/self/ns/pid names another namespace than the initial
 * one. (Seen from inside, with its own /proc, NSpid has one field: no help.)
 * 0 with *child set, or a negative errno when the link cannot be read (a
 * fixture tree without it: the caller takes the host). */
int pidns_self(const char *root, bool *child);

/* Whether process pid (under root) is in another PID namespace than the
 * kernel's initial one, from root/<pid>/ns/pid (readable by its owner and
 * root). 0 with *child set, or a negative errno. */
int pidns_of(const char *root, long pid, bool *child);

/* Which answers of a driver give host PIDs to a caller in a child
 * namespace. Drivers translate them into the caller's namespace, from the
 * open kernel modules' history (unverified on hardware): the process lists
 * from 535.113, per-process memory from 565.57, utilization samples from
 * 570.86; processes outside the namespace are then left out. */
struct pidns_driver {
    bool known;     /* the version was read */
    bool list_host; /* process lists: host PIDs */
    bool mem_host;  /* per-process memory looked up by host PID */
    bool util_host; /* utilization samples: host PIDs */
};

/* From a version string "535.113.01", "570.86.15", "580.95.05"; an
 * unreadable one ("unknown", "") gives known false and every answer taken
 * for host PIDs (the safe side: no row takes a local process's command). */
void pidns_driver_caps(const char *version, struct pidns_driver *out);

/* Seconds of slack when comparing the two clocks below: the boot time
 * behind /proc's start times is known to a tick, but the wall clock may
 * have been slewed or stepped since the driver stamped its record. */
#define PIDNS_START_SLACK_S 2.0

/* Whether a local process cannot be the one the driver's accounting record
 * describes: the record (startTime, drv_start_us, microseconds since the
 * epoch, stamped when the process first opened the GPU, so never before the
 * process began) is older than the local process, which started start_ticks
 * clock ticks (hz a second) after boot, by more than PIDNS_START_SLACK_S.
 * boot_now and real_now: CLOCK_BOOTTIME and CLOCK_REALTIME now, seconds.
 * False when anything is unknown (0): no verdict. */
bool pidns_started_after(uint64_t start_ticks, long hz, uint64_t drv_start_us, double boot_now,
                         double real_now);

#endif
