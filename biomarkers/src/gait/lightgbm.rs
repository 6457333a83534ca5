//! Inference of LightGBM text models (`model.save_model()` format, version v3/v4) for binary
//! classification and regression with numerical splits, written from the format: each tree
//! lists its internal nodes (`split_feature`, `threshold`, `decision_type`, `left_child`,
//! `right_child`; a negative child `c` is leaf `-c - 1`) and its `leaf_value`s; the raw score is
//! the sum of the trees' leaf values, and the binary objective maps it through
//! `1 / (1 + exp(-sigmoid * score))`.
//!
//! Decision semantics follow LightGBM's `NumericalDecision`: with missing type "None", NaN is
//! treated as 0; with "Zero", values within 1e-35 of 0 go the default direction; with "NaN",
//! NaN goes the default direction; otherwise `value <= threshold` goes left.

/// Why a model text could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A required key is missing or malformed.
    #[error("LightGBM model: {0}")]
    Format(String),
    /// Categorical splits or multi-class models are not supported.
    #[error("LightGBM model uses an unsupported feature: {0}")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    split_feature: Vec<usize>,
    threshold: Vec<f64>,
    decision_type: Vec<u8>,
    left: Vec<i64>,
    right: Vec<i64>,
    leaf_value: Vec<f64>,
}

/// One node of the flattened trees. Leaves are nodes too: they send every value to
/// themselves, so a walk may take more steps than its path without leaving the leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    /// Missing-value type (0 None, 1 Zero, 2 NaN).
    missing: u8,
    default_left: bool,
    left: u32,
    right: u32,
}

impl Node {
    /// The next node for `row` (LightGBM's `NumericalDecision`).
    #[inline(always)]
    fn next(&self, row: &[f64]) -> u32 {
        let mut v = row[self.feature as usize];
        if v.is_nan() && self.missing != 2 {
            v = 0.0;
        }
        let go_left =
            if (self.missing == 1 && v.abs() <= 1e-35) || (self.missing == 2 && v.is_nan()) {
                self.default_left
            } else {
                v <= self.threshold
            };
        if go_left { self.left } else { self.right }
    }
}

/// Trees walked in lock-step, [`GROUP`] at a time: each walk's next node depends on the node
/// just loaded, so interleaving independent trees hides that latency; every walk takes its
/// group's largest depth in steps (leaves loop on themselves) and has no data-dependent exit.
const GROUP: usize = 4;

/// All trees in one node array (internal nodes and leaves) with the leaf values alongside.
#[derive(Debug, Clone, PartialEq, Default)]
struct Flat {
    nodes: Vec<Node>,
    /// Leaf value of each node (0 for internal nodes).
    value: Vec<f64>,
    /// Per tree: root node and depth (internal nodes on its longest path).
    trees: Vec<(u32, u32)>,
}

impl Flat {
    /// None when a tree is not a tree (a child loop), left to the plain walk.
    fn new(trees: &[Tree]) -> Option<Self> {
        let mut f = Flat::default();
        for t in trees {
            let k = t.split_feature.len();
            let base = f.nodes.len();
            // internal nodes first (base..base + k), then the leaves
            let leaf_base = base + k;
            let id = |c: i64| -> Option<u32> {
                let i = if c >= 0 {
                    base + c as usize
                } else {
                    leaf_base + (-c - 1) as usize
                };
                u32::try_from(i).ok()
            };
            for j in 0..k {
                let dt = t.decision_type[j];
                f.nodes.push(Node {
                    threshold: t.threshold[j],
                    feature: u32::try_from(t.split_feature[j]).ok()?,
                    missing: (dt >> 2) & 3,
                    default_left: dt & 2 != 0,
                    left: id(t.left[j])?,
                    right: id(t.right[j])?,
                });
                f.value.push(0.0);
            }
            for (j, &v) in t.leaf_value.iter().enumerate() {
                let me = u32::try_from(leaf_base + j).ok()?;
                f.nodes.push(Node {
                    threshold: f64::INFINITY,
                    feature: 0,
                    missing: 0,
                    default_left: true,
                    left: me,
                    right: me,
                });
                f.value.push(v);
            }
            let depth = if k == 0 { 0 } else { tree_depth(t)? };
            let root = u32::try_from(if k == 0 { leaf_base } else { base }).ok()?;
            f.trees.push((root, depth));
        }
        Some(f)
    }

    /// Sum of the trees' leaf values for `row`, added in tree order.
    fn raw_score(&self, row: &[f64]) -> f64 {
        let mut s = 0.0;
        let groups = self.trees.chunks_exact(GROUP);
        let rest = groups.remainder();
        for g in groups {
            let mut c: [u32; GROUP] = std::array::from_fn(|l| g[l].0);
            let steps = g.iter().map(|t| t.1).max().unwrap_or(0);
            for _ in 0..steps {
                for cl in c.iter_mut() {
                    *cl = self.nodes[*cl as usize].next(row);
                }
            }
            for cl in c {
                s += self.value[cl as usize];
            }
        }
        for &(root, depth) in rest {
            let mut c = root;
            for _ in 0..depth {
                c = self.nodes[c as usize].next(row);
            }
            s += self.value[c as usize];
        }
        s
    }
}

