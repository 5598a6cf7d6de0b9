"""rnnc's Python package without PyTorch: specs and weights as dicts and files, numpy arrays
in and out, the case files computed by PyTorch, and every way a call can be wrong.

Nothing here imports torch (test_no_torch checks the package works where torch cannot be
imported at all).
"""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import safetensors.numpy

import rnnc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GOLDEN = os.path.join(ROOT, "tests", "golden")
SPEC_KEYS = ("cell", "input_size", "hidden_size", "num_layers", "nonlinearity", "bias",
             "batch_first", "bidirectional", "dropout", "dtype", "proj_size")


def within(got, ref, dtype):
    """rnnc verify's comparison: |got - ref| <= tol * (1 + |ref|), NaN only matching NaN."""
    tol = rnnc.tolerance(dtype)
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape
    same_nan = np.isnan(got) == np.isnan(ref)
    ok = np.isnan(ref) | (np.abs(got - ref) <= tol * (1 + np.abs(ref)))
    return bool(same_nan.all() and ok.all())


CASE_SETS = ("torch-rnn", "torch-lstm", "torch-gru", "torch-rnn-cell", "torch-lstm-cell", "torch-gru-cell")


def case_paths():
    return sorted(
        os.path.join(GOLDEN, d, f)
        for d in CASE_SETS
        for f in os.listdir(os.path.join(GOLDEN, d))
        if f.endswith(".json")
    )


def small_model(**spec):
    """A model from a spec dict and rnnc's own random weights (numpy), and the weights."""
    spec = {"input_size": 3, "hidden_size": 4, **spec}
    dtype = np.dtype(spec.get("dtype", "float32"))
    gates = {"lstm": 4, "gru": 3}.get(spec.get("cell", "rnn"), 1)
    h, p = spec["hidden_size"], spec.get("proj_size", 0)
    rng = np.random.default_rng(0)
    weights = {}
    for layer in range(spec.get("num_layers", 1)):
        for suffix in ([""] + (["_reverse"] if spec.get("bidirectional") else [])):
            d = 2 if spec.get("bidirectional") else 1
            inputs = spec["input_size"] if layer == 0 else d * (p or h)
            shapes = {"weight_ih": (gates * h, inputs), "weight_hh": (gates * h, p or h)}
            if spec.get("bias", True):
                shapes.update(bias_ih=(gates * h,), bias_hh=(gates * h,))
            if p:
                shapes["weight_hr"] = (p, h)
            for name, shape in shapes.items():
                weights[f"{name}_l{layer}{suffix}"] = rng.uniform(-0.5, 0.5, shape).astype(dtype)
    return rnnc.compile_spec(spec, weights), weights


@pytest.mark.parametrize("cell", CASE_SETS)
def test_verify_runs_every_case_and_all_pass(cell):
    results = rnnc.verify(os.path.join(GOLDEN, cell))
    expected = sorted(f[:-5] for f in os.listdir(os.path.join(GOLDEN, cell)) if f.endswith(".json"))
    assert sorted(r.name for r in results) == expected
    failed = [r for r in results if not r.passed]
    assert not failed, failed
    assert all(r.error is None and r.worst_error <= rnnc.tolerance(r.dtype) for r in results)


def test_verify_reports_a_broken_case(tmp_path):
    src = os.path.join(GOLDEN, "torch-gru", "case_000")
    config = json.load(open(src + ".json"))
    tensors = safetensors.numpy.load_file(src + ".safetensors")
    tensors["output"] = tensors["output"] + 1.0  # torch's answer, wrong
    json.dump(config, open(tmp_path / "case_000.json", "w"))
    safetensors.numpy.save_file(tensors, str(tmp_path / "case_000.safetensors"))
    (result,) = rnnc.verify(tmp_path)
    assert not result.passed and result.worst_error > 0.1 and result.at[0] == "output"
    with pytest.raises(FileNotFoundError, match="no case file or folder at"):
        rnnc.verify(tmp_path / "missing")
    os.mkdir(tmp_path / "empty")
    with pytest.raises(ValueError, match="no case"):
        rnnc.verify(tmp_path / "empty")


