"""One conformance suite for both agent SDKs: each scenario runs with Python and Node agents."""
