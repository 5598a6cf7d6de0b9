#!/usr/bin/env python3
"""Where rnnc's generated code spends its time, by kernel-IR loop and instruction.

    python tools/profile.py b64-1024 [--threads 2] [--seconds 3] [--rnnc target/release/rnnc]
                                     [--configs FILE...] [--top 12]

CONFIG is a configuration of benches/configs.toml or benches/gated.toml (the default
--configs, as for `rnnc bench`).

Runs `rnnc bench --only CONFIG` under `perf record -e cpu-clock` (a software clock: it
works on VMs without hardware counters) with RNNC_PERF_MAP set, so that perf names the
generated functions. Each sample in generated code is then placed in the machine-code
listing of the same model (`rnnc SPEC --emit asm`, compiled with the same options) and
attributed to:
  - the innermost kernel-IR loop whose code it falls in (the `; ir: for ...` marker before
    it in the listing; code right after an inner loop, such as its accumulator stores, is
    counted with that loop), labelled with the phase comment of the kernel IR
    (`; layer 0: input projection ...`) and the loop's first multiply-add, tanh or select;
  - the IR instruction it came from.
FLOP rates per loop are not printed: the tool counts time, the loop nest counts work.

Needs Linux `perf` (apt-get install linux-perf) and Python 3.11+; no Python packages.
"""

import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_KEYS = {"name", "seq_len", "batch"}