@pytest.mark.parametrize("path", case_paths(), ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_case_through_compile_spec_and_a_numpy_call(path):
    """Every case, called the way a numpy user calls rnnc: spec dict, weights dict, padded
    input with lengths for packed cases; a cell module's case stepped in a loop, the states
    fed back, as torch's cell was."""
    config = json.load(open(path))
    tensors = safetensors.numpy.load_file(path[:-5] + ".safetensors")
    spec = {k: config[k] for k in SPEC_KEYS if k in config}
    names = {"input", "h0", "c0", "output", "h_n", "c_n"}
    weights = {k: v for k, v in tensors.items() if k not in names}
    m = rnnc.compile_spec(spec, weights)
    hx = None
    if config["has_h0"]:
        hx = (tensors["h0"], tensors["c0"]) if "c0" in tensors else tensors["h0"]
    if config.get("cell", "rnn").endswith("_cell"):
        outputs = []
        for step in tensors["input"]:
            hx = m(step, hx)
            outputs.append(hx[0] if isinstance(hx, tuple) else hx)
        out, finals = np.stack(outputs), hx
    else:
        lengths = config["lengths"] if config.get("packed") else None
        out, finals = m(tensors["input"], hx, lengths=lengths)
    assert type(out) is np.ndarray and out.dtype == np.dtype(config["dtype"])
    assert within(out, tensors["output"], config["dtype"])
    if "c_n" in tensors:
        h_n, c_n = finals
        assert within(c_n, tensors["c_n"], config["dtype"])
    else:
        h_n = finals
    assert within(h_n, tensors["h_n"], config["dtype"])


def test_spec_file_and_safetensors_file(tmp_path):
    m, weights = small_model(cell="lstm", input_size=40, hidden_size=64, num_layers=2, proj_size=16)
    safetensors.numpy.save_file(weights, str(tmp_path / "w.safetensors"))
    from_files = rnnc.compile_spec(os.path.join(ROOT, "specs", "lstmp.toml"), tmp_path / "w.safetensors")
    x = np.random.default_rng(1).standard_normal((6, 2, 40)).astype(np.float32)
    out_a, (h_a, c_a) = m(x)
    out_b, (h_b, c_b) = from_files(x)
    assert np.array_equal(out_a, out_b) and np.array_equal(h_a, h_b) and np.array_equal(c_a, c_b)
    assert "LSTM(40, 64, num_layers=2, proj_size=16)" in repr(from_files)


def test_streaming_is_bit_identical_to_one_call():
    for cell in ("rnn", "lstm", "gru"):
        m, _ = small_model(cell=cell, num_layers=2, batch_first=True)
        x = np.random.default_rng(2).standard_normal((3, 11, 3)).astype(np.float32)
        h0 = np.random.default_rng(3).standard_normal((2, 3, 4)).astype(np.float32)
        hx = (h0, h0 * 0.5) if cell == "lstm" else h0
        whole, finals = m(x, hx)
        s = m.stream(hx)
        chunks = [s(x[:, i:i + k]) for i, k in ((0, 1), (1, 4), (5, 6))]
        assert np.array_equal(np.concatenate(chunks, axis=1), whole)
        for a, b in zip(s.state if cell == "lstm" else (s.state,), finals if cell == "lstm" else (finals,)):
            assert np.array_equal(a, b)
        with pytest.raises(RuntimeError, match="first chunk's batch"):
            s(x[:2, :1])
        with pytest.raises(RuntimeError, match=r"Expected hidden(\[0\])? size \(2, 3, 4\), got \[2, 3, 5\]"):
            h5 = np.zeros((2, 3, 5), np.float32)
            m.stream((h5, h0) if cell == "lstm" else h5)


def test_stream_of_a_bidirectional_model_is_refused():
    m, _ = small_model(cell="gru", bidirectional=True)
    with pytest.raises(RuntimeError, match="unidirectional"):
        m.stream()
    assert repr(m) == "rnnc.Compiled(GRU(3, 4, bidirectional=True), dtype=float32, threads=1, name='gru')"


def test_any_layout_of_the_same_values_gives_the_same_results():
    m, _ = small_model(cell="gru", num_layers=2)
    x = np.random.default_rng(4).standard_normal((5, 2, 3)).astype(np.float32)
    ref, h_ref = m(x)
    fortran = np.asfortranarray(x)
    strided = np.zeros((5, 2, 6), np.float32)[:, :, ::2]
    strided[...] = x
    buf = np.zeros(x.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(buf.data, dtype=np.float32, count=x.size, offset=1).reshape(x.shape)
    unaligned[...] = x
    assert not unaligned.flags.aligned
    for variant in (fortran, strided, unaligned, x[::-1].copy()[::-1]):
        out, h = m(variant)
        assert np.array_equal(out, ref) and np.array_equal(h, h_ref)


def test_nan_and_infinity_propagate_as_in_torch():
    m, _ = small_model()
    x = np.zeros((3, 1, 3), np.float32)
    x[1, 0, 0] = np.nan
    out, h = m(x)
    assert not np.isnan(out[0]).any() and np.isnan(out[1:]).all() and np.isnan(h).all()
    x[1, 0, 0] = np.inf
    out, _ = m(x)  # tanh saturates: finite
    assert np.isfinite(out).all()


def test_float64_models():
    m, w = small_model(cell="lstm", dtype="float64")
    assert m.dtype == np.float64 and all(v.dtype == np.float64 for v in w.values())
    out, (h, c) = m(np.ones((2, 3), np.float64))
    assert out.dtype == h.dtype == c.dtype == np.float64 and out.shape == (2, 4) and h.shape == (1, 4)


def test_wrong_calls_raise_torchs_exceptions_with_torchs_messages():
    m, _ = small_model(num_layers=2)
    cases = [
        (np.zeros((2, 1, 1, 3), np.float32), None, ValueError, "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
        (np.zeros((2, 1, 5), np.float32), None, RuntimeError, "input.size(-1) must be equal to input_size. Expected 3, got 5"),
        (np.zeros((0, 1, 3), np.float32), None, RuntimeError, "Expected sequence length to be larger than 0 in RNN"),
        (np.zeros((2, 1, 3), np.float32), np.zeros((2, 4), np.float32), RuntimeError,
         "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
        (np.zeros((2, 1, 3), np.float32), np.zeros((1, 1, 4), np.float32), RuntimeError,
         "Expected hidden size (2, 1, 4), got [1, 1, 4]"),
        (np.zeros((2, 1, 3), np.float64), None, ValueError, "RNN input dtype (float64) does not match weight dtype (float32)"),
        (np.zeros((2, 1, 3), np.int32), None, ValueError, "RNN input dtype (int32) does not match weight dtype (float32)"),
        (np.zeros((2, 1, 3), np.float32), np.zeros((2, 1, 4), np.float64), RuntimeError, "h0 must have dtype float32, got float64"),
        ([[0.0, 1.0, 2.0]], None, TypeError, "input must be a torch tensor, a PackedSequence or a numpy array, got list"),
        (np.zeros((2, 1, 3), np.float32), "h0", TypeError, "h0 must be a numpy array or a torch tensor, got str"),
    ]
    for x, hx, error, message in cases:
        with pytest.raises(error) as info:
            m(x, hx)
        assert str(info.value).startswith(message), (str(info.value), message)


def test_wrong_lengths_and_states():
    m, _ = small_model(cell="lstm")
    x = np.zeros((4, 2, 3), np.float32)
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        m(x, lengths=[2, -1])
    with pytest.raises(RuntimeError, match="larger than the input's sequence length"):
        m(x, lengths=[5, 1])
    with pytest.raises(RuntimeError, match="batch_size"):
        m(x, lengths=[1])
    with pytest.raises(RuntimeError, match=r"expected the 2 initial state\(s\) \(h0, c0\) together, got 1"):
        m(x, np.zeros((1, 2, 4), np.float32))
    # Padded steps give zeros and the final states of each sequence's last valid step.
    x = np.random.default_rng(5).standard_normal((4, 2, 3)).astype(np.float32)
    out, (h, c) = m(x, lengths=[4, 2])
    short, (h1, c1) = m(x[:2, 1:2])
    assert np.array_equal(out[2:, 1], np.zeros((2, 4), np.float32))
    assert np.array_equal(out[:2, 1:2], short) and np.array_equal(h[:, 1:2], h1) and np.array_equal(c[:, 1:2], c1)


def test_wrong_specs_and_weights_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="hidden_size"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 0}, {})
    with pytest.raises(ValueError, match="proj_size"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4, "proj_size": 2}, {})
    with pytest.raises(TypeError, match="a Python dict: key `input_size`: input_size should be of type integer, got: list"):
        rnnc.compile_spec({"input_size": [3], "hidden_size": 4}, {})
    _, weights = small_model()
    missing = dict(weights)
    del missing["bias_hh_l0"]
    with pytest.raises(ValueError, match=r"missing tensor `bias_hh_l0` \(expected shape \[4\]\)"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, missing)
    wrong = dict(weights, weight_hh_l0=np.zeros((4, 5), np.float32), bias_ih_l0=np.zeros(4, np.float64))
    with pytest.raises(ValueError) as info:
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, wrong)
    assert "tensor `weight_hh_l0` has shape [4, 5], expected [4, 4]" in str(info.value)
    assert "tensor `bias_ih_l0` has dtype float64, expected f32" in str(info.value)
    with pytest.raises(TypeError, match="must be a numpy array"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, dict(weights, bias_ih_l0=[0.0] * 4))
    with pytest.raises(FileNotFoundError):
        rnnc.compile_spec(tmp_path / "nope.toml", weights)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a safetensors file"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, tmp_path / "bad.safetensors")
    for threads in (0, -1):
        with pytest.raises(ValueError, match=f"threads must be at least 1, got {threads}"):
            rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, weights, threads=threads)
    with pytest.raises(TypeError, match="threads must be an int, got float"):
        rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, weights, threads=2.0)