/// Internal nodes on the longest root-to-leaf path; None for a child loop.
fn tree_depth(t: &Tree) -> Option<u32> {
    let k = t.split_feature.len();
    let mut deepest = 0u32;
    let mut stack = vec![(0i64, 1u32)];
    let mut visits = 0usize;
    while let Some((c, d)) = stack.pop() {
        if c < 0 {
            continue;
        }
        visits += 1;
        // a tree visits each internal node once
        if visits > k {
            return None;
        }
        deepest = deepest.max(d);
        let c = c as usize;
        stack.push((t.left[c], d + 1));
        stack.push((t.right[c], d + 1));
    }
    Some(deepest)
}

/// A parsed LightGBM model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    trees: Vec<Tree>,
    flat: Option<Flat>,
    n_features: usize,
    /// `Some(sigmoid)` for the binary objective, `None` for raw-score objectives.
    sigmoid: Option<f64>,
}

fn parse_list<T: std::str::FromStr>(v: &str, key: &str) -> Result<Vec<T>, ModelError> {
    v.split_whitespace()
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| ModelError::Format(format!("bad value '{s}' in '{key}'")))
        })
        .collect()
}

impl Model {
    /// Parses a model from its text.
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let mut n_features = None;
        let mut sigmoid = None;
        let mut num_class = 1usize;
        let mut trees = Vec::new();
        let mut cur: Option<std::collections::HashMap<&str, &str>> = None;
        let finish = |m: std::collections::HashMap<&str, &str>,
                      trees: &mut Vec<Tree>|
         -> Result<(), ModelError> {
            let get = |k: &str| {
                m.get(k)
                    .copied()
                    .ok_or_else(|| ModelError::Format(format!("tree without '{k}'")))
            };
            let leaf_value: Vec<f64> = parse_list(get("leaf_value")?, "leaf_value")?;
            let num_leaves: usize = get("num_leaves")?
                .trim()
                .parse()
                .map_err(|_| ModelError::Format("bad num_leaves".into()))?;
            if m.get("num_cat").is_some_and(|v| v.trim() != "0") {
                return Err(ModelError::Unsupported("categorical splits".into()));
            }
            if leaf_value.len() != num_leaves || num_leaves == 0 {
                return Err(ModelError::Format("leaf count mismatch".into()));
            }
            let tree = if num_leaves == 1 {
                Tree {
                    split_feature: vec![],
                    threshold: vec![],
                    decision_type: vec![],
                    left: vec![],
                    right: vec![],
                    leaf_value,
                }
            } else {
                let t = Tree {
                    split_feature: parse_list(get("split_feature")?, "split_feature")?,
                    threshold: parse_list(get("threshold")?, "threshold")?,
                    decision_type: parse_list(get("decision_type")?, "decision_type")?,
                    left: parse_list(get("left_child")?, "left_child")?,
                    right: parse_list(get("right_child")?, "right_child")?,
                    leaf_value,
                };
                let k = num_leaves - 1;
                if [
                    t.split_feature.len(),
                    t.threshold.len(),
                    t.decision_type.len(),
                    t.left.len(),
                    t.right.len(),
                ]
                .iter()
                .any(|&l| l != k)
                {
                    return Err(ModelError::Format("node array length mismatch".into()));
                }
                if t.decision_type.iter().any(|d| d & 1 != 0) {
                    return Err(ModelError::Unsupported("categorical splits".into()));
                }
                let ok = |c: i64| {
                    if c >= 0 {
                        (c as usize) < k
                    } else {
                        ((-c - 1) as usize) < num_leaves
                    }
                };
                if !t.left.iter().chain(&t.right).all(|&c| ok(c)) {
                    return Err(ModelError::Format("child index out of range".into()));
                }
                t
            };
            trees.push(tree);
            Ok(())
        };
        for line in text.lines() {
            let line = line.trim_end();
            if line == "end of trees" {
                break;
            }
            if line.starts_with("Tree=") {
                if let Some(m) = cur.take() {
                    finish(m, &mut trees)?;
                }
                cur = Some(std::collections::HashMap::new());
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match &mut cur {
                Some(m) => {
                    m.insert(k, v);
                }
                None => match k {
                    "max_feature_idx" => {
                        n_features = v.trim().parse::<usize>().ok().map(|i| i + 1);
                    }
                    "num_class" => num_class = v.trim().parse().unwrap_or(0),
                    "objective" => {
                        let mut parts = v.split_whitespace();
                        if parts.next() == Some("binary") {
                            let s = parts
                                .find_map(|p| p.strip_prefix("sigmoid:"))
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(1.0);
                            sigmoid = Some(s);
                        }
                    }
                    _ => {}
                },
            }
        }
        if let Some(m) = cur.take() {
            finish(m, &mut trees)?;
        }
        if num_class != 1 {
            return Err(ModelError::Unsupported(format!("num_class={num_class}")));
        }
        let n_features =
            n_features.ok_or_else(|| ModelError::Format("no max_feature_idx".into()))?;
        if trees.is_empty() {
            return Err(ModelError::Format("no trees".into()));
        }
        if trees
            .iter()
            .any(|t| t.split_feature.iter().any(|&f| f >= n_features))
        {
            return Err(ModelError::Format("split feature out of range".into()));
        }
        let flat = Flat::new(&trees);
        Ok(Self {
            trees,
            flat,
            n_features,
            sigmoid,
        })
    }

    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Raw score (sum of leaf values) for one feature row; NaN when the row is too short.
    pub fn raw_score(&self, row: &[f64]) -> f64 {
        if row.len() < self.n_features {
            return f64::NAN;
        }
        // trees summed in order, as LightGBM does
        if let Some(f) = &self.flat {
            return f.raw_score(row);
        }
        let mut s = 0.0;
        for t in &self.trees {
            s += t.leaf_value[leaf_of(t, row)];
        }
        s
    }

