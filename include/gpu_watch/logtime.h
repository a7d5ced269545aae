/* Timestamps of a log (logtime.c): the ISO 8601 forms gpu_watch writes,
 * with or without a zone. Pure parsing. */
#ifndef GPU_WATCH_LOGTIME_H
#define GPU_WATCH_LOGTIME_H

#include <stddef.h>

#include "gpu_watch/logread.h" /* enum log_tz */

/* Parse a timestamp "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM|+HHMM|+HH]"
 * (a space may replace the T). Without a zone the time is local (mktime with
 * the current TZ). 0 or -EINVAL. */
int logread_parse_time(const char *s, size_t len, double *epoch, enum log_tz *tz);
/* The same, with the offset of a LOG_TZ_OFFSET time in *off_s (seconds east
 * of UTC; 0 for the other kinds). */
int logread_parse_time_off(const char *s, size_t len, double *epoch, enum log_tz *tz, long *off_s);

#endif
