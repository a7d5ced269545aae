/* --match patterns written with Python `re` habits, translated to the POSIX
 * extended regular expressions that regcomp(3) understands. Pure: no I/O. */
#ifndef GPU_WATCH_PATTERN_H
#define GPU_WATCH_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* Translate pat into a POSIX ERE:
 *   \d \D \s \S \w \W      -> [0-9] [^0-9] [[:space:]] ... (also inside [...])
 *   a leading (?i)         -> *icase = true (match with REG_ICASE)
 *   (?:                    -> a plain group (
 *   *? +? ?? {m,n}?        -> the greedy * + ? {m,n} (a filter only asks
 *                             whether a line matches, so laziness is moot)
 *   \t \n \A \Z            -> a tab, a newline, ^, $
 *   \xHH                   -> that byte, and only it ("\x2e" -> "[.]"; in a
 *                             set, a member like any other)
 * Anything else is copied unchanged. Returns 0 with *out (malloc'd, the
 * caller frees it with free()); -EINVAL when pat holds a construct POSIX
 * has no equivalent for (look-arounds, back-references, named groups,
 * inline flags other than a leading (?i), \uXXXX, \UXXXXXXXX, \N{...},
 * octal \0, \x00, ...): what then names it, e.g.
 * "look-ahead (?=" (NUL-terminated, cut to whatlen); or -ENOMEM. */
int pattern_to_ere(const char *pat, char **out, bool *icase, char *what, size_t whatlen);

#endif
