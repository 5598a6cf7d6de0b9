//! Recurrent cells: what one step of one layer and direction computes, and every fact the
//! later stages derive from the kind of cell.
//!
//! A cell has `G` gates: its input and recurrent weights stack `G` blocks of `H` rows each
//! (torch's gate order), and its biases likewise. It carries one or more states from step
//! to step (`h`, and `c` for an LSTM), each of its own width. Everything that depends on
//! which cell a model has (gate counts, states, parameter shapes, the parameter count, the
//! FLOPs) is answered here, so that a new cell is a new variant of [`Cell`] and of the
//! functions that match on it, not an edit of every stage.

use std::fmt;

use crate::spec::Nonlinearity;

/// The most states a cell carries (`h` and an LSTM's `c`).
pub const MAX_STATES: usize = 2;

/// A recurrent cell, named by torch's `RNNBase.mode` (`RNN_TANH`, `RNN_RELU`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// Elman's cell (`torch.nn.RNN`): one gate, one state,
    /// `h' = act(W_ih x + b_ih + W_hh h + b_hh)`.
    Rnn(Nonlinearity),
}

/// A state a cell carries between steps. torch names the initial value `NAME0` (`h0`) and
/// the final one `NAME_n` (`h_n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// The hidden state, which is also the layer's output at each step.
    H,
}

impl StateKind {
    /// Every kind, in the order states are stored and passed (`h` first).
    pub const ALL: [StateKind; 1] = [StateKind::H];

    /// torch's name: `h`.
    pub fn name(self) -> &'static str {
        match self {
            StateKind::H => "h",
        }
    }

    /// The initial state's name: `h0`.
    pub fn initial(self) -> &'static str {
        match self {
            StateKind::H => "h0",
        }
    }

    /// The final state's name: `h_n`.
    pub fn last(self) -> &'static str {
        match self {
            StateKind::H => "h_n",
        }
    }
}

impl Cell {
    /// torch's `RNNBase.mode`: `RNN_TANH`, `RNN_RELU`.
    pub fn mode(self) -> &'static str {
        match self {
            Cell::Rnn(Nonlinearity::Tanh) => "RNN_TANH",
            Cell::Rnn(Nonlinearity::Relu) => "RNN_RELU",
        }
    }

    /// The cell named by a mode, if any (the inverse of [`mode`](Self::mode)).
    pub fn from_mode(mode: &str) -> Option<Cell> {
        [Cell::Rnn(Nonlinearity::Tanh), Cell::Rnn(Nonlinearity::Relu)]
            .into_iter()
            .find(|c| c.mode() == mode)
    }

    /// The torch module computing it: `RNN`.
    pub fn module(self) -> &'static str {
        match self {
            Cell::Rnn(_) => "RNN",
        }
    }

    /// `G`: gate blocks of `H` rows stacked in each weight and bias.
    pub fn gates(self) -> usize {
        self.gate_names().len()
    }

    /// The gates in torch's stacking order (one letter each where torch names them).
    pub fn gate_names(self) -> &'static [&'static str] {
        match self {
            Cell::Rnn(_) => &["h"],
        }
    }

    /// The states it carries, the output state `h` first.
    pub fn states(self) -> &'static [StateKind] {
        match self {
            Cell::Rnn(_) => &[StateKind::H],
        }
    }

    /// The Elman activation, for an Elman cell.
    pub fn nonlinearity(self) -> Option<Nonlinearity> {
        match self {
            Cell::Rnn(act) => Some(act),
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for cell in [Cell::Rnn(Nonlinearity::Tanh), Cell::Rnn(Nonlinearity::Relu)] {
            assert_eq!(Cell::from_mode(cell.mode()), Some(cell));
            assert_eq!(cell.gates(), cell.gate_names().len());
            assert_eq!(cell.states()[0], StateKind::H);
        }
        assert_eq!(Cell::from_mode("LSTM2"), None);
        assert_eq!(StateKind::H.initial(), "h0");
        assert_eq!(StateKind::H.last(), "h_n");
    }
}
