/* Python-style --match patterns to POSIX EREs: see pattern.h for the list. */
#include "gpu_watch/pattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"

/* The class an escape letter stands for, as the inside of a bracket
 * expression ("0-9"); NULL for other letters. *neg: \D \S \W. */
static const char *escape_class(char c, bool *neg)
{
    *neg = c == 'D' || c == 'S' || c == 'W';
    switch (c) {
    case 'd':
    case 'D':
        return "0-9";
    case 's':
    case 'S':
        return "[:space:]";
    case 'w':
    case 'W':
        return "[:alnum:]_";
    default:
        return NULL;
    }
}

static int fail(char *what, size_t whatlen, const char *fmt, const char *s)
{
    snprintf(what, whatlen, fmt, s);
    return -EINVAL;
}

/* "\xHH" at p (on the '\'): the byte (1..255), 0 for \x00, or -1 when
 * two hex digits do not follow. */
static int hex_byte(const char *p)
{
    int v = 0;
    for (int i = 2; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A Python escape at p (on the '\') that has no exact ERE form: its name
 * for the error; NULL for the others. \xHH is translated (hex_byte), but
 * not \x00 (a C string ends there) nor \x without two hex digits. */
static const char *python_only_escape(const char *p)
{
    switch (p[1]) {
    case 'u':
        return "Unicode escape \\uXXXX (write the character itself)";
    case 'U':
        return "Unicode escape \\UXXXXXXXX (write the character itself)";
    case 'N':
        return "named character \\N{...} (write the character itself)";
    case '0':
        return "octal escape \\0";
    case 'x':
        return hex_byte(p) < 0    ? "\\x without two hex digits"
               : hex_byte(p) == 0 ? "NUL byte \\x00"
                                  : NULL;
    default:
        return NULL;
    }
}

/* The byte c as a literal outside a bracket: "[.]" for '.', "\^", ... */
static int put_literal(struct gw_buf *b, unsigned char c)
{
    if (c == '\\')
        return buf_puts(b, "[\\]"); /* '\' is literal in a POSIX bracket */
    if (c == '^')
        return buf_puts(b, "\\^");
    if (strchr(".[()*+?{|$", c))
        return buf_printf(b, "[%c]", c);
    return buf_putc(b, (char)c);
}

/* A bracket expression taken apart (bracket), to be written again. */
struct set {
    bool neg;                     /* [^...] */
    struct gw_buf plain, classes; /* characters; POSIX classes */
    const char *negs[3];          /* the classes of \D \S \W met, once each */
    char neg_letter;              /* the last of those letters */
    size_t nneg;
    bool rbracket, caret, dash; /* a literal ']', '^', '-' in the set */
};

/* The set t written again in POSIX order into b. 0 or -ENOMEM. */
static int write_set(struct gw_buf *b, struct set *t)
{
    /* A literal '-' at either end of the set would make a range once the
     * set is written again in another order: it goes last instead. */
    if (t->plain.len && t->plain.p[t->plain.len - 1] == '-') {
        t->plain.p[--t->plain.len] = '\0';
        t->dash = true;
    }
    if (t->plain.len && t->plain.p[0] == '-') {
        memmove(t->plain.p, t->plain.p + 1, t->plain.len--);
        t->dash = true;
    }
    bool rest = t->rbracket || t->plain.len || t->classes.len || t->caret || t->dash;
    int rc = 0;
    if (t->nneg)
        rc = buf_putc(b, '(');
    for (size_t i = 0; i < t->nneg && rc == 0; i++)
        rc = buf_printf(b, "%s[^%s]", i ? "|" : "", t->negs[i]);
    if (rc == 0 && t->nneg && rest)
        rc = buf_putc(b, '|');
    if (rc == 0 && rest && !t->neg && !t->rbracket && !t->plain.len && !t->classes.len && t->caret)
        rc = buf_puts(b, t->dash ? "[-^]" : "\\^"); /* '^' alone cannot open a set */
    else if (rc == 0 && rest)
        rc = buf_printf(b, "[%s%s%s%s%s%s]", t->neg ? "^" : "", t->rbracket ? "]" : "",
                        t->plain.len ? t->plain.p : "", t->classes.len ? t->classes.p : "",
                        t->caret ? "^" : "", t->dash ? "-" : "");
    if (rc == 0 && t->nneg)
        rc = buf_putc(b, ')');
    return rc;
}

/* A bracket expression starting at p (on the '['). Python's rules inside:
 * a ']' right after '[' or '[^' is literal, '\' escapes. POSIX's: '\' is
 * literal, ']' must come first and '-' last. So the set is taken apart and
 * written again in POSIX order. \D \S \W inside a set become an
 * alternation: [\Dx] is ([^0-9]|[x]). Returns the characters consumed, 0
 * when the bracket is not closed (copied as it is: regcomp then fails and
 * the caller falls back to a substring), or a negative errno. */
static long bracket(const char *p, struct gw_buf *b, char *what, size_t whatlen)
{
    const char *s = p + 1;
    struct set t = {.neg = *s == '^'};
    if (t.neg)
        s++;
    int rc = 0;
    if (*s == ']') {
        t.rbracket = true;
        s++;
    }
    for (; *s && *s != ']' && rc == 0; s++) {
        if (s[0] == '[' && s[1] == ':') { /* a POSIX class, [:alpha:], kept */
            const char *e = strstr(s + 2, ":]");
            if (e) {
                rc = buf_append(&t.classes, s, (size_t)(e + 2 - s));
                s = e + 1;
                continue;
            }
        }
        if (*s != '\\') {
            rc = buf_putc(&t.plain, *s);
            continue;
        }
        const char *py = python_only_escape(s);
        if (py) {
            rc = fail(what, whatlen, "%s", py);
            break;
        }
        char c = *++s;
        bool n;
        const char *cls = escape_class(c, &n);
        if (c == 'x') { /* \xHH: the byte, in the set like any other */
            c = (char)hex_byte(s - 1);
            s += 2;
            if (c == ']')
                t.rbracket = true;
            else if (c == '^')
                t.caret = true;
            else if (c == '-')
                t.dash = true;
            else
                rc = buf_putc(&t.plain, c);
        } else if (c == '\0') {
            break;
        } else if (cls && n) {
            bool dup = false;
            for (size_t i = 0; i < t.nneg; i++)
                dup |= t.negs[i] == cls;
            if (!dup)
                t.negs[t.nneg++] = cls;
            t.neg_letter = c;
        } else if (cls) {
            rc = buf_puts(&t.classes, cls);
        } else if (c == ']') {
            t.rbracket = true;
        } else if (c == '^') {
            t.caret = true;
        } else if (c == '-') {
            t.dash = true;
        } else {
            rc = buf_putc(&t.plain, c == 't' ? '\t' : c == 'n' ? '\n' : c);
        }
    }
    long used = *s == ']' ? (long)(s + 1 - p) : 0;
    if (rc == 0 && used == 0)
        rc = buf_puts(b, p);
    if (rc == 0 && used && t.nneg && t.neg) {
        char esc[3] = {'\\', t.neg_letter, '\0'};
        rc = fail(what, whatlen, "%s inside a negated set [^...]", esc);
    }
    if (rc == 0 && used)
        rc = write_set(b, &t);
    buf_free(&t.plain);
    buf_free(&t.classes);
    return rc < 0 ? rc : used ? used : (long)strlen(p);
}

/* "{m}", "{m,}", "{,n}", "{m,n}" at p: its length, and POSIX's spelling
 * in dst ({,n} is {0,n}); 0 when it is not an interval (then a literal
 * '{', as in Python). */
static size_t interval(const char *p, char *dst, size_t len)
{
    size_t i = 1, m = 0, n = 0;
    while (p[i] >= '0' && p[i] <= '9' && m < 6)
        i++, m++;
    bool comma = p[i] == ',';
    if (comma) {
        i++;
        while (p[i] >= '0' && p[i] <= '9' && n < 6)
            i++, n++;
    }
    if (p[i] != '}' || (m == 0 && n == 0))
        return 0;
    snprintf(dst, len, "{%s%.*s%s%.*s}", m ? "" : "0", (int)m, p + 1, comma ? "," : "", (int)n,
             p + 1 + m + (comma ? 1 : 0));
    return i + 1;
}

/* "(?..." at p: what it is, for the error; NULL for "(?:". */
static const char *group_kind(const char *p)
{
    static const struct {
        const char *start, *name;
    } kinds[] = {
        {"(?:", NULL},
        {"(?=", "look-ahead (?="},
        {"(?!", "negative look-ahead (?!"},
        {"(?<=", "look-behind (?<="},
        {"(?<!", "negative look-behind (?<!"},
        {"(?P<", "named group (?P<name>"},
        {"(?P=", "named back-reference (?P=name)"},
        {"(?<", "named group (?<name>"},
        {"(?#", "comment (?#...)"},
        {"(?(", "conditional (?(...)"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strncmp(p, kinds[i].start, strlen(kinds[i].start)) == 0)
            return kinds[i].name;
    return "inline flag (?...) (only a leading (?i) is understood)";
}

/* An escape "\\c" at *pp, outside a set, written for POSIX into b; *pp
 * moves past it. 0, or a negative errno (what says why). */
static int escape(const char **pp, struct gw_buf *b, char *what, size_t whatlen)
{
    const char *p = *pp;
    int rc;
    char c = p[1];
    bool neg;
    const char *cls = escape_class(c, &neg);
    const char *py = python_only_escape(p);
    if (py)
        return fail(what, whatlen, "%s", py);
    if (c == 'x') { /* \xHH: that byte, and only it */
        *pp += 4;
        return put_literal(b, (unsigned char)hex_byte(p));
    }
    if (cls)
        rc = buf_printf(b, "[%s%s]", neg ? "^" : "", cls);
    else if (c >= '1' && c <= '9') {
        char ref[3] = {'\\', c, '\0'};
        rc = fail(what, whatlen, "back-reference %s", ref);
    } else if (c == 'g' || c == 'k')
        rc = fail(what, whatlen, "%s",
                  c == 'g' ? "back-reference \\g<...>" : "named back-reference \\k<...>");
    else if (c == 'A' || c == 'Z')
        rc = buf_putc(b, c == 'A' ? '^' : '$');
    else if (c == 't' || c == 'n')
        rc = buf_putc(b, c == 't' ? '\t' : '\n');
    else
        rc = buf_append(b, p, 2);
    *pp += 2;
    return rc;
}

int pattern_to_ere(const char *pat, char **out, bool *icase, char *what, size_t whatlen)
{
    struct gw_buf b = {0};
    int rc = 0;
    *out = NULL;
    *icase = false;
    if (whatlen)
        what[0] = '\0';
    if (strncmp(pat, "(?i)", 4) == 0) {
        *icase = true;
        pat += 4;
    }
    bool after_quant = false; /* the last thing written was a quantifier */
    for (const char *p = pat; *p && rc == 0;) {
        char iv[32];
        size_t ivl;
        if (after_quant && *p == '?') { /* lazy: the greedy form matches the same lines */
            p++;
            after_quant = false;
            continue;
        }
        if (after_quant && *p == '+') {
            rc = fail(what, whatlen, "%s", "possessive quantifier (*+, ++, ?+)");
            break;
        }
        after_quant = false;
        if (*p == '*' || *p == '+' || *p == '?') {
            rc = buf_putc(&b, *p++);
            after_quant = true;
        } else if (*p == '{' && (ivl = interval(p, iv, sizeof iv)) > 0) {
            rc = buf_puts(&b, iv);
            p += ivl;
            after_quant = true;
        } else if (*p == '{') {
            rc = buf_puts(&b, "\\{");
            p++;
        } else if (p[0] == '(' && p[1] == '?') {
            const char *kind = group_kind(p);
            if (kind) {
                rc = fail(what, whatlen, "%s", kind);
                break;
            }
            rc = buf_putc(&b, '(');
            p += 3;
        } else if (*p == '[') {
            long used = bracket(p, &b, what, whatlen);
            if (used < 0)
                rc = (int)used;
            else
                p += used;
        } else if (*p == '\\' && p[1]) {
            rc = escape(&p, &b, what, whatlen);
        } else {
            rc = buf_putc(&b, *p++);
        }
    }
    if (rc == 0)
        rc = buf_reserve(&b, 0); /* an empty pattern is "" too */
    if (rc < 0) {
        buf_free(&b);
        return rc;
    }
    *out = b.p;
    return 0;
}
