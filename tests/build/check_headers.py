#!/usr/bin/env python3
"""build.headers: every public header compiles alone, as C++20, each included twice
(so its include guard is checked too). Only syntax and semantics are checked
(-fsyntax-only): a header alone has no code to generate, and the templates it
uses are instantiated all the same.

    check_headers.py --cxx CXX --flags FLAGS_FILE --include-dir DIR --scratch DIR --jobs N
                     [--tier HEADER,HEADER,...]... HEADER...

FLAGS_FILE holds mmt::mmt's include directories, definitions and options, one a
line. HEADERs are paths under --include-dir ("mmt/core/error.hpp").

Most headers include the same heavy core (xtensor, Eigen, nlohmann::json and mmt's
layers), and parsing it again for each header was most of the check's time. A
--tier is a set of headers compiled once into a precompiled header, which a header
is checked against only where that hides nothing:
  - every header of the tier is in the header's own include closure, so the
    header's text sees exactly the declarations it would see without it: mmt's
    headers put every #include before their first line of code, and include mmt
    headers only unconditionally (both checked here);
  - the header is not itself in the tier's closure, or it would not be compiled.
A header takes the largest tier it may, or none. Each tier's own headers are
checked alone like every other.
"""
import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

MMT_INCLUDE = re.compile(r'^\s*#\s*include\s*"(mmt/[^"]+)"')
CODE = re.compile(r'^(namespace|template|class|struct|inline|using|enum|constexpr|static)\b')


def direct_includes(include_dir, header):
    """The mmt headers `header` includes, checked to be unconditional and before any code."""
    out, depth, code = [], 0, False
    with open(os.path.join(include_dir, header), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if re.match(r"#\s*if", stripped):
                depth += 1
            elif re.match(r"#\s*endif", stripped):
                depth -= 1
            elif CODE.match(line):
                code = True
            match = MMT_INCLUDE.match(line)
            if not match:
                continue
            if depth or code:
                where = "inside #if" if depth else "after code"
                sys.exit(f"build.headers: {header}:{number}: #include \"{match.group(1)}\" {where}; "
                         "expected every mmt include unconditional and before the first line of code")
            out.append(match.group(1))
    return out


def closures(include_dir, headers):
    """header: every mmt header it includes, directly or not (itself excluded)."""
    graph, pending = {}, list(headers)
    while pending:
        header = pending.pop()
        if header not in graph:
            graph[header] = direct_includes(include_dir, header)
            pending += graph[header]
    memo = {}

    def closure(header):
        if header not in memo:
            memo[header] = set()  # #pragma once: a cycle adds nothing
            for included in graph[header]:
                memo[header] |= {included} | closure(included)
        return memo[header]

    return {header: closure(header) for header in graph}


def compile_source(args, source, extra):
    command = [args.cxx, f"@{args.flags}", "-std=c++20", "-Wall", "-Wextra", *extra]
    result = subprocess.run(command, input=source, text=True, capture_output=True)
    return result.returncode, result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cxx", required=True)
    parser.add_argument("--flags", required=True)
    parser.add_argument("--include-dir", required=True)
    parser.add_argument("--scratch", required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--tier", action="append", default=[], help="comma-separated headers")
    parser.add_argument("headers", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.scratch, exist_ok=True)

    tiers = [tier.split(",") for tier in args.tier]
    closure = closures(args.include_dir, args.headers + [h for tier in tiers for h in tier])
    tier_closures = [set(tier).union(*(closure[h] for h in tier)) for tier in tiers]

    def build_tier(index):
        pch = os.path.join(args.scratch, f"tier{index}.pch")
        source = "".join(f'#include "{h}"\n' for h in tiers[index])
        code, errors = compile_source(args, source, ["-x", "c++-header", "-fpch-instantiate-templates", "-", "-o", pch])
        if code:
            sys.exit(f"build.headers: tier {index} ({', '.join(tiers[index])}) does not compile:\n{errors}")
        return pch

    def tier_of(header):
        usable = [i for i, tier in enumerate(tiers) if set(tier) <= closure[header] and header not in tier_closures[i]]
        return max(usable, key=lambda i: len(tier_closures[i]), default=None)

    def check(header):
        tier = tier_of(header)
        extra = ["-include-pch", pchs[tier]] if tier is not None else []
        code, errors = compile_source(args, f'#include "{header}"\n#include "{header}"\n', [*extra, "-fsyntax-only", "-x", "c++", "-"])
        if code:
            return f"{errors}build.headers: {header} does not compile alone (above)"
        return None

    with ThreadPoolExecutor(args.jobs) as pool:
        pchs = list(pool.map(build_tier, range(len(tiers))))
        failures = [f for f in pool.map(check, args.headers) if f]
    for pch in pchs:  # 350 MB, of no use after the check
        os.remove(pch)
    for failure in failures:
        print(failure, file=sys.stderr)
    with_tier = sum(tier_of(h) is not None for h in args.headers)
    print(f"build.headers: {len(args.headers) - len(failures)} of {len(args.headers)} headers compile alone as C++20 "
          f"({args.cxx}; {with_tier} against a precompiled tier, {len(args.headers) - with_tier} from scratch)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
