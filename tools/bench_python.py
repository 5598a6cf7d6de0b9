#!/usr/bin/env python3
"""rnnc from Python against the torch modules themselves, one thread, in one run.

  python tools/bench_python.py [--rounds 5] [--seconds 0.3] [--steps 1000] [--only NAME]
                               [--configs benches/configs.toml benches/gated.toml]

Four tables, every entry the median over rounds in which the contenders alternate:
1. Single steps: 1,000 calls of one step (input 16, hidden 16, batch 1) carrying the state,
   `y, h = m(x, h)` (an LSTM's `(h, c)`), for torch.nn.RNN, GRU and LSTM and for
   `rnnc.compile` of each, with torch tensors (as a torch user calls it), with numpy
   arrays, and as a stream (`s(x)`). torch runs in inference_mode.
2. The Python call's overhead: on the smallest configuration, a call from Python
   (numpy arrays; torch tensors) against the same call made in a Rust loop by the native
   module (`Native._time_forward`: the same checks, outputs written into buffers made
   once). The difference is what Python costs per call.
3. Every benchmark configuration: the module called with a torch tensor against
   `rnnc.compile(module)` called the same way.
4. The cell modules (RNNCell, LSTMCell, GRUCell, input = hidden = 64 to 1024, batch 1)
   stepped as decoders step them, `h = cell(x, h)` with torch tensors: torch's module
   (in inference_mode) against `rnnc.compile(cell)`, with the 2x target.

Needs torch, numpy and the rnnc package (pip install ./crates/python).
"""

import argparse
import os
import statistics
import sys
import time
import tomllib

import torch

import rnnc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, timed, torch_rnn  # noqa: E402


def steps_loop(model, x, hx, steps):
    """Seconds per step of `steps` single-step calls carrying the state."""

    def run():
        h = hx
        for _ in range(steps):
            _, h = model(x, h)

    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / steps


def stream_loop(compiled, x, steps):
    def run():
        s = compiled.stream()
        for _ in range(steps):
            s(x)

    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / steps


def single_steps(args):
    print(f"## 1. Single steps: {args.steps} calls of one step (input 16, hidden 16, batch 1), state carried\n")
    print("| module | torch µs/step | rnnc, torch tensors | rnnc, numpy | rnnc stream, torch | vs torch (tensors) | target |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    targets = {"RNN": 5, "GRU": 5, "LSTM": 10}
    for cls in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM):
        torch.manual_seed(0)
        module = cls(16, 16).eval()
        compiled = rnnc.compile(module)
        x = torch.randn(1, 1, 16)
        xn = x.numpy()
        times = {k: [] for k in ("torch", "tensors", "numpy", "stream")}
        for _ in range(args.rounds):
            with torch.inference_mode():
                times["torch"].append(steps_loop(module, x, None, args.steps))
            times["tensors"].append(steps_loop(compiled, x, None, args.steps))
            times["numpy"].append(steps_loop(compiled, xn, None, args.steps))
            times["stream"].append(stream_loop(compiled, x, args.steps))
        m = {k: statistics.median(v) * 1e6 for k, v in times.items()}
        ratio = m["torch"] / m["tensors"]
        target = targets[cls.__name__]
        print(
            f"| {cls.__name__} | {m['torch']:.2f} | {m['tensors']:.2f} | {m['numpy']:.2f} | "
            f"{m['stream']:.2f} | {ratio:.1f}x | {target}x {'met' if ratio >= target else 'MISSED'} |"
        )
    print()


