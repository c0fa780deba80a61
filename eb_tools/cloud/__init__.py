"""The emulated AWS: moto's server plus the services and behaviours moto lacks, each in moto's split.

A library of its own: it knows nothing of the toolkit's verbs or its command line (it imports only
eb_tools.aws, eb_tools.errors and eb_tools.formats), so it reads beside moto and is started by whoever needs
an AWS endpoint on this machine (`eb_tools.local`, tests, benchmarks) through `server.LocalCloud`, whose
public methods are how they reach what no AWS API gives.
"""
