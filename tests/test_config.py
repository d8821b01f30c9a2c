import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_config, load_schema, reference_markdown, validate_config
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _walk(properties, required, prefix=""):
    for name, sub in properties.items():
        yield f"{prefix}{name}", sub, name in required
        if "properties" in sub:
            yield from _walk(sub["properties"], sub.get("required", []), f"{prefix}{name}.")
        items = sub.get("items", {})
        if isinstance(items, dict) and "properties" in items:
            yield from _walk(items["properties"], items.get("required", []), f"{prefix}{name}[].")


def test_every_key_has_a_description_and_a_default():
    schema = load_schema()
    missing = [
        key
        for key, sub, required in _walk(schema["properties"], schema.get("required", []))
        if not sub.get("description") or ("default" not in sub and not required)
    ]
    assert missing == []


def test_every_key_uses_only_json_schema_keywords():
    # A YAML slip such as "{description: a (b, c)., type: integer}" splits the
    # description into stray keys, which JSON Schema ignores without a word.
    keywords = {"description", "type", "default", "enum", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum", "items", "properties", "additionalProperties", "required", "minItems",
                "maxItems", "minLength", "pattern", "oneOf", "anyOf", "uniqueItems", "propertyNames",
                "minProperties", "examples"}
    schema = load_schema()
    stray = {key: sorted(set(sub) - keywords)
             for key, sub, _ in _walk(schema["properties"], schema.get("required", [])) if set(sub) - keywords}
    assert stray == {}


def test_defaults_fill_an_empty_config(tmp_path):
    config = load_config(tmp_path)
    assert config["ingest"]["on_bad_file"] == "stop"
    assert config["suggest"]["top_k"] == 3
    assert "voluntary" in config["sectors"]


def test_unknown_key_is_an_error_naming_it(tmp_path):
    (tmp_path / "config.yaml").write_text("ingest:\n  max_segmnt_chars: 500\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert "max_segmnt_chars" in str(error.value)
    assert "config.yaml" in str(error.value)


def test_wrong_type_is_an_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"suggest\.top_k"):
        validate_config({"suggest": {"top_k": "three"}})


def test_survey_entry_requires_its_text_columns():
    with pytest.raises(ConfigError, match=r"surveys\.0.*text_columns"):
        validate_config({"surveys": [{"file": "x.csv", "wave": "1"}]})


def test_malformed_yaml_names_the_file(tmp_path):
    (tmp_path / "config.yaml").write_text("ingest: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path)
    (tmp_path / "config.yaml").write_text("sites:\n  a: A\nsites:\n  b: B\n")   # the first would vanish
    with pytest.raises(ConfigError, match="the key 'sites' appears twice"):
        load_config(tmp_path)


def test_shipped_example_config_is_valid():
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    validate_config(config)


def test_readme_config_reference_is_up_to_date():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- config-reference:start -->\n(.*?)<!-- config-reference:end -->", readme, re.S)
    assert match, "README.md lacks the config-reference markers"
    assert match.group(1) == reference_markdown(), (
        "README config reference is stale: regenerate it with `python -m pipeline config-reference`"
    )


def test_unknown_key_suggests_the_nearest_known_key():
    with pytest.raises(ConfigError) as error:
        validate_config({"sugest": {"top_k": 3}, "ingest": {"max_segmnt_chars": 500}})
    message = str(error.value)
    assert "sugest: unknown key (did you mean suggest?)" in message
    assert "ingest.max_segmnt_chars: unknown key (did you mean ingest.max_segment_chars?)" in message


@pytest.mark.parametrize("config_text, key", [
    ("sugest:\n  top_k: 3\n", "sugest"),
    ("embedding:\n  shards: \"2\"\n", "embedding.shards"),
])
def test_snakemake_reports_a_bad_config_in_a_few_lines_naming_the_file_and_key(tmp_path, config_text, key):
    from tests.conftest import run_snakemake

    (tmp_path / "config.yaml").write_text(config_text, encoding="utf-8")
    result = run_snakemake(tmp_path, "--dry-run", check=False)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0
    assert f"{tmp_path / 'config.yaml'}: invalid configuration" in output
    assert f"  {key}: " in output
    assert "README's config reference" in output  # what to do
    assert len(output.splitlines()) <= 8, output


def test_snakemake_names_the_line_of_a_yaml_mistake_in_config_yaml(tmp_path):
    from tests.conftest import run_snakemake

    (tmp_path / "config.yaml").write_text("project:\n  name: x\n sites:\n  a: b\n", encoding="utf-8")
    result = run_snakemake(tmp_path, "--dry-run", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config.yaml: not valid YAML" in output and 'in "config.yaml", line 3, column 2' in output


def test_snakemake_points_a_missing_codebook_to_the_one_beside_it(tmp_path):
    from tests.conftest import run_snakemake

    (tmp_path / "codebook").mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "codebook" / "codebook.yaml", tmp_path / "codebook" / "ours.yaml")
    result = run_snakemake(tmp_path, "--dry-run", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "MissingInputException" not in output
    assert ("codebook/codebook.yaml: codebook file not found — codebook/ holds ours.yaml: to use it, set "
            "codebook: {file: codebook/ours.yaml} in config.yaml") in output
