/* Warnings on stderr for a program that runs for days: the first failure of
 * each kind is reported at once, repeats are counted and summarised (at most
 * once every REPORT_SUMMARY_S seconds, and at exit), and a recovery is said
 * once. This is the top level's voice: modules return codes, this prints. */
#ifndef GPU_WATCH_REPORT_H
#define GPU_WATCH_REPORT_H

#include <stdbool.h>

#define REPORT_SUMMARY_S 3600.0

/* A failure of kind key (e.g. "pmon") at monotonic time now (s). first is
 * the whole warning printed the first time; what names the failure in the
 * counts that follow ("nvidia-smi pmon failed: 37 times in all"). */
void report_fault(const char *key, const char *what, const char *first, double now);

/* Kind key worked: ends its run of failures, saying so if say. */
void report_ok(const char *key, bool say);

/* Print the summary of counted repeats if one is due (or force). */
void report_summary(double now, bool force);

/* A plain warning, printed every time (rare events only). */
void report_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether a status line is on screen (so a warning first clears it). */
void report_status_line(bool shown);

/* Forget every kind and count: a fresh start (for tests, which share the
 * process). */
void report_reset(void);

/* Total failures counted so far, for tests and the exit summary. */
unsigned long report_total(void);

#endif
