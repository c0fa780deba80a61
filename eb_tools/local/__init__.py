"""The local stage's runner: provisions and deploys the `local` stage into the emulated cloud through the
toolkit's own verbs, then runs its processes (gunicorn per tier, nginx, the sqsd and cron emulator). It
reaches the cloud only through AWS APIs and the cloud's public start and stop."""
