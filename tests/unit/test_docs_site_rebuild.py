"""The docs site is rebuilt when the dbt project changed since it was built, and only then."""

from datetime import date
from pathlib import Path

from databank import docs_site
from databank.dbt_runner import DbtRun, MartsBuildError


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1 as a\n")
    (project / "dbt_project.yml").write_text("name: p\n")
    return project


def _run(tmp_path: Path, project: Path) -> DbtRun:
    return DbtRun(project, tmp_path / "w.duckdb", date(2026, 5, 1), False, tmp_path / "work")


def test_the_site_is_rebuilt_only_when_the_project_changed(tmp_path, monkeypatch):
    generated = []

    def generate(run, command, *options):
        generated.append((command, *options))
        (run.work_dir / "target").mkdir(parents=True, exist_ok=True)
        (run.work_dir / "target" / "static_index.html").write_text(f"<html>{len(generated)}</html>")

    monkeypatch.setattr(docs_site, "run_dbt", generate)
    project = _project(tmp_path)
    reports = tmp_path / "reports"

    first = docs_site.publish_docs_site(_run(tmp_path, project), reports)
    second = docs_site.publish_docs_site(_run(tmp_path, project), reports)
    (project / "models" / "a.sql").write_text("select 2 as a\n")
    third = docs_site.publish_docs_site(_run(tmp_path, project), reports)

    assert [first, second, third] == ["rebuilt", "up to date", "rebuilt"]
    assert generated == [("docs", "generate", "--static")] * 2
    assert (reports / "docs" / "index.html").read_text() == "<html>2</html>"


def test_a_failed_generation_is_reported_and_keeps_the_site_it_had(tmp_path, monkeypatch):
    def fail(run, command, *options):
        raise MartsBuildError("dbt docs generate failed")

    monkeypatch.setattr(docs_site, "run_dbt", fail)
    reports = tmp_path / "reports"
    (reports / "docs").mkdir(parents=True)
    (reports / "docs" / "index.html").write_text("<html>older</html>")

    said = docs_site.publish_docs_site(_run(tmp_path, _project(tmp_path)), reports)

    assert said == "failed: dbt docs generate failed"
    assert (reports / "docs" / "index.html").read_text() == "<html>older</html>"
