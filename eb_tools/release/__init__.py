"""`eb_tools release`: versions onto a stage's environments (deploy today; promote and rollback next)."""
