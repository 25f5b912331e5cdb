"""Build the night's marts with dbt-spark, in this Spark application (the cluster profile's marts task):
silver -> the dbt project's models -> gold Delta tables (`databank.spark_marts`).

    python -m spark_jobs.build_marts --date 2026-05-01
"""

from __future__ import annotations

import argparse
from datetime import date

from databank.config import load_settings
from databank.dbt_runner import MartsBuildError
from databank.spark_marts import build_marts_on_spark
from databank.spark_session import build_session
from spark_jobs.not_retryable import exit_when_not_retryable


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--date", required=True, type=date.fromisoformat, help="local business day, YYYY-MM-DD"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    spark = build_session(settings, f"build marts {args.date}")
    with exit_when_not_retryable(MartsBuildError):
        print(build_marts_on_spark(spark, settings, args.date))


if __name__ == "__main__":
    main()
