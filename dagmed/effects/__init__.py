"""Stage 5, the decomposition: effect kinds and conventions (:mod:`.kinds`), every regime (:mod:`.regimes`,
its compiled :mod:`.kernel`), the rows it averages over (:mod:`.rows`) and the effects (:mod:`.decomposition`)."""
