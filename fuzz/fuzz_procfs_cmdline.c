/* libFuzzer harness: procfs_clean_cmdline on raw /proc/<pid>/cmdline bytes.
 * The result must be exactly the model (the same as main's test_cli
 * round-trip property): trailing NULs and spaces dropped, then every
 * control character (NUL, newline, tab, 0x7f...) a space; NUL-terminated at
 * the returned length, and nothing written past it. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size + 1 bytes, as procfs_read_file provides: the cleaner may
     * write the terminating NUL at s[len] and nothing past it. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    size_t n = procfs_clean_cmdline(s, size);
    size_t want = size;
    while (want && (data[want - 1] == '\0' || data[want - 1] == ' '))
        want--;
    assert(n == want);
    assert(s[n] == '\0');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = data[i];
        assert((unsigned char)s[i] == ((c < 0x20 || c == 0x7f) ? ' ' : c));
    }
    free(s);
    return 0;
}
