/* libFuzzer harness: options_parse. The input is split at NUL bytes into
 * argv[1..]; every result must be one of the four, a usage error must come
 * with a message, and an accepted configuration must be consistent. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "gpu_watch";
    for (size_t i = 0; i <= size && argc < MAX_ARGS;) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    argv[argc] = NULL;

    struct gw_config cfg;
    char err[256];
    enum options_result r = options_parse(argc, argv, "/home/fuzz", &cfg, err, sizeof err);
    assert(r == OPTIONS_OK || r == OPTIONS_HELP || r == OPTIONS_VERSION || r == OPTIONS_USAGE);
    assert(memchr(err, '\0', sizeof err) != NULL);
    if (r == OPTIONS_USAGE)
        assert(err[0] != '\0');
    if (r == OPTIONS_OK) {
        assert(cfg.output && cfg.output[0]);
        assert(cfg.interval > 0 && isfinite(cfg.interval));
        assert(cfg.timeout > 0 && isfinite(cfg.timeout));
        assert(!(cfg.append && cfg.force));
        for (size_t i = 0; i < cfg.npids; i++)
            assert(cfg.pids[i] > 0);
    }
    options_free(&cfg);
    free(copy);
    return 0;
}
