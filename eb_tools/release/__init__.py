"""Versions onto a stage's environments: deploy (a new bundle), promote (a tested label from another stage),
rollback (an earlier label), each a plan and an executor for the stage runner; status and versions read."""
