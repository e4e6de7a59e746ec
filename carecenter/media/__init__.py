"""Photos and signatures: checked and cleaned images, kept by their content's hash on disk or in
S3-compatible object storage."""
