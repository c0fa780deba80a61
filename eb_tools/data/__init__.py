"""`eb_tools db`: the stage's database, its snapshots and the restore drill that proves them.

`database` finds the stage's writer DB instance and reads it, `figures` is what a drill verifies (the schema
revision and row counts recorded at the snapshot), `snapshots` takes and lists snapshots, `drill` restores one
(or a point in time) to a new private instance, verifies it against the goal and deletes it.
"""
