"""Tests for pipeline/codebook.py: the model, validation, every import and export format."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from pipeline import paths
from pipeline.codebook import (
    Code,
    Codebook,
    Theme,
    code_guid,
    derive_id,
    load_codebook,
    parse_description_text,
    run_codebook_export,
    split_list_cell,
    write_codebook_qdc,
    write_codebook_xlsx,
    write_codebook_yaml,
)
from pipeline.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CODEBOOK = REPO / "codebook" / "codebook.yaml"

EXPECTED_IDS = {
    "resources": ["res_funding", "res_staff_capacity", "res_volunteers"],
    "coordination": ["coord_governance", "coord_membership", "coord_communication",
                     "coord_data_sharing"],
    "relationships": ["rel_trust", "rel_key_individuals", "rel_conflict"],
    "power_culture": ["pow_imbalance", "pow_culture", "pow_bureaucracy", "pow_voice"],
    "funders": ["fund_flexibility", "fund_reporting", "fund_support"],
    "outcomes": ["out_wellbeing", "out_access", "out_system_change", "out_evidence"],
    "legacy": ["leg_sustainability", "leg_learning", "leg_embedding"],
}


@pytest.fixture(scope="module")
def shipped() -> Codebook:
    return load_codebook(SHIPPED_CODEBOOK)


def small_codebook_data() -> dict:
    return {
        "name": "Test codebook",
        "version": "2.1",
        "themes": [
            {"id": "resources", "label": "Resources", "description": "Money and people.",
             "codes": [
                 {"id": "res_funding", "label": "Funding", "definition": "Money available.",
                  "include": ["grant cuts"], "exclude": ["ending funding (use leg_end)"],
                  "examples": ["We lost the grant."], "aliases": ["money"]},
                 {"id": "res_staff", "label": "Staff", "definition": "Staff time."},
             ]},
            {"id": "legacy", "label": "Legacy",
             "codes": [{"id": "leg_end", "label": "Ending", "definition": "After the grant."}]},
        ],
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problem_messages(error: InputError) -> list[str]:
    return [str(problem) for problem in error.problems]


# ----------------------------------------------------------------- shipped codebook


def test_shipped_codebook_validates_with_the_agreed_ids(shipped):
    assert len(shipped.codes) >= 20
    assert {theme.id: [code.id for code in theme.codes] for theme in shipped.themes} == EXPECTED_IDS
    assert shipped.version == "1.0"


def test_shipped_codes_are_fully_described(shipped):
    live_ids = set(shipped.code_ids)
    for code in shipped.codes:
        assert 1 <= len(re.findall(r"[.!?](\s|$)", code.definition)) <= 3, code.id
        assert 3 <= len(code.include) <= 6, code.id
        assert code.exclude, code.id
        assert 2 <= len(code.examples) <= 3, code.id
        # Exclude cues that point elsewhere must point at codes that exist.
        for cue in code.exclude:
            for target in re.findall(r"\buse ([a-z_]+)", cue):
                assert target in live_ids and target != code.id, (code.id, cue)


def test_lookups_by_id_theme_and_alias():
    codebook = Codebook.model_validate(small_codebook_data())
    assert codebook.code_ids == ["res_funding", "res_staff", "leg_end"]
    assert [code.id for code in codebook.codes] == codebook.code_ids
    assert codebook.code_by_id("res_staff").label == "Staff"
    assert codebook.theme_of("leg_end").id == "legacy"
    assert codebook.resolve_alias("money") == "res_funding"
    assert codebook.resolve_alias("res_staff") == "res_staff"
    assert codebook.resolve_alias("nonsense") is None
    assert codebook.code_by_id("money").id == "res_funding"
    assert codebook.theme_of("money").id == "resources"
    with pytest.raises(KeyError):
        codebook.code_by_id("nonsense")


def test_version_written_as_a_yaml_number_is_kept_as_text(tmp_path):
    data = small_codebook_data()
    data["version"] = 1.0
    assert load_codebook(write_yaml(tmp_path / "c.yaml", data)).version == "1.0"


# ---------------------------------------------------------------------- validation


def test_duplicate_code_id_names_both_lines_and_codes(tmp_path):
    data = small_codebook_data()
    data["themes"][1]["codes"].append({"id": "res_funding", "label": "Again", "definition": "x"})
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert caught.value.file == str(tmp_path / "c.yaml")
    assert ("line 28, themes[1].codes[1].id (code 'Again'): duplicate code id 'res_funding' "
            "(also at line 8, themes[0].codes[0] (code 'res_funding'))") in str(caught.value)


def test_theme_and_code_ids_share_one_namespace(tmp_path):
    data = small_codebook_data()
    data["themes"][1]["codes"][0]["id"] = "resources"
    data["themes"].append({"id": "legacy", "label": "Again", "codes": []})
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    text = str(caught.value)
    assert ("line 25, themes[1].codes[0].id (code 'Ending'): code id 'resources' is also a theme id "
            "(theme at line 4, themes[0] (theme 'resources'))") in text
    assert ("line 28, themes[2].id (theme 'Again'): duplicate theme id 'legacy' "
            "(also at line 22, themes[1] (theme 'legacy'))") in text


def test_empty_definition_is_named_by_line_and_code(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["codes"][1]["definition"] = "   "
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert ("line 21, themes[0].codes[1].definition (code 'res_staff'): must not be empty"
            in str(caught.value))


def test_missing_field_is_named_by_line_and_code(tmp_path):
    data = small_codebook_data()
    del data["themes"][1]["codes"][0]["label"]
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert ("line 25, themes[1].codes[0].label (code 'leg_end'): required field is missing"
            in str(caught.value))


def test_alias_colliding_with_a_live_id_is_rejected(tmp_path):
    data = small_codebook_data()
    data["themes"][1]["codes"][0]["aliases"] = ["res_staff"]
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert ("line 29, themes[1].codes[0].aliases[0] (code 'leg_end'): alias 'res_staff' collides "
            "with a live code id (code at line 19, themes[0].codes[1] (code 'res_staff')); an alias "
            "is an old id that no code or theme has any more: remove it from the aliases"
            ) in str(caught.value)


def test_alias_claimed_by_two_codes_is_rejected():
    data = small_codebook_data()
    data["themes"][1]["codes"][0]["aliases"] = ["money"]
    with pytest.raises(ValueError, match="alias 'money' is claimed by two codes"):
        Codebook.model_validate(data)


def test_bad_id_characters_and_unknown_fields_are_named(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["codes"][0]["id"] = "res funding!"
    data["themes"][0]["codes"][1]["exclues"] = ["typo"]
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    text = str(caught.value)
    assert "line 8, themes[0].codes[0].id (code 'Funding'): 'res funding!' is not a valid id" in text
    assert "line 22, themes[0].codes[1].exclues (code 'res_staff'): unknown field" in text


def test_every_problem_is_reported_at_once(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["codes"][1]["definition"] = ""
    del data["themes"][1]["codes"][0]["label"]
    data["themes"][1]["codes"].append({"id": "res_staff", "label": "Dup", "definition": "x"})
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert len(caught.value.problems) == 3
    assert "3 problems" in str(caught.value)


def test_direct_construction_also_checks_cross_references():
    with pytest.raises(ValueError, match="duplicate code id 'a1'"):
        Codebook(name="x", themes=[
            Theme(id="t1", label="T1", codes=[Code(id="a1", label="A", definition="d")]),
            Theme(id="t2", label="T2", codes=[Code(id="a1", label="B", definition="d")]),
        ])


def test_malformed_yaml_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nthemes:\n  - id: a\n    label: [unclosed\n  - id: b\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_codebook(path)
    assert caught.value.file == str(path)
    assert re.search(r"not valid YAML at line \d+", str(caught.value))


def test_a_key_written_twice_is_an_error_not_a_silent_overwrite(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nthemes:\n  - id: a\n    label: A\n    codes:\n      - id: a1\n        label: A1\n"
                    "        definition: First.\n        definition: Second.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 9, column 9: the key 'definition' appears twice in one mapping "
                                         r"\(first on line 8\)"):
        load_codebook(path)


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(InputError, match="must be a mapping"):
        load_codebook(path)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_codebook(tmp_path / "absent.yaml")
    other = tmp_path / "codebook.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="unsupported codebook format '.json'"):
        load_codebook(other)


# ------------------------------------------------------------------------ REFI-QDA


def test_yaml_to_qdc_to_yaml_round_trip(shipped, tmp_path):
    write_codebook_qdc(shipped, tmp_path / "c.qdc")
    from_qdc = load_codebook(tmp_path / "c.qdc")
    assert from_qdc == shipped
    write_codebook_yaml(from_qdc, tmp_path / "again.yaml")
    assert load_codebook(tmp_path / "again.yaml") == shipped


def test_qdc_export_is_deterministic_and_well_formed(shipped, tmp_path):
    write_codebook_qdc(shipped, tmp_path / "a.qdc")
    write_codebook_qdc(shipped, tmp_path / "b.qdc")
    assert (tmp_path / "a.qdc").read_bytes() == (tmp_path / "b.qdc").read_bytes()

    import xml.etree.ElementTree as ET

    ns = {"q": "urn:QDA-XML:codebook:1.0"}
    root = ET.parse(tmp_path / "a.qdc").getroot()
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    themes = root.findall("q:Codes/q:Code", ns)
    assert [t.get("isCodable") for t in themes] == ["false"] * len(shipped.themes)
    codes = root.findall("q:Codes/q:Code/q:Code", ns)
    assert len(codes) == len(shipped.codes)
    assert all(c.get("isCodable") == "true" for c in codes)
    assert codes[0].get("guid") == code_guid("res_funding")
    assert "ID: res_funding" in codes[0].find("q:Description", ns).text


def test_qdc_round_trip_keeps_awkward_text(tmp_path):
    codebook = Codebook(name="Awkward & <odd>", version="0.1", themes=[
        Theme(id="t.1", label="Theme \"one\" & more", description="Line one\nInclude: not a heading",
              color="#AA0000", codes=[
                  Code(id="c-1", label="<Code>", color="#00ff00",
                       definition="First line.\n\nInclude: this is still the definition.\n  indented",
                       include=["multi\nline item", "has; semicolon", "- starts with a dash"],
                       exclude=["Exclude: looks like a heading"],
                       examples=["“Curly” quotes — and dashes"], aliases=["old.id"]),
              ]),
        Theme(id="empty", label="Empty theme"),
    ])
    write_codebook_qdc(codebook, tmp_path / "c.qdc")
    assert load_codebook(tmp_path / "c.qdc") == codebook


def test_qdc_export_leaves_out_control_characters_xml_cannot_hold(tmp_path, caplog):
    # A vertical tab (Word's manual line break) or form feed pasted into a
    # spreadsheet codebook made the exported .qdc unreadable by every tool.
    source = tmp_path / "codebook.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["theme", "code", "label", "definition", "include", "exclude", "examples"])
        writer.writerow(["res", "res_funding", "Funding\x0c", "Money\x0bavailable.", "grant\x01 cuts",
                         "", ""])
    codebook = load_codebook(source)
    with caplog.at_level("WARNING"):
        write_codebook_qdc(codebook, tmp_path / "c.qdc")
    assert "code res_funding" in caplog.text
    back = load_codebook(tmp_path / "c.qdc")
    code = back.code_by_id("res_funding")
    assert (code.label, code.definition, code.include) == ("Funding", "Moneyavailable.", ["grant cuts"])


def test_nvivo_style_qdc_without_structured_descriptions(tmp_path, caplog):
    path = tmp_path / "nvivo.qdc"
    path.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo 14">
  <Codes>
    <Code guid="5b1d2a9e-0000-4000-8000-000000000001" name="Partnership working" isCodable="true">
      <Description>How partners work together.</Description>
      <Code guid="5b1d2a9e-0000-4000-8000-000000000002" name="Trust" isCodable="true">
        <Description>Statements about trust between organisations.</Description>
      </Code>
      <Code guid="5b1d2a9e-0000-4000-8000-000000000003" name="Meetings &amp; comms" isCodable="true">
        <Code guid="5b1d2a9e-0000-4000-8000-000000000004" name="Trust" isCodable="true"/>
      </Code>
    </Code>
    <Code guid="5b1d2a9e-0000-4000-8000-000000000005" name="Funding" isCodable="true" color="#FF8800">
      <Description>Money, grants and cuts.</Description>
    </Code>
    <Code guid="5b1d2a9e-0000-4000-8000-000000000006" name="Empty folder" isCodable="false"/>
  </Codes>
</CodeBook>
""",
        encoding="utf-8",
    )
    codebook = load_codebook(path)
    assert codebook.name == "nvivo"
    assert codebook.theme_ids == ["partnership_working", "empty_folder", "uncategorised"]
    partnership = codebook.themes[0]
    assert partnership.description == "How partners work together."
    # Nested codes are flattened into the theme; clashing derived ids are numbered.
    assert [c.id for c in partnership.codes] == ["trust", "meetings_comms", "trust_2"]
    # an id from the file's order: the decisions on it would move if the tool reordered the codes
    assert "named like 'Trust', so this one gets the id 'trust_2' from its place in the file" in caplog.text
    assert ("code 'Meetings & comms' in theme 'Partnership working' has codes below it ('Trust'); they become "
            "codes of the theme beside it") in caplog.text
    assert "'Empty folder'" in caplog.text and "has no codes, so no segment can be coded under it" in caplog.text
    assert partnership.codes[0].definition == "Statements about trust between organisations."
    assert partnership.codes[1].label == "Meetings & comms"
    assert partnership.codes[1].definition == "Meetings & comms"  # no description: the name
    assert codebook.themes[1].codes == []
    funding = codebook.code_by_id("funding")
    assert funding.color == "#FF8800"
    assert codebook.theme_of("funding").label == "Uncategorised"


