"""Every delivered file parses against its contract, except exactly the damage the truth logs."""

import hashlib
from collections import defaultdict

from databank.contracts import feeds, load_contract
from databank.generator.delivery import FILE_DEFECTS, record_defects


def _logged_id_in(line: str, logged_ids: set[str]) -> str:
    """The one logged record id a damaged line contains, or the line itself when it is not one."""
    matches = [record_id for record_id in logged_ids if record_id in line]
    return matches[0] if len(matches) == 1 else line


def test_problem_records_are_exactly_the_logged_record_damage(checked, truth):
    logged = {(d["file"], d["record"]) for d in truth["defects"] if d["record"] is not None}
    logged_ids_by_file = defaultdict(set)
    for file, record_id in logged:
        logged_ids_by_file[file].add(record_id)

    found = {
        (problem.file, problem.record_id or _logged_id_in(problem.line, logged_ids_by_file[problem.file]))
        for file in checked.values()
        for problem in file.problems
    }

    assert len(logged) > 100
    assert found == logged


def test_files_logged_empty_are_exactly_the_zero_byte_files(generated, truth, landing_files):
    out, _ = generated
    logged = {d["file"] for d in truth["defects"] if d["kind"] == "empty_file"}

    # A daily feed with nothing to send that day delivers one empty file, alone in its folder: no defect.
    zero_bytes = {
        p.relative_to(out).as_posix()
        for p in landing_files
        if p.stat().st_size == 0 and len(list(p.parent.iterdir())) > 1
    }

    assert logged
    assert zero_bytes == logged


def test_each_set_of_identical_files_in_a_day_is_one_original_and_its_logged_resends(
    generated, truth, landing_files
):
    out, _ = generated
    resent = {d["file"] for d in truth["defects"] if d["kind"] == "duplicate_file"}
    same_bytes = defaultdict(set)
    for path in landing_files:
        if path.stat().st_size:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            same_bytes[path.parent, digest].add(path.relative_to(out).as_posix())

    originals = [files - resent for files in same_bytes.values()]

    assert resent
    assert all(len(files) == 1 for files in originals)


def test_every_defect_kind_the_contracts_allow_occurs(truth):
    possible = {
        defect.kind
        for feed in feeds("event")
        for file_format in load_contract(feed).formats
        for defect in record_defects(load_contract(feed), file_format)
    } | set(FILE_DEFECTS)

    occurred = {d["kind"] for d in truth["defects"]}

    assert occurred == possible
