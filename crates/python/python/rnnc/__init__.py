"""rnnc: PyTorch's recurrent modules compiled to native CPU code.

``rnnc.compile(module)`` takes a live ``torch.nn.RNN``, ``LSTM``, ``GRU``, ``RNNCell``,
``LSTMCell`` or ``GRUCell`` and returns a ``torch.nn.Module`` that stands in for it: called
with the module's signature and results, it runs rnnc's kernels with no PyTorch on the
call path; it can replace the module inside a model, and it is saved, loaded, copied,
converted and inspected as the module::

    import torch, rnnc
    model.lstm = rnnc.compile(model.lstm)               # e.g. nn.LSTM(40, 128, 2)
    out, (h_n, c_n) = model.lstm(torch.randn(50, 1, 40))

Without PyTorch, ``rnnc.compile_spec(spec, weights)`` takes a spec (a TOML path or a dict of
the same keys) and weights (a safetensors path or a dict of numpy arrays); numpy arrays in
give numpy arrays out. ``rnnc.verify(path)`` checks rnnc against case files computed by
PyTorch.

Calls release the GIL while native code runs: threads calling one compiled model run in
parallel.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, NamedTuple, Optional

from . import _rnnc
from ._compiled import Compiled, Stream
from ._runner import torch_module

__version__ = _rnnc.__version__

__all__ = [
    "CaseResult",
    "Compiled",
    "CompiledModule",
    "Stream",
    "compile",
    "compile_spec",
    "tolerance",
    "verify",
]


def __getattr__(name):
    # `CompiledModule` is a torch.nn.Module: importing it imports torch, which the rest of
    # the package never does.
    if name == "CompiledModule":
        from ._module import CompiledModule

        return CompiledModule
    raise AttributeError(f"module 'rnnc' has no attribute {name!r}")


def _threads(threads) -> int:
    """`threads` checked, and capped (with a warning) at the cores this process may use:
    more threads than cores make every call wait for descheduled ones."""
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int, got {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    if threads > cores:
        warnings.warn(
            f"rnnc: threads={threads} is more than the {cores} cores this process may use; "
            f"using {cores} (more would make every call wait for threads that are not running)",
            stacklevel=3,
        )
        threads = cores
    return threads


def compile(module, threads: int = 1):
    """Compiles a live ``torch.nn.RNN``, ``LSTM``, ``GRU``, ``RNNCell``, ``LSTMCell`` or
    ``GRUCell`` (float32 or float64, on the CPU) and returns an ``rnnc.CompiledModule``
    that stands in for it (see its documentation). Its weights are the module's, read
    without copying and followed when they change. ``threads``: threads a large enough
    call may share (at most the cores this process may use)."""
    torch = torch_module()
    if torch is None:
        raise TypeError(
            f"rnnc.compile takes a torch module, got {type(module).__name__} (without "
            "torch, use rnnc.compile_spec)"
        )
    from . import _torch
    from ._module import CompiledModule

    _torch.refuse_unless_compilable(torch, module)
    return CompiledModule.wrap(module, _threads(threads))


def compile_spec(spec, weights, threads: int = 1) -> Compiled:
    """Compiles a spec without PyTorch: ``spec`` a TOML file's path or a dict of the same
    keys (``cell`` or torch's ``mode``, ``input_size``, ``hidden_size``, ...; without a
    ``name``, the model is named by its cell), ``weights`` a safetensors file's
    path or a dict of arrays under torch's ``state_dict`` names (numpy arrays, read without
    copying; torch tensors also do). The arrays are packed now: later writes to them are
    not seen by calls (``emit`` refuses them)."""
    if isinstance(weights, dict):
        torch = torch_module()
        if torch is not None:
            weights = {
                k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v)
                for k, v in weights.items()
            }
    elif isinstance(weights, os.PathLike):
        weights = os.fspath(weights)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    return Compiled(_rnnc.compile_spec(spec, weights, _threads(threads)))


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
    import numpy as np

    return _rnnc.tolerance(str(np.dtype(str(dtype).replace("torch.", ""))))
