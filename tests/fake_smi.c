/* A fake nvidia-smi for the end-to-end tests and the benchmark. It replays
 * captured output and injects faults, steered by the environment:
 *
 *   FAKE_SMI_DIR      fixture directory: apps.txt, pmon.txt, gpus.txt, L.txt,
 *                     or a series 01.apps, 01.pmon, 02.apps, ... replayed in
 *                     order (each query kind keeps its own call counter)
 *   FAKE_SMI_DIR_FILE a file holding the fixture directory, read on every
 *                     call and used instead of FAKE_SMI_DIR when it can be
 *                     read: a test switches fixtures under a running sampler
 *                     (a GPU replaced, a new UUID) by rewriting it
 *   FAKE_SMI_STATE    directory for the call counters and calls.log (one line
 *                     per call: the kind, the arguments, "@" and the monotonic
 *                     time it started)
 *   FAKE_SMI_FAULT    hang | slow | fail_driver | fail_nvml | fail_handle |
 *                     fail_nodev | garbage | midline | huge | crlf | nosupport |
 *                     vanish (deletes this executable, as an uninstall or a
 *                     driver update would, and exits 127: later calls cannot
 *                     start until the test puts it back)
 *   FAKE_SMI_FAULT_ON apps | pmon | gpus | acct | all (default all), or a
 *                     comma-separated list of them ("gpus,pmon")
 *   FAKE_SMI_FAULT_FROM, FAKE_SMI_FAULT_UNTIL  calls of that kind (1-based,
 *                     inclusive) that get the fault (default: from 1, forever)
 *   FAKE_SMI_SLOW_MS  delay of the slow fault (default 3000)
 *   FAKE_SMI_LATENCY  "apps=24,pmon=70,gpus=23,ps=8": sleep this many ms on
 *                     every call of a kind (real H100 latencies, for the benchmark)
 *
 *   gpumem.txt        (NN.gpumem) what --query-gpu=index,memory.used,... prints;
 *                     without one, nothing (no GPU memory known)
 *   FAKE_SMI_DRIVER   what --query-gpu=driver_version prints (default
 *                     580.95.05): a driver that translates PIDs into a
 *                     caller's PID namespace or not (src/sample/pidns.c)
 *   FAKE_SMI_ACCT     the accounting mode that --query-gpu=...,accounting.mode
 *                     appends to each line of gpus.txt: on (Enabled), off
 *                     (Disabled, the default), na ([N/A]), or old (a driver
 *                     that does not know the field: an error, exit status 2).
 *                     acct_mode.txt in the fixture directory (one word a GPU,
 *                     in the order of gpus.txt) overrides it per GPU (MIG).
 *                     --query-accounted-apps replays acct.txt (NN.acct).
 *   -q                replays q.txt (the NVSMI log: minor numbers, buffer sizes)
 *
 * Installed under the name "ps" it replays FAKE_SMI_DIR/ps.txt.
 *
 * pmon behaves like the real one: without -i it shows at most the first four
 * GPUs; with -i it shows the GPUs named. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *kind_of(int argc, char **argv)
{
    /* Installed as "ps" too (for the benchmark): replays ps.txt. */
    const char *base = strrchr(argv[0], '/');
    if (strcmp(base ? base + 1 : argv[0], "ps") == 0)
        return "ps";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "pmon") == 0)
            return "pmon";
        if (strncmp(argv[i], "--query-compute-apps", 20) == 0)
            return "apps";
        if (strncmp(argv[i], "--query-accounted-apps", 22) == 0)
            return "acct";
        if (strncmp(argv[i], "--query-gpu=driver_version", 26) == 0)
            return "driver";
        if (strncmp(argv[i], "--query-gpu=index,memory.used", 29) == 0)
            return "gpumem";
        if (strncmp(argv[i], "--query-gpu", 11) == 0)
            return "gpus";
        if (strcmp(argv[i], "-L") == 0)
            return "L";
        if (strcmp(argv[i], "-q") == 0)
            return "q";
    }
    return "smi";
}

/* Whether word is one of the comma-separated words of list. */
static int in_list(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, word, len) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

static long bump_counter(const char *state, const char *kind)
{
    if (!state)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.n", state, kind);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return 1;
    char buf[32] = {0};
    long n = 0;
    if (read(fd, buf, sizeof buf - 1) > 0)
        n = atol(buf);
    n++;
    int len = snprintf(buf, sizeof buf, "%ld\n", n);
    if (pwrite(fd, buf, (size_t)len, 0) < 0)
        n = n + 0;
    close(fd);
    return n;
}

