"""`eb_tools logs`: a stage's app log lines from CloudWatch Logs, both tiers interleaved by time.

`query.py` reads the options (one line for a bad one), `reading.py` finds each tier's group and reads it with
FilterLogEvents (once, or following), `render.py` shows a line as text or JSON.
"""
