//! ETL integration tests: messy files generated here, loaded through the real pipeline, read back as Parquet.

mod csv;
