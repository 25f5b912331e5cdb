"""Spark jobs of the nightly run: one module per job, `main(argv)` reads, transforms and writes."""
