/* In-process measurements for make bench (bench/run_bench.py drives it).
 *
 *   bench_sample cpu SMI PROC N [host|nvml]  N samples with the library's
 *       sampler against a fake nvidia-smi (or with "nvml" the NVML source,
 *       the fake library found through LD_LIBRARY_PATH); prints
 *       "cpu_ms_per_sample spawned_per_sample rows children_cpu_ms_per_sample":
 *       own CPU from getrusage(RUSAGE_SELF) (every thread), children apart
 *   bench_sample parsers FIXTURES        MB/s of each nvidia-smi parser
 *   bench_sample latency SMI PS PROC N   wall ms of N samples our way (all
 *       queries at once, rows formatted and written) and N the original way
 *       (compute-apps, pmon, the GPU query and ps one after another), taken
 *       in alternation; prints both lists, then the CPU ms per sample of
 *       each way: ours self, ours children, original self, original children;
 *       a 6th argument "gpumem" adds each GPU's memory query (gpu_mem: the
 *       unattributed memory, --prom-textfile or a child PID namespace)
 *   bench_sample hostcost PROC PIDS...  CPU ms to read --host figures of
 *       the given PIDs (median of 50 rounds)
 *   bench_sample dense PROC HZ SECONDS  --peak-rate: the NVML source (the
 *       fake library) opened with HZ fast readings, one sample taken, then
 *       SECONDS with no row while the worker reads the process lists; prints
 *       "cpu_ms_per_s wall_s": own CPU (every thread) per second of wall time */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/parse.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/sampler.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double self_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
           (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static double children_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
           (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static int write_rows(int fd, struct gw_buf *rows, const struct sample *smp, bool host)
{
    buf_clear(rows);
    if (csv_sample_rows(rows, "2026-11-25T00:00:00", smp, host, false) < 0)
        return -1;
    return write(fd, rows->p, rows->len) == (ssize_t)rows->len || rows->len == 0 ? 0 : -1;
}

static int cmd_cpu(const char *smi, const char *proc, int n, bool host, const char *source)
{
    struct sampler_opts o = {
        .source = source, .smi = smi, .ps = "ps", .proc_root = proc, .timeout = 10, .host = host};
    struct sampler_start st;
    struct sampler *s = NULL;
    if (sampler_new(&o, &s, &st) < 0) {
        fprintf(stderr, "bench_sample: %s\n", st.why);
        return 1;
    }
    struct sample smp = {0};
    struct gw_buf rows = {0};
    int fd = open("/dev/null", O_WRONLY);
    /* Warm-up: the GPU map and the command lines are cached after this. */
    for (int i = 0; i < 3; i++) {
        if (sampler_run(s, &smp, NULL) < 0 || write_rows(fd, &rows, &smp, host) < 0)
            return 1;
        if (smp.switched[0]) { /* the figures would be nvidia-smi's */
            fprintf(stderr, "bench_sample: %s\n", smp.switched);
            return 1;
        }
    }
    size_t spawned = 0, nrows = 0;
    double c0 = self_cpu_ms(), k0 = children_cpu_ms();
    for (int i = 0; i < n; i++) {
        if (sampler_run(s, &smp, NULL) < 0 || write_rows(fd, &rows, &smp, host) < 0)
            return 1;
        if (smp.switched[0]) {
            fprintf(stderr, "bench_sample: %s\n", smp.switched);
            return 1;
        }
        spawned += smp.spawned;
        nrows = smp.n;
    }
    double c1 = self_cpu_ms(), k1 = children_cpu_ms();
    printf("%.4f %.2f %zu %.4f\n", (c1 - c0) / n, (double)spawned / n, nrows, (k1 - k0) / n);
    close(fd);
    buf_free(&rows);
    sample_free(&smp);
    sampler_free(s);
    return 0;
}

/* Repeat a fixture's data lines until the buffer holds about target bytes. */
static char *grow(const char *data, size_t len, size_t header_lines, size_t target, size_t *out)
{
    const char *body = data;
    for (size_t i = 0; i < header_lines; i++)
        body = strchr(body, '\n') + 1;
    size_t hl = (size_t)(body - data), bl = len - hl;
    size_t reps = target / bl + 1;
    char *b = malloc(hl + reps * bl + 1);
    memcpy(b, data, hl);
    for (size_t i = 0; i < reps; i++)
        memcpy(b + hl + i * bl, body, bl);
    *out = hl + reps * bl;
    b[*out] = '\0';
    return b;
}

static int cmd_parsers(const char *fx)
{
    static const struct {
        const char *name, *file;
        size_t header;
    } ps[] = {
        {"compute-apps", "h100-580/many/apps_noheader_nounits.txt", 0},
        {"pmon", "h100-580/many/pmon_um.txt", 2},
        {"query-gpu", "replay/gpu16/gpus.txt", 0},
        {"ps", "h100-580/many/ps_pids.txt", 0},
    };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        char path[512];
        size_t len, blen;
        snprintf(path, sizeof path, "%s/%s", fx, ps[k].file);
        char *d = slurp(path, &len);
        if (!d)
            return 1;
        char *b = grow(d, len, ps[k].header, 16u << 20, &blen);
        double t[7];
        struct smi_app_list a = {0};
        struct pmon_list p = {0};
        struct gpu_list g = {0};
        struct ps_list l = {0};
        size_t items = 0;
        for (int r = 0; r < 7; r++) {
            double t0 = now_ms();
            if (k == 0)
                smi_parse_apps(b, blen, &a), items = a.n;
            else if (k == 1)
                smi_parse_pmon(b, blen, &p), items = p.n;
            else if (k == 2)
                smi_parse_gpus(b, blen, &g), items = g.n;
            else
                ps_parse_args(b, blen, &l), items = l.n;
            t[r] = now_ms() - t0;
        }
        qsort(t, 7, sizeof t[0], cmp_double);
        printf("%s %.1f %.1f %.1f %zu\n", ps[k].name, (double)blen / 1e3 / t[3],
               (double)blen / 1e3 / t[6], (double)blen / 1e3 / t[0], items);
        free(a.v);
        free(p.v);
        free(g.v);
        free(l.v);
        free(b);
        free(d);
    }
    return 0;
}

static int cmd_latency(const char *smi, const char *ps, const char *proc, int n, bool gpu_mem)
{
    struct sampler_opts o = {
        .smi = smi, .ps = ps, .proc_root = proc, .timeout = 10, .gpu_mem = gpu_mem};
    struct sampler_start st;
    struct sampler *s = NULL;
    if (sampler_new(&o, &s, &st) < 0) {
        fprintf(stderr, "bench_sample: %s\n", st.why);
        return 1;
    }
    struct sample smp = {0};
    struct gw_buf rows = {0};
    int fd = open("/dev/null", O_WRONLY);
    const char *apps[] = {smi, "--query-compute-apps=pid,gpu_uuid,used_memory",
                          "--format=csv,noheader,nounits", NULL};
    const char *pmon[] = {smi, "pmon", "-c", "1", "-s", "um", NULL};
    const char *gpus[] = {smi, "--query-gpu=index,uuid", "--format=csv,noheader", NULL};
    const char *psv[] = {ps, "-o", "pid=,args=", "-p", "442,443,444", NULL};
    const char *const *seq[] = {apps, pmon, gpus, psv};
    struct cmd_call c = {.key = "seq"};
    struct smi_app_list al = {0};
    struct pmon_list pl = {0};
    struct gpu_list gl = {0};
    struct ps_list sl = {0};
    double *ours = calloc((size_t)n, sizeof *ours), *orig = calloc((size_t)n, sizeof *orig);
    /* CPU of each way: our own (self) and that of the processes started. */
    double cpu[2][2] = {{0, 0}, {0, 0}};
    for (int i = -2; i < n; i++) { /* two warm-up rounds */
        double s0 = self_cpu_ms(), k0 = children_cpu_ms();
        double t0 = now_ms();
        if (sampler_run(s, &smp, NULL) < 0 || write_rows(fd, &rows, &smp, false) < 0)
            return 1;
        double t1 = now_ms();
        double s1 = self_cpu_ms(), k1 = children_cpu_ms();
        for (int q = 0; q < 4; q++) {
            c.argv = seq[q];
            run_cmd(&c, 1, 10, NULL);
            if (q == 0)
                smi_parse_apps(c.out.p, c.out.len, &al);
            else if (q == 1)
                smi_parse_pmon(c.out.p, c.out.len, &pl);
            else if (q == 2)
                smi_parse_gpus(c.out.p, c.out.len, &gl);
            else
                ps_parse_args(c.out.p, c.out.len, &sl);
        }
        double t2 = now_ms();
        double s2 = self_cpu_ms(), k2 = children_cpu_ms();
        if (i >= 0) {
            ours[i] = t1 - t0;
            orig[i] = t2 - t1;
            cpu[0][0] += s1 - s0;
            cpu[0][1] += k1 - k0;
            cpu[1][0] += s2 - s1;
            cpu[1][1] += k2 - k1;
        }
    }
    for (int i = 0; i < n; i++)
        printf("%.3f%c", ours[i], i + 1 < n ? ' ' : '\n');
    for (int i = 0; i < n; i++)
        printf("%.3f%c", orig[i], i + 1 < n ? ' ' : '\n');
    printf("%.3f %.3f %.3f %.3f\n", cpu[0][0] / n, cpu[0][1] / n, cpu[1][0] / n, cpu[1][1] / n);
    return 0;
}

static int cmd_hostcost(const char *proc, int argc, char **argv)
{
    struct gw_buf scratch = {0};
    double t[50];
    for (int r = 0; r < 50; r++) {
        double c0 = self_cpu_ms();
        int64_t kb;
        procfs_mem_used_kb(proc, &kb, &scratch);
        for (int i = 0; i < argc; i++) {
            struct proc_host h;
            if (procfs_host(proc, atol(argv[i]), &h, &scratch) == 0)
                free(h.cores);
        }
        t[r] = self_cpu_ms() - c0;
    }
    /* getrusage has a tick-sized resolution on some kernels: report the mean too. */
    double sum = 0;
    for (int r = 0; r < 50; r++)
        sum += t[r];
    qsort(t, 50, sizeof t[0], cmp_double);
    printf("%.4f %.4f\n", t[25], sum / 50);
    buf_free(&scratch);
    return 0;
}

static int cmd_dense(const char *proc, int hz, double seconds)
{
    struct sampler_opts o = {.source = "nvml",
                             .smi = "nvidia-smi",
                             .ps = "ps",
                             .proc_root = proc,
                             .timeout = 10,
                             .peaks = true,
                             .peak_rate = hz};
    struct sampler_start st;
    struct sampler *s = NULL;
    if (sampler_new(&o, &s, &st) < 0) {
        fprintf(stderr, "bench_sample: %s\n", st.why);
        return 1;
    }
    struct sample smp = {0};
    if (sampler_run(s, &smp, NULL) < 0 || smp.switched[0]) {
        fprintf(stderr, "bench_sample: the NVML source failed\n");
        return 1;
    }
    double c0 = self_cpu_ms(), t0 = now_ms();
    struct timespec d = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&d, &d) < 0 && errno == EINTR)
        ;
    double c1 = self_cpu_ms(), t1 = now_ms();
    printf("%.4f %.3f\n", (c1 - c0) / ((t1 - t0) / 1e3), (t1 - t0) / 1e3);
    sample_free(&smp);
    sampler_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "dense") == 0)
        return cmd_dense(argv[2], atoi(argv[3]), atof(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "cpu") == 0)
        return cmd_cpu(argv[2], argv[3], atoi(argv[4]), argc > 5 && !strcmp(argv[5], "host"),
                       argc > 5 && !strcmp(argv[5], "nvml") ? "nvml" : "smi");
    if (argc == 3 && strcmp(argv[1], "parsers") == 0)
        return cmd_parsers(argv[2]);
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "latency") == 0)
        return cmd_latency(argv[2], argv[3], argv[4], atoi(argv[5]),
                           argc == 7 && !strcmp(argv[6], "gpumem"));
    if (argc >= 3 && strcmp(argv[1], "hostcost") == 0)
        return cmd_hostcost(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: see the comment at the top of bench/bench_sample.c\n");
    return 2;
}
