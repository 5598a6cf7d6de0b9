#!/usr/bin/env python3
"""Compare rnnc with PyTorch and ONNX Runtime on the benchmark configurations.

  python tools/compare.py [--threads N] [--seconds S] [--rnnc target/release/rnnc]
                          [--configs benches/configs.toml] [--png benches/comparison.png]

For each configuration, in one run and one after the other: `rnnc bench --json` (native
code, forward_into), torch.nn.RNN (eval, inference_mode, torch.set_num_threads(N)), and for
single-layer configurations ONNX Runtime's RNN operator (intra_op_num_threads=N) with the
same weights. Every timing is the median of batches of calls of about 2 ms each, after
0.3 s of warm-up, as rnnc bench measures. Prints a markdown table of medians and ratios
(peer time / rnnc time) and draws the ratios as a PNG.

Needs torch, onnx, onnxruntime, numpy and matplotlib; build rnnc first
(cargo build --release).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tomllib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(call, seconds):
    """Median seconds per call: batches of ~2 ms after 0.3 s of warm-up."""
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < 0.3 or n < 3:
        call()
        n += 1
    per = (time.perf_counter() - start) / n
    batch = max(1, math.ceil(2e-3 / per))
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(samples) < 11:
        t = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - t) / batch)
    return statistics.median(samples)


def torch_rnn(c):
    torch.manual_seed(0)
    return torch.nn.RNN(c["input_size"], c["hidden_size"], c.get("num_layers", 1),
                        nonlinearity=c.get("nonlinearity", "tanh"),
                        bidirectional=c.get("bidirectional", False)).eval()


def time_torch(c, x, seconds):
    rnn = torch_rnn(c)
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        return timed(lambda: rnn(xt), seconds)


def time_ort(c, x, threads, seconds):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    rnn = torch_rnn(c)
    suffixes = ["", "_reverse"] if c.get("bidirectional") else [""]
    sd = {k: v.detach().numpy() for k, v in rnn.state_dict().items()}
    w = np.stack([sd["weight_ih_l0" + s] for s in suffixes])
    r = np.stack([sd["weight_hh_l0" + s] for s in suffixes])
    b = np.stack([np.concatenate([sd["bias_ih_l0" + s], sd["bias_hh_l0" + s]]) for s in suffixes])
    act = "Relu" if c.get("nonlinearity") == "relu" else "Tanh"
    node = helper.make_node(
        "RNN", ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=c["hidden_size"],
        direction="bidirectional" if c.get("bidirectional") else "forward",
        activations=[act] * len(suffixes))
    graph = helper.make_graph(
        [node], "rnn",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(a, n) for a, n in ((w, "W"), (r, "R"), (b, "B"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    # Same numbers as torch: a check that the peer computes the same RNN.
    y = session.run(None, {"X": x})[0]
    with torch.inference_mode():
        ref = rnn(torch.from_numpy(x))[0].numpy()
    y = np.concatenate([y[:, d] for d in range(y.shape[1])], axis=-1)
    assert np.allclose(y, ref, atol=1e-4), "ONNX Runtime disagrees with torch"
    return timed(lambda: session.run(None, {"X": x}), seconds)


def time_rnnc(rnnc, configs, name, threads, seconds):
    out = subprocess.run([rnnc, "bench", configs, "--json", "--only", name, "--threads", str(threads),
                          "--seconds", str(seconds)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--rnnc", default=os.path.join(ROOT, "target", "release", "rnnc"))
    p.add_argument("--configs", default=os.path.join(ROOT, "benches", "configs.toml"))
    p.add_argument("--png", help="write a chart of the ratios")
    p.add_argument("--only", help="a single configuration")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    configs = tomllib.load(open(args.configs, "rb"))["config"]
    rows = []
    print(f"threads: {args.threads}; torch {torch.__version__}; medians in microseconds\n")
    print("| config | rnnc µs | GFLOP/s | compile ms | PyTorch µs | ONNX RT µs | PyTorch / rnnc | ONNX RT / rnnc |")
    print("|---|---|---|---|---|---|---|---|")
    for c in configs:
        if args.only and c["name"] != args.only:
            continue
        rng = np.random.default_rng(1)
        x = rng.uniform(-1, 1, (c["seq_len"], c["batch"], c["input_size"])).astype(np.float32)
        r = time_rnnc(args.rnnc, args.configs, c["name"], args.threads, args.seconds)
        t = time_torch(c, x, args.seconds) * 1e6
        o = time_ort(c, x, args.threads, args.seconds) * 1e6 if c.get("num_layers", 1) == 1 else None
        row = dict(name=c["name"], rnnc=r["median_us"], gflops=r["gflops"], compile_ms=r["compile_ms"],
                   torch=t, ort=o, vs_torch=t / r["median_us"], vs_ort=o / r["median_us"] if o else None)
        rows.append(row)
        fmt = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"
        print(f"| {c['name']} | {fmt(row['rnnc'])} | {fmt(row['gflops'])} | {fmt(row['compile_ms'])} | "
              f"{fmt(t)} | {fmt(o)} | {fmt(row['vs_torch'], 2)} | {fmt(row['vs_ort'], 2)} |", flush=True)
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(10, 4.5))
        xs = np.arange(len(rows))
        ax.bar(xs - 0.2, [r["vs_torch"] for r in rows], 0.4, label="PyTorch time / rnnc time")
        ax.bar(xs + 0.2, [r["vs_ort"] or 0 for r in rows], 0.4, label="ONNX Runtime time / rnnc time")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(xs, [r["name"] for r in rows], rotation=30, ha="right")
        ax.set_ylabel("speed-up of rnnc (log scale)")
        ax.set_title(f"rnnc vs PyTorch {torch.__version__} and ONNX Runtime, {args.threads} thread(s)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}")


if __name__ == "__main__":
    sys.exit(main())
