"""Stage 4, fitting: sampling (:mod:`.sampling`, with nutpie's cached GLM density :mod:`.fastglm`), diagnostics,
prior sensitivity (:mod:`.sensitivity`), the implication tests (:mod:`.implications`), and every use of a
third-party private API (:mod:`dagmed.compat`, with the differences between
the PyMC 5 / ArviZ 0.x and PyMC 6 / ArviZ 1.x stacks)."""
