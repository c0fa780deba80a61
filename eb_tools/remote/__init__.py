"""Commands and shells on a stage's instances, through Systems Manager: no key pair, no port 22.

`nodes.py` picks the instance (a tier's, named or the healthiest) and checks that Systems Manager manages it;
`app_shell.py` is the shell text that enters the app's directory and environment as the app sees them;
`run.py` runs a one-off command through Run Command (`eb_tools run`), `shell.py` opens a Session Manager
session (`eb_tools shell`) through AWS's session-manager-plugin, or `stream.py` for the local cloud's plain
session stream.
"""
