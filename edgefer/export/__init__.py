"""Export: the format registry, the export run with its checks, artifact metadata, runners, the device bundle."""
