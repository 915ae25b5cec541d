"""Studies on top of the pipeline: data simulated from a spec's own model, with its true effects (:mod:`.simulate`)."""
