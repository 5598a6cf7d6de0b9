"""`Compiled`: a model compiled from a spec and weights (`rnnc.compile_spec`), called with
numpy arrays or torch tensors; and `Stream`, one sequence fed in chunks."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from . import _rnnc
from ._runner import Runner, torch_module


class Compiled:
    """A model compiled by rnnc from a spec and weights, weights packed.

    Call it as the torch module of its spec: ``out, h_n = m(x, h0)`` (RNN, GRU), ``out,
    (h_n, c_n) = m(x, (h0, c0))`` (LSTM), a cell's ``h' = m(x, h)`` (``(h', c')`` for an
    LSTMCell), with ``x`` batched, unbatched or batch-first as the module takes it, or a
    ``PackedSequence``. numpy arrays in give numpy arrays out; torch tensors in give torch
    tensors out. Inference semantics (dropout off).
    """

    __slots__ = ("_runner", "_call")

    def __init__(self, native: _rnnc.Native):
        self._runner = Runner(native)
        self._call = native.call

    def __call__(self, input, hx=None, *, lengths=None):
        """Runs the model as torch's module would: see the class's documentation.

        ``lengths`` (numpy callers' packed sequences): each sequence's valid steps in a
        padded batched ``input``; outputs past a sequence's end are zeros and its final
        states are those of its last valid step.
        """
        if lengths is None:
            # numpy arrays and plain tensors, the common case, are all native.
            result = self._call(input, hx)
            if result is not None:
                return result
        return self._runner.call(input, hx, lengths)

    def stream(self, hx=None) -> "Stream":
        """Starts feeding one sequence in chunks: ``s = m.stream(); y = s(chunk)``.

        ``hx`` is the initial state as the module takes it (``h0``, an LSTM's ``(h0,
        c0)``), or None for zeros. Outputs are bit-identical to one call on the whole
        sequence. Only unidirectional models stream (``RuntimeError`` otherwise).
        """
        return Stream(self._runner, self._runner.stream(hx), repr(self))

    def emit(self, dir, target: Optional[str] = None):
        """Writes ``NAME.o`` and ``NAME.h`` (the C API) into ``dir`` for ``target`` (a
        triple such as ``aarch64-unknown-linux-gnu``; None: this machine), the weights
        baked in, as ``rnnc SPEC.toml --weights W`` does. Returns both paths."""
        return self._runner.native.emit(os.fspath(dir), target)

    @property
    def spec(self) -> dict:
        """What was compiled: torch's ``module`` (``LSTM``, ``GRUCell``...) and ``mode``
        (``RNN_TANH``, ``RNN_RELU``, ``LSTM`` or ``GRU``), the constructor's arguments,
        ``states``, ``dtype``, and rnnc's ``name`` and ``threads``."""
        return dict(self._runner.spec)

    @property
    def mode(self) -> str:
        """torch's ``mode``: ``RNN_TANH``, ``RNN_RELU``, ``LSTM`` or ``GRU``."""
        return self._runner.spec["mode"]

    @property
    def dtype(self) -> np.dtype:
        """The model's element type (``float32`` or ``float64``)."""
        return self._runner.dtype

    @property
    def batch_first(self) -> bool:
        """Whether batched inputs are ``(N, L, H_in)`` rather than ``(L, N, H_in)``."""
        return self._runner.batch_first

    def __repr__(self) -> str:
        n = self._runner.spec
        return (
            f"rnnc.Compiled({torch_repr(n)}, dtype={n['dtype']}, threads={n['threads']}, "
            f"name={n['name']!r})"
        )


def torch_repr(spec: dict) -> str:
    """The torch module's repr, from a compiled spec: ``LSTM(40, 128, num_layers=2)``."""
    args = [str(spec["input_size"]), str(spec["hidden_size"])]
    if spec.get("num_layers", 1) != 1:
        args.append(f"num_layers={spec['num_layers']}")
    if spec.get("nonlinearity", "tanh") != "tanh":
        args.append(f"nonlinearity={spec['nonlinearity']!r}")
    if not spec["bias"]:
        args.append("bias=False")
    if spec.get("batch_first"):
        args.append("batch_first=True")
    if spec.get("dropout"):
        args.append(f"dropout={spec['dropout']}")
    if spec.get("bidirectional"):
        args.append("bidirectional=True")
    if spec.get("proj_size"):
        args.append(f"proj_size={spec['proj_size']}")
    return f"{spec['module']}({', '.join(args)})"


class Stream:
    """One sequence fed in chunks (``y = s(chunk)``); made by ``stream()``.

    Every chunk has the layout of the model's input with the first chunk's batch; the
    final states after the chunks so far are ``s.state`` (``h_n``, an LSTM's ``(h_n,
    c_n)``).
    """

    __slots__ = ("_runner", "_native", "_torch_out", "_of", "_refresh")

    def __init__(self, runner: Runner, native: _rnnc.NativeStream, of: str, refresh=None):
        self._runner = runner
        self._native = native
        self._torch_out = False  # whether chunks were torch tensors: states are then too
        self._of = of
        # A torch module's: repacks its weights after they changed (see `rnnc.nn`).
        self._refresh = refresh

    def __call__(self, chunk):
        """Runs the next chunk and returns its output (torch in, torch out)."""
        try:
            return self._feed(chunk)
        except _rnnc.WeightsChanged:
            if self._refresh is None or self._refresh() is not self._runner:
                raise RuntimeError(
                    "the module this stream runs was compiled again (its dtype changed): "
                    "start a new stream"
                ) from None
            return self._feed(chunk)

    def _feed(self, chunk):
        out = self._native.feed(chunk)
        if out is None:
            # A torch tensor numpy cannot see as it is: made plain, or torch's error.
            runner = self._runner
            torch = torch_module()
            runner.see_torch(torch)
            out = torch.from_numpy(self._native.feed(runner.tensor(torch, chunk, "input")))
        self._torch_out = type(out) is not np.ndarray
        return out

    @property
    def state(self):
        """The final states so far (None before the first chunk without initial states)."""
        states = self._native.state()
        if states is None:
            return None
        torch = torch_module() if self._torch_out else None
        if torch is not None:
            states = tuple(torch.from_numpy(s) for s in states)
        return states if len(states) > 1 else states[0]

    def __repr__(self) -> str:
        return f"rnnc.Stream({self._of})"