UNKNOWN_CELL = ("Unknown cell 'transformer'. Select from 'rnn', 'lstm', 'gru', 'rnn_cell', "
                "'lstm_cell' or 'gru_cell'.")


def test_spec_dicts_are_read_as_spec_files_each_problem_located_by_its_key():
    """The spec files' reader, keys and messages, with every problem of the dict at once."""
    def problems(spec, error=ValueError):
        with pytest.raises(error) as info:
            rnnc.compile_spec(spec, {})
        return str(info.value)

    assert problems({"cell": "transformer", "input_size": 3, "hidden_size": 4}) == (
        f"a Python dict: key `cell`: {UNKNOWN_CELL}")
    assert problems({"nonlinearity": "gelu", "input_size": 3, "hidden_size": 4}) == (
        "a Python dict: key `nonlinearity`: Unknown nonlinearity 'gelu'. Select from 'tanh' or "
        "'relu'.")
    assert problems({"dtype": "float16", "input_size": 3, "hidden_size": 4}) == (
        "a Python dict: key `dtype`: Unknown dtype 'float16'. Select from 'f32' or 'f64'.")
    # Every problem, each by its key; an unknown key with the nearest known one.
    assert problems({"cell": "lstm", "input_size": 0, "hiden_size": 4, "nonlinearity": "relu"}) == (
        "a Python dict has 4 problems:\n"
        "  unknown key `hiden_size` (help: did you mean `hidden_size`?)\n"
        "  missing required key `hidden_size`\n"
        "  key `input_size`: input_size must be greater than zero, got 0\n"
        "  key `nonlinearity`: nonlinearity applies only to cell = \"rnn\" and \"rnn_cell\" "
        "(torch.nn.LSTM takes no nonlinearity argument), got nonlinearity = \"relu\" with cell = "
        "\"lstm\" (help: remove the nonlinearity key)")
    # A value of the wrong type is torch's TypeError; a too large int is said as such.
    assert problems({"input_size": 3.0, "hidden_size": 4, "bias": 1}, TypeError) == (
        "a Python dict has 2 problems:\n"
        "  key `input_size`: input_size should be of type integer, got: float 3.0\n"
        "  key `bias`: bias should be of type boolean, got: integer 1")
    assert problems({"input_size": 2**70, "hidden_size": 4}, TypeError) == (
        "a Python dict: key `input_size`: input_size should be of type integer (64-bit), got: "
        f"integer {2**70}")
    assert "got: dict" in problems({"input_size": {"a": 1}, "hidden_size": 4}, TypeError)
    with pytest.raises(TypeError, match=r"spec keys must be str, got int \(3\)"):
        rnnc.compile_spec({3: "input_size", "hidden_size": 4}, {})
    # None is torch's default, as if the key were not there.
    weights = small_model(cell="gru")[1]
    m = rnnc.compile_spec({"cell": "gru", "input_size": 3, "hidden_size": 4, "num_layers": None},
                          weights)
    assert m.spec["num_layers"] == 1 and m.spec["name"] == "gru"


