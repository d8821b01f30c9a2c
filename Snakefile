# Qualitative evaluation pipeline: ingest -> embed -> suggest -> review -> triangulate -> report.
# Run on a project folder with: snakemake --cores 2 --directory PATH
# (data/raw/, codebook/ and an optional config.yaml come from PATH; outputs go under PATH).

# ---- configuration ----
if os.path.exists("config.yaml"):
    from pipeline.config import read_config_file

    read_config_file("config.yaml")  # names a YAML mistake's line, which Snakemake's reader does not

    configfile: "config.yaml"


# ---- rules ----
include: "rules/common.smk"
include: "rules/ingest.smk"
include: "rules/suggest.smk"
include: "rules/review.smk"
include: "rules/discover.smk"
include: "rules/report.smk"


# ---- targets ----
rule all:
    default_target: True
    input:
        final_outputs(),
