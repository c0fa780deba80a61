"""`eb_tools init`: a stage file of the user's own, asked for (or given as options) and written with the comments
that explain each key, so nobody provisions the example's application name or mails its addresses.
template.py holds the commented file; answers.py gathers the values; command.py validates and writes it."""
