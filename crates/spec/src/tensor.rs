//! Dense row-major tensors of f32 or f64: the arrays users pass in and get back.
//!
//! Invariant: a tensor's or view's data holds exactly the product of its shape's dims
//! elements; the constructors check it, so later shape checks can trust `shape()`.

use std::fmt;

use crate::spec::DType;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type rnnc computes with: `f32` or `f64`.
pub trait Element:
    sealed::Sealed + Copy + Default + PartialEq + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Exact widening.
    fn to_f64(self) -> f64;
    /// Rounding to nearest (exact for f64).
    fn from_f64(value: f64) -> Self;
    /// Decodes little-endian bytes (`bytes.len() == DTYPE.size()`).
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn extend_le(self, out: &mut Vec<u8>);
    /// Wraps owned data of this type.
    fn wrap(data: Vec<Self>) -> TensorData;
    /// The data if it is of this type.
    fn unwrap(data: &TensorData) -> Option<&[Self]>;
    /// The data, mutable and growable, if it is of this type.
    fn unwrap_mut(data: &mut TensorData) -> Option<&mut Vec<Self>>;
    /// The slice as `f32`s, if `Self` is `f32`.
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// The slice as `f64`s, if `Self` is `f64`.
    fn as_f64(s: &[Self]) -> Option<&[f64]>;
    /// The slice as mutable `f32`s, if `Self` is `f32`.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
    /// The slice as mutable `f64`s, if `Self` is `f64`.
    fn as_f64_mut(s: &mut [Self]) -> Option<&mut [f64]>;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn from_le_slice(bytes: &[u8]) -> Self {
        f32::from_le_bytes(bytes.try_into().expect("4 bytes per f32"))
    }
    fn extend_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn wrap(data: Vec<Self>) -> TensorData {
        TensorData::F32(data)
    }
    fn unwrap(data: &TensorData) -> Option<&[Self]> {
        match data {
            TensorData::F32(v) => Some(v),
            TensorData::F64(_) => None,
        }
    }
    fn unwrap_mut(data: &mut TensorData) -> Option<&mut Vec<Self>> {
        match data {
            TensorData::F32(v) => Some(v),
            TensorData::F64(_) => None,
        }
    }
    fn as_f32(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f64(_: &[Self]) -> Option<&[f64]> {
        None
    }
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]> {
        Some(s)
    }
    fn as_f64_mut(_: &mut [Self]) -> Option<&mut [f64]> {
        None
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(value: f64) -> Self {
        value
    }
    fn from_le_slice(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes.try_into().expect("8 bytes per f64"))
    }
    fn extend_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn wrap(data: Vec<Self>) -> TensorData {
        TensorData::F64(data)
    }
    fn unwrap(data: &TensorData) -> Option<&[Self]> {
        match data {
            TensorData::F64(v) => Some(v),
            TensorData::F32(_) => None,
        }
    }
    fn unwrap_mut(data: &mut TensorData) -> Option<&mut Vec<Self>> {
        match data {
            TensorData::F64(v) => Some(v),
            TensorData::F32(_) => None,
        }
    }
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f64(s: &[Self]) -> Option<&[f64]> {
        Some(s)
    }
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    fn as_f64_mut(s: &mut [Self]) -> Option<&mut [f64]> {
        Some(s)
    }
}

/// Owned elements of either dtype.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
}

impl TensorData {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::F64(v) => v.len(),
        }
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes little-endian elements of `dtype`; a trailing partial element is dropped,
    /// so callers check `bytes.len()` first (safetensors does).
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> TensorData {
        fn decode<T: Element>(bytes: &[u8]) -> TensorData {
            T::wrap(
                bytes
                    .chunks_exact(T::DTYPE.size())
                    .map(T::from_le_slice)
                    .collect(),
            )
        }
        match dtype {
            DType::F32 => decode::<f32>(bytes),
            DType::F64 => decode::<f64>(bytes),
        }
    }
}

/// Data whose length does not match its shape. The caller's fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a tensor of shape {shape:?} holds {expected} elements, but its data has {found}")]
pub struct TensorError {
    /// The shape given.
    pub shape: Vec<usize>,
    /// Elements the shape implies (saturating at `usize::MAX`).
    pub expected: usize,
    /// Elements the data has.
    pub found: usize,
}

fn check_len(shape: &[usize], len: usize) -> Result<(), TensorError> {
    let expected = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if expected == len {
        Ok(())
    } else {
        Err(TensorError {
            shape: shape.to_vec(),
            expected,
            found: len,
        })
    }
}

