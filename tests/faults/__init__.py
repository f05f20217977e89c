"""The fault suite (issue 7, "Nothing lost, proven"): real server and agent processes,
killed and starved of disk at random moments, then checked for lost work.

``make test`` runs the short version; ``make faults`` (``DWE_FAULTS=full``) the long one.
"""
