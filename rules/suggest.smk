# ---- 2. embed and suggest: sentence embeddings -> ranked codebook codes per segment ----


rule codebook_export:
    input:
        codebook_file(),
    output:
        qdc=paths.CODEBOOK_QDC,
        xlsx=paths.CODEBOOK_XLSX,
    params:
        stage="codebook_export",
    log:
        "logs/codebook_export.log",
    script:
        STAGE_SCRIPT


rule embed:
    input:
        paths.SEGMENTS,
    output:
        paths.EMBEDDINGS,
    params:
        stage="embed",
        settings=settings("embedding"),
    log:
        "logs/embed.log",
    script:
        STAGE_SCRIPT


rule suggest:
    input:
        paths.SEGMENTS,
        paths.EMBEDDINGS,
        paths.DECISIONS,
        codebook_file(),
    output:
        suggestions=paths.SUGGESTIONS,
        table=paths.SUGGESTIONS_CSV,
    params:
        stage="suggest",
        settings=settings("embedding", "suggest"),
    log:
        "logs/suggest.log",
    script:
        STAGE_SCRIPT
