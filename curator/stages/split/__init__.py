"""The split stage: group-disjoint, stratified train/validation/test. Read stage.py first; dedup.py finds
duplicate clusters (kept in one split), standardize.py z-scores physio on train."""
