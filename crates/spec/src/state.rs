//! A cell's states for every layer and direction, as one value: what a forward call takes
//! as its initial state and returns as its final one (torch's `h_n`, or an LSTM's
//! `(h_n, c_n)`).
//!
//! Each tensor is `(D * num_layers, N, width)` (unbatched: `(D * num_layers, width)`),
//! index `layer * D + direction`, as torch lays them out. A cell with one state (RNN, GRU)
//! uses `h` alone; `c` is an LSTM's cell state.

use crate::call::CallShape;
use crate::cell::{MAX_STATES, StateKind};
use crate::tensor::{AllocError, Element, Tensor, TensorView, TensorViewMut};

/// Owned states: torch's `h_n` (and `c_n`).
#[derive(Clone, Debug, PartialEq)]
pub struct State<T> {
    /// The hidden state `h`.
    pub h: Tensor<T>,
    /// The cell state `c` of an LSTM; `None` for other cells.
    pub c: Option<Tensor<T>>,
}

/// Borrowed states, e.g. an initial state: `StateView::from(h0)` for a cell with only `h`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StateView<'a, T> {
    /// The hidden state `h`.
    pub h: TensorView<'a, T>,
    /// The cell state `c` of an LSTM.
    pub c: Option<TensorView<'a, T>>,
}

/// Mutable borrowed states, for final states written into the caller's memory.
#[derive(Debug)]
pub struct StateViewMut<'a, T> {
    /// The hidden state `h`.
    pub h: TensorViewMut<'a, T>,
    /// The cell state `c` of an LSTM.
    pub c: Option<TensorViewMut<'a, T>>,
}

/// The shapes of some states, in [`StateKind`] order, without allocating.
#[derive(Clone, Copy, Debug)]
pub struct Shapes<'a> {
    shapes: [&'a [usize]; MAX_STATES],
    len: usize,
}

impl<'a> std::ops::Deref for Shapes<'a> {
    type Target = [&'a [usize]];
    fn deref(&self) -> &[&'a [usize]] {
        &self.shapes[..self.len]
    }
}

impl<'a> Shapes<'a> {
    fn of(parts: impl IntoIterator<Item = &'a [usize]>) -> Shapes<'a> {
        let mut shapes = Shapes {
            shapes: [&[]; MAX_STATES],
            len: 0,
        };
        for p in parts {
            shapes.shapes[shapes.len] = p;
            shapes.len += 1;
        }
        shapes
    }
}

impl<T: Element> State<T> {
    /// Zeros in the shapes of a call's states (an error if memory runs out).
    pub fn try_zeros(call: &CallShape) -> Result<State<T>, AllocError> {
        let mut state = State {
            h: Tensor::try_zeros(call.state_shape(StateKind::H), StateKind::H.last())?,
            c: None,
        };
        for &kind in call.states {
            if let Some(slot) = state.slot(kind) {
                *slot = Some(Tensor::try_zeros(call.state_shape(kind), kind.last())?);
            }
        }
        Ok(state)
    }

    /// The optional tensor of a state other than `h`.
    fn slot(&mut self, kind: StateKind) -> Option<&mut Option<Tensor<T>>> {
        match kind {
            StateKind::H => None,
            StateKind::C => Some(&mut self.c),
        }
    }

    /// A state's tensor, if present.
    pub fn get(&self, kind: StateKind) -> Option<&Tensor<T>> {
        match kind {
            StateKind::H => Some(&self.h),
            StateKind::C => self.c.as_ref(),
        }
    }

    /// A state's tensor, mutable, if present.
    pub fn get_mut(&mut self, kind: StateKind) -> Option<&mut Tensor<T>> {
        match kind {
            StateKind::H => Some(&mut self.h),
            StateKind::C => self.c.as_mut(),
        }
    }

    /// Borrows every tensor.
    pub fn view(&self) -> StateView<'_, T> {
        StateView {
            h: self.h.view(),
            c: self.c.as_ref().map(Tensor::view),
        }
    }

    /// Borrows every tensor mutably.
    pub fn view_mut(&mut self) -> StateViewMut<'_, T> {
        StateViewMut {
            h: self.h.view_mut(),
            c: self.c.as_mut().map(Tensor::view_mut),
        }
    }
}

impl<'a, T: Element> From<TensorView<'a, T>> for StateView<'a, T> {
    /// The state of a cell with `h` alone (RNN, GRU): torch's `h0`.
    fn from(h: TensorView<'a, T>) -> StateView<'a, T> {
        StateView { h, c: None }
    }
}

impl<'a, T: Element> StateView<'a, T> {
    /// The shapes of the tensors present, `h` first, for [`CallShape::check`].
    pub fn shapes(&self) -> Shapes<'a> {
        Shapes::of(std::iter::once(self.h.shape()).chain(self.c.map(|c| c.shape())))
    }

    /// A state's tensor, if present.
    pub fn get(&self, kind: StateKind) -> Option<TensorView<'a, T>> {
        match kind {
            StateKind::H => Some(self.h),
            StateKind::C => self.c,
        }
    }

    /// The elements of each state present, in [`StateKind`] order (`h`, then `c`).
    pub fn slices(&self) -> [Option<&'a [T]>; MAX_STATES] {
        [Some(self.h.data()), self.c.map(|c| c.data())]
    }
}

impl<'a, T: Element> From<TensorViewMut<'a, T>> for StateViewMut<'a, T> {
    /// The state of a cell with `h` alone: torch's `h_n`.
    fn from(h: TensorViewMut<'a, T>) -> StateViewMut<'a, T> {
        StateViewMut { h, c: None }
    }
}

impl<'a, T: Element> StateViewMut<'a, T> {
    /// The shapes of the tensors present, `h` first.
    pub fn shapes(&self) -> Shapes<'_> {
        Shapes::of(std::iter::once(self.h.shape()).chain(self.c.as_ref().map(|c| c.shape())))
    }

    /// A state's elements, mutable, if present.
    pub fn get_mut(&mut self, kind: StateKind) -> Option<&mut [T]> {
        match kind {
            StateKind::H => Some(self.h.data_mut()),
            StateKind::C => self.c.as_mut().map(|c| c.data_mut()),
        }
    }

    /// The elements of each state present, in [`StateKind`] order (`h`, then `c`).
    pub fn into_slices(self) -> [Option<&'a mut [T]>; MAX_STATES] {
        [
            Some(self.h.into_data_mut()),
            self.c.map(TensorViewMut::into_data_mut),
        ]
    }
}
