//! The interpreter of kernel IR (`rnnc-interp`, re-exported whole), and its buffer
//! arguments made from slices of a model's element type.
//!
//! The interpreter knows the kernel IR alone, not the front end's [`Element`]: these
//! constructors live here, where both meet.

#[doc(inline)]
pub use rnnc_interp::*;
use rnnc_spec::Element;

/// A read-only buffer of a model's element type.
pub fn arg<T: Element>(s: &[T]) -> Arg<'_> {
    match (T::as_f32(s), T::as_f64(s)) {
        (Some(s), _) => Arg::F32(s),
        (_, Some(s)) => Arg::F64(s),
        _ => unreachable!("elements are f32 or f64"),
    }
}

/// A writable buffer of a model's element type.
pub fn arg_mut<T: Element>(s: &mut [T]) -> Arg<'_> {
    if T::as_f32(s).is_some() {
        Arg::F32Mut(T::as_f32_mut(s).expect("checked above"))
    } else {
        Arg::F64Mut(T::as_f64_mut(s).expect("elements are f32 or f64"))
    }
}
