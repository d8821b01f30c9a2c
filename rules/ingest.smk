# ---- 1. ingest: fieldwork files -> one segment table with stable IDs ----


rule ingest:
    input:
        raw_files(),
    output:
        segments=paths.SEGMENTS,
        segments_csv=paths.SEGMENTS_CSV,
        documents=paths.DOCUMENTS,
        ingest_log=paths.INGEST_LOG,
        methods=paths.METHODS_CSV,
        methods_wide=paths.METHODS_WIDE_CSV,
    params:
        stage="ingest",
        settings=settings("ingest", "surveys", "sectors", "sites"),
    log:
        "logs/ingest.log",
    script:
        STAGE_SCRIPT
