//! The passes, one file each. Graph passes take and return a [`Graph`](crate::Graph);
//! kernel passes a [`Module`](crate::kernel::Module); `lower` goes from one to the other.

pub mod block;
pub mod expand_tanh;
pub mod fold_bias;
pub mod fuse_epilogue;
pub mod hoist;
pub mod legalize;
pub mod lower;
pub mod pack_weights;
pub mod unroll;
