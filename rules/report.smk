# ---- 4. triangulate and report: evidence tables, summaries, figures, workbook ----
# Everything written under reports/ is pseudonymised; the real -> pseudonym log
# stays in data/processed/.


rule triangulate:
    input:
        coded=paths.CODED_SEGMENTS,
        segments=paths.SEGMENTS,
        documents=paths.DOCUMENTS,
        embeddings=paths.EMBEDDINGS,
        codebook=codebook_file(),
        register=register_file(),
    output:
        triangulation=report(
            paths.TRIANGULATION_CSV,
            caption="../report/triangulation.rst",
            category="Tables",
            subcategory="Triangulation",
        ),
        framework=report(
            paths.FRAMEWORK_MATRIX_CSV,
            caption="../report/framework_matrix.rst",
            category="Tables",
            subcategory="Framework matrix",
        ),
        quotes=report(
            paths.QUOTES_CSV,
            caption="../report/quotes.rst",
            category="Tables",
            subcategory="Quotes",
        ),
        theme_site=report(
            paths.TRIANGULATION_CSVS["matrix_theme_site"],
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_sector=report(
            paths.TRIANGULATION_CSVS["matrix_theme_sector"],
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_method=report(
            paths.TRIANGULATION_CSVS["matrix_theme_method"],
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_wave=report(
            paths.TRIANGULATION_CSVS["matrix_theme_wave"],
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        tables=[
            paths.TRIANGULATION_CSVS["matrix_code_site"],
            paths.TRIANGULATION_CSVS["matrix_code_sector"],
            paths.TRIANGULATION_CSVS["matrix_code_method"],
            paths.TRIANGULATION_CSVS["matrix_code_wave"],
            paths.TRIANGULATION_CSVS["site_differences"],
            paths.TRIANGULATION_CSVS["wave_differences"],
            paths.TRIANGULATION_CSVS["wave_differences_codes"],
        ],
        code_triangulation=report(
            paths.TRIANGULATION_CODES_CSV,
            caption="../report/triangulation.rst",
            category="Tables",
            subcategory="Triangulation",
        ),
        code_differences=paths.SITE_DIFFERENCES_CODES_CSV,
        parquet=paths.TRIANGULATION_PARQUETS,
    params:
        stage="triangulate",
        settings=settings("codebook", "triangulate", "report", "pseudonyms", "sectors", "sites", "project"),
    # on the way to the report: run before discover and review_workbook when cores are short,
    # and before saturation and cooccurrence, the shorter jobs the report also waits for
    priority: 2
    log:
        "logs/triangulate.log",
    script:
        STAGE_SCRIPT


rule report:
    input:
        paths.TRIANGULATION_PARQUETS,
        segments=paths.SEGMENTS,
        documents=paths.DOCUMENTS,
        agreement=paths.AGREEMENT_CSV,
        saturation=paths.SATURATION_SUMMARY_CSV,
        saturation_figure=paths.SATURATION_FIGURE,
        cooccurrence=paths.COOCCURRENCE_CSV,
        theme_network=paths.THEME_NETWORK_FIGURE,
        codebook=codebook_file(),
        register=register_file(),
    output:
        workbook=report(
            paths.EVALUATION_WORKBOOK,
            caption="../report/workbook.rst",
            category="Workbook",
        ),
        summary=report(
            paths.SUMMARY_MD,
            caption="../report/summary.rst",
            category="Summaries",
        ),
        sites=directory(paths.SITES_DIR),
        heatmap_site=report(
            paths.HEATMAP_THEME_SITE,
            caption="../report/heatmap_site.rst",
            category="Figures",
        ),
        heatmap_sector=report(
            paths.HEATMAP_THEME_SECTOR,
            caption="../report/heatmap_sector.rst",
            category="Figures",
        ),
        methods=paths.METHODS_CSV,
        methods_wide=paths.METHODS_WIDE_CSV,
        anonymisation_log=paths.ANONYMISATION_LOG,
    params:
        stage="report",
        settings=settings("codebook", "triangulate", "report", "pseudonyms", "sectors", "sites", "project"),
    # on the way to the report: run before discover and review_workbook when cores are short
    priority: 1
    log:
        "logs/report.log",
    script:
        STAGE_SCRIPT


# Needs only the segments, so it runs beside the suggestion stages, not at the end.
rule identifier_scan:
    input:
        paths.SEGMENTS,
        codebook_file(),
        register_file(),
    output:
        paths.POSSIBLE_IDENTIFIERS,
    params:
        stage="identifier_scan",
        settings=settings("codebook", "pseudonyms", "sectors", "sites", "project"),
    log:
        "logs/identifier_scan.log",
    script:
        STAGE_SCRIPT
