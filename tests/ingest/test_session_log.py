"""pipeline/ingest/session_log.py: observation and workshop logs."""

from __future__ import annotations

import openpyxl
import pytest

from pipeline.errors import InputError
from pipeline.ingest.session_log import read_session_log

SECTORS = {"voluntary": "Voluntary"}
HEADER = "session,date,site,wave,observer,note\n"


def write_csv(tmp_path, body, header=HEADER):
    path = tmp_path / "observation_log.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_rows_of_one_session_form_one_document(tmp_path):
    path = write_csv(tmp_path, "Board,2025-03-04,quillmere,1,Tom,First note.\n"
                               "Board,2025-03-04,quillmere,1,Tom,Second note.\n"
                               "Board,2025-06-04,quillmere,2,Ana,Later meeting.\n"
                               "Hub,2025-03-05,sallowdene,1,Tom,\n")
    documents = read_session_log(path, "observations/observation_log.csv", "observation", SECTORS)
    assert len(documents) == 2
    first = documents[0]
    assert [b.text for b in first.blocks] == ["First note.", "Second note."]
    assert first.blocks[0].speaker == "Tom" and first.blocks[0].speaker_role == ""
    assert first.metadata == {"session": "Board", "title": "Board", "site": "quillmere", "wave": "1",
                              "date": "2025-03-04"}
    assert first.key == "Board|2025-03-04|quillmere" and first.source_format == "log-csv"


def test_one_site_written_two_ways_is_one_session(tmp_path):
    """Its key keeps the first spelling (the site itself is made one spelling later, by ingest)."""
    path = write_csv(tmp_path, "Board,2025-03-04,Wrenford,1,Tom,First note.\n"
                               "Board,2025-03-04,wrenford,1,Tom,Second note.\n")
    (document,) = read_session_log(path, "observations/observation_log.csv", "observation", SECTORS)
    assert [b.text for b in document.blocks] == ["First note.", "Second note."]
    assert document.key == "Board|2025-03-04|Wrenford"


def test_missing_columns_lists_the_columns_found(tmp_path):
    path = write_csv(tmp_path, "Board,quillmere,Tom\n", header="session,site,observer\n")
    with pytest.raises(InputError) as info:
        read_session_log(path, "observations/log.csv", "observation", SECTORS)
    message = str(info.value)
    assert "'date'" in message and "'wave'" in message and "'note'" in message
    assert "the columns found are 'session', 'site', 'observer'" in message


def test_a_log_on_the_second_sheet_is_pointed_to(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Read me"
    workbook.active.append(["Observation log for the partnership boards"])
    workbook.create_sheet("Log").append(["session", "date", "site", "wave", "note"])
    workbook.save(tmp_path / "log.xlsx")
    with pytest.raises(InputError) as info:
        read_session_log(tmp_path / "log.xlsx", "observations/log.xlsx", "observation", SECTORS)
    assert ("these are sheet 'Read me', the first of 2 ('Read me', 'Log'): only the first sheet is read, "
            "so move the data there") in str(info.value)


def test_blank_site_or_wave_names_row_and_column(tmp_path):
    path = write_csv(tmp_path, "Board,2025-03-04,quillmere,1,Tom,Fine.\n"
                               "Board,2025-03-04,,1,Tom,No site.\n"
                               "Hub,2025-03-05,sallowdene,,Tom,No wave.\n")
    with pytest.raises(InputError) as info:
        read_session_log(path, "observations/log.csv", "observation", SECTORS)
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "site"), (4, "wave")]


def test_bad_date_is_an_error(tmp_path):
    path = write_csv(tmp_path, "Board,04/03/2025,quillmere,1,Tom,Note.\n")
    with pytest.raises(InputError) as info:
        read_session_log(path, "observations/log.csv", "observation", SECTORS)
    assert info.value.problems[0].column == "date"


def test_xlsx_log(tmp_path):
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Session", "Date", "Site", "Wave", "Observer", "Note"])
    sheet.append(["Workshop A", dt.datetime(2025, 5, 1), "fenhollow", 2, "Ana", "Groups mapped assets."])
    path = tmp_path / "workshops.xlsx"
    workbook.save(path)
    documents = read_session_log(path, "workshops/workshops.xlsx", "workshop", SECTORS)
    assert documents[0].metadata["date"] == "2025-05-01" and documents[0].metadata["wave"] == "2"
    assert documents[0].source_format == "log-xlsx"


def test_a_sector_that_differs_within_one_session_is_an_error(tmp_path):
    # The second note's sector used to be dropped silently: its note was counted
    # as the first row's sector.
    sectors = {"voluntary": "Voluntary", "statutory_health": "NHS"}
    path = write_csv(tmp_path, "Board,2025-03-04,quillmere,1,Tom,First note.,voluntary\n"
                               "Board,2025-03-04,quillmere,1,Tom,Second note.,statutory_health\n",
                     header="session,date,site,wave,observer,note,sector\n")
    with pytest.raises(InputError) as info:
        read_session_log(path, "observations/log.csv", "observation", sectors)
    problem = info.value.problems[0]
    assert (problem.row, problem.column) == (3, "sector") and "row 2" in problem.message


def test_a_sector_given_on_a_later_row_of_the_session_is_kept(tmp_path):
    path = write_csv(tmp_path, "Board,2025-03-04,quillmere,1,Tom,First note.,\n"
                               "Board,2025-03-04,quillmere,1,Tom,Second note.,voluntary\n",
                     header="session,date,site,wave,observer,note,sector\n")
    documents = read_session_log(path, "observations/log.csv", "observation", SECTORS)
    assert documents[0].metadata["sector"] == "voluntary"
    assert len(documents[0].blocks) == 2
