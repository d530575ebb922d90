"""The tools for QA and spec authors: contract-test (schemathesis and its hooks), lint, diff, and the
pytest plugin for partners' suites."""