def test_qdc_without_namespace_and_with_partial_sections(tmp_path):
    path = tmp_path / "handmade.qdc"
    path.write_text(
        '<CodeBook><Codes><Code guid="g1" name="Outcomes" isCodable="false">'
        '<Code guid="g2" name="Wellbeing" isCodable="true">'
        "<Description>Residents feel better.\nInclude: loneliness; confidence</Description>"
        "</Code></Code></Codes></CodeBook>",
        encoding="utf-8",
    )
    code = load_codebook(path).code_by_id("wellbeing")
    assert code.definition == "Residents feel better."
    assert code.include == ["loneliness", "confidence"]


def test_qdc_iscodable_written_as_0_or_1_is_read_as_a_boolean(tmp_path):
    # isCodable is an xsd:boolean, so "0" and "1" are as valid as "false" and "true".
    path = tmp_path / "numeric.qdc"
    path.write_text(
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="1" name="Outcomes" isCodable="0">'
        '<Code guid="2" name="Folder" isCodable="0">'
        '<Code guid="3" name="Wellbeing" isCodable="1"/></Code></Code>'
        '<Code guid="4" name="Later" isCodable="0"/>'
        "</Codes></CodeBook>",
        encoding="utf-8",
    )
    codebook = load_codebook(path)
    assert codebook.code_ids == ["wellbeing"]  # the folder is no code
    assert codebook.code_by_id("wellbeing").label == "Folder / Wellbeing"
    assert codebook.theme_ids == ["outcomes", "later"]  # an empty theme, not an uncategorised code


