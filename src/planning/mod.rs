//! Rollout planning: for each target country of a rollout, the provider to
//! contract and its fallback, with as few providers as possible, and what
//! the best option lacks where nobody meets the requirement.
//!
//! A [`rollout`] (read by [`rollout_read`]) and the scored providers
//! ([`candidates`]) make a question for the exact search ([`solver`], after
//! [`reduce`]); the answer becomes a [`plan`], which the sinks write as a
//! workbook and JSON.

pub mod candidates;
pub mod changes;
pub mod plan;
pub mod reduce;
pub mod rollout;
pub mod rollout_read;
pub mod solver;

pub use candidates::Portfolio;
pub use plan::{make_plan, Plan};
pub use rollout::{Rollout, RolloutError};
pub use rollout_read::read_rollout;