def test_torch_mode_names_the_sequence_module():
    """torch's `mode` (RNNBase.mode) is the spec of `cell` and an RNN's `nonlinearity`."""
    weights = small_model()[1]
    relu = rnnc.compile_spec({"mode": "RNN_RELU", "input_size": 3, "hidden_size": 4}, weights)
    same = rnnc.compile_spec({"cell": "rnn", "nonlinearity": "relu", "input_size": 3, "hidden_size": 4},
                             weights)
    assert relu.spec == same.spec and relu.mode == "RNN_RELU" and relu.spec["name"] == "rnn"
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    (out, h), (out2, h2) = relu(x), same(x)
    assert np.array_equal(out, out2) and np.array_equal(h, h2)
    for mode, cell in [("LSTM", "lstm"), ("GRU", "gru"), ("RNN_TANH", "rnn")]:
        spec, weights = small_model(cell=cell)[0].spec, small_model(cell=cell)[1]
        again = rnnc.compile_spec({"mode": mode, "input_size": 3, "hidden_size": 4, "cell": cell},
                                  weights)
        assert again.spec == spec and again.mode == mode

    def problem(spec):
        with pytest.raises(ValueError) as info:
            rnnc.compile_spec({"input_size": 3, "hidden_size": 4, **spec}, {})
        return str(info.value)

    assert problem({"mode": "LSTM", "cell": "gru"}) == (
        "a Python dict: key `mode`: mode = \"LSTM\" contradicts cell = \"gru\": mode \"LSTM\" is "
        "cell = \"lstm\" (help: give mode or cell, not both)")
    assert problem({"mode": "RNN_TANH", "nonlinearity": "relu"}).startswith(
        "a Python dict: key `mode`: mode = \"RNN_TANH\" contradicts nonlinearity = \"relu\"")
    assert "torch.nn.GRUCell has no mode" in problem({"mode": "GRU", "cell": "gru_cell"})
    assert problem({"mode": "lstm"}) == (
        "a Python dict: key `mode`: Unknown mode 'lstm'. Select from 'RNN_TANH', 'RNN_RELU', "
        "'LSTM' or 'GRU'.")


