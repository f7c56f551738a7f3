"""Internal building blocks exposed under cleanlab's names (``cleanlab.internal``)."""
