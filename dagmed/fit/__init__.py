"""Stage 4, fitting: sampling (:mod:`.sampling`, with nutpie's cached GLM density :mod:`.fastglm`), diagnostics,
prior sensitivity (:mod:`.sensitivity`), the implication tests (:mod:`.implications`), and every use of a
third-party private API (:mod:`._compat`)."""
