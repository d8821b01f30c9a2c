# Thin adapter: every rule runs its stage through the package.
from pipeline.__main__ import run_from_snakemake

run_from_snakemake(snakemake)  # noqa: F821 (injected by Snakemake)