/// Memory that could not be allocated: the environment's limit, reached by a request the
/// caller made (a huge output, a workspace for a huge call).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot allocate {} for {what} ({elements} elements of {dtype})", bytes_text(*.elements, .dtype.size()))]
pub struct AllocError {
    /// What the memory was for (`output`, `workspace`, ...).
    pub what: &'static str,
    /// Elements asked for.
    pub elements: u128,
    /// Their type.
    pub dtype: DType,
}

impl AllocError {
    /// Bytes asked for.
    pub fn bytes(&self) -> u128 {
        self.elements * self.dtype.size() as u128
    }
}

/// `137438953472 bytes (128.0 GiB)`: exact, and readable at a glance.
fn bytes_text(elements: u128, size: usize) -> String {
    let bytes = elements.saturating_mul(size as u128);
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 0.1 {
        format!("{bytes} bytes ({gib:.1} GiB)")
    } else {
        format!("{bytes} bytes")
    }
}

/// A vector of `len` default elements, or an error instead of aborting the process when
/// the memory cannot be had.
pub fn try_zeroed<T: Element>(what: &'static str, len: usize) -> Result<Vec<T>, AllocError> {
    let mut v = Vec::new();
    try_resize(&mut v, what, len)?;
    Ok(v)
}

/// Grows `v` to `len` default elements (never shrinks it), fallibly: see [`try_zeroed`].
pub fn try_resize<T: Element>(
    v: &mut Vec<T>,
    what: &'static str,
    len: usize,
) -> Result<(), AllocError> {
    if v.len() < len {
        let fail = || AllocError {
            what,
            elements: len as u128,
            dtype: T::DTYPE,
        };
        // Byte counts past isize::MAX are refused by `try_reserve` as well; the check
        // keeps `len * size` from being computed in a type that could wrap.
        len.checked_mul(T::DTYPE.size())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or_else(fail)?;
        v.try_reserve_exact(len - v.len()).map_err(|_| fail())?;
        v.resize(len, T::default());
    }
    Ok(())
}

/// Bytes to which rnnc aligns the buffers it allocates for its kernels (packed weights and
/// workspaces): a cache line. `malloc` returns large blocks 16 bytes past a page boundary,
/// so that half of the 256-bit loads of a weight panel crossed two cache lines; aligned,
/// the batch-1 recurrences that stream their weights from L2 ran 1.03-1.17x faster on AMD
/// Zen 5 (docs/perf-log/2026-12-04-zen5-aligned.md).
pub const KERNEL_ALIGN: usize = 64;

/// Where the `len` elements that [`try_aligned`] placed in `v` begin: the first element
/// aligned to [`KERNEL_ALIGN`] bytes, or 0 when there is none among the spare elements
/// (only speed depends on the alignment, never a result).
pub fn aligned_start<T>(v: &[T], len: usize) -> usize {
    let start = v.as_ptr().align_offset(KERNEL_ALIGN);
    if start.saturating_add(len) <= v.len() {
        start
    } else {
        0
    }
}

/// `len` default-initialized elements of `v` beginning at a [`KERNEL_ALIGN`]-byte
/// boundary, growing `v` (never shrinking it, fallibly as [`try_resize`]) by the elements
/// an alignment may skip; the elements before and after the slice are left as they are.
pub fn try_aligned<'a, T: Element>(
    v: &'a mut Vec<T>,
    what: &'static str,
    len: usize,
) -> Result<&'a mut [T], AllocError> {
    let spare = KERNEL_ALIGN / T::DTYPE.size();
    let total = len.checked_add(spare).ok_or(AllocError {
        what,
        elements: len as u128 + spare as u128,
        dtype: T::DTYPE,
    })?;
    try_resize(v, what, total)?;
    let start = aligned_start(v, len);
    Ok(&mut v[start..start + len])
}

/// An owned row-major tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Element> Tensor<T> {
    /// A tensor of `shape` holding `data` in row-major order.
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, TensorError> {
        check_len(&shape, data.len())?;
        Ok(Tensor { shape, data })
    }
    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Self {
        let shape = shape.into();
        let len = shape.iter().product();
        Tensor {
            shape,
            data: vec![T::default(); len],
        }
    }
    /// A tensor of zeros, or an error if its memory cannot be allocated (instead of the
    /// abort of [`zeros`](Self::zeros)); `what` names it in the error.
    pub fn try_zeros(shape: impl Into<Vec<usize>>, what: &'static str) -> Result<Self, AllocError> {
        let shape = shape.into();
        let len = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let Some(len) = len else {
            return Err(AllocError {
                what,
                elements: shape.iter().map(|&d| d as u128).product(),
                dtype: T::DTYPE,
            });
        };
        Ok(Tensor {
            data: try_zeroed(what, len)?,
            shape,
        })
    }
    /// The dims.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }
    /// The elements, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    /// Takes the elements.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }
    /// A borrowed view.
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView {
            shape: &self.shape,
            data: &self.data,
        }
    }
    /// A mutable borrowed view.
    pub fn view_mut(&mut self) -> TensorViewMut<'_, T> {
        TensorViewMut {
            shape: &self.shape,
            data: &mut self.data,
        }
    }
}

