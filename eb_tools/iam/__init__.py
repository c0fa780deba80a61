"""`eb_tools iam-policy`: least-privilege IAM policies for a stage, built from the stage file (see policy.py)."""
