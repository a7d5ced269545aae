/* Axes, labels, the order of series and their styles (plot_axis.c). */
#ifndef GPU_WATCH_PLOT_AXIS_H
#define GPU_WATCH_PLOT_AXIS_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/plot_types.h"

/* Round axis ticks for [0, hi]: *step from 1, 2, 2.5 or 5 times a power of
 * ten, about target ticks; *top the first tick at or above hi (the axis
 * end). hi <= 0 gives an axis 0..1. */
void plot_nice_ticks(double hi, int target, double *step, double *top);

/* Round time ticks over [t0, t1] (epoch seconds), about target of them, on
 * local clock boundaries (whole minutes, hours, local midnights). Writes up
 * to max tick times into ticks and returns how many; *fmt gets the
 * strftime format of their labels ("%H:%M", "%H:%M:%S", "%m-%d %H:%M",
 * "%Y-%m-%d"). */
int plot_time_ticks(double t0, double t1, int target, double *ticks, int max, const char **fmt);

/* Format t (epoch seconds) as local time with an strftime format. */
void plot_fmt_time(double t, const char *fmt, char *out, size_t outsz);

/* The time axis label: "time (UTC)" for Z logs, "time (UTC+05:30)" for
 * offset logs (shown in that zone, see subcmd_show_in_zone), and for naive
 * logs "local time (here: CET, UTC+01:00)": the zone of the machine that
 * plots, said as such, since the log does not say where it was written. */
void plot_zone_label(const struct plot *p, char *out, size_t outsz);

/* A value with its unit for labels: "3590 MiB", "12.5 %", "1.2e+06 MiB". */
void plot_fmt_value(double v, const char *unit, char *out, size_t outsz);

/* The indexes of pn's series, largest peak first (none last; ties in the
 * order first seen), into order[pn->ns]: the one order of legends and
 * labels in every renderer. 0 or -ENOMEM. */
int plot_order_by_peak(const struct plot_panel *pn, int *order);

/* A colour-blind-safe palette (Okabe & Ito), 0xRRGGBB: PLOT_NCOLORS
 * colours, then again. */
uint32_t plot_color(int i);

/* A series' colour, and its dash: style s has colour s % 8 and dash
 * (s / 8) % 4, so 32 series look all different. */
uint32_t plot_series_color(const struct plot_series *s);
int plot_series_dash(const struct plot_series *s);

#endif
