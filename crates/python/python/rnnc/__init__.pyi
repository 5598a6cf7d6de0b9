"""Type stubs of rnnc's Python package (see __init__.py for the documentation)."""

import os
from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Array = npt.NDArray[Any]
# torch.Tensor when torch is installed; rnnc does not import torch itself.
_Tensor = Any
_Input = Union[_Array, _Tensor]
# h0 for RNN and GRU; (h0, c0) for LSTM.
_State = Union[_Input, Tuple[_Input, _Input]]

class Compiled:
    """A model compiled by rnnc from a spec and weights (``compile_spec``), weights packed."""

    def __call__(
        self,
        input: Any,
        hx: Optional[_State] = None,
        *,
        lengths: Optional[Sequence[int]] = None,
    ) -> Tuple[Any, Any]:
        """``out, h_n = m(x, h0)`` (RNN, GRU) or ``out, (h_n, c_n) = m(x, (h0, c0))``
        (LSTM), a cell's ``h' = m(x, h)`` (``(h', c')`` for an LSTMCell); ``x`` a torch
        tensor, a PackedSequence or a numpy array."""
    def stream(self, hx: Optional[_State] = None) -> Stream: ...
    def emit(self, dir: _Path, target: Optional[str] = None) -> Tuple[os.PathLike[str], os.PathLike[str]]: ...
    @property
    def spec(self) -> "dict[str, Any]": ...
    @property
    def mode(self) -> str: ...
    @property
    def dtype(self) -> np.dtype[Any]: ...
    @property
    def batch_first(self) -> bool: ...

class Stream:
    """One sequence fed in chunks: ``y = s(chunk)``."""

    def __call__(self, chunk: _Input) -> Any: ...
    @property
    def state(self) -> Optional[_State]: ...

class CaseResult(NamedTuple):
    name: str
    path: str
    dtype: Optional[str]
    passed: bool
    worst_error: Optional[float]
    at: Optional[Tuple[str, int]]
    error: Optional[str]

class CompiledModule:
    """What ``rnnc.compile(module)`` returns: a ``torch.nn.Module`` standing in for the
    module (saved, loaded, copied, converted, printed and inspected as it), whose forward is
    rnnc's. Its class is a subclass of ``torch.nn.Module`` at run time."""

    def __call__(self, input: Any, hx: Optional[_State] = None) -> Any: ...
    def forward(self, input: Any, hx: Optional[_State] = None) -> Any: ...
    def stream(self, hx: Optional[_State] = None) -> Stream: ...
    def emit(self, dir: _Path, target: Optional[str] = None) -> Tuple[os.PathLike[str], os.PathLike[str]]: ...
    @property
    def spec(self) -> "dict[str, Any]": ...

def compile(module: Any, threads: int = 1) -> CompiledModule: ...
def compile_spec(
    spec: Union[_Path, "dict[str, Union[bool, int, float, str]]"],
    weights: Union[_Path, "dict[str, _Input]"],
    threads: int = 1,
) -> Compiled: ...
def verify(path: _Path) -> "list[CaseResult]": ...
def tolerance(dtype: Any) -> float: ...
