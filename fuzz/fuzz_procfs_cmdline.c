/* libFuzzer harness: procfs_clean_cmdline on raw /proc/<pid>/cmdline bytes.
 * The result must be printable (no control characters, no NUL inside), not
 * end in a separator, and be NUL-terminated at the returned length. */
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
    assert(n <= size);
    assert(s[n] == '\0');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        assert(c >= 0x20 && c != 0x7f);
    }
    assert(n == 0 || s[n - 1] != ' ');
    free(s);
    return 0;
}
