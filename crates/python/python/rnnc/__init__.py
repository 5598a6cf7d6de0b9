"""rnnc: PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` compiled to native CPU code.

``rnnc.compile(module)`` reads a live torch module (its constructor arguments and
``state_dict``) and returns a callable with the module's signature and results, that runs
rnnc's kernels with no PyTorch on the call path::

    import torch, rnnc
    lstm = torch.nn.LSTM(40, 128, num_layers=2, proj_size=32).eval()
    fast = rnnc.compile(lstm)
    out, (h_n, c_n) = fast(torch.randn(50, 1, 40))      # as lstm(x)

Without PyTorch, ``rnnc.compile_spec(spec, weights)`` takes a spec (a TOML path or a dict of
the same keys) and weights (a safetensors path or a dict of numpy arrays); numpy arrays in
give numpy arrays out. ``rnnc.verify(path)`` checks rnnc against case files computed by
PyTorch.

Calls release the GIL while native code runs: threads calling one compiled model run in
parallel.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _rnnc

__version__ = _rnnc.__version__

__all__ = [
    "CaseResult",
    "Compiled",
    "Stream",
    "compile",
    "compile_spec",
    "tolerance",
    "verify",
]

_MODULES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _torch():
    """torch if it has been imported (a torch tensor implies it has): never imported here."""
    return sys.modules.get("torch")


class Compiled:
    """A torch ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` compiled by rnnc, weights packed.

    Call it as the module: ``out, h_n = m(x, h0)`` (RNN, GRU), ``out, (h_n, c_n) = m(x,
    (h0, c0))`` (LSTM), with ``x`` batched, unbatched or batch-first as the module takes it,
    or a ``PackedSequence``. torch tensors in give torch tensors out; numpy arrays in give
    numpy arrays out. Inference semantics (dropout off), whatever the module's mode was.
    """

    __slots__ = ("_native", "_spec", "_module", "_lstm", "_dtype", "_tdtype", "_last")

    # torch's Tensor, PackedSequence and from_numpy, looked up once torch is seen: the
    # forward path makes no other torch call than these zero-copy conversions.
    _Tensor: Any = None
    _Packed: Any = None
    _from_numpy: Any = None

    def __init__(self, native: _rnnc.Native):
        self._native = native
        self._spec = native.spec
        self._module = _MODULES[self._spec["mode"]]
        self._lstm = self._spec["mode"] == "LSTM"
        self._dtype = np.dtype(self._spec["dtype"])
        self._tdtype = None  # torch's dtype of the model, once torch is seen
        self._last = None  # the state tensors returned last, their arrays and addresses
        torch = _torch()
        if torch is not None:
            self._see_torch(torch)

    def __call__(self, input, hx=None, *, lengths=None):
        """Runs the model as torch's module would: see the class's documentation.

        ``lengths`` (numpy callers' packed sequences): each sequence's valid steps in a
        padded batched ``input``; outputs past a sequence's end are zeros and its final
        states are those of its last valid step.
        """
        kind = type(input)
        if kind is Compiled._Tensor:
            # The fast path of a torch tensor (a step of a loop, say): a few attribute
            # reads and the conversions, as cheap as torch allows.
            if self._plain(input):
                x = input.numpy()
            else:
                x = self._tensor(input, "input")
            from_numpy = Compiled._from_numpy
            # A loop feeds back the states this model just returned: their arrays are
            # known, unless the tensors changed since (an in-place write or a change of
            # shape bumps `_version`; `t.data = ...` changes the data pointer).
            last = self._last
            if self._lstm:
                if hx is None:
                    states = None
                elif (
                    last is not None
                    and hx is last[0]
                    and not hx[0]._version
                    and not hx[1]._version
                    and hx[0].data_ptr() == last[2]
                    and hx[1].data_ptr() == last[3]
                ):
                    states = last[1]
                elif (
                    type(hx) is tuple
                    and len(hx) == 2
                    and self._plain(hx[0])
                    and self._plain(hx[1])
                ):
                    states = (hx[0].numpy(), hx[1].numpy())
                else:
                    states = self._torch_states(hx)
                out, states = self._native.forward(x, states, lengths)
                h, c = from_numpy(states[0]), from_numpy(states[1])
                result = (h, c)
                self._last = (result, states, h.data_ptr(), c.data_ptr())
                return from_numpy(out), result
            if hx is None:
                states = None
            elif (
                last is not None
                and hx is last[0]
                and not hx._version
                and hx.data_ptr() == last[2]
            ):
                states = last[1]
            elif self._plain(hx):
                states = (hx.numpy(),)
            else:
                states = self._torch_states(hx)
            out, states = self._native.forward(x, states, lengths)
            h = from_numpy(states[0])
            self._last = (h, states, h.data_ptr())
            return from_numpy(out), h
        if kind is np.ndarray:
            out, states = self._native.forward(input, self._numpy_states(hx), lengths)
            return out, (states if self._lstm else states[0])
        torch = _torch()
        if torch is not None:
            self._see_torch(torch)
            if isinstance(input, torch.nn.utils.rnn.PackedSequence):
                return self._packed(torch, input, hx)
            if isinstance(input, torch.Tensor):  # a subclass of Tensor
                x = self._tensor(input, "input")
                out, states = self._native.forward(x, self._torch_states(hx), lengths)
                return torch.from_numpy(out), self._result(states, torch)
        if isinstance(input, np.ndarray):  # a subclass of ndarray
            out, states = self._native.forward(input, self._numpy_states(hx), lengths)
            return out, (states if self._lstm else states[0])
        raise TypeError(
            "input must be a torch tensor, a PackedSequence or a numpy array, got "
            f"{type(input).__name__}"
        )

    def stream(self, hx=None) -> "Stream":
        """Starts feeding one sequence in chunks: ``s = m.stream(); y = s(chunk)``.

        ``hx`` is the initial state as the module takes it (``h0``, an LSTM's ``(h0,
        c0)``), or None for zeros. Outputs are bit-identical to one call on the whole
        sequence. Only unidirectional models stream (``RuntimeError`` otherwise).
        """
        torch = _torch()
        if torch is not None:
            self._see_torch(torch)
            states = self._torch_states(hx)
        else:
            states = self._numpy_states(hx)
        return Stream(self, self._native.stream(states))

    def emit(self, dir, target: Optional[str] = None):
        """Writes ``NAME.o`` and ``NAME.h`` (the C API) into ``dir`` for ``target`` (a
        triple such as ``aarch64-unknown-linux-gnu``; None: this machine), the weights
        baked in, as ``rnnc SPEC.toml --weights W`` does. Returns both paths."""
        return self._native.emit(os.fspath(dir), target)

    @property
    def spec(self) -> dict:
        """What was compiled: torch's ``mode`` (``RNN_TANH``, ``RNN_RELU``, ``LSTM`` or
        ``GRU``) and constructor arguments, ``dtype``, and rnnc's ``name`` and ``threads``."""
        return dict(self._spec)

    @property
    def mode(self) -> str:
        """torch's ``mode``: ``RNN_TANH``, ``RNN_RELU``, ``LSTM`` or ``GRU``."""
        return self._spec["mode"]

    @property
    def dtype(self) -> np.dtype:
        """The model's element type (``float32`` or ``float64``)."""
        return self._dtype

    @property
    def batch_first(self) -> bool:
        """Whether batched inputs are ``(N, L, H_in)`` rather than ``(L, N, H_in)``."""
        return self._spec["batch_first"]

    def __repr__(self) -> str:
        n = self._spec
        args = [str(n["input_size"]), str(n["hidden_size"])]
        if n["num_layers"] != 1:
            args.append(f"num_layers={n['num_layers']}")
        if n["mode"] == "RNN_RELU":
            args.append("nonlinearity='relu'")
        if not n["bias"]:
            args.append("bias=False")
        if n["batch_first"]:
            args.append("batch_first=True")
        if n["bidirectional"]:
            args.append("bidirectional=True")
        if n["proj_size"]:
            args.append(f"proj_size={n['proj_size']}")
        return (
            f"rnnc.Compiled({self._module}({', '.join(args)}), dtype={n['dtype']}, "
            f"threads={n['threads']}, name={n['name']!r})"
        )

    # The forward path's helpers: no torch call but zero-copy conversions.

    def _see_torch(self, torch):
        if Compiled._Tensor is None:
            Compiled._Packed = torch.nn.utils.rnn.PackedSequence
            Compiled._from_numpy = torch.from_numpy
            Compiled._Tensor = torch.Tensor
        if self._tdtype is None:
            self._tdtype = torch.float32 if self._dtype == np.float32 else torch.float64

    def _plain(self, t):
        """Whether ``t`` is a CPU tensor of the model's dtype that numpy can see as is."""
        return (
            type(t) is Compiled._Tensor
            and t.dtype is self._tdtype
            and t.is_cpu
            and not t.requires_grad
        )

    def _tensor(self, t, what):
        """A tensor's elements as numpy, without copying; torch's errors for another dtype,
        rnnc's for another device."""
        if self._tdtype is None:
            self._see_torch(_torch())
        if t.dtype is not self._tdtype:
            if what == "input":
                w = self._tdtype
                raise ValueError(
                    f"RNN input dtype ({t.dtype}) does not match weight dtype ({w}). "
                    f"Convert input: input.to({w}), or convert model: model.to({t.dtype})"
                )
            raise RuntimeError(f"{what} must have dtype {self._tdtype}, got {t.dtype}")
        if not t.is_cpu:
            raise RuntimeError(f"rnnc runs on the CPU: {what} is on {t.device}; pass {what}.cpu()")
        if t.requires_grad:
            t = t.detach()
        return t.numpy()

    def _numpy_states(self, hx):
        """The module's ``hx`` as the native tuple: ``(h0,)`` or ``(h0, c0)``."""
        if hx is None:
            return None
        return tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)

    def _torch_states(self, hx):
        """``hx`` with torch tensors (or numpy arrays) as the native tuple of arrays."""
        states = self._numpy_states(hx)
        if states is None:
            return None
        tensor = Compiled._Tensor
        return tuple(
            self._tensor(s, ("h0", "c0")[min(i, 1)]) if isinstance(s, tensor) else s
            for i, s in enumerate(states)
        )

    def _result(self, states, torch=None):
        if torch is not None:
            states = tuple(torch.from_numpy(s) for s in states)
        return states if self._lstm else states[0]

    def _packed(self, torch, packed, hx):
        """A ``PackedSequence`` as torch runs it: padded in its sorted order with lengths,
        the initial states permuted into that order and the final ones back."""
        data = self._tensor(packed.data, "input")
        batch_sizes = packed.batch_sizes.numpy()
        sorted_i = packed.sorted_indices
        unsorted_i = packed.unsorted_indices
        steps, batch = len(batch_sizes), int(batch_sizes[0])
        valid = np.arange(batch)[None, :] < batch_sizes[:, None]  # (L, N), sorted order
        padded = np.zeros((steps, batch, data.shape[-1]), dtype=data.dtype)
        padded[valid] = data
        if self._spec["batch_first"]:
            padded = np.ascontiguousarray(padded.transpose(1, 0, 2))
        states = self._torch_states(hx)
        if states is not None and sorted_i is not None:
            order = sorted_i.numpy()
            states = tuple(np.take(s, order, axis=1) for s in states)
        out, finals = self._native.forward(padded, states, valid.sum(axis=0))
        if self._spec["batch_first"]:
            out = out.transpose(1, 0, 2)
        out = torch.from_numpy(np.ascontiguousarray(out[valid]))
        if unsorted_i is not None:
            order = unsorted_i.numpy()
            finals = tuple(np.take(s, order, axis=1) for s in finals)
        result = torch.nn.utils.rnn.PackedSequence(out, packed.batch_sizes, sorted_i, unsorted_i)
        return result, self._result(finals, torch)


class Stream:
    """One sequence fed in chunks (``y = s(chunk)``); made by ``Compiled.stream``.

    Every chunk has the layout of the model's input with the first chunk's batch; the
    final states after the chunks so far are ``s.state`` (``h_n``, an LSTM's ``(h_n,
    c_n)``).
    """

    __slots__ = ("_compiled", "_native", "_torch_out")

    def __init__(self, compiled: Compiled, native: _rnnc.NativeStream):
        self._compiled = compiled
        self._native = native
        self._torch_out = False

    def __call__(self, chunk):
        """Runs the next chunk and returns its output (torch in, torch out)."""
        if type(chunk) is np.ndarray:
            return self._native.feed(chunk)
        torch = _torch()
        if torch is not None and isinstance(chunk, torch.Tensor):
            self._compiled._see_torch(torch)
            self._torch_out = True
            return Compiled._from_numpy(self._native.feed(self._compiled._tensor(chunk, "input")))
        return self._native.feed(chunk)

    @property
    def state(self):
        """The final states so far (None before the first chunk without initial states)."""
        states = self._native.state()
        if states is None:
            return None
        return self._compiled._result(states, _torch() if self._torch_out else None)

    def __repr__(self) -> str:
        return f"rnnc.Stream({self._compiled!r})"


def compile(module, threads: int = 1) -> Compiled:
    """Compiles a live ``torch.nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` (float32 or float64,
    on the CPU) with its current weights, read without copying. ``threads``: threads a
    large enough call may share."""
    torch = _torch()
    if torch is None or not isinstance(module, torch.nn.RNNBase):
        raise TypeError(
            f"rnnc.compile takes a torch.nn.RNN, LSTM or GRU, got {type(module).__name__}"
        )
    if type(module) not in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU) and module.mode not in _MODULES:
        raise TypeError(f"rnnc.compile: unsupported module mode {module.mode!r}")
    params = dict(module.named_parameters())
    dtypes = {p.dtype for p in params.values()}
    if len(dtypes) != 1 or not dtypes <= {torch.float32, torch.float64}:
        found = ", ".join(sorted(str(d) for d in dtypes))
        raise ValueError(f"rnnc compiles float32 and float64 modules; this one's parameters are {found}")
    devices = {p.device.type for p in params.values()}
    if devices != {"cpu"}:
        raise ValueError(
            f"rnnc reads the parameters on the CPU; this module's are on {', '.join(sorted(devices))}: "
            "compile module.cpu()"
        )
    dtype = dtypes.pop()
    mode = module.mode
    spec = {
        "cell": {"LSTM": "lstm", "GRU": "gru"}.get(mode, "rnn"),
        "input_size": module.input_size,
        "hidden_size": module.hidden_size,
        "num_layers": module.num_layers,
        "bias": module.bias,
        "batch_first": module.batch_first,
        "dropout": float(module.dropout),
        "bidirectional": module.bidirectional,
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "name": type(module).__name__.lower(),
    }
    if mode in ("RNN_TANH", "RNN_RELU"):
        spec["nonlinearity"] = "tanh" if mode == "RNN_TANH" else "relu"
    if getattr(module, "proj_size", 0):
        spec["proj_size"] = module.proj_size
    weights = {name: p.detach().numpy() for name, p in params.items()}
    origin = f"rnnc.compile({type(module).__name__})"
    return Compiled(_rnnc.compile_spec(spec, weights, threads, origin))


def compile_spec(spec, weights, threads: int = 1) -> Compiled:
    """Compiles a spec without PyTorch: ``spec`` a TOML file's path or a dict of the same
    keys (``cell``, ``input_size``, ``hidden_size``, ...), ``weights`` a safetensors file's
    path or a dict of arrays under torch's ``state_dict`` names (numpy arrays, read without
    copying; torch tensors also do)."""
    if isinstance(spec, dict) and "name" not in spec:
        # The name of emitted symbols: the cell's, as for a torch module (not the file
        # stem a spec file would give).
        spec = {**spec, "name": str(spec.get("cell", "rnn"))}
    if isinstance(weights, dict):
        torch = _torch()
        if torch is not None:
            weights = {
                k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v)
                for k, v in weights.items()
            }
    elif isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    return Compiled(_rnnc.compile_spec(spec, weights, threads))


class CaseResult(NamedTuple):
    """One case of ``rnnc.verify``: ``passed`` when every element is within the named
    tolerance; ``worst_error`` the largest ``|got - ref| / (1 + |ref|)``; ``at`` where it
    is (``("output", flat index)``) if any element differs; ``error`` why the case could not
    run, if it could not."""

    name: str
    path: str
    dtype: Optional[str]
    passed: bool
    worst_error: Optional[float]
    at: Optional[tuple]
    error: Optional[str]


def verify(path) -> "list[CaseResult]":
    """Runs the cases computed by PyTorch under ``path`` (a case file or a folder of them;
    the format of ``rnnc verify``) on native code and returns one result per case."""
    return [
        CaseResult(
            name=r["name"],
            path=os.fspath(r["path"]),
            dtype=r["dtype"],
            passed=r["passed"],
            worst_error=r["worst_error"],
            at=r["at"],
            error=r["error"],
        )
        for r in _rnnc.verify(os.fspath(path))
    ]


def tolerance(dtype: Any) -> float:
    """The named tolerance of ``rnnc verify`` (``1e-5`` for float32, ``1e-12`` for
    float64): results match torch's when ``|got - ref| <= tol * (1 + |ref|)``."""
    return _rnnc.tolerance(str(np.dtype(str(dtype).replace("torch.", ""))))