    /// The model's output for one row: the probability for a binary model, else the raw score.
    pub fn predict(&self, row: &[f64]) -> f64 {
        let s = self.raw_score(row);
        match self.sigmoid {
            Some(k) => 1.0 / (1.0 + (-k * s).exp()),
            None => s,
        }
    }
}

fn leaf_of(t: &Tree, row: &[f64]) -> usize {
    if t.split_feature.is_empty() {
        return 0;
    }
    let mut node = 0usize;
    // a valid tree reaches a leaf within its node count; the bound guards malformed cycles
    for _ in 0..=t.split_feature.len() {
        let mut v = row[t.split_feature[node]];
        let dt = t.decision_type[node];
        let default_left = dt & 2 != 0;
        let missing = (dt >> 2) & 3;
        if v.is_nan() && missing != 2 {
            v = 0.0;
        }
        let go_left = if (missing == 1 && v.abs() <= 1e-35) || (missing == 2 && v.is_nan()) {
            default_left
        } else {
            v <= t.threshold[node]
        };
        let c = if go_left { t.left[node] } else { t.right[node] };
        if c < 0 {
            return (-c - 1) as usize;
        }
        node = c as usize;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "tree\nversion=v3\nnum_class=1\nmax_feature_idx=1\nobjective=binary sigmoid:1\n\n\
Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nthreshold=0.5 2\ndecision_type=2 2\n\
left_child=-1 -2\nright_child=1 -3\nleaf_value=-1 0.5 2\nshrinkage=1\n\n\
Tree=1\nnum_leaves=1\nnum_cat=0\nleaf_value=0.25\n\nend of trees\n";

    #[test]
    fn flat_trees_give_the_per_tree_walk() {
        let m = Model::parse(include_str!(
            "../../models/lgbm_gait_classifier_no-stairs_50hz.lgbm"
        ))
        .unwrap();
        let mut state = 12345u64;
        for i in 0..2000 {
            let row: Vec<f64> = (0..m.n_features())
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                    if i % 97 == 0 { f64::NAN } else { u * 4.0 - 2.0 }
                })
                .collect();
            let mut s = 0.0;
            for t in &m.trees {
                s += t.leaf_value[leaf_of(t, &row)];
            }
            assert_eq!(s.to_bits(), m.raw_score(&row).to_bits());
        }
    }

    #[test]
    fn walks_trees_and_applies_sigmoid() {
        let m = Model::parse(TINY).unwrap();
        assert_eq!((m.n_features(), m.n_trees()), (2, 2));
        assert_eq!(m.raw_score(&[0.0, 0.0]), -0.75);
        assert_eq!(m.raw_score(&[1.0, 2.0]), 0.75);
        assert_eq!(m.raw_score(&[1.0, 3.0]), 2.25);
        // NaN is 0 with missing type None
        assert_eq!(m.raw_score(&[f64::NAN, 3.0]), -0.75);
        assert!((m.predict(&[1.0, 3.0]) - 1.0 / (1.0 + (-2.25f64).exp())).abs() < 1e-15);
        assert!(m.raw_score(&[1.0]).is_nan());
        assert!(Model::parse("tree\nmax_feature_idx=1\n").is_err());
        assert!(Model::parse(&TINY.replace("left_child=-1 -2", "left_child=-9 -2")).is_err());
    }
}
