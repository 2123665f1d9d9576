"""The application on top of the stages: the `wit` command, `wit demo`, the report and the
offline sample web. It reads every stage's output; no stage imports it."""
