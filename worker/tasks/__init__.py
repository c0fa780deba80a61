"""Importing this package registers every task and periodic task."""
from worker.tasks import email, images, periodic, push  # noqa: F401
