//! Shrinks the search before it starts: a provider that two others
//! dominate is never needed, so it is left out.
//!
//! `q` dominates `p` when `q` may take every role `p` may take, in every
//! country, with at least `p`'s score, and is preferred if `p` is. Take
//! any plan that uses `p`, and two providers `q1`, `q2` that dominate it.
//! If the plan uses neither, put `q1` wherever `p` was: same number of
//! providers, no fewer preferred, no lower scores. If it uses one, put the
//! other: the same. If it uses both, put in each country whichever of the
//! two is not already `p`'s partner there (a fallback must differ from its
//! primary): the plan covers the same countries with one provider fewer,
//! so it was not optimal. Either way an optimal plan without `p` exists.
//! One dominator is not enough: `p` and `q` may be the only pair that can
//! give a country its primary and fallback.

use super::solver::Question;

/// Per provider, whether the search keeps it.
pub fn reduce(q: &Question) -> Vec<bool> {
    let n = q.preferred.len();
    let roles = Roles::of(q);
    let mut order: Vec<usize> = (0..n).collect();
    // A dominator sorts before what it dominates: it has at least as many
    // roles, at least the scores and at least the preference.
    order.sort_by_key(|p| (std::cmp::Reverse(roles.strength(*p, q)), *p));
    let mut keep = vec![false; n];
    let mut kept: Vec<usize> = Vec::new();
    for p in order {
        if roles.entries[p].is_empty() {
            continue;
        }
        let dominators = kept.iter().filter(|k| roles.dominates(**k, p, q)).take(2).count();
        if dominators < 2 {
            keep[p] = true;
            kept.push(p);
        }
    }
    keep
}

/// Every provider's roles: dense scores for lookups, and its own entries.
struct Roles {
    /// `[provider][need * 2 + role]`: the score, or -1 for no role.
    dense: Vec<Vec<i64>>,
    /// Per provider, the slots it has a role in.
    entries: Vec<Vec<usize>>,
}

impl Roles {
    fn of(q: &Question) -> Self {
        let slots = q.needs.len() * 2;
        let n = q.preferred.len();
        let mut dense = vec![vec![-1i64; slots]; n];
        let mut entries = vec![Vec::new(); n];
        for (i, need) in q.needs.iter().enumerate() {
            for (role, list) in [&need.primary, &need.fallback].into_iter().enumerate() {
                for c in list {
                    dense[c.provider][i * 2 + role] = c.score;
                    entries[c.provider].push(i * 2 + role);
                }
            }
        }
        Roles { dense, entries }
    }

    fn strength(&self, p: usize, q: &Question) -> (usize, i64, bool) {
        let sum = self.entries[p].iter().map(|s| self.dense[p][*s]).sum();
        (self.entries[p].len(), sum, q.preferred[p])
    }

    fn dominates(&self, by: usize, p: usize, q: &Question) -> bool {
        (q.preferred[by] || !q.preferred[p]) && self.entries[p].iter().all(|s| self.dense[by][*s] >= self.dense[p][*s])
    }
}