/// A borrowed row-major tensor: a slice with an explicit shape. Allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorView<'a, T> {
    shape: &'a [usize],
    data: &'a [T],
}

impl<'a, T: Element> TensorView<'a, T> {
    /// A view of `data` as `shape`, e.g. `TensorView::new(&[5, 3, 10], &x)`.
    pub fn new(shape: &'a [usize], data: &'a [T]) -> Result<Self, TensorError> {
        check_len(shape, data.len())?;
        Ok(TensorView { shape, data })
    }
    /// The dims.
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }
    /// The elements, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }
}

/// A mutable borrowed row-major tensor, for outputs the caller provides.
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    shape: &'a [usize],
    data: &'a mut [T],
}

impl<'a, T: Element> TensorViewMut<'a, T> {
    /// A mutable view of `data` as `shape`.
    pub fn new(shape: &'a [usize], data: &'a mut [T]) -> Result<Self, TensorError> {
        check_len(shape, data.len())?;
        Ok(TensorViewMut { shape, data })
    }
    /// The dims.
    pub fn shape(&self) -> &[usize] {
        self.shape
    }
    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        self.data
    }
    /// The elements, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }
    /// The elements, row-major, mutable, for as long as the view's borrow.
    pub fn into_data_mut(self) -> &'a mut [T] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slices from `try_aligned` begin at a 64-byte boundary whatever the buffer held
    /// before, keep what a buffer already held, and fail as `try_resize` does.
    #[test]
    fn aligned_slices_begin_at_a_cache_line() {
        fn check<T: Element + PartialEq + std::fmt::Debug>(mut v: Vec<T>, len: usize) {
            let before = v.clone();
            let slice = try_aligned(&mut v, "a test buffer", len).unwrap();
            assert_eq!(slice.len(), len);
            assert_eq!(slice.as_ptr() as usize % KERNEL_ALIGN, 0, "{len} elements");
            let start = aligned_start(&v, len);
            assert_eq!(v[start..].as_ptr() as usize % KERNEL_ALIGN, 0);
            assert_eq!(
                &v[..before.len()],
                &before[..],
                "what the buffer held is kept"
            );
        }
        for len in [0, 1, 3, 17, 1000, 1 << 18] {
            check::<f32>(Vec::new(), len);
            check::<f64>(Vec::new(), len);
            check::<f32>(vec![1.0; 5], len);
            check::<f64>(vec![2.0; 1 << 12], len);
        }
        let err = try_aligned::<f32>(&mut Vec::new(), "huge", usize::MAX - 3).unwrap_err();
        assert_eq!(err.what, "huge");
    }

    #[test]
    fn allocation_failures_are_errors_that_say_how_much() {
        let err = Tensor::<f32>::try_zeros(vec![1 << 40, 1 << 10], "output").unwrap_err();
        assert_eq!(err.bytes(), 1 << 52);
        assert_eq!(
            err.to_string(),
            "cannot allocate 4503599627370496 bytes (4194304.0 GiB) for output \
             (1125899906842624 elements of f32)"
        );
        // A product that overflows usize is refused the same way.
        let err = Tensor::<f64>::try_zeros(vec![usize::MAX, 3], "h_n").unwrap_err();
        assert_eq!(err.elements, usize::MAX as u128 * 3);
        assert_eq!(
            Tensor::<f64>::try_zeros(vec![2, 3], "x").unwrap().data(),
            [0.0; 6]
        );
    }

    #[test]
    fn constructors_check_the_element_count() {
        assert!(Tensor::new(vec![2, 3], vec![0f32; 6]).is_ok());
        let err = Tensor::new(vec![2, 3], vec![0f32; 5]).unwrap_err();
        assert_eq!((err.expected, err.found), (6, 5));
        assert!(TensorView::new(&[usize::MAX, 2], &[0f64; 4]).is_err());
        assert!(TensorView::<f64>::new(&[0, 7], &[]).is_ok());
    }
}
