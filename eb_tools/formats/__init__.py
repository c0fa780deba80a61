"""One parser per file format the toolkit reads, each keeping line numbers: YAML, `option_settings`, the option
schema, Procfile, cron.yaml and its schedules. Imports nothing else of the toolkit: `check` turns their
problems into findings, the emulated cloud into AWS's refusals, the local runner into its processes."""
