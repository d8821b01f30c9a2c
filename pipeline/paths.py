"""Every path the pipeline reads or writes, relative to the project folder.

The rules (rules/*.smk), the command line and the tests all take paths from
here, so the layout is described once.
"""

RAW = "data/raw"
PARTICIPANTS = f"{RAW}/participants.csv"
FIELDWORK = f"{RAW}/fieldwork.csv"
METHOD_FOLDERS = {
    "interview": f"{RAW}/interviews",
    "survey": f"{RAW}/surveys",
    "observation": f"{RAW}/observations",
    "workshop": f"{RAW}/workshops",
}

PROCESSED = "data/processed"
SEGMENTS = f"{PROCESSED}/segments.parquet"
SEGMENTS_CSV = f"{PROCESSED}/segments.csv"
DOCUMENTS = f"{PROCESSED}/documents.parquet"
INGEST_LOG = f"{PROCESSED}/ingest_log.csv"
INGEST_ERRORS = f"{PROCESSED}/ingest_errors.csv"
EMBEDDINGS = f"{PROCESSED}/embeddings.parquet"
# Which fine-tuned model the embed and suggest stages use (suggest.fine_tune).
ENCODER = f"{PROCESSED}/encoder.json"
EMBEDDING_CACHE = f"{PROCESSED}/cache/embeddings"
# ONNX exports of the embedding models (embedding.backend: onnx), one folder per model key.
ONNX_CACHE = f"{PROCESSED}/cache/onnx"
# The sha256 of model weights already hashed, by file identity (pipeline.model_files).
MODEL_HASHES = f"{PROCESSED}/cache/model_hashes.json"
# The participant IDs the last report replaced by pseudonyms (no names): not a rule output, so that a
# run can tell who has left the register since (pipeline.anonymise.Pseudonymiser.write_log).
PSEUDONYMISED_PARTICIPANTS = f"{PROCESSED}/cache/pseudonymised_participants.txt"
# What each returned workbook's row showed in suggested_1-3 (source_file, segment_id, shown_codes):
# not a rule output, so it outlives the file's removal and Snakemake's deletion of decisions.parquet.
SHOWN_CODES = f"{PROCESSED}/cache/shown_codes.parquet"
# One part of the embeddings when embedding.shards > 1 (also a Snakemake wildcard pattern).
EMBEDDING_SHARD = f"{PROCESSED}/embeddings/shard-{{shard}}-of-{{n}}.parquet"
SUGGESTIONS = f"{PROCESSED}/suggestions.parquet"
DECISIONS = f"{PROCESSED}/decisions.parquet"
DECISIONS_AUDIT = f"{PROCESSED}/decisions_audit.csv"
CODED_SEGMENTS = f"{PROCESSED}/coded_segments.parquet"
MODEL_CACHE = f"{PROCESSED}/cache/learned"
# The lexical classifier's probabilities of scored texts, one folder per classifier.
LEXICAL_CACHE = f"{PROCESSED}/cache/lexical"
ANONYMISATION_LOG = f"{PROCESSED}/anonymisation_log.csv"
# Segment IDs (hashes, no text) that `python -m pipeline forget` removed because their
# participant withdrew; the review import never imports a decision on them again.
FORGOTTEN_SEGMENTS = f"{PROCESSED}/forgotten_segments.csv"

REVIEW_INBOX = "data/review"

REPORTS = "reports"
TABLES = f"{REPORTS}/tables"
METHODS_CSV = f"{TABLES}/methods.csv"
METHODS_WIDE_CSV = f"{TABLES}/methods_wide.csv"
SUGGESTIONS_CSV = f"{TABLES}/suggestions.csv"
CODEBOOK_QDC = f"{REPORTS}/codebook.qdc"
CODEBOOK_XLSX = f"{REPORTS}/codebook.xlsx"
REVIEW_WORKBOOK = f"{REPORTS}/review/coding_review.xlsx"
REVIEW_CONFLICTS = f"{REPORTS}/review/conflicts.csv"
# sha256 of the review workbook as the pipeline last wrote it, so that one an analyst has
# edited in place is noticed before a re-run overwrites it (review_workbook_edited_in_place).
REVIEW_WORKBOOK_ISSUED = f"{PROCESSED}/coding_review_issued.json"
AGREEMENT_CSV = f"{TABLES}/agreement.csv"
TRIANGULATION_CSV = f"{TABLES}/triangulation.csv"
EVALUATION_WORKBOOK = f"{REPORTS}/evaluation_tables.xlsx"
SUMMARY_MD = f"{REPORTS}/summary.md"
SITES_DIR = f"{REPORTS}/sites"
FIGURES = f"{REPORTS}/figures"


# Beyond the codebook (pipeline/discover.py, saturation.py, cooccurrence.py).
CANDIDATE_CODES_CSV = f"{TABLES}/candidate_codes.csv"
PROPOSED_CODEBOOK = "codebook/proposed.yaml"      # written only when a candidate is promoted
SATURATION_CSV = f"{TABLES}/saturation.csv"
SATURATION_SUMMARY_CSV = f"{TABLES}/saturation_summary.csv"
SATURATION_FIGURE = f"{FIGURES}/saturation.png"
COOCCURRENCE_CSV = f"{TABLES}/cooccurrence.csv"
THEME_NETWORK_FIGURE = f"{FIGURES}/theme_network.png"

# triangulate and report stages
TRIANGULATION_DIR = f"{PROCESSED}/triangulation"
FRAMEWORK_MATRIX_CSV = f"{TABLES}/framework_matrix.csv"
QUOTES_CSV = f"{TABLES}/quotes.csv"
POSSIBLE_IDENTIFIERS = f"{REPORTS}/review/possible_identifiers.csv"
HEATMAP_THEME_SITE = f"{FIGURES}/heatmap_theme_site.png"
HEATMAP_THEME_SECTOR = f"{FIGURES}/heatmap_theme_sector.png"
# Tables written by the triangulate stage: CSV under reports/tables/, parquet under TRIANGULATION_DIR.
TRIANGULATION_TABLES = (
    [f"matrix_{level}_{dimension}" for level in ("code", "theme") for dimension in ("site", "sector", "method", "wave")]
    + ["triangulation", "framework_matrix", "quotes", "site_differences"]
    # the same comparisons code by code, where the differences between sites show
    + ["triangulation_codes", "site_differences_codes"]
    # each theme and code against the wave before (empty with one wave)
    + ["wave_differences", "wave_differences_codes"]
)
TRIANGULATION_CODES_CSV = f"{TABLES}/triangulation_codes.csv"
SITE_DIFFERENCES_CODES_CSV = f"{TABLES}/site_differences_codes.csv"
TRIANGULATION_CSVS = {name: f"{TABLES}/{name}.csv" for name in TRIANGULATION_TABLES}
TRIANGULATION_PARQUETS = [f"{TRIANGULATION_DIR}/{name}.parquet" for name in TRIANGULATION_TABLES]
