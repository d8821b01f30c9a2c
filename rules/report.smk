# ---- 4. triangulate and report: evidence tables, summaries, figures, workbook ----
# Everything written under reports/ is pseudonymised; the real -> pseudonym log
# stays in data/processed/.


def triangulation_csvs():
    return [f"{paths.TABLES}/{name}.csv" for name in paths.TRIANGULATION_TABLES]


# Tables shown in the Snakemake HTML report (with captions); the rest are plain outputs.
REPORTED_TABLES = (
    "triangulation",
    "framework_matrix",
    "quotes",
    "matrix_theme_site",
    "matrix_theme_sector",
    "matrix_theme_method",
    "matrix_theme_wave",
)


def unreported_triangulation_csvs():
    return [
        f"{paths.TABLES}/{name}.csv"
        for name in paths.TRIANGULATION_TABLES
        if name not in REPORTED_TABLES
    ]


def triangulation_parquets():
    return [f"{paths.TRIANGULATION_DIR}/{name}.parquet" for name in paths.TRIANGULATION_TABLES]


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
            f"{paths.TABLES}/matrix_theme_site.csv",
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_sector=report(
            f"{paths.TABLES}/matrix_theme_sector.csv",
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_method=report(
            f"{paths.TABLES}/matrix_theme_method.csv",
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        theme_wave=report(
            f"{paths.TABLES}/matrix_theme_wave.csv",
            caption="../report/matrix.rst",
            category="Tables",
            subcategory="Matrices",
        ),
        tables=unreported_triangulation_csvs(),
        parquet=triangulation_parquets(),
    params:
        stage="triangulate",
        settings=settings("triangulate", "report", "privacy", "sectors", "sites", "project"),
    log:
        "logs/triangulate.log",
    script:
        STAGE_SCRIPT


rule report:
    input:
        triangulation_parquets(),
        segments=paths.SEGMENTS,
        methods=paths.METHODS_CSV,
        agreement=paths.AGREEMENT_CSV,
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
        possible_identifiers=paths.POSSIBLE_IDENTIFIERS,
        anonymisation_log=paths.ANONYMISATION_LOG,
    params:
        stage="report",
        settings=settings("triangulate", "report", "privacy", "sectors", "sites", "project"),
    log:
        "logs/report.log",
    script:
        STAGE_SCRIPT
