#!/usr/bin/env python3
"""Fails when a function in the given C files is longer than the limit.

Usage: func_length.py [--max N] [--list] FILE.c...

A function's length is counted as ctags counts it: from the line that holds
its name to the line of its closing brace, both included. The C text is
scanned with a small brace counter (comments, string and character literals
and preprocessor lines removed), so no ctags is needed on the CI machine.
--list prints every function with its length, longest first.
"""
import re
import sys

LIMIT = 80
# Functions allowed over the limit, with the reason: none.
EXCEPTIONS = set()

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else"}


def blank(text):
    """Returns text with comments, literals and preprocessor lines replaced by
    spaces; newlines are kept so that offsets map to the same lines."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A preprocessor line, with its backslash continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = False
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
            continue
        if c == "\n":
            line_start = True
        out.append(c)
        i += 1
    return "".join(out)


def functions(path):
    """Yields (name, first line, last line) for each function defined in path."""
    with open(path, encoding="utf-8") as f:
        text = blank(f.read())
    depth = 0
    stmt_start = 0  # offset where the current top-level declaration began
    head = None  # (name, line) of the function whose body is open
    for i, c in enumerate(text):
        if c == "{":
            if depth == 0:
                decl = text[stmt_start:i]
                m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", decl)
                if (m and m.group(1) not in KEYWORDS and decl.rstrip().endswith(")")
                        and "=" not in decl[:m.start()]):
                    head = (m.group(1), text.count("\n", 0, stmt_start + m.start(1)) + 1)
                else:
                    head = None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if head:
                    yield head[0], head[1], text.count("\n", 0, i) + 1
                head = None
                stmt_start = i + 1
        elif c == ";" and depth == 0:
            stmt_start = i + 1


def main(argv):
    limit, listing, files = LIMIT, False, []
    args = iter(argv)
    for a in args:
        if a == "--max":
            limit = int(next(args))
        elif a == "--list":
            listing = True
        else:
            files.append(a)
    found = []
    for path in files:
        for name, first, last in functions(path):
            found.append((last - first + 1, path, first, name))
    found.sort(key=lambda t: (-t[0], t[1], t[2]))
    bad = 0
    for length, path, first, name in found:
        over = length > limit and name not in EXCEPTIONS
        if listing or over:
            note = " (allowed: see EXCEPTIONS)" if length > limit and not over else ""
            print(f"{path}:{first}: {name}: {length} lines{note}")
        bad += over
    if bad:
        print(f"func_length: {bad} function(s) longer than {limit} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