def test_qdc_short_colours_are_read(tmp_path):
    # REFI-QDA's RGBType allows "#RGB" as well as "#RRGGBB".
    path = tmp_path / "short.qdc"
    path.write_text(
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
        '<Code guid="1" name="Outcomes" isCodable="false" color="#0a0">'
        '<Code guid="2" name="Wellbeing" isCodable="true" color="#F80"/></Code>'
        "</Codes></CodeBook>",
        encoding="utf-8",
    )
    codebook = load_codebook(path)
    assert codebook.themes[0].color == "#00aa00"
    assert codebook.code_by_id("wellbeing").color == "#FF8800"


def test_qdc_with_doctype_or_entities_is_rejected(tmp_path):
    path = tmp_path / "evil.qdc"
    path.write_text(
        """<?xml version="1.0"?>
<!DOCTYPE CodeBook [<!ENTITY boom "boom boom boom">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
  <Code guid="g" name="&boom;" isCodable="true"/>
</Codes></CodeBook>
""",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="DTD or entity") as caught:
        load_codebook(path)
    assert caught.value.file == str(path)


def test_malformed_qdc_and_wrong_root_are_rejected(tmp_path):
    broken = tmp_path / "broken.qdc"
    broken.write_text("<CodeBook><Codes><Code name='x'></Codes>", encoding="utf-8")
    with pytest.raises(InputError, match="not well-formed XML at line 1"):
        load_codebook(broken)
    other = tmp_path / "other.qdc"
    other.write_text("<Project/>", encoding="utf-8")
    with pytest.raises(InputError, match="not a REFI-QDA <CodeBook>"):
        load_codebook(other)


def test_qdc_validation_problems_name_the_code(tmp_path):
    codebook = Codebook.model_validate(small_codebook_data())
    write_codebook_qdc(codebook, tmp_path / "c.qdc")
    text = (tmp_path / "c.qdc").read_text(encoding="utf-8").replace("ID: res_staff", "ID: res_funding")
    (tmp_path / "c.qdc").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_codebook(tmp_path / "c.qdc")
    assert ("themes[0].codes[1].id (code 'Staff'): duplicate code id 'res_funding' "
            "(also at themes[0].codes[0] (code 'Funding'))") in str(caught.value)


def test_parse_description_text_sections():
    preamble, sections = parse_description_text(
        "Free text first.\nDefinition: Core meaning\n  continued.\nExamples:\n- one\n  more\n- two\nID: x_1"
    )
    assert preamble == "Free text first."
    assert sections["definition"] == "Core meaning\ncontinued."
    assert sections["examples"] == ["one\nmore", "two"]
    assert sections["id"] == "x_1"


