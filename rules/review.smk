# ---- 3. review: analysts' workbooks in data/review/ -> decisions; the coding workbook ----
# Edited workbooks are inputs, never outputs: a re-run never deletes or overwrites them.


rule review_import:
    input:
        review_files(),
        paths.SEGMENTS,
        codebook_file(),
        forgotten_record(),
    output:
        decisions=paths.DECISIONS,
        conflicts=paths.REVIEW_CONFLICTS,
    params:
        stage="review_import",
        # only the key the import reads: review.protect_sheet re-runs the workbook alone
        settings={**settings("codebook"), "review.on_bad_file": config["review"].get("on_bad_file", "stop"),
                  "content": content_digest(review_files())},
    log:
        "logs/review_import.log",
    script:
        STAGE_SCRIPT


rule review_workbook:
    input:
        paths.SEGMENTS,
        paths.SUGGESTIONS,
        paths.DECISIONS,
        paths.CANDIDATE_CODES_CSV,
        codebook_file(),
        register_file(),
    output:
        paths.REVIEW_WORKBOOK,
    params:
        stage="review_workbook",
        settings=settings("codebook", "review", "pseudonyms", "sectors"),
    log:
        "logs/review_workbook.log",
    script:
        STAGE_SCRIPT


rule apply_decisions:
    input:
        paths.SEGMENTS,
        paths.SUGGESTIONS,
        paths.DECISIONS,
        codebook_file(),
    output:
        coded=paths.CODED_SEGMENTS,
        agreement=paths.AGREEMENT_CSV,
    params:
        stage="apply_decisions",
        settings=settings("codebook"),
    log:
        "logs/apply_decisions.log",
    script:
        STAGE_SCRIPT
