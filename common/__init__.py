"""Neutral code that the server, the agent SDK and the clients share.

``backoff`` and ``graph`` use only the standard library (the scheduler core
imports them); ``intents``, ``spec`` and ``wire`` build on ``dwe.v1``.
"""
