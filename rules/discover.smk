# ---- beyond the codebook: candidate new codes, saturation, co-occurrence ----
# Analysts' saved review workbooks in data/review/ are inputs (promotions are read
# from their Candidate codes sheet), never outputs. The review workbook shows the
# candidates, so it depends on discover, never the other way round.
# codebook/proposed.yaml is deliberately not a declared output: the discover stage
# writes it only when a candidate is promoted, and Snakemake must never delete or
# pre-empt it.


rule discover:
    input:
        paths.SEGMENTS,
        paths.EMBEDDINGS,
        paths.SUGGESTIONS,
        paths.DECISIONS,
        paths.CODED_SEGMENTS,
        codebook_file(),
        register_file(),
        review_files(),
    output:
        candidates=report(
            paths.CANDIDATE_CODES_CSV,
            caption="../report/candidate_codes.rst",
            category="Beyond the codebook",
        ),
    params:
        stage="discover",
        settings=settings("codebook", "discover", "pseudonyms", "sites"),
    log:
        "logs/discover.log",
    script:
        STAGE_SCRIPT


rule saturation:
    input:
        paths.DOCUMENTS,
        paths.SEGMENTS,
        paths.DECISIONS,
        paths.CODED_SEGMENTS,
    output:
        table=paths.SATURATION_CSV,
        summary=paths.SATURATION_SUMMARY_CSV,
        figure=report(
            paths.SATURATION_FIGURE,
            caption="../report/saturation.rst",
            category="Beyond the codebook",
        ),
    params:
        stage="saturation",
        settings=settings("discover", "pseudonyms", "sites"),
    # on the way to the report: run before discover and review_workbook when cores are short
    priority: 1
    log:
        "logs/saturation.log",
    script:
        STAGE_SCRIPT


rule cooccurrence:
    input:
        paths.CODED_SEGMENTS,
        codebook_file(),
    output:
        table=paths.COOCCURRENCE_CSV,
        figure=report(
            paths.THEME_NETWORK_FIGURE,
            caption="../report/theme_network.rst",
            category="Beyond the codebook",
        ),
    params:
        stage="cooccurrence",
        settings=settings("codebook", "discover"),
    # on the way to the report: run before discover and review_workbook when cores are short
    priority: 1
    log:
        "logs/cooccurrence.log",
    script:
        STAGE_SCRIPT
