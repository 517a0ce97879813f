//! A small Dinic max-flow, used by the feasibility analysis to solve "can every rule get its
//! items when one item serves one rule" exactly, rather than by counting.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    capacity: i64,
}

/// A flow network with integer capacities.
#[derive(Debug, Clone)]
pub(crate) struct FlowNetwork {
    edges: Vec<Edge>,
    adjacency: Vec<Vec<usize>>,
    level: Vec<i32>,
    next: Vec<usize>,
}

impl FlowNetwork {
    pub(crate) fn new(nodes: usize) -> FlowNetwork {
        FlowNetwork {
            edges: Vec::new(),
            adjacency: vec![Vec::new(); nodes],
            level: vec![0; nodes],
            next: vec![0; nodes],
        }
    }

    /// Adds an edge and returns its id (for reading its flow later).
    pub(crate) fn add_edge(&mut self, from: usize, to: usize, capacity: i64) -> usize {
        let id = self.edges.len();
        self.edges.push(Edge { to, capacity });
        self.adjacency[from].push(id);
        self.edges.push(Edge {
            to: from,
            capacity: 0,
        });
        self.adjacency[to].push(id + 1);
        id
    }

    /// Flow currently on edge `id`.
    pub(crate) fn flow(&self, id: usize) -> i64 {
        self.edges[id + 1].capacity
    }

    fn bfs(&mut self, source: usize, sink: usize) -> bool {
        self.level.iter_mut().for_each(|level| *level = -1);
        self.level[source] = 0;
        let mut queue = VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for &edge in &self.adjacency[node] {
                let Edge { to, capacity } = self.edges[edge];
                if capacity > 0 && self.level[to] < 0 {
                    self.level[to] = self.level[node] + 1;
                    queue.push_back(to);
                }
            }
        }
        self.level[sink] >= 0
    }

    fn dfs(&mut self, node: usize, sink: usize, pushed: i64) -> i64 {
        if node == sink {
            return pushed;
        }
        while self.next[node] < self.adjacency[node].len() {
            let edge = self.adjacency[node][self.next[node]];
            let Edge { to, capacity } = self.edges[edge];
            if capacity > 0 && self.level[to] == self.level[node] + 1 {
                let got = self.dfs(to, sink, pushed.min(capacity));
                if got > 0 {
                    self.edges[edge].capacity -= got;
                    self.edges[edge ^ 1].capacity += got;
                    return got;
                }
            }
            self.next[node] += 1;
        }
        0
    }

    /// Maximum flow from `source` to `sink`. The network's depth is at most 5 here, so the
    /// recursive augmenting search cannot overflow the stack.
    pub(crate) fn max_flow(&mut self, source: usize, sink: usize) -> i64 {
        let mut total = 0;
        while self.bfs(source, sink) {
            self.next.iter_mut().for_each(|next| *next = 0);
            loop {
                let pushed = self.dfs(source, sink, i64::MAX);
                if pushed == 0 {
                    break;
                }
                total += pushed;
            }
        }
        total
    }

    /// After `max_flow`: the nodes reachable from `source` in the residual network (the
    /// source side of a minimum cut).
    pub(crate) fn source_side(&self, source: usize) -> Vec<bool> {
        let mut seen = vec![false; self.adjacency.len()];
        seen[source] = true;
        let mut queue = VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for &edge in &self.adjacency[node] {
                let Edge { to, capacity } = self.edges[edge];
                if capacity > 0 && !seen[to] {
                    seen[to] = true;
                    queue.push_back(to);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bipartite_matching_is_found_where_greedy_counting_would_mislead() {
        // Two rules of one item each; both qualify item X, only the second qualifies Y.
        // Naive counting says rule 1 has 1 item and rule 2 has 2; the flow must route
        // rule 1 -> X and rule 2 -> Y.
        let mut network = FlowNetwork::new(6);
        let (source, sink, rule1, rule2, x, y) = (0, 1, 2, 3, 4, 5);
        network.add_edge(source, rule1, 1);
        network.add_edge(source, rule2, 1);
        network.add_edge(rule1, x, 1);
        network.add_edge(rule2, x, 1);
        network.add_edge(rule2, y, 1);
        network.add_edge(x, sink, 1);
        network.add_edge(y, sink, 1);
        assert_eq!(network.max_flow(source, sink), 2);
    }

    #[test]
    fn the_minimum_cut_names_the_rules_that_compete() {
        let mut network = FlowNetwork::new(5);
        let (source, sink, rule1, rule2, x) = (0, 1, 2, 3, 4);
        network.add_edge(source, rule1, 1);
        network.add_edge(source, rule2, 1);
        network.add_edge(rule1, x, 1);
        network.add_edge(rule2, x, 1);
        network.add_edge(x, sink, 1);
        assert_eq!(network.max_flow(source, sink), 1);
        let side = network.source_side(source);
        assert!(side[rule1] || side[rule2]);
        assert!(!side[sink]);
    }
}