static void log_call(const char *state, const char *kind, int argc, char **argv)
{
    if (!state)
        return;
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/calls.log", state);
    size_t len = (size_t)snprintf(line, sizeof line, "%s", kind);
    for (int i = 1; i < argc && len < sizeof line; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, " %s", argv[i]);
    /* When the call started (CLOCK_MONOTONIC, s): the benchmark's schedule check. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (len < sizeof line)
        len += (size_t)snprintf(line + len, sizeof line - len, " @%ld.%09ld", (long)ts.tv_sec,
                                ts.tv_nsec);
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, line, len) < 0)
            len = 0;
        close(fd);
    }
}

static char *slurp(const char *path, size_t *len);

/* The SigIgn line of /proc/self/status into STATE/sigign.log: the signals
 * this call inherited as ignored (a test checks that gpu_watch's own
 * SIG_IGN of SIGPIPE and SIGXFSZ did not leak into nvidia-smi). */
static void log_sigign(const char *state)
{
    if (!state)
        return;
    size_t len = 0;
    char *st = slurp("/proc/self/status", &len);
    if (!st)
        return;
    char *l = memmem(st, len, "SigIgn:", 7);
    char *e = l ? memchr(l, '\n', len - (size_t)(l - st)) : NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/sigign.log", state);
    FILE *f = l && e ? fopen(path, "a") : NULL;
    if (f) {
        fwrite(l, 1, (size_t)(e - l) + 1, f);
        fclose(f);
    }
    free(st);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static long latency_for(const char *kind)
{
    const char *l = getenv("FAKE_SMI_LATENCY");
    if (!l)
        return 0;
    size_t kl = strlen(kind);
    for (const char *p = l; *p;) {
        if (strncmp(p, kind, kl) == 0 && p[kl] == '=')
            return atol(p + kl + 1);
        const char *c = strchr(p, ',');
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

/* Is GPU index g named in the -i list (or, with no list, one of the first four)? */
static int gpu_selected(const char *list, int g)
{
    if (!list)
        return g < 4;
    for (const char *p = list; *p;) {
        if (atoi(p) == g)
            return 1;
        const char *c = strchr(p, ',');
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

static void out(const char *s, size_t n, int crlf)
{
    if (!crlf) {
        fwrite(s, 1, n, stdout);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            fputc('\r', stdout);
        fputc(s[i], stdout);
    }
}

/* Does the GPU query ask for the accounting mode? */
static int asks_mode(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--query-gpu", 11) == 0 && strstr(argv[i], "accounting.mode"))
            return 1;
    return 0;
}

static const char *mode_word(const char *m)
{
    if (strcmp(m, "on") == 0)
        return "Enabled";
    if (strcmp(m, "na") == 0)
        return "[N/A]";
    return "Disabled";
}

/* gpus.txt with ", <mode>" after each line: acct_mode.txt's words, else
 * FAKE_SMI_ACCT's. */
static void print_gpus_with_mode(const char *dir, const char *data, size_t len)
{
    const char *env = getenv("FAKE_SMI_ACCT");
    char path[4096];
    size_t mlen = 0;
    snprintf(path, sizeof path, "%s/acct_mode.txt", dir);
    char *modes = slurp(path, &mlen);
    char *save = NULL;
    char *word = modes ? (modes[mlen] = '\0', strtok_r(modes, " \n", &save)) : NULL;
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(data + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - data) : len;
        if (e > p) {
            const char *m = word ? word : env ? env : "off";
            printf("%.*s, %s\n", (int)(e - p), data + p, mode_word(m));
            if (word)
                word = strtok_r(NULL, " \n", &save);
        }
        p = e + 1;
    }
    free(modes);
}

/* The fixture directory: FAKE_SMI_DIR_FILE's content when set and readable. */
static const char *fixture_dir(void)
{
    static char dir[2048];
    const char *file = getenv("FAKE_SMI_DIR_FILE");
    size_t len = 0;
    char *d = file ? slurp(file, &len) : NULL;
    if (!d)
        return getenv("FAKE_SMI_DIR");
    while (len && (d[len - 1] == '\n' || d[len - 1] == ' '))
        len--;
    snprintf(dir, sizeof dir, "%.*s", (int)len, d);
    free(d);
    return dir;
}

int main(int argc, char **argv)
{
    const char *kind = kind_of(argc, argv);
    const char *dir = fixture_dir();
    const char *state = getenv("FAKE_SMI_STATE");
    long n = bump_counter(state, kind);
    log_call(state, kind, argc, argv);
    log_sigign(state);
    long lat = latency_for(kind);
    if (lat > 0)
        sleep_ms(lat);

    const char *fault = getenv("FAKE_SMI_FAULT");
    const char *on = getenv("FAKE_SMI_FAULT_ON");
    long from = getenv("FAKE_SMI_FAULT_FROM") ? atol(getenv("FAKE_SMI_FAULT_FROM")) : 1;
    long until = getenv("FAKE_SMI_FAULT_UNTIL") ? atol(getenv("FAKE_SMI_FAULT_UNTIL")) : -1;
    int faulty = fault && *fault && (!on || strcmp(on, "all") == 0 || in_list(on, kind)) &&
                 n >= from && (until < 0 || n <= until);
    if (!faulty)
        fault = "";

    if (strcmp(fault, "vanish") == 0) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            unlink(self);
        }
        fprintf(stderr, "%s: not found\n", argv[0]);
        return 127;
    }
    if (strcmp(fault, "hang") == 0) {
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        for (;;)
            pause();
    }
    if (strcmp(fault, "slow") == 0)
        sleep_ms(getenv("FAKE_SMI_SLOW_MS") ? atol(getenv("FAKE_SMI_SLOW_MS")) : 3000);
    if (strcmp(fault, "fail_driver") == 0) {
        puts("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
             "Make sure that the latest NVIDIA driver is installed and running.\n");
        return 9;
    }
    if (strcmp(fault, "fail_nvml") == 0) {
        puts("Failed to initialize NVML: Driver/library version mismatch");
        return 18;
    }
    if (strcmp(fault, "fail_handle") == 0) {
        puts("Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error");
        return 15;
    }
    if (strcmp(fault, "fail_nodev") == 0) {
        puts("No devices were found");
        return 6;
    }
    if (strcmp(fault, "garbage") == 0) {
        srand((unsigned)n);
        for (int i = 0; i < 4096; i++)
            putchar(rand() % 256);
        return 0;
    }
    if (strcmp(fault, "huge") == 0) {
        static char line[100];
        memset(line, 'x', sizeof line - 1);
        line[sizeof line - 1] = '\n';
        for (int i = 0; i < 100000; i++) /* 10 MB */
            fwrite(line, 1, sizeof line, stdout);
        return 0;
    }

    if (strcmp(kind, "driver") == 0) {
        const char *v = getenv("FAKE_SMI_DRIVER");
        printf("%s\n", v && *v ? v : "580.95.05");
        return 0;
    }
    if (!dir) {
        fprintf(stderr, "fake nvidia-smi: FAKE_SMI_DIR is not set\n");
        return 2;
    }
    if (strcmp(kind, "gpumem") == 0) {
        char p1[4096], p2[4096];
        snprintf(p1, sizeof p1, "%s/gpumem.txt", dir);
        snprintf(p2, sizeof p2, "%s/01.gpumem", dir);
        if (access(p1, R_OK) != 0 && access(p2, R_OK) != 0)
            return 0;
    }
    const char *acct = getenv("FAKE_SMI_ACCT");
    int mode = strcmp(kind, "gpus") == 0 && asks_mode(argc, argv);
    if (mode && acct && strcmp(acct, "old") == 0) {
        /* What a driver without the field prints (on stdout), exit status 2. */
        puts("Field \"accounting.mode\" is not a valid field to query.\n");
        return 2;
    }
    char path[4096];
    size_t len = 0;
    char *data = NULL;
    snprintf(path, sizeof path, "%s/%s.txt", dir, kind);
    data = slurp(path, &len);
    if (!data) {
        /* A series: NN.kind, replayed in order and then from the start. */
        long count = 0;
        for (long i = 1; i < 1000; i++) {
            snprintf(path, sizeof path, "%s/%02ld.%s", dir, i, kind);
            if (access(path, R_OK) != 0)
                break;
            count = i;
        }
        if (count == 0) {
            fprintf(stderr, "fake nvidia-smi: no fixture for %s in %s\n", kind, dir);
            return 2;
        }
        snprintf(path, sizeof path, "%s/%02ld.%s", dir, (n - 1) % count + 1, kind);
        data = slurp(path, &len);
        if (!data)
            return 2;
    }
    if (strcmp(fault, "midline") == 0)
        len = len / 2 + 1 < len ? len / 2 + 1 : len;
    int crlf = strcmp(fault, "crlf") == 0;
    if (strcmp(kind, "pmon") == 0) {
        const char *ids = NULL;
        for (int i = 1; i + 1 < argc; i++)
            if (strcmp(argv[i], "-i") == 0)
                ids = argv[i + 1];
        for (size_t p = 0; p < len;) {
            char *nl = memchr(data + p, '\n', len - p);
            size_t e = nl ? (size_t)(nl - data) + 1 : len;
            const char *l = data + p;
            int keep = 1;
            if (l[0] != '#') {
                int g = atoi(l);
                keep = gpu_selected(ids, g);
            }
            if (keep)
                out(l, e - p, crlf);
            p = e;
        }
    } else if (mode) {
        print_gpus_with_mode(dir, data, len);
    } else {
        out(data, len, crlf);
    }
    free(data);
    return fflush(stdout) == 0 ? 0 : 1;
}
