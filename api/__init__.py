"""The HTTP service and web pages: a thin FastAPI adapter over the ledger and read models.

:func:`api.app.create_app` builds the application; nothing is opened at import
time. See ``api/README.md`` for the endpoints, authentication, errors and limits.
"""

__all__: list[str] = []
