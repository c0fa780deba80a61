"""`eb_tools cost STAGE`: a stage's monthly estimate, from its generated templates, its stage-file entry and the
price table shipped beside this package (prices.json, rewritten by scripts/refresh_prices.py)."""