def overhead(args, configs):
    c = min(configs, key=flops)
    print(f"## 2. The Python call's overhead, on the smallest configuration ({c['name']})\n")
    module = torch_rnn(c)
    compiled = rnnc.compile(module)
    x = torch.randn(c["seq_len"], c["batch"], c["input_size"])
    xn = x.numpy()
    native = compiled._rnnc.native
    rows = {"rust": [], "numpy": [], "tensors": []}
    for _ in range(args.rounds):
        rows["rust"].append(native._time_forward(xn, 20000))
        rows["numpy"].append(timed(lambda: compiled(xn), args.seconds))
        rows["tensors"].append(timed(lambda: compiled(x), args.seconds))
    m = {k: statistics.median(v) * 1e6 for k, v in rows.items()}
    print("| call | µs per call | overhead over the Rust loop |")
    print("|---|---:|---:|")
    print(f"| from Rust (the native module's loop) | {m['rust']:.2f} | |")
    print(f"| from Python, numpy arrays | {m['numpy']:.2f} | {m['numpy'] - m['rust']:.2f} |")
    print(f"| from Python, torch tensors | {m['tensors']:.2f} | {m['tensors'] - m['rust']:.2f} |")
    print()


def every_config(args, configs):
    print("## 3. The benchmark configurations: torch module vs rnnc.compile(module), torch tensors in\n")
    print("| config | torch µs | rnnc µs | torch / rnnc |")
    print("|---|---:|---:|---:|")
    for c in configs:
        module = torch_rnn(c)
        compiled = rnnc.compile(module)
        x = torch.randn(c["seq_len"], c["batch"], c["input_size"])
        t_torch, t_rnnc = [], []
        for _ in range(args.rounds):
            with torch.inference_mode():
                t_torch.append(timed(lambda: module(x), args.seconds))
            t_rnnc.append(timed(lambda: compiled(x), args.seconds))
        a, b = statistics.median(t_torch) * 1e6, statistics.median(t_rnnc) * 1e6
        print(f"| {c['name']} | {a:.1f} | {b:.1f} | {a / b:.2f} |")
    print()


def cells(args):
    print("## 4. Cell modules stepped with torch tensors, batch 1: h = cell(x, h)\n")
    print("| module | size | torch µs/step | rnnc µs/step | torch / rnnc | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for cls in (torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell):
        for size in args.cell_sizes:
            torch.manual_seed(0)
            cell = cls(size, size).eval()
            compiled = rnnc.compile(cell)
            x = torch.randn(1, size)
            steps = max(20, min(args.steps, int(2e5 / size)))
            times = {"torch": [], "rnnc": []}
            for _ in range(args.rounds):
                with torch.inference_mode():
                    times["torch"].append(cell_loop(cell, x, steps))
                times["rnnc"].append(cell_loop(compiled, x, steps))
            a, b = (statistics.median(times[k]) * 1e6 for k in ("torch", "rnnc"))
            print(f"| {cls.__name__} | {size} | {a:.2f} | {b:.2f} | {a / b:.2f}x | "
                  f"2x {'met' if a / b >= 2 else 'MISSED'} |")
    print()


def cell_loop(cell, x, steps):
    """Seconds per step of `steps` steps of a cell, the state fed back."""
    h = None
    start = time.perf_counter()
    for _ in range(steps):
        h = cell(x, h)
    return (time.perf_counter() - start) / steps


def flops(c):
    from compare import flops as f

    return f(c)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=0.3)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--only", help="run the tables' rows of this configuration only (table 3)")
    p.add_argument("--cell-sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024],
                   help="input and hidden sizes of the cell modules (table 4)")
    p.add_argument("--tables", type=int, nargs="+", default=[1, 2, 3, 4], help="which tables to print")
    p.add_argument("--configs", nargs="+",
                   default=[os.path.join(ROOT, "benches", f) for f in ("configs.toml", "gated.toml")])
    args = p.parse_args()
    torch.set_num_threads(1)
    configs = [c for path in args.configs for c in tomllib.load(open(path, "rb"))["config"]]
    if args.only:
        configs = [c for c in configs if c["name"] == args.only]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# rnnc {rnnc.__version__} from Python vs torch {torch.__version__}, 1 thread, {cpu}; "
          f"medians over {args.rounds} rounds\n")
    tables = {1: lambda: single_steps(args), 2: lambda: overhead(args, configs),
              3: lambda: every_config(args, configs), 4: lambda: cells(args)}
    for t in args.tables:
        tables[t]()


if __name__ == "__main__":
    main()
