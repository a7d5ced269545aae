#!/usr/bin/env python3
"""Fails when a header declares a function that its own .c does not define.

Usage: header_owner.py INCLUDE_DIR SRC_DIR

For each INCLUDE_DIR/X.h, every function it declares must be defined in
X.c (in SRC_DIR or one of its folders), so that the name of a header tells where its functions live
(docs/architecture.md). Headers that declare types and inline functions only
(no prototype) need no .c and are listed with --list as type-only. A
header whose functions are defined in the .c files of several other names,
or an #include circle among the headers of include/gpu_watch, fails too.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from func_length import blank, functions  # noqa: E402

KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "_Static_assert"}
# A declaration that starts with one of these macros declares a type, not a
# function (GW_LIST in parse.h), or checks a layout (NVML_FIELD_AT in
# nvml_records.h).
TYPE_MACROS = ("GW_LIST", "NVML_FIELD_AT")


def prototypes(path):
    """Returns the names of the functions declared (not defined) in path."""
    with open(path, encoding="utf-8") as f:
        text = blank(f.read())
    names, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                start = i + 1
        elif c == ";" and depth == 0:
            decl = text[start:i].strip()
            start = i + 1
            if decl.startswith("typedef") or decl.startswith(TYPE_MACROS):
                continue
            m = re.search(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", decl)
            if m and m.group(1) not in KEYWORDS and not re.search(r"\(\s*\*\s*$",
                                                                   decl[:m.start(1)]):
                names.append(m.group(1))
    return names


def includes(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r'^\s*#\s*include\s+"gpu_watch/([^"]+)\.h"', f.read(), re.M)


def find_cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def main(argv):
    listing = "--list" in argv
    inc, src = [a for a in argv if a != "--list"]
    defined = {}
    # src/ and its subsystem folders (docs/architecture.md): a .c is known by
    # its file name, wherever it lives.
    for top, _, files in sorted(os.walk(src)):
        for name in sorted(files):
            if name.endswith(".c"):
                for fn, _, _ in functions(os.path.join(top, name)):
                    defined.setdefault(fn, []).append(name)
    bad, graph = 0, {}
    for name in sorted(os.listdir(inc)):
        if not name.endswith(".h"):
            continue
        base = name[:-2]
        graph[base] = includes(os.path.join(inc, name))
        protos = prototypes(os.path.join(inc, name))
        if not protos:
            if listing:
                print(f"{name}: type-only")
            continue
        for fn in protos:
            where = defined.get(fn, [])
            if base + ".c" not in where:
                print(f"{inc}/{name}: {fn} is defined in {', '.join(where) or 'no .c'},"
                      f" not {base}.c")
                bad += 1
    cycle = find_cycle(graph)
    if cycle:
        print("include circle: " + " -> ".join(c + ".h" for c in cycle))
        bad += 1
    if bad:
        print(f"header_owner: {bad} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
