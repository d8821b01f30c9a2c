"""pipeline/ingest/register.py: participants.csv and fieldwork.csv."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.ingest.register import (
    normalise_date,
    normalise_wave,
    read_fieldwork,
    read_register,
    wave_key,
    wave_spellings,
)

SECTORS = {"voluntary": "Voluntary", "statutory_health": "NHS", "programme": "Programme"}


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_ids_keep_leading_zeros_and_names_are_kept_for_matching(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,site,sector,organisation,role,name\n"
                 "00123,quillmere,voluntary,QCA,Manager,Priya Chaudhry\n"
                 "P2,Calloway Wren Foundation,programme,,,\n")
    register = read_register(path, SECTORS)
    assert "00123" in register and register["00123"].name == "Priya Chaudhry"
    assert register["P2"].site == "Calloway Wren Foundation"


def test_duplicate_ids_name_the_rows(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,site,sector\nP1,a,voluntary\nP2,a,voluntary\nP1,b,voluntary\n")
    with pytest.raises(InputError) as info:
        read_register(path, SECTORS)
    assert "rows 2, 4" in str(info.value)


def test_unknown_sector_names_row_column_and_valid_keys(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,site,sector\nP1,a,voluntary\nP2,a,health\n")
    with pytest.raises(InputError) as info:
        read_register(path, SECTORS)
    problem = info.value.problems[0]
    assert (problem.row, problem.column) == (3, "sector")
    assert "voluntary, statutory_health, programme" in problem.hint


def test_missing_columns_are_listed(tmp_path):
    path = write(tmp_path / "participants.csv", "id,site\nP1,a\n")
    with pytest.raises(InputError, match="participant_id"):
        read_register(path, SECTORS)


def test_cp1252_register_is_decoded(tmp_path):
    path = write(tmp_path / "participants.csv",
                 "participant_id,site,sector,name\nP1,a,voluntary,Zo\u00eb O\u2019Brien\n", "cp1252")
    register = read_register(path, SECTORS)
    assert register.encoding == "cp1252" and register["P1"].name == "Zo\u00eb O\u2019Brien"


def test_fieldwork_rows(tmp_path):
    raw = tmp_path / "raw"
    (raw / "interviews").mkdir(parents=True)
    (raw / "interviews" / "a.docx").write_bytes(b"x")
    path = write(tmp_path / "fieldwork.csv", "file,participant,site,sector,wave,date\n"
                                            "interviews/a.docx,P1,,,1,2025-03-04\n")
    rows, encoding = read_fieldwork(path, raw)
    assert rows["interviews/a.docx"].values == {"participant": "P1", "wave": "1", "date": "2025-03-04"}
    assert encoding == "utf-8"


def test_fieldwork_row_for_a_missing_file_is_an_error(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    path = write(tmp_path / "fieldwork.csv", "file,wave\ninterviews/gone.docx,1\n")
    with pytest.raises(InputError) as info:
        read_fieldwork(path, raw)
    assert info.value.problems[0].row == 2 and "gone.docx" in str(info.value)
    assert "if the file was withdrawn, delete its row" in info.value.problems[0].hint


@pytest.mark.parametrize("written", ["1", 1, 1.0, "1.0", "01", "Wave 1", "wave 1", "WAVE 01", "W1", "w 1",
                                     "wave-1", "wave_1"])
def test_numbered_wave_spellings_are_the_bare_number(written):
    assert normalise_wave(written) == "1"


@pytest.mark.parametrize("written, wave", [("Baseline", "Baseline"), (" baseline ", "baseline"),
                                           ("BSL  cohort", "BSL cohort"), ("Round 2", "Round 2"),
                                           ("Year  1", "Year 1"), ("-1", "-1"), ("1b", "1b"), ("", "")])
def test_named_waves_keep_their_spelling_and_are_matched_ignoring_case_and_spacing(written, wave):
    assert normalise_wave(written) == wave
    assert wave_key(written) == wave_key(wave.upper()) == wave.casefold()


def test_a_wave_written_several_ways_is_spelt_the_most_common_way_with_capitals_first_on_a_tie():
    spelling = wave_spellings(["follow-up", "Follow-up", "follow-up", "bsl cohort", "BSL cohort", "1"])
    assert spelling == {"follow-up": "follow-up", "bsl cohort": "BSL cohort", "1": "1"}


def test_normalisers():
    assert normalise_wave("1.0") == "1" and normalise_wave(2) == "2"
    assert normalise_date("2025-03-04T10:00:00") == "2025-03-04"
    with pytest.raises(ValueError):
        normalise_date("04/03/2025")
    with pytest.raises(ValueError):
        normalise_date("2025-02-30")
