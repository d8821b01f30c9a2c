# ---- 1. ingest: fieldwork files -> one segment table with stable IDs ----


rule ingest:
    input:
        raw_files(),
    output:
        segments=paths.SEGMENTS,
        segments_csv=paths.SEGMENTS_CSV,
        documents=paths.DOCUMENTS,
        ingest_log=paths.INGEST_LOG,
    params:
        stage="ingest",
        settings={**settings("ingest", "surveys", "sectors", "sites"), "content": content_digest(raw_files())},
    log:
        "logs/ingest.log",
    script:
        STAGE_SCRIPT
