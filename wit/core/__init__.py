"""wit's core: what every stage may import and what imports none of them.

The candidate record and its drop reasons (records), the one user-facing error type (errors),
and the layout of the output folder and the candidate schema as they are added. Nothing here
imports a stage or the application.
"""