def test_derive_id():
    assert derive_id("Funding & Finance (2023)") == "funding_finance_2023"
    assert derive_id("Santé publique") == "sante_publique"
    assert derive_id("!!!") == "code"


# ------------------------------------------------------------------------ CSV / XLSX

TABLE_HEADER = ["theme", "theme_label", "code", "label", "definition", "include", "exclude",
                "examples", "aliases"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",",
              encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


CSV_ROWS = [
    ["resources", "Resources", "res_funding", "Funding", "Money available.",
     "grant cuts; short-term grants", "ending funding (use leg_end)", "We lost the grant.", "money"],
    ["resources", "", "res_staff", "Staff", "Staff time.", "- vacancies\n- turnover; churn", "", "", ""],
    ["legacy", "Legacy", "leg_end", "Ending", "After the grant.", "", "", "", ""],
]


def test_csv_import_and_yaml_round_trip(tmp_path):
    codebook = load_codebook(write_csv(tmp_path / "codebook.csv", TABLE_HEADER, CSV_ROWS))
    assert codebook.name == "codebook"
    assert codebook.theme_ids == ["resources", "legacy"]
    assert codebook.themes[0].label == "Resources"
    funding = codebook.code_by_id("res_funding")
    assert funding.include == ["grant cuts", "short-term grants"]
    assert funding.aliases == ["money"]
    # One item per line: semicolons inside an item stay.
    assert codebook.code_by_id("res_staff").include == ["vacancies", "turnover; churn"]

    write_codebook_yaml(codebook, tmp_path / "codebook.yaml")
    assert load_codebook(tmp_path / "codebook.yaml") == codebook


def test_csv_with_semicolons_and_without_optional_columns(tmp_path):
    header = ["Theme", "Code", "Label", "Definition", "Include", "Exclude", "Examples"]
    rows = [["outcomes", "out_access", "Access", "Reaching services, e.g. GPs.", "referrals", "", ""]]
    codebook = load_codebook(write_csv(tmp_path / "c.csv", header, rows, delimiter=";"))
    assert codebook.themes[0].label == "Outcomes"  # derived from the id
    assert codebook.code_by_id("out_access").definition == "Reaching services, e.g. GPs."


def test_csv_in_cp1252_is_decoded(tmp_path):
    rows = [["resources", "Resources", "res_funding", "Funding", "Money – cuts “hurt”.", "", "", "", ""]]
    path = write_csv(tmp_path / "c.csv", TABLE_HEADER, rows, encoding="cp1252")
    assert load_codebook(path).code_by_id("res_funding").definition == "Money – cuts “hurt”."


def test_csv_missing_column_lists_the_columns_present(tmp_path):
    header = ["theme", "code", "label", "include", "exclude", "examples"]
    with pytest.raises(InputError) as caught:
        load_codebook(write_csv(tmp_path / "c.csv", header, [["a", "b", "c", "", "", ""]]))
    text = str(caught.value)
    assert "missing required column 'definition'" in text
    assert "'theme', 'code', 'label', 'include', 'exclude', 'examples'" in text


def test_a_repeated_column_is_an_error_and_an_unknown_one_a_warning(tmp_path, caplog):
    header = ["theme", "code", "label", "definition", "include", "exclude", "examples", "Examples"]
    with pytest.raises(InputError, match=r"the column 'examples' appears 2 times \(columns G, H\)"):
        load_codebook(write_csv(tmp_path / "c.csv", header, [["a", "b", "c", "d", "", "", "x", "y"]]))
    header = ["theme", "code", "label", "definition", "include", "exclude", "examples", "alias", "notes"]
    codebook = load_codebook(write_csv(tmp_path / "d.csv", header, [["a", "b", "c", "d", "", "", "", "old_b", "n"]]))
    assert codebook.code_by_id("b").aliases == []
    assert "the column 'alias' is not a codebook column and is not read; did you mean 'aliases'?" in caplog.text
    assert "the column 'notes' is not a codebook column and is not read (the columns read are theme," in caplog.text
    header = ["theme", "code", "label", "definition", "include", "exclude", "examples", "aliases"]
    with pytest.raises(InputError, match="to give several, separate them with ';' or put one per line"):
        load_codebook(write_csv(tmp_path / "e.csv", header, [["a", "b", "c", "d", "", "", "", "old_b, older_b"]]))


def test_csv_errors_name_rows_and_columns(tmp_path):
    rows = [list(row) for row in CSV_ROWS]
    rows[1][4] = ""                    # row 3: empty definition
    rows[2][2] = "res_funding"         # row 4: duplicate of row 2
    with pytest.raises(InputError) as caught:
        load_codebook(write_csv(tmp_path / "c.csv", TABLE_HEADER, rows))
    messages = problem_messages(caught.value)
    assert any("row 3, column 'definition': must not be empty" in m for m in messages)
    assert any("row 4, column 'code': duplicate code id 'res_funding' (also at row 2)" in m
               for m in messages)


def test_csv_conflicting_theme_labels_are_reported(tmp_path):
    rows = [list(row) for row in CSV_ROWS]
    rows[1][1] = "Something else"
    with pytest.raises(InputError) as caught:
        load_codebook(write_csv(tmp_path / "c.csv", TABLE_HEADER, rows))
    assert any("row 3, column 'theme_label'" in m for m in problem_messages(caught.value))


def test_xlsx_import(tmp_path):
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active["A1"] = "This sheet is ignored"
    sheet = workbook.create_sheet("Codebook")
    sheet.append(["Theme", "Theme label", "Code", "Label", "Definition", "Include", "Exclude",
                  "Examples"])
    sheet.append(["resources", "Resources", "res_funding", "Funding", "Money available.",
                  "cuts\ngrants", None, "We lost the grant."])
    sheet.append([None] * 8)
    sheet.append(["resources", None, 12, "Numbered", "A code whose id Excel stored as a number.",
                  None, None, None])
    workbook.save(tmp_path / "c.xlsx")

    codebook = load_codebook(tmp_path / "c.xlsx")
    assert codebook.code_ids == ["res_funding", "12"]
    assert codebook.code_by_id("res_funding").include == ["cuts", "grants"]
    assert codebook.code_by_id("res_funding").exclude == []


def test_xlsx_errors_name_rows(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["theme", "code", "label", "definition", "include", "exclude", "examples"])
    sheet.append(["resources", "res_funding", "Funding", "Money.", None, None, None])
    sheet.append(["resources", "bad id", "Bad", "Money.", None, None, None])
    workbook.save(tmp_path / "c.xlsx")
    with pytest.raises(InputError) as caught:
        load_codebook(tmp_path / "c.xlsx")
    assert any("row 3, column 'code': 'bad id' is not a valid id" in m
               for m in problem_messages(caught.value))


def test_xlsx_codebook_on_another_sheet_is_pointed_to(tmp_path):
    workbook = Workbook()
    workbook.active.title = "Cover"
    workbook.active.append(["Thriving Together codebook, version 3"])
    workbook.create_sheet("Codes").append(["theme", "code", "label", "definition"])
    workbook.save(tmp_path / "c.xlsx")
    with pytest.raises(InputError) as caught:
        load_codebook(tmp_path / "c.xlsx")
    assert ("these are sheet 'Cover' of 2 ('Cover', 'Codes'): the sheet named 'codebook' is read, or else "
            "the first one") in str(caught.value)


def test_xlsx_reference_sheet_is_formatted_and_reads_back(shipped, tmp_path):
    write_codebook_xlsx(shipped, tmp_path / "codebook.xlsx")
    sheet = load_workbook(tmp_path / "codebook.xlsx").active
    header = [cell.value for cell in sheet[1]]
    assert header[:8] == ["theme", "theme_label", "code", "label", "definition", "include",
                          "exclude", "examples"]
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "C2"
    assert sheet["E2"].alignment.wrap_text
    assert sheet.column_dimensions["E"].width >= 40
    assert sheet.max_row == len(shipped.codes) + 1

    again = load_codebook(tmp_path / "codebook.xlsx")
    assert again.themes == shipped.themes


def test_xlsx_export_stores_formula_like_text_as_text(tmp_path):
    codebook = Codebook(name="x", themes=[Theme(id="t", label="T", codes=[
        Code(id="c", label="=HYPERLINK(\"http://x\")", definition="+1 is not a formula",
             include=["-dash"])])])
    write_codebook_xlsx(codebook, tmp_path / "c.xlsx")
    sheet = load_workbook(tmp_path / "c.xlsx").active
    assert sheet["D2"].data_type == "s"
    assert load_codebook(tmp_path / "c.xlsx").themes == codebook.themes


def test_split_list_cell():
    assert split_list_cell("a; b ;; c") == ["a", "b", "c"]
    assert split_list_cell("• one\r\n• two; three\n") == ["one", "two; three"]
    assert split_list_cell("") == []


# ---------------------------------------------------------------------------- stage


def test_run_codebook_export_writes_qdc_and_xlsx(tmp_path):
    (tmp_path / "codebook").mkdir()
    (tmp_path / "codebook" / "codebook.yaml").write_bytes(SHIPPED_CODEBOOK.read_bytes())
    run_codebook_export({"codebook": {"file": "codebook/codebook.yaml"}}, tmp_path)
    shipped = load_codebook(SHIPPED_CODEBOOK)
    assert load_codebook(tmp_path / paths.CODEBOOK_QDC) == shipped
    assert load_codebook(tmp_path / paths.CODEBOOK_XLSX).themes == shipped.themes
    leftovers = [p.name for p in (tmp_path / "reports").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_run_codebook_export_refuses_a_codebook_without_codes(tmp_path):
    # A .qdc needs at least one Code; an empty export imports nowhere.
    (tmp_path / "codebook").mkdir()
    (tmp_path / "codebook" / "codebook.qdc").write_text(
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', encoding="utf-8")
    with pytest.raises(InputError, match="the codebook has no codes") as caught:
        run_codebook_export({"codebook": {"file": "codebook/codebook.qdc"}}, tmp_path)
    assert caught.value.file == str(tmp_path / "codebook" / "codebook.qdc")
    assert not (tmp_path / paths.CODEBOOK_QDC).exists()


def test_run_codebook_export_reports_a_missing_codebook(tmp_path):
    with pytest.raises(InputError, match="codebook file not found"):
        run_codebook_export({"codebook": {"file": "codebook/missing.yaml"}}, tmp_path)


# ------------------------------------------------------------ labelled benchmark set


def test_labelled_segments_match_the_shipped_codebook(shipped):
    path = REPO / "benchmarks" / "data" / "labelled_segments.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["segment_id", "text", "gold_code", "site", "sector", "method"]
    assert len(rows) >= 170
    assert len({row["segment_id"] for row in rows}) == len(rows)
    assert all(re.fullmatch(r"L\d{3}", row["segment_id"]) for row in rows)
    counts = {code_id: 0 for code_id in shipped.code_ids}
    for row in rows:
        counts[row["gold_code"]] += 1  # KeyError: a gold code missing from the codebook
        assert row["sector"] in {"voluntary", "statutory_health", "local_authority", "programme"}
        assert row["method"] in {"interview", "survey", "observation", "workshop"}
        assert row["text"].strip()
    assert min(counts.values()) >= 6, counts
    # The set tests meaning, not overlap with the codebook's own wording.
    codebook_phrases = [text.lower() for code in shipped.codes for text in code.examples + code.include]
    assert not [row["segment_id"] for row in rows
                if any(phrase in row["text"].lower() for phrase in codebook_phrases)]


# ------------------------------------------- list cells: xlsx export reads back unchanged

AWKWARD_ITEMS = [
    "Grant cuts; underspends carried over",
    "First line of a quote\nsecond line of the same quote",
    "- starts with a dash",
    "• starts with a bullet; and has a semicolon",
    "* starts with a star",
    "A list inside an item:\n- first\n- second",
    "Indented lines\n  stay indented\n\tand tabbed",
    "A blank line\n\nin the middle",
    "=SUM(A1:A2) is not a formula",
    "-",
]


def test_xlsx_export_reads_back_items_with_semicolons_and_line_breaks(tmp_path):
    codebook = Codebook(name="x", version="1", themes=[Theme(id="t", label="T", codes=[
        Code(id="c", label="C", definition="D.", include=AWKWARD_ITEMS[:4],
             exclude=AWKWARD_ITEMS[4:], examples=["We lost the grant; then we lost two staff.",
                                                 "Single item with\na line break"],
             aliases=["old.id", "older-id"]),
        Code(id="single", label="S", definition="D.", include=["one; item only"],
             examples=["one item\nover two lines"]),
    ])])
    write_codebook_xlsx(codebook, tmp_path / "codebook.xlsx")
    assert load_codebook(tmp_path / "codebook.xlsx").themes == codebook.themes

    # The cells are readable: one bulleted item per line, further lines indented.
    sheet = load_workbook(tmp_path / "codebook.xlsx").active
    header = [cell.value for cell in sheet[1]]
    examples = sheet.cell(row=2, column=header.index("examples") + 1).value
    assert examples == ("• We lost the grant; then we lost two staff.\n"
                        "• Single item with\n  a line break")
    assert sheet.cell(row=3, column=header.index("include") + 1).value == "• one; item only"


def test_xlsx_edited_by_an_analyst_still_reads_as_items(tmp_path):
    codebook = Codebook(name="x", themes=[Theme(id="t", label="T", codes=[
        Code(id="c", label="C", definition="D.", include=["Grant cuts; underspends"])])])
    write_codebook_xlsx(codebook, tmp_path / "codebook.xlsx")
    workbook = load_workbook(tmp_path / "codebook.xlsx")
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("include") + 1)
    # Added lines with a bullet, without one, and a continuation of the new item.
    cell.value += "\n- Cash-flow; late payments\nMatch funding\n  for bids"
    workbook.save(tmp_path / "codebook.xlsx")
    assert load_codebook(tmp_path / "codebook.xlsx").codes[0].include == [
        "Grant cuts; underspends", "Cash-flow; late payments", "Match funding\nfor bids"]


def test_hand_written_list_cells_in_xlsx_and_csv(tmp_path):
    cells = {
        # Read as before: ";" between items on one line, one item per line otherwise.
        "semicolons": ("a; b ;; c", ["a", "b", "c"]),
        "lines": ("a\nb; still b\n\n", ["a", "b; still b"]),
        "bullets": ("- a\n- b; still b", ["a", "b; still b"]),
        "crlf": ("• one\r\n• two; three\r\n", ["one", "two; three"]),
        "indented bullets": ("  - a\n  - b", ["a", "b"]),
        "mixed": ("cuts\n- grants", ["cuts", "grants"]),
        # Bulleted cells: a bullet marks one item, an indented line continues it.
        "one bullet": ("- Grant cuts; underspends", ["Grant cuts; underspends"]),
        "continued": ("- a quote\n  over two lines\n- next", ["a quote\nover two lines", "next"]),
    }
    header = ["theme", "code", "label", "definition", "include", "exclude", "examples"]
    rows = [["t", f"c{n}", name, "D.", text, None, None]
            for n, (name, (text, _expected)) in enumerate(cells.items())]
    workbook = Workbook()
    for row in [header, *rows]:
        workbook.active.append(row)
    workbook.save(tmp_path / "c.xlsx")
    write_csv(tmp_path / "c.csv", header, [[value or "" for value in row] for row in rows])
    for path in (tmp_path / "c.xlsx", tmp_path / "c.csv"):
        codebook = load_codebook(path)
        read = {code.label: code.include for code in codebook.codes}
        assert read == {name: expected for name, (_text, expected) in cells.items()}, path.name


def test_split_list_cell_bulleted_items():
    assert split_list_cell("• a; b") == ["a; b"]
    assert split_list_cell("• - dash item\n• • bullet item") == ["- dash item", "• bullet item"]
    assert split_list_cell("• a\n    b\n  \n  c\n\n• d\n") == ["a\n  b\n\nc", "d"]
    assert split_list_cell("\n- a\n\tb") == ["a\nb"]
    assert split_list_cell("-dash; no space") == ["-dash", "no space"]


# ------------------------------------------------ .qdc: non-codable groupings below a theme

GROUPED_QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0">
 <Codes>
  <Code guid="1" name="Resources" isCodable="false">
   <Description>Money and people.</Description>
   <Code guid="2" name="Funding" isCodable="true"><Description>Money issues.</Description>
     <Code guid="3" name="Short-term grants" isCodable="true"><Description>Grants of a year or less.</Description></Code>
   </Code>
   <Code guid="4" name="Staffing group" isCodable="false"><Description>Grouping folder for staffing codes.</Description>
     <Code guid="5" name="Turnover" isCodable="true"><Description>Staff leaving.</Description></Code>
     <Code guid="6" name="Agency staff" isCodable="false">
       <Code guid="7" name="Costs" isCodable="true"/>
     </Code>
   </Code>
  </Code>
  <Code guid="10" name="Partnership" isCodable="false">
   <Code guid="11" name="Barriers" isCodable="false">
     <Code guid="12" name="Trust" isCodable="true"><Description>Low trust.</Description></Code>
   </Code>
   <Code guid="13" name="Enablers" isCodable="false">
     <Code guid="14" name="Trust" isCodable="true"><Description>High trust.</Description></Code>
   </Code>
   <Code guid="15" name="Empty folder" isCodable="false"><Description>Codes to come.</Description></Code>
   <Code guid="16" name="Bare folder" isCodable="false"/>
  </Code>
 </Codes>
</CodeBook>
"""


def test_qdc_non_codable_grouping_below_a_theme_is_not_a_code(tmp_path, caplog):
    path = tmp_path / "grouped.qdc"
    path.write_text(GROUPED_QDC, encoding="utf-8")
    with caplog.at_level("WARNING", logger="pipeline.codebook"):
        codebook = load_codebook(path)

    assert codebook.theme_ids == ["resources", "partnership"]
    resources, partnership = codebook.themes
    # The grouping is not a code; its codes are, labelled with the grouping's name.
    assert [(c.id, c.label) for c in resources.codes] == [
        ("funding", "Funding"), ("short_term_grants", "Short-term grants"),
        ("turnover", "Staffing group / Turnover"),
        ("costs", "Staffing group / Agency staff / Costs"),
    ]
    assert "staffing_group" not in codebook.code_ids
    assert codebook.code_by_id("turnover").definition == "Staff leaving."
    # The grouping's description is kept in the theme's.
    assert resources.description == ("Money and people.\n\n"
                                     "Staffing group: Grouping folder for staffing codes.")
    # Codes of the same name in two groupings stay distinguishable.
    assert [(c.id, c.label, c.definition) for c in partnership.codes] == [
        ("trust", "Barriers / Trust", "Low trust."),
        ("trust_2", "Enablers / Trust", "High trust."),
    ]
    assert partnership.description == "Empty folder: Codes to come."

    warnings = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert ("'Staffing group' in theme 'Resources' is not codable, so it is read as a grouping "
            "of codes and is not a code itself; the 2 code(s) below it become codes of the "
            "theme, labelled 'Staffing group / Turnover', 'Staffing group / Agency staff / Costs'; "
            "its description is added to the theme's description") in warnings
    assert "'Empty folder' in theme 'Partnership' is not codable" in warnings
    assert "'Bare folder' in theme 'Partnership' is not codable" in warnings
    assert "no codable code is below it" in warnings


def test_qdc_grouping_with_structured_description_says_what_is_unused(tmp_path, caplog):
    # A code exported by this pipeline and then made non-codable in another tool.
    codebook = Codebook.model_validate(small_codebook_data())
    write_codebook_qdc(codebook, tmp_path / "c.qdc")
    text = (tmp_path / "c.qdc").read_text(encoding="utf-8")
    funding_start = text.index('name="Funding" isCodable="true"')
    text = text[:funding_start] + text[funding_start:].replace(
        'isCodable="true"', 'isCodable="false"', 1)
    (tmp_path / "c.qdc").write_text(text, encoding="utf-8")
    with caplog.at_level("WARNING", logger="pipeline.codebook"):
        again = load_codebook(tmp_path / "c.qdc")
    assert "res_funding" not in again.code_ids
    assert again.themes[0].description == "Money and people.\n\nFunding: Money available."
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert ("'Funding' in theme 'Resources' is not codable" in warnings
            and "its Include, Exclude, Examples, Aliases, ID (res_funding) section(s) are not used"
            in warnings)


# --------------------------------------------------------------------------- guids

QDC_NS = {"q": "urn:QDA-XML:codebook:1.0"}


def qdc_guids(path: Path) -> dict[str, str]:
    """Name → guid of every Code element of a .qdc file, parsed as XML."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return {element.get("name"): element.get("guid") for element in root.iter(f"{{{QDC_NS['q']}}}Code")}


def test_guid_of_a_code_never_renamed_is_as_before(shipped, tmp_path):
    # Computed with the code before guids could be given: projects that never
    # renamed a code must keep matching the codes in their QDA tool.
    write_codebook_qdc(shipped, tmp_path / "c.qdc")
    guids = qdc_guids(tmp_path / "c.qdc")
    assert guids["Funding and financial pressure"] == "80396063-b617-582e-9133-163c4cf21512"
    assert guids["Resources and capacity"] == "9de45f08-0300-5b63-8b38-75c66b73eba1"


def test_renamed_code_keeps_the_guid_of_its_original_id(tmp_path):
    before = Codebook(name="x", themes=[Theme(id="t", label="T", codes=[
        Code(id="funding", label="Funding", definition="Money.")])])
    after = Codebook(name="x", themes=[Theme(id="t", label="T", codes=[
        Code(id="res_funding", label="Funding", definition="Money.",
             aliases=["funding", "res_money"])])])
    write_codebook_qdc(before, tmp_path / "before.qdc")
    write_codebook_qdc(after, tmp_path / "after.qdc")
    assert qdc_guids(tmp_path / "after.qdc")["Funding"] == qdc_guids(tmp_path / "before.qdc")["Funding"]


def test_given_guid_is_normalised_and_exported(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["guid"] = "{5B1D2A9E-0000-4000-8000-0000000000AA}"
    data["themes"][0]["codes"][1]["guid"] = "5B1D2A9E-0000-4000-8000-0000000000BB"
    codebook = load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert codebook.themes[0].guid == "5b1d2a9e-0000-4000-8000-0000000000aa"
    write_codebook_qdc(codebook, tmp_path / "c.qdc")
    guids = qdc_guids(tmp_path / "c.qdc")
    assert guids["Resources"] == "5b1d2a9e-0000-4000-8000-0000000000aa"
    assert guids["Staff"] == "5b1d2a9e-0000-4000-8000-0000000000bb"


def test_bad_guid_is_named_by_line_and_code(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["codes"][1]["guid"] = "not-a-guid"
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    assert ("line 22, themes[0].codes[1].guid (code 'res_staff'): 'not-a-guid' is not a guid"
            in str(caught.value))


def test_duplicate_guid_is_named_by_line_and_code(tmp_path):
    data = small_codebook_data()
    data["themes"][0]["codes"][1]["guid"] = "5b1d2a9e-0000-4000-8000-0000000000bb"
    data["themes"][1]["codes"][0]["guid"] = "5B1D2A9E-0000-4000-8000-0000000000BB"
    with pytest.raises(InputError) as caught:
        load_codebook(write_yaml(tmp_path / "c.yaml", data))
    text = str(caught.value)
    assert ("themes[1].codes[0].guid (code 'leg_end'): guid 5b1d2a9e-0000-4000-8000-0000000000bb "
            "is also the guid of line 19, themes[0].codes[1] (code 'res_staff')") in text
    assert re.search(r"line \d+, themes\[1\]\.codes\[0\]\.guid", text)


def test_given_guid_may_not_take_a_derived_one():
    with pytest.raises(ValueError, match="derived from its id"):
        Codebook(name="x", themes=[Theme(id="t", label="T", codes=[
            Code(id="a", label="A", definition="A."),
            Code(id="b", label="B", definition="B.", guid=code_guid("a"))])])


OTHER_TOOL_QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0">
 <Codes>
  <Code guid="{0A1B2C3D-0000-4000-8000-000000000001}" name="Partnership" isCodable="false">
   <Code guid="0A1B2C3D-0000-4000-8000-000000000002" name="Trust" isCodable="true" color="#FF8800">
    <Description>Partners rely on each other.</Description></Code>
   <Code guid="0a1b2c3d-0000-4000-8000-000000000003" name="Conflict" isCodable="true"/>
  </Code>
 </Codes>
</CodeBook>
"""


def test_qdc_from_another_tool_keeps_its_guids_on_export(tmp_path):
    (tmp_path / "nvivo.qdc").write_text(OTHER_TOOL_QDC, encoding="utf-8")
    codebook = load_codebook(tmp_path / "nvivo.qdc")
    assert codebook.codes[0].guid == "0a1b2c3d-0000-4000-8000-000000000002"
    write_codebook_qdc(codebook, tmp_path / "again.qdc")
    assert qdc_guids(tmp_path / "again.qdc") == {
        "Partnership": "0a1b2c3d-0000-4000-8000-000000000001",
        "Trust": "0a1b2c3d-0000-4000-8000-000000000002",
        "Conflict": "0a1b2c3d-0000-4000-8000-000000000003"}
    # ... and through the YAML the user may keep it in.
    write_codebook_yaml(codebook, tmp_path / "c.yaml")
    assert "guid: 0a1b2c3d-0000-4000-8000-000000000002" in (tmp_path / "c.yaml").read_text()
    assert load_codebook(tmp_path / "c.yaml") == codebook


def test_qdc_guid_that_is_not_a_guid_is_dropped_with_a_warning(tmp_path, caplog):
    (tmp_path / "c.qdc").write_text(OTHER_TOOL_QDC.replace(
        "0a1b2c3d-0000-4000-8000-000000000003", "g3"), encoding="utf-8")
    codebook = load_codebook(tmp_path / "c.qdc")
    assert codebook.codes[1].guid is None
    assert "'Conflict': 'g3' is not a guid" in caplog.text


def test_qdc_with_one_guid_twice_is_rejected_naming_the_code(tmp_path):
    (tmp_path / "c.qdc").write_text(OTHER_TOOL_QDC.replace(
        "0a1b2c3d-0000-4000-8000-000000000003", "0a1b2c3d-0000-4000-8000-000000000002"),
        encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_codebook(tmp_path / "c.qdc")
    assert "themes[0].codes[1].guid (code 'Conflict'): guid 0a1b2c3d" in str(caught.value)


def test_xlsx_round_trip_keeps_guids_colours_name_and_version(tmp_path):
    codebook = Codebook(name="Partnerships framework", version="2.1", themes=[
        Theme(id="t", label="T", color="#AA0000", guid="0a1b2c3d-0000-4000-8000-000000000001",
              codes=[Code(id="a", label="A", definition="A.", color="#00FF00",
                          guid="0a1b2c3d-0000-4000-8000-000000000002"),
                     Code(id="b", label="B", definition="B.", aliases=["old_b"])]),
        Theme(id="u", label="U", codes=[Code(id="c", label="C", definition="C.")])])
    write_codebook_xlsx(codebook, tmp_path / "c.xlsx")
    workbook = load_workbook(tmp_path / "c.xlsx")
    header = [cell.value for cell in workbook["codebook"][1]]
    row = dict(zip(header, (cell.value for cell in workbook["codebook"][2])))
    assert row["guid"] == "0a1b2c3d-0000-4000-8000-000000000002"
    assert (row["color"], row["theme_color"]) == ("#00FF00", "#AA0000")
    assert [[cell.value for cell in r] for r in workbook["about"].iter_rows()] == [
        ["field", "value"], ["name", "Partnerships framework"], ["version", "2.1"]]
    assert load_codebook(tmp_path / "c.xlsx") == codebook


def test_shipped_codebook_reads_back_from_xlsx_and_qdc_unchanged(shipped, tmp_path):
    write_codebook_xlsx(shipped, tmp_path / "c.xlsx")
    assert load_codebook(tmp_path / "c.xlsx") == shipped
    write_codebook_qdc(load_codebook(tmp_path / "c.xlsx"), tmp_path / "c.qdc")
    write_codebook_qdc(shipped, tmp_path / "direct.qdc")
    assert (tmp_path / "c.qdc").read_bytes() == (tmp_path / "direct.qdc").read_bytes()


def test_qdc_to_xlsx_to_qdc_keeps_another_tools_guids(tmp_path):
    (tmp_path / "nvivo.qdc").write_text(OTHER_TOOL_QDC, encoding="utf-8")
    write_codebook_xlsx(load_codebook(tmp_path / "nvivo.qdc"), tmp_path / "c.xlsx")
    write_codebook_qdc(load_codebook(tmp_path / "c.xlsx"), tmp_path / "again.qdc")
    assert qdc_guids(tmp_path / "again.qdc") == {
        name: guid.strip("{}").lower() for name, guid in qdc_guids(tmp_path / "nvivo.qdc").items()}


def test_conflicting_theme_guids_in_a_table_are_named(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("theme,code,label,definition,include,exclude,examples,theme_guid\n"
                    "t,a,A,A.,,,,0a1b2c3d-0000-4000-8000-000000000001\n"
                    "t,b,B,B.,,,,0a1b2c3d-0000-4000-8000-000000000009\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_codebook(path)
    assert any("theme_guid '0a1b2c3d-0000-4000-8000-000000000009' differs" in m
               for m in problem_messages(caught.value))


def test_theme_colour_may_be_given_on_a_later_row_only(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("theme,code,label,definition,include,exclude,examples,theme_color\n"
                    "t,a,A,A.,,,,\n"
                    "t,b,B,B.,,,,#AA0000\n", encoding="utf-8")
    assert load_codebook(path).themes[0].color == "#AA0000"
