"""Stage 3, the model: the model IR built once from the checked analysis (:mod:`.ir`), the data (:mod:`.data`),
the PyMC model (:mod:`.compiler`), missing values (:mod:`.missing`) and the one reader of the posterior
(:mod:`.draws`)."""

from .ir import ModelIR, NodeModel, Param, Term

__all__ = ["ModelIR", "NodeModel", "Param", "Term"]
