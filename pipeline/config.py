"""Loading and validating config.yaml against the package's JSON schema.

The schema is the documentation: every key has a description and a default.
Snakemake validates through :func:`snakemake.utils.validate`; the command line
and the tests use :func:`load_config`, which applies the same schema.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import yaml

from pipeline.errors import ConfigError, InputError

SCHEMA_PATH = Path(str(resources.files("pipeline") / "config.schema.yaml"))
# PyYAML's safe loader in libyaml's C when PyYAML has it (its wheels do): about
# ten times faster on the schema and on a large codebook, read by most stages.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UniqueKeyLoader(SAFE_LOADER):
    """The safe loader, refusing a key written twice in one mapping.

    YAML lets the last of two equal keys win, so a second ``themes:`` or
    ``definition:`` pasted into a file would drop the first without a word.
    """

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if key == "<<":   # a merge key may repeat keys on purpose
                continue
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping (first on line {seen[key]}): "
                    "keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def load_schema() -> dict:
    return yaml.load(SCHEMA_PATH.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 (safe)


def _default_setting_validator():
    """A validator class that fills in defaults while validating (as Snakemake does)."""
    # Imported here: every stage imports this module, but under Snakemake the
    # config arrives validated, and jsonschema takes 0.1 s to import.
    import jsonschema

    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def validate_config(config: dict, source: str = "config.yaml") -> dict:
    """Validate ``config`` in place, filling defaults; raise ConfigError naming the key."""
    validator = _default_setting_validator()(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            if error.validator == "additionalProperties" and error.validator_value is False:
                lines += _unknown_keys(error)
            else:
                lines.append(f"{key}: {error.message}")
        raise ConfigError(
            "invalid configuration:\n  " + "\n  ".join(lines),
            file=source,
            hint="fix these keys; every key and its default is listed in the README's config reference",
        )
    return config


def _unknown_keys(error) -> list[str]:
    """One line per key the schema does not know, with the nearest known key if one is close."""
    import difflib

    prefix = "".join(f"{p}." for p in error.absolute_path)
    known = list(error.schema.get("properties", {}))
    lines = []
    for name in error.instance:
        if name in known:
            continue
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        suggestion = f"did you mean {prefix}{close[0]}?" if close else (
            "known keys here: " + ", ".join(known) if known else "no keys are allowed here")
        lines.append(f"{prefix}{name}: unknown key ({suggestion})")
    return lines


def load_config(project_dir: str | Path = ".") -> dict:
    """Read ``config.yaml`` from the project folder (if present) and validate it."""
    path = Path(project_dir) / "config.yaml"
    return validate_config(read_config_file(path) if path.exists() else {}, str(path))


def read_config_file(path: str | Path) -> dict:
    """A config file's mapping, unvalidated; a key written twice is an error (:class:`UniqueKeyLoader`).

    Raises
    ------
    ConfigError
        If it is not valid YAML, repeats a key, or is not a mapping.
    """
    try:
        with open(path, encoding="utf-8") as stream:   # a stream, so that YAML's messages name the file
            config = yaml.load(stream, Loader=UniqueKeyLoader) or {}  # noqa: S506 (safe)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from exc
    if not isinstance(config, dict):
        raise ConfigError("the top level must be a mapping of keys", file=path)
    return config


def codebook_not_found(path: Path) -> InputError:
    """The error for a missing codebook, naming any codebook file beside it that ``codebook.file`` could name.

    Here rather than in :mod:`pipeline.codebook`, which the workflow does not import when it loads.
    """
    others = sorted(f.name for f in path.parent.glob("*") if f.suffix.lower() in CODEBOOK_SUFFIXES
                    and f.name != path.name) if path.parent.is_dir() else []
    hint = "check codebook.file in config.yaml (it is relative to the project folder)"
    if others:
        folder = path.parent.name
        hint = (f"{folder}/ holds {', '.join(others)}: to use {'it' if len(others) == 1 else 'one of them'}, "
                f"set codebook: {{file: {folder}/{others[0]}}} in config.yaml")
    return InputError("codebook file not found", file=path, hint=hint)


CODEBOOK_SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx", ".qdc")


def sector_label(config: dict, sector: str | None) -> str:
    """Display label for a sector key (the key itself if unlabelled)."""
    if not sector:
        return ""
    return config["sectors"].get(sector, sector)


def reference_markdown(schema: dict | None = None) -> str:
    """The config reference as a Markdown table, generated from the schema.

    The README embeds this output; a test keeps the two in step.
    """
    schema = schema or load_schema()
    lines = ["| key | type | default | description |", "|---|---|---|---|"]

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    def walk(properties: dict, required: list, prefix: str) -> None:
        for name, sub in properties.items():
            key = f"{prefix}{name}"
            kind = sub.get("type", "")
            kind = " or ".join(kind) if isinstance(kind, list) else kind
            if name in required:
                default = "required"
            elif "default" in sub:
                default = f"`{json.dumps(sub['default'], ensure_ascii=False)}`"
            else:
                default = ""
            description = str(sub.get("description", ""))
            if "enum" in sub:
                description += " One of: " + ", ".join(f"`{v}`" for v in sub["enum"]) + "."
            lines.append(f"| `{key}` | {kind} | {cell(default)} | {cell(description)} |")
            if "properties" in sub:
                walk(sub["properties"], sub.get("required", []), f"{key}.")
            items = sub.get("items", {})
            if isinstance(items, dict) and "properties" in items:
                walk(items["properties"], items.get("required", []), f"{key}[].")

    walk(schema["properties"], schema.get("required", []), "")
    return "\n".join(lines) + "\n"
