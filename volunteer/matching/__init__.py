"""The matcher: which volunteers are best placed to help with an issue, and why (DESIGN §5).

The core is pure Python + numpy + scipy + scikit-learn, free of Flask and of the database:

- ``inference``: skills an issue needs, from its text (char n-gram TF-IDF + linear classifier).
- ``index``:     volunteers as numpy arrays and k-d trees on the unit sphere, by place.
- ``matcher``:   grades, scores and reasons; one match (ranked, explained suggestions), teams.
- ``queries``:   the query for an issue or a service session (skills, place, time window).

Around it, the parts that touch the app:

- ``records``:   reading volunteers and the taxonomy into the core's records (the models).
- ``artefact``:  the skill model as a file: trained by commands, loaded (never fitted) here.
- ``store``:     the matcher per process and database, built lazily, following changes.
- ``models`` / ``slates``: every suggestion list shown, on record.

Reasons leave as codes; ``invitations.reasons`` turns them into text for the pages and the API,
and ``invitations.suggestions`` asks for an issue's or a session's suggestions.
"""