def test_emit_writes_the_object_and_header(tmp_path):
    m, _ = small_model(cell="gru", name="tiny")
    obj, header = m.emit(tmp_path / "out")
    assert os.path.getsize(obj) > 0 and os.path.basename(obj) == "tiny.o"
    text = open(header).read()
    assert "tiny_forward" in text and "tiny_pack" not in text  # weights baked in
    obj, _ = m.emit(tmp_path / "arm", target="aarch64-unknown-linux-gnu")
    assert open(obj, "rb").read(20)[18] == 0xB7  # ELF e_machine: AArch64
    with pytest.raises(ValueError, match="nonsense"):
        m.emit(tmp_path / "x", target="nonsense-target")


def test_emit_refuses_weights_changed_since_compilation(tmp_path):
    _, weights = small_model()
    m = rnnc.compile_spec({"input_size": 3, "hidden_size": 4}, weights)
    weights["weight_hh_l0"][0, 0] += 1.0  # the caller's arrays, written in place
    with pytest.raises(RuntimeError, match="changed since this model was compiled"):
        m.emit(tmp_path)


def test_calls_release_the_gil():
    """While one thread is inside a long native call, another keeps running Python."""
    m, _ = small_model(cell="lstm", input_size=64, hidden_size=256)
    x = np.ones((400, 8, 64), np.float32)
    m(x)
    calls, stamps = [], []

    def worker():
        for _ in range(4):
            t0 = time.perf_counter()
            m(x)
            calls.append((t0, time.perf_counter()))

    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():
        stamps.append(time.perf_counter())
    thread.join()
    shortest = min(t1 - t0 for t0, t1 in calls)
    assert shortest > 0.01, "calls too short to tell"
    # The longest pause of this thread inside the calls: holding the GIL, a call would
    # stop this loop for the whole call; released, this loop runs on through it.
    stamps = np.array(stamps)
    for t0, t1 in calls:
        inside = stamps[(stamps > t0) & (stamps < t1)]
        assert len(inside) > 1, "no Python ran during a call"
        gaps = np.diff(np.concatenate([[t0], inside, [t1]]))
        assert gaps.max() < shortest / 2, (gaps.max(), shortest)


