"""Experimental modules (cleanlab 2.9 ``cleanlab.experimental``): ``label_issues_batched``, exact
Confident Learning over data that does not fit in memory."""
