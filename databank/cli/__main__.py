"""`python -m databank.cli`: the same command line as the `databank` script."""

from databank.cli import app

app()
