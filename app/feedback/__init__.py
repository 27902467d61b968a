"""Corrections people give ("Not right? It's a 7"), kept safely and used for training.

- :mod:`app.feedback.schema`: the table and its migrations (a schema version in the database);
- :mod:`app.feedback.store`: SQLite by default (a file under instance/, WAL mode, no set-up)
  or PostgreSQL when ``DATABASE_URL=postgresql://...`` is set, through the same SQL;
- :mod:`app.feedback.api`: ``POST /api/feedback``, validation, limits, JSON errors;
- ``python -m app.feedback export PATH.npz``: the corrections as arrays for
  ``python -m model.train --extra-data PATH.npz``.

What is stored: the 28x28 image the network saw, its box in the drawing, what the network
said, the digit the person says, the model's name and version, the time, and the
client-generated id (so a retried request is stored once). Nothing else about the person:
no IP address, no user agent, no cookie.
"""
