"""wsdissect's fuzz harness: a seeded mutation fuzzer over capture files (see docs/robustness.md)."""
