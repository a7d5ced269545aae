/* One validity range for the writer (the sampler's rows, hence the CSV and
 * the metrics) and the readers (logread.c): a value the sampler keeps is
 * one that summary and plot read back. */
#ifndef GPU_WATCH_VALID_H
#define GPU_WATCH_VALID_H

#include <stdint.h>

#define GW_VALID_MAX_MIB 1073741824LL /* 1 PiB, in MiB: GPU memory, peaks, RSS */
#define GW_VALID_MAX_PCT 100          /* utilization, % */

/* v when it lies in 0..max; else -1 (unknown: a value no GPU can report
 * is a broken answer, not a number to keep). */
static inline int64_t gw_valid(int64_t v, int64_t max)
{
    return v >= 0 && v <= max ? v : -1;
}

#endif
