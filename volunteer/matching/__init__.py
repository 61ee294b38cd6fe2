"""The matcher: which volunteers are best placed to help with an issue, and why (DESIGN §5).

Pure Python + numpy + scikit-learn; no Flask here except ``store``, the one accessor that keeps
the fitted model and index per process in ``app.extensions``.

- ``inference``: skills an issue needs, from its text (char n-gram TF-IDF + linear classifier).
- ``index``:     volunteers as numpy arrays and BallTrees (haversine) for candidates by place.
- ``scoring``:   weights, scores and reasons.
- ``matcher``:   one match (ranked, explained suggestions) and teams.
"""
