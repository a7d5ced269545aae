/* The one monotonic clock of the project. */
#ifndef GPU_WATCH_MONOTIME_H
#define GPU_WATCH_MONOTIME_H

/* Seconds on CLOCK_MONOTONIC (not wall time: immune to clock changes). */
double monotime_now(void);

#endif
