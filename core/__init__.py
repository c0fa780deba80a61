"""Code shared by the web and worker apps: settings, secrets, database, storage, queue."""