def test_results_held_are_never_written_again():
    """Results are arrays of earlier calls once nothing but rnnc holds them: one the
    caller keeps, or keeps a view, a memoryview or a tensor of, is never reused; a
    reused one starts from zeros (a model that writes nothing of it would show what
    was there)."""
    m, _ = small_model(cell="lstm", input_size=3, hidden_size=4)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((2, 1, 3)).astype(np.float32) for _ in range(40)]
    fresh = [tuple(a.copy() for a in (y, h, c)) for y, (h, c) in map(m, xs)]
    kept = []
    for i, x in enumerate(xs):
        y, (h, c) = m(x)
        assert all(np.array_equal(a, b) for a, b in zip((y, h, c), fresh[i]))
        holder = [y, y[0], memoryview(h), c.T][i % 4]
        kept.append((i, holder, np.array(holder)))  # np.array copies
        del y, h, c  # the holder alone keeps its array
        for j, held, values in kept:
            assert np.array_equal(np.asarray(held), values), j
    # Padding past a sequence's length is zeros, also in an array that held a full
    # output before.
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    for _ in range(3):
        out, _ = m(x)
        assert (out != 0).all()
        del out
        out, _ = m(x, lengths=[5, 2])
        assert (out[2:, 1] == 0).all() and (out[:, 0] != 0).all()


def test_results_changed_in_place_by_python_then_dropped():
    """A result whose strides, dtype, shape or flags Python changed before letting it go
    is not a result of this shape any more: later calls are right and nothing panics."""
    m, _ = small_model(cell="rnn", input_size=3, hidden_size=4)
    x = np.random.default_rng(2).standard_normal((2, 2, 3)).astype(np.float32)
    ref = m(x)[0].copy()
    changes = [lambda y: setattr(y, "strides", (y.strides[0], 0, y.strides[2])),
               lambda y: setattr(y, "dtype", np.int32),
               lambda y: setattr(y, "shape", (4, 4)),
               lambda y: setattr(y.flags, "writeable", False)]
    for change in changes:
        y, _ = m(x)
        change(y)
        del y
        for _ in range(3):
            y, h = m(x)
            assert np.array_equal(y, ref) and y.flags.writeable and h.flags.writeable
            y += 1  # a result is the caller's to write
            del y, h


def test_threads_share_one_model():
    m, _ = small_model(cell="gru", input_size=8, hidden_size=32, num_layers=2)
    inputs = [np.random.default_rng(i).standard_normal((50, 4, 8)).astype(np.float32) for i in range(8)]
    expected = [m(x)[0] for x in inputs]
    results = [None] * len(inputs)

    def run(i):
        for _ in range(20):
            results[i] = m(inputs[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(results, expected))


def test_no_torch():
    """The package imports and runs where torch cannot be imported."""
    script = (
        "import sys; sys.modules['torch'] = None\n"
        "import numpy as np, rnnc\n"
        "w = {n: np.zeros(s, np.float32) for n, s in [('weight_ih_l0', (4, 3)), ('weight_hh_l0', (4, 4)),"
        " ('bias_ih_l0', (4,)), ('bias_hh_l0', (4,))]}\n"
        "m = rnnc.compile_spec({'input_size': 3, 'hidden_size': 4}, w)\n"
        "out, h = m(np.ones((2, 3), np.float32)); assert out.shape == (2, 4)\n"
        "assert rnnc.verify(sys.argv[1])[0].passed\n"
        "try:\n    rnnc.compile(object())\nexcept TypeError as e:\n    print(e)\n"
    )
    case = os.path.join(GOLDEN, "torch-rnn", "case_000.json")
    done = subprocess.run([sys.executable, "-c", script, case], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rnnc.compile takes a torch module, got object" in done.stdout
