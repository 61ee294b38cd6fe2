"""The matcher: which volunteers are best placed to help with an issue, and why (DESIGN §5).

Pure Python + numpy + scikit-learn; no Flask here except ``store``, the one accessor that keeps
the fitted model and index per process in ``app.extensions``.

- ``inference``: skills an issue needs, from its text (char n-gram TF-IDF + linear classifier).
- ``index``:     volunteers as numpy arrays and BallTrees (haversine) for candidates by place.
- ``matcher``:   weights, scores and reasons; one match (ranked, explained suggestions) and teams.
- ``queries``:   the query for an issue or a service session (skills, place, time window).
- ``store``:     the fitted model and index per process and database.

Reasons leave as codes; ``invitations.reasons`` turns them into text for the pages and the API,
and ``invitations.suggestions`` asks for an issue's or a session's suggestions.
"""
