/* Reading gpu_watch's logs: the timestamps, "2026-11-20T10:00:00[.250]"
 * with "Z", an offset ("+01:00", "+0100", "+01") or nothing (local time).
 * Pure but for the local zone (mktime) of naive ones. */
#include "gpu_watch/logtime.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Read exactly n digits at *s; advance. -1 if not digits. */
static int digits(const char **s, const char *end, int n)
{
    int v = 0;
    if (end - *s < n)
        return -1;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The local zone's offset from UTC in seconds at a local date and hour.
 * mktime costs a few microseconds and a log has a million rows from a few
 * hours, so the last answer is kept, keyed by the hour and the TZ value. */
static long local_offset(int y, int m, int d, int hh)
{
    static long key = -1;
    static long off;
    static char tzkey[128];
    const char *tz = getenv("TZ");
    if (!tz)
        tz = "";
    long k = ((long)(y * 13 + m) * 32 + d) * 24 + hh;
    if (k == key && strncmp(tz, tzkey, sizeof tzkey) == 0)
        return off;
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hh, .tm_isdst = -1};
    time_t t = mktime(&tm);
    int64_t as_utc = days_from_civil(y, m, d) * 86400 + (int64_t)hh * 3600;
    off = (long)(as_utc - (int64_t)t);
    key = k;
    strncpy(tzkey, tz, sizeof tzkey - 1);
    tzkey[sizeof tzkey - 1] = '\0';
    return off;
}

int logread_parse_time(const char *s, size_t len, double *epoch, enum log_tz *tz)
{
    long off;
    return logread_parse_time_off(s, len, epoch, tz, &off);
}

int logread_parse_time_off(const char *s, size_t len, double *epoch, enum log_tz *tz, long *off_s)
{
    *off_s = 0;
    const char *end = s + len;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    int y = digits(&s, end, 4);
    if (y < 0 || s >= end || *s++ != '-')
        return -EINVAL;
    int mo = digits(&s, end, 2);
    if (mo < 1 || mo > 12 || s >= end || *s++ != '-')
        return -EINVAL;
    int d = digits(&s, end, 2);
    if (d < 1 || d > days_in_month(y, mo) || s >= end || (*s != 'T' && *s != ' '))
        return -EINVAL;
    s++;
    int hh = digits(&s, end, 2);
    if (hh < 0 || hh > 23 || s >= end || *s++ != ':')
        return -EINVAL;
    int mi = digits(&s, end, 2);
    if (mi < 0 || mi > 59 || s >= end || *s++ != ':')
        return -EINVAL;
    int ss = digits(&s, end, 2);
    if (ss < 0 || ss > 60)
        return -EINVAL;
    double frac = 0;
    if (s < end && (*s == '.' || *s == ',')) {
        s++;
        double scale = 0.1;
        const char *f0 = s;
        while (s < end && *s >= '0' && *s <= '9') {
            frac += (*s - '0') * scale;
            scale /= 10;
            s++;
        }
        if (s == f0)
            return -EINVAL;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)hh * 3600 + mi * 60 + ss;
    if (s == end) {
        *tz = LOG_TZ_LOCAL;
        secs -= local_offset(y, mo, d, hh);
    } else if ((*s == 'Z' || *s == 'z') && s + 1 == end) {
        *tz = LOG_TZ_UTC;
    } else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1;
        int oh = digits(&s, end, 2), om = 0;
        if (oh < 0 || oh > 18)
            return -EINVAL;
        if (s < end && *s == ':')
            s++;
        if (s < end && (om = digits(&s, end, 2)) < 0)
            return -EINVAL;
        if (s != end || om > 59)
            return -EINVAL;
        *tz = LOG_TZ_OFFSET;
        *off_s = sign * (oh * 3600 + om * 60);
        secs -= *off_s;
    } else {
        return -EINVAL;
    }
    *epoch = (double)secs + frac;
    return 0;
}