def spec_text(config):
    """The model part of a benchmark configuration, as a spec file."""
    lines = [f'name = "{re.sub(r"[^A-Za-z0-9_]", "_", config["name"])}"']
    for key, value in config.items():
        if key in RUN_KEYS:
            continue
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def run(cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def parse_listing(text):
    """{symbol: [(offset, ir_text, loop_marker)]} in address order."""
    functions = {}
    current = None
    ir_text = loop = None
    for line in text.splitlines():
        head = re.match(r"; (\S+): \d+ bytes of", line)
        if head:
            current = functions.setdefault(head.group(1), [])
            ir_text = loop = None
            continue
        note = re.match(r"\s+; ir: (.*)", line)
        if note:
            ir_text = note.group(1)
            if ir_text.startswith("for "):
                loop = ir_text
            continue
        insn = re.match(r"\s+([0-9a-f]+):\s", line)
        if insn and current is not None:
            current.append((int(insn.group(1), 16), ir_text, loop))
    return functions


def loop_labels(ir_text):
    """{(function, 'for ...' line): (phase, first)}: the phase comment above each loop and
    the first fma, tanh or select inside it, from the kernel IR's indentation."""
    labels = {}
    function = None
    phase = ""
    open_loops = []  # (indent, key)
    first = {}
    for line in ir_text.splitlines():
        fn = re.match(r"func @(\S+)\(", line)
        if fn:
            function, phase, open_loops = fn.group(1), "", []
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        while open_loops and indent <= open_loops[-1][0] and stripped:
            open_loops.pop()
        if stripped.startswith("; layer") or stripped.startswith("; phase"):
            phase = stripped[2:]
        elif stripped.startswith("for "):
            key = (function, stripped.rstrip(" {"))
            labels[key] = phase
            open_loops.append((indent, key))
        elif open_loops and (" fma " in stripped or "tanh" in stripped or "select" in stripped):
            for _, key in open_loops:
                first.setdefault(key, stripped)
    return {k: (v, first.get(k, "")) for k, v in labels.items()}


def read_perf_map(pid):
    """The perf map rnnc wrote for process `pid` (RNNC_PERF_MAP), removed once read:
    [(start, end, symbol)] in the order written."""
    path = f"/tmp/perf-{pid}.map"
    try:
        with open(path) as f:
            lines = f.read().splitlines()
        os.remove(path)
    except OSError:
        return []
    entries = []
    for line in lines:
        start, size, symbol = line.split(" ", 2)
        entries.append((int(start, 16), int(start, 16) + int(size, 16), symbol))
    return entries


def lookup(entries, ip):
    """(symbol, offset) of the code at `ip`. The latest entry wins: `rnnc bench` compiles
    each model three times and keeps the last, and freed code memory is reused."""
    for start, end, symbol in reversed(entries):
        if start <= ip < end:
            return symbol, ip - start
    return None


def ir_function(symbol, functions):
    """The IR function of a symbol `MODEL_FUNCTION` (model names may contain '_')."""
    for i, c in enumerate(symbol):
        if c == "_" and symbol[i + 1:] in functions:
            return symbol[i + 1:]
    return symbol


def main():
    # Quietly stop when the reader does (`| head`), as command-line tools do.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config")
    p.add_argument("--configs", nargs="+",
                   default=[os.path.join(ROOT, "benches", name)
                            for name in ("configs.toml", "gated.toml")])
    p.add_argument("--rnnc", default=os.path.join(ROOT, "target", "release", "rnnc"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()

    configs = {}
    for path in args.configs:
        with open(path, "rb") as f:
            configs.update({c["name"]: (path, c) for c in tomllib.load(f)["config"]})
    if args.config not in configs:
        sys.exit(f"no configuration {args.config!r} in {' '.join(args.configs)}; "
                 f"expected one of {', '.join(configs)}")
    config_file, config = configs[args.config]
    if shutil.which("perf") is None:
        sys.exit("perf not found: install Linux perf (Debian: apt-get install linux-perf)")
    if not os.path.exists(args.rnnc):
        sys.exit(f"{args.rnnc} not found: run `cargo build --release` first")

    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "spec.toml")
        with open(spec, "w") as f:
            f.write(spec_text(config))
        threaded = ["--threaded"] if args.threads > 1 else []
        listing = parse_listing(run([args.rnnc, spec, "--emit", "asm", *threaded]))
        labels = loop_labels(run([args.rnnc, spec, "--emit", "ir", *threaded]))
        data = os.path.join(tmp, "perf.data")
        env = dict(os.environ, RNNC_PERF_MAP="1")
        bench = run(["perf", "record", "-q", "-e", "cpu-clock", "-o", data, "--",
                     args.rnnc, "bench", config_file, "--only", args.config,
                     "--threads", str(args.threads), "--seconds", str(args.seconds)],
                    env=env)
        samples = run(["perf", "script", "-i", data, "-F", "pid,ip,sym"])

    functions = {k[0] for k in labels}
    by_loop = collections.Counter()
    by_inst = collections.Counter()
    by_symbol = collections.Counter()
    total = 0
    maps = {}
    for line in samples.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 2:
            continue
        total += 1
        pid, ip = fields[0], int(fields[1], 16)
        if pid not in maps:
            maps[pid] = read_perf_map(pid)
        found = lookup(maps[pid], ip)
        if found is None:
            # Not generated code: perf's own symbol for it.
            name = fields[2].strip() if len(fields) > 2 else "(unknown)"
            by_symbol[re.sub(r"\+0x[0-9a-f]+$", "", name) or "(unknown)"] += 1
            continue
        symbol, offset = found
        by_symbol[symbol] += 1
        # The JIT's `forward` takes its buffers as arrays (one signature for every cell),
        # the object's as separate arguments: its samples stay with the function only.
        insns = None if symbol.endswith("_forward") else listing.get(symbol)
        if not insns or offset < insns[0][0]:
            continue
        lo, hi = 0, len(insns) - 1
        while lo < hi:  # the last instruction starting at or before offset
            mid = (lo + hi + 1) // 2
            if insns[mid][0] <= offset:
                lo = mid
            else:
                hi = mid - 1
        _, ir_text, loop = insns[lo]
        function = ir_function(symbol, functions)
        by_loop[(symbol, function, loop)] += 1
        by_inst[(symbol, ir_text)] += 1

    print(bench.strip())
    print(f"\n{total} samples (cpu-clock)")
    print("\n## By function\n")
    for symbol, n in by_symbol.most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {symbol}")
    print("\n## By innermost kernel-IR loop (with the code right after it)\n")
    for (symbol, function, loop), n in by_loop.most_common(args.top):
        phase, first = labels.get((function, loop), ("", ""))
        print(f"{100 * n / total:6.1f}%  {symbol}: {loop or '(outside loops)'}")
        if phase or first:
            print(f"          {phase}{' | ' if phase and first else ''}{first}")
    print("\n## By IR instruction\n")
    for (symbol, ir_text), n in by_inst.most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {symbol}: {ir_text}")


if __name__ == "__main__":
    main()
