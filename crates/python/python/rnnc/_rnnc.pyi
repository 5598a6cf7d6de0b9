"""Type stubs of the native module (crates/python/src/lib.rs); use the rnnc package."""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy.typing as npt

__version__: str

_Array = npt.NDArray[Any]

class Native:
    def forward(
        self,
        input: _Array,
        hx: Optional[Tuple[_Array, ...]] = None,
        lengths: Optional[Sequence[int]] = None,
    ) -> Tuple[_Array, Tuple[_Array, ...]]: ...
    def stream(self, hx: Optional[Tuple[_Array, ...]] = None) -> NativeStream: ...
    def emit(self, dir: str, target: Optional[str] = None) -> Tuple[os.PathLike[str], os.PathLike[str]]: ...
    def _time_forward(self, input: _Array, repeats: int) -> float: ...
    spec: Dict[str, Any]

class NativeStream:
    def feed(self, chunk: _Array) -> _Array: ...
    def state(self) -> Optional[Tuple[_Array, ...]]: ...

def compile_spec(spec: Any, weights: Any, threads: int = 1, origin: Optional[str] = None) -> Native: ...
def verify(path: str) -> List[dict]: ...
def tolerance(dtype: str) -> float: ...
