"""Helpers shared by the test modules and by ``bench/reliability``, one module per topic.

Test modules import from here and never from each other. Nothing here is collected as a
test (no ``test_*`` files); the fixtures ``live`` (:mod:`.api_server`) and ``chromium``
(:mod:`.browser`) are registered for every test module by ``tests/conftest.py``.
"""
