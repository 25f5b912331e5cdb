"""Pure DataFrame -> DataFrame transforms the jobs compose; no IO here."""
