"""Stage 6, showing a result: summaries, the terminal text, ``effects.json``, the run directory, progress bars,
the pictures and the HTML report."""
