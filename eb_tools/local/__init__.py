"""The local cloud: moto's server with the behaviour moto lacks, and the processes of a stage."""
