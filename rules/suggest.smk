# ---- 2. embed and suggest: sentence embeddings -> ranked codebook codes per segment ----


rule codebook_export:
    input:
        codebook_file(),
    output:
        qdc=paths.CODEBOOK_QDC,
        xlsx=paths.CODEBOOK_XLSX,
    params:
        stage="codebook_export",
        settings=settings("codebook"),
    log:
        "logs/codebook_export.log",
    script:
        STAGE_SCRIPT


# suggest.fine_tune (the default): the embedding model is first fine-tuned on
# the codebook and the analysts' coded segments, and every stage embeds with
# that model, so the segments are encoded once. Editing the codebook or new
# decisions therefore re-run finetune and embed (the fine-tuned model, and with
# it every embedding, changes); new fieldwork alone reuses the cached model.
if FINE_TUNE:

    rule finetune:
        input:
            paths.SEGMENTS,
            paths.DECISIONS,
            codebook_file(),
        output:
            paths.ENCODER,
        params:
            stage="finetune",
            # with the training code's version: a new one re-trains existing projects
            settings={**settings("codebook", "embedding", "suggest"), "finetune_version": FINETUNE_VERSION},
        threads: 4
        log:
            "logs/finetune.log",
        script:
            STAGE_SCRIPT


# embedding.shards = 1: one embed job. N > 1: N embed_shard jobs (one per
# shard of segment IDs, e.g. one Slurm job each) and an embed job that merges
# them. The job count depends on N only, never on the number of documents.
EMBED_SHARDS = int(config["embedding"].get("shards", 1))

if EMBED_SHARDS == 1:

    rule embed:
        input:
            paths.SEGMENTS,
            encoder(),
        output:
            paths.EMBEDDINGS,
        params:
            stage="embed",
            settings=settings("embedding"),
        # Snakemake sets OMP_NUM_THREADS to a job's threads (1 by default), and
        # torch follows it: embedding is the long job, so it gets every core.
        threads: 4
        log:
            "logs/embed.log",
        script:
            STAGE_SCRIPT

else:

    rule embed_shard:
        input:
            paths.SEGMENTS,
            encoder(),
        output:
            paths.EMBEDDING_SHARD,
        wildcard_constraints:
            shard=r"\d+",
            n=r"\d+",
        params:
            stage="embed_shard",
            settings=settings("embedding"),
            shard="{shard}",
            n="{n}",
        threads: 4
        log:
            "logs/embed_shard-{shard}-of-{n}.log",
        script:
            STAGE_SCRIPT

    rule embed:
        input:
            paths.SEGMENTS,
            encoder(),
            expand(paths.EMBEDDING_SHARD, shard=range(EMBED_SHARDS), n=EMBED_SHARDS),
        output:
            paths.EMBEDDINGS,
        params:
            stage="embed_merge",
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
        encoder(),
    output:
        suggestions=paths.SUGGESTIONS,
        table=paths.SUGGESTIONS_CSV,
    params:
        stage="suggest",
        settings=settings("codebook", "embedding", "suggest"),
    log:
        "logs/suggest.log",
    script:
        STAGE_SCRIPT
