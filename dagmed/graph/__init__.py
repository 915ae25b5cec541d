"""Stage 2, the causal graph: the spec as a DAG with roles (:mod:`.dag`), the checks (:mod:`.analysis`),
what the exact decomposition can handle (:mod:`.decomposable`) and the independencies the graph implies
(:mod:`.implied`)."""
