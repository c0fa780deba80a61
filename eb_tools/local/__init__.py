"""The local stage's runner: provisions and deploys the `local` stage into the emulated cloud through the
toolkit's own verbs, then runs its processes (gunicorn per tier, nginx, the sqsd and cron emulator). It
reaches the cloud only through AWS's APIs and `LocalCloud`'s public methods (start, stop, the kept records,
instance logs)."""
